#include "collector/ingest/ingest.h"

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "collector/identity/registry.h"
#include "collector/log/transparency_log.h"
#include "collector/query/store_evidence.h"
#include "collector/store/keys.h"
#include "collector/store/records.h"
#include "collector/store/rocksdb_store.h"
#include "collector/store/store.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/envelope.h"
#include "common/merkle.h"
#include "common/pae.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "evidentia/v1/bundle.pb.h"
#include "evidentia/v1/collector.pb.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/operator.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "evidentia/v1/snapshot.pb.h"
#include "evidentia/v1/store.pb.h"
#include "gmock/gmock.h"
#include "grading/fleet.h"
#include "gtest/gtest.h"
#include "tests/support/full_disk.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_ca.h"

namespace evidentia::collector {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr absl::string_view kPeer = "ipv4:192.0.2.7:40000";

using ::evidentia::testing::ScopedTempDir;

int Code(absl::StatusCode code) { return static_cast<int>(code); }

// A serialized Facts body; different `root_fs_type`s give different digests.
std::string FactsBody(const std::string& root_fs_type) {
  v1::Facts facts;
  facts.mutable_disk_encryption()->set_root_fs_type(root_fs_type);
  facts.mutable_disk_encryption()->set_root_on_block_device(true);
  return facts.SerializeAsString();
}

// One observation of `check_id` whose facts are `body`.
v1::Observation ObservationOf(const std::string& check_id,
                              const std::string& body) {
  v1::Observation o;
  o.set_check_id(check_id);
  o.set_probe(check_id);
  o.set_facts_sha256(Sha256(body));
  return o;
}

// One observation of `check_id` that failed.
v1::Observation FailedObservation(const std::string& check_id) {
  v1::Observation o;
  o.set_check_id(check_id);
  o.set_probe(check_id);
  o.set_error("probe failed");
  return o;
}

// An enrolled agent over a real store and registry, with a clock the test
// moves, and helpers that build signed snapshots the way an agent does.
class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Store>> store =
        OpenRocksDbStore(dir_.path() / "db",
                         RocksDbOptions{0, absl::ZeroDuration(), disk_.env()});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    Clock clock = [this] { return now_; };
    registry_ = std::make_unique<Registry>(*store_, clock);
    testing::GiveTestCa(*registry_);
    ingestor_ = std::make_unique<Ingestor>(*store_, *registry_, clock);

    absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = std::make_unique<PrivateKey>(*std::move(key));
    absl::StatusOr<v1::CreateTokenResponse> token =
        registry_->CreateToken(absl::Hours(1), 1);
    ASSERT_TRUE(token.ok()) << token.status();
    v1::EnrollRequest enroll;
    enroll.set_token(token->token());
    enroll.set_public_key_pem(key_->public_key().ToPem());
    enroll.set_csr_pem(testing::TestCsr());
    enroll.mutable_host()->set_hostname("enrolled-name");
    absl::StatusOr<v1::EnrollResponse> enrolled = registry_->Enroll(enroll);
    ASSERT_TRUE(enrolled.ok()) << enrolled.status();
    agent_id_ = enrolled->agent_id();
  }

  // A snapshot of this agent with `seq` after the payload `prev_payload`
  // (empty: the first), holding `observations`.
  v1::Snapshot SnapshotAfter(uint64_t seq, const std::string& prev_payload,
                             std::vector<v1::Observation> observations) {
    v1::Snapshot snapshot;
    snapshot.set_agent_id(agent_id_);
    snapshot.set_seq(seq);
    snapshot.set_prev_payload_sha256(prev_payload.empty()
                                         ? std::string(kSha256Size, '\0')
                                         : Sha256(prev_payload));
    *snapshot.mutable_collected_at() = ToProto(now_ - absl::Seconds(5));
    snapshot.mutable_host()->set_hostname("host-1");
    snapshot.set_agent_version("0.1.0");
    for (v1::Observation& o : observations) {
      *snapshot.add_observations() = std::move(o);
    }
    return snapshot;
  }

  // `snapshot` signed by `key`, with `bodies` beside it.
  static v1::SubmitRequest SignedBy(const PrivateKey& key,
                                    const v1::Snapshot& snapshot,
                                    std::vector<std::string> bodies) {
    absl::StatusOr<v1::SignedSnapshot> envelope =
        SignPayload(key, snapshot.SerializeAsString());
    EXPECT_TRUE(envelope.ok()) << envelope.status();
    v1::SubmitRequest request;
    if (envelope.ok()) *request.mutable_envelope() = *std::move(envelope);
    for (std::string& body : bodies) request.add_facts(std::move(body));
    return request;
  }

  v1::SubmitRequest Signed(const v1::Snapshot& snapshot,
                           std::vector<std::string> bodies) {
    return SignedBy(*key_, snapshot, std::move(bodies));
  }

  // The first snapshot: one check with body `body`, sent with it.
  v1::SubmitRequest First(const std::string& body = FactsBody("ext4")) {
    return Signed(SnapshotAfter(1, "", {ObservationOf("linux.disk", body)}),
                  {body});
  }

  v1::SubmitResponse Submit(const v1::SubmitRequest& request) {
    return ingestor_->Submit(request, kPeer);
  }

  // Submits `request` and fails the test unless it is ACCEPTED.
  void Accept(const v1::SubmitRequest& request) {
    v1::SubmitResponse response = Submit(request);
    ASSERT_EQ(response.result(), v1::SubmitResponse::ACCEPTED)
        << response.DebugString();
  }

  size_t Count(Table table, absl::string_view prefix = "") {
    size_t n = 0;
    EXPECT_TRUE(store_
                    ->Scan(table, prefix,
                           [&](absl::string_view, absl::string_view) {
                             ++n;
                             return true;
                           })
                    .ok());
    return n;
  }

  v1::AgentRecord Agent() {
    absl::StatusOr<std::optional<v1::AgentRecord>> agent =
        registry_->GetAgent(agent_id_);
    EXPECT_TRUE(agent.ok() && agent->has_value());
    return agent.ok() && agent->has_value() ? **agent : v1::AgentRecord();
  }

  std::vector<std::string> EventKinds() {
    absl::StatusOr<std::vector<v1::SecurityEvent>> events =
        registry_->ListEvents();
    EXPECT_TRUE(events.ok()) << events.status();
    std::vector<std::string> kinds;
    if (events.ok()) {
      for (const v1::SecurityEvent& e : *events) kinds.push_back(e.kind());
    }
    return kinds;
  }

  // Fails the test unless `response` is REJECTED with `code` and a message.
  void ExpectRejected(const v1::SubmitResponse& response,
                      absl::StatusCode code) {
    EXPECT_EQ(response.result(), v1::SubmitResponse::REJECTED)
        << response.DebugString();
    EXPECT_EQ(response.code(), Code(code)) << response.message();
    EXPECT_FALSE(response.message().empty());
  }

  ScopedTempDir dir_;
  testing::FullDisk disk_;  // the store's operating system; never full unless
                            // a test fills it
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  std::unique_ptr<Store> store_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<Ingestor> ingestor_;
  std::unique_ptr<PrivateKey> key_;
  std::string agent_id_;
};

// --- Accepting a chain ---

