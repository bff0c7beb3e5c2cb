#include "agent/agent_state.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "agent/collect.h"
#include "common/ed25519.h"
#include "common/envelope.h"
#include "common/files.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "evidentia/v1/collector.pb.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/snapshot.pb.h"
#include "evidentia/v1/store.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

using ::evidentia::testing::ScopedTempDir;

constexpr char kCaPem[] =
    "-----BEGIN CERTIFICATE-----\nnot checked here\n-----END "
    "CERTIFICATE-----\n";

mode_t ModeOf(const fs::path& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// A serialized Facts body; different `root_fs_type`s give different digests.
std::string FactsBody(const std::string& root_fs_type) {
  v1::Facts facts;
  facts.mutable_disk_encryption()->set_root_fs_type(root_fs_type);
  return facts.SerializeAsString();
}

// A collection with one check per body (check ids "check.0", "check.1", ...).
Collection CollectionOf(const std::vector<std::string>& bodies) {
  Collection collection;
  collection.host.set_hostname("host-1");
  for (size_t i = 0; i < bodies.size(); ++i) {
    v1::Observation o;
    o.set_check_id(absl::StrCat("check.", i));
    o.set_probe(absl::StrCat("check.", i));
    o.set_facts_sha256(Sha256(bodies[i]));
    collection.observations.push_back(o);
    collection.bodies.push_back(bodies[i]);
  }
  return collection;
}

v1::Snapshot PayloadOf(const v1::SubmitRequest& request) {
  v1::Snapshot snapshot;
  EXPECT_TRUE(snapshot.ParseFromString(request.envelope().payload()));
  return snapshot;
}

// A state directory for an enrolled agent with a fresh key.
class AgentStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = std::make_unique<PrivateKey>(*std::move(key));
    identity_.set_agent_id("0123456789abcdef0123456789abcdef");
    identity_.set_collector("collector.test:7443");
    identity_.set_key_id(key_->public_key().KeyId());
    dir_ = tmp_.path() / "state";
  }

  absl::Status Create() {
    return AgentState::Create(dir_, identity_, *key_, kCaPem);
  }

  std::unique_ptr<AgentState> CreateAndOpen() {
    absl::Status created = Create();
    EXPECT_TRUE(created.ok()) << created;
    return OpenOrNull();
  }

  std::unique_ptr<AgentState> OpenOrNull() {
    absl::StatusOr<std::unique_ptr<AgentState>> state = AgentState::Open(dir_);
    EXPECT_TRUE(state.ok()) << state.status();
    return state.ok() ? *std::move(state) : nullptr;
  }

  std::vector<v1::SubmitRequest> SpooledOrEmpty(const AgentState& state) {
    absl::StatusOr<std::vector<v1::SubmitRequest>> spooled = state.Spooled();
    EXPECT_TRUE(spooled.ok()) << spooled.status();
    return spooled.ok() ? *std::move(spooled)
                        : std::vector<v1::SubmitRequest>();
  }

  fs::path SpoolFile(uint64_t seq) const {
    return dir_ / "spool" / absl::StrFormat("%020d.snapshot", seq);
  }

  // `n` more snapshots, each with different facts.
  void MakeSnapshots(AgentState& state, int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(state
                      .MakeSnapshot(
                          CollectionOf({FactsBody(absl::StrCat("n", i))}), now_)
                      .ok());
    }
  }

  static std::string BigFactsBody(int i) {
    return FactsBody(absl::StrCat(i, std::string(2000, 'x')));
  }

  static void FlipLastByte(const fs::path& path) {
    std::string bytes = *ReadFile(path);
    bytes.back() ^= 0x01;
    ASSERT_TRUE(WriteFileAtomic(path, bytes, 0600).ok());
  }

  size_t SpoolFiles() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& entry :
         fs::directory_iterator(dir_ / "spool")) {
      ++n;
    }
    return n;
  }

  ScopedTempDir tmp_;
  fs::path dir_;
  std::unique_ptr<PrivateKey> key_;
  v1::AgentIdentity identity_;
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
};

// --- Create and Open ---

