// Checks files: rules, tests and reasons checked against the probes'
// facts types (grading/policy_parse.h).
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
using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

// What a rule's tests and reason can address.
struct RuleScope {
  std::string probe;
  const Descriptor* facts = nullptr;  // the probe's facts message
  // The subject's message type, or null when the subject is an element of
  // a repeated scalar (then `element` is that field).
  const Descriptor* subject = nullptr;
  const FieldDescriptor* element = nullptr;
  // Message types a placeholder may fall back to, innermost first (the
  // subject's own type is not repeated here; the facts type is last).
  std::vector<const Descriptor*> fallbacks;
};

// A field a test or placeholder addresses: the whole field, or (element)
// one value of a repeated scalar.
struct Target {
  const FieldDescriptor* field = nullptr;
  bool element = false;  // "value" of a repeated scalar
  bool Repeated() const { return field->is_repeated() && !element; }
};

std::string DescribeType(const Target& target) {
  if (target.Repeated()) return "a repeated field";
  switch (target.field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL:
      return "a bool";
    case FieldDescriptor::CPPTYPE_ENUM:
      return absl::StrCat("an enum ", target.field->enum_type()->full_name());
    case FieldDescriptor::CPPTYPE_STRING:
      return "a string";
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return absl::StrCat("a message ",
                          target.field->message_type()->full_name());
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return "a number";
    default:
      return "an integer";
  }
}

// Resolves the field of a test against the subject.
absl::StatusOr<Target> ResolveTestField(const YamlFile& file,
                                        const YAML::Node& key,
                                        const RuleScope& scope,
                                        const std::string& path) {
  if (scope.element != nullptr) {
    if (path == "value") return Target{scope.element, true};
    return file.Error(
        key, absl::StrCat("\"", path, "\": the subjects are the elements of ",
                          scope.element->full_name(),
                          " (a list of values); test them as \"value\""));
  }
  absl::StatusOr<FieldPath> resolved =
      internal::ResolveFieldPath(scope.subject, path);
  if (!resolved.ok()) {
    return file.Error(
        key, absl::StrCat(resolved.status().message(), " (facts of ",
                          scope.probe, ": ", scope.facts->full_name(), ")"));
  }
  return Target{resolved->back(), false};
}

// Checks `literal` against the type of `target` and returns it in the form
// the evaluator compares (integers canonical decimal).
absl::StatusOr<std::string> CheckLiteral(const YamlFile& file,
                                         const YAML::Node& node,
                                         const std::string& path,
                                         const Target& target) {
  ASSIGN_OR_RETURN(
      std::string literal,
      ReadScalar(file, node, absl::StrCat("the literal for \"", path, "\"")));
  const FieldDescriptor* field = target.field;
  const auto wrong = [&](absl::string_view want) {
    return file.Error(
        node, absl::StrCat("\"", path, "\" is ", DescribeType(target), ": \"",
                           literal, "\" is not ", want));
  };
  if (target.Repeated() ||
      field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    return file.Error(
        node, absl::StrCat("\"", path, "\" is ", DescribeType(target),
                           " and cannot equal a literal (use less_than, "
                           "greater_than or empty on lists)"));
  }
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL:
      if (literal != "true" && literal != "false") {
        return wrong("true or false");
      }
      return literal;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const EnumValueDescriptor* value =
          field->enum_type()->FindValueByName(literal);
      if (value == nullptr) {
        std::vector<std::string> names;
        for (int i = 0; i < field->enum_type()->value_count(); ++i) {
          names.push_back(field->enum_type()->value(i)->name());
        }
        return wrong(absl::StrCat("one of its values (",
                                  absl::StrJoin(names, ", "), ")"));
      }
      return literal;
    }
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t n = 0;
      const bool fits = absl::SimpleAtoi(literal, &n) &&
                        (field->cpp_type() == FieldDescriptor::CPPTYPE_INT64 ||
                         (n >= std::numeric_limits<int32_t>::min() &&
                          n <= std::numeric_limits<int32_t>::max()));
      if (!fits) return wrong("a well-formed number in range");
      return absl::StrCat(n);
    }
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t n = 0;
      const bool fits = absl::SimpleAtoi(literal, &n) &&
                        (field->cpp_type() == FieldDescriptor::CPPTYPE_UINT64 ||
                         n <= std::numeric_limits<uint32_t>::max());
      if (!fits) return wrong("a well-formed number in range");
      return absl::StrCat(n);
    }
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double d = 0;
      if (!absl::SimpleAtod(literal, &d) || !std::isfinite(d)) {
        return wrong("a well-formed number");
      }
      return literal;
    }
    default:
      return literal;
  }
}

