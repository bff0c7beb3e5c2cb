// The agent's durable spool: snapshots made but not yet acknowledged by the
// collector, one checksummed record per file, so that a torn or corrupt
// record is found on open and dropped alone, never the whole spool.
//
// Layout: DIR/<seq, 20 decimal digits>.snapshot, one record each. One file
// per snapshot rather than an append log because the spool's operations are
// "add the newest", "remove the oldest once acknowledged" and "drop the
// oldest when over quota": with one file each, every one of them is a single
// atomic rename or unlink, no compaction is ever needed, and damage to one
// file cannot hide the records after it.
//
// Record format (all integers big-endian):
//
//   offset  size  field
//   0       8     magic "EVSPOOL1"
//   8       8     body length in bytes, 1 .. kMaxSpoolBody
//   16      32    SHA-256 of the body
//   48      n     body: a serialized SubmitRequest (the signed envelope and
//                 every facts body it names)
//
// A file is valid only when it is exactly 48 + n bytes, the magic matches,
// n is in range and the digest matches. Files are written to a temporary
// name, fsynced, renamed into place and the directory fsynced
// (WriteFileAtomic), so Put returns only once the record is durable.
// Not thread-safe; the agent's state lock keeps one process per directory.
#ifndef EVIDENTIA_AGENT_SPOOL_H_
#define EVIDENTIA_AGENT_SPOOL_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "evidentia/v1/collector.pb.h"

namespace evidentia::agent {

inline constexpr char kSpoolMagic[] = "EVSPOOL1";  // 8 bytes, no NUL
inline constexpr size_t kSpoolHeaderSize = 48;
// A payload is at most 1 MiB and facts at most 4 MiB (proto/README.md).
inline constexpr uint64_t kMaxSpoolBody = 16 << 20;

// The bytes of one record holding `body`.
std::string EncodeSpoolRecord(std::string_view body);

// The body of a record file's bytes. DATA_LOSS, naming what is wrong, for a
// short file, a bad magic, a length of 0, over kMaxSpoolBody or not the
// file's size, or a digest mismatch.
absl::StatusOr<std::string> DecodeSpoolRecord(std::string_view file);

// A record found damaged when the spool was opened; its file was moved to
// DIR/damaged/ (kept for inspection, never sent).
struct SpoolDamage {
  uint64_t seq = 0;
  bool tail = false;   // the newest record of the spool
  std::string reason;  // e.g. "bad checksum"
};

class Spool {
 public:
  // Opens (creating if missing, mode 0700) the spool in `dir`, reads and
  // checks every record. Damaged records are moved aside and listed in
  // damage(); the rest of the spool stays usable. UNAVAILABLE when the
  // directory cannot be listed or a file cannot be moved.
  static absl::StatusOr<std::unique_ptr<Spool>> Open(
      const std::filesystem::path& dir);

  // Durably stores `request` as record `seq`, replacing any record `seq`.
  // On error the spool is unchanged.
  absl::Status Put(uint64_t seq, const v1::SubmitRequest& request);

  // Record `seq`, re-read and re-checked. NOT_FOUND if not spooled;
  // DATA_LOSS if damaged since Open.
  absl::StatusOr<v1::SubmitRequest> Get(uint64_t seq) const;

  // Durably removes record `seq` (a no-op if it is not spooled).
  absl::Status Remove(uint64_t seq);

  // Seqs of the spooled records, ascending.
  std::vector<uint64_t> Seqs() const;
  bool Has(uint64_t seq) const { return sizes_.count(seq) > 0; }
  // Bytes of all records (headers included).
  uint64_t bytes() const { return bytes_; }
  // Bytes of record `seq`, 0 if not spooled.
  uint64_t RecordBytes(uint64_t seq) const;
  const std::vector<SpoolDamage>& damage() const { return damage_; }

 private:
  explicit Spool(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path File(uint64_t seq) const;

  std::filesystem::path dir_;
  std::map<uint64_t, uint64_t> sizes_;  // seq -> record bytes
  uint64_t bytes_ = 0;
  std::vector<SpoolDamage> damage_;
};

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_SPOOL_H_
