// linux.boot_integrity: whether the running kernel was booted by UEFI or
// legacy BIOS (/sys/firmware/efi), the UEFI SecureBoot and SetupMode
// variables (efivarfs), and the TPMs the kernel exposes (/sys/class/tpm)
// with their version. Everything is read from sysfs below the root.
// Facts: BootIntegrityFacts.
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_BOOT_INTEGRITY_PROBE_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_BOOT_INTEGRITY_PROBE_H_

#include <filesystem>
#include <string_view>

#include "absl/status/statusor.h"
#include "agent/probe.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/facts/boot_integrity.pb.h"

namespace evidentia::agent {

// The vendor GUID of the UEFI global variables (EFI_GLOBAL_VARIABLE), the
// suffix of their efivarfs file names ("SecureBoot-<guid>").
inline constexpr std::string_view kEfiGlobalVariableGuid =
    "8be4df61-93ca-11d2-aa0d-00e098032b8c";

// The value of a boolean UEFI variable as efivarfs presents it: 4 bytes of
// attributes (little-endian UINT32), then the one-byte value. ON for 1, OFF
// for 0; UNKNOWN when the content is not exactly 5 bytes (truncated or
// unexpected) or the value is neither 0 nor 1.
v1::EfiFlag ParseEfiBooleanVariable(std::string_view bytes);

// A TPM's version from sysfs tpm_version_major ("2\n" -> 2.0, "1\n" ->
// 1.2); UNKNOWN for anything else.
v1::TpmVersion ParseTpmVersionMajor(std::string_view text);

// A TPM's version from the "TCG version: 1.2" line of its caps file (which
// only TPM 1.x drivers provide); UNKNOWN without such a line or for
// another version.
v1::TpmVersion ParseTpmCaps(std::string_view text);

// A TPM's version from its ACPI device description ("TPM 2.0 Device",
// "TPM 1.2 Device"); UNKNOWN when it names neither.
v1::TpmVersion ParseTpmDescription(std::string_view text);

class BootIntegrityProbe : public Probe {
 public:
  std::string_view id() const override { return "linux.boot_integrity"; }

  // Reads root/sys/firmware, root/sys/firmware/efi/efivars/SecureBoot-* and
  // SetupMode-*, and root/sys/class/tpm/*/{tpm_version_major, caps,
  // device/caps, device/description}. Missing or unreadable files are facts
  // (UNKNOWN); never returns an error.
  absl::StatusOr<v1::Facts> Collect(
      const std::filesystem::path& root) const override;
};

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_BOOT_INTEGRITY_PROBE_H_