// Parses the tests of one `FIELD: TEST` entry of `when`.
absl::Status ParseTest(const YamlFile& file, const MapEntry& entry,
                       const RuleScope& scope, std::vector<FieldTest>* tests,
                       std::vector<SettingUse>* settings) {
  const std::string& path = entry.key;
  ASSIGN_OR_RETURN(Target target,
                   ResolveTestField(file, entry.key_node, scope, path));
  const FieldDescriptor* field = target.field;
  const bool scalar = !target.Repeated() &&
                      field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE;

  if (entry.value.IsScalar()) {
    FieldTest test;
    test.field = path;
    test.op = FieldTest::Op::kEquals;
    ASSIGN_OR_RETURN(std::string literal,
                     CheckLiteral(file, entry.value, path, target));
    test.values.push_back(std::move(literal));
    tests->push_back(std::move(test));
    return absl::OkStatus();
  }
  if (!entry.value.IsMap() || entry.value.size() == 0) {
    return file.Error(
        entry.value,
        absl::StrCat("the test of \"", path,
                     "\" must be a literal or a mapping such as {not: X}, "
                     "{in: [A, B]}, {older_than: 7d}"));
  }
  ASSIGN_OR_RETURN(
      Mapping ops,
      ReadMapping(
          file, entry.value, absl::StrCat("the test of \"", path, "\""),
          {"not", "in", "not_in", "in_setting", "not_in_setting", "older_than",
           "younger_than", "less_than", "greater_than", "empty"}));
  for (const MapEntry& op : ops.entries) {
    FieldTest test;
    test.field = path;
    const auto refuse = [&](absl::string_view why) {
      return file.Error(op.key_node,
                        absl::StrCat("\"", op.key, "\" does not apply to \"",
                                     path, "\", ", DescribeType(target), why));
    };
    if (op.key == "not") {
      test.op = FieldTest::Op::kNotEquals;
      ASSIGN_OR_RETURN(std::string literal,
                       CheckLiteral(file, op.value, path, target));
      test.values.push_back(std::move(literal));
    } else if (op.key == "in" || op.key == "not_in") {
      test.op = op.key == "in" ? FieldTest::Op::kIn : FieldTest::Op::kNotIn;
      if (!op.value.IsSequence() || op.value.size() == 0) {
        return file.Error(op.value,
                          absl::StrCat("\"", op.key, "\" of \"", path,
                                       "\" must be a non-empty list"));
      }
      for (YAML::const_iterator it = op.value.begin(); it != op.value.end();
           ++it) {
        ASSIGN_OR_RETURN(std::string literal,
                         CheckLiteral(file, *it, path, target));
        test.values.push_back(std::move(literal));
      }
    } else if (op.key == "in_setting" || op.key == "not_in_setting") {
      test.op = op.key == "in_setting" ? FieldTest::Op::kInSetting
                                       : FieldTest::Op::kNotInSetting;
      if (!scalar) return refuse("");
      ASSIGN_OR_RETURN(test.setting,
                       ReadText(file, op.value,
                                absl::StrCat("the setting of \"", path, "\"")));
      settings->push_back(
          SettingUse{test.setting, file.name(), YamlFile::Line(op.value)});
    } else if (op.key == "older_than" || op.key == "younger_than") {
      test.op = op.key == "older_than" ? FieldTest::Op::kOlderThan
                                       : FieldTest::Op::kYoungerThan;
      if (!scalar || !internal::IsIntegerField(field)) {
        return refuse(" (ages need an integer field of unix seconds)");
      }
      ASSIGN_OR_RETURN(
          test.age,
          ReadDuration(file, op.value, absl::StrCat("\"", op.key, "\"")));
    } else if (op.key == "less_than" || op.key == "greater_than") {
      test.op = op.key == "less_than" ? FieldTest::Op::kLessThan
                                      : FieldTest::Op::kGreaterThan;
      if (!target.Repeated() && !internal::IsIntegerField(field) &&
          !internal::IsFloatField(field)) {
        return refuse(" (compare numbers, or the count of a repeated field)");
      }
      ASSIGN_OR_RETURN(
          test.number,
          ReadNumber(file, op.value, absl::StrCat("\"", op.key, "\"")));
    } else {  // empty
      test.op = FieldTest::Op::kEmpty;
      if (!target.Repeated() &&
          field->cpp_type() != FieldDescriptor::CPPTYPE_STRING) {
        return refuse(" (empty applies to strings and repeated fields)");
      }
      ASSIGN_OR_RETURN(bool empty, ReadBool(file, op.value, "\"empty\""));
      test.values.push_back(empty ? "true" : "false");
    }
    tests->push_back(std::move(test));
  }
  return absl::OkStatus();
}

