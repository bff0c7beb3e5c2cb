// The policy set: the Annex A catalogue, the checks (conditions on probe
// facts, as data), and the organisation's Statement of Applicability with
// its settings and grading thresholds. Loaded once, validated completely,
// immutable afterwards (safe to share between threads). The file formats
// are written down in policies/README.md.
#ifndef EVIDENTIA_GRADING_POLICY_H_
#define EVIDENTIA_GRADING_POLICY_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "evidentia/v1/facts.pb.h"

namespace evidentia::policy {

// Where a definition came from, for messages ("checks/linux.yaml:42").
struct SourceLocation {
  std::string file;  // relative to the policies directory, or the SoA path
  int line = 0;      // 1-based
};

// One Annex A control of the catalogue.
struct Control {
  std::string id;     // "a.5.1" ... "a.8.34"
  std::string theme;  // organizational | people | physical | technological
  std::string title;
};

// One item of documented information a clause requires the organisation to
// keep (policies/iso27001-2022-clauses.yaml).
struct RequiredDocument {
  std::string id;  // "risk-assessment-process": lower case, digits, '-'
  std::string title;
};

// Lower case letters, digits and '-', starting with a letter, not ending
// with '-', at most 64 characters: a document id.
bool IsDocumentId(std::string_view id);

// One clause of ISO/IEC 27001:2022 clauses 4 to 10.
struct Clause {
  std::string id;  // "4.3", "6.1.2", "10.2"
  std::string title;
  std::vector<RequiredDocument> documents;  // what Stage 1 asks to see
};

// The outcome of one check on one host's facts. Order matters: worse is
// greater.
enum class Verdict { kPass = 0, kWarn = 1, kFail = 2 };

// One test on one field of the subject (the whole facts message, or one
// element of a for_each/none_of list). See policies/README.md, "Conditions".
struct FieldTest {
  enum class Op {
    kEquals,        // field == values[0]
    kNotEquals,     // field != values[0]
    kIn,            // field is one of values
    kNotIn,         // field is none of values
    kInSetting,     // field is one of settings[setting]
    kNotInSetting,  // field is none of settings[setting]
    kOlderThan,     // unix-seconds field is older than `age` (0/absent: older)
    kYoungerThan,   // unix-seconds field is younger than `age`
    kLessThan,      // number (or count of a repeated field) < number
    kGreaterThan,   // number (or count of a repeated field) > number
    kEmpty,         // string or repeated field is empty (values[0] "true")
  };
  std::string field;  // dotted path below the subject, or "value" for the
                      // element itself when iterating a repeated scalar
  Op op = Op::kEquals;
  // Literals as written; compared with the field rendered as text (bools
  // "true"/"false", enums by value name, integers in decimal).
  std::vector<std::string> values;
  std::string setting;  // for k*Setting
  absl::Duration age;   // for kOlderThan / kYoungerThan
  double number = 0;    // for kLessThan / kGreaterThan
};

struct Rule {
  Verdict outcome = Verdict::kFail;  // kWarn or kFail
  // Reason template: "{mount_point} on {device} is not encrypted";
  // "{field|age}" renders a unix-seconds field as an age ("12 days").
  std::string reason;
  // Empty: one subject, the whole facts. Otherwise a dotted path to a
  // repeated field; each element is a subject (nested repeated fields are
  // flattened, and placeholders fall back to the enclosing elements).
  std::string for_each;
  // When true, the rule fires once if *no* element of `for_each` passes all
  // `when` tests (e.g. "no product installed and running").
  bool none_of = false;
  std::vector<FieldTest> when;  // all must hold; empty holds
  // The rule fires only when grading at or after this moment (`from:
  // YYYY-MM-DD`, 00:00 UTC): dated facts of the world such as a release's
  // end of life. InfinitePast when not given.
  absl::Time from = absl::InfinitePast();
  SourceLocation location;
};

struct Check {
  std::string id;  // "linux.disk_encryption.fixed_volumes"
  std::string title;
  std::string probe;                   // "linux.disk_encryption"
  std::vector<std::string> platforms;  // "linux", ...
  std::vector<std::string> controls;   // "a.8.24", ...
  std::string severity;                // low | medium | high | critical
  absl::Duration stale_after;          // evidence older than this is stale
  std::vector<Rule> rules;
  SourceLocation location;
};

// One row of the Statement of Applicability.
struct SoaEntry {
  std::string control_id;
  bool applicable = true;
  std::string justification;
  std::string owner;
  std::string
      implementation;  // implemented | partial | planned | not_implemented
  // Check ids, and/or "manual" for documents uploaded by the operator.
  std::vector<std::string> evidence;
  SourceLocation location;
};

// Thresholds of the grade rules (policies/README.md, "Grades").
struct GradingThresholds {
  // A host not heard from for longer is silent: a finding against a.5.9 and
  // all its evidence is stale.
  absl::Duration max_silence = absl::Hours(26);
  // Share (0..1] of in-scope hosts failing a control at which the grade is
  // a major nonconformity rather than minor.
  double major_failure_share = 0.5;
  // Manual evidence expiring within this is an opportunity for improvement.
  absl::Duration manual_expiry_warning = absl::Hours(24 * 30);
  // A snapshot claiming a collection time further than this after the
  // collector received it (an agent clock running ahead) is a security
  // event. Evidence is dated by the earlier of the agent's claim and the
  // collector's receive time either way, so it never looks fresher.
  absl::Duration max_clock_skew = absl::Minutes(5);
  // A corrective action on a control with host evidence is effective only
  // once every affected host has passed the control's checks in at least
  // `effective_after_passes` (>= 1) consecutive snapshots received after
  // the action was opened, the first and last of them at least
  // `effective_after_period` (>= 0) apart.
  int effective_after_passes = 3;
  absl::Duration effective_after_period = absl::Hours(24);
};

// One risk of the risk register (policies/README.md, "The risk register"):
// what could go wrong, how bad it is before and after treatment, and which
// Annex A controls treat it.
struct Risk {
  std::string id;             // "R-01": letters, digits and '-'
  std::string asset;          // the asset or process at risk
  std::string threat;         // what could happen to it
  std::string vulnerability;  // the weakness the threat would exploit
  int likelihood = 1;         // 1 (rare) .. 5 (almost certain), before
  int impact = 1;             // 1 (negligible) .. 5 (severe), before
  std::string owner;          // who owns the risk and accepts what remains
  std::string treatment;      // modify | retain | avoid | share
  // Annex A control ids the treatment relies on: at least one for modify,
  // allowed for share, none for retain and avoid. Each is applicable in
  // the SoA (the loader refuses a set where one is not).
  std::vector<std::string> controls;
  int residual_likelihood = 1;  // 1..5, after treatment
  int residual_impact = 1;      // 1..5, after treatment
  // Who accepted the residual risk and when (YYYY-MM-DD); both empty when
  // it is not accepted yet.
  std::string accepted_by;
  std::string accepted_on;
  SourceLocation location;
};

// A requirement that justifies controls without a risk: a law, regulation,
// contract or business decision (ISO/IEC 27001 6.1.3 d, 4.2).
struct Requirement {
  std::string id;      // "L-01": letters, digits and '-'
  std::string source;  // legal | regulatory | contractual | business
  std::string text;    // what is required, a sentence
  std::vector<std::string> controls;  // at least one, each applicable
  SourceLocation location;
};

// Letters, digits and '-', starting with a letter or digit, not ending
// with '-', at most 32 characters: a risk or requirement id.
bool IsRiskId(std::string_view id);

struct PolicySet {
  std::vector<Control> catalogue;  // all 93, in catalogue order
  std::vector<Check> checks;       // in file order
  std::vector<SoaEntry> soa;       // one per catalogue control, same order
  // Clauses 4 to 10 in order; empty when the policies have no clause
  // catalogue (bundles written before it existed).
  std::vector<Clause> clauses;
  std::string organisation;
  // Organisation settings: named lists (e.g. sudo_allowed: [alice, bob]).
  std::map<std::string, std::vector<std::string>> settings;
  GradingThresholds grading;
  // The risk register the SoA names (`risk_register:`), in file order;
  // has_risk_register is false, and both are empty, when it names none.
  std::vector<Risk> risks;
  std::vector<Requirement> requirements;
  bool has_risk_register = false;
  // SHA-256 (hex) over every file loaded: for each, in path order, its
  // relative path, NUL, its length in decimal, NUL, its bytes.
  std::string sha256;
  // Every file loaded, exactly as read: first the catalogues and checks in
  // path order, by their path below the policies directory
  // ("checks/linux.yaml"); then the risk register, if any, by its path
  // relative to the SoA's directory, with `soa` and `risk_register` set;
  // last the SoA by its file name with `soa` set. What an auditor bundle
  // ships (the files with `soa` set beside the SoA), so the grades can be
  // recomputed from it.
  struct SourceFile {
    std::string path;
    std::string bytes;
    bool soa = false;  // ships beside the SoA: the SoA or its register
    bool risk_register = false;  // the risk register (soa is set too)
  };
  std::vector<SourceFile> sources;

