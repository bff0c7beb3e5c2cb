// The ISMS register: the signed records of the documented information
// (and, later, of audits) as the collector accepted them, folded into what
// they say now. Records are statements the operator signs (a DSSE payload
// type per kind, PAE and Ed25519 as for snapshots); proto/README.md, "ISMS
// records", is the format. Pure: no store, no clock; the collector and the
// bundle verifier build the same Register from the same records.
#ifndef EVIDENTIA_ISMS_REGISTER_H_
#define EVIDENTIA_ISMS_REGISTER_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "evidentia/v1/cycle.pb.h"
#include "evidentia/v1/isms.pb.h"
#include "grading/evidence.h"
#include "grading/policy.h"

namespace evidentia::isms {

// The payload type of each kind of record: always
// "application/vnd.evidentia.isms-" KIND ".v1+protobuf", where KIND is how
// bundles name its files.
inline constexpr char kDocumentPayloadType[] =
    "application/vnd.evidentia.isms-document.v1+protobuf";
inline constexpr char kAuditPayloadType[] =
    "application/vnd.evidentia.isms-audit.v1+protobuf";
inline constexpr char kAuditClosurePayloadType[] =
    "application/vnd.evidentia.isms-audit-close.v1+protobuf";
inline constexpr char kDecisionPayloadType[] =
    "application/vnd.evidentia.isms-decision.v1+protobuf";
inline constexpr char kFindingPayloadType[] =
    "application/vnd.evidentia.isms-finding.v1+protobuf";
inline constexpr char kActionPayloadType[] =
    "application/vnd.evidentia.isms-action.v1+protobuf";
inline constexpr char kActionClosurePayloadType[] =
    "application/vnd.evidentia.isms-action-close.v1+protobuf";
inline constexpr char kSamplePayloadType[] =
    "application/vnd.evidentia.isms-sample.v1+protobuf";

// The kind of a record as bundles name its files ("document", "audit",
// "audit-close", "decision", "finding", "action", "action-close",
// "sample"), from its payload type; "" for a type that is not an ISMS
// record's.
std::string KindOfPayloadType(absl::string_view payload_type);

// A calendar date written YYYY-MM-DD (four-digit year from 1970, a real
// month and day). INVALID_ARGUMENT naming `what` otherwise.
absl::StatusOr<absl::CivilDay> ParseDay(absl::string_view text,
                                        absl::string_view what);

// The day `moment` falls on, in UTC.
absl::CivilDay DayOf(absl::Time moment);

// One registered version of a document.
struct DocumentVersion {
  uint64_t record = 0;  // its record number
  absl::Time received_at;
  v1::DocumentStatement statement;
};

// A document's key: clause and document id.
using DocumentKey = std::pair<std::string, std::string>;

// An audit, its closure and the certification decision after it.
struct AuditEntry {
  uint64_t record = 0;  // the opening record
  absl::Time received_at;
  v1::AuditStatement statement;
  absl::CivilDay from, to;
  uint64_t closed = 0;  // the closure's record, 0 while open
  absl::Time closed_at;
  v1::AuditClosureStatement closure;
  uint64_t decided = 0;  // the decision's record, 0 when none
  absl::Time decided_at;
  v1::DecisionStatement decision;
  std::vector<uint64_t> findings;  // record numbers, in order
  std::vector<uint64_t> samples;
};

// A finding and its corrective action, as far as it has gone.
struct FindingEntry {
  uint64_t record = 0;
  absl::Time received_at;
  v1::FindingStatement statement;
  uint64_t action = 0;  // 0: none opened
  absl::Time action_at;
  v1::ActionStatement action_statement;
  uint64_t closure = 0;  // 0: not closed
  absl::Time closed_at;
  v1::ActionClosureStatement closure_statement;

