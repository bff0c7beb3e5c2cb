// The operator's calls without any transport: authorisation on the Caller,
// and what each call answers, over an in-memory store.
#include "collector/api/operator_api.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "collector/query/store_evidence.h"
#include "collector/store/keys.h"
#include "collector/store/memory_store.h"
#include "common/envelope.h"
#include "common/pae.h"
#include "common/sha256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isms/register.h"
#include "tests/support/store_rows.h"

namespace evidentia::collector {
namespace {

using ::testing::HasSubstr;

class NullSink : public BundleSink {
 public:
  absl::Status Add(absl::string_view, absl::string_view) override {
    ++files;
    return absl::OkStatus();
  }
  int files = 0;
};

class OperatorApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<PrivateKey> collector_key = PrivateKey::Generate();
    absl::StatusOr<PrivateKey> operator_key = PrivateKey::Generate();
    ASSERT_TRUE(collector_key.ok() && operator_key.ok());
    operator_key_ = *operator_key;
    absl::StatusOr<std::unique_ptr<FleetState>> fleet = LoadFleetState(store_);
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    fleet_ = *std::move(fleet);
    absl::StatusOr<std::unique_ptr<TransparencyLog>> log =
        TransparencyLog::Open(store_, *collector_key, clock_);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
    api_ = std::make_unique<OperatorApi>(
        store_, registry_, *fleet_, /*grader=*/nullptr, *log_, *collector_key,
        operator_key->public_key(), clock_);
  }

  // A signed manual evidence request for `document`.
  v1::AddManualEvidenceRequest ManualEvidence(const std::string& document,
                                              const PrivateKey& key) {
    v1::ManualEvidenceStatement statement;
    statement.set_control_id("a.5.1");
    statement.set_document_sha256(Sha256(document));
    v1::AddManualEvidenceRequest request;
    request.set_statement(statement.SerializeAsString());
    request.set_document(document);
    absl::StatusOr<std::string> signature =
        key.Sign(Pae(kManualEvidencePayloadType, request.statement()));
    EXPECT_TRUE(signature.ok());
    request.set_signature(signature.value_or(""));
    return request;
  }

  const Caller operator_{Role::kOperator, "operator", "test"};
  const Caller agent_{Role::kAgent, "a1", "test"};
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  Clock clock_ = [this] { return now_; };
  MemoryStore store_;
  Registry registry_{store_, clock_};
  std::unique_ptr<FleetState> fleet_;
  std::unique_ptr<TransparencyLog> log_;
  std::optional<PrivateKey> operator_key_;
  std::unique_ptr<OperatorApi> api_;
};

TEST_F(OperatorApiTest, EveryCallRefusesAnAgent) {
  NullSink sink;
  v1::ExportRequest period;
  period.mutable_from()->set_seconds(1);
  period.mutable_to()->set_seconds(2);
  const std::vector<std::pair<std::string, std::function<absl::Status()>>>
      calls = {
          {"RevokeAgent",
           [&] { return api_->RevokeAgent(agent_, {}).status(); }},
          {"CreateToken",
           [&] { return api_->CreateToken(agent_, {}).status(); }},
          {"ListAgents", [&] { return api_->ListAgents(agent_, {}).status(); }},
          {"GetEvidence",
           [&] { return api_->GetEvidence(agent_, {}).status(); }},
          {"ListEvents", [&] { return api_->ListEvents(agent_, {}).status(); }},
          {"GradeControls",
           [&] { return api_->GradeControls(agent_, {}).status(); }},
          {"GetControl", [&] { return api_->GetControl(agent_, {}).status(); }},
          {"GetHost", [&] { return api_->GetHost(agent_, {}).status(); }},
          {"GetHistory", [&] { return api_->GetHistory(agent_, {}).status(); }},
          {"AddManualEvidence",
           [&] {
             return api_
                 ->AddManualEvidence(agent_,
                                     ManualEvidence("doc", *operator_key_))
                 .status();
           }},
          {"AddIsmsRecord",
           [&] { return api_->AddIsmsRecord(agent_, {}).status(); }},
          {"ListIsmsRecords",
           [&] { return api_->ListIsmsRecords(agent_, {}).status(); }},
          {"GetReadiness",
           [&] { return api_->GetReadiness(agent_, {}).status(); }},
          {"GetCycle", [&] { return api_->GetCycle(agent_, {}).status(); }},
          {"DrawSample", [&] { return api_->DrawSample(agent_, {}).status(); }},
          {"ProveAction",
           [&] { return api_->ProveAction(agent_, {}).status(); }},
          {"Export",
           [&] { return api_->Export(agent_, period, sink).status(); }},
          {"GetCheckpoint",
           [&] { return api_->GetCheckpoint(agent_, {}).status(); }},
          {"ProveInclusion",
           [&] { return api_->ProveInclusion(agent_, {}).status(); }},
          {"ProveConsistency",
           [&] { return api_->ProveConsistency(agent_, {}).status(); }},
          {"AddUser", [&] { return api_->AddUser(agent_, {}).status(); }},
      };
  ASSERT_EQ(calls.size(),
            static_cast<size_t>(v1::ExportRequest::descriptor()
                                    ->file()
                                    ->FindServiceByName("Operator")
                                    ->method_count()));

  for (const auto& [name, call] : calls) {
    absl::Status status = call();
    EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied)
        << name << ": " << status;
  }
  EXPECT_EQ(sink.files, 0);
  EXPECT_TRUE(api_->ListAgents(operator_, {})->agents().empty());
  EXPECT_TRUE(api_->ListEvents(operator_, {}).ok());
}

