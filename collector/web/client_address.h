// The unit the dashboard counts a client in, for its connection and
// sign-in limits: an IPv4 address, or an IPv6 /64 (the share one host or
// one home network usually has, so that a client cannot take a fresh
// address for each try). An IPv4-mapped IPv6 address counts as the IPv4
// address.
#ifndef EVIDENTIA_COLLECTOR_WEB_CLIENT_ADDRESS_H_
#define EVIDENTIA_COLLECTOR_WEB_CLIENT_ADDRESS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace evidentia::collector::web {

// "1.2.3.4", or "2001:db8:1:2::/64"; any other text as it is.
std::string ClientGroup(absl::string_view address);

}  // namespace evidentia::collector::web

#endif  // EVIDENTIA_COLLECTOR_WEB_CLIENT_ADDRESS_H_
