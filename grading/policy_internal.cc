#include "grading/policy_internal.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "evidentia/v1/facts.pb.h"
#include "google/protobuf/descriptor.h"
#include "grading/policy.h"

namespace evidentia::policy {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

// Probe id -> the Facts oneof member carrying its facts. The one place that
// knows which probe produces which facts.
struct ProbeFacts {
  const char* probe;
  const char* facts_field;
};
constexpr ProbeFacts kProbeFacts[] = {
    {"linux.anti_malware", "anti_malware"},
    {"linux.audit_logging", "audit_logging"},
    {"linux.backup", "backup"},
    {"linux.boot_integrity", "boot_integrity"},
    {"linux.disk_encryption", "disk_encryption"},
    {"linux.firewall", "firewall"},
    {"linux.local_accounts", "local_accounts"},
    {"linux.os_patching", "os_patching"},
    {"linux.password_policy", "password_policy"},
    {"linux.screen_lock", "screen_lock"},
    {"linux.ssh_server", "ssh_server"},
    {"linux.time_sync", "time_sync"},
};

}  // namespace

const FieldDescriptor* FactsFieldForProbe(const std::string& probe) {
  for (const ProbeFacts& entry : kProbeFacts) {
    if (probe == entry.probe) {
      return v1::Facts::descriptor()->FindFieldByName(entry.facts_field);
    }
  }
  return nullptr;
}

namespace internal {

std::string ProbeForFactsField(const FieldDescriptor* field) {
  if (field == nullptr) return "";
  for (const ProbeFacts& entry : kProbeFacts) {
    if (FactsFieldForProbe(entry.probe) == field) return entry.probe;
  }
  return "";
}

std::string KnownProbes() {
  std::vector<std::string> names;
  for (const ProbeFacts& entry : kProbeFacts) names.push_back(entry.probe);
  return absl::StrJoin(names, ", ");
}

namespace {

// Looks up one segment of a path; the error names the message type.
absl::StatusOr<const FieldDescriptor*> FindSegment(const Descriptor* type,
                                                   absl::string_view name,
                                                   absl::string_view path) {
  const FieldDescriptor* field =
      name.empty() ? nullptr : type->FindFieldByName(std::string(name));
  if (field == nullptr) {
    if (name == path) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown field \"", name, "\" in ", type->full_name()));
    }
    return absl::InvalidArgumentError(absl::StrCat("unknown field \"", name,
                                                   "\" (of \"", path, "\") in ",
                                                   type->full_name()));
  }
  return field;
}

// Walks a dotted `path` from `type`. Every segment but the last must name a
// message field: a single one, or (with `through_lists`) possibly repeated.
absl::StatusOr<FieldPath> WalkPath(const Descriptor* type,
                                   absl::string_view path, bool through_lists) {
  FieldPath out;
  const std::vector<absl::string_view> segments = absl::StrSplit(path, '.');
  for (size_t i = 0; i < segments.size(); ++i) {
    absl::StatusOr<const FieldDescriptor*> field =
        FindSegment(type, segments[i], path);
    if (!field.ok()) return field.status();
    out.push_back(*field);
    if (i + 1 == segments.size()) break;
    if ((*field)->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
        (!through_lists && (*field)->is_repeated())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", path, "\": \"", segments[i], "\" in ", type->full_name(),
          through_lists ? " is not a message" : " is not a single message",
          ", so it has no field \"", segments[i + 1], "\""));
    }
    type = (*field)->message_type();
  }
  return out;
}

}  // namespace

absl::StatusOr<FieldPath> ResolveFieldPath(const Descriptor* type,
                                           absl::string_view path) {
  return WalkPath(type, path, /*through_lists=*/false);
}

absl::StatusOr<FieldPath> ResolveListPath(const Descriptor* type,
                                          absl::string_view path) {
  absl::StatusOr<FieldPath> out = WalkPath(type, path, /*through_lists=*/true);
  if (out.ok() && !out->back()->is_repeated()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", path, "\" is not a repeated field"));
  }
  return out;
}

