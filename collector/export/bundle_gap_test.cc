// Bundle export over sparse and huge seqs: an enrolled agent's snapshots
// ingested for real (signed, chained, logged) with signed gap snapshots and
// key rotations, exported for various periods, and checked by both
// verifiers: `evidentia verify` (VerifyBundle) and VERIFY.sh under every
// POSIX shell present (dash as Debian's /bin/sh, bash).
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "bundle/verify.h"
#include "collector/export/bundle_export.h"
#include "collector/identity/registry.h"
#include "collector/ingest/ingest.h"
#include "collector/log/transparency_log.h"
#include "collector/query/store_evidence.h"
#include "collector/store/rocksdb_store.h"
#include "collector/store/store.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/envelope.h"
#include "common/pae.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/snapshot_chain.h"
#include "evidentia/v1/bundle.pb.h"
#include "evidentia/v1/collector.pb.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/operator.pb.h"
#include "evidentia/v1/snapshot.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "grading/grading.h"
#include "grading/policy.h"
#include "gtest/gtest.h"
#include "tests/support/bundle_files.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_ca.h"

namespace evidentia::collector {
namespace {

namespace fs = std::filesystem;
using ::evidentia::testing::Read;
using ::evidentia::testing::ResealSums;
using ::evidentia::testing::RunVerifySh;
using ::evidentia::testing::Shell;
using ::evidentia::testing::Write;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

const fs::path kSource = EVIDENTIA_SOURCE_DIR;
constexpr absl::string_view kPeer = "ipv4:192.0.2.7:40000";
constexpr uint64_t k2To63 = uint64_t{1} << 63;
constexpr uint64_t kMaxSeq = std::numeric_limits<uint64_t>::max();
const absl::Time kLongAgo = absl::FromUnixSeconds(946684800);  // 2000-01-01

std::string Msg(const absl::Status& status) {
  return std::string(status.message());
}

// The shells VERIFY.sh is run with: sh, and dash and bash when installed.
std::vector<std::string> Shells() {
  std::vector<std::string> shells = {"sh"};
  for (const char* shell : {"dash", "bash"}) {
    if (Shell(absl::StrCat("command -v ", shell)).first == 0) {
      shells.push_back(shell);
    }
  }
  return shells;
}

PrivateKey NewKey() {
  absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

// One enrolled agent over a real store, registry, ingestor and log, with a
// clock the test moves; it reports, loses snapshots and rotates its key the
// way the agent does, and exports bundles as `evidentia export` does.
class GapExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Store>> store =
        OpenRocksDbStore(tmp_.path() / "db", RocksDbOptions{0});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    Clock clock = [this] { return now_; };
    registry_ = std::make_unique<Registry>(*store_, clock);
    testing::GiveTestCa(*registry_);
    ingestor_ = std::make_unique<Ingestor>(*store_, *registry_, clock);
    absl::StatusOr<std::unique_ptr<TransparencyLog>> log =
        TransparencyLog::Open(*store_, collector_key_, clock);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
    absl::StatusOr<policy::PolicySet> policy = policy::LoadPolicySet(
        kSource / "policies", kSource / "policies/soa.example.yaml");
    ASSERT_TRUE(policy.ok()) << policy.status();
    policy_ = std::make_unique<policy::PolicySet>(*std::move(policy));
    evidence_ = std::make_unique<StoreEvidence>(*store_);
    grader_ = std::make_unique<Grader>(*policy_, *evidence_);

    keys_.push_back(NewKey());
    absl::StatusOr<v1::CreateTokenResponse> token =
        registry_->CreateToken(absl::Hours(1), 1);
    ASSERT_TRUE(token.ok()) << token.status();
    v1::EnrollRequest enroll;
    enroll.set_token(token->token());
    enroll.set_public_key_pem(keys_[0].public_key().ToPem());
    enroll.set_csr_pem(testing::TestCsr());
    enroll.mutable_host()->set_hostname("alpha");
    absl::StatusOr<v1::EnrollResponse> enrolled = registry_->Enroll(enroll);
    ASSERT_TRUE(enrolled.ok()) << enrolled.status();
    agent_id_ = enrolled->agent_id();
    now_ += absl::Hours(1);
  }

