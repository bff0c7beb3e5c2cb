// Protobuf messages as JSON for people and scripts: lowerCamelCase field
// names, default values included so the shape is stable, one document per
// line.
#ifndef EVIDENTIA_COMMON_JSON_H_
#define EVIDENTIA_COMMON_JSON_H_

#include <string>

#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"

namespace evidentia {

inline std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options)
           .ok()) {
    return "null\n";
  }
  out.push_back('\n');
  return out;
}

}  // namespace evidentia

#endif  // EVIDENTIA_COMMON_JSON_H_