TEST_F(AgentStateTest, CreateThenOpenRestoresIdentity) {
  ASSERT_TRUE(Create().ok());

  absl::StatusOr<std::unique_ptr<AgentState>> state = AgentState::Open(dir_);

  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ((*state)->identity().agent_id(), identity_.agent_id());
  EXPECT_EQ((*state)->identity().collector(), identity_.collector());
  EXPECT_EQ((*state)->identity().key_id(), identity_.key_id());
  EXPECT_EQ((*state)->ca_pem(), kCaPem);
  EXPECT_EQ((*state)->head().seq, 0u);
}

TEST_F(AgentStateTest, CreateKeepsSecretsPrivate) {
  ASSERT_TRUE(Create().ok());

  EXPECT_EQ(ModeOf(dir_), 0700u);
  EXPECT_EQ(ModeOf(dir_ / "agent.key"), 0600u);
  EXPECT_EQ(ModeOf(dir_ / "agent.conf"), 0600u);
}

TEST_F(AgentStateTest, CreateStoresTheKeyGiven) {
  ASSERT_TRUE(Create().ok());

  absl::StatusOr<PrivateKey> stored =
      PrivateKey::LoadPemFile(dir_ / "agent.key");

  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->public_key().KeyId(), key_->public_key().KeyId());
}

TEST_F(AgentStateTest, OpenOfEmptyDirIsNotFound) {
  ASSERT_TRUE(fs::create_directory(dir_));

  absl::StatusOr<std::unique_ptr<AgentState>> state = AgentState::Open(dir_);

  EXPECT_EQ(state.status().code(), absl::StatusCode::kNotFound)
      << state.status();
}

TEST_F(AgentStateTest, OpenOfMissingDirIsNotFound) {
  absl::StatusOr<std::unique_ptr<AgentState>> state = AgentState::Open(dir_);

  EXPECT_EQ(state.status().code(), absl::StatusCode::kNotFound)
      << state.status();
}

TEST_F(AgentStateTest, CreateTwiceIsFailedPrecondition) {
  ASSERT_TRUE(Create().ok());

  absl::Status again = Create();

  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition) << again;
}

TEST_F(AgentStateTest, SecondOpenWhileFirstIsAliveIsFailedPrecondition) {
  std::unique_ptr<AgentState> first = CreateAndOpen();
  ASSERT_NE(first, nullptr);

  absl::StatusOr<std::unique_ptr<AgentState>> second = AgentState::Open(dir_);

  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition)
      << second.status();
}

TEST_F(AgentStateTest, OpenSucceedsAfterFirstIsClosed) {
  std::unique_ptr<AgentState> first = CreateAndOpen();
  ASSERT_NE(first, nullptr);
  first.reset();

  absl::StatusOr<std::unique_ptr<AgentState>> second = AgentState::Open(dir_);

  EXPECT_TRUE(second.ok()) << second.status();
}

TEST_F(AgentStateTest, CorruptChainFileIsDataLoss) {
  ASSERT_TRUE(Create().ok());
  ASSERT_TRUE(
      WriteFileAtomic(dir_ / "chain.pb", std::string("\xff\xff\xff", 3), 0600)
          .ok());

  absl::StatusOr<std::unique_ptr<AgentState>> state = AgentState::Open(dir_);

  EXPECT_EQ(state.status().code(), absl::StatusCode::kDataLoss)
      << state.status();
  EXPECT_THAT(state.status().message(),
              ::testing::HasSubstr((dir_ / "chain.pb").string()));
}

TEST_F(AgentStateTest, CorruptIdentityIsDataLoss) {
  ASSERT_TRUE(Create().ok());
  ASSERT_TRUE(WriteFileAtomic(dir_ / "agent.conf", "agent_id: {{{", 0600).ok());

  absl::StatusOr<std::unique_ptr<AgentState>> state = AgentState::Open(dir_);

  EXPECT_EQ(state.status().code(), absl::StatusCode::kDataLoss)
      << state.status();
}

// --- Snapshots and the chain ---

TEST_F(AgentStateTest, MakeSnapshotNumbersFromOne) {
  std::unique_ptr<AgentState> state = CreateAndOpen();
  ASSERT_NE(state, nullptr);

  absl::StatusOr<uint64_t> first =
      state->MakeSnapshot(CollectionOf({FactsBody("a")}), now_);
  absl::StatusOr<uint64_t> second =
      state->MakeSnapshot(CollectionOf({FactsBody("b")}), now_);

  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*first, 1u);
  EXPECT_EQ(*second, 2u);
  EXPECT_EQ(state->head().seq, 2u);
}

