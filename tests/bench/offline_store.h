// A stopped collector's RocksDB opened directly, every column family, for
// benchmarks that compact it fully and measure what it keeps on disk.
#ifndef EVIDENTIA_TESTS_BENCH_OFFLINE_STORE_H_
#define EVIDENTIA_TESTS_BENCH_OFFLINE_STORE_H_

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "collector/store/rocksdb_options.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"

namespace evidentia::bench {

class OfflineStore {
 public:
  // Opens every column family of the database in `db_dir`.
  static absl::StatusOr<std::unique_ptr<OfflineStore>> Open(
      const std::filesystem::path& db_dir) {
    auto store = std::unique_ptr<OfflineStore>(new OfflineStore());
    // The collector's own options, so compaction lays data out as the
    // collector's would (block size, compression of the bottommost level).
    const rocksdb::Options options = collector::StoreRocksDbOptions(nullptr);
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(
        options, db_dir.string(), &store->names_);
    if (!s.ok()) return absl::InternalError(s.ToString());
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const std::string& name : store->names_) {
      families.emplace_back(name, rocksdb::ColumnFamilyOptions(options));
    }
    rocksdb::DB* raw = nullptr;
    s = rocksdb::DB::Open(rocksdb::DBOptions(options), db_dir.string(),
                          families, &store->handles_, &raw);
    if (!s.ok()) return absl::InternalError(s.ToString());
    store->db_.reset(raw);
    return store;
  }

  ~OfflineStore() {
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    }
    if (db_ != nullptr) db_->Close().PermitUncheckedError();
  }

  rocksdb::DB& db() { return *db_; }
  // Column family names, and their handles in the same order.
  const std::vector<std::string>& names() const { return names_; }
  const std::vector<rocksdb::ColumnFamilyHandle*>& handles() const {
    return handles_;
  }

  // Flushes every column family and compacts it down to its last level.
  absl::Status CompactFully() {
    for (rocksdb::ColumnFamilyHandle* handle : handles_) {
      rocksdb::Status s = db_->Flush(rocksdb::FlushOptions(), handle);
      if (!s.ok()) return absl::InternalError(s.ToString());
      rocksdb::CompactRangeOptions compact;
      compact.bottommost_level_compaction =
          rocksdb::BottommostLevelCompaction::kForce;
      s = db_->CompactRange(compact, handle, nullptr, nullptr);
      if (!s.ok()) return absl::InternalError(s.ToString());
    }
    return absl::OkStatus();
  }

 private:
  OfflineStore() = default;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<std::string> names_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

}  // namespace evidentia::bench

#endif  // EVIDENTIA_TESTS_BENCH_OFFLINE_STORE_H_
