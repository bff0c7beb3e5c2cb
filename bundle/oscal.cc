#include "bundle/oscal.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "bundle/paths.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "grading/grading.h"
#include "nlohmann/json.hpp"

namespace evidentia::collector {
namespace {

// Insertion order is kept, so every object reads uuid, title, description
// first and the bytes depend only on the input.
using Json = nlohmann::ordered_json;

constexpr char kOscalVersion[] = "1.1.3";
// The namespace of Evidentia's own props (OSCAL's are in the default one).
constexpr char kNs[] = "https://evidentia.invalid/ns/oscal";
// The RFC 4122 name-space every UUID of the document is derived in
// (c95e24e3-00bc-47e1-9022-5455a2c68053, chosen once at random).
constexpr std::array<unsigned char, 16> kUuidNamespace = {
    0xc9, 0x5e, 0x24, 0xe3, 0x00, 0xbc, 0x47, 0xe1,
    0x90, 0x22, 0x54, 0x55, 0xa2, 0xc6, 0x80, 0x53};

// Where the document's own UUID goes until it is known (RFC 4122 nil UUID).
constexpr char kNilUuid[] = "00000000-0000-0000-0000-000000000000";

// The file's place in the bundle (bundle::kOscal): every href is relative
// to oscal/.
constexpr char kRoot[] = "../";

// The href of a bundle path, or the builder's INVALID_ARGUMENT.
absl::StatusOr<std::string> Href(absl::StatusOr<std::string> path) {
  if (!path.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("OSCAL document: ", path.status().message()));
  }
  return absl::StrCat(kRoot, *path);
}

// A version-5 UUID (RFC 4122 section 4.3: SHA-1 of name-space ‖ name) whose
// name is `parts` joined by NUL, so ids that contain no NUL cannot collide.
absl::StatusOr<std::string> Uuid(std::initializer_list<std::string> parts) {
  std::string name(kUuidNamespace.begin(), kUuidNamespace.end());
  bool first = true;
  for (const std::string& part : parts) {
    if (!first) name.push_back('\0');
    first = false;
    name += part;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(name.data(), name.size(), digest, &size, EVP_sha1(),
                 nullptr) != 1 ||
      size < 16) {
    return absl::InternalError("OSCAL document: SHA-1 failed");
  }
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x50);
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);
  const std::string hex =
      ToHex(std::string(reinterpret_cast<const char*>(digest), 16));
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-",
                      hex.substr(12, 4), "-", hex.substr(16, 4), "-",
                      hex.substr(20));
}