  void Accept(const v1::Snapshot& snapshot, const PrivateKey& key,
              std::vector<std::string> bodies) {
    absl::StatusOr<v1::SignedSnapshot> envelope =
        SignPayload(key, snapshot.SerializeAsString());
    ASSERT_TRUE(envelope.ok()) << envelope.status();
    v1::SubmitRequest request;
    *request.mutable_envelope() = *envelope;
    for (std::string& body : bodies) request.add_facts(std::move(body));
    const v1::SubmitResponse response = ingestor_->Submit(request, kPeer);
    ASSERT_EQ(response.result(), v1::SubmitResponse::ACCEPTED)
        << response.DebugString();
    head_ = HeadAfterSnapshot(snapshot, envelope->payload());
    received_.push_back(now_);
    now_ += absl::Hours(1);
  }

  // The agent's next snapshot (head + 1), signed by its current key.
  void Report() {
    v1::Facts facts;
    facts.mutable_disk_encryption()->set_root_fs_type("ext4");
    facts.mutable_disk_encryption()->set_root_on_block_device(true);
    const std::string body = facts.SerializeAsString();
    v1::Snapshot snapshot;
    snapshot.set_agent_id(agent_id_);
    LinkAfter(head_, snapshot);
    *snapshot.mutable_collected_at() = ToProto(now_);
    snapshot.mutable_host()->set_hostname("alpha");
    snapshot.set_agent_version("0.1.0");
    v1::Observation& o = *snapshot.add_observations();
    o.set_check_id("linux.disk_encryption");
    o.set_probe("linux.disk_encryption");
    o.set_facts_sha256(Sha256(body));
    ASSERT_NO_FATAL_FAILURE(Accept(snapshot, keys_.back(), {body}));
  }

  // The signed gap snapshot declaring head + 1 .. `last` lost.
  void Lose(uint64_t last) {
    v1::Snapshot snapshot;
    snapshot.set_agent_id(agent_id_);
    snapshot.set_seq(last);
    snapshot.set_prev_payload_sha256(
        head_.seq == 0 ? std::string(kSha256Size, '\0') : head_.payload_sha256);
    *snapshot.mutable_collected_at() = ToProto(now_);
    snapshot.set_agent_version("0.1.0");
    snapshot.mutable_gap()->set_first_seq(head_.seq + 1);
    snapshot.mutable_gap()->set_last_seq(last);
    snapshot.mutable_gap()->set_last_payload_sha256(
        Sha256(absl::StrCat("lost snapshot ", last)));
    ASSERT_NO_FATAL_FAILURE(Accept(snapshot, keys_.back(), {}));
  }

  // Hands the chain after head over to a new key, signed by both.
  void Rotate() {
    PrivateKey next = NewKey();
    KeyRotation statement;
    statement.agent_id = agent_id_;
    statement.old_key_id = keys_.back().public_key().KeyId();
    statement.new_key_id = next.public_key().KeyId();
    statement.seq = head_.seq;
    statement.head = head_.payload_sha256;
    statement.time = absl::FromUnixSeconds(absl::ToUnixSeconds(now_));
    v1::RotateKeyRequest request;
    request.set_statement(FormatKeyRotation(statement));
    const std::string bytes = Pae(kKeyRotationPayloadType, request.statement());
    request.set_old_signature(*keys_.back().Sign(bytes));
    request.set_new_signature(*next.Sign(bytes));
    request.set_new_public_key_pem(next.public_key().ToPem());
    absl::StatusOr<v1::RotateKeyResponse> rotated =
        ingestor_->RotateKey(request, agent_id_, kPeer);
    ASSERT_TRUE(rotated.ok()) << rotated.status();
    keys_.push_back(std::move(next));
    now_ += absl::Hours(1);
  }