TEST_F(AgentStateTest, SnapshotsChainByPrevDigest) {
  std::unique_ptr<AgentState> state = CreateAndOpen();
  ASSERT_NE(state, nullptr);
  ASSERT_TRUE(state->MakeSnapshot(CollectionOf({FactsBody("a")}), now_).ok());
  ASSERT_TRUE(state->MakeSnapshot(CollectionOf({FactsBody("b")}), now_).ok());

  std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*state);

  ASSERT_EQ(spooled.size(), 2u);
  const v1::Snapshot first = PayloadOf(spooled[0]);
  const v1::Snapshot second = PayloadOf(spooled[1]);
  EXPECT_EQ(first.seq(), 1u);
  EXPECT_EQ(first.prev_payload_sha256(), std::string(kSha256Size, '\0'));
  EXPECT_EQ(second.seq(), 2u);
  EXPECT_EQ(second.prev_payload_sha256(),
            Sha256(spooled[0].envelope().payload()));
  EXPECT_EQ(state->head().payload_sha256,
            Sha256(spooled[1].envelope().payload()));
}

TEST_F(AgentStateTest, SpooledSnapshotVerifiesUnderAgentKey) {
  std::unique_ptr<AgentState> state = CreateAndOpen();
  ASSERT_NE(state, nullptr);
  ASSERT_TRUE(state->MakeSnapshot(CollectionOf({FactsBody("a")}), now_).ok());

  std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*state);

  ASSERT_EQ(spooled.size(), 1u);
  absl::Status verified =
      VerifyEnvelope(key_->public_key(), spooled[0].envelope());
  EXPECT_TRUE(verified.ok()) << verified;
}

TEST_F(AgentStateTest, SpooledSnapshotFailsUnderAnotherKey) {
  std::unique_ptr<AgentState> state = CreateAndOpen();
  ASSERT_NE(state, nullptr);
  ASSERT_TRUE(state->MakeSnapshot(CollectionOf({FactsBody("a")}), now_).ok());
  absl::StatusOr<PrivateKey> other = PrivateKey::Generate();
  ASSERT_TRUE(other.ok());

  std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*state);

  ASSERT_EQ(spooled.size(), 1u);
  EXPECT_FALSE(VerifyEnvelope(other->public_key(), spooled[0].envelope()).ok());
}

TEST_F(AgentStateTest, SnapshotCarriesIdentityHostAndObservations) {
  std::unique_ptr<AgentState> state = CreateAndOpen();
  ASSERT_NE(state, nullptr);
  const std::string a = FactsBody("a");
  const std::string b = FactsBody("b");
  ASSERT_TRUE(state->MakeSnapshot(CollectionOf({a, b}), now_).ok());

  std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*state);

  ASSERT_EQ(spooled.size(), 1u);
  const v1::Snapshot snapshot = PayloadOf(spooled[0]);
  EXPECT_EQ(snapshot.agent_id(), identity_.agent_id());
  EXPECT_EQ(snapshot.host().hostname(), "host-1");
  EXPECT_EQ(FromProto(snapshot.collected_at()), now_);
  EXPECT_EQ(snapshot.agent_version(), kAgentVersion);
  ASSERT_EQ(snapshot.observations_size(), 2);
  EXPECT_EQ(snapshot.observations(0).facts_sha256(), Sha256(a));
  EXPECT_EQ(snapshot.observations(1).facts_sha256(), Sha256(b));
  EXPECT_THAT(spooled[0].facts(), ElementsAre(a, b));
}

TEST_F(AgentStateTest, SpoolCarriesEachBodyOnce) {
  std::unique_ptr<AgentState> state = CreateAndOpen();
  ASSERT_NE(state, nullptr);
  const std::string same = FactsBody("same");
  ASSERT_TRUE(state->MakeSnapshot(CollectionOf({same, same}), now_).ok());

  std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*state);

  ASSERT_EQ(spooled.size(), 1u);
  EXPECT_THAT(spooled[0].facts(), ElementsAre(same));
}

