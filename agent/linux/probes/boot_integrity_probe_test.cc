#include "agent/linux/probes/boot_integrity_probe.h"

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::IsEmpty;

fs::path Fixture(const std::string& name) {
  return fs::path(EVIDENTIA_SOURCE_DIR) / "tests/fixtures/boot_integrity" /
         name;
}

v1::BootIntegrityFacts CollectAt(const fs::path& root) {
  absl::StatusOr<v1::Facts> facts = BootIntegrityProbe().Collect(root);
  EXPECT_TRUE(facts.ok()) << facts.status();
  if (!facts.ok()) return {};
  EXPECT_TRUE(facts->has_boot_integrity());
  return facts->boot_integrity();
}

v1::BootIntegrityFacts CollectFixture(const std::string& name) {
  return CollectAt(Fixture(name));
}

std::string Efivar(char value) {
  return std::string("\x06\x00\x00\x00", 4) + value;
}

void WriteFile(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  std::fwrite(content.data(), 1, content.size(), f);
  std::fclose(f);
}

// --- ParseEfiBooleanVariable ---------------------------------------------

TEST(EfiVariableParserTest, OneIsOnZeroIsOff) {
  EXPECT_EQ(ParseEfiBooleanVariable(Efivar('\x01')), v1::EFI_FLAG_ON);
  EXPECT_EQ(ParseEfiBooleanVariable(Efivar('\x00')), v1::EFI_FLAG_OFF);
}

TEST(EfiVariableParserTest, AttributesDoNotMatter) {
  EXPECT_EQ(ParseEfiBooleanVariable(std::string("\x07\xff\x00\x80\x01", 5)),
            v1::EFI_FLAG_ON);
}

TEST(EfiVariableParserTest, TruncatedIsUnknown) {
  EXPECT_EQ(ParseEfiBooleanVariable(""), v1::EFI_FLAG_UNKNOWN);
  EXPECT_EQ(ParseEfiBooleanVariable(std::string("\x06\x00\x00\x00", 4)),
            v1::EFI_FLAG_UNKNOWN);
  EXPECT_EQ(ParseEfiBooleanVariable(std::string("\x01", 1)),
            v1::EFI_FLAG_UNKNOWN);
}

TEST(EfiVariableParserTest, LongerThanOneByteIsUnknown) {
  EXPECT_EQ(ParseEfiBooleanVariable(Efivar('\x01') + '\x00'),
            v1::EFI_FLAG_UNKNOWN);
  EXPECT_EQ(ParseEfiBooleanVariable(std::string(1 << 20, '\x01')),
            v1::EFI_FLAG_UNKNOWN);
}

TEST(EfiVariableParserTest, OtherValuesAreUnknown) {
  EXPECT_EQ(ParseEfiBooleanVariable(Efivar('\x02')), v1::EFI_FLAG_UNKNOWN);
  EXPECT_EQ(ParseEfiBooleanVariable(Efivar('\xff')), v1::EFI_FLAG_UNKNOWN);
  EXPECT_EQ(ParseEfiBooleanVariable(Efivar('1')), v1::EFI_FLAG_UNKNOWN);
}

// --- TPM version parsers -------------------------------------------------

TEST(TpmVersionParserTest, VersionMajor) {
  EXPECT_EQ(ParseTpmVersionMajor("2\n"), v1::TPM_VERSION_2_0);
  EXPECT_EQ(ParseTpmVersionMajor("1\n"), v1::TPM_VERSION_1_2);
  EXPECT_EQ(ParseTpmVersionMajor("3\n"), v1::TPM_VERSION_UNKNOWN);
  EXPECT_EQ(ParseTpmVersionMajor(""), v1::TPM_VERSION_UNKNOWN);
  EXPECT_EQ(ParseTpmVersionMajor("22"), v1::TPM_VERSION_UNKNOWN);
  EXPECT_EQ(ParseTpmVersionMajor(std::string("2\0", 2)),
            v1::TPM_VERSION_UNKNOWN);
}

TEST(TpmVersionParserTest, CapsTcgVersionLine) {
  EXPECT_EQ(ParseTpmCaps("Manufacturer: 0x49465800\nTCG version: 1.2\n"
                         "Firmware version: 6.40\n"),
            v1::TPM_VERSION_1_2);
  EXPECT_EQ(ParseTpmCaps("TCG version: 1.1\n"), v1::TPM_VERSION_UNKNOWN);
  EXPECT_EQ(ParseTpmCaps("TCG version: 2.0\r\n"), v1::TPM_VERSION_2_0);
}

