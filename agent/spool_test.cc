// The spool's record format and its recovery from damage, in the style of
// LevelDB's log_test: one way of breaking a record per test, on real files.
#include "agent/spool.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "common/files.h"
#include "evidentia/v1/collector.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

v1::SubmitRequest RequestWith(const std::string& payload) {
  v1::SubmitRequest request;
  request.mutable_envelope()->set_payload(payload);
  request.add_facts("facts of " + payload);
  return request;
}

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = tmp_.path() / "spool"; }

  std::unique_ptr<Spool> OpenOrNull() {
    absl::StatusOr<std::unique_ptr<Spool>> spool = Spool::Open(dir_);
    EXPECT_TRUE(spool.ok()) << spool.status();
    return spool.ok() ? *std::move(spool) : nullptr;
  }

  // Spools records 1..n and closes the spool.
  void Fill(int n) {
    std::unique_ptr<Spool> spool = OpenOrNull();
    ASSERT_NE(spool, nullptr);
    for (int seq = 1; seq <= n; ++seq) {
      ASSERT_TRUE(spool->Put(seq, RequestWith(absl::StrCat("p", seq))).ok());
    }
  }

  fs::path File(uint64_t seq) const {
    return dir_ / absl::StrFormat("%020d.snapshot", seq);
  }
  std::string Bytes(uint64_t seq) const { return *ReadFile(File(seq)); }
  void Overwrite(uint64_t seq, const std::string& bytes) {
    ASSERT_TRUE(WriteFileAtomic(File(seq), bytes, 0600).ok());
  }
  // Flips a byte of the last facts body's text: the body still parses, so
  // only the checksum can tell.
  void FlipLastByte(uint64_t seq) { FlipByte(seq, Bytes(seq).size() - 1); }
  void FlipByte(uint64_t seq, size_t offset) {
    std::string bytes = Bytes(seq);
    ASSERT_LT(offset, bytes.size());
    bytes[offset] ^= 0x01;
    Overwrite(seq, bytes);
  }
  // A header for `body` whose length field says `length`.
  static std::string RecordClaimingLength(uint64_t length,
                                          const std::string& body) {
    std::string record = EncodeSpoolRecord(body);
    for (int i = 0; i < 8; ++i) {
      record[8 + i] = static_cast<char>((length >> (56 - 8 * i)) & 0xff);
    }
    return record;
  }

  evidentia::testing::ScopedTempDir tmp_;
  fs::path dir_;
};

// --- The format ---

TEST(SpoolRecordTest, EncodeThenDecodeReturnsBody) {
  absl::StatusOr<std::string> body =
      DecodeSpoolRecord(EncodeSpoolRecord("hello"));
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, "hello");
}

TEST(SpoolRecordTest, HeaderIsMagicLengthAndDigest) {
  const std::string record = EncodeSpoolRecord("hello");
  EXPECT_EQ(record.size(), kSpoolHeaderSize + 5);
  EXPECT_EQ(record.substr(0, 8), "EVSPOOL1");
  EXPECT_EQ(record.substr(8, 8), std::string("\0\0\0\0\0\0\0\5", 8));
}

// --- Put, Get, Remove ---

TEST_F(SpoolTest, PutThenGetReturnsTheRequest) {
  std::unique_ptr<Spool> spool = OpenOrNull();
  ASSERT_NE(spool, nullptr);
  ASSERT_TRUE(spool->Put(7, RequestWith("seven")).ok());

  absl::StatusOr<v1::SubmitRequest> got = spool->Get(7);

  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->envelope().payload(), "seven");
}

TEST_F(SpoolTest, RecordsSurviveReopenInSeqOrder) {
  Fill(3);
  std::unique_ptr<Spool> spool = OpenOrNull();
  ASSERT_NE(spool, nullptr);
  EXPECT_THAT(spool->Seqs(), ElementsAre(1, 2, 3));
  EXPECT_THAT(spool->damage(), IsEmpty());
}

