// The contract every Store implementation keeps (store.h), run against each:
// RocksDbStore on a real RocksDB in a temp dir whose operating system can be
// made to run out of space, and MemoryStore. What only RocksDB does (the
// lock between processes, reopening, the free space reserve) is tested in
// rocksdb_store_test.cc.
#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "collector/store/memory_store.h"
#include "collector/store/rocksdb_store.h"
#include "collector/store/store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/full_disk.h"
#include "tests/support/store_rows.h"
#include "tests/support/temp_dir.h"

namespace evidentia::collector {
namespace {

namespace fs = std::filesystem;
using ::evidentia::testing::ScanAll;

using ::testing::ElementsAre;
using ::testing::Pair;

// Opens an empty store of one kind, and makes its commits fail as when its
// medium is full (Fill) or work again (Free).
class StoreMaker {
 public:
  virtual ~StoreMaker() = default;
  virtual std::unique_ptr<Store> Open(const fs::path& dir) = 0;
  virtual void Fill() = 0;
  virtual void Free() = 0;
};

class RocksDbMaker : public StoreMaker {
 public:
  std::unique_ptr<Store> Open(const fs::path& dir) override {
    RocksDbOptions options;
    options.env = disk_.env();
    options.min_free_bytes = 0;
    options.reopen_interval = absl::ZeroDuration();
    absl::StatusOr<std::unique_ptr<Store>> store =
        OpenRocksDbStore(dir / "db", options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }
  void Fill() override { disk_.Fill(); }
  void Free() override { disk_.Free(); }

 private:
  testing::FullDisk disk_;
};

class MemoryMaker : public StoreMaker {
 public:
  std::unique_ptr<Store> Open(const fs::path&) override {
    return std::make_unique<MemoryStore>([this] {
      return full_ ? absl::UnavailableError("injected: memory full")
                   : absl::OkStatus();
    });
  }
  void Fill() override { full_ = true; }
  void Free() override { full_ = false; }

 private:
  std::atomic<bool> full_{false};
};

class StoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "RocksDb") {
      maker_ = std::make_unique<RocksDbMaker>();
    } else {
      maker_ = std::make_unique<MemoryMaker>();
    }
    store_ = maker_->Open(dir_.path());
    ASSERT_NE(store_, nullptr);
  }

  testing::ScopedTempDir dir_;
  std::unique_ptr<StoreMaker> maker_;
  std::unique_ptr<Store> store_;  // after maker_: closed before it goes
};

TEST_P(StoreContractTest, CommittedPutIsReadBack) {
  Store* store = store_.get();

  Batch batch;
  batch.Put(Table::kAgents, "agent-1", "record-1");
  ASSERT_TRUE(store->Commit(batch).ok());

  absl::StatusOr<std::optional<std::string>> got =
      store->Get(Table::kAgents, "agent-1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, std::optional<std::string>("record-1"));
}

TEST_P(StoreContractTest, GetOfMissingKeyIsNullopt) {
  Store* store = store_.get();

  absl::StatusOr<std::optional<std::string>> got =
      store->Get(Table::kAgents, "nobody");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->has_value());
}

