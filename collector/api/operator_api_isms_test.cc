// The operator API's ISMS register calls over a real policy set (the
// shipped one, with its clause catalogue) and an in-memory store.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "collector/api/operator_api.h"
#include "collector/query/store_evidence.h"
#include "collector/store/keys.h"
#include "collector/store/memory_store.h"
#include "common/limits.h"
#include "common/merkle.h"
#include "common/pae.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "evidentia/v1/cycle.pb.h"
#include "gmock/gmock.h"
#include "grading/policy.h"
#include "gtest/gtest.h"
#include "isms/register.h"

namespace evidentia::collector {
namespace {

using ::testing::HasSubstr;

const std::filesystem::path kPolicies =
    std::filesystem::path(EVIDENTIA_SOURCE_DIR) / "policies";

class OperatorApiIsmsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<PrivateKey> collector_key = PrivateKey::Generate();
    absl::StatusOr<PrivateKey> operator_key = PrivateKey::Generate();
    ASSERT_TRUE(collector_key.ok() && operator_key.ok());
    operator_key_ = *operator_key;
    absl::StatusOr<policy::PolicySet> policy =
        policy::LoadPolicySet(kPolicies, kPolicies / "soa.example.yaml");
    ASSERT_TRUE(policy.ok()) << policy.status();
    policy_ = *std::move(policy);
    evidence_ = std::make_unique<StoreEvidence>(store_);
    grader_ = std::make_unique<Grader>(*policy_, *evidence_);
    absl::StatusOr<std::unique_ptr<FleetState>> fleet = LoadFleetState(store_);
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    fleet_ = *std::move(fleet);
    absl::StatusOr<std::unique_ptr<TransparencyLog>> log =
        TransparencyLog::Open(store_, *collector_key, clock_);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
    api_ = std::make_unique<OperatorApi>(store_, registry_, *fleet_,
                                         grader_.get(), *log_, *collector_key,
                                         operator_key->public_key(), clock_);
  }

  static v1::DocumentStatement Statement(const std::string& file,
                                         const std::string& version) {
    v1::DocumentStatement s;
    s.set_clause("4.3");
    s.set_document("scope");
    s.set_version(version);
    s.set_sha256(Sha256(file));
    s.set_size(file.size());
    s.set_file_name("scope.pdf");
    s.set_approved_by("Jane Doe");
    s.set_approved_on("2026-11-30");
    s.set_review_by("2027-11-30");
    *s.mutable_signed_at() = ToProto(absl::FromUnixSeconds(1'800'000'000));
    return s;
  }

  v1::AddIsmsRecordRequest Request(const v1::DocumentStatement& statement,
                                   const std::string& file,
                                   const PrivateKey& key) {
    v1::AddIsmsRecordRequest request;
    request.set_payload_type(isms::kDocumentPayloadType);
    request.set_statement(statement.SerializeAsString());
    request.set_document(file);
    request.set_signature(
        key.Sign(Pae(request.payload_type(), request.statement()))
            .value_or(""));
    return request;
  }

  v1::AddIsmsRecordRequest Signed(const std::string& file,
                                  const std::string& version = "1") {
    return Request(Statement(file, version), file, *operator_key_);
  }

  size_t StoredRecords() {
    return api_->ListIsmsRecords(operator_, {})->records_size();
  }

  const Caller operator_{Role::kOperator, "operator", "test"};
  const Caller agent_{Role::kAgent, "a1", "test"};
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);  // 2027-01-15
  Clock clock_ = [this] { return now_; };
  MemoryStore store_;
  Registry registry_{store_, clock_};
  std::optional<policy::PolicySet> policy_;
  std::unique_ptr<StoreEvidence> evidence_;
  std::unique_ptr<Grader> grader_;
  std::unique_ptr<FleetState> fleet_;
  std::unique_ptr<TransparencyLog> log_;
  std::optional<PrivateKey> operator_key_;
  std::unique_ptr<OperatorApi> api_;
};

TEST_F(OperatorApiIsmsTest, ARecordIsNumberedStoredAndLogged) {
  absl::StatusOr<v1::AddIsmsRecordResponse> first =
      api_->AddIsmsRecord(operator_, Signed("scope v1"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->number(), 1u);
  now_ += absl::Hours(1);
  absl::StatusOr<v1::AddIsmsRecordResponse> second =
      api_->AddIsmsRecord(operator_, Signed("scope v2", "2"));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->number(), 2u);

  absl::StatusOr<v1::ListIsmsRecordsResponse> list =
      api_->ListIsmsRecords(operator_, {});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->records_size(), 2);
  const v1::StoredIsmsRecord& stored = list->records(1);
  EXPECT_EQ(stored.number(), 2u);
  EXPECT_EQ(stored.key_id(), operator_key_->public_key().KeyId());
  EXPECT_EQ(FromProto(stored.received_at()), now_);
  EXPECT_EQ(Sha256Hex(stored.statement()), second->statement_sha256());
  // The document is stored by its SHA-256.
  EXPECT_EQ(*store_.Get(Table::kObjects, Sha256("scope v2")), "scope v2");

