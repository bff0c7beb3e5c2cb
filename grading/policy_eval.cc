// Evaluate: a check's rules applied to one host's facts by protobuf
// reflection, with the semantics of policies/README.md ("Conditions").
// Checks may be built by hand rather than loaded, so every path is resolved
// again here and a rule that cannot be evaluated fails closed.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grading/policy.h"
#include "grading/policy_internal.h"

namespace evidentia::policy {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using internal::FieldPath;
using Settings = std::map<std::string, std::vector<std::string>>;

// One field of one message: all of it, or one element of a repeated field.
struct FieldRef {
  const Message* message = nullptr;
  const FieldDescriptor* field = nullptr;
  int index = -1;  // >= 0: that element of a repeated field

  bool WholeRepeated() const { return field->is_repeated() && index < 0; }
};

// What a rule's tests look at: a message (an element, or the whole facts),
// or one element of a repeated scalar.
struct Subject {
  const Message* message = nullptr;  // null for a repeated scalar's element
  FieldRef element;                  // set when `message` is null
  // The messages around the subject, outermost (the facts) first.
  const std::vector<const Message*>* enclosing = nullptr;
};

// Follows `path` (all but the last segment singular messages) from `message`.
FieldRef Locate(const Message& message, const FieldPath& path) {
  const Message* current = &message;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    current = &current->GetReflection()->GetMessage(*current, path[i]);
  }
  return FieldRef{current, path.back(), -1};
}

std::string RenderOne(const FieldRef& ref) {
  const Reflection* r = ref.message->GetReflection();
  const Message& m = *ref.message;
  const FieldDescriptor* f = ref.field;
  const bool rep = ref.index >= 0;
  const int i = ref.index;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(m, f, i) : r->GetBool(m, f)) ? "true"
                                                                    : "false";
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(rep ? r->GetRepeatedInt32(m, f, i)
                              : r->GetInt32(m, f));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(rep ? r->GetRepeatedInt64(m, f, i)
                              : r->GetInt64(m, f));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(rep ? r->GetRepeatedUInt32(m, f, i)
                              : r->GetUInt32(m, f));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(rep ? r->GetRepeatedUInt64(m, f, i)
                              : r->GetUInt64(m, f));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return absl::StrCat(rep ? r->GetRepeatedFloat(m, f, i)
                              : r->GetFloat(m, f));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrCat(rep ? r->GetRepeatedDouble(m, f, i)
                              : r->GetDouble(m, f));
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int number =
          rep ? r->GetRepeatedEnumValue(m, f, i) : r->GetEnumValue(m, f);
      const EnumValueDescriptor* value =
          f->enum_type()->FindValueByNumber(number);
      return value != nullptr ? value->name() : absl::StrCat(number);
    }
    case FieldDescriptor::CPPTYPE_STRING:
      return rep ? r->GetRepeatedString(m, f, i) : r->GetString(m, f);
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return rep ? r->GetRepeatedMessage(m, f, i).ShortDebugString()
                 : r->GetMessage(m, f).ShortDebugString();
  }
  return "";
}

// The field as text: bools "true"/"false", enums by name, numbers in
// decimal; a whole repeated field as its elements joined by ", ".
std::string Render(const FieldRef& ref) {
  if (!ref.WholeRepeated()) return RenderOne(ref);
  std::vector<std::string> parts;
  const int n =
      ref.message->GetReflection()->FieldSize(*ref.message, ref.field);
  for (int i = 0; i < n; ++i) {
    parts.push_back(RenderOne(FieldRef{ref.message, ref.field, i}));
  }
  return absl::StrJoin(parts, ", ");
}

// The field as a number: a whole repeated field is its count; bools 0/1,
// enums their number, strings parsed (NaN when not a number).
double Number(const FieldRef& ref) {
  const Reflection* r = ref.message->GetReflection();
  const Message& m = *ref.message;
  const FieldDescriptor* f = ref.field;
  if (ref.WholeRepeated()) return r->FieldSize(m, f);
  const bool rep = ref.index >= 0;
  const int i = ref.index;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return rep ? r->GetRepeatedInt32(m, f, i) : r->GetInt32(m, f);
    case FieldDescriptor::CPPTYPE_INT64:
      return static_cast<double>(rep ? r->GetRepeatedInt64(m, f, i)
                                     : r->GetInt64(m, f));
    case FieldDescriptor::CPPTYPE_UINT32:
      return rep ? r->GetRepeatedUInt32(m, f, i) : r->GetUInt32(m, f);
    case FieldDescriptor::CPPTYPE_UINT64:
      return static_cast<double>(rep ? r->GetRepeatedUInt64(m, f, i)
                                     : r->GetUInt64(m, f));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return rep ? r->GetRepeatedFloat(m, f, i) : r->GetFloat(m, f);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return rep ? r->GetRepeatedDouble(m, f, i) : r->GetDouble(m, f);
    case FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(m, f, i) : r->GetBool(m, f)) ? 1 : 0;
    case FieldDescriptor::CPPTYPE_ENUM:
      return rep ? r->GetRepeatedEnumValue(m, f, i) : r->GetEnumValue(m, f);
    default: {
      double d = 0;
      return absl::SimpleAtod(Render(ref), &d)
                 ? d
                 : std::numeric_limits<double>::quiet_NaN();
    }
  }
}

