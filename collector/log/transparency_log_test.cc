#include "collector/log/transparency_log.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "collector/store/keys.h"
#include "collector/store/records.h"
#include "collector/store/rocksdb_store.h"
#include "collector/store/store.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/merkle.h"
#include "evidentia/v1/bundle.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace evidentia::collector {
namespace {

using ::evidentia::testing::ScopedTempDir;

constexpr char kAgent[] = "0123456789abcdef0123456789abcdef";

// Waits, polling, until `done` holds or a generous deadline passes; the
// result says which. Never a measure of speed.
bool Eventually(const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return done();
}

// The leaf hash of snapshot `seq` of `agent` in these tests.
std::string Payload(absl::string_view agent, uint64_t seq) {
  return absl::StrCat("payload of ", agent, " #", seq);
}
std::string Signature(uint64_t seq) {
  return std::string(64, static_cast<char>('A' + seq % 26));
}
std::string LeafOf(absl::string_view agent, uint64_t seq) {
  const std::string payload = Payload(agent, seq);
  return merkle::SnapshotLeafHash(payload, Signature(seq));
}

std::vector<std::string> Prefix(const std::vector<std::string>& leaves,
                                uint64_t n) {
  return std::vector<std::string>(leaves.begin(), leaves.begin() + n);
}

// A log over a real store in a temp dir, with a collector key and a clock
// the test moves. `leaves_` is what the log should hold, in order.
class TransparencyLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = std::make_unique<PrivateKey>(*std::move(key));
    Reopen();
  }

  // Closes the log and the store (as a crash or restart would) and opens
  // them again.
  void Reopen() {
    log_.reset();
    store_.reset();
    absl::StatusOr<std::unique_ptr<Store>> store =
        OpenRocksDbStore(dir_.path() / "db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    ReopenLog();
  }

  // A new log object over the same store.
  void ReopenLog() {
    log_.reset();
    absl::StatusOr<std::unique_ptr<TransparencyLog>> log =
        TransparencyLog::Open(*store_, *key_, [this] { return now_; });
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
  }

  // Queues snapshot `seq` of `agent` the way ingest does: in a committed
  // batch.
  void Enqueue(absl::string_view agent, uint64_t seq) {
    Batch batch;
    TransparencyLog::Enqueue(batch, agent, seq, Payload(agent, seq),
                             Signature(seq));
    ASSERT_TRUE(store_->Commit(batch).ok());
  }

  // Queues and integrates `n` more snapshots of kAgent, one Integrate each.
  void AppendOneByOne(uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t seq = ++last_seq_;
      Enqueue(kAgent, seq);
      leaves_.push_back(LeafOf(kAgent, seq));
      absl::StatusOr<uint64_t> size = log_->Integrate();
      ASSERT_TRUE(size.ok()) << size.status();
      ASSERT_EQ(*size, leaves_.size());
    }
  }

  // Queues `n` more snapshots of kAgent in one batch and integrates them at
  // once.
  void AppendTogether(uint64_t n) {
    Batch batch;
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t seq = ++last_seq_;
      TransparencyLog::Enqueue(batch, kAgent, seq, Payload(kAgent, seq),
                               Signature(seq));
      leaves_.push_back(LeafOf(kAgent, seq));
    }
    ASSERT_TRUE(store_->Commit(batch).ok());
    absl::StatusOr<uint64_t> size = log_->Integrate();
    ASSERT_TRUE(size.ok()) << size.status();
    ASSERT_EQ(*size, leaves_.size());
  }

  std::string RootOrDie(uint64_t size) {
    absl::StatusOr<std::string> root = log_->Root(size);
    EXPECT_TRUE(root.ok()) << root.status();
    return root.ok() ? *root : std::string();
  }

  Checkpoint SignOrDie() {
    absl::StatusOr<v1::StoredCheckpoint> stored = log_->SignCheckpoint();
    EXPECT_TRUE(stored.ok()) << stored.status();
    if (!stored.ok()) return Checkpoint();
    absl::StatusOr<Checkpoint> parsed = ParseCheckpoint(stored->text());
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return parsed.ok() ? *parsed : Checkpoint();
  }

  size_t Count(Table table) {
    size_t n = 0;
    EXPECT_TRUE(store_
                    ->Scan(table, "",
                           [&](absl::string_view, absl::string_view) {
                             ++n;
                             return true;
                           })
                    .ok());
    return n;
  }

  // The stored level-0 nodes, in index order.
  std::vector<std::string> StoredLeaves() {
    std::vector<std::string> leaves;
    EXPECT_TRUE(store_
                    ->Scan(Table::kLogNodes, std::string(1, '\0'),
                           [&](absl::string_view, absl::string_view value) {
                             leaves.emplace_back(value);
                             return true;
                           })
                    .ok());
    return leaves;
  }

  // What an attacker with write access to the store does to make the log
  // hold `leaves`: every node rewritten and recomputed, the size set, and
  // the index of each snapshot in `moved` set to its new position.
  void RewriteTree(const std::vector<std::string>& leaves,
                   const std::vector<std::pair<std::string, uint64_t>>& moved) {
    Batch batch;
    ASSERT_TRUE(store_
                    ->Scan(Table::kLogNodes, "",
                           [&](absl::string_view key, absl::string_view) {
                             batch.Delete(Table::kLogNodes, key);
                             return true;
                           })
                    .ok());
    std::vector<std::string> level_nodes = leaves;
    for (int level = 0; !level_nodes.empty(); ++level) {
      std::vector<std::string> parents;
      for (uint64_t i = 0; i < level_nodes.size(); ++i) {
        batch.Put(Table::kLogNodes, keys::LogNode(level, i), level_nodes[i]);
        if (i % 2 == 1) {
          parents.push_back(
              merkle::NodeHash(level_nodes[i - 1], level_nodes[i]));
        }
      }
      level_nodes = std::move(parents);
    }
    batch.Put(Table::kMeta, keys::kLogSize, keys::BigEndian64(leaves.size()));
    for (const auto& [snapshot_key, index] : moved) {
      batch.Put(Table::kLogIndex, snapshot_key, keys::BigEndian64(index));
    }
    ASSERT_TRUE(store_->Commit(batch).ok());
    ReopenLog();
  }

  ScopedTempDir dir_;
  absl::Time now_ = absl::FromUnixSeconds(1796083199) + absl::Milliseconds(250);
  std::unique_ptr<PrivateKey> key_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<TransparencyLog> log_;
  uint64_t last_seq_ = 0;
  std::vector<std::string> leaves_;
};