  // `evidentia export --from FROM --to TO` into a new directory.
  absl::StatusOr<fs::path> Export(absl::Time from, absl::Time to) {
    const fs::path out = tmp_.path() / absl::StrCat("bundle-", ++exports_);
    ExportSources sources;
    sources.store = store_.get();
    sources.log = log_.get();
    sources.grader = grader_.get();
    sources.collector_key = &collector_key_;
    const PublicKey operator_key = operator_key_.public_key();
    sources.operator_key = &operator_key;
    sources.clock = [this] { return now_; };
    absl::StatusOr<std::unique_ptr<DirectorySink>> sink =
        DirectorySink::Create(out);
    if (!sink.ok()) return sink.status();
    absl::StatusOr<v1::ExportSummary> summary =
        ExportBundle(sources, {from, to, "", ""}, **sink);
    if (!summary.ok()) return summary.status();
    return out;
  }

  static v1::BundleManifest Manifest(const fs::path& dir) {
    v1::BundleManifest manifest;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(
                    Read(dir / "manifest.json"), &manifest)
                    .ok());
    return manifest;
  }

  // The seqs the bundle holds for the agent.
  static std::vector<uint64_t> Seqs(const fs::path& dir) {
    const v1::BundleManifest manifest = Manifest(dir);
    std::vector<uint64_t> seqs;
    for (const v1::BundleAgent& agent : manifest.agents()) {
      for (const v1::BundleSnapshot& s : agent.snapshots()) {
        seqs.push_back(s.seq());
      }
    }
    return seqs;
  }

  // Exports [from, to], expects exactly `seqs` in the bundle and both
  // verifiers to pass it; returns evidentia verify's findings.
  BundleVerification ExportAndVerify(absl::Time from, absl::Time to,
                                     const std::vector<uint64_t>& seqs) {
    absl::StatusOr<fs::path> dir = Export(from, to);
    EXPECT_TRUE(dir.ok()) << dir.status();
    if (!dir.ok()) return {};
    EXPECT_THAT(Seqs(*dir), ElementsAreArray(seqs));
    absl::StatusOr<BundleVerification> verified = VerifyBundle(*dir, 2);
    EXPECT_TRUE(verified.ok()) << verified.status();
    for (const std::string& shell : Shells()) {
      auto [code, output] = RunVerifySh(*dir, shell);
      EXPECT_EQ(code, 0) << shell << ": " << output;
      EXPECT_THAT(output,
                  HasSubstr(absl::StrCat(seqs.size(), " snapshot signatures")))
          << shell;
    }
    last_bundle_ = *dir;
    return verified.ok() ? *verified : BundleVerification{};
  }

  // The receive time of the `n`th snapshot accepted (from 0).
  absl::Time Received(size_t n) const { return received_.at(n); }

  testing::ScopedTempDir tmp_;
  absl::Time now_ = absl::FromUnixSeconds(1795000000);  // 2026-11-18
  PrivateKey collector_key_ = NewKey();
  PrivateKey operator_key_ = NewKey();
  std::unique_ptr<Store> store_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<Ingestor> ingestor_;
  std::unique_ptr<TransparencyLog> log_;
  std::unique_ptr<policy::PolicySet> policy_;
  std::unique_ptr<StoreEvidence> evidence_;
  std::unique_ptr<Grader> grader_;
  std::string agent_id_;
  std::vector<PrivateKey> keys_;  // enrolled first, current last
  ChainHead head_;                // the agent's
  std::vector<absl::Time> received_;
  int exports_ = 0;
  fs::path last_bundle_;
};

// ---------------------------------------------------------------------------
// Gaps (proto/README.md, "Gaps"): the seqs a gap snapshot stands for are
// lost, not missing; every period around them exports and verifies.

TEST_F(GapExportTest, GapOfFiveSeqsExportsFromBeforeTheChain) {
  Report();  // 1
  Lose(6);   // 2..6
  Report();  // 7
  Report();  // 8

  const BundleVerification verified =
      ExportAndVerify(kLongAgo, now_, {1, 6, 7, 8});

  EXPECT_EQ(verified.snapshots, 4u);
  EXPECT_THAT(verified.gaps, ElementsAre(HasSubstr("lost snapshots 2..6")));
}