TEST_F(AgentStateTest, FailedProbeSpoolsNoBody) {
  std::unique_ptr<AgentState> state = CreateAndOpen();
  ASSERT_NE(state, nullptr);
  Collection collection;
  v1::Observation failed;
  failed.set_check_id("check.0");
  failed.set_error("permission denied");
  collection.observations.push_back(failed);
  collection.bodies.push_back("");
  ASSERT_TRUE(state->MakeSnapshot(collection, now_).ok());

  std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*state);

  ASSERT_EQ(spooled.size(), 1u);
  EXPECT_THAT(spooled[0].facts(), IsEmpty());
  EXPECT_EQ(PayloadOf(spooled[0]).observations(0).error(), "permission denied");
}

TEST_F(AgentStateTest, SpooledReturnsOldestFirst) {
  std::unique_ptr<AgentState> state = CreateAndOpen();
  ASSERT_NE(state, nullptr);
  // More than nine, so "10" must sort after "9".
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(
        state->MakeSnapshot(CollectionOf({FactsBody(absl::StrCat(i))}), now_)
            .ok());
  }

  std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*state);

  ASSERT_EQ(spooled.size(), 12u);
  for (size_t i = 0; i < spooled.size(); ++i) {
    EXPECT_EQ(PayloadOf(spooled[i]).seq(), i + 1);
  }
}

TEST_F(AgentStateTest, SpoolSurvivesReopen) {
  {
    std::unique_ptr<AgentState> state = CreateAndOpen();
    ASSERT_NE(state, nullptr);
    ASSERT_TRUE(state->MakeSnapshot(CollectionOf({FactsBody("a")}), now_).ok());
  }

  std::unique_ptr<AgentState> reopened = OpenOrNull();

  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->head().seq, 1u);
  EXPECT_EQ(SpooledOrEmpty(*reopened).size(), 1u);
}

TEST_F(AgentStateTest, ChainContinuesAfterReopen) {
  std::string first_payload;
  {
    std::unique_ptr<AgentState> state = CreateAndOpen();
    ASSERT_NE(state, nullptr);
    ASSERT_TRUE(state->MakeSnapshot(CollectionOf({FactsBody("a")}), now_).ok());
    std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*state);
    ASSERT_EQ(spooled.size(), 1u);
    first_payload = spooled[0].envelope().payload();
  }
  std::unique_ptr<AgentState> reopened = OpenOrNull();
  ASSERT_NE(reopened, nullptr);

  absl::StatusOr<uint64_t> seq =
      reopened->MakeSnapshot(CollectionOf({FactsBody("b")}), now_);

  ASSERT_TRUE(seq.ok()) << seq.status();
  EXPECT_EQ(*seq, 2u);
  std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*reopened);
  ASSERT_EQ(spooled.size(), 2u);
  EXPECT_EQ(PayloadOf(spooled[1]).prev_payload_sha256(), Sha256(first_payload));
}

TEST_F(AgentStateTest, SpooledIgnoresUnrelatedFiles) {
  std::unique_ptr<AgentState> state = CreateAndOpen();
  ASSERT_NE(state, nullptr);
  ASSERT_TRUE(state->MakeSnapshot(CollectionOf({FactsBody("a")}), now_).ok());
  // What an interrupted atomic write leaves behind, and a stray file.
  ASSERT_TRUE(
      WriteFileAtomic(dir_ / "spool" / "00000000000000000002.snapshot.tmp.abcd",
                      "partial", 0600)
          .ok());
  ASSERT_TRUE(WriteFileAtomic(dir_ / "spool" / "notes.txt", "x", 0600).ok());

  std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*state);

  ASSERT_EQ(spooled.size(), 1u);
  EXPECT_EQ(PayloadOf(spooled[0]).seq(), 1u);
}

// --- Acknowledgement ---

TEST_F(AgentStateTest, AcknowledgeRemovesSpoolFile) {
  std::unique_ptr<AgentState> state = CreateAndOpen();
  ASSERT_NE(state, nullptr);
  ASSERT_TRUE(state->MakeSnapshot(CollectionOf({FactsBody("a")}), now_).ok());
  std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*state);
  ASSERT_EQ(spooled.size(), 1u);
  ASSERT_EQ(SpoolFiles(), 1u);

  absl::Status acked = state->Acknowledge(spooled[0], 1);

  ASSERT_TRUE(acked.ok()) << acked;
  EXPECT_EQ(SpoolFiles(), 0u);
  EXPECT_TRUE(SpooledOrEmpty(*state).empty());
}

