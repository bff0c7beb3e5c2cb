// Pieces of the policy set shared by its loader and its evaluator: the probe
// table, dotted field paths resolved against facts descriptors, durations and
// reason templates. Not part of the public API (see grading/policy.h).
#ifndef EVIDENTIA_GRADING_POLICY_INTERNAL_H_
#define EVIDENTIA_GRADING_POLICY_INTERNAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"

namespace evidentia::policy::internal {

// The probe whose facts the Facts oneof member `field` carries, or "" when
// `field` is null or not a member.
std::string ProbeForFactsField(const google::protobuf::FieldDescriptor* field);

// Every known probe id, sorted, joined by ", " (for error messages).
std::string KnownProbes();

// A dotted path resolved against a message type: one field per segment.
using FieldPath = std::vector<const google::protobuf::FieldDescriptor*>;

// Resolves a dotted `path` below `type` where every segment but the last is
// a singular message field (the last may be anything). INVALID_ARGUMENT
// naming the unknown segment and the message type it was looked up in.
absl::StatusOr<FieldPath> ResolveFieldPath(
    const google::protobuf::Descriptor* type, absl::string_view path);

// Resolves the path of a for_each/none_of: every segment but the last is a
// message field (singular or repeated: repeated ones are flattened), the last
// is a repeated field. INVALID_ARGUMENT otherwise.
absl::StatusOr<FieldPath> ResolveListPath(
    const google::protobuf::Descriptor* type, absl::string_view path);

// The message types a for_each over `list` walks through, outermost first:
// `root`, then the type of each message-typed segment. When the last segment
// is a repeated message, its type (the subject) is the last entry.
std::vector<const google::protobuf::Descriptor*> ListScopes(
    const google::protobuf::Descriptor* root, const FieldPath& list);

// True for the integer field types (int32/64, uint32/64 and variants).
bool IsIntegerField(const google::protobuf::FieldDescriptor* field);
// True for float and double fields.
bool IsFloatField(const google::protobuf::FieldDescriptor* field);

// "90m", "48h", "7d", "30s": a positive whole number and a unit.
// INVALID_ARGUMENT otherwise.
absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text);

// An age for people: "12 days", "1 day", "5 hours", "40 minutes",
// "7 seconds" (whole units, rounded down; negative ages are "0 seconds").
std::string FormatAge(absl::Duration age);

// One piece of a reason template: literal text, or a placeholder.
struct TemplatePiece {
  bool is_field = false;
  std::string text;  // the literal, or the field path
  bool age = false;  // "{field|age}"
};

// Splits "{mount_point} on {device|age}" into pieces. INVALID_ARGUMENT on an
// unmatched brace, an empty placeholder or a filter other than "age".
absl::StatusOr<std::vector<TemplatePiece>> ParseReasonTemplate(
    absl::string_view reason);

}  // namespace evidentia::policy::internal

#endif  // EVIDENTIA_GRADING_POLICY_INTERNAL_H_