TEST_F(GapExportTest, GapOfAMillionSeqsExportsFromBeforeTheChain) {
  Report();       // 1
  Lose(1000000);  // 2..1000000
  Report();       // 1000001

  const BundleVerification verified =
      ExportAndVerify(kLongAgo, now_, {1, 1000000, 1000001});

  EXPECT_THAT(verified.gaps,
              ElementsAre(HasSubstr("lost snapshots 2..1000000")));
}

TEST_F(GapExportTest, GapSpanningThePeriodsStart) {
  // The lost seqs were made around the period's start and reported after
  // it: seq 1 is the state at the start, the gap and what follows are in.
  Report();  // 1
  Lose(6);   // 2..6
  Report();  // 7
  const absl::Time start = Received(0) + absl::Minutes(30);

  ExportAndVerify(start, now_, {1, 6, 7});
  ExportAndVerify(Received(1) - absl::Seconds(1), now_, {1, 6, 7});
}

TEST_F(GapExportTest, GapAtThePeriodsStart) {
  Report();  // 1
  Lose(6);   // 2..6
  Report();  // 7
  Report();  // 8

  // The gap is the first snapshot received in the period.
  ExportAndVerify(Received(1), now_, {1, 6, 7, 8});
  // The gap is the last one received before it: the bundle opens with it.
  ExportAndVerify(Received(1) + absl::Seconds(1), now_, {6, 7, 8});
  ExportAndVerify(Received(2), now_, {6, 7, 8});
  ExportAndVerify(Received(2) + absl::Seconds(1), now_, {7, 8});
}

TEST_F(GapExportTest, GapAtThePeriodsEnd) {
  Report();  // 1
  Lose(6);   // 2..6
  Report();  // 7

  ExportAndVerify(kLongAgo, Received(1) - absl::Seconds(1), {1});
  ExportAndVerify(kLongAgo, Received(1), {1, 6});
  ExportAndVerify(Received(1), Received(1), {1, 6});
}

TEST_F(GapExportTest, GapAtTheStartOfTheChain) {
  // Lost before the first delivery: the chain opens with gap 1..5.
  Lose(5);
  Report();  // 6

  const BundleVerification verified = ExportAndVerify(kLongAgo, now_, {5, 6});
  EXPECT_THAT(verified.gaps, ElementsAre(HasSubstr("lost snapshots 1..5")));
  ExportAndVerify(Received(1), now_, {5, 6});
  ExportAndVerify(Received(1) + absl::Seconds(1), now_, {6});
}

TEST_F(GapExportTest, GapsOneAfterAnother) {
  Report();    // 1
  Lose(3);     // 2..3
  Lose(1000);  // 4..1000
  Report();    // 1001
  Lose(1002);  // 1002..1002
  Report();    // 1003

  const BundleVerification verified =
      ExportAndVerify(kLongAgo, now_, {1, 3, 1000, 1001, 1002, 1003});
  EXPECT_EQ(verified.gaps.size(), 3u);
  for (size_t n = 0; n < received_.size(); ++n) {
    SCOPED_TRACE(n);
    std::vector<uint64_t> from_n = {1, 3, 1000, 1001, 1002, 1003};
    from_n.erase(from_n.begin(), from_n.begin() + (n == 0 ? 0 : n - 1));
    ExportAndVerify(Received(n) - absl::Seconds(1), now_, from_n);
  }
}

// ---------------------------------------------------------------------------
// Seqs past 2^63 - 1, up to 2^64 - 1: sh arithmetic and test stop at
// 2^63 - 1, so VERIFY.sh compares seqs as decimal strings.

TEST_F(GapExportTest, GapUpToTwoToThe63ThenAKeyRotation) {
  // The enrolled key signs 1 and the gap 2 .. 2^63, then hands over.
  Report();      // 1
  Lose(k2To63);  // 2 .. 2^63
  Rotate();      // after 2^63
  Report();      // 2^63 + 1

  const BundleVerification verified =
      ExportAndVerify(kLongAgo, now_, {1, k2To63, k2To63 + 1});

  EXPECT_EQ(verified.key_rotations, 1u);
  EXPECT_THAT(verified.gaps,
              ElementsAre(HasSubstr("lost snapshots 2..9223372036854775808")));
  ExportAndVerify(Received(1), now_, {1, k2To63, k2To63 + 1});
  ExportAndVerify(Received(2), now_, {k2To63, k2To63 + 1});
}

