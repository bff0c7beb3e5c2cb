#include "collector/store/rocksdb_store.h"

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "collector/store/rocksdb_options.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"

namespace evidentia::collector {
namespace {

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(what, ": ", s.ToString());
  if (s.IsCorruption() || s.IsNotSupported() || s.IsInvalidArgument()) {
    return absl::InternalError(message);
  }
  return absl::UnavailableError(message);
}

}  // namespace

struct RocksDbStore::Db {
  ~Db() {
    for (rocksdb::ColumnFamilyHandle* handle : handles) {
      if (handle != nullptr) db->DestroyColumnFamilyHandle(handle);
    }
    db->Close().PermitUncheckedError();
  }
  rocksdb::ColumnFamilyHandle* Handle(Table table) const {
    return handles[static_cast<int>(table)];
  }

  std::unique_ptr<rocksdb::DB> db;
  std::array<rocksdb::ColumnFamilyHandle*, kTableCount> handles{};
};

rocksdb::Options StoreRocksDbOptions(rocksdb::Env* env) {
  rocksdb::Options options;
  if (env != nullptr) options.env = env;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.paranoid_checks = true;
  options.IncreaseParallelism(2);
  options.max_open_files = 512;
  // Memtables of all tables together: a flush starts past this, so the
  // collector's memory does not grow with the fleet's first snapshots
  // (13 tables at RocksDB's 64 MiB each would allow over 1.6 GiB).
  options.db_write_buffer_size = 64 << 20;
  // Ingest looks up every facts digest of a snapshot, and the new ones are
  // absent: a Bloom filter answers those without reading a block per level.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // Heartbeats repeat themselves: an agent's snapshots (and one check's
  // history) sit side by side, naming the same check ids and facts digests
  // hour after hour. Larger blocks compressed with zstd in the bottommost
  // level, where data settles, store that repetition once per block.
  table.block_size = 32 << 10;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  options.bottommost_compression = rocksdb::kZSTD;
  // After a failed write Commit reopens the database itself; RocksDB's own
  // background retries would only race it.
  options.max_bgerror_resume_count = 0;

  return options;
}

RocksDbStore::RocksDbStore(std::filesystem::path dir, RocksDbOptions options)
    : dir_(std::move(dir)), options_(options) {}

RocksDbStore::~RocksDbStore() = default;

absl::StatusOr<std::unique_ptr<Store>> OpenRocksDbStore(
    const std::filesystem::path& dir, RocksDbOptions options) {
  auto store = std::unique_ptr<RocksDbStore>(new RocksDbStore(dir, options));
  ASSIGN_OR_RETURN(store->db_, store->OpenDb(/*read_only=*/false));
  return store;
}

absl::StatusOr<std::shared_ptr<RocksDbStore::Db>> RocksDbStore::OpenDb(
    bool read_only) const {
  rocksdb::Options options = StoreRocksDbOptions(options_.env);

  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (int i = 0; i < kTableCount; ++i) {
    families.emplace_back(std::string(TableName(static_cast<Table>(i))),
                          rocksdb::ColumnFamilyOptions(options));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s =
      read_only
          ? rocksdb::DB::OpenForReadOnly(options, dir_.string(), families,
                                         &handles, &db)
          : rocksdb::DB::Open(options, dir_.string(), families, &handles, &db);
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return absl::UnavailableError(absl::StrCat(
          "store ", dir_.string(),
          " is in use by another process (is a collector running?): ",
          s.ToString()));
    }
    return FromRocks(s, absl::StrCat("opening store ", dir_.string()));
  }
  auto opened = std::make_shared<Db>();
  opened->db.reset(db);
  for (int i = 0; i < kTableCount; ++i) opened->handles[i] = handles[i];
  return opened;
}

absl::StatusOr<std::shared_ptr<RocksDbStore::Db>> RocksDbStore::Current()
    const {
  std::shared_ptr<Db> db = std::atomic_load(&db_);
  if (db != nullptr) return db;
  return absl::UnavailableError(
      absl::StrCat("store ", dir_.string(),
                   " is being reopened after a failed write; retry shortly"));
}

absl::StatusOr<std::optional<std::string>> RocksDbStore::Get(
    Table table, absl::string_view key) const {
  ASSIGN_OR_RETURN(std::shared_ptr<Db> db, Current());
  std::string value;
  rocksdb::Status s =
      db->db->Get(rocksdb::ReadOptions(), db->Handle(table),
                  rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s, "reading store");
  return value;
}

