#include "common/snapshot_chain.h"

#include <string>

#include "absl/status/status.h"
#include "common/sha256.h"
#include "gtest/gtest.h"

namespace evidentia {
namespace {

const std::string kZeros(kSha256Size, '\0');

// A head after two snapshots, with a recognisable digest.
ChainHead HeadAtTwo() { return HeadAfter(2, "payload two"); }

v1::Snapshot SnapshotWith(uint64_t seq, const std::string& prev) {
  v1::Snapshot snapshot;
  snapshot.set_agent_id("a1b2");
  snapshot.set_seq(seq);
  snapshot.set_prev_payload_sha256(prev);
  return snapshot;
}

TEST(SnapshotChainTest, AcceptsFirstSnapshot) {
  EXPECT_TRUE(CheckNext(ChainHead{}, SnapshotWith(1, kZeros)).ok());
}

TEST(SnapshotChainTest, AcceptsNextSnapshot) {
  const ChainHead head = HeadAtTwo();
  EXPECT_TRUE(CheckNext(head, SnapshotWith(3, head.payload_sha256)).ok());
}

TEST(SnapshotChainTest, RejectsFirstSnapshotWithNonZeroPrev) {
  EXPECT_EQ(CheckNext(ChainHead{}, SnapshotWith(1, Sha256("x"))).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(SnapshotChainTest, RejectsReplayedSeq) {
  const ChainHead head = HeadAtTwo();
  EXPECT_EQ(CheckNext(head, SnapshotWith(2, Sha256("payload one"))).code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(SnapshotChainTest, RejectsOlderSeq) {
  const ChainHead head = HeadAtTwo();
  EXPECT_EQ(CheckNext(head, SnapshotWith(1, kZeros)).code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(SnapshotChainTest, RejectsSeqSkippingAhead) {
  const ChainHead head = HeadAtTwo();
  EXPECT_EQ(CheckNext(head, SnapshotWith(4, head.payload_sha256)).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(SnapshotChainTest, RejectsWrongPrev) {
  const ChainHead head = HeadAtTwo();
  EXPECT_EQ(CheckNext(head, SnapshotWith(3, Sha256("another payload"))).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(SnapshotChainTest, RejectsSeqZero) {
  EXPECT_EQ(CheckNext(ChainHead{}, SnapshotWith(0, kZeros)).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SnapshotChainTest, RejectsShortPrev) {
  const ChainHead head = HeadAtTwo();
  EXPECT_EQ(CheckNext(head, SnapshotWith(3, head.payload_sha256.substr(0, 31)))
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SnapshotChainTest, RejectsEmptyPrevOnFirstSnapshot) {
  EXPECT_EQ(CheckNext(ChainHead{}, SnapshotWith(1, "")).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SnapshotChainTest, RejectsMaxSeqAfterMaxSeqHead) {
  const ChainHead head = HeadAfter(UINT64_MAX, "last");
  EXPECT_EQ(
      CheckNext(head, SnapshotWith(UINT64_MAX, head.payload_sha256)).code(),
      absl::StatusCode::kAlreadyExists);
}

TEST(SnapshotChainTest, LinkAfterEmptyHeadMakesFirstSnapshot) {
  v1::Snapshot snapshot;
  LinkAfter(ChainHead{}, snapshot);
  EXPECT_EQ(snapshot.seq(), 1u);
  EXPECT_EQ(snapshot.prev_payload_sha256(), kZeros);
}

TEST(SnapshotChainTest, HeadAfterDigestsPayload) {
  const ChainHead head = HeadAfter(7, "bytes");
  EXPECT_EQ(head.seq, 7u);
  EXPECT_EQ(head.payload_sha256, Sha256("bytes"));
}

TEST(SnapshotChainTest, LinkAfterAndHeadAfterRoundTrip) {
  ChainHead head;
  for (uint64_t i = 1; i <= 3; ++i) {
    v1::Snapshot snapshot;
    snapshot.set_agent_id("a1b2");
    LinkAfter(head, snapshot);
    ASSERT_TRUE(CheckNext(head, snapshot).ok()) << "seq " << i;
    EXPECT_EQ(snapshot.seq(), i);
    const std::string payload = snapshot.SerializeAsString();
    head = HeadAfter(snapshot.seq(), payload);
  }
  EXPECT_EQ(head.seq, 3u);
}

// --- Gap snapshots ---

// A gap snapshot declaring seqs first..last lost, following `head`.
v1::Snapshot GapAfter(const ChainHead& head, uint64_t first, uint64_t last) {
  v1::Snapshot snapshot = SnapshotWith(last, head.payload_sha256);
  snapshot.mutable_gap()->set_first_seq(first);
  snapshot.mutable_gap()->set_last_seq(last);
  snapshot.mutable_gap()->set_last_payload_sha256(Sha256("payload of last"));
  return snapshot;
}

TEST(SnapshotChainTest, AcceptsGapStartingAfterHead) {
  EXPECT_TRUE(CheckNext(HeadAtTwo(), GapAfter(HeadAtTwo(), 3, 9)).ok());
}

TEST(SnapshotChainTest, AcceptsGapOfOneSeq) {
  EXPECT_TRUE(CheckNext(HeadAtTwo(), GapAfter(HeadAtTwo(), 3, 3)).ok());
}

TEST(SnapshotChainTest, HeadAfterGapIsItsLastPayloadDigest) {
  const v1::Snapshot gap = GapAfter(HeadAtTwo(), 3, 9);
  const ChainHead head = HeadAfterSnapshot(gap, gap.SerializeAsString());
  EXPECT_EQ(head.seq, 9u);
  EXPECT_EQ(head.payload_sha256, Sha256("payload of last"));
}

TEST(SnapshotChainTest, HeadAfterOrdinarySnapshotIsItsPayloadDigest) {
  const v1::Snapshot snapshot = SnapshotWith(3, HeadAtTwo().payload_sha256);
  EXPECT_EQ(HeadAfterSnapshot(snapshot, "bytes").payload_sha256,
            Sha256("bytes"));
}

TEST(SnapshotChainTest, RejectsGapOverlappingHeldSnapshots) {
  EXPECT_EQ(CheckNext(HeadAtTwo(), GapAfter(HeadAtTwo(), 2, 9)).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(SnapshotChainTest, GapAtUsedSeqIsAlreadyExists) {
  EXPECT_EQ(CheckNext(HeadAtTwo(), GapAfter(HeadAtTwo(), 1, 2)).code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(SnapshotChainTest, RejectsGapSkippingAhead) {
  EXPECT_EQ(CheckNext(HeadAtTwo(), GapAfter(HeadAtTwo(), 4, 9)).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(SnapshotChainTest, RejectsGapNotChainingToHead) {
  v1::Snapshot gap = GapAfter(HeadAtTwo(), 3, 9);
  gap.set_prev_payload_sha256(Sha256("another payload"));
  EXPECT_EQ(CheckNext(HeadAtTwo(), gap).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(SnapshotChainTest, RejectsGapWhoseSeqIsNotItsLast) {
  v1::Snapshot gap = GapAfter(HeadAtTwo(), 3, 9);
  gap.set_seq(8);
  EXPECT_EQ(CheckNext(HeadAtTwo(), gap).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SnapshotChainTest, RejectsGapWithFirstAfterLast) {
  v1::Snapshot gap = GapAfter(HeadAtTwo(), 3, 9);
  gap.mutable_gap()->set_first_seq(10);
  EXPECT_EQ(CheckNext(HeadAtTwo(), gap).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SnapshotChainTest, RejectsGapWithShortLastDigest) {
  v1::Snapshot gap = GapAfter(HeadAtTwo(), 3, 9);
  gap.mutable_gap()->set_last_payload_sha256("short");
  EXPECT_EQ(CheckNext(HeadAtTwo(), gap).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SnapshotChainTest, RejectsGapWithObservations) {
  v1::Snapshot gap = GapAfter(HeadAtTwo(), 3, 9);
  gap.add_observations()->set_check_id("c");
  EXPECT_EQ(CheckNext(HeadAtTwo(), gap).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace evidentia
