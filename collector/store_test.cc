#include "collector/store.h"

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
#include "tests/support/temp_dir.h"

namespace evidentia::collector {
namespace {

namespace fs = std::filesystem;

using ::evidentia::testing::FullDisk;
using ::evidentia::testing::ScopedTempDir;

std::unique_ptr<Store> OpenOrDie(const fs::path& dir) {
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

// Every (key, value) of `table` under `prefix`, in scan order.
std::vector<std::pair<std::string, std::string>> ScanAll(
    const Store& store, Table table, absl::string_view prefix) {
  std::vector<std::pair<std::string, std::string>> out;
  absl::Status status =
      store.Scan(table, prefix, [&](absl::string_view k, absl::string_view v) {
        out.emplace_back(std::string(k), std::string(v));
        return true;
      });
  EXPECT_TRUE(status.ok()) << status;
  return out;
}

TEST(StoreTest, CommittedPutIsReadBack) {
  ScopedTempDir dir;
  std::unique_ptr<Store> store = OpenOrDie(dir.path() / "db");
  ASSERT_NE(store, nullptr);

  Batch batch;
  batch.Put(Table::kAgents, "agent-1", "record-1");
  ASSERT_TRUE(store->Commit(batch).ok());

  absl::StatusOr<std::optional<std::string>> got =
      store->Get(Table::kAgents, "agent-1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, std::optional<std::string>("record-1"));
}

TEST(StoreTest, GetOfMissingKeyIsNullopt) {
  ScopedTempDir dir;
  std::unique_ptr<Store> store = OpenOrDie(dir.path() / "db");
  ASSERT_NE(store, nullptr);

  absl::StatusOr<std::optional<std::string>> got =
      store->Get(Table::kAgents, "nobody");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->has_value());
}

TEST(StoreTest, TablesAreSeparate) {
  ScopedTempDir dir;
  std::unique_ptr<Store> store = OpenOrDie(dir.path() / "db");
  ASSERT_NE(store, nullptr);

  Batch batch;
  batch.Put(Table::kAgents, "key", "in agents");
  batch.Put(Table::kObjects, "key", "in objects");
  ASSERT_TRUE(store->Commit(batch).ok());

  EXPECT_EQ(*store->Get(Table::kAgents, "key"),
            std::optional<std::string>("in agents"));
  EXPECT_EQ(*store->Get(Table::kObjects, "key"),
            std::optional<std::string>("in objects"));
  EXPECT_FALSE(store->Get(Table::kTokens, "key")->has_value());
}

TEST(StoreTest, CommittedDeleteRemovesKey) {
  ScopedTempDir dir;
  std::unique_ptr<Store> store = OpenOrDie(dir.path() / "db");
  ASSERT_NE(store, nullptr);
  Batch put;
  put.Put(Table::kTokens, "t", "v");
  ASSERT_TRUE(store->Commit(put).ok());

  Batch del;
  del.Delete(Table::kTokens, "t");
  ASSERT_TRUE(store->Commit(del).ok());

  absl::StatusOr<std::optional<std::string>> got =
      store->Get(Table::kTokens, "t");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->has_value());
}

TEST(StoreTest, BatchAppliesOperationsInOrder) {
  ScopedTempDir dir;
  std::unique_ptr<Store> store = OpenOrDie(dir.path() / "db");
  ASSERT_NE(store, nullptr);

  Batch batch;
  batch.Put(Table::kMeta, "k", "first");
  batch.Delete(Table::kMeta, "k");
  batch.Put(Table::kMeta, "k2", "first");
  batch.Put(Table::kMeta, "k2", "second");
  ASSERT_TRUE(store->Commit(batch).ok());

  EXPECT_FALSE(store->Get(Table::kMeta, "k")->has_value());
  EXPECT_EQ(*store->Get(Table::kMeta, "k2"),
            std::optional<std::string>("second"));
}

TEST(StoreTest, KeysAndValuesMayHoldNulBytes) {
  ScopedTempDir dir;
  std::unique_ptr<Store> store = OpenOrDie(dir.path() / "db");
  ASSERT_NE(store, nullptr);
  const std::string key("a\0b", 3);
  const std::string value("\0\0x\0", 4);

  Batch batch;
  batch.Put(Table::kSnapshots, key, value);
  ASSERT_TRUE(store->Commit(batch).ok());

  EXPECT_EQ(*store->Get(Table::kSnapshots, key),
            std::optional<std::string>(value));
  EXPECT_FALSE(store->Get(Table::kSnapshots, "a")->has_value());
}

TEST(StoreTest, ScanVisitsOnlyPrefixInKeyOrder) {
  ScopedTempDir dir;
  std::unique_ptr<Store> store = OpenOrDie(dir.path() / "db");
  ASSERT_NE(store, nullptr);
  Batch batch;
  // Written out of order, with neighbours on both sides of the prefix.
  batch.Put(Table::kLatest, "b/3", "v3");
  batch.Put(Table::kLatest, "a/9", "before");
  batch.Put(Table::kLatest, "b/1", "v1");
  batch.Put(Table::kLatest, "c/0", "after");
  batch.Put(Table::kLatest, "b/2", "v2");
  ASSERT_TRUE(store->Commit(batch).ok());

  EXPECT_THAT(ScanAll(*store, Table::kLatest, "b/"),
              ::testing::ElementsAre(::testing::Pair("b/1", "v1"),
                                     ::testing::Pair("b/2", "v2"),
                                     ::testing::Pair("b/3", "v3")));
}

TEST(StoreTest, ScanWithEmptyPrefixVisitsWholeTable) {
  ScopedTempDir dir;
  std::unique_ptr<Store> store = OpenOrDie(dir.path() / "db");
  ASSERT_NE(store, nullptr);
  Batch batch;
  batch.Put(Table::kEvents, "2", "two");
  batch.Put(Table::kEvents, "1", "one");
  batch.Put(Table::kAgents, "other table", "x");
  ASSERT_TRUE(store->Commit(batch).ok());

  EXPECT_THAT(ScanAll(*store, Table::kEvents, ""),
              ::testing::ElementsAre(::testing::Pair("1", "one"),
                                     ::testing::Pair("2", "two")));
}

TEST(StoreTest, ScanStopsWhenCallbackReturnsFalse) {
  ScopedTempDir dir;
  std::unique_ptr<Store> store = OpenOrDie(dir.path() / "db");
  ASSERT_NE(store, nullptr);
  Batch batch;
  for (const char* key : {"p1", "p2", "p3", "p4"}) {
    batch.Put(Table::kObjects, key, "v");
  }
  ASSERT_TRUE(store->Commit(batch).ok());

  std::vector<std::string> seen;
  absl::Status status = store->Scan(
      Table::kObjects, "p", [&](absl::string_view key, absl::string_view) {
        seen.emplace_back(key);
        return seen.size() < 2;
      });

  ASSERT_TRUE(status.ok()) << status;
  EXPECT_THAT(seen, ::testing::ElementsAre("p1", "p2"));
}

// "a/9", "b/1", "b/2", "b/3", "c/0" in kLatest: a prefix "b/" with
// neighbours on both sides.
std::unique_ptr<Store> StoreWithNeighbours(const fs::path& dir) {
  std::unique_ptr<Store> store = OpenOrDie(dir);
  if (store == nullptr) return nullptr;
  Batch batch;
  for (const char* key : {"b/3", "a/9", "b/1", "c/0", "b/2"}) {
    batch.Put(Table::kLatest, key, std::string("v") + key);
  }
  EXPECT_TRUE(store->Commit(batch).ok());
  return store;
}

std::vector<std::string> ScanKeys(const Store& store, absl::string_view prefix,
                                  absl::string_view start) {
  std::vector<std::string> keys;
  EXPECT_TRUE(store
                  .Scan(
                      Table::kLatest, prefix,
                      [&](absl::string_view k, absl::string_view) {
                        keys.emplace_back(k);
                        return true;
                      },
                      start)
                  .ok());
  return keys;
}

std::vector<std::string> ScanBackwardKeys(const Store& store,
                                          absl::string_view prefix,
                                          absl::string_view bound) {
  std::vector<std::string> keys;
  EXPECT_TRUE(store
                  .ScanBackward(Table::kLatest, prefix, bound,
                                [&](absl::string_view k, absl::string_view) {
                                  keys.emplace_back(k);
                                  return true;
                                })
                  .ok());
  return keys;
}

TEST(StoreTest, ScanFromAStartKeySkipsTheKeysBelowIt) {
  ScopedTempDir dir;
  std::unique_ptr<Store> store = StoreWithNeighbours(dir.path() / "db");
  ASSERT_NE(store, nullptr);

  EXPECT_THAT(ScanKeys(*store, "b/", "b/2"),
              ::testing::ElementsAre("b/2", "b/3"));
  EXPECT_THAT(ScanKeys(*store, "b/", "b/15"),  // between keys: the next
              ::testing::ElementsAre("b/2", "b/3"));
  EXPECT_THAT(ScanKeys(*store, "b/", "a/"),  // below the prefix: all of it
              ::testing::ElementsAre("b/1", "b/2", "b/3"));
  EXPECT_THAT(ScanKeys(*store, "b/", "b/4"), ::testing::IsEmpty());
}

TEST(StoreTest, ScanBackwardGoesFromTheBoundDownWithinThePrefix) {
  ScopedTempDir dir;
  std::unique_ptr<Store> store = StoreWithNeighbours(dir.path() / "db");
  ASSERT_NE(store, nullptr);

  EXPECT_THAT(ScanBackwardKeys(*store, "b/", "b/2"),
              ::testing::ElementsAre("b/2", "b/1"));
  EXPECT_THAT(ScanBackwardKeys(*store, "b/", "b/25"),  // between keys
              ::testing::ElementsAre("b/2", "b/1"));
  EXPECT_THAT(ScanBackwardKeys(*store, "b/", "b/\xff"),  // past the last
              ::testing::ElementsAre("b/3", "b/2", "b/1"));
  EXPECT_THAT(ScanBackwardKeys(*store, "b/", "b/0"), ::testing::IsEmpty());
}

TEST(StoreTest, ScanBackwardStopsWhenCallbackReturnsFalse) {
  ScopedTempDir dir;
  std::unique_ptr<Store> store = StoreWithNeighbours(dir.path() / "db");
  ASSERT_NE(store, nullptr);
  std::vector<std::string> seen;

  absl::Status status = store->ScanBackward(
      Table::kLatest, "b/", "b/3", [&](absl::string_view k, absl::string_view) {
        seen.emplace_back(k);
        return false;
      });

  ASSERT_TRUE(status.ok()) << status;
  EXPECT_THAT(seen, ::testing::ElementsAre("b/3"));
}

TEST(StoreTest, LastAtOrBeforeFindsTheBoundOrTheKeyBelowIt) {
  ScopedTempDir dir;
  std::unique_ptr<Store> store = StoreWithNeighbours(dir.path() / "db");
  ASSERT_NE(store, nullptr);
  using Entry = std::optional<std::pair<std::string, std::string>>;

  EXPECT_EQ(*store->LastAtOrBefore(Table::kLatest, "b/", "b/2"),
            Entry({"b/2", "vb/2"}));
  EXPECT_EQ(*store->LastAtOrBefore(Table::kLatest, "b/", "b/29"),
            Entry({"b/2", "vb/2"}));
  EXPECT_EQ(*store->LastAtOrBefore(Table::kLatest, "b/", "b/\xff"),
            Entry({"b/3", "vb/3"}));
}

TEST(StoreTest, LastAtOrBeforeNeverLeavesThePrefix) {
  ScopedTempDir dir;
  std::unique_ptr<Store> store = StoreWithNeighbours(dir.path() / "db");
  ASSERT_NE(store, nullptr);

  // "a/9" is below the bound but outside the prefix.
  absl::StatusOr<std::optional<std::pair<std::string, std::string>>> below =
      store->LastAtOrBefore(Table::kLatest, "b/", "b/0");

  ASSERT_TRUE(below.ok()) << below.status();
  EXPECT_EQ(*below, std::nullopt);
}

TEST(StoreTest, ScanOfEmptyTableCallsNothing) {
  ScopedTempDir dir;
  std::unique_ptr<Store> store = OpenOrDie(dir.path() / "db");
  ASSERT_NE(store, nullptr);

  EXPECT_TRUE(ScanAll(*store, Table::kEvents, "").empty());
}

TEST(StoreTest, DataSurvivesCloseAndReopen) {
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

TEST(StoreTest, DeleteSurvivesCloseAndReopen) {
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

TEST(StoreTest, SecondOpenWhileOpenIsUnavailable) {
  ScopedTempDir dir;
  std::unique_ptr<Store> first = OpenOrDie(dir.path() / "db");
  ASSERT_NE(first, nullptr);

  absl::StatusOr<std::unique_ptr<Store>> second =
      Store::Open(dir.path() / "db");

  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable)
      << second.status();
  EXPECT_THAT(second.status().message(),
              ::testing::HasSubstr((dir.path() / "db").string()));
}

TEST(StoreTest, OpenSucceedsAgainAfterFirstIsClosed) {
  ScopedTempDir dir;
  std::unique_ptr<Store> first = OpenOrDie(dir.path() / "db");
  ASSERT_NE(first, nullptr);
  first.reset();

  absl::StatusOr<std::unique_ptr<Store>> second =
      Store::Open(dir.path() / "db");

  EXPECT_TRUE(second.ok()) << second.status();
}

TEST(StoreTest, OpenOfAFileIsAnError) {
  ScopedTempDir dir;
  const fs::path file = dir.path() / "not-a-dir";
  { std::ofstream(file) << "x"; }

  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(file);

  EXPECT_FALSE(store.ok());
}

// A store in `dir` whose operating system is `disk`, retrying a reopen on
// every commit.
std::unique_ptr<Store> OpenOnDisk(const ScopedTempDir& dir,
                                  const FullDisk& disk) {
  StoreOptions options;
  options.env = disk.env();
  options.reopen_interval = absl::ZeroDuration();
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(dir.path() / "db", options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

Batch OnePut(absl::string_view key, absl::string_view value) {
  Batch batch;
  batch.Put(Table::kAgents, key, value);
  return batch;
}

TEST(StoreTest, CommitOnFullDiskIsUnavailable) {
  ScopedTempDir dir;
  FullDisk disk;
  std::unique_ptr<Store> store = OpenOnDisk(dir, disk);
  ASSERT_NE(store, nullptr);
  disk.Fill();

  absl::Status committed = store->Commit(OnePut("a", "1"));

  EXPECT_EQ(committed.code(), absl::StatusCode::kUnavailable) << committed;
}

TEST(StoreTest, FailedCommitAppliesNothing) {
  ScopedTempDir dir;
  FullDisk disk;
  std::unique_ptr<Store> store = OpenOnDisk(dir, disk);
  ASSERT_NE(store, nullptr);
  disk.Fill();
  ASSERT_FALSE(store->Commit(OnePut("a", "1")).ok());
  disk.Free();

  absl::StatusOr<std::optional<std::string>> value =
      store->Get(Table::kAgents, "a");

  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_FALSE(value->has_value());
}

TEST(StoreTest, ReadsWorkWhileDiskIsFull) {
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

TEST(StoreTest, WritesResumeByThemselvesWhenSpaceReturns) {
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

TEST(StoreTest, DataWrittenBeforeAndAfterFullDiskSurvivesReopen) {
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

TEST(StoreTest, CommitBelowTheFreeSpaceReserveIsUnavailable) {
  ScopedTempDir dir;
  StoreOptions options;
  options.min_free_bytes = uint64_t{1} << 62;  // more than any disk has
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(dir.path() / "db", options);
  ASSERT_TRUE(store.ok()) << store.status();

  absl::Status committed = (*store)->Commit(OnePut("a", "1"));

  EXPECT_EQ(committed.code(), absl::StatusCode::kUnavailable) << committed;
  EXPECT_THAT(committed.message(), ::testing::HasSubstr("free"));
  EXPECT_FALSE((*store)->Get(Table::kAgents, "a")->has_value());
}

}  // namespace
}  // namespace evidentia::collector
