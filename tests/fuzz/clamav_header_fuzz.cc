// ParseClamavDatabaseHeader on any .cvd/.cld header.
#include "agent/linux/probes/anti_malware_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<evidentia::v1::SignatureDatabase> db =
      evidentia::agent::ParseClamavDatabaseHeader(
          evidentia::fuzz::AsText(data, size));
  evidentia::fuzz::Require(!db.ok() || db->file().empty(),
                           "the header parser leaves file empty");
  return 0;
}
