#include "isms/register.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/proto_time.h"
#include "common/status_macros.h"

namespace evidentia::isms {
namespace {

constexpr size_t kMaxName = 200;    // a person's name
constexpr size_t kMaxVersion = 64;  // "3", "2026-1", "v3.2-final"
constexpr size_t kMaxNote = 2000;   // a sentence or a paragraph
constexpr size_t kMaxFileName = 255;

}  // namespace

std::string KindOfPayloadType(absl::string_view payload_type) {
  static constexpr std::pair<const char*, const char*> kKinds[] = {
      {kDocumentPayloadType, "document"},
      {kAuditPayloadType, "audit"},
      {kAuditClosurePayloadType, "audit-close"},
      {kDecisionPayloadType, "decision"},
      {kFindingPayloadType, "finding"},
      {kActionPayloadType, "action"},
      {kActionClosurePayloadType, "action-close"},
      {kSamplePayloadType, "sample"},
  };
  for (const auto& [type, kind] : kKinds) {
    if (payload_type == type) return kind;
  }
  return "";
}

bool FindingEntry::open() const {
  return statement.grade() != v1::GRADE_COMPLIANT && closure == 0;
}

bool FindingEntry::open_nonconformity() const {
  return open() && (statement.grade() == v1::GRADE_MINOR_NONCONFORMITY ||
                    statement.grade() == v1::GRADE_MAJOR_NONCONFORMITY);
}

absl::StatusOr<absl::CivilDay> ParseDay(absl::string_view text,
                                        absl::string_view what) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " \"", absl::CHexEscape(text.substr(0, 40)),
                     "\" is not a date (YYYY-MM-DD)"));
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return bad();
  int parts[3] = {0, 0, 0};
  const std::pair<size_t, size_t> spans[3] = {{0, 4}, {5, 2}, {8, 2}};
  for (int i = 0; i < 3; ++i) {
    for (size_t j = spans[i].first; j < spans[i].first + spans[i].second; ++j) {
      if (!absl::ascii_isdigit(text[j])) return bad();
      parts[i] = parts[i] * 10 + (text[j] - '0');
    }
  }
  const absl::CivilDay day(parts[0], parts[1], parts[2]);
  // CivilDay normalises 2026-02-30 to 2026-03-02: a date that does not
  // survive the round trip does not exist.
  if (parts[0] < 1970 || day.year() != parts[0] || day.month() != parts[1] ||
      day.day() != parts[2]) {
    return bad();
  }
  return day;
}

absl::CivilDay DayOf(absl::Time moment) {
  return absl::ToCivilDay(moment, absl::UTCTimeZone());
}

absl::Status CheckText(absl::string_view text, absl::string_view what,
                       size_t max_bytes, bool required) {
  if (required && absl::StripAsciiWhitespace(text).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is required"));
  }
  if (text.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is ", text.size(), " bytes; at most ", max_bytes));
  }
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " holds a control character"));
    }
  }
  return absl::OkStatus();
}

absl::Status Register::Add(const v1::StoredIsmsRecord& record) {
  if (record.number() != size_ + 1) {
    return absl::DataLossError(absl::StrCat("ISMS record ", record.number(),
                                            " follows record ", size_));
  }
  std::string kind = KindOfPayloadType(record.payload_type());
  if (kind.empty()) {
    return absl::DataLossError(absl::StrCat(
        "ISMS record ", record.number(), " has the unknown payload type \"",
        absl::CHexEscape(record.payload_type().substr(0, 80)), "\""));
  }
  const absl::Time received_at = FromProto(record.received_at());
  if (kind == "document") {
    DocumentVersion version;
    if (!version.statement.ParseFromString(record.statement())) {
      return absl::DataLossError(absl::StrCat("ISMS record ", record.number(),
                                              " is not a DocumentStatement"));
    }
    version.record = record.number();
    version.received_at = received_at;
    DocumentKey key{version.statement.clause(), version.statement.document()};
    documents_[std::move(key)].push_back(std::move(version));
  } else {
    RETURN_IF_ERROR(AddCycleRecord(record, received_at));
  }
  kinds_.push_back(std::move(kind));
  ++size_;
  return absl::OkStatus();
}