// Keys: the enrolled one signs 1 .. 2^63 - 1, the second 2^63, the third
// 2^63 + 1 .. 2^64 - 1; the fourth (current) signs nothing yet.
class HugeSeqExportTest : public GapExportTest {
 protected:
  void SetUp() override {
    GapExportTest::SetUp();
    Report();           // 1
    Lose(k2To63 - 1);   // 2 .. 2^63 - 1
    Rotate();           // after 2^63 - 1
    Report();           // 2^63
    Rotate();           // after 2^63
    Lose(kMaxSeq - 1);  // 2^63 + 1 .. 2^64 - 2
    Report();           // 2^64 - 1
    Rotate();           // after 2^64 - 1
  }

  // A copy of the clean bundle with snapshot `seq` signed by key `k`
  // instead, resealed by an insider holding the collector key.
  fs::path SignedByWrongKey(const fs::path& clean, uint64_t seq, size_t k) {
    const fs::path dir = tmp_.path() / absl::StrCat("wrong-", seq, "-by-", k);
    fs::copy(clean, dir, fs::copy_options::recursive);
    const fs::path payload =
        dir / "snapshots" / agent_id_ / absl::StrCat(seq, ".payload");
    Write(dir / "snapshots" / agent_id_ / absl::StrCat(seq, ".sig"),
          *keys_[k].Sign(Pae(kSnapshotPayloadType, Read(payload))));
    ResealSums(dir, collector_key_);
    return dir;
  }

  const std::vector<uint64_t> seqs_ = {1, k2To63 - 1, k2To63, kMaxSeq - 1,
                                       kMaxSeq};
};

TEST_F(HugeSeqExportTest, RotationsAtTheEdgesOfUint64PassBothVerifiers) {
  const BundleVerification verified = ExportAndVerify(kLongAgo, now_, seqs_);

  EXPECT_EQ(verified.snapshots, 5u);
  EXPECT_EQ(verified.key_rotations, 3u);
  EXPECT_THAT(verified.gaps,
              ElementsAre(HasSubstr("lost snapshots 2..9223372036854775807"),
                          HasSubstr("lost snapshots 9223372036854775809.."
                                    "18446744073709551614")));
  for (const std::string& shell : Shells()) {
    auto [code, output] = RunVerifySh(last_bundle_, shell);
    EXPECT_THAT(output, HasSubstr("3 device key rotations verified")) << shell;
  }
  const v1::BundleManifest manifest = Manifest(last_bundle_);
  ASSERT_EQ(manifest.agents_size(), 1);
  ASSERT_EQ(manifest.agents(0).rotations_size(), 3);
  EXPECT_EQ(manifest.agents(0).rotations(0).last_seq(), k2To63 - 1);
  EXPECT_EQ(manifest.agents(0).rotations(1).last_seq(), k2To63);
  EXPECT_EQ(manifest.agents(0).rotations(2).last_seq(), kMaxSeq);
  EXPECT_TRUE(fs::exists(last_bundle_ / "keys/agents" / agent_id_ /
                         "18446744073709551615.rotation.new.sig"));
}

TEST_F(HugeSeqExportTest, PeriodsStartingAtEachEdgeExport) {
  ExportAndVerify(Received(1), now_,
                  {1, k2To63 - 1, k2To63, kMaxSeq - 1, kMaxSeq});
  ExportAndVerify(Received(2), now_,
                  {k2To63 - 1, k2To63, kMaxSeq - 1, kMaxSeq});
  ExportAndVerify(Received(3), now_, {k2To63, kMaxSeq - 1, kMaxSeq});
  ExportAndVerify(Received(4), now_, {kMaxSeq - 1, kMaxSeq});
  ExportAndVerify(Received(4) + absl::Seconds(1), now_, {kMaxSeq});
  ExportAndVerify(kLongAgo, Received(2), {1, k2To63 - 1, k2To63});
}