std::vector<const Descriptor*> ListScopes(const Descriptor* root,
                                          const FieldPath& list) {
  std::vector<const Descriptor*> scopes = {root};
  for (const FieldDescriptor* field : list) {
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      scopes.push_back(field->message_type());
    }
  }
  return scopes;
}

bool IsIntegerField(const FieldDescriptor* field) {
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      return true;
    default:
      return false;
  }
}

bool IsFloatField(const FieldDescriptor* field) {
  return field->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT ||
         field->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE;
}

absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text) {
  const auto malformed = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed duration \"", text,
                     "\": want a positive whole number and a unit s, m, h or "
                     "d (e.g. 90m, 48h, 7d)"));
  };
  if (text.size() < 2 || text.size() > 10) return malformed();
  const absl::string_view digits = text.substr(0, text.size() - 1);
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return malformed();
  }
  int64_t n = 0;
  if (!absl::SimpleAtoi(digits, &n) || n <= 0) return malformed();
  switch (text.back()) {
    case 's':
      return absl::Seconds(n);
    case 'm':
      return absl::Minutes(n);
    case 'h':
      return absl::Hours(n);
    case 'd':
      return absl::Hours(24 * n);
    default:
      return malformed();
  }
}

std::string FormatAge(absl::Duration age) {
  const auto plural = [](int64_t n, absl::string_view unit) {
    return absl::StrCat(n, " ", unit, n == 1 ? "" : "s");
  };
  if (age < absl::ZeroDuration()) return plural(0, "second");
  if (age == absl::InfiniteDuration()) return "an unknown time";
  const int64_t days = absl::ToInt64Hours(age) / 24;
  if (days >= 1) return plural(days, "day");
  const int64_t hours = absl::ToInt64Hours(age);
  if (hours >= 1) return plural(hours, "hour");
  const int64_t minutes = absl::ToInt64Minutes(age);
  if (minutes >= 1) return plural(minutes, "minute");
  return plural(absl::ToInt64Seconds(age), "second");
}

absl::StatusOr<std::vector<TemplatePiece>> ParseReasonTemplate(
    absl::string_view reason) {
  std::vector<TemplatePiece> pieces;
  std::string literal;
  size_t i = 0;
  while (i < reason.size()) {
    const char c = reason[i];
    if (c == '}') {
      return absl::InvalidArgumentError(
          absl::StrCat("reason \"", reason, "\" has a \"}\" without \"{\""));
    }
    if (c != '{') {
      literal.push_back(c);
      ++i;
      continue;
    }
    const size_t close = reason.find_first_of("{}", i + 1);
    if (close == absl::string_view::npos || reason[close] != '}') {
      return absl::InvalidArgumentError(
          absl::StrCat("reason \"", reason, "\" has a \"{\" without \"}\""));
    }
    absl::string_view inner = reason.substr(i + 1, close - i - 1);
    TemplatePiece field;
    field.is_field = true;
    const size_t bar = inner.find('|');
    if (bar != absl::string_view::npos) {
      const absl::string_view filter = inner.substr(bar + 1);
      if (filter != "age") {
        return absl::InvalidArgumentError(
            absl::StrCat("reason \"", reason, "\": unknown filter \"", filter,
                         "\" (only \"age\" exists)"));
      }
      field.age = true;
      inner = inner.substr(0, bar);
    }
    if (inner.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("reason \"", reason, "\" has an empty placeholder"));
    }
    field.text = std::string(inner);
    if (!literal.empty()) {
      pieces.push_back(TemplatePiece{false, literal, false});
      literal.clear();
    }
    pieces.push_back(std::move(field));
    i = close + 1;
  }
  if (!literal.empty()) pieces.push_back(TemplatePiece{false, literal, false});
  return pieces;
}

}  // namespace internal
}  // namespace evidentia::policy
