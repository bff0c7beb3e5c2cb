// A reader for GVDB, the hash-table file format of dconf databases (each
// user's ~/.config/dconf/user and the compiled /etc/dconf/db/NAME), written
// from GLib's gvdb-format.h and gvdb-reader.c without a GLib dependency.
// It looks keys up exactly as dconf does (hash, bloom filter, bucket range,
// parent-chained names), so a value this reader cannot reach is one dconf
// cannot reach either. Values are GVariant 'v' (variant) cells; the reader
// decodes the scalar types dconf settings use. Pure functions on bytes, no
// I/O; safe on any input (every offset is bounds-checked).
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_SCREEN_LOCK_GVDB_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_SCREEN_LOCK_GVDB_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace evidentia::agent {

// The GVDB wire format (gvdb-format.h). All header, hash-table and pointer
// integers are little-endian; GVariant values are in the byte order the
// signature announces ("GVariant" little-endian, "raVGtnai" big-endian).
inline constexpr std::string_view kGvdbSignature = "GVariant";
inline constexpr std::string_view kGvdbSwappedSignature = "raVGtnai";
inline constexpr size_t kGvdbHeaderBytes = 24;     // signature, version,
                                                   // options, root pointer
inline constexpr size_t kGvdbHashHeaderBytes = 8;  // n_bloom_words, n_buckets
inline constexpr size_t kGvdbHashItemBytes = 24;
inline constexpr uint32_t kGvdbNoParent = 0xffffffffu;

// GVDB's key hash (djb2 over signed chars).
uint32_t GvdbHash(std::string_view key);

// A decoded GVariant value of a dconf setting. `type` is the GVariant type
// string; exactly one of the optionals is set for "b", "u", "i" and "s".
// Other types keep only `type`. A fixed-size value whose serialised size is
// wrong reads as zero / false / "" as GVariant does for non-normal data.
struct DconfValue {
  std::string type;
  std::optional<bool> boolean;
  std::optional<uint32_t> uint32;
  std::optional<int32_t> int32;
  std::optional<std::string> string;

  bool operator==(const DconfValue& other) const;
};

// The value held by a serialised GVariant of type 'v' (child bytes, a zero
// byte, the child's type string), children in `big_endian` byte order. A
// cell without a separator or whose type string is not one complete
// definite type holds the unit value, type "()", as GVariant reads it.
DconfValue DecodeGVariantVariant(std::string_view cell, bool big_endian);

// One hash table of a GVDB file: the root table or a nested one ('H' item,
// e.g. dconf's ".locks"). Views into bytes owned by the caller, which must
// outlive it.
class GvdbTable {
 public:
  // Opens the root table of a whole file. INVALID_ARGUMENT when the file is
  // shorter than a header, the signature or version is not GVDB 0, or the
  // root hash table does not fit the file (dconf reads such a file as
  // empty).
  static absl::StatusOr<GvdbTable> Open(std::string_view file);

  // The value item `key` (type 'v') decoded, or nullopt when absent or
  // its value pointer is out of bounds or misaligned (as GVDB). `key` is a full
  // dconf path ("/org/gnome/.../lock-delay").
  std::optional<DconfValue> Lookup(std::string_view key) const;

  // Whether a value item `key` exists (dconf's lock test).
  bool HasValue(std::string_view key) const;

  // The nested table `key` (type 'H'), or nullopt.
  std::optional<GvdbTable> Subtable(std::string_view key) const;

  // Full names of the value items, sorted; at most `max_keys`. Names whose
  // parent chain is broken or cyclic are skipped.
  std::vector<std::string> ValueKeys(size_t max_keys = 65536) const;

  // File byte order of GVariant values.
  bool big_endian() const { return big_endian_; }

 private:
  GvdbTable(std::string_view file, bool big_endian)
      : file_(file), big_endian_(big_endian) {}
  // Sets up the hash table at [start, end); false when it does not fit.
  bool SetUpTable(uint32_t start, uint32_t end);
  // Item index of `key` with type `type`, as gvdb_table_lookup.
  std::optional<uint32_t> Find(std::string_view key, char type) const;
  bool CheckName(uint32_t item, std::string_view key) const;
  std::optional<std::string> FullName(uint32_t item) const;
  uint32_t ItemWord(uint32_t item, size_t offset) const;
  std::string_view ItemKey(uint32_t item) const;  // "" when out of range

  std::string_view file_;
  bool big_endian_ = false;
  uint32_t n_bloom_words_ = 0;
  uint32_t bloom_shift_ = 0;
  size_t bloom_offset_ = 0;
  uint32_t n_buckets_ = 0;
  size_t buckets_offset_ = 0;
  uint32_t n_items_ = 0;
  size_t items_offset_ = 0;
};

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_SCREEN_LOCK_GVDB_H_
