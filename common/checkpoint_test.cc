#include "common/checkpoint.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/sha256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evidentia {
namespace {

using ::testing::HasSubstr;

constexpr char kKeyId[] =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

Checkpoint SomeCheckpoint() {
  Checkpoint c;
  c.collector_key_id = kKeyId;
  c.size = 1234;
  c.root = Sha256("root");
  c.time = absl::FromUnixSeconds(1796083199);  // 2026-11-30T23:59:59Z
  return c;
}

std::string RootHex() { return Sha256Hex("root"); }

// The checkpoint text with `lines` (each without its '\n').
std::string Lines(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) absl::StrAppend(&text, line, "\n");
  return text;
}

std::vector<std::string> GoodCheckpointLines() {
  return {"evidentia checkpoint v1", absl::StrCat("collector ", kKeyId),
          "size 1234", absl::StrCat("root ", RootHex()),
          "time 2026-11-30T23:59:59Z"};
}

// Fails the test unless `text` is refused with INVALID_ARGUMENT naming
// `line`.
void ExpectCheckpointRefused(const std::string& text, int line) {
  absl::StatusOr<Checkpoint> parsed = ParseCheckpoint(text);
  ASSERT_FALSE(parsed.ok()) << text;
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(),
              HasSubstr(absl::StrCat("line ", line, ":")))
      << parsed.status();
}

// --- Checkpoint -------------------------------------------------------------

TEST(CheckpointTest, FormatIsTheDocumentedText) {
  EXPECT_EQ(FormatCheckpoint(SomeCheckpoint()), Lines(GoodCheckpointLines()));
}

TEST(CheckpointTest, RoundTrips) {
  const Checkpoint c = SomeCheckpoint();

  absl::StatusOr<Checkpoint> parsed = ParseCheckpoint(FormatCheckpoint(c));

  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->collector_key_id, c.collector_key_id);
  EXPECT_EQ(parsed->size, c.size);
  EXPECT_EQ(parsed->root, c.root);
  EXPECT_EQ(parsed->time, c.time);
}

TEST(CheckpointTest, FormatDropsFractionsOfSeconds) {
  Checkpoint c = SomeCheckpoint();
  c.time += absl::Milliseconds(999);
  EXPECT_THAT(FormatCheckpoint(c), HasSubstr("time 2026-11-30T23:59:59Z\n"));
}

TEST(CheckpointTest, SizeZeroAndMaximumParse) {
  std::vector<std::string> lines = GoodCheckpointLines();
  lines[2] = "size 0";
  ASSERT_TRUE(ParseCheckpoint(Lines(lines)).ok());
  lines[2] = "size 18446744073709551615";
  absl::StatusOr<Checkpoint> parsed = ParseCheckpoint(Lines(lines));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->size, 18446744073709551615u);
}

TEST(CheckpointTest, RefusesEmptyText) { ExpectCheckpointRefused("", 1); }

TEST(CheckpointTest, RefusesWrongHeader) {
  std::vector<std::string> lines = GoodCheckpointLines();
  lines[0] = "evidentia checkpoint v2";
  ExpectCheckpointRefused(Lines(lines), 1);
}

TEST(CheckpointTest, RefusesMissingLine) {
  std::vector<std::string> lines = GoodCheckpointLines();
  lines.pop_back();
  ExpectCheckpointRefused(Lines(lines), 5);
}

TEST(CheckpointTest, RefusesLineOutOfOrder) {
  std::vector<std::string> lines = GoodCheckpointLines();
  std::swap(lines[2], lines[3]);
  ExpectCheckpointRefused(Lines(lines), 3);
}

TEST(CheckpointTest, RefusesExtraLine) {
  std::vector<std::string> lines = GoodCheckpointLines();
  lines.push_back("note trust me");
  ExpectCheckpointRefused(Lines(lines), 6);
}

TEST(CheckpointTest, RefusesTrailingEmptyLine) {
  ExpectCheckpointRefused(Lines(GoodCheckpointLines()) + "\n", 6);
}

TEST(CheckpointTest, RefusesMissingTrailingNewline) {
  std::string text = Lines(GoodCheckpointLines());
  text.pop_back();
  ExpectCheckpointRefused(text, 5);
}

TEST(CheckpointTest, RefusesCarriageReturns) {
  std::string text;
  for (const std::string& line : GoodCheckpointLines()) {
    absl::StrAppend(&text, line, "\r\n");
  }
  ExpectCheckpointRefused(text, 1);
}

TEST(CheckpointTest, RefusesUppercaseRootHex) {
  std::vector<std::string> lines = GoodCheckpointLines();
  std::string upper = RootHex();
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  ASSERT_NE(upper, RootHex());
  lines[3] = "root " + upper;
  ExpectCheckpointRefused(Lines(lines), 4);
}

TEST(CheckpointTest, RefusesUppercaseCollectorKeyId) {
  std::vector<std::string> lines = GoodCheckpointLines();
  lines[1] =
      "collector 0123456789ABCDEF0123456789abcdef0123456789abcdef"
      "0123456789abcdef";
  ExpectCheckpointRefused(Lines(lines), 2);
}