// The field as unix seconds (integers only; anything else, and 0, is "never").
int64_t UnixSeconds(const FieldRef& ref) {
  if (ref.WholeRepeated()) return 0;
  const Reflection* r = ref.message->GetReflection();
  const Message& m = *ref.message;
  const FieldDescriptor* f = ref.field;
  const bool rep = ref.index >= 0;
  const int i = ref.index;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return rep ? r->GetRepeatedInt32(m, f, i) : r->GetInt32(m, f);
    case FieldDescriptor::CPPTYPE_INT64:
      return rep ? r->GetRepeatedInt64(m, f, i) : r->GetInt64(m, f);
    case FieldDescriptor::CPPTYPE_UINT32:
      return rep ? r->GetRepeatedUInt32(m, f, i) : r->GetUInt32(m, f);
    case FieldDescriptor::CPPTYPE_UINT64: {
      const uint64_t v =
          rep ? r->GetRepeatedUInt64(m, f, i) : r->GetUInt64(m, f);
      return v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                 ? std::numeric_limits<int64_t>::max()
                 : static_cast<int64_t>(v);
    }
    default:
      return 0;
  }
}

bool IsEmpty(const FieldRef& ref) {
  if (ref.WholeRepeated()) {
    return ref.message->GetReflection()->FieldSize(*ref.message, ref.field) ==
           0;
  }
  return Render(ref).empty();
}

// Whether `text` equals `literal`; floating-point fields compare as numbers
// ("0.5" equals "0.50").
bool Equals(const FieldRef& ref, const std::string& literal) {
  if (!ref.WholeRepeated() && internal::IsFloatField(ref.field)) {
    double d = 0;
    return absl::SimpleAtod(literal, &d) && Number(ref) == d;
  }
  return Render(ref) == literal;
}

bool EqualsAny(const FieldRef& ref, const std::vector<std::string>& values) {
  for (const std::string& value : values) {
    if (Equals(ref, value)) return true;
  }
  return false;
}

// The moment past which a unix-seconds field counts as older than `age`
// (older_than holds strictly after it); InfinitePast for 0 or absent.
absl::Time AgeBoundary(const FieldRef& ref, absl::Duration age) {
  const int64_t seconds = UnixSeconds(ref);
  if (seconds <= 0) return absl::InfinitePast();
  return absl::FromUnixSeconds(seconds) + age;
}

// A test with its field resolved against the subject's type.
struct CompiledTest {
  const FieldTest* test = nullptr;
  bool element = false;  // the subject's own value ("value")
  FieldPath path;        // otherwise, below the subject message
};

// A rule ready to run: its list, its tests and its reason.
struct CompiledRule {
  const Rule* rule = nullptr;
  FieldPath list;  // empty: the subject is the whole facts
  std::vector<CompiledTest> tests;
  std::vector<internal::TemplatePiece> reason;
};

absl::StatusOr<CompiledRule> Compile(const Rule& rule,
                                     const Descriptor* facts) {
  CompiledRule out;
  out.rule = &rule;
  const Descriptor* subject = facts;
  const FieldDescriptor* element = nullptr;
  if (!rule.for_each.empty()) {
    absl::StatusOr<FieldPath> list =
        internal::ResolveListPath(facts, rule.for_each);
    if (!list.ok()) return list.status();
    out.list = *std::move(list);
    if (out.list.back()->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      subject = out.list.back()->message_type();
    } else {
      subject = nullptr;
      element = out.list.back();
    }
  }
  for (const FieldTest& test : rule.when) {
    CompiledTest compiled;
    compiled.test = &test;
    if (element != nullptr) {
      if (test.field != "value") {
        return absl::InvalidArgumentError(
            absl::StrCat("\"", test.field, "\": the elements of ",
                         element->full_name(), " are tested as \"value\""));
      }
      compiled.element = true;
    } else {
      absl::StatusOr<FieldPath> path =
          internal::ResolveFieldPath(subject, test.field);
      if (!path.ok()) return path.status();
      compiled.path = *std::move(path);
    }
    out.tests.push_back(std::move(compiled));
  }
  absl::StatusOr<std::vector<internal::TemplatePiece>> reason =
      internal::ParseReasonTemplate(rule.reason);
  if (reason.ok()) {
    out.reason = *std::move(reason);
  } else {
    out.reason.push_back(internal::TemplatePiece{false, rule.reason, false});
  }
  return out;
}

