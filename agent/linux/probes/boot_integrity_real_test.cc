// linux.boot_integrity on this machine (root "/") against the real tools
// run by the test: `mokutil --sb-state` for Secure Boot and `ls` for
// /sys/firmware/efi and /sys/class/tpm.
#include <string>
#include <vector>

#include "agent/linux/probes/boot_integrity_probe.h"
#include "agent/linux/sys/text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/shell.h"

namespace evidentia::agent {
namespace {

using ::evidentia::testing::Shell;
using ::evidentia::testing::ShellResult;

v1::BootIntegrityFacts CollectHost() {
  absl::StatusOr<v1::Facts> facts = BootIntegrityProbe().Collect("/");
  EXPECT_TRUE(facts.ok()) << facts.status();
  return facts.ok() ? facts->boot_integrity() : v1::BootIntegrityFacts();
}

bool Contains(const std::string& text, std::string_view what) {
  return text.find(what) != std::string::npos;
}

TEST(BootIntegrityRealTest, SecureBootAgreesWithMokutil) {
  v1::BootIntegrityFacts facts = CollectHost();
  // mokutil says "EFI variables are not supported" on standard error.
  ShellResult mokutil = Shell("{ mokutil --sb-state 2>&1; }");
  ASSERT_NE(mokutil.status, -1) << "mokutil did not run";
  ASSERT_NE(mokutil.status, 127) << "mokutil is not installed";
  const bool efi_dir = Shell("ls -d /sys/firmware/efi >/dev/null").status == 0;
  if (Contains(mokutil.out, "EFI variables are not supported")) {
    EXPECT_NE(mokutil.status, 0);
    // mokutil finds no efivarfs: the probe cannot read the variables either.
    EXPECT_FALSE(facts.efivars_available());
    EXPECT_EQ(facts.secure_boot(), v1::EFI_FLAG_UNKNOWN);
    EXPECT_EQ(facts.setup_mode(), v1::EFI_FLAG_UNKNOWN);
    // Not UEFI unless /sys/firmware/efi exists (UEFI without efivarfs).
    EXPECT_EQ(facts.firmware() == v1::BOOT_FIRMWARE_UEFI, efi_dir);
  } else if (Contains(mokutil.out, "SecureBoot enabled")) {
    EXPECT_EQ(facts.firmware(), v1::BOOT_FIRMWARE_UEFI);
    EXPECT_EQ(facts.secure_boot(), v1::EFI_FLAG_ON);
  } else if (Contains(mokutil.out, "SecureBoot disabled")) {
    EXPECT_EQ(facts.firmware(), v1::BOOT_FIRMWARE_UEFI);
    EXPECT_EQ(facts.secure_boot(), v1::EFI_FLAG_OFF);
    EXPECT_EQ(facts.setup_mode() == v1::EFI_FLAG_ON,
              Contains(mokutil.out, "Setup Mode"));
  } else if (Contains(mokutil.out, "doesn't support Secure Boot")) {
    EXPECT_EQ(facts.firmware(), v1::BOOT_FIRMWARE_UEFI);
    EXPECT_EQ(facts.secure_boot(), v1::EFI_FLAG_UNKNOWN);
  } else {
    ADD_FAILURE() << "unexpected mokutil output: " << mokutil.out;
  }
  // The firmware is UEFI exactly when ls finds /sys/firmware/efi (or
  // unknown when /sys/firmware is empty, as in a container).
  const bool firmware_listed = !Shell("ls -A /sys/firmware").out.empty();
  EXPECT_EQ(facts.firmware(), !firmware_listed ? v1::BOOT_FIRMWARE_UNKNOWN
                              : efi_dir        ? v1::BOOT_FIRMWARE_UEFI
                                               : v1::BOOT_FIRMWARE_BIOS);
}

TEST(BootIntegrityRealTest, TpmsAgreeWithLsOfSysClassTpm) {
  v1::BootIntegrityFacts facts = CollectHost();
  ShellResult ls =
      Shell("ls -1 /sys/class/tpm | grep -E '^tpm[0-9]+$' | LC_ALL=C sort");
  std::vector<std::string> listed;
  for (std::string_view name : SplitLines(ls.out)) listed.emplace_back(name);
  std::vector<std::string> reported;
  for (const v1::TpmDevice& tpm : facts.tpms()) reported.push_back(tpm.name());
  EXPECT_EQ(reported, listed);
  // Every TPM the kernel names a major version for has that version.
  for (const v1::TpmDevice& tpm : facts.tpms()) {
    ShellResult major =
        Shell("cat /sys/class/tpm/" + tpm.name() + "/tpm_version_major");
    if (major.status != 0) continue;
    EXPECT_EQ(tpm.version(), ParseTpmVersionMajor(major.out)) << tpm.name();
  }
}

TEST(BootIntegrityRealTest, TwoCollectionsGiveIdenticalBytes) {
  absl::StatusOr<v1::Facts> a = BootIntegrityProbe().Collect("/");
  absl::StatusOr<v1::Facts> b = BootIntegrityProbe().Collect("/");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->SerializeAsString(), b->SerializeAsString());
}

}  // namespace
}  // namespace evidentia::agent