TEST(CheckpointTest, RefusesShortRoot) {
  std::vector<std::string> lines = GoodCheckpointLines();
  lines[3] = "root " + RootHex().substr(2);
  ExpectCheckpointRefused(Lines(lines), 4);
}

TEST(CheckpointTest, RefusesSizeOverflow) {
  std::vector<std::string> lines = GoodCheckpointLines();
  lines[2] = "size 18446744073709551616";  // 2^64
  ExpectCheckpointRefused(Lines(lines), 3);
  lines[2] = "size 99999999999999999999999999999999999999";
  ExpectCheckpointRefused(Lines(lines), 3);
}

TEST(CheckpointTest, RefusesSizeWithLeadingZeroOrSign) {
  std::vector<std::string> lines = GoodCheckpointLines();
  for (const char* size : {"size 01234", "size +1234", "size -1", "size ",
                           "size 12 34", "size  1234", "size 0x10"}) {
    lines[2] = size;
    ExpectCheckpointRefused(Lines(lines), 3);
  }
}

TEST(CheckpointTest, RefusesTimeNotInUtcSecondsForm) {
  std::vector<std::string> lines = GoodCheckpointLines();
  for (const char* time :
       {"time 2026-11-30T23:59:59.5Z", "time 2026-11-30T23:59:59+00:00",
        "time 2026-11-30 23:59:59Z", "time 2026-11-30t23:59:59z",
        "time 2026-02-30T00:00:00Z", "time 2026-13-01T00:00:00Z",
        "time 2026-11-30T24:00:00Z", "time 26-11-30T23:59:59Z"}) {
    lines[4] = time;
    ExpectCheckpointRefused(Lines(lines), 5);
  }
}

// --- Inclusion proof --------------------------------------------------------

InclusionProof SomeProof(int hashes) {
  InclusionProof p;
  p.index = 5;
  p.size = 1ull << 40;
  for (int i = 0; i < hashes; ++i)
    p.hashes.push_back(Sha256(std::to_string(i)));
  return p;
}

void ExpectProofRefused(const std::string& text, int line) {
  absl::StatusOr<InclusionProof> parsed = ParseInclusionProof(text);
  ASSERT_FALSE(parsed.ok()) << text;
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(),
              HasSubstr(absl::StrCat("line ", line, ":")))
      << parsed.status();
}

TEST(InclusionProofTextTest, FormatIsTheDocumentedText) {
  InclusionProof p;
  p.index = 0;
  p.size = 2;
  p.hashes = {Sha256("sibling")};
  EXPECT_EQ(FormatInclusionProof(p),
            absl::StrCat("evidentia inclusion proof v1\nindex 0\nsize 2\n",
                         Sha256Hex("sibling"), "\n"));
}

TEST(InclusionProofTextTest, RoundTrips) {
  const InclusionProof p = SomeProof(40);

  absl::StatusOr<InclusionProof> parsed =
      ParseInclusionProof(FormatInclusionProof(p));

  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->index, p.index);
  EXPECT_EQ(parsed->size, p.size);
  EXPECT_EQ(parsed->hashes, p.hashes);
}

TEST(InclusionProofTextTest, EmptyPathOfOneLeafTreeRoundTrips) {
  InclusionProof p;
  p.index = 0;
  p.size = 1;
  absl::StatusOr<InclusionProof> parsed =
      ParseInclusionProof(FormatInclusionProof(p));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->hashes.empty());
}

TEST(InclusionProofTextTest, AcceptsSixtyFourHashes) {
  EXPECT_TRUE(ParseInclusionProof(FormatInclusionProof(SomeProof(64))).ok());
}

TEST(InclusionProofTextTest, RefusesSixtyFiveHashes) {
  ExpectProofRefused(FormatInclusionProof(SomeProof(65)), 68);
}

TEST(InclusionProofTextTest, RefusesWrongHeader) {
  std::string text = FormatInclusionProof(SomeProof(2));
  text.replace(0, 9, "Evidentia");
  ExpectProofRefused(text, 1);
}

TEST(InclusionProofTextTest, RefusesMissingSizeLine) {
  ExpectProofRefused("evidentia inclusion proof v1\nindex 0\n", 3);
}

TEST(InclusionProofTextTest, RefusesMissingTrailingNewline) {
  std::string text = FormatInclusionProof(SomeProof(3));
  text.pop_back();
  ExpectProofRefused(text, 6);
}

TEST(InclusionProofTextTest, RefusesEmptyExtraLine) {
  ExpectProofRefused(FormatInclusionProof(SomeProof(3)) + "\n", 7);
}

TEST(InclusionProofTextTest, RefusesUppercaseHash) {
  const std::string upper = "ABCDEF" + Sha256Hex("x").substr(6);
  ExpectProofRefused(
      absl::StrCat("evidentia inclusion proof v1\nindex 0\nsize 2\n", upper,
                   "\n"),
      4);
}

