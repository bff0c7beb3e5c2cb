// ParseAuditRules on any audit.rules or rules.d/*.rules file.
#include "agent/linux/probes/audit_logging_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  AuditRulesSummary summary =
      ParseAuditRules(evidentia::fuzz::AsText(data, size));
  evidentia::fuzz::Require(
      summary.enable_flag >= -1 && summary.enable_flag <= 2,
      "the enable flag is -1 (none) or one auditctl accepts");
  evidentia::fuzz::Require(summary.rules <= size, "at most one rule per byte");
  return 0;
}