  // Both are leaves of the log: PAE(type, statement) || signature.
  ASSERT_TRUE(log_->Integrate().ok());
  absl::StatusOr<std::optional<uint64_t>> index =
      log_->LeafIndex(keys::kIsmsLogId, 2);
  ASSERT_TRUE(index.ok() && index->has_value());
  absl::StatusOr<std::vector<std::string>> proof =
      log_->InclusionProof(**index, log_->size());
  ASSERT_TRUE(proof.ok());
  EXPECT_TRUE(
      merkle::VerifyInclusion(
          **index, log_->size(),
          merkle::LeafHash(Pae(stored.payload_type(), stored.statement()) +
                           stored.signature()),
          *proof, *log_->Root(log_->size()))
          .ok());
}

TEST_F(OperatorApiIsmsTest, OnlyTheOperatorsKeyAndCallerAreAccepted) {
  absl::StatusOr<PrivateKey> other = PrivateKey::Generate();
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(
      api_->AddIsmsRecord(operator_, Request(Statement("f", "1"), "f", *other))
          .status()
          .code(),
      absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(api_->AddIsmsRecord(agent_, Signed("f")).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(api_->ListIsmsRecords(agent_, {}).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(api_->GetReadiness(agent_, {}).status().code(),
            absl::StatusCode::kPermissionDenied);
  // A signature over another payload type (a manual evidence statement's)
  // does not carry over.
  v1::AddIsmsRecordRequest retyped = Signed("f");
  retyped.set_signature(
      operator_key_
          ->Sign(Pae("application/vnd.evidentia.manual-evidence.v1+protobuf",
                     retyped.statement()))
          .value_or(""));
  EXPECT_EQ(api_->AddIsmsRecord(operator_, retyped).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(StoredRecords(), 0u);
}

TEST_F(OperatorApiIsmsTest, BadRequestsChangeNothing) {
  v1::AddIsmsRecordRequest unknown_type = Signed("f");
  unknown_type.set_payload_type(
      "application/vnd.evidentia.snapshot.v1+protobuf");
  unknown_type.set_signature(
      operator_key_
          ->Sign(Pae(unknown_type.payload_type(), unknown_type.statement()))
          .value_or(""));
  v1::AddIsmsRecordRequest other_file = Signed("the file");
  other_file.set_document("another file");
  v1::AddIsmsRecordRequest garbage = Signed("f");
  garbage.set_statement("\xff\xff\xff");
  garbage.set_signature(
      operator_key_->Sign(Pae(garbage.payload_type(), garbage.statement()))
          .value_or(""));
  v1::DocumentStatement future = Statement("f", "1");
  future.set_approved_on("2027-01-16");  // the day after it was signed
  v1::DocumentStatement unknown_clause = Statement("f", "1");
  unknown_clause.set_clause("11.1");
  v1::AddIsmsRecordRequest too_large =
      Signed(std::string(kMaxDocumentBytes + 1, 'x'));
  for (const auto& [name, request, message] : std::vector<
           std::tuple<std::string, v1::AddIsmsRecordRequest, std::string>>{
           {"unknown type", unknown_type, "not the payload type"},
           {"other file", other_file, "SHA-256 or size differs"},
           {"garbage", garbage, "not a DocumentStatement"},
           {"approved in the future", Request(future, "f", *operator_key_),
            "is after today"},
           {"unknown clause", Request(unknown_clause, "f", *operator_key_),
            "no clause \"11.1\""},
           {"too large", too_large, "at most"},
       }) {
    absl::Status status = api_->AddIsmsRecord(operator_, request).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
        << name << ": " << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(message)) << name;
  }
  EXPECT_EQ(StoredRecords(), 0u);
  EXPECT_EQ(store_.Get(Table::kObjects, Sha256("the file"))->has_value(),
            false);
}

TEST_F(OperatorApiIsmsTest, AVersionIsRegisteredOnlyOnce) {
  ASSERT_TRUE(api_->AddIsmsRecord(operator_, Signed("v1")).ok());
  absl::Status again =
      api_->AddIsmsRecord(operator_, Signed("v1 again")).status();
  EXPECT_EQ(again.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(again.message()), HasSubstr("already registered"));
  EXPECT_EQ(StoredRecords(), 1u);
}

TEST_F(OperatorApiIsmsTest, ReadinessCountsOnlyWhatWasReceivedByThen) {
  const absl::Time before = now_;
  ASSERT_TRUE(api_->AddIsmsRecord(operator_, Signed("scope")).ok());
  auto scope_state = [&](const v1::ReadinessReport& report) {
    for (const v1::ClauseReadiness& c : report.clauses()) {
      for (const v1::DocumentStatus& d : c.documents()) {
        if (d.document() == "scope") return d.state();
      }
    }
    return v1::DOCUMENT_STATE_UNSPECIFIED;
  };
  absl::StatusOr<v1::ReadinessReport> now = api_->GetReadiness(operator_, {});
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_EQ(scope_state(*now), v1::DOCUMENT_PRESENT);
  EXPECT_FALSE(now->ready());  // fifteen more required documents
  v1::GetReadinessRequest earlier;
  *earlier.mutable_at() = ToProto(before - absl::Seconds(1));
  absl::StatusOr<v1::ReadinessReport> then =
      api_->GetReadiness(operator_, earlier);
  ASSERT_TRUE(then.ok()) << then.status();
  EXPECT_EQ(scope_state(*then), v1::DOCUMENT_MISSING);
}

// The records of the certification cycle go through the same call: signed,
// validated against the register and the fleet, numbered and logged; what
// they add up to comes back from GetCycle.
TEST_F(OperatorApiIsmsTest, CycleRecordsAreValidatedNumberedAndReported) {
  auto add = [&](const char* type, const google::protobuf::Message& m,
                 const std::string& document = "") {
    v1::AddIsmsRecordRequest request;
    request.set_payload_type(type);
    request.set_statement(m.SerializeAsString());
    request.set_document(document);
    request.set_signature(
        operator_key_->Sign(Pae(request.payload_type(), request.statement()))
            .value_or(""));
    return api_->AddIsmsRecord(operator_, request);
  };
  v1::AuditStatement audit;
  audit.set_audit("stage1-2027-01-15");
  audit.set_kind(v1::AUDIT_STAGE1);
  audit.set_body("Cert Body Ltd");
  audit.set_lead_auditor("A. Auditor");
  audit.set_from("2027-01-15");
  audit.set_to("2027-01-15");
  *audit.mutable_signed_at() = ToProto(now_);
  absl::Status with_file =
      add(isms::kAuditPayloadType, audit, "a file").status();
  EXPECT_THAT(std::string(with_file.message()),
              HasSubstr("carries no document"));
  absl::StatusOr<v1::AddIsmsRecordResponse> opened =
      add(isms::kAuditPayloadType, audit);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->number(), 1u);

  v1::FindingStatement finding;
  finding.set_audit(audit.audit());
  finding.set_control("a.5.1");
  finding.set_grade(v1::GRADE_MINOR_NONCONFORMITY);
  finding.set_statement("The policy is not approved");
  finding.set_recorded_by("A. Auditor");
  *finding.mutable_signed_at() = ToProto(now_);
  ASSERT_TRUE(add(isms::kFindingPayloadType, finding).ok());

  v1::ActionStatement action;
  action.set_finding(2);
  action.set_action("Approve it");
  action.set_root_cause("No board meeting");
  action.set_owner("CEO");
  action.set_due_on("2027-02-15");
  action.add_hosts("0123456789abcdef");
  *action.mutable_signed_at() = ToProto(now_);
  absl::Status host = add(isms::kActionPayloadType, action).status();
  EXPECT_EQ(host.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(host.message()), HasSubstr("no host evidence"));
  EXPECT_EQ(api_->ProveAction(operator_,
                              [] {
                                v1::ProveActionRequest r;
                                r.set_finding(2);
                                return r;
                              }())
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(api_->ProveAction(operator_, {}).status().code(),
            absl::StatusCode::kNotFound);
  v1::DrawSampleRequest sample;
  sample.set_audit("stage9-2027-01-15");
  EXPECT_EQ(api_->DrawSample(operator_, sample).status().code(),
            absl::StatusCode::kNotFound);
  sample.set_audit(audit.audit());
  sample.set_control("a.8.24");
  sample.set_seed("seed of the auditor");
  sample.set_hosts(1);
  sample.set_moments(1);
  absl::StatusOr<v1::SampleStatement> drawn =
      api_->DrawSample(operator_, sample);
  ASSERT_TRUE(drawn.ok()) << drawn.status();
  EXPECT_EQ(drawn->population_size(), 0);  // no agent enrolled

  absl::StatusOr<v1::CycleReport> cycle = api_->GetCycle(operator_, {});
  ASSERT_TRUE(cycle.ok()) << cycle.status();
  ASSERT_EQ(cycle->audits_size(), 1);
  ASSERT_EQ(cycle->findings_size(), 1);
  EXPECT_EQ(cycle->findings(0).state(), v1::FINDING_OPEN);
  // Evidentia's own grade beside the auditor's: a.5.1 has no evidence.
  EXPECT_EQ(cycle->findings(0).computed_grade(), v1::GRADE_MAJOR_NONCONFORMITY);
  EXPECT_THAT(cycle->status(), HasSubstr("in progress"));
  v1::GetCycleRequest before;
  *before.mutable_at() = ToProto(now_ - absl::Seconds(1));
  EXPECT_EQ(api_->GetCycle(operator_, before)->audits_size(), 0);
  EXPECT_EQ(StoredRecords(), 2u);
}

}  // namespace
}  // namespace evidentia::collector
