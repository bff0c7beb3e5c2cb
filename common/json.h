// Protobuf messages as JSON for people and scripts: lowerCamelCase field
// names, default values included so the shape is stable, one document per
// line.
#ifndef EVIDENTIA_COMMON_JSON_H_
#define EVIDENTIA_COMMON_JSON_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"

namespace evidentia {

// `message` in proto3 JSON followed by a newline. INTERNAL naming the
// message type when it has no JSON form (a Timestamp or Duration out of
// range, an Any of an unknown type).
inline absl::StatusOr<std::string> ToJson(
    const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string out;
  const auto status =
      google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot write ",
                                            message.GetTypeName(),
                                            " as JSON: ", status.ToString()));
  }
  out.push_back('\n');
  return out;
}

}  // namespace evidentia

#endif  // EVIDENTIA_COMMON_JSON_H_