TEST(InclusionProofTextTest, RefusesIndexOverflow) {
  ExpectProofRefused(
      "evidentia inclusion proof v1\nindex 18446744073709551616\nsize 2\n", 2);
}

TEST(InclusionProofTextTest, RefusesIndexNotBelowSize) {
  ExpectProofRefused("evidentia inclusion proof v1\nindex 2\nsize 2\n", 3);
}

// --- Key rotation statement -------------------------------------------------

constexpr char kAgentId[] = "00112233445566778899aabbccddeeff";
constexpr char kNewKeyId[] =
    "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

KeyRotation SomeRotation() {
  KeyRotation r;
  r.agent_id = kAgentId;
  r.old_key_id = kKeyId;
  r.new_key_id = kNewKeyId;
  r.seq = 42;
  r.head = Sha256("head");
  r.time = absl::FromUnixSeconds(1796083199);  // 2026-11-30T23:59:59Z
  return r;
}

std::vector<std::string> GoodRotationLines() {
  return {"evidentia key rotation v1",
          absl::StrCat("agent ", kAgentId),
          absl::StrCat("old ", kKeyId),
          absl::StrCat("new ", kNewKeyId),
          "seq 42",
          absl::StrCat("head ", Sha256Hex("head")),
          "time 2026-11-30T23:59:59Z"};
}

void ExpectRotationRefused(const std::string& text, int line) {
  absl::StatusOr<KeyRotation> parsed = ParseKeyRotation(text);
  ASSERT_FALSE(parsed.ok()) << text;
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(),
              HasSubstr(absl::StrCat("line ", line, ":")))
      << parsed.status();
}

// `GoodRotationLines()` with line `index` (from 0) replaced by `line`.
std::string RotationWith(size_t index, const std::string& line) {
  std::vector<std::string> lines = GoodRotationLines();
  lines[index] = line;
  return Lines(lines);
}

TEST(KeyRotationTextTest, FormatIsTheDocumentedText) {
  EXPECT_EQ(FormatKeyRotation(SomeRotation()), Lines(GoodRotationLines()));
}

TEST(KeyRotationTextTest, RoundTrips) {
  absl::StatusOr<KeyRotation> parsed =
      ParseKeyRotation(FormatKeyRotation(SomeRotation()));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const KeyRotation want = SomeRotation();
  EXPECT_EQ(parsed->agent_id, want.agent_id);
  EXPECT_EQ(parsed->old_key_id, want.old_key_id);
  EXPECT_EQ(parsed->new_key_id, want.new_key_id);
  EXPECT_EQ(parsed->seq, want.seq);
  EXPECT_EQ(parsed->head, want.head);
  EXPECT_EQ(parsed->time, want.time);
}

TEST(KeyRotationTextTest, RefusesEachLineMissing) {
  for (size_t missing = 0; missing < GoodRotationLines().size(); ++missing) {
    std::vector<std::string> lines = GoodRotationLines();
    lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(missing));
    ExpectRotationRefused(Lines(lines), static_cast<int>(missing) + 1);
  }
}

TEST(KeyRotationTextTest, RefusesExtraLine) {
  std::vector<std::string> lines = GoodRotationLines();
  lines.push_back("seq 43");
  ExpectRotationRefused(Lines(lines), 8);
}

TEST(KeyRotationTextTest, RefusesTruncation) {
  const std::string text = Lines(GoodRotationLines());
  for (size_t size = 0; size < text.size(); ++size) {
    EXPECT_FALSE(ParseKeyRotation(text.substr(0, size)).ok()) << size;
  }
}

TEST(KeyRotationTextTest, RefusesMalformedIds) {
  ExpectRotationRefused(RotationWith(1, "agent 00112233"), 2);
  ExpectRotationRefused(
      RotationWith(1, "agent 00112233445566778899AABBCCDDEEFF"), 2);
  ExpectRotationRefused(RotationWith(2, absl::StrCat("old ", kAgentId)), 3);
  ExpectRotationRefused(RotationWith(3, "new x"), 4);
  ExpectRotationRefused(RotationWith(5, "head 00"), 6);
}

TEST(KeyRotationTextTest, RefusesTheSameOldAndNewKey) {
  ExpectRotationRefused(RotationWith(3, absl::StrCat("new ", kKeyId)), 4);
}

TEST(KeyRotationTextTest, RefusesSeqZeroAndNonCanonicalSeq) {
  ExpectRotationRefused(RotationWith(4, "seq 0"), 5);
  ExpectRotationRefused(RotationWith(4, "seq 042"), 5);
  ExpectRotationRefused(RotationWith(4, "seq -1"), 5);
}

TEST(KeyRotationTextTest, RefusesOversizedText) {
  std::string text = Lines(GoodRotationLines());
  text.append(kMaxKeyRotationBytes, 'x');
  absl::StatusOr<KeyRotation> parsed = ParseKeyRotation(text);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace evidentia
