// ParseLogrotateConf on any logrotate.conf or logrotate.d file, and the
// retention of every stanza it yields.
#include "agent/linux/probes/audit_logging_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  LogrotateFile file =
      ParseLogrotateConf(evidentia::fuzz::AsText(data, size), {});
  for (const LogrotateStanza& stanza : file.stanzas) {
    Retention retention = RetentionOf(stanza.options);
    evidentia::fuzz::Require(
        !retention.unlimited || stanza.options.rotate == -1,
        "only rotate -1 keeps logs without limit");
    evidentia::fuzz::Require(!retention.unlimited || retention.days == 0,
                             "unlimited retention has no day count");
  }
  return 0;
}