// The records of the cycle refer to records before them; a reference that
// does not resolve, in a record the collector validated, is corruption.
absl::Status Register::AddCycleRecord(const v1::StoredIsmsRecord& record,
                                      absl::Time received_at) {
  const uint64_t number = record.number();
  auto corrupt = [number](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("ISMS record ", number, " ", why));
  };
  const std::string& bytes = record.statement();
  const absl::string_view type = record.payload_type();
  if (type == kAuditPayloadType) {
    AuditEntry entry;
    if (!entry.statement.ParseFromString(bytes)) {
      return corrupt("is not an AuditStatement");
    }
    absl::StatusOr<absl::CivilDay> from =
        ParseDay(entry.statement.from(), "from");
    absl::StatusOr<absl::CivilDay> to = ParseDay(entry.statement.to(), "to");
    if (!from.ok() || !to.ok() || FindAudit(entry.statement.audit())) {
      return corrupt("is not a valid audit");
    }
    entry.record = number;
    entry.received_at = received_at;
    entry.from = *from;
    entry.to = *to;
    audits_.push_back(std::move(entry));
  } else if (type == kAuditClosurePayloadType) {
    v1::AuditClosureStatement closure;
    if (!closure.ParseFromString(bytes)) {
      return corrupt("is not an AuditClosureStatement");
    }
    AuditEntry* audit = MutableAudit(closure.audit());
    if (audit == nullptr || audit->closed != 0) {
      return corrupt("closes an audit that is not open");
    }
    audit->closed = number;
    audit->closed_at = received_at;
    audit->closure = std::move(closure);
  } else if (type == kDecisionPayloadType) {
    v1::DecisionStatement decision;
    if (!decision.ParseFromString(bytes)) {
      return corrupt("is not a DecisionStatement");
    }
    AuditEntry* audit = MutableAudit(decision.audit());
    if (audit == nullptr || audit->decided != 0) {
      return corrupt("decides an audit that is unknown or decided");
    }
    audit->decided = number;
    audit->decided_at = received_at;
    audit->decision = std::move(decision);
  } else if (type == kFindingPayloadType) {
    FindingEntry entry;
    if (!entry.statement.ParseFromString(bytes)) {
      return corrupt("is not a FindingStatement");
    }
    AuditEntry* audit = MutableAudit(entry.statement.audit());
    if (audit == nullptr) return corrupt("is a finding of an unknown audit");
    audit->findings.push_back(number);
    entry.record = number;
    entry.received_at = received_at;
    findings_.emplace(number, std::move(entry));
  } else if (type == kActionPayloadType) {
    v1::ActionStatement action;
    if (!action.ParseFromString(bytes)) {
      return corrupt("is not an ActionStatement");
    }
    auto it = findings_.find(action.finding());
    if (it == findings_.end() || it->second.action != 0) {
      return corrupt("opens an action on an unknown finding or a second one");
    }
    it->second.action = number;
    it->second.action_at = received_at;
    it->second.action_statement = std::move(action);
  } else if (type == kActionClosurePayloadType) {
    v1::ActionClosureStatement closure;
    if (!closure.ParseFromString(bytes)) {
      return corrupt("is not an ActionClosureStatement");
    }
    auto it = findings_.find(closure.finding());
    if (it == findings_.end() || it->second.action == 0 ||
        it->second.closure != 0) {
      return corrupt("closes an action that is not open");
    }
    it->second.closure = number;
    it->second.closed_at = received_at;
    it->second.closure_statement = std::move(closure);
  } else {  // kSamplePayloadType
    SampleEntry entry;
    if (!entry.statement.ParseFromString(bytes)) {
      return corrupt("is not a SampleStatement");
    }
    AuditEntry* audit = MutableAudit(entry.statement.audit());
    if (audit == nullptr) return corrupt("samples an unknown audit");
    audit->samples.push_back(number);
    entry.record = number;
    entry.received_at = received_at;
    samples_.push_back(std::move(entry));
  }
  return absl::OkStatus();
}

std::string Register::KindOf(uint64_t number) const {
  if (number == 0 || number > kinds_.size()) return "";
  return kinds_[number - 1];
}

const AuditEntry* Register::FindAudit(absl::string_view id) const {
  for (const AuditEntry& audit : audits_) {
    if (audit.statement.audit() == id) return &audit;
  }
  return nullptr;
}

AuditEntry* Register::MutableAudit(absl::string_view id) {
  return const_cast<AuditEntry*>(FindAudit(id));
}