TEST_F(SpoolTest, BytesCountsEveryRecordWithItsHeader) {
  Fill(2);
  std::unique_ptr<Spool> spool = OpenOrNull();
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(spool->bytes(), Bytes(1).size() + Bytes(2).size());
  ASSERT_TRUE(spool->Remove(1).ok());
  EXPECT_EQ(spool->bytes(), Bytes(2).size());
}

TEST_F(SpoolTest, RemoveDeletesOnlyThatRecord) {
  Fill(3);
  std::unique_ptr<Spool> spool = OpenOrNull();
  ASSERT_NE(spool, nullptr);
  ASSERT_TRUE(spool->Remove(2).ok());
  EXPECT_FALSE(fs::exists(File(2)));
  EXPECT_THAT(OpenOrNull()->Seqs(), ElementsAre(1, 3));
}

TEST_F(SpoolTest, TemporaryFilesAreNotRecords) {
  Fill(1);
  ASSERT_TRUE(WriteFileAtomic(dir_ / "00000000000000000002.snapshot.tmp.ab",
                              "partial", 0600)
                  .ok());
  std::unique_ptr<Spool> spool = OpenOrNull();
  ASSERT_NE(spool, nullptr);
  EXPECT_THAT(spool->Seqs(), ElementsAre(1));
  EXPECT_THAT(spool->damage(), IsEmpty());
}

TEST_F(SpoolTest, GetRechecksTheDigest) {
  Fill(1);
  std::unique_ptr<Spool> spool = OpenOrNull();
  ASSERT_NE(spool, nullptr);
  FlipLastByte(1);
  EXPECT_EQ(spool->Get(1).status().code(), absl::StatusCode::kDataLoss);
}

// --- Damage found on open: each is dropped alone ---

TEST_F(SpoolTest, TruncatedTailDropped) {
  Fill(3);
  const std::string bytes = Bytes(3);
  Overwrite(3, bytes.substr(0, bytes.size() - 3));

  std::unique_ptr<Spool> spool = OpenOrNull();

  ASSERT_NE(spool, nullptr);
  EXPECT_THAT(spool->Seqs(), ElementsAre(1, 2));
  ASSERT_EQ(spool->damage().size(), 1u);
  EXPECT_EQ(spool->damage()[0].seq, 3u);
  EXPECT_TRUE(spool->damage()[0].tail);
}

TEST_F(SpoolTest, TruncatedHeaderDropped) {
  Fill(2);
  Overwrite(2, Bytes(2).substr(0, 20));
  std::unique_ptr<Spool> spool = OpenOrNull();
  ASSERT_NE(spool, nullptr);
  EXPECT_THAT(spool->Seqs(), ElementsAre(1));
  ASSERT_EQ(spool->damage().size(), 1u);
  EXPECT_THAT(spool->damage()[0].reason, HasSubstr("truncated header"));
}

TEST_F(SpoolTest, FlippedByteInTail) {
  Fill(3);
  FlipLastByte(3);
  std::unique_ptr<Spool> spool = OpenOrNull();
  ASSERT_NE(spool, nullptr);
  EXPECT_THAT(spool->Seqs(), ElementsAre(1, 2));
  ASSERT_EQ(spool->damage().size(), 1u);
  EXPECT_EQ(spool->damage()[0].reason, "bad checksum");
}

TEST_F(SpoolTest, FlippedByteInMiddleRecord) {
  Fill(3);
  FlipLastByte(2);

  std::unique_ptr<Spool> spool = OpenOrNull();

  ASSERT_NE(spool, nullptr);
  EXPECT_THAT(spool->Seqs(), ElementsAre(1, 3));
  ASSERT_EQ(spool->damage().size(), 1u);
  EXPECT_EQ(spool->damage()[0].seq, 2u);
  EXPECT_FALSE(spool->damage()[0].tail);
  absl::StatusOr<v1::SubmitRequest> after = spool->Get(3);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->envelope().payload(), "p3");
}

