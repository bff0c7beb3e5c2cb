// The collector's durable store: RocksDB, one column family per table,
// every commit a synced atomic write batch. It stops acknowledging, and
// goes on serving reads, when the disk is (nearly) full, and heals by
// itself once space returns.
#ifndef EVIDENTIA_COLLECTOR_STORE_ROCKSDB_STORE_H_
#define EVIDENTIA_COLLECTOR_STORE_ROCKSDB_STORE_H_

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/store/store.h"

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace evidentia::collector {

struct RocksDbOptions {
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

// Opens (creating if missing) the database in `dir`. UNAVAILABLE when
// another process holds it; INTERNAL for corruption, with RocksDB's words.
absl::StatusOr<std::unique_ptr<Store>> OpenRocksDbStore(
    const std::filesystem::path& dir, RocksDbOptions options = {});

class RocksDbStore final : public Store {
 public:
  ~RocksDbStore() override;

  absl::StatusOr<std::optional<std::string>> Get(
      Table table, absl::string_view key) const override;
  absl::Status Scan(Table table, absl::string_view prefix, const Visitor& fn,
                    absl::string_view start = {}) const override;
  absl::Status ScanBackward(Table table, absl::string_view prefix,
                            absl::string_view bound,
                            const Visitor& fn) const override;
  // Durable: the WAL is fsynced before it returns OK. Batches without
  // preconditions commit concurrently (RocksDB groups their syncs); one
  // with preconditions commits alone, checked and written under the lock.
  // UNAVAILABLE on any write error, or when free space is below
  // RocksDbOptions::min_free_bytes. RocksDB refuses every write after a
  // failed one (and cannot resume from a failed WAL write), so the next
  // Commit reopens the database first. Reads go on while writes fail.
  absl::Status Commit(const Batch& batch) override;

 private:
  friend absl::StatusOr<std::unique_ptr<Store>> OpenRocksDbStore(
      const std::filesystem::path& dir, RocksDbOptions options);
  struct Db;  // one open RocksDB instance and its column families

  RocksDbStore(std::filesystem::path dir, RocksDbOptions options);
  // Opens the database for reading and writing or, with `read_only`, for
  // reading alone (which writes nothing, so works on a full disk).
  absl::StatusOr<std::shared_ptr<Db>> OpenDb(bool read_only) const;
  // The open database; UNAVAILABLE while there is none (a reopen failed).
  absl::StatusOr<std::shared_ptr<Db>> Current() const;
  absl::Status CheckFreeSpace() const;
  // Reopens the database after a failed write. OK when writable again.
  absl::Status RecoverFromFailedWrite();
  absl::Status Write(const Batch& batch);

  const std::filesystem::path dir_;
  const RocksDbOptions options_;
  // Swapped atomically (std::atomic_load/store): readers hold a reference
  // for the length of one call, so a reopen never waits on a lock that a
  // reader (even a nested one) holds.
  std::shared_ptr<Db> db_;
  // Shared by unconditional commits, exclusive to a conditional one.
  absl::Mutex commit_mu_;
  absl::Mutex recovery_mu_;  // one reopen at a time
  absl::Time next_reopen_ ABSL_GUARDED_BY(recovery_mu_) = absl::InfinitePast();
  std::atomic<bool> write_failed_{false};
};

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_STORE_ROCKSDB_STORE_H_
