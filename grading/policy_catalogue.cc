// The catalogue of controls, and of clauses 4 to 10
// (grading/policy_parse.h).
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
#include "absl/strings/str_split.h"
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

namespace {

// "4.1" ... "10.2", "6.1.2": two or three numbers, the first 4..10, none
// with a leading zero or empty. The numbers, or nullopt.
std::optional<std::vector<int>> ClauseNumbers(absl::string_view id) {
  std::vector<int> numbers;
  for (absl::string_view part : absl::StrSplit(id, '.')) {
    int number = 0;
    if (part.empty() || part.size() > 2 ||
        (part.size() > 1 && part[0] == '0') ||
        !absl::SimpleAtoi(part, &number) || !absl::ascii_isdigit(part[0]) ||
        !absl::ascii_isdigit(part.back())) {
      return std::nullopt;
    }
    numbers.push_back(number);
  }
  if (numbers.size() < 2 || numbers.size() > 3 || numbers[0] < 4 ||
      numbers[0] > 10 || numbers[1] < 1) {
    return std::nullopt;
  }
  return numbers;
}

}  // namespace

absl::Status ParseClauses(const YamlFile& file, const YAML::Node& root,
                          std::vector<Clause>* clauses) {
  if (!root.IsDefined() || root.IsNull()) {
    return file.ErrorAtLine(1, "empty: the clause catalogue needs \"clauses\"");
  }
  ASSIGN_OR_RETURN(Mapping top, ReadMapping(file, root, "the clause catalogue",
                                            {"clauses"}));
  ASSIGN_OR_RETURN(YAML::Node list,
                   Require(file, top, "clauses", "the clause catalogue"));
  if (!list.IsSequence() || list.size() == 0) {
    return file.Error(list, "\"clauses\" must be a non-empty list");
  }
  std::vector<int> previous;
  std::set<std::string> document_ids;
  for (YAML::const_iterator it = list.begin(); it != list.end(); ++it) {
    ASSIGN_OR_RETURN(Mapping map, ReadMapping(file, *it, "a clause",
                                              {"id", "title", "documents"}));
    Clause clause;
    ASSIGN_OR_RETURN(clause.id, RequireText(file, map, "id", "a clause"));
    const YAML::Node id_node = map.Find("id")->value;
    const std::optional<std::vector<int>> numbers = ClauseNumbers(clause.id);
    if (!numbers.has_value()) {
      return file.Error(id_node,
                        absl::StrCat("malformed clause id \"", clause.id,
                                     "\" (want 4.1 ... 10.2, or 6.1.2)"));
    }
    if (*numbers <= previous) {
      return file.Error(id_node, absl::StrCat("clause ", clause.id,
                                              " is out of order or repeated"));
    }
    previous = *numbers;
    ASSIGN_OR_RETURN(clause.title, RequireText(file, map, "title", "a clause"));
    if (const MapEntry* documents = map.Find("documents")) {
      if (!documents->value.IsSequence() || documents->value.size() == 0) {
        return file.Error(documents->value,
                          "\"documents\" must be a non-empty list");
      }
      for (YAML::const_iterator d = documents->value.begin();
           d != documents->value.end(); ++d) {
        ASSIGN_OR_RETURN(Mapping doc,
                         ReadMapping(file, *d, "a document", {"id", "title"}));
        RequiredDocument document;
        ASSIGN_OR_RETURN(document.id,
                         RequireText(file, doc, "id", "a document"));
        const YAML::Node doc_id = doc.Find("id")->value;
        if (!IsDocumentId(document.id)) {
          return file.Error(
              doc_id, absl::StrCat("malformed document id \"", document.id,
                                   "\" (lower case letters, digits and '-', "
                                   "starting with a letter)"));
        }
        if (!document_ids.insert(document.id).second) {
          return file.Error(doc_id, absl::StrCat("duplicate document id \"",
                                                 document.id, "\""));
        }
        ASSIGN_OR_RETURN(document.title,
                         RequireText(file, doc, "title", "a document"));
        clause.documents.push_back(std::move(document));
      }
    }
    clauses->push_back(std::move(clause));
  }
  return absl::OkStatus();
}

}  // namespace evidentia::policy::internal