// Checks every placeholder of `reason` resolves in `scope`.
absl::Status CheckReason(const YamlFile& file, const YAML::Node& node,
                         const std::string& reason, const RuleScope& scope) {
  absl::StatusOr<std::vector<internal::TemplatePiece>> pieces =
      internal::ParseReasonTemplate(reason);
  if (!pieces.ok()) return file.Error(node, pieces.status().message());
  for (const internal::TemplatePiece& piece : *pieces) {
    if (!piece.is_field) continue;
    std::optional<Target> target;
    if (scope.element != nullptr && piece.text == "value") {
      target = Target{scope.element, true};
    }
    std::vector<const Descriptor*> types;
    if (scope.subject != nullptr) types.push_back(scope.subject);
    types.insert(types.end(), scope.fallbacks.begin(), scope.fallbacks.end());
    std::vector<std::string> names;
    for (const Descriptor* type : types) {
      if (target.has_value()) break;
      names.push_back(type->full_name());
      absl::StatusOr<FieldPath> path =
          internal::ResolveFieldPath(type, piece.text);
      if (path.ok()) target = Target{path->back(), false};
    }
    if (!target.has_value()) {
      return file.Error(
          node,
          absl::StrCat("reason placeholder {", piece.text,
                       "} names no field of ", absl::StrJoin(names, ", "),
                       scope.element != nullptr ? " (nor \"value\")" : ""));
    }
    if (target->field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      return file.Error(node, absl::StrCat("reason placeholder {", piece.text,
                                           "} is ", DescribeType(*target),
                                           ", which has no text form"));
    }
    if (piece.age &&
        (target->Repeated() || !internal::IsIntegerField(target->field))) {
      return file.Error(node, absl::StrCat("reason placeholder {", piece.text,
                                           "|age} needs an integer field of "
                                           "unix seconds, not ",
                                           DescribeType(*target)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Rule> ParseRule(const YamlFile& file, const YAML::Node& node,
                               const std::string& probe,
                               const Descriptor* facts,
                               std::vector<SettingUse>* settings) {
  ASSIGN_OR_RETURN(Mapping map, ReadMapping(file, node, "a rule",
                                            {"fail", "warn", "for_each",
                                             "none_of", "when", "from"}));
  Rule rule;
  rule.location = SourceLocation{file.name(), YamlFile::Line(node)};
  const MapEntry* fail = map.Find("fail");
  const MapEntry* warn = map.Find("warn");
  if ((fail == nullptr) == (warn == nullptr)) {
    return file.Error(node, "a rule needs exactly one of \"fail\" or \"warn\"");
  }
  const MapEntry* outcome = fail != nullptr ? fail : warn;
  rule.outcome = fail != nullptr ? Verdict::kFail : Verdict::kWarn;
  ASSIGN_OR_RETURN(rule.reason, ReadText(file, outcome->value,
                                         absl::StrCat("the reason of \"",
                                                      outcome->key, "\"")));

  if (const MapEntry* from = map.Find("from"); from != nullptr) {
    ASSIGN_OR_RETURN(rule.from, ReadDate(file, from->value, "\"from\""));
  }

  const MapEntry* for_each = map.Find("for_each");
  const MapEntry* none_of = map.Find("none_of");
  if (for_each != nullptr && none_of != nullptr) {
    return file.Error(none_of->key_node,
                      "a rule takes \"for_each\" or \"none_of\", not both");
  }
  RuleScope scope;
  scope.probe = probe;
  scope.facts = facts;
  scope.subject = facts;
  const MapEntry* list = for_each != nullptr ? for_each : none_of;
  if (list != nullptr) {
    ASSIGN_OR_RETURN(
        rule.for_each,
        ReadText(file, list->value, absl::StrCat("\"", list->key, "\"")));
    rule.none_of = none_of != nullptr;
    absl::StatusOr<FieldPath> path =
        internal::ResolveListPath(facts, rule.for_each);
    if (!path.ok()) {
      return file.Error(
          list->value,
          absl::StrCat(list->key, ": ", path.status().message(), " (facts of ",
                       probe, ": ", facts->full_name(), ")"));
    }
    std::vector<const Descriptor*> scopes = internal::ListScopes(facts, *path);
    if (path->back()->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      scope.subject = scopes.back();
      scopes.pop_back();
    } else {
      scope.subject = nullptr;
      scope.element = path->back();
    }
    scope.fallbacks.assign(scopes.rbegin(), scopes.rend());
  }

  if (const MapEntry* when = map.Find("when"); when != nullptr) {
    if (!when->value.IsNull()) {
      ASSIGN_OR_RETURN(Mapping tests,
                       ReadMapping(file, when->value, "\"when\"", {}));
      for (const MapEntry& entry : tests.entries) {
        RETURN_IF_ERROR(ParseTest(file, entry, scope, &rule.when, settings));
      }
    }
  }

  // A none_of rule fires when no element matches: its reason speaks of the
  // whole facts.
  RuleScope reason_scope = scope;
  if (rule.none_of) {
    reason_scope.subject = facts;
    reason_scope.element = nullptr;
    reason_scope.fallbacks.clear();
  }
  RETURN_IF_ERROR(CheckReason(file, outcome->value, rule.reason, reason_scope));
  return rule;
}

absl::Status ParseChecks(const YamlFile& file, const YAML::Node& root,
                         const std::set<std::string>& control_ids,
                         std::vector<Check>* checks,
                         std::map<std::string, SourceLocation>* check_ids,
                         std::vector<SettingUse>* settings) {
  if (!root.IsDefined() || root.IsNull()) {
    return file.ErrorAtLine(1, "empty: a checks file needs \"checks\"");
  }
  ASSIGN_OR_RETURN(Mapping top,
                   ReadMapping(file, root, "a checks file", {"checks"}));
  ASSIGN_OR_RETURN(YAML::Node list,
                   Require(file, top, "checks", "a checks file"));
  if (!list.IsSequence()) {
    return file.Error(list, "\"checks\" must be a list");
  }
  static const std::vector<absl::string_view> kSeverities = {
      "low", "medium", "high", "critical"};
  static const std::vector<absl::string_view> kPlatforms = {"linux", "darwin",
                                                            "windows"};
  for (YAML::const_iterator it = list.begin(); it != list.end(); ++it) {
    const YAML::Node node = *it;
    ASSIGN_OR_RETURN(
        Mapping map,
        ReadMapping(file, node, "a check",
                    {"id", "title", "probe", "platforms", "controls",
                     "severity", "stale_after", "rules"}));
    Check check;
    check.location = SourceLocation{file.name(), YamlFile::Line(node)};
    ASSIGN_OR_RETURN(check.id, RequireText(file, map, "id", "a check"));
    const YAML::Node id_node = map.Find("id")->value;
    if (!IsCheckId(check.id)) {
      return file.Error(id_node,
                        absl::StrCat("malformed check id \"", check.id,
                                     "\" (lowercase letters, digits, dots "
                                     "and underscores)"));
    }
    if (auto seen = check_ids->find(check.id); seen != check_ids->end()) {
      return file.Error(
          id_node, absl::StrCat("duplicate check id \"", check.id,
                                "\" (first defined at ", seen->second.file, ":",
                                seen->second.line, ")"));
    }
    check_ids->emplace(check.id, check.location);
    const std::string what = absl::StrCat("check ", check.id);

    ASSIGN_OR_RETURN(check.title, RequireText(file, map, "title", what));
    ASSIGN_OR_RETURN(check.probe, RequireText(file, map, "probe", what));
    const FieldDescriptor* facts_field = FactsFieldForProbe(check.probe);
    if (facts_field == nullptr) {
      return file.Error(
          map.Find("probe")->value,
          absl::StrCat("unknown probe \"", check.probe,
                       "\" (known: ", internal::KnownProbes(), ")"));
    }
    const Descriptor* facts = facts_field->message_type();

    if (const MapEntry* platforms = map.Find("platforms")) {
      ASSIGN_OR_RETURN(auto list,
                       ReadList(file, platforms->value, "\"platforms\""));
      for (const auto& [platform, platform_node] : list) {
        if (!IsOneOf(platform, kPlatforms)) {
          return file.Error(
              platform_node,
              absl::StrCat("unknown platform \"", platform, "\" (known: ",
                           absl::StrJoin(kPlatforms, ", "), ")"));
        }
      }
      check.platforms = Values(list);
    }

    ASSIGN_OR_RETURN(YAML::Node controls_node,
                     Require(file, map, "controls", what));
    ASSIGN_OR_RETURN(auto controls,
                     ReadList(file, controls_node, "\"controls\""));
    if (controls.empty()) {
      return file.Error(controls_node,
                        "\"controls\" must name at least one control");
    }
    for (const auto& [control, control_node] : controls) {
      if (control_ids.count(control) == 0) {
        return file.Error(control_node,
                          absl::StrCat("unknown control \"", control,
                                       "\" (not in ", kCatalogueFile, ")"));
      }
    }
    check.controls = Values(controls);

    ASSIGN_OR_RETURN(check.severity, RequireText(file, map, "severity", what));
    if (!IsOneOf(check.severity, kSeverities)) {
      return file.Error(
          map.Find("severity")->value,
          absl::StrCat("unknown severity \"", check.severity,
                       "\" (known: ", absl::StrJoin(kSeverities, ", "), ")"));
    }
    ASSIGN_OR_RETURN(YAML::Node stale_node,
                     Require(file, map, "stale_after", what));
    ASSIGN_OR_RETURN(check.stale_after,
                     ReadDuration(file, stale_node, "\"stale_after\""));

    ASSIGN_OR_RETURN(YAML::Node rules, Require(file, map, "rules", what));
    if (!rules.IsSequence() || rules.size() == 0) {
      return file.Error(rules, "\"rules\" must be a non-empty list");
    }
    for (YAML::const_iterator r = rules.begin(); r != rules.end(); ++r) {
      ASSIGN_OR_RETURN(Rule rule,
                       ParseRule(file, *r, check.probe, facts, settings));
      check.rules.push_back(std::move(rule));
    }
    checks->push_back(std::move(check));
  }
  return absl::OkStatus();
}

}  // namespace evidentia::policy::internal
