// The catalogue of controls (grading/policy_parse.h).
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
// ---------------------------------------------------------------------------
// The catalogue
// ---------------------------------------------------------------------------

absl::Status ParseCatalogue(const YamlFile& file, const YAML::Node& root,
                            std::vector<Control>* catalogue) {
  if (!root.IsDefined() || root.IsNull()) {
    return file.ErrorAtLine(1, "empty: the catalogue needs \"controls\"");
  }
  ASSIGN_OR_RETURN(Mapping top,
                   ReadMapping(file, root, "the catalogue", {"controls"}));
  ASSIGN_OR_RETURN(YAML::Node controls,
                   Require(file, top, "controls", "the catalogue"));
  if (!controls.IsSequence() || controls.size() == 0) {
    return file.Error(controls, "\"controls\" must be a non-empty list");
  }
  static const std::vector<absl::string_view> kThemes = {
      "organizational", "people", "physical", "technological"};
  std::set<std::string> ids;
  for (YAML::const_iterator it = controls.begin(); it != controls.end(); ++it) {
    ASSIGN_OR_RETURN(Mapping map, ReadMapping(file, *it, "a control",
                                              {"id", "theme", "title"}));
    Control control;
    ASSIGN_OR_RETURN(control.id, RequireText(file, map, "id", "a control"));
    const YAML::Node id_node = map.Find("id")->value;
    if (!IsControlId(control.id)) {
      return file.Error(id_node,
                        absl::StrCat("malformed control id \"", control.id,
                                     "\" (want a.5.1 ... a.8.34)"));
    }
    if (!ids.insert(control.id).second) {
      return file.Error(
          id_node, absl::StrCat("duplicate control id \"", control.id, "\""));
    }
    ASSIGN_OR_RETURN(control.theme,
                     RequireText(file, map, "theme", "a control"));
    if (!IsOneOf(control.theme, kThemes)) {
      return file.Error(
          map.Find("theme")->value,
          absl::StrCat("unknown theme \"", control.theme,
                       "\" (known: ", absl::StrJoin(kThemes, ", "), ")"));
    }
    // Annex A groups controls by theme: 5 organizational ... 8 technological.
    const absl::string_view expected = kThemes[control.id[2] - '5'];
    if (control.theme != expected) {
      return file.Error(map.Find("theme")->value,
                        absl::StrCat("control ", control.id, " is ", expected,
                                     ", not ", control.theme));
    }
    ASSIGN_OR_RETURN(control.title,
                     RequireText(file, map, "title", "a control"));
    catalogue->push_back(std::move(control));
  }
  return absl::OkStatus();
}

}  // namespace evidentia::policy::internal