TEST_F(AgentStateTest, AcknowledgeRemovesOnlyThatSnapshot) {
  std::unique_ptr<AgentState> state = CreateAndOpen();
  ASSERT_NE(state, nullptr);
  ASSERT_TRUE(state->MakeSnapshot(CollectionOf({FactsBody("a")}), now_).ok());
  ASSERT_TRUE(state->MakeSnapshot(CollectionOf({FactsBody("b")}), now_).ok());
  std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*state);
  ASSERT_EQ(spooled.size(), 2u);

  ASSERT_TRUE(state->Acknowledge(spooled[0], 1).ok());

  std::vector<v1::SubmitRequest> left = SpooledOrEmpty(*state);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(PayloadOf(left[0]).seq(), 2u);
}

TEST_F(AgentStateTest, WithoutKnownFactsKeepsEverythingBeforeAnyAck) {
  std::unique_ptr<AgentState> state = CreateAndOpen();
  ASSERT_NE(state, nullptr);
  const std::string a = FactsBody("a");
  ASSERT_TRUE(state->MakeSnapshot(CollectionOf({a}), now_).ok());
  std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*state);
  ASSERT_EQ(spooled.size(), 1u);

  v1::SubmitRequest to_send = state->WithoutKnownFacts(spooled[0]);

  EXPECT_THAT(to_send.facts(), ElementsAre(a));
  EXPECT_EQ(to_send.envelope().SerializeAsString(),
            spooled[0].envelope().SerializeAsString());
}

TEST_F(AgentStateTest, WithoutKnownFactsDropsAcknowledgedBodies) {
  std::unique_ptr<AgentState> state = CreateAndOpen();
  ASSERT_NE(state, nullptr);
  const std::string a = FactsBody("a");
  const std::string b = FactsBody("b");
  ASSERT_TRUE(state->MakeSnapshot(CollectionOf({a}), now_).ok());
  std::vector<v1::SubmitRequest> first = SpooledOrEmpty(*state);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(state->Acknowledge(first[0], 1).ok());
  ASSERT_TRUE(state->MakeSnapshot(CollectionOf({a, b}), now_).ok());
  std::vector<v1::SubmitRequest> second = SpooledOrEmpty(*state);
  ASSERT_EQ(second.size(), 1u);
  ASSERT_THAT(second[0].facts(), ElementsAre(a, b));  // the spool keeps all

  v1::SubmitRequest to_send = state->WithoutKnownFacts(second[0]);

  EXPECT_THAT(to_send.facts(), ElementsAre(b));
  EXPECT_EQ(to_send.envelope().SerializeAsString(),
            second[0].envelope().SerializeAsString());
}

TEST_F(AgentStateTest, AcknowledgedFactsSurviveReopen) {
  const std::string a = FactsBody("a");
  {
    std::unique_ptr<AgentState> state = CreateAndOpen();
    ASSERT_NE(state, nullptr);
    ASSERT_TRUE(state->MakeSnapshot(CollectionOf({a}), now_).ok());
    std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*state);
    ASSERT_EQ(spooled.size(), 1u);
    ASSERT_TRUE(state->Acknowledge(spooled[0], 1).ok());
  }
  std::unique_ptr<AgentState> reopened = OpenOrNull();
  ASSERT_NE(reopened, nullptr);
  ASSERT_TRUE(reopened->MakeSnapshot(CollectionOf({a}), now_).ok());
  std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*reopened);
  ASSERT_EQ(spooled.size(), 1u);

  v1::SubmitRequest to_send = reopened->WithoutKnownFacts(spooled[0]);

  EXPECT_THAT(to_send.facts(), IsEmpty());
}

// --- Crash repair ---

