// ParseLastlogRecord on any record of /var/log/lastlog, whole or short.
#include "agent/linux/probes/local_accounts_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<int64_t> time =
      evidentia::agent::ParseLastlogRecord(evidentia::fuzz::AsText(data, size));
  evidentia::fuzz::Require(!time.has_value() || *time != 0,
                           "a login time of 0 means no login");
  return 0;
}