  const Check* FindCheck(const std::string& id) const;
  const Control* FindControl(const std::string& id) const;
  const SoaEntry* FindSoaEntry(const std::string& control_id) const;
  const Clause* FindClause(const std::string& id) const;
};

// The files of a policy set as read, before parsing.
struct PolicyTexts {
  std::string catalogue;  // iso27001-2022.yaml
  // iso27001-2022-clauses.yaml; nullopt when there is none.
  std::optional<std::string> clauses;
  // checks/*.yaml: each file's name below checks/ ("linux.yaml") and bytes;
  // any order (they are parsed in name order).
  std::vector<std::pair<std::string, std::string>> checks;
  std::string soa_path;  // in messages; its file name in `sources`
  std::string soa;
  // The risk register the SoA names (`risk_register: risks.yaml`), as read;
  // nullopt when the SoA names none, or when it could not be read (then
  // ParsePolicySet says NOT_FOUND).
  std::optional<std::string> risks;
  // The register's path in messages; empty: the SoA's directory joined with
  // the name the SoA gives. In `sources` it is always that name.
  std::string risks_path;
};

// Parses and validates `texts` exactly as LoadPolicySet does the files it
// reads, with the same errors: LoadPolicySet without the file system (for
// tests and fuzzing). NOT_FOUND only when the SoA names a risk register and
// `texts.risks` is nullopt; INVALID_ARGUMENT when `texts.risks` is given
// and the SoA names none.
absl::StatusOr<PolicySet> ParsePolicySet(PolicyTexts texts);

// Loads `policies_dir`/iso27001-2022.yaml, the clause catalogue
// `policies_dir`/iso27001-2022-clauses.yaml when there is one, every
// `policies_dir`/checks/*.yaml, the SoA at `soa_file` and the risk register
// it names (beside it) when it names one, and validates all of it.
// INVALID_ARGUMENT with "FILE:LINE: what is wrong" for the first mistake:
// malformed YAML, an unknown key, probe, facts field, control or check id,
// a malformed duration or number, a duplicate id, a catalogue control
// missing from the SoA, a risk or requirement relying on a control the SoA
// marks not applicable. NOT_FOUND when a file is missing (a missing risk
// register only once the SoA itself is valid).
absl::StatusOr<PolicySet> LoadPolicySet(
    const std::filesystem::path& policies_dir,
    const std::filesystem::path& soa_file);

// What a check concluded about one host's facts at one moment.
struct CheckResult {
  Verdict verdict = Verdict::kPass;
  // One sentence per fired rule, worst first, each a person can act on.
  std::vector<std::string> reasons;
  // The verdict can only change after this moment for the same facts (an
  // age condition flips then); InfiniteFuture when no rule depends on time.
  absl::Time valid_until = absl::InfiniteFuture();
};

// Evaluates `check` on `facts` as of `now` with `settings`. Facts of
// another probe's kind yield kFail with a reason saying so; never crashes.
CheckResult Evaluate(
    const Check& check, const v1::Facts& facts, absl::Time now,
    const std::map<std::string, std::vector<std::string>>& settings);

// The Facts field (oneof member) that carries `probe`'s facts, or null for
// an unknown probe. E.g. "linux.disk_encryption" -> Facts.disk_encryption.
const google::protobuf::FieldDescriptor* FactsFieldForProbe(
    const std::string& probe);

}  // namespace evidentia::policy

#endif  // EVIDENTIA_GRADING_POLICY_H_
