// Test double for linux.firewall: a RulesetSource returning a fixed answer
// (fixture JSON or an error), shared by firewall_probe_test.cc and
// firewall_checks_test.cc.
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_FIREWALL_FIXED_RULESET_SOURCE_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_FIREWALL_FIXED_RULESET_SOURCE_H_

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "agent/linux/probes/firewall_ruleset_source.h"

namespace evidentia::agent {

class FixedRulesetSource : public RulesetSource {
 public:
  explicit FixedRulesetSource(absl::StatusOr<std::string> answer)
      : answer_(std::move(answer)) {}
  absl::StatusOr<std::string> ListRuleset() const override { return answer_; }

 private:
  absl::StatusOr<std::string> answer_;
};

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_FIREWALL_FIXED_RULESET_SOURCE_H_