TEST_F(IngestTest, FirstSnapshotIsAccepted) {
  v1::SubmitRequest request = First();

  v1::SubmitResponse response = Submit(request);

  EXPECT_EQ(response.result(), v1::SubmitResponse::ACCEPTED)
      << response.DebugString();
  EXPECT_EQ(response.seq(), 1u);
  EXPECT_EQ(response.payload_sha256(), Sha256(request.envelope().payload()));
  EXPECT_EQ(Count(Table::kSnapshots), 1u);
}

TEST_F(IngestTest, AcceptedSnapshotIsStoredByteForByte) {
  v1::SubmitRequest request = First();
  now_ += absl::Minutes(3);

  Accept(request);

  absl::StatusOr<std::optional<v1::StoredSnapshot>> stored =
      GetRecord<v1::StoredSnapshot>(*store_, Table::kSnapshots,
                                    keys::Snapshot(agent_id_, 1), "snapshot");
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((*stored)->envelope().SerializeAsString(),
            request.envelope().SerializeAsString());
  EXPECT_EQ(FromProto((*stored)->received_at()), now_);
}

TEST_F(IngestTest, AcceptedFactsBodyIsStoredUnderItsDigest) {
  const std::string body = FactsBody("ext4");

  Accept(First(body));

  absl::StatusOr<std::optional<std::string>> held =
      store_->Get(Table::kObjects, Sha256(body));
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(*held, std::optional<std::string>(body));
}

TEST_F(IngestTest, SameRequestAgainIsDuplicateAndStoredOnce) {
  v1::SubmitRequest request = First();
  Accept(request);

  v1::SubmitResponse again = Submit(request);

  EXPECT_EQ(again.result(), v1::SubmitResponse::DUPLICATE)
      << again.DebugString();
  EXPECT_EQ(again.seq(), 1u);
  EXPECT_EQ(again.payload_sha256(), Sha256(request.envelope().payload()));
  EXPECT_EQ(Count(Table::kSnapshots), 1u);
  EXPECT_TRUE(EventKinds().empty());
}

TEST_F(IngestTest, OlderSnapshotResentAfterNewerIsDuplicate) {
  v1::SubmitRequest first = First();
  Accept(first);
  Accept(Signed(SnapshotAfter(2, first.envelope().payload(), {}), {}));

  v1::SubmitResponse again = Submit(first);

  EXPECT_EQ(again.result(), v1::SubmitResponse::DUPLICATE)
      << again.DebugString();
  EXPECT_EQ(Agent().last_seq(), 2u);
}

TEST_F(IngestTest, NextSeqWithPrevIsAccepted) {
  v1::SubmitRequest first = First();
  Accept(first);
  v1::SubmitRequest second =
      Signed(SnapshotAfter(2, first.envelope().payload(),
                           {ObservationOf("linux.disk", FactsBody("xfs"))}),
             {FactsBody("xfs")});

  v1::SubmitResponse response = Submit(second);

  EXPECT_EQ(response.result(), v1::SubmitResponse::ACCEPTED)
      << response.DebugString();
  EXPECT_EQ(response.seq(), 2u);
  EXPECT_EQ(Count(Table::kSnapshots), 2u);
}

TEST_F(IngestTest, SnapshotWithOnlyFailedObservationsIsAccepted) {
  v1::SubmitRequest request =
      Signed(SnapshotAfter(1, "", {FailedObservation("linux.disk")}), {});

  v1::SubmitResponse response = Submit(request);

  EXPECT_EQ(response.result(), v1::SubmitResponse::ACCEPTED)
      << response.DebugString();
}

TEST_F(IngestTest, AcceptedSnapshotUpdatesAgentRecord) {
  v1::SubmitRequest request = First();
  now_ += absl::Minutes(10);

  Accept(request);

  v1::AgentRecord agent = Agent();
  EXPECT_EQ(agent.last_seq(), 1u);
  EXPECT_EQ(agent.last_payload_sha256(), Sha256(request.envelope().payload()));
  EXPECT_EQ(FromProto(agent.first_seen()), now_);
  EXPECT_EQ(FromProto(agent.last_seen()), now_);
  EXPECT_EQ(agent.host().hostname(), "host-1");
}

TEST_F(IngestTest, LaterSnapshotKeepsFirstSeenAndMovesLastSeen) {
  v1::SubmitRequest first = First();
  const absl::Time first_time = now_;
  Accept(first);
  now_ += absl::Hours(1);

  Accept(Signed(SnapshotAfter(2, first.envelope().payload(), {}), {}));

  v1::AgentRecord agent = Agent();
  EXPECT_EQ(FromProto(agent.first_seen()), first_time);
  EXPECT_EQ(FromProto(agent.last_seen()), now_);
  EXPECT_EQ(agent.last_seq(), 2u);
}

TEST_F(IngestTest, LatestIndexHasOneEntryPerCheck) {
  const std::string disk = FactsBody("ext4");
  const std::string other = FactsBody("btrfs");
  v1::SubmitRequest request =
      Signed(SnapshotAfter(1, "",
                           {ObservationOf("check.a", disk),
                            ObservationOf("check.b", other),
                            FailedObservation("check.c")}),
             {disk, other});

  Accept(request);

  absl::StatusOr<std::vector<v1::LatestObservation>> latest =
      ScanRecords<v1::LatestObservation>(
          *store_, Table::kLatest, keys::AgentPrefix(agent_id_), "latest");
  ASSERT_TRUE(latest.ok()) << latest.status();
  std::vector<std::string> checks;
  for (const v1::LatestObservation& l : *latest) {
    checks.push_back(l.check_id());
    EXPECT_EQ(l.seq(), 1u);
  }
  EXPECT_THAT(checks, ElementsAre("check.a", "check.b", "check.c"));
  EXPECT_EQ((*latest)[0].facts_sha256(), Sha256(disk));
  EXPECT_EQ((*latest)[2].error(), "probe failed");
}

TEST_F(IngestTest, LatestIndexMovesToNewerSnapshot) {
  v1::SubmitRequest first = First();
  Accept(first);
  const std::string newer = FactsBody("xfs");

  Accept(Signed(SnapshotAfter(2, first.envelope().payload(),
                              {ObservationOf("linux.disk", newer)}),
                {newer}));

  absl::StatusOr<std::optional<v1::LatestObservation>> latest =
      GetRecord<v1::LatestObservation>(*store_, Table::kLatest,
                                       keys::Latest(agent_id_, "linux.disk"),
                                       "latest");
  ASSERT_TRUE(latest.ok()) << latest.status();
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->seq(), 2u);
  EXPECT_EQ((*latest)->facts_sha256(), Sha256(newer));
  EXPECT_EQ(Count(Table::kLatest), 1u);
}

// --- Content addressing of facts ---

TEST_F(IngestTest, MissingBodyIsNeedFactsListingItsDigest) {
  const std::string body = FactsBody("ext4");
  v1::SubmitRequest request =
      Signed(SnapshotAfter(1, "", {ObservationOf("linux.disk", body)}), {});

  v1::SubmitResponse response = Submit(request);

  EXPECT_EQ(response.result(), v1::SubmitResponse::NEED_FACTS)
      << response.DebugString();
  EXPECT_EQ(response.seq(), 1u);
  EXPECT_THAT(response.missing_facts(), ElementsAre(Sha256(body)));
}

