#include "collector/store.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"

namespace evidentia::collector {
namespace {

// Column family names; the order is Table's. "default" must exist in
// RocksDB and serves as kMeta.
constexpr std::array<const char*, kTableCount> kTableNames = {
    "default",   "tokens",    "agents",     "snapshots", "objects",
    "latest",    "events",    "history",    "manual",    "log_queue",
    "log_nodes", "log_index", "checkpoints"};

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(what, ": ", s.ToString());
  if (s.IsCorruption() || s.IsNotSupported() || s.IsInvalidArgument()) {
    return absl::InternalError(message);
  }
  return absl::UnavailableError(message);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(
    const std::filesystem::path& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.paranoid_checks = true;
  options.IncreaseParallelism(2);
  options.max_open_files = 512;

  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const char* name : kTableNames) {
    families.emplace_back(name, rocksdb::ColumnFamilyOptions(options));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(options, dir.string(), families, &handles, &db);
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return absl::UnavailableError(absl::StrCat(
          "store ", dir.string(),
          " is in use by another process (is a collector running?): ",
          s.ToString()));
    }
    return FromRocks(s, absl::StrCat("opening store ", dir.string()));
  }
  auto store = std::unique_ptr<Store>(new Store());
  store->db_.reset(db);
  for (int i = 0; i < kTableCount; ++i) store->handles_[i] = handles[i];
  return store;
}

Store::~Store() {
  if (db_ == nullptr) return;
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    if (handle != nullptr) db_->DestroyColumnFamilyHandle(handle);
  }
  db_->Close();
}

rocksdb::ColumnFamilyHandle* Store::Handle(Table table) const {
  return handles_[static_cast<int>(table)];
}

absl::StatusOr<std::optional<std::string>> Store::Get(
    Table table, absl::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), Handle(table),
                               rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s, "reading store");
  return value;
}

absl::Status Store::Scan(
    Table table, absl::string_view prefix,
    const std::function<bool(absl::string_view, absl::string_view)>& fn,
    absl::string_view start) const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), Handle(table)));
  const absl::string_view first = start > prefix ? start : prefix;
  for (it->Seek(rocksdb::Slice(first.data(), first.size())); it->Valid();
       it->Next()) {
    absl::string_view key(it->key().data(), it->key().size());
    if (key.substr(0, prefix.size()) != prefix) break;
    if (!fn(key, absl::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return FromRocks(it->status(), "scanning store");
}

absl::Status Store::ScanBackward(
    Table table, absl::string_view prefix, absl::string_view bound,
    const std::function<bool(absl::string_view, absl::string_view)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), Handle(table)));
  for (it->SeekForPrev(rocksdb::Slice(bound.data(), bound.size())); it->Valid();
       it->Prev()) {
    absl::string_view key(it->key().data(), it->key().size());
    if (key.substr(0, prefix.size()) != prefix) break;
    if (!fn(key, absl::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return FromRocks(it->status(), "scanning store backwards");
}

absl::StatusOr<std::optional<std::pair<std::string, std::string>>>
Store::LastAtOrBefore(Table table, absl::string_view prefix,
                      absl::string_view bound) const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), Handle(table)));
  it->SeekForPrev(rocksdb::Slice(bound.data(), bound.size()));
  RETURN_IF_ERROR(FromRocks(it->status(), "seeking store"));
  if (!it->Valid()) return std::nullopt;
  absl::string_view key(it->key().data(), it->key().size());
  if (key.substr(0, prefix.size()) != prefix) return std::nullopt;
  return std::make_pair(std::string(key), it->value().ToString());
}

absl::Status Store::Commit(const Batch& batch) {
  rocksdb::WriteBatch write_batch;
  for (const Batch::Op& op : batch.ops_) {
    rocksdb::Status s =
        op.is_delete ? write_batch.Delete(Handle(op.table), op.key)
                     : write_batch.Put(Handle(op.table), op.key, op.value);
    if (!s.ok()) return FromRocks(s, "building write batch");
  }
  rocksdb::WriteOptions options;
  options.sync = true;
  return FromRocks(db_->Write(options, &write_batch), "writing store");
}

}  // namespace evidentia::collector