TEST_F(AgentStateTest, ReopenRestoresHeadFromSpoolWhenChainFileIsOlder) {
  std::string payload;
  {
    std::unique_ptr<AgentState> state = CreateAndOpen();
    ASSERT_NE(state, nullptr);
    ASSERT_TRUE(state->MakeSnapshot(CollectionOf({FactsBody("a")}), now_).ok());
    std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*state);
    ASSERT_EQ(spooled.size(), 1u);
    payload = spooled[0].envelope().payload();
  }
  // As if the agent crashed after spooling but before saving the chain head.
  ASSERT_TRUE(WriteFileAtomic(dir_ / "chain.pb",
                              v1::AgentChainState().SerializeAsString(), 0600)
                  .ok());

  std::unique_ptr<AgentState> reopened = OpenOrNull();

  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->head().seq, 1u);
  EXPECT_EQ(reopened->head().payload_sha256, Sha256(payload));
}

TEST_F(AgentStateTest, RepairedHeadIsSavedToChainFile) {
  {
    std::unique_ptr<AgentState> state = CreateAndOpen();
    ASSERT_NE(state, nullptr);
    ASSERT_TRUE(state->MakeSnapshot(CollectionOf({FactsBody("a")}), now_).ok());
  }
  ASSERT_TRUE(WriteFileAtomic(dir_ / "chain.pb",
                              v1::AgentChainState().SerializeAsString(), 0600)
                  .ok());

  ASSERT_NE(OpenOrNull(), nullptr);

  absl::StatusOr<std::string> bytes = ReadFile(dir_ / "chain.pb");
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  v1::AgentChainState chain;
  ASSERT_TRUE(chain.ParseFromString(*bytes));
  EXPECT_EQ(chain.seq(), 1u);
}

TEST_F(AgentStateTest, RepairedChainDoesNotReuseSeq) {
  std::string payload;
  {
    std::unique_ptr<AgentState> state = CreateAndOpen();
    ASSERT_NE(state, nullptr);
    ASSERT_TRUE(state->MakeSnapshot(CollectionOf({FactsBody("a")}), now_).ok());
    payload = SpooledOrEmpty(*state).at(0).envelope().payload();
  }
  ASSERT_TRUE(WriteFileAtomic(dir_ / "chain.pb",
                              v1::AgentChainState().SerializeAsString(), 0600)
                  .ok());
  std::unique_ptr<AgentState> reopened = OpenOrNull();
  ASSERT_NE(reopened, nullptr);

  absl::StatusOr<uint64_t> seq =
      reopened->MakeSnapshot(CollectionOf({FactsBody("b")}), now_);

  ASSERT_TRUE(seq.ok()) << seq.status();
  EXPECT_EQ(*seq, 2u);
  std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*reopened);
  ASSERT_EQ(spooled.size(), 2u);
  EXPECT_EQ(PayloadOf(spooled[1]).prev_payload_sha256(), Sha256(payload));
}

TEST_F(AgentStateTest, DamagedUncountedSpoolFileIsDroppedOnOpen) {
  {
    std::unique_ptr<AgentState> state = CreateAndOpen();
    ASSERT_NE(state, nullptr);
    ASSERT_TRUE(state->MakeSnapshot(CollectionOf({FactsBody("a")}), now_).ok());
  }
  // As if the agent crashed after a torn spool write, before the chain head
  // moved: the snapshot was never counted as made.
  ASSERT_TRUE(WriteFileAtomic(dir_ / "chain.pb",
                              v1::AgentChainState().SerializeAsString(), 0600)
                  .ok());
  ASSERT_TRUE(
      WriteFileAtomic(SpoolFile(1), std::string("\xff\xff", 2), 0600).ok());

  std::unique_ptr<AgentState> state = OpenOrNull();

  ASSERT_NE(state, nullptr);
  EXPECT_EQ(state->head().seq, 0u);
  EXPECT_THAT(SpooledOrEmpty(*state), IsEmpty());
}

// --- Loss is never silent: gap snapshots ---

