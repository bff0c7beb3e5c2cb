// The operator's calls on the ISMS register (collector/api/operator_api.h).
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "collector/api/operator_api.h"
#include "collector/log/transparency_log.h"
#include "collector/store/keys.h"
#include "collector/store/records.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/pae.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "isms/readiness.h"
#include "isms/register.h"

namespace evidentia::collector {
namespace {

// Every stored record received by `until`, in number order.
absl::StatusOr<std::vector<v1::StoredIsmsRecord>> StoredRecords(
    const Store& store, absl::Time until = absl::InfiniteFuture()) {
  ASSIGN_OR_RETURN(std::vector<v1::StoredIsmsRecord> records,
                   ScanRecords<v1::StoredIsmsRecord>(store, Table::kIsms, "",
                                                     "ISMS record"));
  while (!records.empty() && FromProto(records.back().received_at()) > until) {
    records.pop_back();
  }
  return records;
}

absl::StatusOr<isms::Register> RegisterOf(
    const std::vector<v1::StoredIsmsRecord>& records) {
  isms::Register out;
  for (const v1::StoredIsmsRecord& record : records) {
    RETURN_IF_ERROR(out.Add(record));
  }
  return out;
}

}  // namespace

absl::StatusOr<v1::AddIsmsRecordResponse> OperatorApi::AddIsmsRecord(
    const Caller& caller, const v1::AddIsmsRecordRequest& request) {
  RETURN_IF_ERROR(Authorize(caller));
  if (grader_ == nullptr) {
    return absl::FailedPreconditionError(
        "the collector runs without a policy set (--policies, --soa)");
  }
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
  v1::DocumentStatement document;
  if (!document.ParseFromString(request.statement())) {
    return absl::InvalidArgumentError(
        "the statement is not a "
        "DocumentStatement");
  }
  const std::string digest = Sha256(request.document());
  if (document.sha256() != digest ||
      document.size() != request.document().size()) {
    return absl::InvalidArgumentError(
        "the document's SHA-256 or size differs from the signed statement's");
  }

  absl::MutexLock lock(&isms_mu_);
  ASSIGN_OR_RETURN(std::vector<v1::StoredIsmsRecord> records,
                   StoredRecords(store_));
  ASSIGN_OR_RETURN(isms::Register so_far, RegisterOf(records));
  RETURN_IF_ERROR(isms::ValidateDocument(document, grader_->policy(), so_far));

  const uint64_t number = so_far.size() + 1;
  v1::StoredIsmsRecord stored;
  stored.set_number(number);
  stored.set_payload_type(request.payload_type());
  stored.set_statement(request.statement());
  stored.set_signature(request.signature());
  stored.set_key_id(operator_key_.KeyId());
  *stored.mutable_received_at() = ToProto(clock_());
  Batch batch;
  // Another collector process on the same store would be refused by the
  // store's lock; this guards the number all the same.
  batch.Expect(Table::kIsms, keys::IsmsRecord(number), std::nullopt);
  batch.Put(Table::kObjects, digest, request.document());
  batch.Put(Table::kIsms, keys::IsmsRecord(number), stored.SerializeAsString());
  TransparencyLog::Enqueue(batch, keys::kIsmsLogId, number,
                           Pae(request.payload_type(), request.statement()),
                           request.signature());
  RETURN_IF_ERROR(store_.Commit(batch));
  Log(LogLevel::kInfo,
      absl::StrCat("ISMS record ", number, " (", kind, " ", document.clause(),
                   " ", document.document(), " version ",
                   absl::CHexEscape(document.version()), ") from ",
                   caller.address));
  v1::AddIsmsRecordResponse response;
  response.set_number(number);
  response.set_statement_sha256(Sha256Hex(request.statement()));
  return response;
}

absl::StatusOr<v1::ListIsmsRecordsResponse> OperatorApi::ListIsmsRecords(
    const Caller& caller, const v1::ListIsmsRecordsRequest&) {
  RETURN_IF_ERROR(Authorize(caller));
  ASSIGN_OR_RETURN(std::vector<v1::StoredIsmsRecord> records,
                   StoredRecords(store_));
  v1::ListIsmsRecordsResponse response;
  for (v1::StoredIsmsRecord& record : records) {
    *response.add_records() = std::move(record);
  }
  return response;
}

absl::StatusOr<v1::ReadinessReport> OperatorApi::GetReadiness(
    const Caller& caller, const v1::GetReadinessRequest& request) {
  RETURN_IF_ERROR(Authorize(caller));
  if (grader_ == nullptr) {
    return absl::FailedPreconditionError(
        "the collector runs without a policy set (--policies, --soa)");
  }
  const absl::Time at = request.has_at() ? FromProto(request.at()) : clock_();
  ASSIGN_OR_RETURN(std::vector<v1::StoredIsmsRecord> records,
                   StoredRecords(store_, at));
  ASSIGN_OR_RETURN(isms::Register isms, RegisterOf(records));
  return isms::AssessReadiness(grader_->policy(), isms, at);
}

}  // namespace evidentia::collector
