// ParseAuditNetlinkDatagram on any datagram the audit netlink socket could
// deliver.
#include "agent/linux/probes/audit_logging_kernel.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  absl::StatusOr<AuditNetlinkDatagram> parsed =
      ParseAuditNetlinkDatagram(evidentia::fuzz::AsText(data, size), 1);
  if (parsed.ok() && parsed->error) {
    evidentia::fuzz::Require(*parsed->error >= 0 && *parsed->error < 4096,
                             "errors are errno values");
  }
  return 0;
}