TEST(TpmVersionParserTest, CapsWithoutVersionLineIsUnknown) {
  EXPECT_EQ(ParseTpmCaps("Manufacturer: 0x1\n"), v1::TPM_VERSION_UNKNOWN);
  EXPECT_EQ(ParseTpmCaps("TCG version 1.2\n"), v1::TPM_VERSION_UNKNOWN);
  EXPECT_EQ(ParseTpmCaps(":::\n\x01\xff:1.2"), v1::TPM_VERSION_UNKNOWN);
}

TEST(TpmVersionParserTest, Description) {
  EXPECT_EQ(ParseTpmDescription("TPM 2.0 Device\n"), v1::TPM_VERSION_2_0);
  EXPECT_EQ(ParseTpmDescription("TPM 1.2 Device\n"), v1::TPM_VERSION_1_2);
  EXPECT_EQ(ParseTpmDescription("Infineon tpm 1.2\n"), v1::TPM_VERSION_1_2);
  EXPECT_EQ(ParseTpmDescription("TPM\n"), v1::TPM_VERSION_UNKNOWN);
  EXPECT_EQ(ParseTpmDescription("Trusted Platform Module 2.0\n"),
            v1::TPM_VERSION_UNKNOWN);
}

// --- Fixtures ------------------------------------------------------------

TEST(BootIntegrityProbeTest, BiosWithoutTpm) {
  v1::BootIntegrityFacts facts = CollectFixture("bios_no_tpm");
  EXPECT_EQ(facts.firmware(), v1::BOOT_FIRMWARE_BIOS);
  EXPECT_FALSE(facts.efivars_available());
  EXPECT_EQ(facts.secure_boot(), v1::EFI_FLAG_UNKNOWN);
  EXPECT_EQ(facts.setup_mode(), v1::EFI_FLAG_UNKNOWN);
  EXPECT_THAT(facts.tpms(), IsEmpty());
}

TEST(BootIntegrityProbeTest, UefiSecureBootOnWithTpm2ThroughSymlink) {
  v1::BootIntegrityFacts facts = CollectFixture("uefi_secure_boot_tpm2");
  EXPECT_EQ(facts.firmware(), v1::BOOT_FIRMWARE_UEFI);
  EXPECT_TRUE(facts.efivars_available());
  EXPECT_EQ(facts.secure_boot(), v1::EFI_FLAG_ON);
  EXPECT_EQ(facts.setup_mode(), v1::EFI_FLAG_OFF);
  ASSERT_EQ(facts.tpms_size(), 1);
  EXPECT_EQ(facts.tpms(0).name(), "tpm0");
  EXPECT_EQ(facts.tpms(0).version(), v1::TPM_VERSION_2_0);
}

TEST(BootIntegrityProbeTest, UefiSecureBootOffWithTpm12Caps) {
  v1::BootIntegrityFacts facts = CollectFixture("uefi_secure_boot_off_tpm12");
  EXPECT_EQ(facts.firmware(), v1::BOOT_FIRMWARE_UEFI);
  EXPECT_EQ(facts.secure_boot(), v1::EFI_FLAG_OFF);
  EXPECT_EQ(facts.setup_mode(), v1::EFI_FLAG_OFF);
  ASSERT_EQ(facts.tpms_size(), 1);
  EXPECT_EQ(facts.tpms(0).version(), v1::TPM_VERSION_1_2);
}

TEST(BootIntegrityProbeTest, UefiSetupModeWithTpmKnownByDescription) {
  v1::BootIntegrityFacts facts = CollectFixture("uefi_setup_mode");
  EXPECT_EQ(facts.secure_boot(), v1::EFI_FLAG_OFF);
  EXPECT_EQ(facts.setup_mode(), v1::EFI_FLAG_ON);
  ASSERT_EQ(facts.tpms_size(), 1);
  EXPECT_EQ(facts.tpms(0).version(), v1::TPM_VERSION_2_0);
}

TEST(BootIntegrityProbeTest, TruncatedEfivarsAreUnknown) {
  v1::BootIntegrityFacts facts = CollectFixture("uefi_truncated_efivars");
  EXPECT_EQ(facts.firmware(), v1::BOOT_FIRMWARE_UEFI);
  EXPECT_TRUE(facts.efivars_available());
  EXPECT_EQ(facts.secure_boot(), v1::EFI_FLAG_UNKNOWN);
  EXPECT_EQ(facts.setup_mode(), v1::EFI_FLAG_UNKNOWN);
  EXPECT_THAT(facts.tpms(), IsEmpty());
}