TEST_F(AgentStateTest, DamagedMiddleSnapshotBecomesGapSnapshot) {
  std::vector<v1::SubmitRequest> before;
  {
    std::unique_ptr<AgentState> state = CreateAndOpen();
    ASSERT_NE(state, nullptr);
    MakeSnapshots(*state, 3);
    before = SpooledOrEmpty(*state);
  }
  FlipLastByte(SpoolFile(2));

  std::unique_ptr<AgentState> state = OpenOrNull();

  ASSERT_NE(state, nullptr);
  std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*state);
  ASSERT_EQ(spooled.size(), 3u);
  const v1::Snapshot gap = PayloadOf(spooled[1]);
  EXPECT_EQ(gap.seq(), 2u);
  EXPECT_EQ(gap.gap().first_seq(), 2u);
  EXPECT_EQ(gap.gap().last_seq(), 2u);
  EXPECT_EQ(gap.prev_payload_sha256(), Sha256(before[0].envelope().payload()));
  EXPECT_EQ(gap.gap().last_payload_sha256(),
            PayloadOf(before[2]).prev_payload_sha256());
  EXPECT_EQ(spooled[2].envelope().payload(), before[2].envelope().payload());
}

TEST_F(AgentStateTest, DamagedNewestCountedSnapshotBecomesGapSnapshot) {
  {
    std::unique_ptr<AgentState> state = CreateAndOpen();
    ASSERT_NE(state, nullptr);
    MakeSnapshots(*state, 2);
  }
  FlipLastByte(SpoolFile(2));

  std::unique_ptr<AgentState> state = OpenOrNull();

  ASSERT_NE(state, nullptr);
  std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*state);
  ASSERT_EQ(spooled.size(), 2u);
  const v1::Snapshot gap = PayloadOf(spooled[1]);
  EXPECT_EQ(gap.gap().first_seq(), 2u);
  EXPECT_EQ(gap.gap().last_payload_sha256(), state->head().payload_sha256);
  EXPECT_EQ(state->head().seq, 2u);
}

TEST_F(AgentStateTest, QuotaDropsOldestKeepsNewestBehindGapSnapshot) {
  std::unique_ptr<AgentState> state = CreateAndOpen();
  ASSERT_NE(state, nullptr);
  state->set_spool_max_bytes(8 << 10);
  std::vector<std::string> payloads;
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(state
                    ->MakeSnapshot(CollectionOf({BigFactsBody(i)}),
                                   now_ + absl::Minutes(i))
                    .ok());
    payloads.push_back(SpooledOrEmpty(*state).back().envelope().payload());
  }

  std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*state);

  EXPECT_LE(state->spool_bytes(), 8u << 10);
  ASSERT_GE(spooled.size(), 2u);
  const v1::Snapshot gap = PayloadOf(spooled[0]);
  ASSERT_TRUE(gap.has_gap());
  EXPECT_EQ(gap.gap().first_seq(), 1u);
  EXPECT_EQ(gap.prev_payload_sha256(), std::string(kSha256Size, '\0'));
  EXPECT_EQ(gap.gap().last_payload_sha256(), Sha256(payloads[gap.seq() - 1]));
  EXPECT_EQ(PayloadOf(spooled[1]).seq(), gap.seq() + 1);
  EXPECT_EQ(PayloadOf(spooled[1]).prev_payload_sha256(),
            gap.gap().last_payload_sha256());
  EXPECT_EQ(PayloadOf(spooled.back()).seq(), 8u);
}

TEST_F(AgentStateTest, GapSnapshotIsSignedByTheAgent) {
  std::unique_ptr<AgentState> state = CreateAndOpen();
  ASSERT_NE(state, nullptr);
  state->set_spool_max_bytes(1);
  MakeSnapshots(*state, 2);
  std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*state);
  ASSERT_EQ(spooled.size(), 2u);
  ASSERT_TRUE(PayloadOf(spooled[0]).has_gap());
  absl::Status verified =
      VerifyEnvelope(key_->public_key(), spooled[0].envelope());
  EXPECT_TRUE(verified.ok()) << verified;
}

TEST_F(AgentStateTest, QuotaNeverDropsTheNewestSnapshot) {
  std::unique_ptr<AgentState> state = CreateAndOpen();
  ASSERT_NE(state, nullptr);
  state->set_spool_max_bytes(1);
  MakeSnapshots(*state, 4);
  std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*state);
  ASSERT_EQ(spooled.size(), 2u);
  EXPECT_EQ(PayloadOf(spooled[1]).seq(), 4u);
  EXPECT_FALSE(PayloadOf(spooled[1]).has_gap());
}