TEST_F(IngestTest, NeedFactsStoresNothing) {
  const std::string held = FactsBody("sent");
  const std::string missing = FactsBody("missing");
  v1::SubmitRequest request = Signed(
      SnapshotAfter(
          1, "",
          {ObservationOf("check.a", held), ObservationOf("check.b", missing)}),
      {held});

  v1::SubmitResponse response = Submit(request);

  ASSERT_EQ(response.result(), v1::SubmitResponse::NEED_FACTS)
      << response.DebugString();
  EXPECT_THAT(response.missing_facts(), ElementsAre(Sha256(missing)));
  EXPECT_EQ(Count(Table::kSnapshots), 0u);
  EXPECT_EQ(Count(Table::kObjects), 0u);
  EXPECT_EQ(Count(Table::kLatest), 0u);
  EXPECT_EQ(Agent().last_seq(), 0u);
}

TEST_F(IngestTest, ResendWithBodyAfterNeedFactsIsAccepted) {
  const std::string body = FactsBody("ext4");
  const v1::Snapshot snapshot =
      SnapshotAfter(1, "", {ObservationOf("linux.disk", body)});
  v1::SubmitRequest without = Signed(snapshot, {});
  ASSERT_EQ(Submit(without).result(), v1::SubmitResponse::NEED_FACTS);
  v1::SubmitRequest with = without;  // the same envelope, now with the body
  with.add_facts(body);

  v1::SubmitResponse response = Submit(with);

  EXPECT_EQ(response.result(), v1::SubmitResponse::ACCEPTED)
      << response.DebugString();
}

TEST_F(IngestTest, HeldDigestNeedsNoBody) {
  const std::string body = FactsBody("ext4");
  v1::SubmitRequest first = First(body);
  Accept(first);
  v1::SubmitRequest second =
      Signed(SnapshotAfter(2, first.envelope().payload(),
                           {ObservationOf("linux.disk", body)}),
             {});

  v1::SubmitResponse response = Submit(second);

  EXPECT_EQ(response.result(), v1::SubmitResponse::ACCEPTED)
      << response.DebugString();
  EXPECT_EQ(Count(Table::kObjects), 1u);
}

TEST_F(IngestTest, WithAFleetHeldDigestsStillNeedNoBodyAndNewOnesDo) {
  absl::StatusOr<std::unique_ptr<FleetState>> fleet = LoadFleetState(*store_);
  ASSERT_TRUE(fleet.ok()) << fleet.status();
  IngestOptions with_fleet;
  with_fleet.fleet = fleet->get();
  ingestor_ = std::make_unique<Ingestor>(
      *store_, *registry_, [this] { return now_; }, with_fleet);
  const v1::SubmitRequest first = First(FactsBody("ext4"));
  Accept(first);
  const std::string fresh = FactsBody("xfs");

  // The digest of the latest observation needs no body (the fleet says it
  // is held); a digest never sent still does.
  v1::SubmitResponse response = Submit(
      Signed(SnapshotAfter(2, first.envelope().payload(),
                           {ObservationOf("linux.disk", FactsBody("ext4")),
                            ObservationOf("linux.other", fresh)}),
             {}));

  EXPECT_EQ(response.result(), v1::SubmitResponse::NEED_FACTS)
      << response.DebugString();
  EXPECT_THAT(response.missing_facts(), ElementsAre(Sha256(fresh)));
}

TEST_F(IngestTest, TwoChecksWithTheSameFactsStoreOneBody) {
  const std::string body = FactsBody("ext4");
  v1::SubmitRequest request = Signed(
      SnapshotAfter(
          1, "",
          {ObservationOf("check.a", body), ObservationOf("check.b", body)}),
      {body});

  Accept(request);

  EXPECT_EQ(Count(Table::kObjects), 1u);
  EXPECT_EQ(Count(Table::kLatest), 2u);
}

TEST_F(IngestTest, RejectsFactsBodyNotNamedByPayload) {
  const std::string named = FactsBody("ext4");
  const std::string stray = FactsBody("not named");
  v1::SubmitRequest request =
      Signed(SnapshotAfter(1, "", {ObservationOf("linux.disk", named)}),
             {named, stray});

  v1::SubmitResponse response = Submit(request);

  ExpectRejected(response, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(response.message(), HasSubstr(ToHex(Sha256(stray))));
  EXPECT_EQ(Count(Table::kObjects), 0u);
  EXPECT_EQ(Count(Table::kSnapshots), 0u);
}

TEST_F(IngestTest, RejectsFactsBodyNestedTooDeep) {
  // 100,000 nested groups of an unknown field: past protobuf's recursion
  // limit, so the body is refused, not parsed down to the bottom.
  const std::string deep(100000, static_cast<char>((5 << 3) | 3));
  v1::SubmitRequest request =
      Signed(SnapshotAfter(1, "", {ObservationOf("linux.disk", deep)}), {deep});

  v1::SubmitResponse response = Submit(request);

  ExpectRejected(response, absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count(Table::kObjects), 0u);
}

TEST_F(IngestTest, RejectsNamedBodyThatIsNotFacts) {
  // A Facts body cut short: its digest is named, but it does not parse.
  const std::string full = FactsBody("ext4");
  const std::string truncated = full.substr(0, full.size() - 1);
  v1::Facts probe;
  ASSERT_FALSE(probe.ParseFromString(truncated));
  v1::SubmitRequest request =
      Signed(SnapshotAfter(1, "", {ObservationOf("linux.disk", truncated)}),
             {truncated});

  v1::SubmitResponse response = Submit(request);

  ExpectRejected(response, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(response.message(), HasSubstr("not a Facts message"));
  EXPECT_EQ(Count(Table::kObjects), 0u);
}

// --- Signature and envelope: one way of breaking per test ---

TEST_F(IngestTest, RejectsFlippedPayloadByte) {
  v1::SubmitRequest request = First();
  std::string payload = request.envelope().payload();
  // The last byte is inside agent_version: still a Snapshot of this agent.
  payload.back() ^= 0x01;
  request.mutable_envelope()->set_payload(payload);

  v1::SubmitResponse response = Submit(request);

  ExpectRejected(response, absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Count(Table::kSnapshots), 0u);
  EXPECT_EQ(Agent().last_seq(), 0u);
}

TEST_F(IngestTest, RejectsFlippedSignatureByte) {
  v1::SubmitRequest request = First();
  std::string signature = request.envelope().signature();
  signature[10] ^= 0x40;
  request.mutable_envelope()->set_signature(signature);

  v1::SubmitResponse response = Submit(request);

  ExpectRejected(response, absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Count(Table::kSnapshots), 0u);
}

TEST_F(IngestTest, RejectsTruncatedSignature) {
  v1::SubmitRequest request = First();
  request.mutable_envelope()->set_signature(
      request.envelope().signature().substr(0, kEd25519SignatureSize - 1));

  v1::SubmitResponse response = Submit(request);

  ExpectRejected(response, absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count(Table::kSnapshots), 0u);
}

TEST_F(IngestTest, RejectsEmptySignature) {
  v1::SubmitRequest request = First();
  request.mutable_envelope()->clear_signature();

  v1::SubmitResponse response = Submit(request);

  ExpectRejected(response, absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count(Table::kSnapshots), 0u);
}

TEST_F(IngestTest, RejectsSnapshotSignedByAnotherKey) {
  absl::StatusOr<PrivateKey> other = PrivateKey::Generate();
  ASSERT_TRUE(other.ok());
  const std::string body = FactsBody("ext4");
  v1::SubmitRequest request = SignedBy(
      *other, SnapshotAfter(1, "", {ObservationOf("linux.disk", body)}),
      {body});
  // Claim the enrolled key's id so only the signature itself is wrong.
  request.mutable_envelope()->set_key_id(key_->public_key().KeyId());

  v1::SubmitResponse response = Submit(request);

  ExpectRejected(response, absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Count(Table::kSnapshots), 0u);
}

TEST_F(IngestTest, RejectsSnapshotSignedByAnotherKeyUnderItsOwnId) {
  absl::StatusOr<PrivateKey> other = PrivateKey::Generate();
  ASSERT_TRUE(other.ok());
  v1::SubmitRequest request = SignedBy(*other, SnapshotAfter(1, "", {}), {});

  v1::SubmitResponse response = Submit(request);

  ExpectRejected(response, absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Count(Table::kSnapshots), 0u);
}

TEST_F(IngestTest, RejectsWrongPayloadType) {
  v1::SubmitRequest request = First();
  request.mutable_envelope()->set_payload_type("application/json");

  v1::SubmitResponse response = Submit(request);

  ExpectRejected(response, absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count(Table::kSnapshots), 0u);
}

TEST_F(IngestTest, RejectsWrongKeyId) {
  v1::SubmitRequest request = First();
  request.mutable_envelope()->set_key_id(std::string(64, 'a'));

  v1::SubmitResponse response = Submit(request);

  ExpectRejected(response, absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Count(Table::kSnapshots), 0u);
}

TEST_F(IngestTest, BadSignatureRecordsSecurityEvent) {
  v1::SubmitRequest request = First();
  std::string signature = request.envelope().signature();
  signature[0] ^= 0x01;
  request.mutable_envelope()->set_signature(signature);

  ExpectRejected(Submit(request), absl::StatusCode::kUnauthenticated);

  absl::StatusOr<std::vector<v1::SecurityEvent>> events =
      registry_->ListEvents();
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].kind(), "bad_signature");
  EXPECT_EQ((*events)[0].agent_id(), agent_id_);
  EXPECT_EQ((*events)[0].seq(), 1u);
  EXPECT_EQ((*events)[0].peer(), kPeer);
}

