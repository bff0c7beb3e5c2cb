// The collector's RocksDB store: a handful of tables (column families) of
// byte keys and values, written only in synced atomic batches. Record
// layouts and key encodings live with their users (collector/keys.h);
// this class only knows tables, bytes and durability. Thread-safe.
#ifndef EVIDENTIA_COLLECTOR_STORE_H_
#define EVIDENTIA_COLLECTOR_STORE_H_

#include <array>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
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

class Store {
 public:
  // Opens (creating if missing) the database in `dir`. UNAVAILABLE when
  // another process holds it; INTERNAL for corruption, with RocksDB's words.
  static absl::StatusOr<std::unique_ptr<Store>> Open(
      const std::filesystem::path& dir);
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
  // UNAVAILABLE on any write error (e.g. disk full); nothing is applied then.
  absl::Status Commit(const Batch& batch);

 private:
  Store() = default;
  rocksdb::ColumnFamilyHandle* Handle(Table table) const;

  std::unique_ptr<rocksdb::DB> db_;
  std::array<rocksdb::ColumnFamilyHandle*, kTableCount> handles_{};
};

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_STORE_H_
