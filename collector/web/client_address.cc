#include "collector/web/client_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace evidentia::collector::web {

std::string ClientGroup(absl::string_view address) {
  const std::string text(address);
  unsigned char bytes[16];
  if (text.find(':') == std::string::npos ||
      inet_pton(AF_INET6, text.c_str(), bytes) != 1) {
    return text;
  }
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0,    0,
                                                0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(kMapped, kMapped + 12, bytes)) {
    return absl::StrCat(int{bytes[12]}, ".", int{bytes[13]}, ".",
                        int{bytes[14]}, ".", int{bytes[15]});
  }
  std::memset(bytes + 8, 0, 8);
  char prefix[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, bytes, prefix, sizeof(prefix));
  return absl::StrCat(prefix, "/64");
}

}  // namespace evidentia::collector::web