TEST_F(IngestTest, RejectedSignatureDoesNotBlockTheGenuineSnapshot) {
  v1::SubmitRequest genuine = First();
  v1::SubmitRequest forged = genuine;
  std::string signature = forged.envelope().signature();
  signature[5] ^= 0x01;
  forged.mutable_envelope()->set_signature(signature);
  ASSERT_EQ(Submit(forged).result(), v1::SubmitResponse::REJECTED);

  v1::SubmitResponse response = Submit(genuine);

  EXPECT_EQ(response.result(), v1::SubmitResponse::ACCEPTED)
      << response.DebugString();
}

TEST_F(IngestTest, RejectsUnknownAgent) {
  v1::Snapshot snapshot = SnapshotAfter(1, "", {});
  snapshot.set_agent_id("0123456789abcdef0123456789abcdef");

  v1::SubmitResponse response = Submit(Signed(snapshot, {}));

  ExpectRejected(response, absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(response.message(), HasSubstr("not enrolled"));
  EXPECT_EQ(Count(Table::kSnapshots), 0u);
}

TEST_F(IngestTest, RejectsSnapshotClaimingAnotherEnrolledAgent) {
  // A second agent, enrolled with its own key.
  absl::StatusOr<PrivateKey> victim_key = PrivateKey::Generate();
  ASSERT_TRUE(victim_key.ok());
  absl::StatusOr<v1::CreateTokenResponse> token =
      registry_->CreateToken(absl::Hours(1), 1);
  ASSERT_TRUE(token.ok());
  v1::EnrollRequest enroll;
  enroll.set_token(token->token());
  enroll.set_public_key_pem(victim_key->public_key().ToPem());
  enroll.set_csr_pem(testing::TestCsr());
  absl::StatusOr<v1::EnrollResponse> victim = registry_->Enroll(enroll);
  ASSERT_TRUE(victim.ok()) << victim.status();
  // This agent signs a snapshot that names the victim.
  v1::Snapshot snapshot = SnapshotAfter(1, "", {});
  snapshot.set_agent_id(victim->agent_id());

  v1::SubmitResponse response = Submit(Signed(snapshot, {}));

  ExpectRejected(response, absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Count(Table::kSnapshots), 0u);
}

// --- Payload shape and limits ---

TEST_F(IngestTest, RejectsPayloadThatIsNotSnapshot) {
  absl::StatusOr<v1::SignedSnapshot> envelope =
      SignPayload(*key_, std::string("\xff\xff\xff\xff", 4));
  ASSERT_TRUE(envelope.ok()) << envelope.status();
  v1::SubmitRequest request;
  *request.mutable_envelope() = *envelope;

  v1::SubmitResponse response = Submit(request);

  ExpectRejected(response, absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count(Table::kSnapshots), 0u);
}

TEST_F(IngestTest, RejectsPayloadOverLimit) {
  v1::Snapshot snapshot = SnapshotAfter(1, "", {});
  snapshot.mutable_host()->set_os_pretty_name(
      std::string(kMaxPayloadBytes, 'x'));
  v1::SubmitRequest request = Signed(snapshot, {});
  ASSERT_GT(request.envelope().payload().size(), kMaxPayloadBytes);

  v1::SubmitResponse response = Submit(request);

  ExpectRejected(response, absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count(Table::kSnapshots), 0u);
}

TEST_F(IngestTest, RejectsFactsOverLimit) {
  const std::string big = FactsBody(std::string(kMaxFactsBytes, 'x'));
  ASSERT_GT(big.size(), kMaxFactsBytes);
  v1::SubmitRequest request =
      Signed(SnapshotAfter(1, "", {ObservationOf("linux.disk", big)}), {big});

  v1::SubmitResponse response = Submit(request);

  ExpectRejected(response, absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count(Table::kObjects), 0u);
}

TEST_F(IngestTest, RejectsFactsOverLimitSpreadOverSeveralBodies) {
  std::vector<v1::Observation> observations;
  std::vector<std::string> bodies;
  for (int i = 0; i < 5; ++i) {
    std::string body =
        FactsBody(std::string(kMaxFactsBytes / 4, static_cast<char>('a' + i)));
    observations.push_back(ObservationOf(absl::StrCat("check.", i), body));
    bodies.push_back(std::move(body));
  }
  v1::SubmitRequest request =
      Signed(SnapshotAfter(1, "", std::move(observations)), bodies);

  v1::SubmitResponse response = Submit(request);

  ExpectRejected(response, absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count(Table::kObjects), 0u);
}

TEST_F(IngestTest, AcceptsMaximumObservations) {
  std::vector<v1::Observation> observations;
  for (int i = 0; i < kMaxObservations; ++i) {
    observations.push_back(FailedObservation(absl::StrCat("check.", i)));
  }

  v1::SubmitResponse response =
      Submit(Signed(SnapshotAfter(1, "", std::move(observations)), {}));

  EXPECT_EQ(response.result(), v1::SubmitResponse::ACCEPTED)
      << response.message();
}

TEST_F(IngestTest, RejectsTooManyObservations) {
  std::vector<v1::Observation> observations;
  for (int i = 0; i < kMaxObservations + 1; ++i) {
    observations.push_back(FailedObservation(absl::StrCat("check.", i)));
  }

  v1::SubmitResponse response =
      Submit(Signed(SnapshotAfter(1, "", std::move(observations)), {}));

  ExpectRejected(response, absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count(Table::kSnapshots), 0u);
}

TEST_F(IngestTest, RejectsDuplicateCheckId) {
  v1::SubmitResponse response =
      Submit(Signed(SnapshotAfter(1, "",
                                  {FailedObservation("linux.disk"),
                                   FailedObservation("linux.disk")}),
                    {}));

  ExpectRejected(response, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(response.message(), HasSubstr("linux.disk"));
}

TEST_F(IngestTest, RejectsObservationWithoutCheckId) {
  v1::SubmitResponse response =
      Submit(Signed(SnapshotAfter(1, "", {FailedObservation("")}), {}));

  ExpectRejected(response, absl::StatusCode::kInvalidArgument);
}

TEST_F(IngestTest, RejectsObservationWithNeitherDigestNorError) {
  v1::Observation o;
  o.set_check_id("linux.disk");
  o.set_probe("linux.disk");

  v1::SubmitResponse response = Submit(Signed(SnapshotAfter(1, "", {o}), {}));

  ExpectRejected(response, absl::StatusCode::kInvalidArgument);
}

TEST_F(IngestTest, RejectsFactsDigestOfWrongLength) {
  v1::Observation o = FailedObservation("linux.disk");
  o.set_facts_sha256(std::string(31, 'x'));

  v1::SubmitResponse response = Submit(Signed(SnapshotAfter(1, "", {o}), {}));

  ExpectRejected(response, absl::StatusCode::kInvalidArgument);
}

// --- The chain ---

TEST_F(IngestTest, EquivocationIsRejectedWithAlreadyExists) {
  v1::SubmitRequest first = First(FactsBody("ext4"));
  Accept(first);
  Accept(Signed(SnapshotAfter(2, first.envelope().payload(), {}), {}));
  // A different payload with seq 1, properly signed.
  v1::SubmitRequest other = First(FactsBody("different"));

  v1::SubmitResponse response = Submit(other);

  ExpectRejected(response, absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(response.message(), HasSubstr("equivocation"));
  EXPECT_EQ(Count(Table::kSnapshots), 2u);
}

TEST_F(IngestTest, EquivocationKeepsTheFirstSnapshot) {
  v1::SubmitRequest first = First(FactsBody("ext4"));
  Accept(first);

  ASSERT_EQ(Submit(First(FactsBody("different"))).result(),
            v1::SubmitResponse::REJECTED);

  absl::StatusOr<std::optional<v1::StoredSnapshot>> stored =
      GetRecord<v1::StoredSnapshot>(*store_, Table::kSnapshots,
                                    keys::Snapshot(agent_id_, 1), "snapshot");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->envelope().payload(), first.envelope().payload());
  EXPECT_EQ(Agent().last_payload_sha256(), Sha256(first.envelope().payload()));
}

TEST_F(IngestTest, EquivocationRecordsSecurityEvent) {
  Accept(First(FactsBody("ext4")));

  ASSERT_EQ(Submit(First(FactsBody("different"))).result(),
            v1::SubmitResponse::REJECTED);

  absl::StatusOr<std::vector<v1::SecurityEvent>> events =
      registry_->ListEvents();
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].kind(), "equivocation");
  EXPECT_EQ((*events)[0].agent_id(), agent_id_);
  EXPECT_EQ((*events)[0].seq(), 1u);
  EXPECT_EQ((*events)[0].peer(), kPeer);
}