const FindingEntry* Register::FindFinding(uint64_t number) const {
  auto it = findings_.find(number);
  return it == findings_.end() ? nullptr : &it->second;
}

const std::vector<DocumentVersion>* Register::Versions(
    const DocumentKey& key) const {
  auto it = documents_.find(key);
  return it == documents_.end() ? nullptr : &it->second;
}

absl::Status ValidateDocument(const v1::DocumentStatement& statement,
                              const policy::PolicySet& policy,
                              const Register& register_so_far) {
  if (policy.clauses.empty()) {
    return absl::FailedPreconditionError(
        "the collector's policies have no clause catalogue "
        "(policies/iso27001-2022-clauses.yaml)");
  }
  const policy::Clause* clause = policy.FindClause(statement.clause());
  if (clause == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no clause \"", absl::CHexEscape(statement.clause().substr(0, 40)),
        "\" in the clause catalogue (4.1 ... 10.2)"));
  }
  std::vector<std::string> required;
  for (const policy::RequiredDocument& d : clause->documents) {
    required.push_back(d.id);
  }
  if (statement.document().empty()) {
    return absl::InvalidArgumentError(
        required.empty()
            ? absl::StrCat("clause ", clause->id,
                           " requires no document: name yours (--document)")
            : absl::StrCat("clause ", clause->id, " requires ",
                           absl::StrJoin(required, ", "),
                           ": say which (--document)"));
  }
  if (!policy::IsDocumentId(statement.document())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "document id \"", absl::CHexEscape(statement.document().substr(0, 70)),
        "\" is malformed (lower case letters, digits and '-', starting with "
        "a letter, at most 64)"));
  }
  for (const policy::Clause& other : policy.clauses) {
    if (&other == clause) continue;
    for (const policy::RequiredDocument& d : other.documents) {
      if (d.id == statement.document()) {
        return absl::InvalidArgumentError(
            absl::StrCat("document ", d.id, " belongs to clause ", other.id,
                         ", not ", clause->id));
      }
    }
  }
  RETURN_IF_ERROR(CheckText(statement.version(), "the version", kMaxVersion,
                            /*required=*/true));
  if (statement.sha256().size() != 32) {
    return absl::InvalidArgumentError("the document's SHA-256 is not 32 bytes");
  }
  if (statement.size() == 0) {
    return absl::InvalidArgumentError("the document is empty");
  }
  RETURN_IF_ERROR(CheckText(statement.file_name(), "the file name",
                            kMaxFileName, /*required=*/true));
  if (statement.file_name().find('/') != std::string::npos) {
    return absl::InvalidArgumentError("the file name holds a '/'");
  }
  RETURN_IF_ERROR(CheckText(statement.approved_by(), "the approver", kMaxName,
                            /*required=*/false));
  RETURN_IF_ERROR(
      CheckText(statement.note(), "the note", kMaxNote, /*required=*/false));
  if (statement.approved_by().empty() != statement.approved_on().empty()) {
    return absl::InvalidArgumentError(
        "an approval needs both who approved (--approved-by) and when "
        "(--approved-on)");
  }
  if (!statement.has_signed_at()) {
    return absl::InvalidArgumentError("the statement has no signing time");
  }
  const absl::CivilDay signed_on = DayOf(FromProto(statement.signed_at()));
  ASSIGN_OR_RETURN(absl::CivilDay review_by,
                   ParseDay(statement.review_by(), "the review date"));
  if (!statement.approved_on().empty()) {
    ASSIGN_OR_RETURN(absl::CivilDay approved_on,
                     ParseDay(statement.approved_on(), "the approval date"));
    if (approved_on > signed_on) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the approval date ", statement.approved_on(), " is after today (",
          absl::FormatCivilTime(signed_on), ")"));
    }
    if (review_by <= approved_on) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the review date ", statement.review_by(),
          " is not after the approval date ", statement.approved_on()));
    }
  }
  if (const std::vector<DocumentVersion>* versions = register_so_far.Versions(
          {statement.clause(), statement.document()})) {
    for (const DocumentVersion& v : *versions) {
      if (v.statement.version() == statement.version()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "version ", statement.version(), " of ", statement.clause(), " ",
            statement.document(), " is already registered (record ", v.record,
            "): give the new version its own number"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace evidentia::isms
