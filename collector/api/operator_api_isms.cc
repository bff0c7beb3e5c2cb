// The operator's calls on the ISMS register and the certification cycle
// (collector/api/operator_api.h).
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "collector/api/operator_api.h"
#include "collector/log/transparency_log.h"
#include "collector/query/queries.h"
#include "collector/store/keys.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/pae.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "isms/cycle.h"
#include "isms/effectiveness.h"
#include "isms/readiness.h"
#include "isms/register.h"
#include "isms/sampling.h"

namespace evidentia::collector {
namespace {

absl::Status NoPolicy() {
  return absl::FailedPreconditionError(
      "the collector runs without a policy set (--policies, --soa)");
}

// The register of the records received by `until`.
absl::StatusOr<isms::Register> RegisterUntil(
    const Store& store, absl::Time until = absl::InfiniteFuture()) {
  ASSIGN_OR_RETURN(std::vector<v1::StoredIsmsRecord> records,
                   IsmsRecords(store, until));
  return IsmsRegister(records);
}

}  // namespace

absl::StatusOr<v1::AddIsmsRecordResponse> OperatorApi::AddIsmsRecord(
    const Caller& caller, const v1::AddIsmsRecordRequest& request) {
  // An auditor records findings, and nothing else.
  if (caller.role != Role::kAuditor ||
      request.payload_type() != isms::kFindingPayloadType) {
    RETURN_IF_ERROR(AuthorizeChange(caller));
  }
  if (grader_ == nullptr) return NoPolicy();
  const std::string kind = isms::KindOfPayloadType(request.payload_type());
  if (kind.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", absl::CHexEscape(request.payload_type().substr(0, 80)),
        "\" is not the payload type of an ISMS record"));
  }
  if (request.document().size() > kMaxDocumentBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("document is ", request.document().size(),
                     " bytes; at most ", kMaxDocumentBytes));
  }
  if (!operator_key_
           .Verify(Pae(request.payload_type(), request.statement()),
                   request.signature())
           .ok()) {
    return absl::UnauthenticatedError(
        "the ISMS record is not signed by the operator key");
  }
  std::string digest;
  if (kind == "document") {
    v1::DocumentStatement document;
    if (!document.ParseFromString(request.statement())) {
      return absl::InvalidArgumentError(
          "the statement is not a DocumentStatement");
    }
    digest = Sha256(request.document());
    if (document.sha256() != digest ||
        document.size() != request.document().size()) {
      return absl::InvalidArgumentError(
          "the document's SHA-256 or size differs from the signed "
          "statement's");
    }
  } else if (!request.document().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a ", kind, " record carries no document"));
  }

  absl::MutexLock lock(&isms_mu_);
  ASSIGN_OR_RETURN(std::vector<v1::StoredIsmsRecord> records,
                   IsmsRecords(store_));
  ASSIGN_OR_RETURN(isms::Register so_far, IsmsRegister(records));
  const absl::Time now = clock_();
  isms::Context context;
  context.policy = &grader_->policy();
  context.so_far = &so_far;
  context.evidence = &grader_->evidence();
  context.at = now;
  RETURN_IF_ERROR(
      isms::ValidateRecord(request.payload_type(), request.statement(), context)
          .status());

  const uint64_t number = so_far.size() + 1;
  v1::StoredIsmsRecord stored;
  stored.set_number(number);
  stored.set_payload_type(request.payload_type());
  stored.set_statement(request.statement());
  stored.set_signature(request.signature());
  stored.set_key_id(operator_key_.KeyId());
  *stored.mutable_received_at() = ToProto(now);
  Batch batch;
  // Another collector process on the same store would be refused by the
  // store's lock; this guards the number all the same.
  batch.Expect(Table::kIsms, keys::IsmsRecord(number), std::nullopt);
  if (!digest.empty()) batch.Put(Table::kObjects, digest, request.document());
  batch.Put(Table::kIsms, keys::IsmsRecord(number), stored.SerializeAsString());
  TransparencyLog::Enqueue(batch, keys::kIsmsLogId, number,
                           Pae(request.payload_type(), request.statement()),
                           request.signature());
  RETURN_IF_ERROR(store_.Commit(batch));
  changes_.fetch_add(1);
  Log(LogLevel::kInfo, absl::StrCat("ISMS record ", number, " (", kind,
                                    ") from ", caller.address));
  v1::AddIsmsRecordResponse response;
  response.set_number(number);
  response.set_statement_sha256(Sha256Hex(request.statement()));
  return response;
}

absl::StatusOr<v1::ListIsmsRecordsResponse> OperatorApi::ListIsmsRecords(
    const Caller& caller, const v1::ListIsmsRecordsRequest&) {
  RETURN_IF_ERROR(Authorize(caller));
  ASSIGN_OR_RETURN(std::vector<v1::StoredIsmsRecord> records,
                   IsmsRecords(store_));
  v1::ListIsmsRecordsResponse response;
  for (v1::StoredIsmsRecord& record : records) {
    *response.add_records() = std::move(record);
  }
  return response;
}