TEST_F(IngestTest, RejectsSeqThatSkipsAhead) {
  v1::SubmitRequest first = First();
  Accept(first);
  v1::SubmitRequest third =
      Signed(SnapshotAfter(3, first.envelope().payload(), {}), {});

  v1::SubmitResponse response = Submit(third);

  ExpectRejected(response, absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Count(Table::kSnapshots), 1u);
  EXPECT_EQ(Agent().last_seq(), 1u);
}

TEST_F(IngestTest, RejectsFirstSnapshotWithSeqTwo) {
  v1::SubmitResponse response = Submit(Signed(SnapshotAfter(2, "", {}), {}));

  ExpectRejected(response, absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Count(Table::kSnapshots), 0u);
}

TEST_F(IngestTest, RejectsSeqZero) {
  v1::SubmitResponse response = Submit(Signed(SnapshotAfter(0, "", {}), {}));

  ExpectRejected(response, absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count(Table::kSnapshots), 0u);
}

TEST_F(IngestTest, RejectsWrongPrev) {
  Accept(First());
  v1::SubmitRequest second =
      Signed(SnapshotAfter(2, "some other payload", {}), {});

  v1::SubmitResponse response = Submit(second);

  ExpectRejected(response, absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Count(Table::kSnapshots), 1u);
  EXPECT_EQ(Agent().last_seq(), 1u);
}

TEST_F(IngestTest, RejectsFirstSnapshotWithNonZeroPrev) {
  v1::Snapshot snapshot = SnapshotAfter(1, "", {});
  snapshot.set_prev_payload_sha256(Sha256("invented history"));

  v1::SubmitResponse response = Submit(Signed(snapshot, {}));

  ExpectRejected(response, absl::StatusCode::kFailedPrecondition);
}

TEST_F(IngestTest, ConcurrentSubmissionsOfOneSnapshotAreAcceptedOnce) {
  const v1::SubmitRequest request = First();
  constexpr int kThreads = 8;
  std::vector<v1::SubmitResponse> responses(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { responses[i] = Submit(request); });
  }
  for (std::thread& t : threads) t.join();

  int accepted = 0;
  int duplicate = 0;
  for (const v1::SubmitResponse& r : responses) {
    if (r.result() == v1::SubmitResponse::ACCEPTED) ++accepted;
    if (r.result() == v1::SubmitResponse::DUPLICATE) ++duplicate;
  }
  EXPECT_EQ(accepted, 1);
  EXPECT_EQ(duplicate, kThreads - 1);
  EXPECT_EQ(Count(Table::kSnapshots), 1u);
  EXPECT_TRUE(EventKinds().empty());
}

