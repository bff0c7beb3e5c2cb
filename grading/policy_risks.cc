// The risk register the SoA names (grading/policy_parse.h): risks and
// requirements, each relying only on controls the SoA marks applicable.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "grading/policy.h"
#include "grading/policy_parse.h"
#include "yaml-cpp/yaml.h"

namespace evidentia::policy {

bool IsRiskId(std::string_view id) {
  if (id.empty() || id.size() > 32 || id.front() == '-' || id.back() == '-') {
    return false;
  }
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') {
      return false;
    }
  }
  return true;
}

namespace internal {
namespace {

const std::vector<absl::string_view>& Treatments() {
  static const auto* kTreatments =
      new std::vector<absl::string_view>{"modify", "retain", "avoid", "share"};
  return *kTreatments;
}

const std::vector<absl::string_view>& Sources() {
  static const auto* kSources = new std::vector<absl::string_view>{
      "legal", "regulatory", "contractual", "business"};
  return *kSources;
}

// What the register is checked against, and the ids it has used so far.
class RegisterParser {
 public:
  RegisterParser(const YamlFile& file, PolicySet* set)
      : file_(file), set_(set) {}

  absl::Status Parse(const YAML::Node& root);

 private:
  absl::Status ParseRisk(const YAML::Node& node);
  absl::Status ParseRequirement(const YAML::Node& node);
  // The id of `map` (`what`: "a risk"): well formed and not used before.
  absl::StatusOr<std::string> Id(const Mapping& map, absl::string_view what);
  // The control ids under `node`, each in the catalogue and applicable in
  // the SoA; `who` ("risk R-03") names the item in messages.
  absl::StatusOr<std::vector<std::string>> Controls(const YAML::Node& node,
                                                    absl::string_view who);

