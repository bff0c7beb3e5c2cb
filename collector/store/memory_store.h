// A store in memory: the same contract as RocksDbStore (store.h), without
// durability. For tests, and for re-grading a bundle from its own files.
#ifndef EVIDENTIA_COLLECTOR_STORE_MEMORY_STORE_H_
#define EVIDENTIA_COLLECTOR_STORE_MEMORY_STORE_H_

#include <array>
#include <functional>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "collector/store/store.h"

namespace evidentia::collector {

class MemoryStore final : public Store {
 public:
  // `before_commit`, when set, is asked before each commit is applied; a
  // status other than OK refuses the commit with that status, nothing
  // applied (tests inject faults this way, as RocksDbStore takes an Env).
  explicit MemoryStore(std::function<absl::Status()> before_commit = nullptr);

  absl::StatusOr<std::optional<std::string>> Get(
      Table table, absl::string_view key) const override;
  absl::Status Scan(Table table, absl::string_view prefix, const Visitor& fn,
                    absl::string_view start = {}) const override;
  absl::Status ScanBackward(Table table, absl::string_view prefix,
                            absl::string_view bound,
                            const Visitor& fn) const override;
  absl::Status Commit(const Batch& batch) override;

 private:
  using Rows = std::map<std::string, std::string, std::less<>>;

  std::optional<std::string> GetLocked(Table table, absl::string_view key) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const std::function<absl::Status()> before_commit_;
  // Readers share it; a scan calls its visitor without it, so a visitor
  // may read and commit. Unlike RocksDB's iterators a scan is no snapshot:
  // it sees commits made while it runs, or not, key by key.
  mutable absl::Mutex mu_;
  std::array<Rows, kTableCount> tables_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_STORE_MEMORY_STORE_H_