TEST_F(IngestTest, ConcurrentConflictingSnapshotsAcceptExactlyOne) {
  constexpr int kThreads = 8;
  std::vector<v1::SubmitRequest> requests;
  for (int i = 0; i < kThreads; ++i) {
    requests.push_back(First(FactsBody(absl::StrCat("variant-", i))));
  }
  std::vector<v1::SubmitResponse> responses(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { responses[i] = Submit(requests[i]); });
  }
  for (std::thread& t : threads) t.join();

  int accepted = 0;
  for (const v1::SubmitResponse& r : responses) {
    if (r.result() == v1::SubmitResponse::ACCEPTED) {
      ++accepted;
      EXPECT_EQ(Agent().last_payload_sha256(), r.payload_sha256());
    } else {
      EXPECT_EQ(r.code(), Code(absl::StatusCode::kAlreadyExists))
          << r.message();
    }
  }
  EXPECT_EQ(accepted, 1);
  EXPECT_EQ(Count(Table::kSnapshots), 1u);
  EXPECT_EQ(EventKinds().size(), static_cast<size_t>(kThreads - 1));
}

TEST_F(IngestTest, ChainStateSurvivesCollectorRestart) {
  v1::SubmitRequest first = First();
  Accept(first);
  // A new collector over the same store.
  ingestor_.reset();
  registry_.reset();
  store_.reset();
  absl::StatusOr<std::unique_ptr<Store>> store =
      OpenRocksDbStore(dir_.path() / "db");
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = *std::move(store);
  Clock clock = [this] { return now_; };
  registry_ = std::make_unique<Registry>(*store_, clock);
  ingestor_ = std::make_unique<Ingestor>(*store_, *registry_, clock);

  EXPECT_EQ(Submit(first).result(), v1::SubmitResponse::DUPLICATE);
  EXPECT_EQ(Submit(Signed(SnapshotAfter(2, first.envelope().payload(), {}), {}))
                .result(),
            v1::SubmitResponse::ACCEPTED);
}

// --- The transparency log ---

TEST_F(IngestTest, AcceptedSnapshotIsQueuedForTheLog) {
  v1::SubmitRequest request = First();

  Accept(request);

  absl::StatusOr<std::optional<v1::LogQueueEntry>> queued =
      GetRecord<v1::LogQueueEntry>(*store_, Table::kLogQueue,
                                   keys::Snapshot(agent_id_, 1), "queue entry");
  ASSERT_TRUE(queued.ok()) << queued.status();
  ASSERT_TRUE(queued->has_value());
  EXPECT_EQ((*queued)->leaf_hash(),
            merkle::SnapshotLeafHash(request.envelope().payload(),
                                     request.envelope().signature()));
  EXPECT_EQ(Count(Table::kLogQueue), 1u);
}

TEST_F(IngestTest, RefusedSnapshotIsNotQueuedForTheLog) {
  const std::string body = FactsBody("ext4");
  ASSERT_EQ(
      Submit(
          Signed(SnapshotAfter(1, "", {ObservationOf("linux.disk", body)}), {}))
          .result(),
      v1::SubmitResponse::NEED_FACTS);
  ASSERT_EQ(Submit(Signed(SnapshotAfter(2, "", {}), {})).result(),
            v1::SubmitResponse::REJECTED);

  EXPECT_EQ(Count(Table::kLogQueue), 0u);
}

TEST_F(IngestTest, DuplicateIsNotQueuedForTheLogTwice) {
  v1::SubmitRequest request = First();
  Accept(request);
  absl::StatusOr<PrivateKey> collector_key = PrivateKey::Generate();
  ASSERT_TRUE(collector_key.ok());
  absl::StatusOr<std::unique_ptr<TransparencyLog>> log =
      TransparencyLog::Open(*store_, *collector_key, [this] { return now_; });
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(*(*log)->Integrate(), 1u);

  ASSERT_EQ(Submit(request).result(), v1::SubmitResponse::DUPLICATE);

  EXPECT_EQ(Count(Table::kLogQueue), 0u);
  EXPECT_EQ(*(*log)->Integrate(), 1u);
}

TEST_F(IngestTest, AcceptedSnapshotWakesTheLog) {
  absl::StatusOr<PrivateKey> collector_key = PrivateKey::Generate();
  ASSERT_TRUE(collector_key.ok());
  absl::StatusOr<std::unique_ptr<TransparencyLog>> opened =
      TransparencyLog::Open(*store_, *collector_key, [this] { return now_; });
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<TransparencyLog> log = *std::move(opened);
  IngestOptions with_log;
  with_log.log = log.get();
  ingestor_ = std::make_unique<Ingestor>(
      *store_, *registry_, [this] { return now_; }, with_log);
  log->StartBackground(absl::Milliseconds(1), absl::InfiniteDuration());
  auto eventually_size = [&](uint64_t size) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (log->size() != size && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(2));
    }
    return log->size() == size;
  };
  v1::SubmitRequest first = First();
  Accept(first);
  ASSERT_TRUE(eventually_size(1));

  // Only the ingestor's Notify() wakes the log for this one.
  Accept(Signed(SnapshotAfter(2, first.envelope().payload(), {}), {}));

  EXPECT_TRUE(eventually_size(2));
  ingestor_ =
      std::make_unique<Ingestor>(*store_, *registry_, [this] { return now_; });
}

// --- Faults and clocks ---

TEST_F(IngestTest, FullDiskIsUnavailableAndStoresNothing) {
  disk_.Fill();

  v1::SubmitResponse response = Submit(First());

  ExpectRejected(response, absl::StatusCode::kUnavailable);
  disk_.Free();
  EXPECT_EQ(Count(Table::kSnapshots), 0u);
  EXPECT_EQ(Agent().last_seq(), 0u);
}

TEST_F(IngestTest, SnapshotRefusedOnFullDiskIsAcceptedWhenSpaceReturns) {
  v1::SubmitRequest first = First();
  disk_.Fill();
  ASSERT_EQ(Submit(first).result(), v1::SubmitResponse::REJECTED);
  disk_.Free();

  v1::SubmitResponse response = Submit(first);

  EXPECT_EQ(response.result(), v1::SubmitResponse::ACCEPTED)
      << response.DebugString();
  EXPECT_EQ(Count(Table::kSnapshots), 1u);
}

TEST_F(IngestTest, ChainContinuesAfterFullDisk) {
  v1::SubmitRequest first = First();
  Accept(first);
  v1::SubmitRequest second =
      Signed(SnapshotAfter(2, first.envelope().payload(), {}), {});
  disk_.Fill();
  ASSERT_EQ(Submit(second).result(), v1::SubmitResponse::REJECTED);
  disk_.Free();

  Accept(second);

  EXPECT_EQ(Agent().last_seq(), 2u);
  EXPECT_EQ(Agent().last_payload_sha256(), Sha256(second.envelope().payload()));
}

TEST_F(IngestTest, ClockAheadBeyondLimitIsAcceptedAndRecorded) {
  v1::Snapshot snapshot = SnapshotAfter(1, "", {});
  *snapshot.mutable_collected_at() = ToProto(now_ + absl::Minutes(6));

  Accept(Signed(snapshot, {}));

  EXPECT_EQ(EventKinds(), std::vector<std::string>{"clock_skew"});
}

TEST_F(IngestTest, SnapshotDeliveredLateAfterAnOutageIsNotSkew) {
  v1::Snapshot snapshot = SnapshotAfter(1, "", {});
  *snapshot.mutable_collected_at() = ToProto(now_ - absl::Hours(2));

  Accept(Signed(snapshot, {}));

  EXPECT_EQ(EventKinds(), std::vector<std::string>{});
}

