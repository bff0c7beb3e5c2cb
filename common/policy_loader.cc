// LoadPolicySet: reads the catalogue, the checks and the SoA with yaml-cpp
// and validates everything policies/README.md lists. yaml-cpp throws; every
// exception is caught here and becomes INVALID_ARGUMENT "FILE:LINE: ...".
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
#include "common/policy.h"
#include "common/policy_internal.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "google/protobuf/descriptor.h"
#include "yaml-cpp/anchor.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/yaml.h"

namespace evidentia::policy {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using internal::FieldPath;

constexpr char kCatalogueFile[] = "iso27001-2022.yaml";
constexpr char kChecksDir[] = "checks";

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
    const std::vector<absl::string_view>& allowed) {
  if (!node.IsMap()) {
    return file.Error(node, absl::StrCat(what, " must be a mapping"));
  }
  Mapping out;
  out.node = node;
  for (YAML::const_iterator it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar() || key.Scalar().empty()) {
      return file.Error(
          key, absl::StrCat("keys of ", what, " must be non-empty words"));
    }
    const std::string name = key.Scalar();
    if (!allowed.empty() &&
        std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      return file.Error(
          key, absl::StrCat("unknown key \"", name, "\" in ", what,
                            " (known: ", absl::StrJoin(allowed, ", "), ")"));
    }
    if (out.Find(name) != nullptr) {
      return file.Error(key,
                        absl::StrCat("duplicate key \"", name, "\" in ", what));
    }
    out.entries.push_back(MapEntry{name, key, it->second});
  }
  return out;
}

// A scalar (not null, not a list or mapping); `what` names it.
absl::StatusOr<std::string> ReadScalar(const YamlFile& file,
                                       const YAML::Node& node,
                                       absl::string_view what) {
  if (!node.IsScalar()) {
    return file.Error(node, absl::StrCat(what, " must be a single value"));
  }
  return node.Scalar();
}

// A non-empty scalar.
absl::StatusOr<std::string> ReadText(const YamlFile& file,
                                     const YAML::Node& node,
                                     absl::string_view what) {
  ASSIGN_OR_RETURN(std::string text, ReadScalar(file, node, what));
  if (absl::StripAsciiWhitespace(text).empty()) {
    return file.Error(node, absl::StrCat(what, " must not be empty"));
  }
  return text;
}

// The value of required key `key` of `map`.
absl::StatusOr<YAML::Node> Require(const YamlFile& file, const Mapping& map,
                                   absl::string_view key,
                                   absl::string_view what) {
  const MapEntry* entry = map.Find(key);
  if (entry == nullptr) {
    return file.Error(map.node,
                      absl::StrCat(what, " lacks the key \"", key, "\""));
  }
  return entry->value;
}

absl::StatusOr<std::string> RequireText(const YamlFile& file,
                                        const Mapping& map,
                                        absl::string_view key,
                                        absl::string_view what) {
  ASSIGN_OR_RETURN(YAML::Node node, Require(file, map, key, what));
  return ReadText(file, node, absl::StrCat("\"", key, "\" of ", what));
}

absl::StatusOr<bool> ReadBool(const YamlFile& file, const YAML::Node& node,
                              absl::string_view what) {
  ASSIGN_OR_RETURN(std::string text, ReadScalar(file, node, what));
  if (text == "true") return true;
  if (text == "false") return false;
  return file.Error(
      node, absl::StrCat(what, " must be true or false, not \"", text, "\""));
}

absl::StatusOr<absl::Duration> ReadDuration(const YamlFile& file,
                                            const YAML::Node& node,
                                            absl::string_view what) {
  ASSIGN_OR_RETURN(std::string text, ReadScalar(file, node, what));
  absl::StatusOr<absl::Duration> duration = internal::ParseDuration(text);
  if (!duration.ok()) {
    return file.Error(node,
                      absl::StrCat(what, ": ", duration.status().message()));
  }
  return *duration;
}

absl::StatusOr<double> ReadNumber(const YamlFile& file, const YAML::Node& node,
                                  absl::string_view what) {
  ASSIGN_OR_RETURN(std::string text, ReadScalar(file, node, what));
  double number = 0;
  if (!absl::SimpleAtod(text, &number) || !std::isfinite(number)) {
    return file.Error(node,
                      absl::StrCat(what, ": malformed number \"", text, "\""));
  }
  return number;
}

// A list of non-empty scalars, each with its node (for line numbers).
// Duplicates are refused.
absl::StatusOr<std::vector<std::pair<std::string, YAML::Node>>> ReadList(
    const YamlFile& file, const YAML::Node& node, absl::string_view what) {
  if (!node.IsSequence()) {
    return file.Error(node, absl::StrCat(what, " must be a list"));
  }
  std::vector<std::pair<std::string, YAML::Node>> out;
  for (YAML::const_iterator it = node.begin(); it != node.end(); ++it) {
    const YAML::Node item = *it;
    ASSIGN_OR_RETURN(std::string text,
                     ReadText(file, item, absl::StrCat("an entry of ", what)));
    for (const auto& [seen, unused] : out) {
      if (seen == text) {
        return file.Error(
            item, absl::StrCat("\"", text, "\" appears twice in ", what));
      }
    }
    out.emplace_back(std::move(text), item);
  }
  return out;
}

