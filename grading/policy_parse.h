// The policy engine's readers, internal to it (grading/policy.h is the
// API): checked access to a YAML document with FILE:LINE errors
// (policy_yaml.cc), and the parsers of the kinds of file LoadPolicySet
// (policy_loader.cc) reads: the catalogue (policy_catalogue.cc), the checks
// (policy_checks.cc), the SoA (policy_soa.cc) and the risk register it
// names (policy_risks.cc). yaml-cpp throws: callers run the parsers in
// Guarded.
#ifndef EVIDENTIA_GRADING_POLICY_PARSE_H_
#define EVIDENTIA_GRADING_POLICY_PARSE_H_

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grading/policy.h"
#include "yaml-cpp/yaml.h"

namespace evidentia::policy::internal {

// Below the policies directory.
inline constexpr char kCatalogueFile[] = "iso27001-2022.yaml";
inline constexpr char kClausesFile[] = "iso27001-2022-clauses.yaml";
inline constexpr char kChecksDir[] = "checks";

// One loaded file: its name in messages, and its parsed document.
class YamlFile {
 public:
  explicit YamlFile(std::string name) : name_(std::move(name)) {}

  const std::string& name() const { return name_; }

  // 1-based line of `node`, or 1 when yaml-cpp knows none.
  static int Line(const YAML::Node& node) {
    const YAML::Mark mark = node.Mark();
    return mark.is_null() ? 1 : mark.line + 1;
  }

  absl::Status ErrorAtLine(int line, absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(name_, ":", line, ": ", what));
  }
  absl::Status Error(const YAML::Node& node, absl::string_view what) const {
    return ErrorAtLine(Line(node), what);
  }

 private:
  std::string name_;
};

// A YAML mapping with its keys checked: scalar, known, not repeated.
struct MapEntry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};
struct Mapping {
  YAML::Node node;
  std::vector<MapEntry> entries;  // in document order

  const MapEntry* Find(absl::string_view key) const {
    for (const MapEntry& entry : entries) {
      if (entry.key == key) return &entry;
    }
    return nullptr;
  }
};

// Reads `node` as a mapping (`what` names it in messages). With `allowed`
// non-empty, a key outside it is refused. Duplicate keys are refused.
absl::StatusOr<Mapping> ReadMapping(
    const YamlFile& file, const YAML::Node& node, absl::string_view what,
    const std::vector<absl::string_view>& allowed);

// A scalar (not null, not a list or mapping); `what` names it.
absl::StatusOr<std::string> ReadScalar(const YamlFile& file,
                                       const YAML::Node& node,
                                       absl::string_view what);

// A non-empty scalar.
absl::StatusOr<std::string> ReadText(const YamlFile& file,
                                     const YAML::Node& node,
                                     absl::string_view what);

// The value of required key `key` of `map`.
absl::StatusOr<YAML::Node> Require(const YamlFile& file, const Mapping& map,
                                   absl::string_view key,
                                   absl::string_view what);

absl::StatusOr<std::string> RequireText(const YamlFile& file,
                                        const Mapping& map,
                                        absl::string_view key,
                                        absl::string_view what);

absl::StatusOr<bool> ReadBool(const YamlFile& file, const YAML::Node& node,
                              absl::string_view what);

absl::StatusOr<absl::Duration> ReadDuration(const YamlFile& file,
                                            const YAML::Node& node,
                                            absl::string_view what);

// A calendar date, YYYY-MM-DD, as 00:00 UTC of that day.
absl::StatusOr<absl::Time> ReadDate(const YamlFile& file,
                                    const YAML::Node& node,
                                    absl::string_view what);

absl::StatusOr<double> ReadNumber(const YamlFile& file, const YAML::Node& node,
                                  absl::string_view what);

// A whole number in decimal digits (no sign, no exponent) from `min` to
// `max`.
absl::StatusOr<int> ReadInteger(const YamlFile& file, const YAML::Node& node,
                                absl::string_view what, int min, int max);