TEST_F(IngestTest, ClockWithinLimitRecordsNothing) {
  v1::Snapshot snapshot = SnapshotAfter(1, "", {});
  *snapshot.mutable_collected_at() = ToProto(now_ + absl::Minutes(4));

  Accept(Signed(snapshot, {}));

  EXPECT_EQ(EventKinds(), std::vector<std::string>{});
}

// --- Heartbeat ---

policy::PolicySet PolicyWith(absl::Duration max_silence,
                             std::vector<absl::Duration> stale_afters) {
  policy::PolicySet policy;
  policy.grading.max_silence = max_silence;
  for (absl::Duration d : stale_afters) {
    policy.checks.emplace_back().stale_after = d;
  }
  return policy;
}

TEST(HeartbeatIntervalTest, IsAQuarterOfTheShortestStaleAfter) {
  EXPECT_EQ(HeartbeatInterval(
                PolicyWith(absl::Hours(26), {absl::Hours(48), absl::Hours(2)})),
            absl::Minutes(30));
}

TEST(HeartbeatIntervalTest, MaxSilenceCountsToo) {
  EXPECT_EQ(HeartbeatInterval(PolicyWith(absl::Hours(2), {absl::Hours(48)})),
            absl::Minutes(30));
}

TEST(HeartbeatIntervalTest, IsAtMostTheDefault) {
  EXPECT_EQ(HeartbeatInterval(PolicyWith(absl::Hours(26), {absl::Hours(48)})),
            kDefaultHeartbeat);
}

TEST(HeartbeatIntervalTest, IsAtLeastAMinute) {
  EXPECT_EQ(HeartbeatInterval(PolicyWith(absl::Hours(26), {absl::Seconds(10)})),
            absl::Minutes(1));
}

// --- Device key rotation ---

// An agent that delivered snapshot 1 under key_ and can rotate its key.
class KeyRotationTest : public IngestTest {
 protected:
  void SetUp() override {
    IngestTest::SetUp();
    first_ = First();
    Accept(first_);
    next_ = Key();
  }

  static PrivateKey Key() {
    absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
    EXPECT_TRUE(key.ok()) << key.status();
    return *std::move(key);
  }

  // The statement handing this agent's chain at `seq`/`head` from `from`
  // to `to`, signed by `old_signer` and `new_signer`.
  v1::RotateKeyRequest RotationSignedBy(const PrivateKey& from,
                                        const PrivateKey& to,
                                        const PrivateKey& old_signer,
                                        const PrivateKey& new_signer,
                                        uint64_t seq, const std::string& head) {
    KeyRotation statement;
    statement.agent_id = agent_id_;
    statement.old_key_id = from.public_key().KeyId();
    statement.new_key_id = to.public_key().KeyId();
    statement.seq = seq;
    statement.head = head;
    statement.time = absl::FromUnixSeconds(absl::ToUnixSeconds(now_));
    v1::RotateKeyRequest request;
    request.set_statement(FormatKeyRotation(statement));
    const std::string bytes = Pae(kKeyRotationPayloadType, request.statement());
    request.set_old_signature(*old_signer.Sign(bytes));
    request.set_new_signature(*new_signer.Sign(bytes));
    request.set_new_public_key_pem(to.public_key().ToPem());
    return request;
  }

  // A genuine rotation from `from` to `to` at the collector's head.
  v1::RotateKeyRequest Rotation(const PrivateKey& from, const PrivateKey& to) {
    const v1::AgentRecord agent = Agent();
    return RotationSignedBy(from, to, from, to, agent.last_seq(),
                            agent.last_payload_sha256());
  }

  absl::StatusOr<v1::RotateKeyResponse> Rotate(
      const v1::RotateKeyRequest& request) {
    return ingestor_->RotateKey(request, agent_id_, kPeer);
  }

  // Fails the test unless `request` is refused with `code`, leaving the
  // agent's key as it was.
  void ExpectRotationRefused(const v1::RotateKeyRequest& request,
                             absl::StatusCode code) {
    const std::string key_id = Agent().key_id();
    absl::StatusOr<v1::RotateKeyResponse> rotated = Rotate(request);
    EXPECT_EQ(rotated.status().code(), code) << rotated.status();
    EXPECT_EQ(Agent().key_id(), key_id);
  }

  // Snapshot `seq` (after `prev_payload`) signed by `key`, naming the body
  // the first snapshot delivered.
  v1::SubmitRequest SnapshotBy(const PrivateKey& key, uint64_t seq,
                               const std::string& prev_payload) {
    return SignedBy(
        key,
        SnapshotAfter(seq, prev_payload,
                      {ObservationOf("linux.disk", FactsBody("ext4"))}),
        {});
  }

  v1::SubmitRequest first_;
  PrivateKey next_ = Key();
};

TEST_F(KeyRotationTest, NewKeySignsTheChainOnwards) {
  ASSERT_TRUE(Rotate(Rotation(*key_, next_)).ok());

  Accept(SnapshotBy(next_, 2, first_.envelope().payload()));

  const v1::AgentRecord agent = Agent();
  EXPECT_EQ(agent.key_id(), next_.public_key().KeyId());
  EXPECT_EQ(agent.last_seq(), 2u);
  ASSERT_EQ(agent.rotations_size(), 1);
  EXPECT_EQ(agent.rotations(0).old_key_id(), key_->public_key().KeyId());
  EXPECT_EQ(agent.rotations(0).last_seq(), 1u);
  EXPECT_THAT(EventKinds(), ElementsAre("key_rotated"));
}

TEST_F(KeyRotationTest, RotationIsAnsweredWithTheNewKeyId) {
  absl::StatusOr<v1::RotateKeyResponse> rotated =
      Rotate(Rotation(*key_, next_));

  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_EQ(rotated->key_id(), next_.public_key().KeyId());
}

TEST_F(KeyRotationTest, RetiredKeyCannotSignANewSnapshot) {
  ASSERT_TRUE(Rotate(Rotation(*key_, next_)).ok());

  v1::SubmitResponse response =
      Submit(SnapshotBy(*key_, 2, first_.envelope().payload()));

  ExpectRejected(response, absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Agent().last_seq(), 1u);
  EXPECT_THAT(EventKinds(), ElementsAre("key_rotated", "retired_key"));
}

TEST_F(KeyRotationTest, NewKeyCannotSignWhatTheOldKeySigned) {
  ASSERT_TRUE(Rotate(Rotation(*key_, next_)).ok());
  v1::SubmitRequest resigned = SignedBy(
      next_,
      SnapshotAfter(1, "", {ObservationOf("linux.disk", FactsBody("ext4"))}),
      {});

  ExpectRejected(Submit(resigned), absl::StatusCode::kPermissionDenied);
}

TEST_F(KeyRotationTest, SnapshotsOfTheRetiredKeyStayValid) {
  ASSERT_TRUE(Rotate(Rotation(*key_, next_)).ok());

  EXPECT_EQ(Submit(first_).result(), v1::SubmitResponse::DUPLICATE);
}

