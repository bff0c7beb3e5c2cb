// The collector's RocksDB store: a handful of tables (column families) of
// byte keys and values, written only in synced atomic batches. Record
// layouts and key encodings live with their users (collector/keys.h);
// this class only knows tables, bytes and durability. Thread-safe.
#ifndef EVIDENTIA_COLLECTOR_STORE_H_
#define EVIDENTIA_COLLECTOR_STORE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Env;
}  // namespace rocksdb

namespace evidentia::collector {

enum class Table {
  kMeta,       // collector-wide settings: credential hashes
  kTokens,     // SHA-256(token) -> TokenRecord
  kAgents,     // agent id -> AgentRecord
  kSnapshots,  // agent id, seq -> StoredSnapshot
  kObjects,    // facts SHA-256 -> Facts bytes
  kLatest,     // agent id, check id -> LatestObservation
  kEvents,     // time, counter -> SecurityEvent
  kHistory,    // agent id, check id, receive time -> LatestObservation
  kManual,     // control id, time added -> StoredManualEvidence
  // The transparency log (collector/transparency_log.h).
  kLogQueue,     // agent id, seq -> LogQueueEntry (accepted, not yet a leaf)
  kLogNodes,     // level, index -> 32-byte hash of that complete subtree
  kLogIndex,     // agent id, seq -> big-endian leaf index
  kCheckpoints,  // tree size -> StoredCheckpoint
};
inline constexpr int kTableCount = 13;

// A set of writes applied atomically by Store::Commit.
class Batch {
 public:
  void Put(Table table, absl::string_view key, absl::string_view value) {
    ops_.push_back({table, std::string(key), std::string(value), false});
  }
  void Delete(Table table, absl::string_view key) {
    ops_.push_back({table, std::string(key), {}, true});
  }
  bool empty() const { return ops_.empty(); }

 private:
  friend class Store;
  struct Op {
    Table table;
    std::string key;
    std::string value;
    bool is_delete;
  };
  std::vector<Op> ops_;
};

struct StoreOptions {
  // Commits are refused (UNAVAILABLE) while the file system holding the
  // store has less free space than this, so RocksDB is stopped before it
  // runs out of room for its own flushes and compactions.
  uint64_t min_free_bytes = 64 << 20;
  // After a failed write, how often a Commit may try to reopen the
  // database (the others are refused at once).
  absl::Duration reopen_interval = absl::Seconds(1);
  // Replaces the operating system for tests that inject faults (not owned;
  // must outlive the store); null means the real one.
  rocksdb::Env* env = nullptr;
};

class Store {
 public:
  // Opens (creating if missing) the database in `dir`. UNAVAILABLE when
  // another process holds it; INTERNAL for corruption, with RocksDB's words.
  static absl::StatusOr<std::unique_ptr<Store>> Open(
      const std::filesystem::path& dir, StoreOptions options = {});
  ~Store();

  // The value, or nullopt when absent. UNAVAILABLE on a read error.
  absl::StatusOr<std::optional<std::string>> Get(Table table,
                                                 absl::string_view key) const;

  // Calls `fn(key, value)` for each key starting with `prefix` (and not
  // below `start`, when given), in key order, until it returns false.
  absl::Status Scan(
      Table table, absl::string_view prefix,
      const std::function<bool(absl::string_view, absl::string_view)>& fn,
      absl::string_view start = {}) const;

  // Like Scan, backwards: from the last key <= `bound` down to the first
  // key with `prefix`.
  absl::Status ScanBackward(
      Table table, absl::string_view prefix, absl::string_view bound,
      const std::function<bool(absl::string_view, absl::string_view)>& fn)
      const;

  // The last entry whose key starts with `prefix` and is <= `bound`, as
  // (key, value); nullopt when there is none.
  absl::StatusOr<std::optional<std::pair<std::string, std::string>>>
  LastAtOrBefore(Table table, absl::string_view prefix,
                 absl::string_view bound) const;

  // Applies `batch` atomically and durably (WAL fsync before returning OK).
  // UNAVAILABLE on any write error, or when free space is below
  // StoreOptions::min_free_bytes; nothing is applied then. RocksDB refuses
  // every write after a failed one (and cannot resume from a failed WAL
  // write), so the next Commit reopens the database first: the store heals
  // by itself once space returns. Reads go on while writes fail.
  absl::Status Commit(const Batch& batch);

 private:
  struct Db;  // one open RocksDB instance and its column families

  Store(std::filesystem::path dir, StoreOptions options);
  // Opens the database for reading and writing or, with `read_only`, for
  // reading alone (which writes nothing, so works on a full disk).
  absl::StatusOr<std::shared_ptr<Db>> OpenDb(bool read_only) const;
  // The open database; UNAVAILABLE while there is none (a reopen failed).
  absl::StatusOr<std::shared_ptr<Db>> Current() const;
  absl::Status CheckFreeSpace() const;
  // Reopens the database after a failed write. OK when writable again.
  absl::Status RecoverFromFailedWrite();

  const std::filesystem::path dir_;
  const StoreOptions options_;
  // Swapped atomically (std::atomic_load/store): readers hold a reference
  // for the length of one call, so a reopen never waits on a lock that a
  // reader (even a nested one) holds.
  std::shared_ptr<Db> db_;
  absl::Mutex recovery_mu_;  // one reopen at a time
  absl::Time next_reopen_ ABSL_GUARDED_BY(recovery_mu_) = absl::InfinitePast();
  std::atomic<bool> write_failed_{false};
};

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_STORE_H_
