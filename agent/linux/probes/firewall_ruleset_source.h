// Where linux.firewall reads the live nftables ruleset from: the kernel's
// ruleset is not in a file, so the probe is given a RulesetSource. The real
// one asks the kernel through libnftables; tests give a fake returning
// fixture JSON (firewall_probe_test.cc).
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_FIREWALL_RULESET_SOURCE_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_FIREWALL_RULESET_SOURCE_H_

#include <string>

#include "absl/status/statusor.h"

namespace evidentia::agent {

// The nftables ruleset as libnftables prints "list ruleset" in JSON
// ({"nftables": [{"metainfo": ...}, {"table": ...}, ...]}, schema version
// 1). Implementations are thread-safe.
class RulesetSource {
 public:
  virtual ~RulesetSource() = default;

  // The JSON text on success. PERMISSION_DENIED when the caller may not
  // read the ruleset (no CAP_NET_ADMIN in the network namespace's owner
  // user namespace); UNAVAILABLE when netfilter's netlink interface cannot
  // be opened; INTERNAL for other libnftables failures. The message carries
  // libnftables' own error text.
  virtual absl::StatusOr<std::string> ListRuleset() const = 0;
};

// The kernel's ruleset of the agent's network namespace, through
// libnftables (a fresh context per call, in dry-run mode, one call at a
// time in the process: libnftables has unguarded global state).
class NftRulesetSource : public RulesetSource {
 public:
  absl::StatusOr<std::string> ListRuleset() const override;
};

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_FIREWALL_RULESET_SOURCE_H_