TEST_P(StoreContractTest, TablesAreSeparate) {
  Store* store = store_.get();

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

TEST_P(StoreContractTest, CommittedDeleteRemovesKey) {
  Store* store = store_.get();
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

TEST_P(StoreContractTest, BatchAppliesOperationsInOrder) {
  Store* store = store_.get();

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

TEST_P(StoreContractTest, KeysAndValuesMayHoldNulBytes) {
  Store* store = store_.get();
  const std::string key("a\0b", 3);
  const std::string value("\0\0x\0", 4);

  Batch batch;
  batch.Put(Table::kSnapshots, key, value);
  ASSERT_TRUE(store->Commit(batch).ok());

  EXPECT_EQ(*store->Get(Table::kSnapshots, key),
            std::optional<std::string>(value));
  EXPECT_FALSE(store->Get(Table::kSnapshots, "a")->has_value());
}

TEST_P(StoreContractTest, ScanVisitsOnlyPrefixInKeyOrder) {
  Store* store = store_.get();
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

TEST_P(StoreContractTest, ScanWithEmptyPrefixVisitsWholeTable) {
  Store* store = store_.get();
  Batch batch;
  batch.Put(Table::kEvents, "2", "two");
  batch.Put(Table::kEvents, "1", "one");
  batch.Put(Table::kAgents, "other table", "x");
  ASSERT_TRUE(store->Commit(batch).ok());

  EXPECT_THAT(ScanAll(*store, Table::kEvents, ""),
              ::testing::ElementsAre(::testing::Pair("1", "one"),
                                     ::testing::Pair("2", "two")));
}

TEST_P(StoreContractTest, ScanStopsWhenCallbackReturnsFalse) {
  Store* store = store_.get();
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
void AddNeighbours(Store& store) {
  Batch batch;
  for (const char* key : {"b/3", "a/9", "b/1", "c/0", "b/2"}) {
    batch.Put(Table::kLatest, key, std::string("v") + key);
  }
  ASSERT_TRUE(store.Commit(batch).ok());
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

TEST_P(StoreContractTest, ScanFromAStartKeySkipsTheKeysBelowIt) {
  Store* store = store_.get();
  ASSERT_NO_FATAL_FAILURE(AddNeighbours(*store));

  EXPECT_THAT(ScanKeys(*store, "b/", "b/2"),
              ::testing::ElementsAre("b/2", "b/3"));
  EXPECT_THAT(ScanKeys(*store, "b/", "b/15"),  // between keys: the next
              ::testing::ElementsAre("b/2", "b/3"));
  EXPECT_THAT(ScanKeys(*store, "b/", "a/"),  // below the prefix: all of it
              ::testing::ElementsAre("b/1", "b/2", "b/3"));
  EXPECT_THAT(ScanKeys(*store, "b/", "b/4"), ::testing::IsEmpty());
}

TEST_P(StoreContractTest, ScanBackwardGoesFromTheBoundDownWithinThePrefix) {
  Store* store = store_.get();
  ASSERT_NO_FATAL_FAILURE(AddNeighbours(*store));

  EXPECT_THAT(ScanBackwardKeys(*store, "b/", "b/2"),
              ::testing::ElementsAre("b/2", "b/1"));
  EXPECT_THAT(ScanBackwardKeys(*store, "b/", "b/25"),  // between keys
              ::testing::ElementsAre("b/2", "b/1"));
  EXPECT_THAT(ScanBackwardKeys(*store, "b/", "b/\xff"),  // past the last
              ::testing::ElementsAre("b/3", "b/2", "b/1"));
  EXPECT_THAT(ScanBackwardKeys(*store, "b/", "b/0"), ::testing::IsEmpty());
}

TEST_P(StoreContractTest, ScanBackwardStopsWhenCallbackReturnsFalse) {
  Store* store = store_.get();
  ASSERT_NO_FATAL_FAILURE(AddNeighbours(*store));
  std::vector<std::string> seen;

  absl::Status status = store->ScanBackward(
      Table::kLatest, "b/", "b/3", [&](absl::string_view k, absl::string_view) {
        seen.emplace_back(k);
        return false;
      });

  ASSERT_TRUE(status.ok()) << status;
  EXPECT_THAT(seen, ::testing::ElementsAre("b/3"));
}

TEST_P(StoreContractTest, LastAtOrBeforeFindsTheBoundOrTheKeyBelowIt) {
  Store* store = store_.get();
  ASSERT_NO_FATAL_FAILURE(AddNeighbours(*store));
  using Entry = std::optional<std::pair<std::string, std::string>>;

  EXPECT_EQ(*store->LastAtOrBefore(Table::kLatest, "b/", "b/2"),
            Entry({"b/2", "vb/2"}));
  EXPECT_EQ(*store->LastAtOrBefore(Table::kLatest, "b/", "b/29"),
            Entry({"b/2", "vb/2"}));
  EXPECT_EQ(*store->LastAtOrBefore(Table::kLatest, "b/", "b/\xff"),
            Entry({"b/3", "vb/3"}));
}

TEST_P(StoreContractTest, LastAtOrBeforeNeverLeavesThePrefix) {
  Store* store = store_.get();
  ASSERT_NO_FATAL_FAILURE(AddNeighbours(*store));

  // "a/9" is below the bound but outside the prefix.
  absl::StatusOr<std::optional<std::pair<std::string, std::string>>> below =
      store->LastAtOrBefore(Table::kLatest, "b/", "b/0");

  ASSERT_TRUE(below.ok()) << below.status();
  EXPECT_EQ(*below, std::nullopt);
}

TEST_P(StoreContractTest, ScanOfEmptyTableCallsNothing) {
  Store* store = store_.get();

  EXPECT_TRUE(ScanAll(*store, Table::kEvents, "").empty());
}

TEST_P(StoreContractTest, KeysOrderAsUnsignedBytesNulFirst) {
  Store* store = store_.get();
  Batch batch;
  for (const std::string& key :
       {std::string("k\xff", 2), std::string("k\x01", 2),
        std::string("k\0\0", 3), std::string("k\0", 2), std::string("k")}) {
    batch.Put(Table::kObjects, key, "v");
  }
  ASSERT_TRUE(store->Commit(batch).ok());

  std::vector<std::string> keys;
  for (const auto& [key, value] : ScanAll(*store, Table::kObjects, "k")) {
    keys.push_back(key);
  }
  EXPECT_THAT(keys,
              ElementsAre(std::string("k"), std::string("k\0", 2),
                          std::string("k\0\0", 3), std::string("k\x01", 2),
                          std::string("k\xff", 2)));
  // A prefix and a bound holding NUL bytes.
  auto last = store->LastAtOrBefore(Table::kObjects, std::string("k\0", 2),
                                    std::string("k\0\xff", 3));
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ((*last)->first, std::string("k\0\0", 3));
}

TEST_P(StoreContractTest, ConditionalCommitAppliesWhenTheKeyHoldsTheValue) {
  Store* store = store_.get();
  Batch first;
  first.Put(Table::kAgents, "a", "v1");
  ASSERT_TRUE(store->Commit(first).ok());

  Batch next;
  next.Expect(Table::kAgents, "a", "v1");
  next.Put(Table::kAgents, "a", "v2");
  next.Put(Table::kEvents, "e", "with it");
  absl::Status committed = store->Commit(next);

  ASSERT_TRUE(committed.ok()) << committed;
  EXPECT_EQ(*store->Get(Table::kAgents, "a"), std::optional<std::string>("v2"));
  EXPECT_EQ(*store->Get(Table::kEvents, "e"),
            std::optional<std::string>("with it"));
}

TEST_P(StoreContractTest, ConditionalCommitOnAChangedKeyIsAbortedWhole) {
  Store* store = store_.get();
  Batch first;
  first.Put(Table::kAgents, "a", "v2");  // someone else's write
  ASSERT_TRUE(store->Commit(first).ok());

  Batch stale;
  stale.Expect(Table::kAgents, "other", std::nullopt);  // holds
  stale.Expect(Table::kAgents, "a", "v1");              // does not
  stale.Put(Table::kAgents, "a", "v3");
  stale.Put(Table::kEvents, "e", "with it");
  absl::Status committed = store->Commit(stale);

  EXPECT_EQ(committed.code(), absl::StatusCode::kAborted) << committed;
  EXPECT_THAT(committed.message(), ::testing::HasSubstr("agents key \"a\""));
  EXPECT_EQ(*store->Get(Table::kAgents, "a"), std::optional<std::string>("v2"));
  EXPECT_FALSE(store->Get(Table::kEvents, "e")->has_value());
}

TEST_P(StoreContractTest, ExpectAbsentHoldsOnlyForAnAbsentKey) {
  Store* store = store_.get();
  Batch create;
  create.Expect(Table::kTokens, "t", std::nullopt);
  create.Put(Table::kTokens, "t", "mine");
  ASSERT_TRUE(store->Commit(create).ok());

  Batch again;
  again.Expect(Table::kTokens, "t", std::nullopt);
  again.Put(Table::kTokens, "t", "theirs");
  EXPECT_EQ(store->Commit(again).code(), absl::StatusCode::kAborted);

  // An empty value is a value, not absence.
  Batch empty;
  empty.Put(Table::kTokens, "u", "");
  ASSERT_TRUE(store->Commit(empty).ok());
  Batch on_empty;
  on_empty.Expect(Table::kTokens, "u", std::nullopt);
  on_empty.Put(Table::kTokens, "u", "x");
  EXPECT_EQ(store->Commit(on_empty).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(*store->Get(Table::kTokens, "t"),
            std::optional<std::string>("mine"));
}

TEST_P(StoreContractTest, ConcurrentConditionalCommitsOnOneKeyOneWins) {
  Store* store = store_.get();
  Batch start;
  start.Put(Table::kMeta, "counter", "0");
  ASSERT_TRUE(store->Commit(start).ok());
  constexpr int kWriters = 8;
  std::vector<absl::Status> results(kWriters);
  std::vector<std::thread> writers;
  std::atomic<int> ready{0};

  for (int i = 0; i < kWriters; ++i) {
    writers.emplace_back([&, i] {
      Batch batch;
      batch.Expect(Table::kMeta, "counter", "0");
      batch.Put(Table::kMeta, "counter", absl::StrCat("1 by ", i));
      // Unconditional writes beside them, which must not be held up.
      Batch other;
      other.Put(Table::kEvents, absl::StrCat("e", i), "x");
      ++ready;
      while (ready < kWriters) std::this_thread::yield();
      results[i] = store->Commit(batch);
      EXPECT_TRUE(store->Commit(other).ok());
    });
  }
  for (std::thread& writer : writers) writer.join();

  int won = 0;
  for (const absl::Status& result : results) {
    if (result.ok()) {
      ++won;
    } else {
      EXPECT_EQ(result.code(), absl::StatusCode::kAborted) << result;
    }
  }
  EXPECT_EQ(won, 1);
  EXPECT_EQ(ScanAll(*store, Table::kEvents, "").size(), size_t{kWriters});
}

TEST_P(StoreContractTest, UnavailableCommitAppliesNothingAndReadsGoOn) {
  Store* store = store_.get();
  Batch before;
  before.Put(Table::kAgents, "kept", "1");
  ASSERT_TRUE(store->Commit(before).ok());
  maker_->Fill();

  Batch batch;
  batch.Put(Table::kAgents, "kept", "2");
  batch.Put(Table::kAgents, "new", "1");
  batch.Delete(Table::kAgents, "kept");
  absl::Status committed = store->Commit(batch);

  EXPECT_EQ(committed.code(), absl::StatusCode::kUnavailable) << committed;
  EXPECT_EQ(*store->Get(Table::kAgents, "kept"),
            std::optional<std::string>("1"));
  maker_->Free();
  EXPECT_THAT(ScanAll(*store, Table::kAgents, ""),
              ElementsAre(Pair("kept", "1")));
  // And it writes again once there is room.
  EXPECT_TRUE(store->Commit(batch).ok());
  EXPECT_THAT(ScanAll(*store, Table::kAgents, ""),
              ElementsAre(Pair("new", "1")));
}

TEST_P(StoreContractTest, VisitorMayReadTheStore) {
  Store* store = store_.get();
  ASSERT_NO_FATAL_FAILURE(AddNeighbours(*store));
  int found = 0;

  absl::Status status = store->Scan(
      Table::kLatest, "b/", [&](absl::string_view key, absl::string_view) {
        found += store->Get(Table::kLatest, key)->has_value();
        return true;
      });

  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(found, 3);
}

// Hundreds of keys (more than a MemoryStore scan copies at a time), with
// neighbours on both sides of the prefix.
TEST_P(StoreContractTest, LongScansVisitEveryKeyOnceInOrder) {
  Store* store = store_.get();
  Batch batch;
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) keys.push_back(absl::StrCat("m/", 1000 + i));
  for (const std::string& key : keys) batch.Put(Table::kHistory, key, key);
  batch.Put(Table::kHistory, "l", "before");
  batch.Put(Table::kHistory, "n", "after");
  ASSERT_TRUE(store->Commit(batch).ok());
  std::vector<std::string> forward, backward;

  ASSERT_TRUE(store
                  ->Scan(
                      Table::kHistory, "m/",
                      [&](absl::string_view key, absl::string_view) {
                        forward.emplace_back(key);
                        return true;
                      },
                      "m/1010")
                  .ok());
  ASSERT_TRUE(store
                  ->ScanBackward(Table::kHistory, "m/", "m/1289",
                                 [&](absl::string_view key, absl::string_view) {
                                   backward.emplace_back(key);
                                   return true;
                                 })
                  .ok());

  EXPECT_EQ(forward, std::vector<std::string>(keys.begin() + 10, keys.end()));
  EXPECT_EQ(backward,
            std::vector<std::string>(keys.rbegin() + 10, keys.rend()));
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreContractTest,
                         ::testing::Values("RocksDb", "Memory"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace evidentia::collector
