// ISMS records as a bundle or the store hands them over: the input is a
// serialized StoredIsmsRecord (payload type, statement, number), added to a
// register and validated against the shipped policies, then assessed for
// readiness and for the cycle; and validated again as the next record of a
// register holding an open Stage 1 audit with a finding and its action, so
// every kind of the cycle reaches its checks. Nothing may crash; a record
// the register takes must be a known kind, and a statement that validates
// must name a clause of the catalogue.
#include <filesystem>
#include <string>

#include "absl/time/time.h"
#include "common/proto_time.h"
#include "evidentia/v1/cycle.pb.h"
#include "evidentia/v1/isms.pb.h"
#include "grading/evidence.h"
#include "grading/policy.h"
#include "isms/cycle.h"
#include "isms/readiness.h"
#include "isms/register.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

const evidentia::policy::PolicySet& Shipped() {
  static const evidentia::policy::PolicySet* set = [] {
    const std::filesystem::path dir =
        std::filesystem::path(EVIDENTIA_SOURCE_DIR) / "policies";
    absl::StatusOr<evidentia::policy::PolicySet> loaded =
        evidentia::policy::LoadPolicySet(dir, dir / "soa.example.yaml");
    evidentia::fuzz::Require(loaded.ok(), "loading the shipped policies");
    return new evidentia::policy::PolicySet(*std::move(loaded));
  }();
  return *set;
}

const absl::Time kAt = absl::FromUnixSeconds(1800000000);  // 2027-01-15

// An open Stage 1 audit (record 1), a minor finding on clause 6.1.2
// (record 2) and its corrective action (record 3).
const evidentia::isms::Register& Cycle() {
  static const evidentia::isms::Register* r = [] {
    namespace v1 = evidentia::v1;
    auto* out = new evidentia::isms::Register;
    auto add = [&](const char* type, const google::protobuf::Message& m) {
      v1::StoredIsmsRecord record;
      record.set_number(out->size() + 1);
      record.set_payload_type(type);
      record.set_statement(m.SerializeAsString());
      *record.mutable_received_at() = evidentia::ToProto(kAt);
      evidentia::fuzz::Require(out->Add(record).ok(), "the seed register");
    };
    v1::AuditStatement audit;
    audit.set_audit("stage1-2027-01-15");
    audit.set_kind(v1::AUDIT_STAGE1);
    audit.set_from("2027-01-15");
    audit.set_to("2027-01-15");
    add(evidentia::isms::kAuditPayloadType, audit);
    v1::FindingStatement finding;
    finding.set_audit("stage1-2027-01-15");
    finding.set_clause("6.1.2");
    finding.set_grade(v1::GRADE_MINOR_NONCONFORMITY);
    add(evidentia::isms::kFindingPayloadType, finding);
    v1::ActionStatement action;
    action.set_finding(2);
    add(evidentia::isms::kActionPayloadType, action);
    return out;
  }();
  return *r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using evidentia::fuzz::Require;
  namespace isms = evidentia::isms;
  evidentia::v1::StoredIsmsRecord record;
  if (!record.ParseFromArray(data, static_cast<int>(size))) return 0;
  isms::Register so_far;
  const bool added = so_far.Add(record).ok();
  if (added) {
    Require(!isms::KindOfPayloadType(record.payload_type()).empty(),
            "the register takes known kinds only");
  }
  evidentia::v1::DocumentStatement statement;
  if (statement.ParseFromString(record.statement()) &&
      isms::ValidateDocument(statement, Shipped(), isms::Register()).ok()) {
    Require(Shipped().FindClause(statement.clause()) != nullptr,
            "a valid document names a clause of the catalogue");
    Require(statement.sha256().size() == 32, "a valid document has a digest");
  }
  const evidentia::collector::MemoryEvidence evidence;
  const isms::Register* const registers[] = {&so_far, &Cycle()};
  for (const isms::Register* before : registers) {
    isms::Context context;
    context.policy = &Shipped();
    context.so_far = before;
    context.evidence = &evidence;
    context.at = kAt;
    if (isms::ValidateRecord(record.payload_type(), record.statement(), context)
            .ok()) {
      Require(!isms::KindOfPayloadType(record.payload_type()).empty(),
              "a valid record is of a known kind");
    }
  }
  const evidentia::v1::CycleReport cycle =
      isms::AssessCycle(so_far, kAt, [](const std::string&, absl::Time) {
        return evidentia::v1::GRADE_COMPLIANT;
      });
  Require(cycle.audits_size() == static_cast<int>(so_far.audits().size()),
          "one row per audit");
  const evidentia::v1::ReadinessReport report =
      isms::AssessReadiness(Shipped(), so_far, kAt);
  Require(report.clauses_size() == static_cast<int>(Shipped().clauses.size()),
          "one readiness row per clause");
  return 0;
}