// The dashboard calls as a reader (a viewer) or an auditor: both read,
// neither changes anything, but an auditor records findings.
TEST_F(OperatorApiTest, ReadersAndAuditorsReadButChangeNothing) {
  const Caller reader{Role::kReader, "web:victor", "test"};
  const Caller auditor{Role::kAuditor, "web:audrey", "test"};
  v1::AddIsmsRecordRequest document;
  document.set_payload_type(isms::kDocumentPayloadType);
  v1::AddIsmsRecordRequest finding;
  finding.set_payload_type(isms::kFindingPayloadType);
  for (const Caller* caller : {&reader, &auditor}) {
    const std::string who = caller->id;
    EXPECT_TRUE(api_->ListAgents(*caller, {}).ok()) << who;
    EXPECT_TRUE(api_->ListIsmsRecords(*caller, {}).ok()) << who;
    EXPECT_TRUE(api_->GetCheckpoint(*caller, {}).ok()) << who;
    const std::vector<std::pair<std::string, absl::Status>> changes = {
        {"RevokeAgent", api_->RevokeAgent(*caller, {}).status()},
        {"CreateToken", api_->CreateToken(*caller, {}).status()},
        {"AddManualEvidence",
         api_->AddManualEvidence(*caller, ManualEvidence("doc", *operator_key_))
             .status()},
        {"AddIsmsRecord (a document)",
         api_->AddIsmsRecord(*caller, document).status()},
        {"AddUser", api_->AddUser(*caller, {}).status()},
    };
    for (const auto& [name, status] : changes) {
      EXPECT_TRUE(absl::IsPermissionDenied(status))
          << name << " as " << who << ": " << status;
    }
  }
  EXPECT_TRUE(api_->ListEvents(reader, {}).ok());
  EXPECT_TRUE(absl::IsPermissionDenied(api_->ListEvents(auditor, {}).status()));
  // A finding passes the role check (and then fails on its own: unsigned).
  EXPECT_FALSE(
      absl::IsPermissionDenied(api_->AddIsmsRecord(auditor, finding).status()));
  EXPECT_TRUE(
      absl::IsPermissionDenied(api_->AddIsmsRecord(reader, finding).status()));
  EXPECT_TRUE(api_->ListIsmsRecords(operator_, {})->records().empty());
}

TEST_F(OperatorApiTest, OperatorCreatesATokenThatEnrols) {
  v1::CreateTokenRequest request;
  request.set_ttl_seconds(3600);
  request.set_uses(1);

  absl::StatusOr<v1::CreateTokenResponse> token =
      api_->CreateToken(operator_, request);

  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_THAT(token->token(), ::testing::StartsWith("evt1_"));
}

