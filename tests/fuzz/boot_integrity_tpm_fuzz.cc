// The TPM version parsers (tpm_version_major, caps, ACPI description) on
// any sysfs file content.
#include "agent/linux/probes/boot_integrity_probe.h"
#include "agent/linux/sys/text.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  std::string_view text = evidentia::fuzz::AsText(data, size);
  evidentia::v1::TpmVersion major = ParseTpmVersionMajor(text);
  std::string_view digits = Trim(text);
  evidentia::fuzz::Require(major == evidentia::v1::TPM_VERSION_UNKNOWN ||
                               digits == "1" || digits == "2",
                           "a known version major is the digit 1 or 2");
  ParseTpmCaps(text);
  ParseTpmDescription(text);
  return 0;
}