// A list of non-empty scalars, each with its node (for line numbers).
// Duplicates are refused.
absl::StatusOr<std::vector<std::pair<std::string, YAML::Node>>> ReadList(
    const YamlFile& file, const YAML::Node& node, absl::string_view what);

std::vector<std::string> Values(
    const std::vector<std::pair<std::string, YAML::Node>>& list);

bool IsOneOf(absl::string_view value,
             const std::vector<absl::string_view>& allowed);

// "a." followed by a section 5..8, ".", a number without leading zero.
bool IsControlId(absl::string_view id);

// Lowercase letters, digits, '_' and '.', starting with a letter, no empty
// dot-separated part.
bool IsCheckId(absl::string_view id);

// Parses `text` as exactly one YAML document. Throws nothing. Not with
// YAML::LoadAll: yaml-cpp 0.7 (Debian 12) loops there forever on some
// malformed input (" ,#[c"), allocating until the OOM killer comes
// (jbeder/yaml-cpp#1319, fixed in 0.8.0); a bundle's policies are outside
// input. So one YAML::Load, and a count of documents that stops at two.
absl::StatusOr<YAML::Node> ParseYaml(const YamlFile& file,
                                     const std::string& text);

// Runs `parse` and turns any exception yaml-cpp throws while walking the
// document into INVALID_ARGUMENT naming the file and line.
absl::Status Guarded(const YamlFile& file,
                     const std::function<absl::Status()>& parse);

// A setting named by a check, resolved once the SoA is read.
struct SettingUse {
  std::string name;
  std::string file;
  int line = 0;
};

// The catalogue of controls (iso27001-2022.yaml).
absl::Status ParseCatalogue(const YamlFile& file, const YAML::Node& root,
                            std::vector<Control>* catalogue);

// The clauses 4 to 10 and the documents each requires
// (iso27001-2022-clauses.yaml).
absl::Status ParseClauses(const YamlFile& file, const YAML::Node& root,
                          std::vector<Clause>* clauses);

// One checks file: its checks, their ids and where each is defined, and the
// settings they name (resolved against the SoA afterwards).
absl::Status ParseChecks(const YamlFile& file, const YAML::Node& root,
                         const std::set<std::string>& control_ids,
                         std::vector<Check>* checks,
                         std::map<std::string, SourceLocation>* check_ids,
                         std::vector<SettingUse>* settings);

// The risk register an SoA names (`risk_register:`), and where.
struct RiskRegisterRef {
  std::string name;  // relative to the SoA's directory; empty: none
  int line = 0;      // of the value in the SoA
};

// A risk register's name as the SoA may give it: a relative path of at
// most four '/'-separated parts, each of letters, digits, '.', '_' and
// '-' not starting with '.', at most 128 characters; so it stays beside
// the SoA, also in a bundle's soa/.
bool IsRiskRegisterPath(absl::string_view name);

// The Statement of Applicability, against the catalogue and the checks;
// the risk register it names in `risk_register` (its name empty when none).
absl::Status ParseSoa(const YamlFile& file, const YAML::Node& root,
                      const std::vector<Control>& catalogue,
                      const std::map<std::string, SourceLocation>& check_ids,
                      PolicySet* set, RiskRegisterRef* risk_register);

// The name of the risk register the SoA text `soa` names, when it is well
// formed (IsRiskRegisterPath) and the text is a YAML mapping; nullopt
// otherwise (ParseSoa then says what is wrong). Throws nothing. For
// LoadPolicySet, which reads the register before parsing.
std::optional<std::string> RiskRegisterNamedBy(const std::string& soa);

// The risk register: its risks and requirements into `set` (and
// has_risk_register set), against the catalogue and the SoA already there.
absl::Status ParseRiskRegister(const YamlFile& file, const YAML::Node& root,
                               PolicySet* set);

}  // namespace evidentia::policy::internal

#endif  // EVIDENTIA_GRADING_POLICY_PARSE_H_
