// The Statement of Applicability (grading/policy_parse.h).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/files.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "google/protobuf/descriptor.h"
#include "grading/policy.h"
#include "grading/policy_internal.h"
#include "grading/policy_parse.h"
#include "yaml-cpp/anchor.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/yaml.h"

namespace evidentia::policy::internal {
using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;

// ---------------------------------------------------------------------------
// The Statement of Applicability
// ---------------------------------------------------------------------------

namespace {

constexpr char kRiskRegisterKey[] = "risk_register";

// "0s", "0m", "0h" or "0d": a period that may be zero.
absl::StatusOr<absl::Duration> ReadPeriod(const YamlFile& file,
                                          const YAML::Node& node,
                                          absl::string_view what) {
  if (node.IsScalar() && node.Scalar().size() == 2 && node.Scalar()[0] == '0' &&
      absl::string_view("smhd").find(node.Scalar()[1]) !=
          absl::string_view::npos) {
    return absl::ZeroDuration();
  }
  return ReadDuration(file, node, what);
}

}  // namespace

bool IsRiskRegisterPath(absl::string_view name) {
  return IsPlainRelativePath(std::string_view(name.data(), name.size()), 4,
                             128);
}

std::optional<std::string> RiskRegisterNamedBy(const std::string& soa) {
  try {
    absl::StatusOr<YAML::Node> root = ParseYaml(YamlFile("soa"), soa);
    if (!root.ok() || !root->IsMap()) return std::nullopt;
    for (YAML::const_iterator it = root->begin(); it != root->end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == kRiskRegisterKey) {
        if (!it->second.IsScalar() ||
            !IsRiskRegisterPath(it->second.Scalar())) {
          return std::nullopt;
        }
        return it->second.Scalar();
      }
    }
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

absl::Status ParseSoa(const YamlFile& file, const YAML::Node& root,
                      const std::vector<Control>& catalogue,
                      const std::map<std::string, SourceLocation>& check_ids,
                      PolicySet* set, RiskRegisterRef* risk_register) {
  if (!root.IsDefined() || root.IsNull()) {
    return file.ErrorAtLine(1, "empty: the SoA needs \"controls\"");
  }
  ASSIGN_OR_RETURN(Mapping top,
                   ReadMapping(file, root, "the SoA",
                               {"organisation", "settings", "grading",
                                kRiskRegisterKey, "controls"}));
  ASSIGN_OR_RETURN(set->organisation,
                   RequireText(file, top, "organisation", "the SoA"));

  if (const MapEntry* e = top.Find(kRiskRegisterKey)) {
    ASSIGN_OR_RETURN(risk_register->name,
                     ReadText(file, e->value, "\"risk_register\""));
    risk_register->line = YamlFile::Line(e->value);
    const std::string own_name =
        std::filesystem::path(file.name()).filename().string();
    if (!IsRiskRegisterPath(risk_register->name) ||
        risk_register->name == own_name) {
      return file.Error(
          e->value,
          absl::StrCat("malformed \"risk_register\" \"", risk_register->name,
                       "\": want a file beside the SoA (or below its "
                       "directory), other than the SoA, named with letters, "
                       "digits, '.', '_', '-' and '/', such as risks.yaml"));
    }
  }

  if (const MapEntry* settings = top.Find("settings")) {
    if (!settings->value.IsNull()) {
      ASSIGN_OR_RETURN(Mapping map,
                       ReadMapping(file, settings->value, "\"settings\"", {}));
      for (const MapEntry& entry : map.entries) {
        if (entry.value.IsNull()) {  // "name:" alone: an empty list
          set->settings[entry.key] = {};
          continue;
        }
        ASSIGN_OR_RETURN(auto list, ReadList(file, entry.value,
                                             absl::StrCat("the setting \"",
                                                          entry.key, "\"")));
        set->settings[entry.key] = Values(list);
      }
    }
  }

  if (const MapEntry* grading = top.Find("grading")) {
    ASSIGN_OR_RETURN(
        Mapping map,
        ReadMapping(file, grading->value, "\"grading\"",
                    {"max_silence", "major_failure_share",
                     "manual_expiry_warning", "max_clock_skew",
                     "effective_after_passes", "effective_after_period"}));
    if (const MapEntry* e = map.Find("max_silence")) {
      ASSIGN_OR_RETURN(set->grading.max_silence,
                       ReadDuration(file, e->value, "\"max_silence\""));
    }
    if (const MapEntry* e = map.Find("max_clock_skew")) {
      ASSIGN_OR_RETURN(set->grading.max_clock_skew,
                       ReadDuration(file, e->value, "\"max_clock_skew\""));
    }
    if (const MapEntry* e = map.Find("manual_expiry_warning")) {
      ASSIGN_OR_RETURN(
          set->grading.manual_expiry_warning,
          ReadDuration(file, e->value, "\"manual_expiry_warning\""));
    }
    if (const MapEntry* e = map.Find("effective_after_passes")) {
      ASSIGN_OR_RETURN(set->grading.effective_after_passes,
                       ReadInteger(file, e->value, "\"effective_after_passes\"",
                                   1, 1000000));
    }
    if (const MapEntry* e = map.Find("effective_after_period")) {
      ASSIGN_OR_RETURN(
          set->grading.effective_after_period,
          ReadPeriod(file, e->value, "\"effective_after_period\""));
    }
    if (const MapEntry* e = map.Find("major_failure_share")) {
      ASSIGN_OR_RETURN(double share,
                       ReadNumber(file, e->value, "\"major_failure_share\""));
      if (!(share > 0 && share <= 1)) {
        return file.Error(e->value,
                          absl::StrCat("\"major_failure_share\" must be in "
                                       "(0, 1], not ",
                                       e->value.Scalar()));
      }
      set->grading.major_failure_share = share;
    }
  }

  const MapEntry* controls_entry = top.Find("controls");
  if (controls_entry == nullptr) {
    return file.Error(root, "the SoA lacks the key \"controls\"");
  }
  const YAML::Node controls = controls_entry->value;
  if (!controls.IsSequence()) {
    return file.Error(controls, "\"controls\" must be a list");
  }
  static const std::vector<absl::string_view> kImplementation = {
      "implemented", "partial", "planned", "not_implemented"};
  std::map<std::string, SoaEntry> rows;
  std::set<std::string> catalogue_ids;
  for (const Control& control : catalogue) catalogue_ids.insert(control.id);
  for (YAML::const_iterator it = controls.begin(); it != controls.end(); ++it) {
    const YAML::Node node = *it;
    ASSIGN_OR_RETURN(Mapping map,
                     ReadMapping(file, node, "an SoA row",
                                 {"control", "applicable", "justification",
                                  "owner", "implementation", "evidence"}));
    SoaEntry row;
    row.location = SourceLocation{file.name(), YamlFile::Line(node)};
    ASSIGN_OR_RETURN(row.control_id,
                     RequireText(file, map, "control", "an SoA row"));
    const YAML::Node id_node = map.Find("control")->value;
    if (catalogue_ids.count(row.control_id) == 0) {
      return file.Error(id_node,
                        absl::StrCat("unknown control \"", row.control_id,
                                     "\" (not in ", kCatalogueFile, ")"));
    }
    if (auto seen = rows.find(row.control_id); seen != rows.end()) {
      return file.Error(id_node, absl::StrCat("control ", row.control_id,
                                              " appears twice (first at line ",
                                              seen->second.location.line, ")"));
    }
    const std::string what = absl::StrCat("SoA row ", row.control_id);
    ASSIGN_OR_RETURN(YAML::Node applicable,
                     Require(file, map, "applicable", what));
    ASSIGN_OR_RETURN(row.applicable,
                     ReadBool(file, applicable, "\"applicable\""));
    if (const MapEntry* e = map.Find("justification")) {
      if (!e->value.IsNull()) {
        ASSIGN_OR_RETURN(row.justification,
                         ReadScalar(file, e->value, "\"justification\""));
      }
    }
    if (const MapEntry* e = map.Find("owner")) {
      ASSIGN_OR_RETURN(row.owner, ReadText(file, e->value, "\"owner\""));
    }
    if (const MapEntry* e = map.Find("implementation")) {
      ASSIGN_OR_RETURN(row.implementation,
                       ReadText(file, e->value, "\"implementation\""));
      if (!IsOneOf(row.implementation, kImplementation)) {
        return file.Error(
            e->value, absl::StrCat("unknown implementation \"",
                                   row.implementation, "\" (known: ",
                                   absl::StrJoin(kImplementation, ", "), ")"));
      }
    }
    if (const MapEntry* e = map.Find("evidence")) {
      ASSIGN_OR_RETURN(auto evidence, ReadList(file, e->value, "\"evidence\""));
      for (const auto& [source, source_node] : evidence) {
        if (source != "manual" && check_ids.count(source) == 0) {
          return file.Error(source_node,
                            absl::StrCat("unknown check \"", source,
                                         "\" in evidence (a check id of "
                                         "checks/*.yaml, or manual)"));
        }
      }
      row.evidence = Values(evidence);
    }
    if (row.applicable && row.evidence.empty()) {
      return file.Error(node,
                        absl::StrCat("applicable control ", row.control_id,
                                     " needs at least one evidence "
                                     "source (check ids or manual)"));
    }
    if (!row.applicable &&
        absl::StripAsciiWhitespace(row.justification).empty()) {
      return file.Error(node, absl::StrCat("control ", row.control_id,
                                           " is not applicable and needs a "
                                           "justification"));
    }
    rows.emplace(row.control_id, std::move(row));
  }
  for (const Control& control : catalogue) {
    auto row = rows.find(control.id);
    if (row == rows.end()) {
      return file.Error(
          controls_entry->key_node,
          absl::StrCat("control ", control.id, " (", control.title,
                       ") of the catalogue is missing from the SoA ",
                       file.name()));
    }
    set->soa.push_back(std::move(row->second));
  }
  return absl::OkStatus();
}

}  // namespace evidentia::policy::internal