// Calls `visit` with every element of the (flattened) list `path`, below
// `message`; `stack` holds the enclosing messages.
void VisitList(const Message& message, const FieldPath& path, size_t depth,
               std::vector<const Message*>* stack,
               const std::function<void(const Subject&)>& visit) {
  const FieldDescriptor* field = path[depth];
  const Reflection* reflection = message.GetReflection();
  const bool last = depth + 1 == path.size();
  stack->push_back(&message);
  if (!field->is_repeated()) {
    // A singular message on the way down (guaranteed by ResolveListPath).
    VisitList(reflection->GetMessage(message, field), path, depth + 1, stack,
              visit);
  } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    const int n = reflection->FieldSize(message, field);
    for (int i = 0; i < n; ++i) {
      const Message& element =
          reflection->GetRepeatedMessage(message, field, i);
      if (last) {
        visit(Subject{&element, FieldRef{}, stack});
      } else {
        VisitList(element, path, depth + 1, stack, visit);
      }
    }
  } else {
    const int n = reflection->FieldSize(message, field);
    for (int i = 0; i < n; ++i) {
      visit(Subject{nullptr, FieldRef{&message, field, i}, stack});
    }
  }
  stack->pop_back();
}

// Whether all tests hold for `subject`, and the moment past which that can
// change as time passes (InfiniteFuture if it cannot).
struct Outcome {
  bool holds = true;
  absl::Time valid_until = absl::InfiniteFuture();
};

Outcome Test(const CompiledRule& rule, const Subject& subject, absl::Time now,
             const Settings& settings) {
  Outcome out;
  bool timeless_hold = true;
  absl::Time flip = absl::InfiniteFuture();
  for (const CompiledTest& compiled : rule.tests) {
    const FieldTest& test = *compiled.test;
    const FieldRef ref = compiled.element
                             ? subject.element
                             : Locate(*subject.message, compiled.path);
    bool holds = false;
    bool timed = false;
    switch (test.op) {
      case FieldTest::Op::kEquals:
        holds = !test.values.empty() && Equals(ref, test.values[0]);
        break;
      case FieldTest::Op::kNotEquals:
        holds = test.values.empty() || !Equals(ref, test.values[0]);
        break;
      case FieldTest::Op::kIn:
        holds = EqualsAny(ref, test.values);
        break;
      case FieldTest::Op::kNotIn:
        holds = !EqualsAny(ref, test.values);
        break;
      case FieldTest::Op::kInSetting:
      case FieldTest::Op::kNotInSetting: {
        auto setting = settings.find(test.setting);
        const bool in =
            setting != settings.end() && EqualsAny(ref, setting->second);
        holds = test.op == FieldTest::Op::kInSetting ? in : !in;
        break;
      }
      case FieldTest::Op::kOlderThan:
      case FieldTest::Op::kYoungerThan: {
        // older_than: strictly older than the age; younger_than is its
        // exact complement. Either flips once, just after the boundary.
        timed = true;
        const absl::Time boundary = AgeBoundary(ref, test.age);
        const bool older = now > boundary;
        holds = test.op == FieldTest::Op::kOlderThan ? older : !older;
        if (!older) flip = std::min(flip, boundary);
        break;
      }
      case FieldTest::Op::kLessThan:
        holds = Number(ref) < test.number;
        break;
      case FieldTest::Op::kGreaterThan:
        holds = Number(ref) > test.number;
        break;
      case FieldTest::Op::kEmpty:
        holds =
            IsEmpty(ref) == (test.values.empty() || test.values[0] != "false");
        break;
    }
    if (!holds) out.holds = false;
    if (!holds && !timed) timeless_hold = false;
  }
  // While a test that does not depend on time fails, the conjunction stays
  // false whatever the clock says.
  if (timeless_hold) out.valid_until = flip;
  return out;
}

