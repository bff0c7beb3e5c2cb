#include "common/pae.h"

#include <string>
#include <string_view>

namespace evidentia {

std::string Pae(std::string_view payload_type, std::string_view payload) {
  const std::string type_len = std::to_string(payload_type.size());
  const std::string payload_len = std::to_string(payload.size());
  std::string out;
  out.reserve(6 + 1 + type_len.size() + 1 + payload_type.size() + 1 +
              payload_len.size() + 1 + payload.size());
  out.append("DSSEv1 ");
  out.append(type_len);
  out.push_back(' ');
  out.append(payload_type);
  out.push_back(' ');
  out.append(payload_len);
  out.push_back(' ');
  out.append(payload);
  return out;
}

}  // namespace evidentia