TEST_F(SpoolTest, FlippedByteInChecksum) {
  Fill(2);
  FlipByte(1, 20);
  std::unique_ptr<Spool> spool = OpenOrNull();
  ASSERT_NE(spool, nullptr);
  EXPECT_THAT(spool->Seqs(), ElementsAre(2));
  ASSERT_EQ(spool->damage().size(), 1u);
  EXPECT_EQ(spool->damage()[0].reason, "bad checksum");
}

TEST_F(SpoolTest, BadMagic) {
  Fill(2);
  FlipByte(1, 0);
  std::unique_ptr<Spool> spool = OpenOrNull();
  ASSERT_NE(spool, nullptr);
  EXPECT_THAT(spool->Seqs(), ElementsAre(2));
  ASSERT_EQ(spool->damage().size(), 1u);
  EXPECT_EQ(spool->damage()[0].reason, "bad magic");
}

TEST_F(SpoolTest, EmptyFile) {
  Fill(2);
  Overwrite(2, "");
  std::unique_ptr<Spool> spool = OpenOrNull();
  ASSERT_NE(spool, nullptr);
  EXPECT_THAT(spool->Seqs(), ElementsAre(1));
  ASSERT_EQ(spool->damage().size(), 1u);
  EXPECT_EQ(spool->damage()[0].seq, 2u);
}

TEST_F(SpoolTest, ZeroLengthRecord) {
  Fill(2);
  Overwrite(2, EncodeSpoolRecord(""));
  std::unique_ptr<Spool> spool = OpenOrNull();
  ASSERT_NE(spool, nullptr);
  EXPECT_THAT(spool->Seqs(), ElementsAre(1));
  ASSERT_EQ(spool->damage().size(), 1u);
  EXPECT_EQ(spool->damage()[0].reason, "zero-length record");
}

TEST_F(SpoolTest, OversizedLength) {
  Fill(2);
  Overwrite(2, RecordClaimingLength(kMaxSpoolBody + 1, "body"));
  std::unique_ptr<Spool> spool = OpenOrNull();
  ASSERT_NE(spool, nullptr);
  EXPECT_THAT(spool->Seqs(), ElementsAre(1));
  ASSERT_EQ(spool->damage().size(), 1u);
  EXPECT_THAT(spool->damage()[0].reason, HasSubstr("over the limit"));
}

TEST_F(SpoolTest, LengthLongerThanFile) {
  Fill(2);
  Overwrite(2, RecordClaimingLength(100, "body"));
  std::unique_ptr<Spool> spool = OpenOrNull();
  ASSERT_NE(spool, nullptr);
  EXPECT_THAT(spool->Seqs(), ElementsAre(1));
  ASSERT_EQ(spool->damage().size(), 1u);
}

TEST_F(SpoolTest, TrailingGarbage) {
  Fill(2);
  Overwrite(2, Bytes(2) + "junk");
  std::unique_ptr<Spool> spool = OpenOrNull();
  ASSERT_NE(spool, nullptr);
  EXPECT_THAT(spool->Seqs(), ElementsAre(1));
  ASSERT_EQ(spool->damage().size(), 1u);
}

TEST_F(SpoolTest, ValidChecksumOverNonRequestBody) {
  Fill(2);
  Overwrite(2, EncodeSpoolRecord("\xff\xff"));
  std::unique_ptr<Spool> spool = OpenOrNull();
  ASSERT_NE(spool, nullptr);
  EXPECT_THAT(spool->Seqs(), ElementsAre(1));
  ASSERT_EQ(spool->damage().size(), 1u);
}

TEST_F(SpoolTest, DamagedRecordIsMovedAsideNotDeleted) {
  Fill(2);
  FlipLastByte(1);
  ASSERT_NE(OpenOrNull(), nullptr);
  EXPECT_FALSE(fs::exists(File(1)));
  EXPECT_TRUE(fs::exists(dir_ / "damaged" / File(1).filename()));
  // Reported once: a second open finds nothing new.
  std::unique_ptr<Spool> again = OpenOrNull();
  ASSERT_NE(again, nullptr);
  EXPECT_THAT(again->damage(), IsEmpty());
  EXPECT_THAT(again->Seqs(), ElementsAre(2));
}

}  // namespace
}  // namespace evidentia::agent
