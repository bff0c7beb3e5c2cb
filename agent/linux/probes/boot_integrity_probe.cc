#include "agent/linux/probes/boot_integrity_probe.h"

#include <string>
#include <vector>

#include "agent/linux/sys/rooted_fs.h"
#include "agent/linux/sys/text.h"
#include "agent/linux/sys/utf8.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kEfivarsDir = "sys/firmware/efi/efivars";
// A boolean variable is 5 bytes; anything much longer is not one.
constexpr size_t kMaxEfiVariableBytes = 4096;
constexpr size_t kMaxTpmFileBytes = 64 << 10;
constexpr size_t kMaxTpms = 64;
constexpr size_t kEfiAttributesBytes = 4;

bool IsTpmName(std::string_view name) {
  if (!StartsWith(name, "tpm") || name.size() == 3) return false;
  for (char c : name.substr(3)) {
    if (!IsAsciiDigit(c)) return false;
  }
  return true;
}

v1::EfiFlag ReadEfiFlag(const fs::path& root, std::string_view variable) {
  absl::StatusOr<std::string> bytes = ReadRootedFile(
      root, Cat(kEfivarsDir, "/", variable, "-", kEfiGlobalVariableGuid),
      kMaxEfiVariableBytes);
  if (!bytes.ok()) return v1::EFI_FLAG_UNKNOWN;
  return ParseEfiBooleanVariable(*bytes);
}

v1::TpmVersion ReadTpmVersion(const fs::path& root, const std::string& dir) {
  auto read = [&](std::string_view file) -> std::string {
    absl::StatusOr<std::string> text =
        ReadRootedFile(root, Cat(dir, "/", file), kMaxTpmFileBytes);
    return text.ok() ? std::move(*text) : std::string();
  };
  v1::TpmVersion version = ParseTpmVersionMajor(read("tpm_version_major"));
  if (version != v1::TPM_VERSION_UNKNOWN) return version;
  // caps moved from the device to the tpm class directory in Linux 4.x.
  for (std::string_view caps : {"caps", "device/caps"}) {
    version = ParseTpmCaps(read(caps));
    if (version != v1::TPM_VERSION_UNKNOWN) return version;
  }
  return ParseTpmDescription(read("device/description"));
}

}  // namespace

v1::EfiFlag ParseEfiBooleanVariable(std::string_view bytes) {
  if (bytes.size() != kEfiAttributesBytes + 1) return v1::EFI_FLAG_UNKNOWN;
  switch (bytes[kEfiAttributesBytes]) {
    case 0:
      return v1::EFI_FLAG_OFF;
    case 1:
      return v1::EFI_FLAG_ON;
    default:
      return v1::EFI_FLAG_UNKNOWN;
  }
}

v1::TpmVersion ParseTpmVersionMajor(std::string_view text) {
  text = Trim(text);
  if (text == "2") return v1::TPM_VERSION_2_0;
  if (text == "1") return v1::TPM_VERSION_1_2;
  return v1::TPM_VERSION_UNKNOWN;
}

v1::TpmVersion ParseTpmCaps(std::string_view text) {
  for (std::string_view line : SplitLines(text)) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    if (Trim(line.substr(0, colon)) != "TCG version") continue;
    std::string_view value = Trim(line.substr(colon + 1));
    if (value == "1.2") return v1::TPM_VERSION_1_2;
    if (value == "2.0") return v1::TPM_VERSION_2_0;
    return v1::TPM_VERSION_UNKNOWN;
  }
  return v1::TPM_VERSION_UNKNOWN;
}

v1::TpmVersion ParseTpmDescription(std::string_view text) {
  std::vector<std::string_view> words = Words(Trim(text));
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    if (!EqualsIgnoreCase(words[i], "TPM")) continue;
    if (words[i + 1] == "2.0") return v1::TPM_VERSION_2_0;
    if (words[i + 1] == "1.2") return v1::TPM_VERSION_1_2;
  }
  return v1::TPM_VERSION_UNKNOWN;
}

absl::StatusOr<v1::Facts> BootIntegrityProbe::Collect(
    const fs::path& root) const {
  v1::Facts facts;
  v1::BootIntegrityFacts* out = facts.mutable_boot_integrity();

  // A real sysfs always lists something under /sys/firmware (acpi, dmi,
  // memmap, devicetree ...); container runtimes mask it with an empty
  // directory, which proves nothing either way.
  if (ListRootedDir(root, "sys/firmware", 1).empty()) {
    out->set_firmware(v1::BOOT_FIRMWARE_UNKNOWN);
  } else if (RootedExists(root, "sys/firmware/efi")) {
    out->set_firmware(v1::BOOT_FIRMWARE_UEFI);
  } else {
    out->set_firmware(v1::BOOT_FIRMWARE_BIOS);
  }

  if (out->firmware() == v1::BOOT_FIRMWARE_UEFI) {
    out->set_efivars_available(!ListRootedDir(root, kEfivarsDir, 1).empty());
    out->set_secure_boot(ReadEfiFlag(root, "SecureBoot"));
    out->set_setup_mode(ReadEfiFlag(root, "SetupMode"));
  }

  for (const std::string& name :
       ListRootedDir(root, "sys/class/tpm", kMaxTpms)) {
    if (!IsTpmName(name)) continue;
    v1::TpmDevice* tpm = out->add_tpms();
    tpm->set_name(name);
    tpm->set_version(ReadTpmVersion(root, Cat("sys/class/tpm/", name)));
  }
  MakeStringsValidUtf8(&facts);
  return facts;
}

}  // namespace evidentia::agent
