// The linux.boot_integrity checks of policies/checks/, graded on the
// probe's fixture trees and on facts built in code.
#include <filesystem>
#include <string>

#include "absl/time/time.h"
#include "agent/linux/probes/boot_integrity_probe.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/checks.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using ::evidentia::testing::EvaluateCheck;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const absl::Time kNow = absl::FromUnixSeconds(1'796'000'000);

v1::Facts CollectFixture(const std::string& name) {
  absl::StatusOr<v1::Facts> facts = BootIntegrityProbe().Collect(
      fs::path(EVIDENTIA_SOURCE_DIR) / "tests/fixtures/boot_integrity" / name);
  EXPECT_TRUE(facts.ok()) << facts.status();
  return facts.ok() ? *facts : v1::Facts();
}

policy::CheckResult SecureBoot(const v1::Facts& facts) {
  return EvaluateCheck("linux.boot_integrity.secure_boot", facts, kNow);
}

policy::CheckResult Tpm(const v1::Facts& facts) {
  return EvaluateCheck("linux.boot_integrity.tpm_present", facts, kNow);
}

// --- linux.boot_integrity.secure_boot ------------------------------------

TEST(SecureBootCheckTest, PassesWithSecureBootOn) {
  policy::CheckResult result =
      SecureBoot(CollectFixture("uefi_secure_boot_tpm2"));
  EXPECT_EQ(result.verdict, policy::Verdict::kPass);
  EXPECT_THAT(result.reasons, IsEmpty());
}

TEST(SecureBootCheckTest, FailsWithSecureBootOff) {
  policy::CheckResult result =
      SecureBoot(CollectFixture("uefi_secure_boot_off_tpm12"));
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("Secure Boot is disabled in the UEFI "
                                    "firmware: enable it in the firmware "
                                    "setup")));
}

TEST(SecureBootCheckTest, FailsInSetupModeWithOneReason) {
  policy::CheckResult result = SecureBoot(CollectFixture("uefi_setup_mode"));
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("in Setup Mode (no Platform Key "
                                    "enrolled)")));
}

TEST(SecureBootCheckTest, WarnsForLegacyBios) {
  policy::CheckResult result = SecureBoot(CollectFixture("bios_no_tpm"));
  EXPECT_EQ(result.verdict, policy::Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("booted through legacy BIOS, which has no "
                                    "Secure Boot: switch it to UEFI boot")));
}

TEST(SecureBootCheckTest, WarnsWhenEfivarfsIsNotMounted) {
  policy::CheckResult result = SecureBoot(CollectFixture("uefi_no_efivarfs"));
  EXPECT_EQ(result.verdict, policy::Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("mount -t efivarfs efivarfs "
                                    "/sys/firmware/efi/efivars")));
}

TEST(SecureBootCheckTest, WarnsForTruncatedVariables) {
  policy::CheckResult result =
      SecureBoot(CollectFixture("uefi_truncated_efivars"));
  EXPECT_EQ(result.verdict, policy::Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("no valid SecureBoot variable")));
}

TEST(SecureBootCheckTest, WarnsWhenFirmwareIsHidden) {
  v1::Facts facts;
  facts.mutable_boot_integrity()->set_firmware(v1::BOOT_FIRMWARE_UNKNOWN);
  policy::CheckResult result = SecureBoot(facts);
  EXPECT_EQ(result.verdict, policy::Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("run the agent on the host, not in a "
                                    "container")));
}

// --- linux.boot_integrity.tpm_present ------------------------------------

TEST(TpmCheckTest, PassesWithTpm2) {
  policy::CheckResult result = Tpm(CollectFixture("uefi_secure_boot_tpm2"));
  EXPECT_EQ(result.verdict, policy::Verdict::kPass);
  EXPECT_THAT(result.reasons, IsEmpty());
}

// Not shown to be a TPM 2.0, so not a pass.
TEST(TpmCheckTest, WarnsForTpmOfUnknownVersion) {
  v1::Facts facts;
  facts.mutable_boot_integrity()->add_tpms()->set_name("tpm0");
  policy::CheckResult result = Tpm(facts);
  EXPECT_EQ(result.verdict, policy::Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("the version of tpm0 cannot be read from "
                                    "/sys/class/tpm/tpm0")));
}

TEST(TpmCheckTest, WarnsWithoutTpm) {
  policy::CheckResult result = Tpm(CollectFixture("bios_no_tpm"));
  EXPECT_EQ(result.verdict, policy::Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("no TPM is visible in /sys/class/tpm: "
                                    "enable the TPM in the firmware setup")));
}

TEST(TpmCheckTest, WarnsForTpm12) {
  policy::CheckResult result =
      Tpm(CollectFixture("uefi_secure_boot_off_tpm12"));
  EXPECT_EQ(result.verdict, policy::Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("tpm0 is a TPM 1.2, which supports only "
                                    "SHA-1")));
}

}  // namespace
}  // namespace evidentia::agent