std::vector<std::string> Values(
    const std::vector<std::pair<std::string, YAML::Node>>& list) {
  std::vector<std::string> out;
  out.reserve(list.size());
  for (const auto& [value, unused] : list) out.push_back(value);
  return out;
}

bool IsOneOf(absl::string_view value,
             const std::vector<absl::string_view>& allowed) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

// "a." followed by a section 5..8, ".", a number without leading zero.
bool IsControlId(absl::string_view id) {
  if (id.size() < 5 || id.substr(0, 2) != "a." || id[2] < '5' || id[2] > '8' ||
      id[3] != '.' || id[4] < '1' || id[4] > '9') {
    return false;
  }
  for (char c : id.substr(5)) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return id.size() <= 8;
}

// Lowercase letters, digits, '_' and '.', starting with a letter, no empty
// dot-separated part.
bool IsCheckId(absl::string_view id) {
  if (id.empty() || !absl::ascii_islower(static_cast<unsigned char>(id[0])) ||
      id.back() == '.' || id.find("..") != absl::string_view::npos) {
    return false;
  }
  for (char c : id) {
    if (!absl::ascii_islower(static_cast<unsigned char>(c)) &&
        !absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '_' &&
        c != '.') {
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------
// Reading files
// ---------------------------------------------------------------------------

// A file as loaded: the name used in messages and in the digest, and bytes.
struct LoadedFile {
  std::string digest_name;
  std::string bytes;
};

// Counts the documents of a YAML stream and notes where the second starts.
class DocumentCounter : public YAML::EventHandler {
 public:
  int documents() const { return documents_; }
  const YAML::Mark& second() const { return second_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ == 2) second_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  int documents_ = 0;
  YAML::Mark second_ = YAML::Mark::null_mark();
};

// Parses `text` as exactly one YAML document. Throws nothing. Not with
// YAML::LoadAll: yaml-cpp 0.7 (Debian 12) loops there forever on some
// malformed input (" ,#[c"), allocating until the OOM killer comes
// (jbeder/yaml-cpp#1319, fixed in 0.8.0); a bundle's policies are outside
// input. So one YAML::Load, and a count of documents that stops at two.
absl::StatusOr<YAML::Node> ParseYaml(const YamlFile& file,
                                     const std::string& text) {
  try {
    YAML::Node root = YAML::Load(text);
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    DocumentCounter counter;
    for (int i = 0; i < 2 && parser.HandleNextDocument(counter); ++i) {
    }
    if (counter.documents() > 1) {
      const YAML::Mark& mark = counter.second();
      return file.ErrorAtLine(mark.is_null() ? 1 : mark.line + 1,
                              "more than one YAML document");
    }
    return root;
  } catch (const YAML::Exception& e) {
    return file.ErrorAtLine(e.mark.is_null() ? 1 : e.mark.line + 1,
                            absl::StrCat("malformed YAML: ", e.msg));
  } catch (const std::exception& e) {
    return file.ErrorAtLine(1, absl::StrCat("malformed YAML: ", e.what()));
  }
}

// Runs `parse` and turns any exception yaml-cpp throws while walking the
// document into INVALID_ARGUMENT naming the file and line.
absl::Status Guarded(const YamlFile& file,
                     const std::function<absl::Status()>& parse) {
  try {
    return parse();
  } catch (const YAML::Exception& e) {
    return file.ErrorAtLine(e.mark.is_null() ? 1 : e.mark.line + 1, e.msg);
  } catch (const std::exception& e) {
    return file.ErrorAtLine(1, e.what());
  }
}

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

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

// A setting named by a check, resolved once the SoA is read.
struct SettingUse {
  std::string name;
  std::string file;
  int line = 0;
};

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
                                             "none_of", "when"}));
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

// ---------------------------------------------------------------------------
// The Statement of Applicability
// ---------------------------------------------------------------------------

absl::Status ParseSoa(const YamlFile& file, const YAML::Node& root,
                      const std::vector<Control>& catalogue,
                      const std::map<std::string, SourceLocation>& check_ids,
                      PolicySet* set) {
  if (!root.IsDefined() || root.IsNull()) {
    return file.ErrorAtLine(1, "empty: the SoA needs \"controls\"");
  }
  ASSIGN_OR_RETURN(Mapping top, ReadMapping(file, root, "the SoA",
                                            {"organisation", "settings",
                                             "grading", "controls"}));
  ASSIGN_OR_RETURN(set->organisation,
                   RequireText(file, top, "organisation", "the SoA"));

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
    ASSIGN_OR_RETURN(Mapping map,
                     ReadMapping(file, grading->value, "\"grading\"",
                                 {"max_silence", "major_failure_share",
                                  "manual_expiry_warning", "max_clock_skew"}));
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

}  // namespace