// --- Appending
// ----------------------------------------------------------------

TEST_F(TransparencyLogTest, EmptyLogHasEmptyRoot) {
  EXPECT_EQ(log_->size(), 0u);
  EXPECT_EQ(RootOrDie(0), merkle::EmptyRoot());
}

TEST_F(TransparencyLogTest, RootOfEverySizeMatchesDirectComputation) {
  AppendOneByOne(40);

  for (uint64_t n = 0; n <= leaves_.size(); ++n) {
    EXPECT_EQ(RootOrDie(n), merkle::RootOf(Prefix(leaves_, n))) << "size " << n;
  }
}

TEST_F(TransparencyLogTest, IntegratingTogetherStoresTheSameTree) {
  AppendTogether(13);
  AppendTogether(1);
  AppendTogether(19);

  for (uint64_t n = 0; n <= leaves_.size(); ++n) {
    EXPECT_EQ(RootOrDie(n), merkle::RootOf(Prefix(leaves_, n))) << "size " << n;
  }
}

TEST_F(TransparencyLogTest, IntegrateWithEmptyQueueChangesNothing) {
  AppendTogether(3);
  const std::string root = RootOrDie(3);

  absl::StatusOr<uint64_t> size = log_->Integrate();

  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_EQ(*size, 3u);
  EXPECT_EQ(RootOrDie(3), root);
}

TEST_F(TransparencyLogTest, IntegrateEmptiesTheQueue) {
  Enqueue(kAgent, 1);
  Enqueue(kAgent, 2);
  ASSERT_EQ(Count(Table::kLogQueue), 2u);

  ASSERT_TRUE(log_->Integrate().ok());

  EXPECT_EQ(Count(Table::kLogQueue), 0u);
  EXPECT_EQ(Count(Table::kLogIndex), 2u);
}

TEST_F(TransparencyLogTest, IntegrateAppendsInAgentThenSeqOrder) {
  const std::string a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  const std::string b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  Enqueue(b, 1);
  Enqueue(a, 256);  // big-endian: after seq 2, not before it
  Enqueue(a, 2);

  ASSERT_TRUE(log_->Integrate().ok());

  EXPECT_EQ(*log_->LeafIndex(a, 2), std::optional<uint64_t>(0));
  EXPECT_EQ(*log_->LeafIndex(a, 256), std::optional<uint64_t>(1));
  EXPECT_EQ(*log_->LeafIndex(b, 1), std::optional<uint64_t>(2));
  EXPECT_EQ(RootOrDie(3),
            merkle::RootOf({LeafOf(a, 2), LeafOf(a, 256), LeafOf(b, 1)}));
}