TEST(BootIntegrityProbeTest, UefiWithoutEfivarfsIsUnknown) {
  v1::BootIntegrityFacts facts = CollectFixture("uefi_no_efivarfs");
  EXPECT_EQ(facts.firmware(), v1::BOOT_FIRMWARE_UEFI);
  EXPECT_FALSE(facts.efivars_available());
  EXPECT_EQ(facts.secure_boot(), v1::EFI_FLAG_UNKNOWN);
}

TEST(BootIntegrityProbeTest, BiosTpm12FromOldKernelDeviceCaps) {
  v1::BootIntegrityFacts facts = CollectFixture("bios_tpm12_device_caps");
  EXPECT_EQ(facts.firmware(), v1::BOOT_FIRMWARE_BIOS);
  ASSERT_EQ(facts.tpms_size(), 1);
  EXPECT_EQ(facts.tpms(0).version(), v1::TPM_VERSION_1_2);
}

TEST(BootIntegrityProbeTest, MaskedFirmwareDirectoryIsUnknown) {
  fs::path root = fs::path(testing::TempDir()) / "boot_integrity_masked";
  fs::remove_all(root);
  fs::create_directories(root / "sys/firmware");  // as Docker masks it
  v1::BootIntegrityFacts facts = CollectAt(root);
  EXPECT_EQ(facts.firmware(), v1::BOOT_FIRMWARE_UNKNOWN);
  EXPECT_EQ(facts.secure_boot(), v1::EFI_FLAG_UNKNOWN);
}

TEST(BootIntegrityProbeTest, NoSysfsIsUnknown) {
  fs::path root = fs::path(testing::TempDir()) / "boot_integrity_empty";
  fs::remove_all(root);
  fs::create_directories(root);
  v1::BootIntegrityFacts facts = CollectAt(root);
  EXPECT_EQ(facts.firmware(), v1::BOOT_FIRMWARE_UNKNOWN);
  EXPECT_THAT(facts.tpms(), IsEmpty());
}

TEST(BootIntegrityProbeTest, SeveralTpmsInNameOrderOthersIgnored) {
  fs::path root = fs::path(testing::TempDir()) / "boot_integrity_tpms";
  fs::remove_all(root);
  WriteFile(root / "sys/firmware/acpi/tables/DSDT", "DSDT");
  WriteFile(root / "sys/class/tpm/tpm1/tpm_version_major", "2\n");
  WriteFile(root / "sys/class/tpm/tpm0/tpm_version_major", "junk");
  WriteFile(root / "sys/class/tpm/tpmrm0/tpm_version_major", "2\n");
  WriteFile(root / "sys/class/tpm/tpmx/tpm_version_major", "2\n");
  v1::BootIntegrityFacts facts = CollectAt(root);
  ASSERT_EQ(facts.tpms_size(), 2);
  EXPECT_EQ(facts.tpms(0).name(), "tpm0");
  EXPECT_EQ(facts.tpms(0).version(), v1::TPM_VERSION_UNKNOWN);
  EXPECT_EQ(facts.tpms(1).name(), "tpm1");
  EXPECT_EQ(facts.tpms(1).version(), v1::TPM_VERSION_2_0);
}

TEST(BootIntegrityProbeTest, HugeEfivarIsUnknownNotRead) {
  fs::path root = fs::path(testing::TempDir()) / "boot_integrity_huge";
  fs::remove_all(root);
  WriteFile(root / "sys/firmware/acpi/tables/DSDT", "DSDT");
  WriteFile(root / ("sys/firmware/efi/efivars/SecureBoot-" +
                    std::string(kEfiGlobalVariableGuid)),
            std::string(1 << 20, '\x01'));
  v1::BootIntegrityFacts facts = CollectAt(root);
  EXPECT_EQ(facts.firmware(), v1::BOOT_FIRMWARE_UEFI);
  EXPECT_EQ(facts.secure_boot(), v1::EFI_FLAG_UNKNOWN);
}

TEST(BootIntegrityProbeTest, TwoCollectionsAreIdentical) {
  absl::StatusOr<v1::Facts> a =
      BootIntegrityProbe().Collect(Fixture("uefi_secure_boot_tpm2"));
  absl::StatusOr<v1::Facts> b =
      BootIntegrityProbe().Collect(Fixture("uefi_secure_boot_tpm2"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->SerializeAsString(), b->SerializeAsString());
}

}  // namespace
}  // namespace evidentia::agent
