// What only RocksDbStore does: durability across a reopen, the lock
// between processes, a full disk and the free space reserve. The contract
// every store keeps is store_contract_test.cc.
#include "collector/store/rocksdb_store.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/full_disk.h"
#include "tests/support/store_rows.h"
#include "tests/support/temp_dir.h"

namespace evidentia::collector {
namespace {

namespace fs = std::filesystem;
using ::evidentia::testing::ScanAll;

using ::evidentia::testing::FullDisk;
using ::evidentia::testing::ScopedTempDir;

std::unique_ptr<Store> OpenOrDie(const fs::path& dir) {
  absl::StatusOr<std::unique_ptr<Store>> store = OpenRocksDbStore(dir);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

TEST(RocksDbStoreTest, DataSurvivesCloseAndReopen) {
  ScopedTempDir dir;
  {
    std::unique_ptr<Store> store = OpenOrDie(dir.path() / "db");
    ASSERT_NE(store, nullptr);
    Batch batch;
    batch.Put(Table::kAgents, "agent", "kept");
    batch.Put(Table::kEvents, "event", "kept too");
    ASSERT_TRUE(store->Commit(batch).ok());
  }

  std::unique_ptr<Store> reopened = OpenOrDie(dir.path() / "db");
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(*reopened->Get(Table::kAgents, "agent"),
            std::optional<std::string>("kept"));
  EXPECT_EQ(*reopened->Get(Table::kEvents, "event"),
            std::optional<std::string>("kept too"));
}

TEST(RocksDbStoreTest, DeleteSurvivesCloseAndReopen) {
  ScopedTempDir dir;
  {
    std::unique_ptr<Store> store = OpenOrDie(dir.path() / "db");
    ASSERT_NE(store, nullptr);
    Batch put;
    put.Put(Table::kTokens, "gone", "v");
    ASSERT_TRUE(store->Commit(put).ok());
    Batch del;
    del.Delete(Table::kTokens, "gone");
    ASSERT_TRUE(store->Commit(del).ok());
  }

  std::unique_ptr<Store> reopened = OpenOrDie(dir.path() / "db");
  ASSERT_NE(reopened, nullptr);
  EXPECT_FALSE(reopened->Get(Table::kTokens, "gone")->has_value());
}

TEST(RocksDbStoreTest, SecondOpenWhileOpenIsUnavailable) {
  ScopedTempDir dir;
  std::unique_ptr<Store> first = OpenOrDie(dir.path() / "db");
  ASSERT_NE(first, nullptr);

  absl::StatusOr<std::unique_ptr<Store>> second =
      OpenRocksDbStore(dir.path() / "db");

  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable)
      << second.status();
  EXPECT_THAT(second.status().message(),
              ::testing::HasSubstr((dir.path() / "db").string()));
}

TEST(RocksDbStoreTest, OpenSucceedsAgainAfterFirstIsClosed) {
  ScopedTempDir dir;
  std::unique_ptr<Store> first = OpenOrDie(dir.path() / "db");
  ASSERT_NE(first, nullptr);
  first.reset();

  absl::StatusOr<std::unique_ptr<Store>> second =
      OpenRocksDbStore(dir.path() / "db");

  EXPECT_TRUE(second.ok()) << second.status();
}

TEST(RocksDbStoreTest, OpenOfAFileIsAnError) {
  ScopedTempDir dir;
  const fs::path file = dir.path() / "not-a-dir";
  { std::ofstream(file) << "x"; }

  absl::StatusOr<std::unique_ptr<Store>> store = OpenRocksDbStore(file);

  EXPECT_FALSE(store.ok());
}

// A store in `dir` whose operating system is `disk`, retrying a reopen on
// every commit.
std::unique_ptr<Store> OpenOnDisk(const ScopedTempDir& dir,
                                  const FullDisk& disk) {
  RocksDbOptions options;
  options.env = disk.env();
  options.reopen_interval = absl::ZeroDuration();
  absl::StatusOr<std::unique_ptr<Store>> store =
      OpenRocksDbStore(dir.path() / "db", options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

Batch OnePut(absl::string_view key, absl::string_view value) {
  Batch batch;
  batch.Put(Table::kAgents, key, value);
  return batch;
}

TEST(RocksDbStoreTest, CommitOnFullDiskIsUnavailable) {
  ScopedTempDir dir;
  FullDisk disk;
  std::unique_ptr<Store> store = OpenOnDisk(dir, disk);
  ASSERT_NE(store, nullptr);
  disk.Fill();

  absl::Status committed = store->Commit(OnePut("a", "1"));

  EXPECT_EQ(committed.code(), absl::StatusCode::kUnavailable) << committed;
}

TEST(RocksDbStoreTest, ReadsWorkWhileDiskIsFull) {
  ScopedTempDir dir;
  FullDisk disk;
  std::unique_ptr<Store> store = OpenOnDisk(dir, disk);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Commit(OnePut("a", "1")).ok());
  disk.Fill();
  ASSERT_FALSE(store->Commit(OnePut("b", "2")).ok());
  // The second failure tries to reopen the database, and cannot.
  ASSERT_FALSE(store->Commit(OnePut("b", "2")).ok());

  absl::StatusOr<std::optional<std::string>> value =
      store->Get(Table::kAgents, "a");

  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->value_or(""), "1");
}

TEST(RocksDbStoreTest, WritesResumeByThemselvesWhenSpaceReturns) {
  ScopedTempDir dir;
  FullDisk disk;
  std::unique_ptr<Store> store = OpenOnDisk(dir, disk);
  ASSERT_NE(store, nullptr);
  disk.Fill();
  ASSERT_FALSE(store->Commit(OnePut("a", "1")).ok());
  ASSERT_FALSE(store->Commit(OnePut("a", "1")).ok());
  disk.Free();

  absl::Status committed = store->Commit(OnePut("a", "1"));

  ASSERT_TRUE(committed.ok()) << committed;
  EXPECT_EQ(store->Get(Table::kAgents, "a")->value_or(""), "1");
}

TEST(RocksDbStoreTest, DataWrittenBeforeAndAfterFullDiskSurvivesReopen) {
  ScopedTempDir dir;
  FullDisk disk;
  {
    std::unique_ptr<Store> store = OpenOnDisk(dir, disk);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Commit(OnePut("before", "1")).ok());
    disk.Fill();
    ASSERT_FALSE(store->Commit(OnePut("during", "2")).ok());
    disk.Free();
    ASSERT_TRUE(store->Commit(OnePut("after", "3")).ok());
  }
  std::unique_ptr<Store> reopened = OpenOrDie(dir.path() / "db");
  ASSERT_NE(reopened, nullptr);

  EXPECT_EQ(ScanAll(*reopened, Table::kAgents, ""),
            (std::vector<std::pair<std::string, std::string>>{
                {"after", "3"}, {"before", "1"}}));
}

TEST(RocksDbStoreTest, CommitBelowTheFreeSpaceReserveIsUnavailable) {
  ScopedTempDir dir;
  RocksDbOptions options;
  options.min_free_bytes = uint64_t{1} << 62;  // more than any disk has
  absl::StatusOr<std::unique_ptr<Store>> store =
      OpenRocksDbStore(dir.path() / "db", options);
  ASSERT_TRUE(store.ok()) << store.status();

  absl::Status committed = (*store)->Commit(OnePut("a", "1"));

  EXPECT_EQ(committed.code(), absl::StatusCode::kUnavailable) << committed;
  EXPECT_THAT(committed.message(), ::testing::HasSubstr("free"));
  EXPECT_FALSE((*store)->Get(Table::kAgents, "a")->has_value());
}

}  // namespace
}  // namespace evidentia::collector