absl::Status RocksDbStore::Scan(Table table, absl::string_view prefix,
                                const Visitor& fn,
                                absl::string_view start) const {
  ASSIGN_OR_RETURN(std::shared_ptr<Db> db, Current());
  std::unique_ptr<rocksdb::Iterator> it(
      db->db->NewIterator(rocksdb::ReadOptions(), db->Handle(table)));
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

absl::Status RocksDbStore::ScanBackward(Table table, absl::string_view prefix,
                                        absl::string_view bound,
                                        const Visitor& fn) const {
  ASSIGN_OR_RETURN(std::shared_ptr<Db> db, Current());
  std::unique_ptr<rocksdb::Iterator> it(
      db->db->NewIterator(rocksdb::ReadOptions(), db->Handle(table)));
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

absl::Status RocksDbStore::Commit(const Batch& batch) {
  if (batch.preconditions().empty()) {
    absl::ReaderMutexLock shared(&commit_mu_);
    return Write(batch);
  }
  absl::MutexLock alone(&commit_mu_);
  RETURN_IF_ERROR(CheckPreconditions(
      batch,
      [this](Table table, absl::string_view key) { return Get(table, key); }));
  return Write(batch);
}

absl::Status RocksDbStore::Write(const Batch& batch) {
  RETURN_IF_ERROR(CheckFreeSpace());
  RETURN_IF_ERROR(RecoverFromFailedWrite());
  ASSIGN_OR_RETURN(std::shared_ptr<Db> db, Current());
  rocksdb::WriteBatch write_batch;
  for (const Batch::Op& op : batch.ops()) {
    rocksdb::Status s =
        op.is_delete ? write_batch.Delete(db->Handle(op.table), op.key)
                     : write_batch.Put(db->Handle(op.table), op.key, op.value);
    if (!s.ok()) return FromRocks(s, "building write batch");
  }
  rocksdb::WriteOptions options;
  options.sync = true;
  absl::Status written =
      FromRocks(db->db->Write(options, &write_batch), "writing store");
  if (!written.ok() && !write_failed_.exchange(true)) {
    Log(LogLevel::kError,
        absl::StrCat(written.message(),
                     "; nothing more is acknowledged until a write succeeds "
                     "(is the disk full?); reads go on"));
  }
  return written;
}

absl::Status RocksDbStore::CheckFreeSpace() const {
  std::error_code error;
  const std::filesystem::space_info space = std::filesystem::space(dir_, error);
  if (error || space.available >= options_.min_free_bytes) {
    return absl::OkStatus();  // unknown: let the write itself tell
  }
  return absl::UnavailableError(absl::StrCat(
      "not stored: ", dir_.string(), " has ", space.available >> 20,
      " MiB free, below the ", options_.min_free_bytes >> 20,
      " MiB the store keeps in reserve; free space to resume"));
}

absl::Status RocksDbStore::RecoverFromFailedWrite() {
  if (!write_failed_) return absl::OkStatus();
  absl::MutexLock recovery(&recovery_mu_);
  if (!write_failed_) return absl::OkStatus();  // another thread did it
  if (absl::Now() < next_reopen_) {
    return absl::UnavailableError(
        "not stored: the store is recovering from a failed write (is the "
        "disk full?)");
  }
  next_reopen_ = absl::Now() + options_.reopen_interval;

  // Take the database away from new callers, then wait (briefly) for the
  // calls under way to let go of it: only one instance may be open.
  std::shared_ptr<Db> old = std::atomic_exchange(&db_, std::shared_ptr<Db>());
  const absl::Time give_up = absl::Now() + absl::Seconds(2);
  while (old.use_count() > 1) {
    if (absl::Now() > give_up) {
      std::atomic_store(&db_, std::move(old));
      return absl::UnavailableError(
          "not stored: the store is busy recovering from a failed write");
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
  old.reset();  // closes it
  absl::StatusOr<std::shared_ptr<Db>> reopened = OpenDb(/*read_only=*/false);
  if (reopened.ok()) {
    std::atomic_store(&db_, *std::move(reopened));
    write_failed_ = false;
    Log(LogLevel::kInfo, absl::StrCat("store ", dir_.string(),
                                      " reopened after a failed write; "
                                      "acknowledging resumes"));
    return absl::OkStatus();
  }
  // Still no room: serve reads from a read-only instance meanwhile.
  absl::StatusOr<std::shared_ptr<Db>> read_only = OpenDb(/*read_only=*/true);
  if (read_only.ok()) {
    std::atomic_store(&db_, *std::move(read_only));
  } else {
    Log(LogLevel::kError, absl::StrCat("store ", dir_.string(),
                                       " cannot be reopened even to read: ",
                                       read_only.status().message()));
  }
  return absl::UnavailableError(
      absl::StrCat("not stored: reopening after a failed write: ",
                   reopened.status().message()));
}

}  // namespace evidentia::collector
