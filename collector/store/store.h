// The collector's storage interface: a handful of tables of byte keys and
// values, written only in atomic batches, optionally conditional. Record
// layouts and key encodings live with their users (collector/store/keys.h); a
// store only knows tables, bytes and durability. Implementations are
// thread-safe.
#ifndef EVIDENTIA_COLLECTOR_STORE_STORE_H_
#define EVIDENTIA_COLLECTOR_STORE_STORE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

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
  // The transparency log (collector/log/transparency_log.h).
  kLogQueue,     // agent id, seq -> LogQueueEntry (accepted, not yet a leaf)
  kLogNodes,     // level, index -> 32-byte hash of that complete subtree
  kLogIndex,     // agent id, seq -> big-endian leaf index
  kCheckpoints,  // tree size -> StoredCheckpoint
  kIsms,         // record number -> StoredIsmsRecord (isms/register.h)
};
inline constexpr int kTableCount = 14;

// A set of writes applied atomically by Store::Commit, and the conditions
// under which it may be.
class Batch {
 public:
  struct Op {
    Table table;
    std::string key;
    std::string value;
    bool is_delete;
  };
  // `key` of `table` must hold `value` when the batch is applied, or be
  // absent when `value` is nullopt.
  struct Precondition {
    Table table;
    std::string key;
    std::optional<std::string> value;
  };

  void Put(Table table, absl::string_view key, absl::string_view value) {
    ops_.push_back({table, std::string(key), std::string(value), false});
  }
  void Delete(Table table, absl::string_view key) {
    ops_.push_back({table, std::string(key), {}, true});
  }
  // Commit only if `key` still holds `value` (nullopt: is still absent).
  void Expect(Table table, absl::string_view key,
              std::optional<absl::string_view> value) {
    preconditions_.push_back(
        {table, std::string(key),
         value ? std::optional<std::string>(*value) : std::nullopt});
  }
  bool empty() const { return ops_.empty(); }
  const std::vector<Op>& ops() const { return ops_; }
  const std::vector<Precondition>& preconditions() const {
    return preconditions_;
  }

 private:
  std::vector<Op> ops_;
  std::vector<Precondition> preconditions_;
};

// Storage: tables of byte keys and values, read by key, prefix and range,
// written only in atomic batches. Implementations: RocksDbStore (the
// collector's, durable) and MemoryStore (tests, and re-grading a bundle);
// collector/store/store_contract_test.cc holds both to the same contract.
class Store {
 public:
  using Visitor = std::function<bool(absl::string_view, absl::string_view)>;

  virtual ~Store() = default;

  // The value, or nullopt when absent. UNAVAILABLE on a read error.
  virtual absl::StatusOr<std::optional<std::string>> Get(
      Table table, absl::string_view key) const = 0;

  // Calls `fn(key, value)` for each key starting with `prefix` (and not
  // below `start`, when given), in key order, until it returns false. `fn`
  // may read the store. Whether a scan sees commits made while it runs
  // depends on the implementation.
  virtual absl::Status Scan(Table table, absl::string_view prefix,
                            const Visitor& fn,
                            absl::string_view start = {}) const = 0;

  // Like Scan, backwards: from the last key <= `bound` down to the first
  // key with `prefix`.
  virtual absl::Status ScanBackward(Table table, absl::string_view prefix,
                                    absl::string_view bound,
                                    const Visitor& fn) const = 0;

  // The last entry whose key starts with `prefix` and is <= `bound`, as
  // (key, value); nullopt when there is none.
  absl::StatusOr<std::optional<std::pair<std::string, std::string>>>
  LastAtOrBefore(Table table, absl::string_view prefix,
                 absl::string_view bound) const;

  // Applies `batch` atomically and durably: every write or none. ABORTED,
  // nothing applied, when one of its preconditions (Batch::Expect) does not
  // hold; UNAVAILABLE, nothing applied, when the store cannot write now.
  virtual absl::Status Commit(const Batch& batch) = 0;
};

// OK when every precondition of `batch` holds, reading through `get`;
// ABORTED naming the first that does not. For implementations, under
// their commit lock.
absl::Status CheckPreconditions(
    const Batch& batch,
    const std::function<absl::StatusOr<std::optional<std::string>>(
        Table, absl::string_view)>& get);

// The table's name: RocksDB's column family, and for messages.
absl::string_view TableName(Table table);

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_STORE_STORE_H_