// RFC 3339 in UTC with Z, fractional seconds only when there are any.
// OSCAL's date-time admits only the years 1900-2999: a time outside (an
// agent's clock far off) is clamped to the nearest bound, so the document
// stays valid; the signed snapshot keeps the time the agent gave.
std::string Rfc3339(absl::Time t) {
  static const absl::Time kEarliest = absl::FromCivil(
      absl::CivilSecond(1900, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  static const absl::Time kLatest =
      absl::FromCivil(absl::CivilSecond(3000, 1, 1, 0, 0, 0),
                      absl::UTCTimeZone()) -
      absl::Seconds(1);
  t = std::clamp(t, kEarliest, kLatest);
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

std::string Rfc3339(const google::protobuf::Timestamp& t) {
  return Rfc3339(FromProto(t));
}

bool IsSet(const google::protobuf::Timestamp& t) {
  return t.seconds() != 0 || t.nanos() != 0;
}

bool IsSha256Hex(const std::string& s) {
  return s.size() == 2 * kSha256Size &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// OSCAL's token, restricted to ASCII: what a control id must be to serve as
// a finding's target-id.
bool IsToken(const std::string& s) {
  auto letter = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  if (s.empty() || !letter(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return letter(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
  });
}

// The length of the ECMA-262 white space or line terminator (what OSCAL's
// patterns call \s) that starts `s` at `i`, in UTF-8 bytes; 0 if none.
size_t SpaceAt(const std::string& s, size_t i) {
  auto byte = [&](size_t k) -> unsigned char {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0;
  };
  const unsigned char b0 = byte(0);
  if (b0 == ' ' || (b0 >= 0x09 && b0 <= 0x0d)) return 1;
  if (b0 == 0xc2 && byte(1) == 0xa0) return 2;                     // U+00A0
  if (b0 == 0xe1 && byte(1) == 0x9a && byte(2) == 0x80) return 3;  // U+1680
  if (b0 == 0xe2 && byte(1) == 0x80) {
    const unsigned char b2 = byte(2);
    // U+2000..U+200A, U+2028, U+2029, U+202F
    if ((b2 >= 0x80 && b2 <= 0x8a) || b2 == 0xa8 || b2 == 0xa9 || b2 == 0xaf)
      return 3;
  }
  if (b0 == 0xe2 && byte(1) == 0x81 && byte(2) == 0x9f) return 3;  // U+205F
  if (b0 == 0xe3 && byte(1) == 0x80 && byte(2) == 0x80) return 3;  // U+3000
  if (b0 == 0xef && byte(1) == 0xbb && byte(2) == 0xbf) return 3;  // U+FEFF
  return 0;
}

// One line without leading or trailing white space, runs of it (line breaks
// included) folded into one space: what OSCAL's string values must be.
std::string OneLine(const std::string& s) {
  std::string out;
  bool pending_space = false;
  for (size_t i = 0; i < s.size();) {
    if (const size_t n = SpaceAt(s, i); n > 0) {
      pending_space = !out.empty();
      i += n;
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(s[i++]);
  }
  return out;
}

// Free text inside OSCAL markup (Markdown): the characters that would
// format it escaped, and folded onto one line.
std::string Md(const std::string& s) {
  std::string out;
  for (char c : OneLine(s)) {
    if (c == '\\' || c == '`' || c == '*' || c == '_' || c == '[' || c == ']' ||
        c == '<' || c == '>') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  return out;
}

// An identifier inside OSCAL markup, as code.
std::string Code(const std::string& s) {
  const std::string line = OneLine(s);
  if (line.empty() || line.find('`') != std::string::npos) return Md(line);
  return absl::StrCat("`", line, "`");
}

// Appends {name, value} (in Evidentia's namespace unless `oscal`) when the
// value has something to say.
void AddProp(Json& props, const char* name, const std::string& value,
             bool oscal = false) {
  std::string v = OneLine(value);
  if (v.empty()) return;
  Json prop = {{"name", name}};
  if (!oscal) prop["ns"] = kNs;
  prop["value"] = std::move(v);
  props.push_back(std::move(prop));
}

// Sets `key` to `array` only when it has items: OSCAL arrays have minItems 1.
void SetIfAny(Json& object, const char* key, Json array) {
  if (!array.empty()) object[key] = std::move(array);
}

Json Link(const std::string& href, const char* rel, const char* media_type,
          const std::string& text) {
  Json link = {{"href", href}, {"rel", rel}};
  if (media_type != nullptr) link["media-type"] = media_type;
  link["text"] = text;
  return link;
}

// Compliant and an opportunity for improvement satisfy the control (neither
// is a nonconformity); anything else does not.
bool Satisfied(v1::Grade grade) {
  return grade == v1::GRADE_COMPLIANT ||
         grade == v1::GRADE_OPPORTUNITY_FOR_IMPROVEMENT;
}

std::string Plural(size_t n, const char* one, const char* many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

// Markdown bullets, one per reason, after a blank line; "" for none.
std::string Bullets(const google::protobuf::RepeatedPtrField<std::string>& r) {
  std::string out;
  for (const std::string& reason : r) {
    const std::string line = Md(reason);
    if (!line.empty()) absl::StrAppend(&out, "\n- ", line);
  }
  return out.empty() ? out : absl::StrCat("\n", out);
}

// Appends `j` pretty-printed with two spaces per level, starting at
// `depth`: what dump(2) writes, except that an object member whose value is
// discarded (the placeholder of a streamed array) is written by `stream`.
template <typename Stream>
void Emit(const Json& j, int depth, std::string& out, Stream& stream) {
  const bool object = j.is_object();
  if ((!object && !j.is_array()) || j.empty()) {
    out += j.dump(-1, ' ', false, Json::error_handler_t::replace);
    return;
  }
  out += object ? "{\n" : "[\n";
  bool first = true;
  auto member = [&](const std::string* key, const Json& value) {
    if (!first) out += ",\n";
    first = false;
    out.append(2 * (depth + 1), ' ');
    if (key != nullptr) {
      out += Json(*key).dump(-1, ' ', false, Json::error_handler_t::replace);
      out += ": ";
    }
    if (value.is_discarded()) {
      stream(depth + 1, out);
    } else {
      Emit(value, depth + 1, out, stream);
    }
  };
  if (object) {
    for (const auto& [key, value] : j.items()) member(&key, value);
  } else {
    for (const Json& value : j) member(nullptr, value);
  }
  out += "\n";
  out.append(2 * depth, ' ');
  out += object ? "}" : "]";
}

// What an auditor's finding is on, in words ("a.8.24", "clause 6.1.2") and
// as an OSCAL target: a control is a control objective, as the computed
// findings have it; a clause is a requirement statement of the standard,
// "clause-6.1.2" (a token cannot start with a digit).
struct FindingSubject {
  std::string words;
  const char* type = "objective-id";
  std::string target_id;
};

// INVALID_ARGUMENT when the finding names neither a control nor a clause
// that makes a token.
absl::StatusOr<FindingSubject> SubjectOf(const v1::FindingView& view) {
  const v1::FindingStatement& f = view.finding();
  FindingSubject subject;
  if (!f.control().empty()) {
    subject.words = f.control();
    subject.target_id = f.control();
  } else {
    subject.words = absl::StrCat("clause ", f.clause());
    subject.type = "statement-id";
    subject.target_id = absl::StrCat("clause-", f.clause());
  }
  if (f.control().empty() == f.clause().empty() ||
      !IsToken(subject.target_id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("OSCAL document: finding ", view.number(),
                     " names control \"", absl::CHexEscape(f.control()),
                     "\" and clause \"", absl::CHexEscape(f.clause()),
                     "\"; it needs exactly one, a control id or a clause "
                     "number"));
  }
  return subject;
}

// A finding's corrective action as a POA&M state: "closed as effective",
// "overdue" (open past its due day) or "open".
std::string ActionState(const v1::FindingView& view) {
  if (view.state() == v1::FINDING_CLOSED) return "closed as effective";
  return view.overdue() ? "overdue" : "open";
}

class Builder {
 public:
  explicit Builder(const OscalInput& in)
      : manifest_(*in.manifest),
        policy_(*in.policy),
        grades_(*in.grades),
        host_checks_(*in.host_checks),
        cycle_(in.cycle != nullptr ? *in.cycle : NoCycle()) {}

  absl::StatusOr<std::string> Build();
  absl::StatusOr<std::string> BuildPoam();

 private:
  // Names the bundle's period for the UUIDs of what it observed: the same
  // collector, scope and period give the same finding and observation UUIDs
  // in every revision of the document, as OSCAL asks.
  absl::StatusOr<std::string> PeriodUuid(std::initializer_list<std::string>);
  // Checks the input and assigns every observation its UUID, so findings
  // can name observations before they are written.
  absl::Status Index();
  // Writes the observations array at `depth`, building one at a time: a
  // large fleet's would not fit in memory as one tree.
  absl::Status EmitObservations(int depth, std::string& out) const;
  // The SoA graded against (manifest soa_file), or the soa/ folder when the
  // manifest does not name it.
  std::string SoaHref() const {
    return absl::StrCat(
        kRoot, manifest_.soa_file().empty() ? "soa/" : manifest_.soa_file());
  }
  absl::StatusOr<Json> Metadata(const std::string& title);
  absl::StatusOr<Json> LocalDefinitions();
  Json ReviewedControls() const;
  absl::StatusOr<Json> HostObservation(const v1::BundleAgent& agent,
                                       const v1::HostCheck& check) const;
  absl::StatusOr<Json> SnapshotEvidence(const v1::BundleAgent& agent,
                                        uint64_t seq) const;
  absl::StatusOr<Json> ManualObservation(const v1::ControlGrade& grade) const;
  absl::StatusOr<Json> Finding(const v1::ControlGrade& grade,
                               const std::vector<std::string>& related);

  // The certification cycle (docs/bundle.md, "The OSCAL document").
  static const v1::CycleReport& NoCycle() {
    static const v1::CycleReport* empty = new v1::CycleReport();
    return *empty;
  }
  // A finding's UUID, the same in both documents and in every bundle of
  // the collector's register: its record number names it.
  absl::StatusOr<std::string> AuditorFindingUuid(uint64_t number) const {
    return Uuid({"auditor-finding", manifest_.collector_key_id(),
                 absl::StrCat(number)});
  }
  // The statement and signature of ISMS record `number` as links, when the
  // bundle holds it.
  absl::StatusOr<Json> RecordLinks(uint64_t number, const char* what) const;
  // One piece of evidence a finding or closure names, as OSCAL relevant
  // evidence: with an href when its file is in the bundle.
  absl::StatusOr<Json> EvidenceOf(const v1::EvidenceRef& ref) const;
  absl::StatusOr<Json> ProofSnapshot(const v1::SnapshotRef& ref) const;
  absl::StatusOr<Json> AuditorFinding(const v1::FindingView& view) const;
  absl::StatusOr<Json> ClosureObservation(const v1::FindingView& view) const;
  absl::StatusOr<Json> PoamItem(const v1::FindingView& view,
                                const std::string& observation_uuid) const;

  const v1::BundleManifest& manifest_;
  const policy::PolicySet& policy_;
  const v1::GradeControlsResponse& grades_;
  const std::map<std::string, std::vector<v1::HostCheck>>& host_checks_;
  const v1::CycleReport& cycle_;

  std::map<std::string, const v1::BundleAgent*> agents_;
  std::map<std::pair<std::string, uint64_t>, const v1::BundleSnapshot*>
      snapshots_;
  std::string from_, to_;
  std::string tool_uuid_;
  std::map<std::string, std::string> subject_uuid_;  // by agent id
  // Observation UUIDs by check id, then agent id; of manual evidence by
  // control id.
  std::map<std::string, std::map<std::string, std::string>> observed_;
  std::map<std::string, std::string> manual_observed_;
  // The ISMS records the bundle holds, by number; the documents in
  // objects/ (hex SHA-256).
  std::map<uint64_t, const v1::BundleIsmsRecord*> records_;
  std::set<std::string> documents_;
};

absl::StatusOr<std::string> Builder::PeriodUuid(
    std::initializer_list<std::string> parts) {
  std::vector<std::string> all = {manifest_.collector_key_id(),
                                  manifest_.scope(), from_, to_};
  all.insert(all.end(), parts.begin(), parts.end());
  return Uuid({absl::StrJoin(all, std::string(1, '\0'))});
}

absl::Status Builder::Index() {
  from_ = Rfc3339(manifest_.from());
  to_ = Rfc3339(manifest_.to());
  for (const v1::BundleAgent& agent : manifest_.agents()) {
    if (!bundle::IsAgentId(agent.agent_id())) {
      return absl::InvalidArgumentError(
          absl::StrCat("OSCAL document: agent id \"", agent.agent_id(),
                       "\" is not 32 lowercase hex digits"));
    }
    if (!agents_.emplace(agent.agent_id(), &agent).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "OSCAL document: agent ", agent.agent_id(), " listed twice"));
    }
    for (const v1::BundleSnapshot& snapshot : agent.snapshots()) {
      snapshots_[{agent.agent_id(), snapshot.seq()}] = &snapshot;
    }
  }
  for (const auto& [agent_id, checks] : host_checks_) {
    if (agents_.count(agent_id) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("OSCAL document: host checks for agent \"", agent_id,
                       "\", which the manifest does not list"));
    }
    for (const v1::HostCheck& check : checks) {
      std::string& uuid = observed_[check.check_id()][agent_id];
      if (!uuid.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("OSCAL document: check ", check.check_id(),
                         " listed twice for agent ", agent_id));
      }
      ASSIGN_OR_RETURN(uuid,
                       PeriodUuid({"observation", agent_id, check.check_id()}));
    }
  }
  const std::string& soa = manifest_.soa_file();
  if (!soa.empty() &&
      (!absl::StartsWith(soa, "soa/") || !bundle::IsSafePath(soa))) {
    return absl::InvalidArgumentError(
        absl::StrCat("OSCAL document: soa_file \"", absl::CHexEscape(soa),
                     "\" is not a file of soa/"));
  }
  for (const v1::ControlGrade& grade : grades_.controls()) {
    if (!IsToken(grade.control_id())) {
      return absl::InvalidArgumentError(
          absl::StrCat("OSCAL document: control id \"", grade.control_id(),
                       "\" is not a token"));
    }
    if (grade.applicable() && grade.manual().present() &&
        !IsSha256Hex(grade.manual().sha256())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "OSCAL document: manual evidence of ", grade.control_id(),
          ": document digest \"", grade.manual().sha256(),
          "\" is not 64 lowercase hex digits"));
    }
    if (grade.applicable() && grade.manual().present()) {
      ASSIGN_OR_RETURN(manual_observed_[grade.control_id()],
                       PeriodUuid({"manual-observation", grade.control_id(),
                                   grade.manual().sha256()}));
    }
  }
  for (const v1::BundleIsmsRecord& record : manifest_.isms()) {
    records_[record.number()] = &record;
    if (IsSha256Hex(record.document_sha256())) {
      documents_.insert(record.document_sha256());
    }
  }
  for (const v1::BundleManual& manual : manifest_.manual()) {
    documents_.insert(manual.document_sha256());
  }
  std::set<uint64_t> findings;
  for (const v1::FindingView& view : cycle_.findings()) {
    RETURN_IF_ERROR(SubjectOf(view).status());
    if (!findings.insert(view.number()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "OSCAL document: finding ", view.number(), " listed twice"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Json> Builder::Metadata(const std::string& title) {
  const std::string& org = manifest_.organisation();
  Json metadata;
  metadata["title"] =
      absl::StrCat(org.empty() ? "" : absl::StrCat(Md(org), ": "), title);
  metadata["last-modified"] = Rfc3339(manifest_.generated_at());
  // A bundle generated again is a new version of the document.
  metadata["version"] = Rfc3339(manifest_.generated_at());
  metadata["oscal-version"] = kOscalVersion;
  Json props = Json::array();
  AddProp(props, "bundle-format", manifest_.format());
  AddProp(props, "scope", manifest_.scope());
  AddProp(props, "policy-sha256", manifest_.policy_sha256());
  AddProp(props, "collector-key-id", manifest_.collector_key_id());
  AddProp(props, "operator-key-id", manifest_.operator_key_id());
  AddProp(props, "log-size", absl::StrCat(manifest_.log_size()));
  SetIfAny(metadata, "props", std::move(props));
  metadata["links"] = Json::array({
      Link(absl::StrCat(kRoot, bundle::kManifest), "reference",
           "application/json",
           "Bundle manifest: period, scope, agents, snapshots, manual "
           "evidence"),
      Link(absl::StrCat(kRoot, bundle::kSums), "reference", "text/plain",
           "SHA-256 of every file of the bundle, signed by the collector "
           "(SHA256SUMS.sig, keys/collector.pub.pem)"),
      Link(absl::StrCat(kRoot, bundle::kCheckpoint), "reference", "text/plain",
           "Signed tree head of the transparency log covering every "
           "snapshot"),
      Link(absl::StrCat(kRoot, bundle::kIndexHtml), "reference", "text/html",
           "The same grades as a report for people"),
  });
  if (!org.empty()) {
    ASSIGN_OR_RETURN(std::string party, Uuid({"party", org}));
    Json organisation = {
        {"uuid", party}, {"type", "organization"}, {"name", OneLine(org)}};
    metadata["parties"] = Json::array({std::move(organisation)});
  }
  return metadata;
}

absl::StatusOr<Json> Builder::LocalDefinitions() {
  ASSIGN_OR_RETURN(tool_uuid_, Uuid({"component", "evidentia-collector",
                                     manifest_.collector_key_id()}));
  Json tool = {
      {"uuid", tool_uuid_},
      {"type", "software"},
      {"title", "Evidentia collector"},
      {"description",
       "Verifies the signed snapshots enrolled agents send, keeps them in a "
       "transparency log and grades every control of the Statement of "
       "Applicability from them."},
  };
  Json tool_props = Json::array();
  AddProp(tool_props, "collector-key-id", manifest_.collector_key_id());
  SetIfAny(tool, "props", std::move(tool_props));
  tool["links"] = Json::array(
      {Link(absl::StrCat(kRoot, bundle::kCollectorKey), "public-key",
            "application/x-pem-file", "The collector's Ed25519 signing key")});
  tool["status"] = Json::object({{"state", "operational"}});

  Json items = Json::array();
  for (const v1::BundleAgent& agent : manifest_.agents()) {
    ASSIGN_OR_RETURN(std::string uuid,
                     Uuid({"inventory-item", agent.agent_id()}));
    ASSIGN_OR_RETURN(std::string key,
                     Href(bundle::AgentKeyPath(agent.agent_id())));
    subject_uuid_[agent.agent_id()] = uuid;
    Json item = {{"uuid", uuid}};
    item["description"] = absl::StrCat(
        "Host ",
        agent.hostname().empty() ? "without a hostname" : Md(agent.hostname()),
        ", enrolled as agent ", Code(agent.agent_id()), " on ",
        Rfc3339(agent.enrolled_at()), ".");
    Json props = Json::array();
    AddProp(props, "asset-id", agent.agent_id(), /*oscal=*/true);
    AddProp(props, "hostname", agent.hostname());
    AddProp(props, "agent-id", agent.agent_id());
    AddProp(props, "key-id", agent.key_id());
    AddProp(props, "enrolled-at", Rfc3339(agent.enrolled_at()));
    // map<> iterates in arbitrary order: sort for stable bytes.
    std::map<std::string, std::string> labels(agent.labels().begin(),
                                              agent.labels().end());
    for (const auto& [key, value] : labels) {
      AddProp(props, "label", absl::StrCat(key, "=", value));
    }
    item["props"] = std::move(props);
    item["links"] = Json::array(
        {Link(key, "public-key", "application/x-pem-file",
              "The agent's Ed25519 key, which signs its snapshots")});
    items.push_back(std::move(item));
  }

  Json definitions;
  definitions["components"] = Json::array({std::move(tool)});
  SetIfAny(definitions, "inventory-items", std::move(items));
  return definitions;
}

Json Builder::ReviewedControls() const {
  Json include = Json::array();
  Json exclude = Json::array();
  std::string not_applicable;
  for (const v1::ControlGrade& grade : grades_.controls()) {
    if (grade.applicable()) {
      include.push_back({{"control-id", grade.control_id()}});
      continue;
    }
    exclude.push_back({{"control-id", grade.control_id()}});
    absl::StrAppend(&not_applicable, "\n- ", Code(grade.control_id()), " ",
                    Md(grade.title()),
                    grade.justification().empty()
                        ? ""
                        : absl::StrCat(": ", Md(grade.justification())));
  }
  Json selection = {
      {"description",
       absl::StrCat(
           "The Annex A controls of ISO/IEC 27001:2022 that the "
           "Statement of Applicability (",
           manifest_.soa_file().empty() ? "soa/" : manifest_.soa_file(),
           ") declares applicable; the others are excluded.")}};
  SetIfAny(selection, "include-controls", std::move(include));
  SetIfAny(selection, "exclude-controls", std::move(exclude));
  if (!not_applicable.empty()) {
    selection["remarks"] = absl::StrCat(
        "Not applicable according to the Statement of Applicability:\n",
        not_applicable);
  }
  Json reviewed;
  reviewed["control-selections"] = Json::array({std::move(selection)});
  return reviewed;
}

absl::StatusOr<Json> Builder::SnapshotEvidence(const v1::BundleAgent& agent,
                                               uint64_t seq) const {
  const std::string& id = agent.agent_id();
  Json evidence;
  const auto found = snapshots_.find({id, seq});
  if (found == snapshots_.end()) {
    // The verdict rests on an observation older than anything this bundle
    // holds: say so rather than point at a file that is not there.
    evidence["description"] =
        absl::StrCat("Snapshot ", seq, " of agent ", Code(id),
                     ", received before the first snapshot this bundle "
                     "holds; it is not included.");
    return evidence;
  }
  const v1::BundleSnapshot& snapshot = *found->second;
  ASSIGN_OR_RETURN(evidence["href"],
                   Href(bundle::SnapshotPath(id, seq, "payload")));
  evidence["description"] = absl::StrCat(
      "Snapshot ", seq, " of agent ", Code(id),
      ", signed by the agent's key and received by the collector at ",
      Rfc3339(snapshot.received_at()), ".");
  Json props = Json::array();
  AddProp(props, "snapshot-seq", absl::StrCat(seq));
  AddProp(props, "payload-sha256", snapshot.payload_sha256());
  AddProp(props, "received-at", Rfc3339(snapshot.received_at()));
  AddProp(props, "log-index", absl::StrCat(snapshot.log_index()));
  evidence["props"] = std::move(props);
  ASSIGN_OR_RETURN(std::string signature,
                   Href(bundle::SnapshotPath(id, seq, "sig")));
  ASSIGN_OR_RETURN(std::string proof, Href(bundle::ProofPath(id, seq)));
  evidence["links"] = Json::array({
      Link(signature, "signature", "application/octet-stream",
           "Raw Ed25519 signature of the payload's PAE, agent key"),
      Link(proof, "inclusion-proof", "text/plain",
           "RFC 6962 inclusion proof in log/checkpoint"),
  });
  return evidence;
}

absl::StatusOr<Json> Builder::HostObservation(
    const v1::BundleAgent& agent, const v1::HostCheck& check) const {
  const std::string& agent_id = agent.agent_id();
  const std::string& uuid = observed_.at(check.check_id()).at(agent_id);

  const policy::Check* known = policy_.FindCheck(check.check_id());
  const std::string host =
      agent.hostname().empty() ? agent_id : agent.hostname();
  const std::string state = CheckStateName(check.state());
  const bool has_evidence = check.seq() != 0;

  Json observation = {{"uuid", uuid}};
  observation["title"] =
      absl::StrCat(Code(check.check_id()), " on ", Md(host), ": ", state);
  std::string description = absl::StrCat(
      known != nullptr ? absl::StrCat(Md(known->title), ": check ") : "Check ",
      Code(check.check_id()), " on host ", Md(host), " (agent ", Code(agent_id),
      ") is **", state, "** as of ", to_, ".");
  if (!has_evidence) {
    absl::StrAppend(&description,
                    " No snapshot of this host carries evidence for it.");
  }
  absl::StrAppend(&description, Bullets(check.reasons()));
  observation["description"] = std::move(description);

  Json props = Json::array();
  AddProp(props, "check-id", check.check_id());
  AddProp(props, "state", state);
  if (known != nullptr) AddProp(props, "severity", known->severity);
  if (has_evidence) AddProp(props, "snapshot-seq", absl::StrCat(check.seq()));
  if (IsSet(check.since())) AddProp(props, "since", Rfc3339(check.since()));
  observation["props"] = std::move(props);
  // A test of the host's configuration; every verdict but PASS is also a
  // finding against the control objective.
  observation["methods"] = Json::array({"TEST"});
  observation["types"] = Json::array({"control-objective"});
  if (check.state() != v1::CHECK_STATE_PASS) {
    observation["types"].push_back("finding");
  }
  Json actor = {{"type", "tool"}, {"actor-uuid", tool_uuid_}};
  Json origin;
  origin["actors"] = Json::array({std::move(actor)});
  observation["origins"] = Json::array({std::move(origin)});
  Json subject = {{"subject-uuid", subject_uuid_.at(agent_id)},
                  {"type", "inventory-item"},
                  {"title", Md(host)}};
  observation["subjects"] = Json::array({std::move(subject)});
  if (has_evidence) {
    ASSIGN_OR_RETURN(Json evidence, SnapshotEvidence(agent, check.seq()));
    observation["relevant-evidence"] = Json::array({std::move(evidence)});
  }
  // Without evidence, the observation is the grading itself, at `to`.
  const absl::Time collected =
      has_evidence ? FromProto(check.evidence_at()) : FromProto(manifest_.to());
  observation["collected"] = Rfc3339(collected);
  if (has_evidence && known != nullptr &&
      known->stale_after > absl::ZeroDuration()) {
    observation["expires"] = Rfc3339(collected + known->stale_after);
  }
  return observation;
}

absl::StatusOr<Json> Builder::ManualObservation(
    const v1::ControlGrade& grade) const {
  const v1::ManualEvidenceSummary& manual = grade.manual();
  const std::string& uuid = manual_observed_.at(grade.control_id());
  const v1::BundleManual* recorded = nullptr;
  for (const v1::BundleManual& m : manifest_.manual()) {
    if (m.control_id() == grade.control_id() &&
        m.document_sha256() == manual.sha256()) {
      recorded = &m;  // the newest record of the document wins
    }
  }

  Json observation = {{"uuid", uuid}};
  observation["title"] = absl::StrCat(
      "Manual evidence for ", Md(grade.control_id()), " ", Md(grade.title()));
  std::string description =
      absl::StrCat("Document ",
                   manual.file_name().empty() ? Code(manual.sha256())
                                              : Md(manual.file_name()),
                   " recorded for control ", Code(grade.control_id()),
                   " and signed by the operator's key");
  if (IsSet(manual.valid_until())) {
    absl::StrAppend(&description, ", valid until ",
                    Rfc3339(manual.valid_until()));
  }
  absl::StrAppend(&description, ".");
  if (!OneLine(manual.note()).empty()) {
    absl::StrAppend(&description, " Note: ", Md(manual.note()));
  }
  observation["description"] = std::move(description);
  Json props = Json::array();
  AddProp(props, "document-sha256", manual.sha256());
  AddProp(props, "file-name", manual.file_name());
  observation["props"] = std::move(props);
  observation["methods"] = Json::array({"EXAMINE"});
  observation["types"] = Json::array({"control-objective"});

  ASSIGN_OR_RETURN(
      std::string document,
      Href(bundle::ObjectPath(absl::HexStringToBytes(manual.sha256()))));
  Json evidence = {
      {"href", document},
      {"description",
       absl::StrCat(
           "The document, by its SHA-256",
           manual.file_name().empty()
               ? ""
               : absl::StrCat(" (uploaded as ", Md(manual.file_name()), ")"),
           ".")}};
  if (recorded != nullptr) {
    ASSIGN_OR_RETURN(std::string statement,
                     Href(bundle::ManualPath(grade.control_id(),
                                             recorded->number(), "statement")));
    ASSIGN_OR_RETURN(std::string signature,
                     Href(bundle::ManualPath(grade.control_id(),
                                             recorded->number(), "sig")));
    evidence["links"] = Json::array({
        Link(statement, "statement", "application/octet-stream",
             "ManualEvidenceStatement the operator signed for the document"),
        Link(signature, "signature", "application/octet-stream",
             "Raw Ed25519 signature of the statement's PAE, operator key"),
    });
  }
  observation["relevant-evidence"] = Json::array({std::move(evidence)});
  observation["collected"] =
      recorded != nullptr ? Rfc3339(recorded->received_at()) : to_;
  if (IsSet(manual.valid_until())) {
    observation["expires"] = Rfc3339(manual.valid_until());
  }
  return observation;
}

absl::StatusOr<Json> Builder::Finding(const v1::ControlGrade& grade,
                                      const std::vector<std::string>& related) {
  ASSIGN_OR_RETURN(std::string uuid,
                   PeriodUuid({"finding", grade.control_id()}));
  const std::string words = GradeName(grade.grade());
  const bool satisfied = Satisfied(grade.grade());

  Json finding = {{"uuid", uuid}};
  finding["title"] =
      absl::StrCat(Md(grade.control_id()), " ", Md(grade.title()), ": ", words);
  std::string description = absl::StrCat("Graded **", words, "** as of ", to_);
  if (grade.checks_size() == 0) {
    absl::StrAppend(&description, " on manual evidence alone.");
  } else {
    absl::StrAppend(&description, " over ",
                    Plural(grade.hosts_in_scope(), "host", "hosts"),
                    " in scope: ", grade.hosts_passing(), " passing, ",
                    grade.hosts_failing(), " failing, ", grade.hosts_stale(),
                    " with stale or missing evidence.");
  }
  absl::StrAppend(&description, Bullets(grade.reasons()));
  finding["description"] = std::move(description);

  Json props = Json::array();
  AddProp(props, "grade", words);
  AddProp(props, "theme", grade.theme());
  AddProp(props, "owner", grade.owner());
  if (const policy::SoaEntry* soa = policy_.FindSoaEntry(grade.control_id())) {
    AddProp(props, "implementation", soa->implementation);
  }
  AddProp(props, "hosts-in-scope", absl::StrCat(grade.hosts_in_scope()));
  AddProp(props, "hosts-passing", absl::StrCat(grade.hosts_passing()));
  AddProp(props, "hosts-failing", absl::StrCat(grade.hosts_failing()));
  AddProp(props, "hosts-stale", absl::StrCat(grade.hosts_stale()));
  if (IsSet(grade.oldest_evidence())) {
    AddProp(props, "oldest-evidence", Rfc3339(grade.oldest_evidence()));
  }
  for (const std::string& check : grade.checks()) {
    AddProp(props, "check-id", check);
  }
  finding["props"] = std::move(props);

  Json target = {
      {"type", "objective-id"},
      {"target-id", grade.control_id()},
      {"title", absl::StrCat("Annex A ", Md(grade.control_id()), " ",
                             Md(grade.title()))},
  };
  target["status"] = {
      {"state", satisfied ? "satisfied" : "not-satisfied"},
      {"reason", satisfied ? "pass" : "fail"},
      {"remarks", absl::StrCat("Evidentia grade: ", words, ".")}};
  finding["target"] = std::move(target);
  Json observations = Json::array();
  for (const std::string& id : related) {
    observations.push_back({{"observation-uuid", id}});
  }
  SetIfAny(finding, "related-observations", std::move(observations));
  if (!OneLine(grade.justification()).empty()) {
    finding["remarks"] =
        absl::StrCat("Statement of Applicability: ", Md(grade.justification()),
                     grade.owner().empty()
                         ? ""
                         : absl::StrCat(" (owner: ", Md(grade.owner()), ")"));
  }
  return finding;
}

absl::StatusOr<std::string> Builder::Build() {
  RETURN_IF_ERROR(Index());

  Json ar;
  ar["uuid"] = kNilUuid;  // replaced last, from the rest of the document
  ASSIGN_OR_RETURN(ar["metadata"],
                   Metadata(absl::StrCat("ISO/IEC 27001:2022 Annex A "
                                         "assessment results, ",
                                         from_, " to ", to_)));
  ar["import-ap"] = Json::object(
      {{"href", SoaHref()},
       {"remarks",
        "Evidentia assesses against the Statement of Applicability and the "
        "policies in this bundle (soa/, policies/), not an OSCAL assessment "
        "plan; OSCAL requires import-ap, so it names the SoA."}});

  ASSIGN_OR_RETURN(std::string result_uuid, PeriodUuid({"result"}));
  Json result = {{"uuid", result_uuid}};
  result["title"] =
      absl::StrCat("Annex A controls graded as of ", to_,
                   manifest_.scope().empty()
                       ? ", all hosts"
                       : absl::StrCat(", hosts ", Md(manifest_.scope())));
  result["description"] = absl::StrCat(
      "Every control of the Statement of Applicability, graded as of ", to_,
      " over ", Plural(manifest_.agents_size(), "host", "hosts"),
      manifest_.scope().empty()
          ? ""
          : absl::StrCat(" in scope ", Code(manifest_.scope())),
      ", from the snapshots the collector received from ", from_, " to ", to_,
      " (and the last one before). One observation per check and host, one "
      "per piece of manual evidence; one finding per applicable control",
      cycle_.findings_size() == 0
          ? "."
          : absl::StrCat(", and one per finding the auditors recorded in the "
                         "certification cycle (",
                         Plural(cycle_.findings_size(), "finding", "findings"),
                         ", ISMS records in isms/)."));
  result["start"] = from_;
  result["end"] = to_;
  ASSIGN_OR_RETURN(result["local-definitions"], LocalDefinitions());
  result["reviewed-controls"] = ReviewedControls();

  // Written by EmitObservations in place of the placeholder.
  if (!observed_.empty() || !manual_observed_.empty()) {
    result["observations"] = Json(Json::value_t::discarded);
  }
  Json findings = Json::array();
  for (const v1::ControlGrade& grade : grades_.controls()) {
    if (!grade.applicable()) continue;
    std::vector<std::string> related;
    std::set<std::string> seen;
    for (const std::string& check : grade.checks()) {
      const auto found = observed_.find(check);
      if (found == observed_.end()) continue;
      for (const auto& [agent_id, uuid] : found->second) {
        if (seen.insert(uuid).second) related.push_back(uuid);
      }
    }
    if (const auto manual = manual_observed_.find(grade.control_id());
        manual != manual_observed_.end()) {
      related.push_back(manual->second);
    }
    ASSIGN_OR_RETURN(Json finding, Finding(grade, related));
    findings.push_back(std::move(finding));
  }
  for (const v1::FindingView& view : cycle_.findings()) {
    ASSIGN_OR_RETURN(Json finding, AuditorFinding(view));
    findings.push_back(std::move(finding));
  }
  SetIfAny(result, "findings", std::move(findings));
  result["remarks"] =
      "Every href is relative to this file, oscal/assessment-results.json in "
      "the bundle; docs/bundle.md describes the files, and VERIFY.sh checks "
      "their signatures and digests.";
  ar["results"] = Json::array({std::move(result)});

  Json document;
  document["assessment-results"] = std::move(ar);
  std::string text;
  absl::Status streamed = absl::OkStatus();
  auto stream = [&](int depth, std::string& out) {
    streamed = EmitObservations(depth, out);
  };
  Emit(document, 0, text, stream);
  RETURN_IF_ERROR(streamed);
  text += "\n";
  // The document's own UUID changes with its content (a new revision), and
  // only with it: derived from the text with the nil UUID in its place, then
  // written over it (the first UUID of the text, same length).
  const size_t at = text.find(kNilUuid);
  if (at == std::string::npos) {
    return absl::InternalError("OSCAL document: its UUID went missing");
  }
  ASSIGN_OR_RETURN(std::string uuid,
                   Uuid({"assessment-results", Sha256Hex(text)}));
  text.replace(at, uuid.size(), uuid);
  return text;
}

absl::Status Builder::EmitObservations(int depth, std::string& out) const {
  bool first = true;
  auto nothing = [](int, std::string&) {};
  auto append = [&](const Json& observation) {
    out += first ? "[\n" : ",\n";
    first = false;
    out.append(2 * (depth + 1), ' ');
    Emit(observation, depth + 1, out, nothing);
  };
  for (const auto& [agent_id, checks] : host_checks_) {
    for (const v1::HostCheck& check : checks) {
      ASSIGN_OR_RETURN(Json observation,
                       HostObservation(*agents_.at(agent_id), check));
      append(observation);
    }
  }
  for (const v1::ControlGrade& grade : grades_.controls()) {
    if (manual_observed_.count(grade.control_id()) == 0) continue;
    ASSIGN_OR_RETURN(Json observation, ManualObservation(grade));
    append(observation);
  }
  // Index() put an observation in for every placeholder it asked for.
  if (first) return absl::InternalError("OSCAL document: no observations");
  out += "\n";
  out.append(2 * depth, ' ');
  out += "]";
  return absl::OkStatus();
}

absl::StatusOr<Json> Builder::RecordLinks(uint64_t number,
                                          const char* what) const {
  Json links = Json::array();
  const auto found = records_.find(number);
  if (number == 0 || found == records_.end()) return links;
  const std::string& kind = found->second->kind();
  ASSIGN_OR_RETURN(std::string statement,
                   Href(bundle::IsmsRecordPath(number, kind, "statement")));
  ASSIGN_OR_RETURN(std::string signature,
                   Href(bundle::IsmsRecordPath(number, kind, "sig")));
  links.push_back(Link(statement, "statement", "application/octet-stream",
                       absl::StrCat(what, ": ISMS record ", number,
                                    " as the operator signed it")));
  links.push_back(Link(signature, "signature", "application/octet-stream",
                       "Raw Ed25519 signature of the statement's PAE, "
                       "operator key"));
  links.push_back(Link(absl::StrCat(kRoot, bundle::IsmsProofPath(number)),
                       "inclusion-proof", "text/plain",
                       "RFC 6962 inclusion proof in log/checkpoint"));
  return links;
}

absl::StatusOr<Json> Builder::ProofSnapshot(const v1::SnapshotRef& ref) const {
  const auto agent = agents_.find(ref.agent_id());
  if (agent == agents_.end()) {
    Json evidence;
    evidence["description"] = absl::StrCat(
        "Snapshot ", ref.seq(), " of agent ", Code(ref.agent_id()),
        ", a host outside this bundle's scope; it is not included.");
    return evidence;
  }
  return SnapshotEvidence(*agent->second, ref.seq());
}

absl::StatusOr<Json> Builder::EvidenceOf(const v1::EvidenceRef& ref) const {
  Json evidence;
  Json props = Json::array();
  switch (ref.ref_case()) {
    case v1::EvidenceRef::kRecord: {
      const uint64_t number = ref.record();
      const auto found = records_.find(number);
      if (found == records_.end()) {
        evidence["description"] = absl::StrCat(
            "ISMS record ", number, ", which this bundle does not hold.");
        return evidence;
      }
      const v1::BundleIsmsRecord& record = *found->second;
      ASSIGN_OR_RETURN(Json links, RecordLinks(number, "The record"));
      if (IsSha256Hex(record.document_sha256())) {
        ASSIGN_OR_RETURN(evidence["href"],
                         Href(bundle::ObjectPath(absl::HexStringToBytes(
                             record.document_sha256()))));
        evidence["description"] =
            absl::StrCat("The document of ISMS record ", number, " (",
                         Md(record.kind()), "), by its SHA-256.");
      } else {
        evidence["href"] = links[0]["href"];
        evidence["description"] =
            absl::StrCat("ISMS record ", number, " (", Md(record.kind()),
                         "), signed by the operator's key.");
      }
      AddProp(props, "record", absl::StrCat(number));
      AddProp(props, "record-kind", record.kind());
      AddProp(props, "statement-sha256", record.statement_sha256());
      AddProp(props, "document-sha256", record.document_sha256());
      evidence["props"] = std::move(props);
      evidence["links"] = std::move(links);
      return evidence;
    }
    case v1::EvidenceRef::kSnapshot:
      return ProofSnapshot(ref.snapshot());
    case v1::EvidenceRef::kManualSha256: {
      if (ref.manual_sha256().size() != kSha256Size) {
        evidence["description"] =
            "A manual evidence document named by a malformed digest.";
        return evidence;
      }
      const std::string hex = ToHex(ref.manual_sha256());
      const bool held = documents_.count(hex) > 0;
      if (held) {
        ASSIGN_OR_RETURN(evidence["href"],
                         Href(bundle::ObjectPath(ref.manual_sha256())));
      }
      evidence["description"] = absl::StrCat(
          "Manual evidence document ", Code(hex),
          held ? ", by its SHA-256." : ", which this bundle does not hold.");
      AddProp(props, "document-sha256", hex);
      evidence["props"] = std::move(props);
      return evidence;
    }
    default:
      evidence["description"] = "Evidence of a form this version cannot read.";
      return evidence;
  }
}

absl::StatusOr<Json> Builder::AuditorFinding(
    const v1::FindingView& view) const {
  const v1::FindingStatement& f = view.finding();
  ASSIGN_OR_RETURN(const FindingSubject subject, SubjectOf(view));
  ASSIGN_OR_RETURN(std::string uuid, AuditorFindingUuid(view.number()));
  const std::string grade = GradeName(f.grade());
  const bool computed = view.computed_grade() != v1::GRADE_UNSPECIFIED;

  Json finding = {{"uuid", uuid}};
  finding["title"] = absl::StrCat("Auditor finding ", view.number(), ": ",
                                  grade, " on ", Md(subject.words));
  finding["description"] = OneLine(f.statement()).empty()
                               ? std::string(
                                     "The auditor recorded no "
                                     "statement.")
                               : Md(f.statement());
  Json props = Json::array();
  AddProp(props, "audit", f.audit());
  AddProp(props, "finding-record", absl::StrCat(view.number()));
  AddProp(props, "auditor-grade", grade);
  if (computed) {
    AddProp(props, "computed-grade", GradeName(view.computed_grade()));
  }
  AddProp(props, "recorded-by", f.recorded_by());
  AddProp(props, "state",
          view.state() == v1::FINDING_CLOSED ? "closed" : "open");
  for (const std::string& audit : view.carried_into()) {
    AddProp(props, "carried-into", audit);
  }
  finding["props"] = std::move(props);
  // The signed record, then the evidence it rests on that the bundle holds.
  ASSIGN_OR_RETURN(Json links, RecordLinks(view.number(), "The finding"));
  for (const v1::EvidenceRef& ref : f.evidence()) {
    ASSIGN_OR_RETURN(Json evidence, EvidenceOf(ref));
    if (!evidence.contains("href")) continue;
    links.push_back(Link(evidence["href"].get<std::string>(), "evidence",
                         nullptr, evidence["description"].get<std::string>()));
  }
  SetIfAny(finding, "links", std::move(links));

  std::string title;
  if (!f.control().empty()) {
    const policy::Control* control = policy_.FindControl(f.control());
    title =
        absl::StrCat("Annex A ", Md(f.control()),
                     control != nullptr ? absl::StrCat(" ", Md(control->title))
                                        : std::string());
  } else {
    const policy::Clause* clause = policy_.FindClause(f.clause());
    title =
        absl::StrCat("Clause ", Md(f.clause()),
                     clause != nullptr ? absl::StrCat(" ", Md(clause->title))
                                       : std::string());
  }
  Json target = {{"type", subject.type},
                 {"target-id", subject.target_id},
                 {"title", std::move(title)}};
  const bool satisfied = Satisfied(f.grade());
  target["status"] = {
      {"state", satisfied ? "satisfied" : "not-satisfied"},
      {"reason", satisfied ? "pass" : "fail"},
      {"remarks",
       absl::StrCat("Auditor's grade: ", grade, ".",
                    computed
                        ? absl::StrCat(" Evidentia's grade of the "
                                       "control at the end of the "
                                       "audit: ",
                                       GradeName(view.computed_grade()), ".")
                        : std::string())}};
  finding["target"] = std::move(target);

  std::string remarks = absl::StrCat("Recorded in audit ", Code(f.audit()));
  if (!OneLine(f.recorded_by()).empty()) {
    absl::StrAppend(&remarks, " by ", Md(f.recorded_by()));
  }
  absl::StrAppend(&remarks, ".");
  if (view.carried_into_size() > 0) {
    std::vector<std::string> audits;
    for (const std::string& audit : view.carried_into()) {
      audits.push_back(Code(audit));
    }
    absl::StrAppend(&remarks,
                    " Still open when a later audit opened: carried "
                    "into ",
                    absl::StrJoin(audits, ", "), ".");
  }
  absl::StrAppend(&remarks,
                  " Evidentia's own grade is shown beside the auditor's, "
                  "never in its place.");
  finding["remarks"] = std::move(remarks);
  return finding;
}

absl::StatusOr<Json> Builder::ClosureObservation(
    const v1::FindingView& view) const {
  const v1::ActionClosureStatement& closure = view.closure_statement();
  ASSIGN_OR_RETURN(std::string uuid,
                   Uuid({"closure-observation", manifest_.collector_key_id(),
                         absl::StrCat(view.closure())}));
  Json observation = {{"uuid", uuid}};
  observation["title"] = absl::StrCat("Corrective action for finding ",
                                      view.number(), " closed as effective");
  std::string description = absl::StrCat(
      "Closure record ", view.closure(), " of the corrective action",
      view.action() != 0 ? absl::StrCat(" (record ", view.action(), ")")
                         : std::string(),
      " for finding ", view.number(), ", signed by the operator's key.");
  if (closure.proof_size() > 0) {
    absl::StrAppend(
        &description,
        " Every affected host passed the control's checks in the "
        "consecutive snapshots given as evidence (",
        Plural(closure.proof_size(), "snapshot", "snapshots"),
        "), which the collector and `evidentia verify` check again.");
  }
  if (closure.evidence_size() > 0) {
    absl::StrAppend(&description, " The closure evidence: ",
                    Plural(closure.evidence_size(), "item", "items"), ".");
  }
  if (!OneLine(closure.note()).empty()) {
    absl::StrAppend(&description, " Note: ", Md(closure.note()));
  }
  observation["description"] = std::move(description);
  Json props = Json::array();
  AddProp(props, "finding-record", absl::StrCat(view.number()));
  AddProp(props, "closure-record", absl::StrCat(view.closure()));
  observation["props"] = std::move(props);
  Json methods = Json::array();
  if (closure.evidence_size() > 0 || closure.proof_size() == 0) {
    methods.push_back("EXAMINE");
  }
  if (closure.proof_size() > 0) methods.push_back("TEST");
  observation["methods"] = std::move(methods);
  observation["types"] = Json::array({"mitigation"});

  Json evidence = Json::array();
  for (const v1::EvidenceRef& ref : closure.evidence()) {
    ASSIGN_OR_RETURN(Json item, EvidenceOf(ref));
    item["description"] = absl::StrCat("Closure evidence: ",
                                       item["description"].get<std::string>());
    evidence.push_back(std::move(item));
  }
  for (const v1::SnapshotRef& ref : closure.proof()) {
    ASSIGN_OR_RETURN(Json item, ProofSnapshot(ref));
    item["description"] = absl::StrCat("Proof of effectiveness: ",
                                       item["description"].get<std::string>());
    evidence.push_back(std::move(item));
  }
  SetIfAny(observation, "relevant-evidence", std::move(evidence));
  const auto record = records_.find(view.closure());
  observation["collected"] =
      record != records_.end()     ? Rfc3339(record->second->received_at())
      : IsSet(closure.signed_at()) ? Rfc3339(closure.signed_at())
                                   : to_;
  return observation;
}

absl::StatusOr<Json> Builder::PoamItem(
    const v1::FindingView& view, const std::string& observation_uuid) const {
  const v1::FindingStatement& f = view.finding();
  const v1::ActionStatement& action = view.action_statement();
  const bool has_action = view.action() != 0;
  ASSIGN_OR_RETURN(const FindingSubject subject, SubjectOf(view));
  ASSIGN_OR_RETURN(std::string uuid,
                   Uuid({"poam-item", manifest_.collector_key_id(),
                         absl::StrCat(view.number())}));
  ASSIGN_OR_RETURN(std::string finding_uuid, AuditorFindingUuid(view.number()));
  const std::string state = ActionState(view);

  Json item = {{"uuid", uuid}};
  item["title"] = absl::StrCat("Finding ", view.number(), ": ",
                               GradeName(f.grade()), " on ", Md(subject.words));
  item["description"] =
      !has_action ? std::string("No corrective action yet.")
      : OneLine(action.action()).empty()
          ? std::string("A corrective action recorded without words.")
          : Md(action.action());
  Json props = Json::array();
  AddProp(props, "state", state);
  AddProp(props, "finding-record", absl::StrCat(view.number()));
  AddProp(props, "audit", f.audit());
  AddProp(props, "auditor-grade", GradeName(f.grade()));
  if (has_action) {
    AddProp(props, "action-record", absl::StrCat(view.action()));
    AddProp(props, "owner", action.owner());
    AddProp(props, "due-on", action.due_on());
    AddProp(props, "root-cause", action.root_cause());
    AddProp(props, "correction", action.correction());
    for (const std::string& host : action.hosts()) {
      AddProp(props, "affected-host", host);
    }
  }
  if (view.closure() != 0) {
    AddProp(props, "closure-record", absl::StrCat(view.closure()));
  }
  for (const std::string& audit : view.carried_into()) {
    AddProp(props, "carried-into", audit);
  }
  item["props"] = std::move(props);
  Json links = Json::array();
  ASSIGN_OR_RETURN(Json action_links,
                   RecordLinks(view.action(), "The corrective action"));
  ASSIGN_OR_RETURN(Json closure_links,
                   RecordLinks(view.closure(), "Its closure"));
  for (Json& link : action_links) links.push_back(std::move(link));
  for (Json& link : closure_links) links.push_back(std::move(link));
  SetIfAny(item, "links", std::move(links));
  item["related-findings"] = Json::array({{{"finding-uuid", finding_uuid}}});
  if (!observation_uuid.empty()) {
    item["related-observations"] =
        Json::array({{{"observation-uuid", observation_uuid}}});
  }
  std::string remarks;
  if (view.state() == v1::FINDING_CLOSED) {
    remarks =
        absl::StrCat("Closed as effective by record ", view.closure(), ".");
  } else if (!has_action) {
    remarks = "Open: no corrective action has been recorded yet.";
  } else {
    remarks = absl::StrCat(
        view.overdue() ? "Overdue: open past its due day, " : "Open, due on ",
        Md(action.due_on()), ".");
  }
  if (has_action && !OneLine(action.note()).empty()) {
    absl::StrAppend(&remarks, " Note: ", Md(action.note()));
  }
  item["remarks"] = std::move(remarks);
  return item;
}

absl::StatusOr<std::string> Builder::BuildPoam() {
  RETURN_IF_ERROR(Index());
  Json observations = Json::array();
  Json findings = Json::array();
  Json items = Json::array();
  for (const v1::FindingView& view : cycle_.findings()) {
    if (view.finding().grade() == v1::GRADE_COMPLIANT) continue;
    ASSIGN_OR_RETURN(Json finding, AuditorFinding(view));
    findings.push_back(std::move(finding));
    std::string observation_uuid;
    if (view.closure() != 0) {
      ASSIGN_OR_RETURN(Json observation, ClosureObservation(view));
      observation_uuid = observation["uuid"].get<std::string>();
      observations.push_back(std::move(observation));
    }
    ASSIGN_OR_RETURN(Json item, PoamItem(view, observation_uuid));
    items.push_back(std::move(item));
  }
  if (items.empty()) {
    return absl::NotFoundError(
        "OSCAL POA&M: no finding of the cycle calls for a corrective action");
  }

  Json poam;
  poam["uuid"] = kNilUuid;  // replaced last, from the rest of the document
  ASSIGN_OR_RETURN(
      poam["metadata"],
      Metadata(absl::StrCat(
          "ISO/IEC 27001:2022 corrective actions, plan of action and "
          "milestones as of ",
          to_)));
  poam["metadata"]["links"].push_back(
      Link("assessment-results.json", "related", "application/json",
           "The assessment results of this bundle: every control graded, and "
           "the same auditor findings"));
  // No OSCAL system security plan exists to import: the system is the
  // organisation's ISMS, named as the SoA and the bundle's manifest name it.
  const std::string org = OneLine(manifest_.organisation());
  poam["system-id"] = {{"id", org.empty() ? std::string("ISMS")
                                          : absl::StrCat("ISMS of ", org)}};
  SetIfAny(poam, "observations", std::move(observations));
  poam["findings"] = std::move(findings);
  poam["poam-items"] = std::move(items);

  Json document;
  document["plan-of-action-and-milestones"] = std::move(poam);
  std::string text =
      document.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  const size_t at = text.find(kNilUuid);
  if (at == std::string::npos) {
    return absl::InternalError("OSCAL document: its UUID went missing");
  }
  ASSIGN_OR_RETURN(std::string uuid,
                   Uuid({"plan-of-action-and-milestones", Sha256Hex(text)}));
  text.replace(at, uuid.size(), uuid);
  return text;
}

// One document of `input`, built by `build`; nlohmann's exceptions end here.
absl::StatusOr<std::string> Document(
    const OscalInput& input, absl::StatusOr<std::string> (Builder::*build)()) {
  if (input.manifest == nullptr || input.policy == nullptr ||
      input.grades == nullptr || input.host_checks == nullptr) {
    return absl::InvalidArgumentError(
        "OSCAL document: manifest, policy, grades and host_checks are all "
        "required");
  }
  try {
    Builder builder(input);
    return (builder.*build)();
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("OSCAL document: ", std::string(e.what())));
  }
}

}  // namespace

absl::StatusOr<std::string> AssessmentResultsJson(const OscalInput& input) {
  return Document(input, &Builder::Build);
}

absl::StatusOr<std::string> PoamJson(const OscalInput& input) {
  return Document(input, &Builder::BuildPoam);
}

}  // namespace evidentia::collector