const Check* PolicySet::FindCheck(const std::string& id) const {
  for (const Check& check : checks) {
    if (check.id == id) return &check;
  }
  return nullptr;
}

const Control* PolicySet::FindControl(const std::string& id) const {
  for (const Control& control : catalogue) {
    if (control.id == id) return &control;
  }
  return nullptr;
}

const SoaEntry* PolicySet::FindSoaEntry(const std::string& control_id) const {
  for (const SoaEntry& entry : soa) {
    if (entry.control_id == control_id) return &entry;
  }
  return nullptr;
}

absl::StatusOr<PolicySet> ParsePolicySet(PolicyTexts texts) {
  PolicySet set;
  std::vector<LoadedFile> loaded;

  // The catalogue.
  {
    const YamlFile file(kCatalogueFile);
    ASSIGN_OR_RETURN(YAML::Node root, ParseYaml(file, texts.catalogue));
    RETURN_IF_ERROR(Guarded(
        file, [&] { return ParseCatalogue(file, root, &set.catalogue); }));
    loaded.push_back(LoadedFile{kCatalogueFile, std::move(texts.catalogue)});
  }
  std::set<std::string> control_ids;
  for (const Control& control : set.catalogue) control_ids.insert(control.id);

  // The checks, file by file in name order.
  std::sort(texts.checks.begin(), texts.checks.end());
  std::map<std::string, SourceLocation> check_ids;
  std::vector<SettingUse> setting_uses;
  for (auto& [name, text] : texts.checks) {
    const std::string relative = absl::StrCat(kChecksDir, "/", name);
    const YamlFile file(relative);
    ASSIGN_OR_RETURN(YAML::Node root, ParseYaml(file, text));
    RETURN_IF_ERROR(Guarded(file, [&] {
      return ParseChecks(file, root, control_ids, &set.checks, &check_ids,
                         &setting_uses);
    }));
    loaded.push_back(LoadedFile{relative, std::move(text)});
  }

  // The SoA.
  const std::filesystem::path soa_file = texts.soa_path;
  {
    const YamlFile file(soa_file.string());
    ASSIGN_OR_RETURN(YAML::Node root, ParseYaml(file, texts.soa));
    RETURN_IF_ERROR(Guarded(file, [&] {
      return ParseSoa(file, root, set.catalogue, check_ids, &set);
    }));
    loaded.push_back(
        LoadedFile{soa_file.filename().string(), std::move(texts.soa)});
  }

  for (const SettingUse& use : setting_uses) {
    if (set.settings.count(use.name) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          use.file, ":", use.line, ": unknown setting \"", use.name,
          "\" (not among the settings of ", soa_file.string(), ")"));
    }
  }

  std::sort(loaded.begin(), loaded.end(),
            [](const LoadedFile& a, const LoadedFile& b) {
              return a.digest_name < b.digest_name;
            });
  std::string digest_input;
  for (const LoadedFile& file : loaded) {
    absl::StrAppend(&digest_input, file.digest_name, std::string(1, '\0'),
                    file.bytes.size(), std::string(1, '\0'), file.bytes);
  }
  set.sha256 = Sha256Hex(digest_input);
  const std::string soa_name = soa_file.filename().string();
  for (LoadedFile& file : loaded) {
    const bool soa = file.digest_name == soa_name;
    set.sources.push_back(
        {std::move(file.digest_name), std::move(file.bytes), soa});
  }
  return set;
}

absl::StatusOr<PolicySet> LoadPolicySet(
    const std::filesystem::path& policies_dir,
    const std::filesystem::path& soa_file) {
  PolicyTexts texts;
  ASSIGN_OR_RETURN(texts.catalogue, ReadFile(policies_dir / kCatalogueFile));
  {
    const std::filesystem::path dir = policies_dir / kChecksDir;
    std::error_code ec;
    std::vector<std::string> check_files;
    if (std::filesystem::is_directory(dir, ec)) {
      std::filesystem::directory_iterator it(dir, ec);
      for (; !ec && it != std::filesystem::directory_iterator();
           it.increment(ec)) {
        const std::filesystem::path& path = it->path();
        if (path.extension() == ".yaml" && it->is_regular_file(ec)) {
          check_files.push_back(path.filename().string());
        }
      }
      if (ec) {
        return absl::ErrnoToStatus(ec.value(),
                                   absl::StrCat("listing ", dir.string()));
      }
    }
    std::sort(check_files.begin(), check_files.end());
    for (std::string& name : check_files) {
      ASSIGN_OR_RETURN(std::string text, ReadFile(dir / name));
      texts.checks.emplace_back(std::move(name), std::move(text));
    }
  }
  texts.soa_path = soa_file.string();
  ASSIGN_OR_RETURN(texts.soa, ReadFile(soa_file));
  return ParsePolicySet(std::move(texts));
}

}  // namespace evidentia::policy