  const YamlFile& file_;
  PolicySet* set_;
  std::map<std::string, int> ids_;  // id -> line where it was defined
};

absl::Status RegisterParser::Parse(const YAML::Node& root) {
  if (!root.IsDefined() || root.IsNull()) {
    return file_.ErrorAtLine(1, "empty: the risk register needs \"risks\"");
  }
  ASSIGN_OR_RETURN(Mapping top, ReadMapping(file_, root, "the risk register",
                                            {"risks", "requirements"}));
  ASSIGN_OR_RETURN(YAML::Node risks,
                   Require(file_, top, "risks", "the risk register"));
  if (!risks.IsSequence()) {
    return file_.Error(risks, "\"risks\" must be a list");
  }
  for (YAML::const_iterator it = risks.begin(); it != risks.end(); ++it) {
    RETURN_IF_ERROR(ParseRisk(*it));
  }
  if (const MapEntry* requirements = top.Find("requirements")) {
    if (!requirements->value.IsSequence()) {
      return file_.Error(requirements->value,
                         "\"requirements\" must be a list");
    }
    for (YAML::const_iterator it = requirements->value.begin();
         it != requirements->value.end(); ++it) {
      RETURN_IF_ERROR(ParseRequirement(*it));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RegisterParser::Id(const Mapping& map,
                                               absl::string_view what) {
  ASSIGN_OR_RETURN(std::string id, RequireText(file_, map, "id", what));
  const YAML::Node node = map.Find("id")->value;
  if (!IsRiskId(id)) {
    return file_.Error(
        node, absl::StrCat("malformed id \"", id,
                           "\" (letters, digits and '-', such as R-01)"));
  }
  const auto [seen, inserted] = ids_.emplace(id, YamlFile::Line(node));
  if (!inserted) {
    return file_.Error(node,
                       absl::StrCat("duplicate id \"", id, "\" (first at line ",
                                    seen->second, ")"));
  }
  return id;
}

absl::StatusOr<std::vector<std::string>> RegisterParser::Controls(
    const YAML::Node& node, absl::string_view who) {
  ASSIGN_OR_RETURN(
      auto list, ReadList(file_, node, absl::StrCat("\"controls\" of ", who)));
  for (const auto& [id, id_node] : list) {
    const SoaEntry* row = set_->FindSoaEntry(id);
    if (row == nullptr) {
      return file_.Error(id_node,
                         absl::StrCat(who, " names unknown control \"", id,
                                      "\" (not in ", kCatalogueFile, ")"));
    }
    if (!row->applicable) {
      return file_.Error(
          id_node,
          absl::StrCat(who, " relies on ", id,
                       ", which the SoA marks not applicable (",
                       row->location.file, ":", row->location.line, ")"));
    }
  }
  return Values(list);
}

absl::Status RegisterParser::ParseRisk(const YAML::Node& node) {
  ASSIGN_OR_RETURN(
      Mapping map,
      ReadMapping(
          file_, node, "a risk",
          {"id", "asset", "threat", "vulnerability", "likelihood", "impact",
           "owner", "treatment", "controls", "residual_likelihood",
           "residual_impact", "accepted_by", "accepted_on"}));
  Risk risk;
  risk.location = SourceLocation{file_.name(), YamlFile::Line(node)};
  ASSIGN_OR_RETURN(risk.id, Id(map, "a risk"));
  const std::string who = absl::StrCat("risk ", risk.id);
  ASSIGN_OR_RETURN(risk.asset, RequireText(file_, map, "asset", who));
  ASSIGN_OR_RETURN(risk.threat, RequireText(file_, map, "threat", who));
  ASSIGN_OR_RETURN(risk.vulnerability,
                   RequireText(file_, map, "vulnerability", who));
  ASSIGN_OR_RETURN(risk.owner, RequireText(file_, map, "owner", who));
  const auto level = [&](absl::string_view key) -> absl::StatusOr<int> {
    ASSIGN_OR_RETURN(YAML::Node value, Require(file_, map, key, who));
    return ReadInteger(file_, value, absl::StrCat("\"", key, "\" of ", who), 1,
                       5);
  };
  ASSIGN_OR_RETURN(risk.likelihood, level("likelihood"));
  ASSIGN_OR_RETURN(risk.impact, level("impact"));
  ASSIGN_OR_RETURN(risk.residual_likelihood, level("residual_likelihood"));
  ASSIGN_OR_RETURN(risk.residual_impact, level("residual_impact"));

  ASSIGN_OR_RETURN(risk.treatment, RequireText(file_, map, "treatment", who));
  const YAML::Node treatment = map.Find("treatment")->value;
  if (!IsOneOf(risk.treatment, Treatments())) {
    return file_.Error(
        treatment,
        absl::StrCat("unknown treatment \"", risk.treatment, "\" of ", who,
                     " (known: ", absl::StrJoin(Treatments(), ", "), ")"));
  }
  if (const MapEntry* e = map.Find("controls")) {
    if (risk.treatment == "retain" || risk.treatment == "avoid") {
      return file_.Error(
          e->key_node,
          absl::StrCat(who, " is to ", risk.treatment,
                       ": it names no controls (only modify and share do)"));
    }
    ASSIGN_OR_RETURN(risk.controls, Controls(e->value, who));
  }
  if (risk.treatment == "modify" && risk.controls.empty()) {
    return file_.Error(node, absl::StrCat(who,
                                          " is to modify: it needs the "
                                          "controls that treat it (controls)"));
  }

  const MapEntry* by = map.Find("accepted_by");
  const MapEntry* on = map.Find("accepted_on");
  if ((by == nullptr) != (on == nullptr)) {
    return file_.Error(
        by != nullptr ? by->key_node : on->key_node,
        absl::StrCat(who, ": accepted_by and accepted_on go together"));
  }
  if (by != nullptr) {
    ASSIGN_OR_RETURN(
        risk.accepted_by,
        ReadText(file_, by->value, absl::StrCat("\"accepted_by\" of ", who)));
    ASSIGN_OR_RETURN(
        risk.accepted_on,
        ReadScalar(file_, on->value, absl::StrCat("\"accepted_on\" of ", who)));
    RETURN_IF_ERROR(
        ReadDate(file_, on->value, absl::StrCat("\"accepted_on\" of ", who))
            .status());
  }
  set_->risks.push_back(std::move(risk));
  return absl::OkStatus();
}

absl::Status RegisterParser::ParseRequirement(const YAML::Node& node) {
  ASSIGN_OR_RETURN(Mapping map,
                   ReadMapping(file_, node, "a requirement",
                               {"id", "source", "text", "controls"}));
  Requirement requirement;
  requirement.location = SourceLocation{file_.name(), YamlFile::Line(node)};
  ASSIGN_OR_RETURN(requirement.id, Id(map, "a requirement"));
  const std::string who = absl::StrCat("requirement ", requirement.id);
  ASSIGN_OR_RETURN(requirement.source, RequireText(file_, map, "source", who));
  if (!IsOneOf(requirement.source, Sources())) {
    return file_.Error(
        map.Find("source")->value,
        absl::StrCat("unknown source \"", requirement.source, "\" of ", who,
                     " (known: ", absl::StrJoin(Sources(), ", "), ")"));
  }
  ASSIGN_OR_RETURN(requirement.text, RequireText(file_, map, "text", who));
  ASSIGN_OR_RETURN(YAML::Node controls, Require(file_, map, "controls", who));
  ASSIGN_OR_RETURN(requirement.controls, Controls(controls, who));
  if (requirement.controls.empty()) {
    return file_.Error(controls,
                       absl::StrCat(who, " needs at least one control"));
  }
  set_->requirements.push_back(std::move(requirement));
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseRiskRegister(const YamlFile& file, const YAML::Node& root,
                               PolicySet* set) {
  set->has_risk_register = true;
  return RegisterParser(file, set).Parse(root);
}

}  // namespace internal
}  // namespace evidentia::policy