TEST_F(AgentStateTest, LaterDropsMergeIntoOneGapFromTheFirstLostSeq) {
  std::unique_ptr<AgentState> state = CreateAndOpen();
  ASSERT_NE(state, nullptr);
  state->set_spool_max_bytes(1);
  MakeSnapshots(*state, 5);
  std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*state);
  ASSERT_EQ(spooled.size(), 2u);
  const v1::Snapshot gap = PayloadOf(spooled[0]);
  EXPECT_EQ(gap.gap().first_seq(), 1u);
  EXPECT_EQ(gap.gap().last_seq(), 4u);
}

TEST_F(AgentStateTest, RecordsLeftByCrashDuringGapAreRemovedOnOpen) {
  std::string left_behind;
  {
    std::unique_ptr<AgentState> state = CreateAndOpen();
    ASSERT_NE(state, nullptr);
    MakeSnapshots(*state, 2);
    left_behind = *ReadFile(SpoolFile(1));
    state->set_spool_max_bytes(1);
    MakeSnapshots(*state, 1);  // snapshots 1..2 become gap snapshot 2
  }
  // As if the agent crashed after writing the gap but before removing 1.
  ASSERT_TRUE(WriteFileAtomic(SpoolFile(1), left_behind, 0600).ok());

  std::unique_ptr<AgentState> state = OpenOrNull();

  ASSERT_NE(state, nullptr);
  std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*state);
  ASSERT_EQ(spooled.size(), 2u);
  EXPECT_TRUE(PayloadOf(spooled[0]).has_gap());
  EXPECT_EQ(PayloadOf(spooled[1]).seq(), 3u);
}

TEST_F(AgentStateTest, RebaseGapStartsAfterWhatTheCollectorHolds) {
  std::unique_ptr<AgentState> state = CreateAndOpen();
  ASSERT_NE(state, nullptr);
  state->set_spool_max_bytes(1);
  MakeSnapshots(*state, 5);  // gap 1..4, snapshot 5
  const std::string held = Sha256("the collector's snapshot 2");

  absl::StatusOr<std::optional<v1::SubmitRequest>> rebased =
      state->RebaseGap(4, 2, held, now_);

  ASSERT_TRUE(rebased.ok()) << rebased.status();
  ASSERT_TRUE(rebased->has_value());
  const v1::Snapshot gap = PayloadOf(**rebased);
  EXPECT_EQ(gap.gap().first_seq(), 3u);
  EXPECT_EQ(gap.seq(), 4u);
  EXPECT_EQ(gap.prev_payload_sha256(), held);
  EXPECT_EQ(PayloadOf(SpooledOrEmpty(*state)[0]).gap().first_seq(), 3u);
}

TEST_F(AgentStateTest, RebaseGapRemovesItWhenTheCollectorHoldsAll) {
  std::unique_ptr<AgentState> state = CreateAndOpen();
  ASSERT_NE(state, nullptr);
  state->set_spool_max_bytes(1);
  MakeSnapshots(*state, 5);

  absl::StatusOr<std::optional<v1::SubmitRequest>> rebased =
      state->RebaseGap(4, 4, Sha256("x"), now_);

  ASSERT_TRUE(rebased.ok()) << rebased.status();
  EXPECT_FALSE(rebased->has_value());
  std::vector<v1::SubmitRequest> spooled = SpooledOrEmpty(*state);
  ASSERT_EQ(spooled.size(), 1u);
  EXPECT_EQ(PayloadOf(spooled[0]).seq(), 5u);
}

TEST_F(AgentStateTest, RebaseGapRefusesWhenNothingWouldChange) {
  std::unique_ptr<AgentState> state = CreateAndOpen();
  ASSERT_NE(state, nullptr);
  state->set_spool_max_bytes(1);
  MakeSnapshots(*state, 5);

  EXPECT_EQ(state->RebaseGap(4, 0, "", now_).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(AgentStateTest, RebaseOfOrdinarySnapshotIsFailedPrecondition) {
  std::unique_ptr<AgentState> state = CreateAndOpen();
  ASSERT_NE(state, nullptr);
  MakeSnapshots(*state, 1);
  EXPECT_EQ(state->RebaseGap(1, 0, "", now_).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace evidentia::agent