  // A nonconformity or an opportunity for improvement whose action is not
  // closed (a compliant finding is closed as recorded).
  bool open() const;
  // A minor or major nonconformity that is open.
  bool open_nonconformity() const;
};

struct SampleEntry {
  uint64_t record = 0;
  absl::Time received_at;
  v1::SampleStatement statement;
};

class Register {
 public:
  // Adds the next record (numbers ascending, from 1, without gaps).
  // DATA_LOSS when its number is out of order, its payload type is not an
  // ISMS record's, or its statement does not parse: stored records were
  // validated when accepted, so any of these is corruption. Signatures are
  // the caller's to check (the collector checked them on arrival, the
  // verifier checks the bundle's).
  absl::Status Add(const v1::StoredIsmsRecord& record);

  uint64_t size() const { return size_; }

  // Every version of every document, oldest first, by key.
  const std::map<DocumentKey, std::vector<DocumentVersion>>& documents() const {
    return documents_;
  }
  // The versions of one document, oldest first; null when none.
  const std::vector<DocumentVersion>* Versions(const DocumentKey& key) const;

  // The kind of record `number` ("document", ...); "" when there is none.
  std::string KindOf(uint64_t number) const;

  // Audits in the order opened.
  const std::vector<AuditEntry>& audits() const { return audits_; }
  const AuditEntry* FindAudit(absl::string_view id) const;
  // Findings by record number.
  const std::map<uint64_t, FindingEntry>& findings() const { return findings_; }
  const FindingEntry* FindFinding(uint64_t number) const;
  const std::vector<SampleEntry>& samples() const { return samples_; }

 private:
  absl::Status AddCycleRecord(const v1::StoredIsmsRecord& record,
                              absl::Time received_at);
  AuditEntry* MutableAudit(absl::string_view id);

  uint64_t size_ = 0;
  std::vector<std::string> kinds_;  // [number - 1]
  std::map<DocumentKey, std::vector<DocumentVersion>> documents_;
  std::vector<AuditEntry> audits_;
  std::map<uint64_t, FindingEntry> findings_;
  std::vector<SampleEntry> samples_;
};

// What a record of the cycle is checked against besides the register.
struct Context {
  const policy::PolicySet* policy = nullptr;  // the collector's policy set
  const Register* so_far = nullptr;           // the records before it
  // The fleet's evidence: the collector's store, or a bundle's files.
  const collector::Evidence* evidence = nullptr;
  absl::Time at;  // when the record is received
  // Evidence is there to check against from this moment on: a bundle holds
  // its period's snapshots only. A sample of an earlier period, or a proof
  // of effectiveness of an action opened earlier, is then not recomputed.
  absl::Time evidence_from = absl::InfinitePast();
};

// How a record was checked.
enum class Checked {
  kAgainstRecords,  // against the policies and the records: all it claims
  kRecomputed,      // its proof or sample recomputed from the evidence too
  // Everything but its proof or sample, whose evidence lies before
  // Context::evidence_from.
  kNotRecomputed,
};

// Whether the statement of `payload_type` may be accepted as the next
// record in `context`. INVALID_ARGUMENT with a sentence for a person for
// every rule of proto/README.md, "ISMS records", it breaks (an unknown
// control, clause, audit, finding or host; dates out of order; a finding
// on a closed audit; closing an action without evidence or with a proof
// that does not hold; a sample that is not what its seed gives);
// FAILED_PRECONDITION when the policies cannot judge it (no clause
// catalogue for a document).
absl::StatusOr<Checked> ValidateRecord(absl::string_view payload_type,
                                       absl::string_view statement,
                                       const Context& context);

// Whether `statement` may be accepted as the next record, given the
// policies (the clause catalogue) and the register so far. INVALID_ARGUMENT
// with a sentence for a person: an unknown clause, a document id of another
// clause, a malformed or missing field, dates out of order, a version
// already registered. FAILED_PRECONDITION when the policies have no clause
// catalogue.
absl::Status ValidateDocument(const v1::DocumentStatement& statement,
                              const policy::PolicySet& policy,
                              const Register& register_so_far);

// Text a person typed (a name, a version, a note): at most `max_bytes`
// bytes of UTF-8 without control characters. INVALID_ARGUMENT naming
// `what` otherwise; `required` refuses an empty one.
absl::Status CheckText(absl::string_view text, absl::string_view what,
                       size_t max_bytes, bool required);

}  // namespace evidentia::isms

#endif  // EVIDENTIA_ISMS_REGISTER_H_