TEST_F(TransparencyLogTest, IntegrateDrainsMoreThanOneRound) {
  Batch batch;
  for (uint64_t seq = 1; seq <= kLogEntriesPerRound + 3; ++seq) {
    TransparencyLog::Enqueue(batch, kAgent, seq, Payload(kAgent, seq),
                             Signature(seq));
    leaves_.push_back(LeafOf(kAgent, seq));
  }
  ASSERT_TRUE(store_->Commit(batch).ok());

  absl::StatusOr<uint64_t> size = log_->Integrate();

  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_EQ(*size, kLogEntriesPerRound + 3);
  EXPECT_EQ(Count(Table::kLogQueue), 0u);
  EXPECT_EQ(RootOrDie(*size), merkle::RootOf(leaves_));
}

TEST_F(TransparencyLogTest, SnapshotAlreadyLoggedIsNotAppendedTwice) {
  AppendTogether(2);
  Enqueue(kAgent, 1);  // queued again, e.g. by a replayed batch

  absl::StatusOr<uint64_t> size = log_->Integrate();

  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_EQ(*size, 2u);
  EXPECT_EQ(Count(Table::kLogQueue), 0u);
  EXPECT_EQ(RootOrDie(2), merkle::RootOf(leaves_));
}

TEST_F(TransparencyLogTest, CorruptQueueEntryIsDataLossAndAppendsNothing) {
  Enqueue(kAgent, 1);
  Batch batch;
  v1::LogQueueEntry short_hash;
  short_hash.set_leaf_hash("too short");
  batch.Put(Table::kLogQueue, keys::Snapshot(kAgent, 2),
            short_hash.SerializeAsString());
  ASSERT_TRUE(store_->Commit(batch).ok());

  absl::StatusOr<uint64_t> size = log_->Integrate();

  EXPECT_EQ(size.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(log_->size(), 0u);
  EXPECT_EQ(Count(Table::kLogQueue), 2u);
}

TEST_F(TransparencyLogTest, LeafIndexIsUnknownWhileQueued) {
  Enqueue(kAgent, 1);

  absl::StatusOr<std::optional<uint64_t>> queued = log_->LeafIndex(kAgent, 1);

  ASSERT_TRUE(queued.ok()) << queued.status();
  EXPECT_EQ(*queued, std::nullopt);
}

TEST_F(TransparencyLogTest, LeafIndexIsThePositionOnceIntegrated) {
  AppendOneByOne(3);
  AppendTogether(4);

  for (uint64_t seq = 1; seq <= 7; ++seq) {
    absl::StatusOr<std::optional<uint64_t>> index =
        log_->LeafIndex(kAgent, seq);
    ASSERT_TRUE(index.ok()) << index.status();
    EXPECT_EQ(*index, std::optional<uint64_t>(seq - 1));
  }
  EXPECT_EQ(*log_->LeafIndex(kAgent, 8), std::nullopt);
  EXPECT_EQ(*log_->LeafIndex("ffffffffffffffffffffffffffffffff", 1),
            std::nullopt);
}

// --- Proofs -----------------------------------------------------------------

TEST_F(TransparencyLogTest, InclusionProofsOfEveryLeafInEverySizeVerify) {
  AppendOneByOne(33);

  for (uint64_t n = 1; n <= leaves_.size(); ++n) {
    const std::string root = merkle::RootOf(Prefix(leaves_, n));
    for (uint64_t i = 0; i < n; ++i) {
      absl::StatusOr<std::vector<std::string>> proof =
          log_->InclusionProof(i, n);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_TRUE(merkle::VerifyInclusion(i, n, leaves_[i], *proof, root).ok())
          << "leaf " << i << " of " << n;
    }
  }
}

TEST_F(TransparencyLogTest, ConsistencyProofsOfEverySizePairVerify) {
  AppendTogether(33);

  for (uint64_t n2 = 0; n2 <= leaves_.size(); ++n2) {
    const std::string root2 = merkle::RootOf(Prefix(leaves_, n2));
    for (uint64_t n1 = 0; n1 <= n2; ++n1) {
      absl::StatusOr<std::vector<std::string>> proof =
          log_->ConsistencyProof(n1, n2);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_TRUE(merkle::VerifyConsistency(n1, n2, *proof,
                                            merkle::RootOf(Prefix(leaves_, n1)),
                                            root2)
                      .ok())
          << n1 << " to " << n2;
    }
  }
}

TEST_F(TransparencyLogTest, EveryEarlierCheckpointIsConsistentWithNow) {
  std::vector<Checkpoint> checkpoints;
  for (uint64_t batch : {1, 2, 5, 8, 1, 16, 3}) {
    AppendTogether(batch);
    now_ += absl::Minutes(1);
    checkpoints.push_back(SignOrDie());
  }
  const uint64_t size = log_->size();
  const std::string root = RootOrDie(size);

  for (const Checkpoint& earlier : checkpoints) {
    absl::StatusOr<std::vector<std::string>> proof =
        log_->ConsistencyProof(earlier.size, size);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_TRUE(merkle::VerifyConsistency(earlier.size, size, *proof,
                                          earlier.root, root)
                    .ok())
        << "from checkpoint of size " << earlier.size;
  }
}

TEST_F(TransparencyLogTest, ProofBeyondTheLogIsOutOfRange) {
  AppendTogether(4);

  EXPECT_EQ(log_->Root(5).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(log_->InclusionProof(0, 5).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(log_->ConsistencyProof(2, 5).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST_F(TransparencyLogTest, InclusionOfIndexNotBelowSizeIsInvalidArgument) {
  AppendTogether(4);

  EXPECT_EQ(log_->InclusionProof(3, 3).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TransparencyLogTest, ConsistencyToSmallerSizeIsInvalidArgument) {
  AppendTogether(4);

  EXPECT_EQ(log_->ConsistencyProof(4, 3).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TransparencyLogTest, MissingStoredNodeIsDataLoss) {
  AppendTogether(4);
  Batch batch;
  batch.Delete(Table::kLogNodes, keys::LogNode(2, 0));
  ASSERT_TRUE(store_->Commit(batch).ok());

  EXPECT_EQ(log_->Root(4).status().code(), absl::StatusCode::kDataLoss);
}

// --- Durability
// ---------------------------------------------------------------

TEST_F(TransparencyLogTest, ReopeningKeepsSizeAndRoots) {
  AppendOneByOne(11);
  std::vector<std::string> roots;
  for (uint64_t n = 0; n <= 11; ++n) roots.push_back(RootOrDie(n));

  Reopen();

  EXPECT_EQ(log_->size(), 11u);
  for (uint64_t n = 0; n <= 11; ++n) {
    EXPECT_EQ(RootOrDie(n), roots[n]) << "size " << n;
  }
  AppendOneByOne(2);
  EXPECT_EQ(RootOrDie(13), merkle::RootOf(leaves_));
}

TEST_F(TransparencyLogTest, QueuedBeforeCrashIsIntegratedAfterReopen) {
  AppendTogether(5);
  for (uint64_t seq = 6; seq <= 9; ++seq) {
    Enqueue(kAgent, seq);
    leaves_.push_back(LeafOf(kAgent, seq));
  }
  last_seq_ = 9;

  Reopen();  // without Integrate
  ASSERT_EQ(log_->size(), 5u);
  absl::StatusOr<uint64_t> size = log_->Integrate();

  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_EQ(*size, 9u);
  EXPECT_EQ(RootOrDie(9), merkle::RootOf(leaves_));
  EXPECT_EQ(*log_->LeafIndex(kAgent, 9), std::optional<uint64_t>(8));
}

// --- Checkpoints
// ----------------------------------------------------------------

TEST_F(TransparencyLogTest,
       SignedCheckpointParsesAndVerifiesUnderCollectorKey) {
  AppendTogether(6);
  Enqueue(kAgent, 7);  // SignCheckpoint integrates first
  leaves_.push_back(LeafOf(kAgent, 7));

  absl::StatusOr<v1::StoredCheckpoint> stored = log_->SignCheckpoint();

  ASSERT_TRUE(stored.ok()) << stored.status();
  absl::StatusOr<Checkpoint> parsed = ParseCheckpoint(stored->text());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->collector_key_id, key_->public_key().KeyId());
  EXPECT_EQ(parsed->size, 7u);
  EXPECT_EQ(parsed->root, merkle::RootOf(leaves_));
  EXPECT_EQ(parsed->time, absl::FromUnixSeconds(1796083199));
  EXPECT_TRUE(
      key_->public_key().Verify(stored->text(), stored->signature()).ok());
}

TEST_F(TransparencyLogTest, CheckpointSignatureCoversEveryByteOfText) {
  AppendTogether(3);
  absl::StatusOr<v1::StoredCheckpoint> stored = log_->SignCheckpoint();
  ASSERT_TRUE(stored.ok()) << stored.status();

  std::string text = stored->text();
  text[text.find("size 3") + 5] = '4';

  EXPECT_EQ(key_->public_key().Verify(text, stored->signature()).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(TransparencyLogTest, LatestCheckpointIsTheLargestSize) {
  EXPECT_EQ(*log_->LatestCheckpoint(), std::nullopt);
  AppendTogether(2);
  SignOrDie();
  AppendTogether(300);  // a size whose big-endian key sorts after 2's
  const Checkpoint newest = SignOrDie();

  absl::StatusOr<std::optional<v1::StoredCheckpoint>> latest =
      log_->LatestCheckpoint();

  ASSERT_TRUE(latest.ok()) << latest.status();
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->text(), FormatCheckpoint(newest));
  EXPECT_EQ(Count(Table::kCheckpoints), 2u);
}

// --- Tampering with the stored log
// ---------------------------------------------

// Swapping two stored leaves, without recomputing their parents, and
// pointing the index at the new positions: the proof of a moved snapshot
// no longer reaches the checkpoint signed before.
TEST_F(TransparencyLogTest,
       SwappedLeafNodesFailInclusionAgainstOlderCheckpoint) {
  AppendTogether(16);
  const Checkpoint old = SignOrDie();

  for (uint64_t i = 0; i < 16; ++i) {
    for (uint64_t j = i + 1; j < 16; ++j) {
      Batch swap;
      swap.Put(Table::kLogNodes, keys::LogNode(0, i), leaves_[j]);
      swap.Put(Table::kLogNodes, keys::LogNode(0, j), leaves_[i]);
      ASSERT_TRUE(store_->Commit(swap).ok());

      absl::StatusOr<std::vector<std::string>> proof =
          log_->InclusionProof(j, old.size);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_FALSE(
          merkle::VerifyInclusion(j, old.size, leaves_[i], *proof, old.root)
              .ok())
          << "leaf " << i << " moved to " << j;

      Batch restore;
      restore.Put(Table::kLogNodes, keys::LogNode(0, i), leaves_[i]);
      restore.Put(Table::kLogNodes, keys::LogNode(0, j), leaves_[j]);
      ASSERT_TRUE(store_->Commit(restore).ok());
    }
  }
}

// Reordering with the whole tree recomputed, as a careful attacker would:
// the moved snapshot's inclusion and the log's consistency with the older
// checkpoint both fail, even after the log grows.
TEST_F(TransparencyLogTest, ReorderedLeavesFailProofsAgainstOlderCheckpoint) {
  AppendTogether(16);
  const Checkpoint old = SignOrDie();
  const std::vector<std::string> honest = leaves_;

  for (uint64_t i = 0; i < 16; ++i) {
    for (uint64_t j = i + 1; j < 16; ++j) {
      std::vector<std::string> forged = honest;
      std::swap(forged[i], forged[j]);
      forged.push_back(LeafOf(kAgent, 1000));
      forged.push_back(LeafOf(kAgent, 1001));
      RewriteTree(forged, {{keys::Snapshot(kAgent, i + 1), j},
                           {keys::Snapshot(kAgent, j + 1), i}});
      ASSERT_EQ(log_->size(), 18u);
      ASSERT_EQ(*log_->LeafIndex(kAgent, i + 1), std::optional<uint64_t>(j));

      absl::StatusOr<std::vector<std::string>> inclusion =
          log_->InclusionProof(j, old.size);
      ASSERT_TRUE(inclusion.ok()) << inclusion.status();
      EXPECT_EQ(
          merkle::VerifyInclusion(j, old.size, honest[i], *inclusion, old.root)
              .code(),
          absl::StatusCode::kUnauthenticated)
          << "leaf " << i << " moved to " << j;

      absl::StatusOr<std::vector<std::string>> consistency =
          log_->ConsistencyProof(old.size, 18);
      ASSERT_TRUE(consistency.ok()) << consistency.status();
      EXPECT_EQ(merkle::VerifyConsistency(old.size, 18, *consistency, old.root,
                                          RootOrDie(18))
                    .code(),
                absl::StatusCode::kUnauthenticated)
          << "leaves " << i << " and " << j << " swapped";
    }
  }
}

// Removing a leaf (and shifting the rest down, with the tree recomputed and
// grown past the old size): consistency with the older checkpoint fails,
// and so does inclusion of the snapshot that moved into the gap.
TEST_F(TransparencyLogTest, RemovedLeafFailsProofsAgainstOlderCheckpoint) {
  AppendTogether(16);
  const Checkpoint old = SignOrDie();
  const std::vector<std::string> honest = leaves_;

  for (uint64_t removed = 0; removed < 16; ++removed) {
    std::vector<std::string> forged = honest;
    forged.erase(forged.begin() + removed);
    std::vector<std::pair<std::string, uint64_t>> moved;
    for (uint64_t k = removed + 1; k < 16; ++k) {
      moved.emplace_back(keys::Snapshot(kAgent, k + 1), k - 1);
    }
    for (uint64_t extra = 0; extra < 4; ++extra) {
      forged.push_back(LeafOf(kAgent, 1000 + extra));
    }
    RewriteTree(forged, moved);
    const uint64_t size = log_->size();
    ASSERT_EQ(size, 19u);
    ASSERT_EQ(StoredLeaves(), forged);

    absl::StatusOr<std::vector<std::string>> consistency =
        log_->ConsistencyProof(old.size, size);
    ASSERT_TRUE(consistency.ok()) << consistency.status();
    EXPECT_EQ(merkle::VerifyConsistency(old.size, size, *consistency, old.root,
                                        RootOrDie(size))
                  .code(),
              absl::StatusCode::kUnauthenticated)
        << "leaf " << removed << " removed";

    if (removed + 1 < 16) {
      absl::StatusOr<std::vector<std::string>> inclusion =
          log_->InclusionProof(removed, old.size);
      ASSERT_TRUE(inclusion.ok()) << inclusion.status();
      EXPECT_EQ(merkle::VerifyInclusion(removed, old.size, honest[removed + 1],
                                        *inclusion, old.root)
                    .code(),
                absl::StatusCode::kUnauthenticated)
          << "leaf " << removed + 1 << " moved into the gap";
    }
  }
}

// --- Background integration
// -----------------------------------------------------

TEST_F(TransparencyLogTest, BackgroundIntegratesWhatWasQueuedBeforeItStarted) {
  Enqueue(kAgent, 1);

  log_->StartBackground(absl::Milliseconds(1), absl::InfiniteDuration());

  EXPECT_TRUE(Eventually([&] { return log_->size() == 1; }));
}

TEST_F(TransparencyLogTest, BackgroundIntegratesAfterNotify) {
  Enqueue(kAgent, 1);
  log_->StartBackground(absl::Milliseconds(1), absl::InfiniteDuration());
  ASSERT_TRUE(Eventually([&] { return log_->size() == 1; }));

  Enqueue(kAgent, 2);  // nothing but Notify() makes it integrate now
  log_->Notify();

  EXPECT_TRUE(Eventually([&] { return log_->size() == 2; }));
  EXPECT_EQ(RootOrDie(2),
            merkle::RootOf({LeafOf(kAgent, 1), LeafOf(kAgent, 2)}));
}

TEST_F(TransparencyLogTest, BackgroundSignsCheckpointAfterLogGrew) {
  log_->StartBackground(absl::Milliseconds(1), absl::Milliseconds(5));
  Enqueue(kAgent, 1);
  Enqueue(kAgent, 2);
  log_->Notify();

  EXPECT_TRUE(Eventually([&] {
    absl::StatusOr<std::optional<v1::StoredCheckpoint>> latest =
        log_->LatestCheckpoint();
    if (!latest.ok() || !latest->has_value()) return false;
    absl::StatusOr<Checkpoint> parsed = ParseCheckpoint((*latest)->text());
    return parsed.ok() && parsed->size == 2;
  }));
}

TEST_F(TransparencyLogTest, BackgroundRestartsAfterStop) {
  log_->StartBackground(absl::Milliseconds(1), absl::InfiniteDuration());
  log_->Stop();
  log_->Stop();  // a second Stop is harmless
  log_->StartBackground(absl::Milliseconds(1), absl::InfiniteDuration());

  Enqueue(kAgent, 1);
  log_->Notify();

  EXPECT_TRUE(Eventually([&] { return log_->size() == 1; }));
}

}  // namespace
}  // namespace evidentia::collector