absl::StatusOr<v1::ReadinessReport> OperatorApi::GetReadiness(
    const Caller& caller, const v1::GetReadinessRequest& request) {
  RETURN_IF_ERROR(Authorize(caller));
  if (grader_ == nullptr) return NoPolicy();
  const absl::Time at = request.has_at() ? FromProto(request.at()) : clock_();
  ASSIGN_OR_RETURN(isms::Register isms, RegisterUntil(store_, at));
  return isms::AssessReadiness(grader_->policy(), isms, at);
}

absl::StatusOr<v1::CycleReport> OperatorApi::GetCycle(
    const Caller& caller, const v1::GetCycleRequest& request,
    const v1::GradeControlsResponse* grades) {
  RETURN_IF_ERROR(Authorize(caller));
  if (grader_ == nullptr) return NoPolicy();
  const absl::Time now = clock_();
  const absl::Time at = request.has_at() ? FromProto(request.at()) : now;
  ASSIGN_OR_RETURN(isms::Register isms, RegisterUntil(store_, at));
  // Evidentia's own grade beside each finding: the whole fleet as of the
  // end of the finding's audit. A moment a minute past is settled: nothing
  // received later changes its grades, so they are kept.
  constexpr size_t kPastGrades = 4096;
  const GradeAtFn graded = FleetGrades(*grader_);
  return AssessCycleWithGrades(
      isms, at,
      [&](const std::string& control,
          absl::Time when) -> absl::StatusOr<v1::Grade> {
        if (grades != nullptr && when == at) {
          for (const v1::ControlGrade& row : grades->controls()) {
            if (row.control_id() == control) return row.grade();
          }
        }
        const bool settled = when < now - absl::Minutes(1);
        if (settled) {
          absl::MutexLock lock(&past_mu_);
          auto it = past_grades_.find({control, when});
          if (it != past_grades_.end()) return it->second;
        }
        ASSIGN_OR_RETURN(v1::Grade grade, graded(control, when));
        if (settled) {
          absl::MutexLock lock(&past_mu_);
          if (past_grades_.size() >= kPastGrades) past_grades_.clear();
          past_grades_[{control, when}] = grade;
        }
        return grade;
      });
}

absl::StatusOr<v1::SampleStatement> OperatorApi::DrawSample(
    const Caller& caller, const v1::DrawSampleRequest& request) {
  RETURN_IF_ERROR(Authorize(caller));
  if (grader_ == nullptr) return NoPolicy();
  ASSIGN_OR_RETURN(isms::Register isms, RegisterUntil(store_));
  const isms::AuditEntry* audit = isms.FindAudit(request.audit());
  if (audit == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "no audit \"", absl::CHexEscape(request.audit().substr(0, 80)), "\""));
  }
  if (grader_->policy().FindControl(request.control()) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no control \"", absl::CHexEscape(request.control().substr(0, 80)),
        "\" in Annex A"));
  }
  isms::SampleRequest sample;
  sample.audit = request.audit();
  sample.from = audit->from;
  sample.to = audit->to;
  sample.seed = request.seed();
  sample.control = request.control();
  sample.hosts = request.hosts();
  sample.moments = request.moments();
  return isms::DrawSample(grader_->policy(), grader_->evidence(), sample);
}

absl::StatusOr<v1::ProveActionResponse> OperatorApi::ProveAction(
    const Caller& caller, const v1::ProveActionRequest& request) {
  RETURN_IF_ERROR(Authorize(caller));
  if (grader_ == nullptr) return NoPolicy();
  ASSIGN_OR_RETURN(isms::Register isms, RegisterUntil(store_));
  const isms::FindingEntry* finding = isms.FindFinding(request.finding());
  if (finding == nullptr) {
    return absl::NotFoundError(absl::StrCat("no finding ", request.finding()));
  }
  if (finding->action == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("finding ", request.finding(),
                     " has no corrective action: open one first"));
  }
  v1::ProveActionResponse response;
  if (finding->action_statement.hosts_size() == 0) return response;
  isms::ProofScope scope;
  scope.control = finding->statement.control();
  scope.hosts.assign(finding->action_statement.hosts().begin(),
                     finding->action_statement.hosts().end());
  scope.opened_at = finding->action_at;
  scope.until = clock_();
  absl::StatusOr<std::vector<v1::SnapshotRef>> proof =
      isms::FindProof(grader_->policy(), grader_->evidence(), scope);
  if (!proof.ok()) {
    return absl::Status(
        proof.status().code(),
        absl::StrCat(
            "the corrective action of finding ", request.finding(),
            " is not proven effective yet: ", proof.status().message()));
  }
  for (v1::SnapshotRef& ref : *proof) *response.add_proof() = std::move(ref);
  return response;
}

}  // namespace evidentia::collector