// The field a placeholder names: of the subject, else of the enclosing
// elements (innermost first), else of the whole facts.
bool FindPlaceholder(const Subject& subject, const std::string& path,
                     FieldRef* out) {
  if (subject.message == nullptr && path == "value") {
    *out = subject.element;
    return true;
  }
  std::vector<const Message*> scopes;
  if (subject.message != nullptr) scopes.push_back(subject.message);
  if (subject.enclosing != nullptr) {
    scopes.insert(scopes.end(), subject.enclosing->rbegin(),
                  subject.enclosing->rend());
  }
  for (const Message* scope : scopes) {
    absl::StatusOr<FieldPath> resolved =
        internal::ResolveFieldPath(scope->GetDescriptor(), path);
    if (resolved.ok()) {
      *out = Locate(*scope, *resolved);
      return true;
    }
  }
  return false;
}

std::string RenderReason(const CompiledRule& rule, const Subject& subject,
                         absl::Time now) {
  std::string out;
  for (const internal::TemplatePiece& piece : rule.reason) {
    if (!piece.is_field) {
      out += piece.text;
      continue;
    }
    FieldRef ref;
    if (!FindPlaceholder(subject, piece.text, &ref)) {
      absl::StrAppend(&out, "{", piece.text, piece.age ? "|age" : "", "}");
    } else if (piece.age) {
      const int64_t seconds = UnixSeconds(ref);
      out += internal::FormatAge(seconds <= 0
                                     ? absl::InfiniteDuration()
                                     : now - absl::FromUnixSeconds(seconds));
    } else {
      out += Render(ref);
    }
  }
  return out;
}

}  // namespace

CheckResult Evaluate(const Check& check, const v1::Facts& facts, absl::Time now,
                     const Settings& settings) {
  CheckResult result;
  const FieldDescriptor* expected = FactsFieldForProbe(check.probe);
  if (expected == nullptr) {
    result.verdict = Verdict::kFail;
    result.reasons.push_back(absl::StrCat(
        "check ", check.id, " names an unknown probe \"", check.probe, "\""));
    return result;
  }
  const Reflection* reflection = facts.GetReflection();
  const FieldDescriptor* actual = reflection->GetOneofFieldDescriptor(
      facts, v1::Facts::descriptor()->FindOneofByName("kind"));
  if (actual != expected) {
    result.verdict = Verdict::kFail;
    const std::string kind = internal::ProbeForFactsField(actual);
    result.reasons.push_back(absl::StrCat(
        "check ", check.id, " needs facts of probe ", check.probe, " but got ",
        actual == nullptr
            ? "no facts"
            : absl::StrCat("facts of ", kind.empty() ? actual->name() : kind)));
    return result;
  }
  const Message& root = reflection->GetMessage(facts, expected);
  const Descriptor* facts_type = expected->message_type();

  std::vector<std::string> fails;
  std::vector<std::string> warns;
  for (const Rule& rule : check.rules) {
    std::vector<std::string>* reasons =
        rule.outcome == Verdict::kFail ? &fails : &warns;
    const auto fire = [&](std::string reason) {
      if (rule.outcome == Verdict::kPass) return;
      result.verdict = std::max(result.verdict, rule.outcome);
      reasons->push_back(std::move(reason));
    };
    if (now < rule.from) {
      result.valid_until = std::min(result.valid_until, rule.from);
      continue;
    }
    absl::StatusOr<CompiledRule> compiled = Compile(rule, facts_type);
    if (!compiled.ok()) {
      // Only a check built by hand gets here: the loader refuses such rules.
      result.verdict = Verdict::kFail;
      fails.push_back(absl::StrCat(
          "rule at ", rule.location.file, ":", rule.location.line, " of check ",
          check.id, " cannot be evaluated: ", compiled.status().message()));
      continue;
    }
    const std::vector<const Message*> no_enclosing;
    const Subject whole{&root, FieldRef{}, &no_enclosing};
    if (compiled->list.empty()) {
      const Outcome outcome = Test(*compiled, whole, now, settings);
      result.valid_until = std::min(result.valid_until, outcome.valid_until);
      if (outcome.holds) fire(RenderReason(*compiled, whole, now));
      continue;
    }
    bool any_holds = false;
    std::vector<const Message*> stack;
    VisitList(root, compiled->list, 0, &stack, [&](const Subject& subject) {
      const Outcome outcome = Test(*compiled, subject, now, settings);
      result.valid_until = std::min(result.valid_until, outcome.valid_until);
      if (!outcome.holds) return;
      any_holds = true;
      if (!rule.none_of) fire(RenderReason(*compiled, subject, now));
    });
    if (rule.none_of && !any_holds) {
      fire(RenderReason(*compiled, whole, now));
    }
  }
  result.reasons = std::move(fails);
  result.reasons.insert(result.reasons.end(),
                        std::make_move_iterator(warns.begin()),
                        std::make_move_iterator(warns.end()));
  return result;
}

}  // namespace evidentia::policy