TEST_F(HugeSeqExportTest, SnapshotSignedByTheWrongKeyAtEachEdgeIsCaught) {
  ExportAndVerify(kLongAgo, now_, seqs_);
  const fs::path clean = last_bundle_;
  // Each snapshot signed by a key of a neighbouring seq range: the one
  // before it, the one after it, or the current key.
  const std::vector<std::pair<uint64_t, size_t>> cases = {
      {k2To63 - 1, 1}, {k2To63 - 1, 3},  {k2To63, 0},
      {k2To63, 2},     {kMaxSeq - 1, 1}, {kMaxSeq - 1, 3},
      {kMaxSeq, 1},    {kMaxSeq, 3},     {1, 1}};
  for (const auto& [seq, k] : cases) {
    SCOPED_TRACE(absl::StrCat("seq ", seq, " signed by key ", k));
    const fs::path dir = SignedByWrongKey(clean, seq, k);
    const std::string sig =
        absl::StrCat("snapshots/", agent_id_, "/", seq, ".sig");
    for (const std::string& shell : Shells()) {
      auto [code, output] = RunVerifySh(dir, shell);
      EXPECT_EQ(code, 1) << shell << ": " << output;
      EXPECT_THAT(output, HasSubstr(absl::StrCat("FAILED: ", sig))) << shell;
    }
    absl::Status status = VerifyBundle(dir, 2).status();
    EXPECT_THAT(Msg(status), HasSubstr(sig));
  }
}

TEST_F(HugeSeqExportTest, RotationSignedByTheWrongNextKeyIsCaught) {
  ExportAndVerify(kLongAgo, now_, seqs_);
  // The hand-over after 2^63 - 1 signed by the key after 2^63 instead of the
  // one that follows it.
  const fs::path dir = tmp_.path() / "wrong-rotation";
  fs::copy(last_bundle_, dir, fs::copy_options::recursive);
  const std::string statement =
      absl::StrCat("keys/agents/", agent_id_, "/", k2To63 - 1, ".rotation");
  Write(dir / (statement + ".new.sig"),
        *keys_[2].Sign(Pae(kKeyRotationPayloadType, Read(dir / statement))));
  ResealSums(dir, collector_key_);

  for (const std::string& shell : Shells()) {
    auto [code, output] = RunVerifySh(dir, shell);
    EXPECT_EQ(code, 1) << shell << ": " << output;
    EXPECT_THAT(output,
                HasSubstr(absl::StrCat("FAILED: ", statement, ".new.sig")))
        << shell;
  }
  EXPECT_THAT(Msg(VerifyBundle(dir, 2).status()),
              HasSubstr(statement + ".new.sig"));
}

TEST_F(HugeSeqExportTest, SnapshotNamedWithALeadingZeroIsRefusedByVerifySh) {
  ExportAndVerify(kLongAgo, now_, seqs_);
  // 09223372036854775808 would compare as 2^63 under the wrong rule; names
  // are canonical, and VERIFY.sh says so rather than guess.
  const fs::path dir = tmp_.path() / "leading-zero";
  fs::copy(last_bundle_, dir, fs::copy_options::recursive);
  const fs::path snapshots = dir / "snapshots" / agent_id_;
  for (const char* ext : {".payload", ".sig"}) {
    fs::rename(snapshots / absl::StrCat(k2To63, ext),
               snapshots / absl::StrCat("0", k2To63, ext));
  }
  ResealSums(dir, collector_key_);

  for (const std::string& shell : Shells()) {
    auto [code, output] = RunVerifySh(dir, shell);
    EXPECT_EQ(code, 1) << shell << ": " << output;
    EXPECT_THAT(output, HasSubstr("is not named <seq>.payload")) << shell;
  }
  EXPECT_FALSE(VerifyBundle(dir, 2).ok());
}

}  // namespace
}  // namespace evidentia::collector