TEST_F(OperatorApiTest, RevokingAnUnknownAgentIsNotFound) {
  v1::RevokeAgentRequest request;
  request.set_agent_id("nobody");

  EXPECT_EQ(api_->RevokeAgent(operator_, request).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(OperatorApiTest, GradingWithoutAPolicySetIsAFailedPrecondition) {
  absl::StatusOr<v1::GradeControlsResponse> graded =
      api_->GradeControls(operator_, {});

  EXPECT_EQ(graded.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(graded.status().message(), HasSubstr("--policies"));
  EXPECT_EQ(api_->GetHistory(operator_, {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(OperatorApiTest, ManualEvidenceIsStoredOnlyUnderTheOperatorKey) {
  absl::StatusOr<PrivateKey> other = PrivateKey::Generate();
  ASSERT_TRUE(other.ok());

  absl::StatusOr<v1::AddManualEvidenceResponse> forged =
      api_->AddManualEvidence(operator_, ManualEvidence("forged", *other));
  absl::StatusOr<v1::AddManualEvidenceResponse> signed_ =
      api_->AddManualEvidence(operator_,
                              ManualEvidence("restore test", *operator_key_));

  EXPECT_EQ(forged.status().code(), absl::StatusCode::kUnauthenticated);
  ASSERT_TRUE(signed_.ok()) << signed_.status();
  EXPECT_EQ(signed_->document_sha256(), ToHex(Sha256("restore test")));
  EXPECT_EQ(testing::ScanAll(store_, Table::kManual, "").size(), 1u);
}

TEST_F(OperatorApiTest, CheckpointOfTheEmptyLogIsSignedOnRequest) {
  v1::GetCheckpointRequest request;
  request.set_sign_now(true);

  absl::StatusOr<v1::GetCheckpointResponse> checkpoint =
      api_->GetCheckpoint(operator_, request);

  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_FALSE(checkpoint->signature().empty());
  EXPECT_THAT(checkpoint->checkpoint(), HasSubstr("\nsize 0\n"));
}

// The dashboard's snapshot page checks each signature again, against the
// agent's current key or one it rotated from; every other signer, and any
// changed byte, is reported as not verifying.
TEST_F(OperatorApiTest, ASnapshotsSignatureIsCheckedAgainstTheAgentsKeys) {
  absl::StatusOr<PrivateKey> old_key = PrivateKey::Generate();
  absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
  absl::StatusOr<PrivateKey> stranger = PrivateKey::Generate();
  ASSERT_TRUE(old_key.ok() && key.ok() && stranger.ok());
  v1::AgentRecord agent;
  agent.set_agent_id("a1");
  agent.set_key_id(key->public_key().KeyId());
  agent.set_public_key_pem(key->public_key().ToPem());
  agent.set_last_seq(4);
  v1::KeyRotationRecord* rotation = agent.add_rotations();
  rotation->set_old_key_id(old_key->public_key().KeyId());
  rotation->set_old_public_key_pem(old_key->public_key().ToPem());
  Batch batch;
  batch.Put(Table::kAgents, "a1", agent.SerializeAsString());
  auto put = [&](uint64_t seq, const PrivateKey& signer, bool tamper) {
    v1::Snapshot payload;
    payload.set_agent_id("a1");
    payload.set_seq(seq);
    absl::StatusOr<v1::SignedSnapshot> envelope =
        SignPayload(signer, payload.SerializeAsString());
    ASSERT_TRUE(envelope.ok()) << envelope.status();
    if (tamper) (*envelope->mutable_signature())[0] ^= 1;
    v1::StoredSnapshot stored;
    *stored.mutable_envelope() = *envelope;
    *stored.mutable_received_at() = ToProto(now_);
    batch.Put(Table::kSnapshots, keys::Snapshot("a1", seq),
              stored.SerializeAsString());
  };
  put(1, *old_key, false);
  put(2, *key, false);
  put(3, *stranger, false);
  put(4, *key, true);
  ASSERT_TRUE(store_.Commit(batch).ok());

  auto signature = [&](uint64_t seq) {
    absl::StatusOr<SnapshotView> view = api_->GetSnapshot(operator_, "a1", seq);
    EXPECT_TRUE(view.ok()) << view.status();
    return view.ok() ? view->signature : absl::UnknownError("no view");
  };
  EXPECT_TRUE(signature(1).ok()) << signature(1);
  EXPECT_TRUE(signature(2).ok()) << signature(2);
  EXPECT_THAT(signature(3).message(), HasSubstr("not one of this agent's"));
  EXPECT_TRUE(absl::IsUnauthenticated(signature(4))) << signature(4);

  absl::StatusOr<SnapshotView> view = api_->GetSnapshot(operator_, "a1", 2);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->payload.seq(), 2u);
  EXPECT_EQ(view->last_seq, 4u);
  EXPECT_FALSE(view->log_index.has_value());
  EXPECT_TRUE(absl::IsNotFound(api_->GetSnapshot(operator_, "a1", 5).status()));
  EXPECT_TRUE(absl::IsNotFound(api_->GetSnapshot(operator_, "b2", 1).status()));
  EXPECT_TRUE(
      absl::IsPermissionDenied(api_->GetSnapshot(agent_, "a1", 2).status()));
}

}  // namespace
}  // namespace evidentia::collector
