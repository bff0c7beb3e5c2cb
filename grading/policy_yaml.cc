// Checked access to a policy file's YAML (grading/policy_parse.h).
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
namespace {

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

}  // namespace

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

absl::StatusOr<absl::Time> ReadDate(const YamlFile& file,
                                    const YAML::Node& node,
                                    absl::string_view what) {
  ASSIGN_OR_RETURN(std::string text, ReadScalar(file, node, what));
  absl::Time date;
  std::string error;
  // absl::ParseTime accepts what the format allows and more (e.g. "2026-2-3",
  // a signed year "-026" or a trailing offset), so the form is checked
  // first: digits, with '-' at positions 4 and 7 only.
  bool shaped = text.size() == 10;
  for (size_t i = 0; shaped && i < text.size(); ++i) {
    shaped = (i == 4 || i == 7) ? text[i] == '-' : absl::ascii_isdigit(text[i]);
  }
  if (!shaped ||
      !absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &date, &error)) {
    return file.Error(node, absl::StrCat(what, ": malformed date \"", text,
                                         "\" (expected YYYY-MM-DD)"));
  }
  return date;
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

absl::StatusOr<int> ReadInteger(const YamlFile& file, const YAML::Node& node,
                                absl::string_view what, int min, int max) {
  ASSIGN_OR_RETURN(std::string text, ReadScalar(file, node, what));
  int number = 0;
  const bool digits = !text.empty() && text.size() <= 9 &&
                      std::all_of(text.begin(), text.end(), [](char c) {
                        return absl::ascii_isdigit(c);
                      });
  if (!digits || !absl::SimpleAtoi(text, &number) || number < min ||
      number > max) {
    return file.Error(
        node, absl::StrCat(what, " must be a whole number from ", min, " to ",
                           max, ", not \"", text, "\""));
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

}  // namespace evidentia::policy::internal