TEST_F(KeyRotationTest, FlippedOldSignatureIsRefusedAndRecorded) {
  v1::RotateKeyRequest request = Rotation(*key_, next_);
  (*request.mutable_old_signature())[5] ^= 0x20;

  ExpectRotationRefused(request, absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(EventKinds(), ElementsAre("bad_rotation"));
}

TEST_F(KeyRotationTest, FlippedStatementByteIsRefused) {
  v1::RotateKeyRequest request = Rotation(*key_, next_);
  // The last digit of the time: still a well-formed statement.
  std::string& text = *request.mutable_statement();
  text[text.size() - 3] = text[text.size() - 3] == '0' ? '1' : '0';

  ExpectRotationRefused(request, absl::StatusCode::kUnauthenticated);
}

TEST_F(KeyRotationTest, TruncatedSignaturesAreRefused) {
  v1::RotateKeyRequest old_short = Rotation(*key_, next_);
  old_short.mutable_old_signature()->resize(63);
  v1::RotateKeyRequest new_short = Rotation(*key_, next_);
  new_short.mutable_new_signature()->clear();

  ExpectRotationRefused(old_short, absl::StatusCode::kUnauthenticated);
  ExpectRotationRefused(new_short, absl::StatusCode::kUnauthenticated);
}

TEST_F(KeyRotationTest, StatementSignedByAThiefsKeyIsRefused) {
  const PrivateKey thief = Key();
  // Names the agent's key as old, but only the thief signs it.
  const v1::AgentRecord agent = Agent();
  v1::RotateKeyRequest request =
      RotationSignedBy(*key_, next_, thief, next_, agent.last_seq(),
                       agent.last_payload_sha256());

  ExpectRotationRefused(request, absl::StatusCode::kUnauthenticated);
}

TEST_F(KeyRotationTest, StatementRetiringAnotherKeyIsRefused) {
  const PrivateKey thief = Key();

  ExpectRotationRefused(Rotation(thief, next_),
                        absl::StatusCode::kFailedPrecondition);
}

TEST_F(KeyRotationTest, NewKeyWithoutProofOfPossessionIsRefused) {
  const PrivateKey other = Key();
  const v1::AgentRecord agent = Agent();
  v1::RotateKeyRequest request =
      RotationSignedBy(*key_, next_, *key_, other, agent.last_seq(),
                       agent.last_payload_sha256());

  ExpectRotationRefused(request, absl::StatusCode::kUnauthenticated);
}

TEST_F(KeyRotationTest, NewKeyThatIsNotTheStatementsIsRefused) {
  v1::RotateKeyRequest request = Rotation(*key_, next_);
  request.set_new_public_key_pem(Key().public_key().ToPem());

  ExpectRotationRefused(request, absl::StatusCode::kInvalidArgument);
}

TEST_F(KeyRotationTest, SameStatementAgainIsAnsweredTheSame) {
  const v1::RotateKeyRequest request = Rotation(*key_, next_);
  ASSERT_TRUE(Rotate(request).ok());

  absl::StatusOr<v1::RotateKeyResponse> again = Rotate(request);

  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->key_id(), next_.public_key().KeyId());
  EXPECT_EQ(Agent().rotations_size(), 1);
}

TEST_F(KeyRotationTest, ReplayedEarlierRotationIsRefused) {
  const v1::RotateKeyRequest first_rotation = Rotation(*key_, next_);
  ASSERT_TRUE(Rotate(first_rotation).ok());
  v1::SubmitRequest second = SnapshotBy(next_, 2, first_.envelope().payload());
  Accept(second);
  const PrivateKey third = Key();
  ASSERT_TRUE(Rotate(Rotation(next_, third)).ok());

  ExpectRotationRefused(first_rotation, absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Agent().key_id(), third.public_key().KeyId());
  // Each key still answers for its own seqs.
  EXPECT_EQ(Submit(first_).result(), v1::SubmitResponse::DUPLICATE);
  EXPECT_EQ(Submit(second).result(), v1::SubmitResponse::DUPLICATE);
  Accept(SnapshotBy(third, 3, second.envelope().payload()));
}

TEST_F(KeyRotationTest, RotationBehindTheCollectorsHeadIsRefused) {
  // Made at seq 1; the collector holds 2 by the time it arrives.
  const v1::RotateKeyRequest stale = Rotation(*key_, next_);
  Accept(SnapshotBy(*key_, 2, first_.envelope().payload()));

  ExpectRotationRefused(stale, absl::StatusCode::kFailedPrecondition);
}

TEST_F(KeyRotationTest, RotationNamingAnotherHeadDigestIsRefused) {
  v1::RotateKeyRequest request =
      RotationSignedBy(*key_, next_, *key_, next_, 1, Sha256("other chain"));

  ExpectRotationRefused(request, absl::StatusCode::kFailedPrecondition);
}

TEST_F(KeyRotationTest, KeyThatSignedNothingIsNotRotatedAgain) {
  ASSERT_TRUE(Rotate(Rotation(*key_, next_)).ok());

  ExpectRotationRefused(Rotation(next_, Key()),
                        absl::StatusCode::kFailedPrecondition);
}

TEST_F(KeyRotationTest, RetiredKeyIsNeverTakenBack) {
  ASSERT_TRUE(Rotate(Rotation(*key_, next_)).ok());
  Accept(SnapshotBy(next_, 2, first_.envelope().payload()));

  ExpectRotationRefused(Rotation(next_, *key_),
                        absl::StatusCode::kInvalidArgument);
}

TEST_F(KeyRotationTest, AnotherAgentsStatementIsRefusedAndRecorded) {
  absl::StatusOr<v1::RotateKeyResponse> rotated = ingestor_->RotateKey(
      Rotation(*key_, next_), "ffeeddccbbaa99887766554433221100", kPeer);

  EXPECT_EQ(rotated.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Agent().key_id(), key_->public_key().KeyId());
  EXPECT_THAT(EventKinds(), ElementsAre("wrong_agent"));
}

TEST_F(KeyRotationTest, RevokedAgentCannotRotate) {
  ASSERT_TRUE(registry_->Revoke(agent_id_, kPeer).ok());

  ExpectRotationRefused(Rotation(*key_, next_),
                        absl::StatusCode::kPermissionDenied);
}

TEST_F(KeyRotationTest, MalformedStatementIsRefused) {
  v1::RotateKeyRequest truncated = Rotation(*key_, next_);
  truncated.mutable_statement()->resize(truncated.statement().size() - 1);
  v1::RotateKeyRequest oversized = Rotation(*key_, next_);
  oversized.mutable_statement()->append(4096, 'x');

  ExpectRotationRefused(truncated, absl::StatusCode::kInvalidArgument);
  ExpectRotationRefused(oversized, absl::StatusCode::kInvalidArgument);
}

TEST_F(KeyRotationTest, RotationOnAFullDiskIsUnavailableAndChangesNothing) {
  disk_.Fill();
  ExpectRotationRefused(Rotation(*key_, next_), absl::StatusCode::kUnavailable);
  disk_.Free();

  EXPECT_TRUE(Rotate(Rotation(*key_, next_)).ok());
}

}  // namespace
}  // namespace evidentia::collector
