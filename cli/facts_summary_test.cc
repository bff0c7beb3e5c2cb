#include "cli/facts_summary.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evidentia::collector {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(FactsSummaryTest, NamesUnencryptedVolumeAndDevice) {
  v1::Facts facts;
  v1::Volume* v = facts.mutable_disk_encryption()->add_volumes();
  v->set_kind(v1::VOLUME_KIND_MOUNT);
  v->set_mount_point("/home");
  v->set_device("sda3");
  v->set_resolved(true);
  v->set_fs_type("ext4");
  const std::string text = SummarizeFacts(facts);
  EXPECT_THAT(text, HasSubstr("NOT every fixed volume is encrypted"));
  EXPECT_THAT(text, HasSubstr("/home on sda3 (ext4): NOT encrypted"));
}

TEST(FactsSummaryTest, NamesEncryptionLayerAndCipher) {
  v1::Facts facts;
  facts.mutable_disk_encryption()->set_all_volumes_encrypted(true);
  v1::Volume* v = facts.mutable_disk_encryption()->add_volumes();
  v->set_kind(v1::VOLUME_KIND_MOUNT);
  v->set_mount_point("/");
  v->set_device("dm-1");
  v->set_resolved(true);
  v->set_encrypted(true);
  v1::EncryptionLayer* e = v->add_encryption();
  e->set_type(v1::ENCRYPTION_TYPE_LUKS2);
  e->set_device("dm-0");
  e->set_cipher("aes-xts-plain64");
  const std::string text = SummarizeFacts(facts);
  EXPECT_THAT(text, HasSubstr("every fixed volume is encrypted"));
  EXPECT_THAT(text, HasSubstr("encrypted (LUKS2 on dm-0, aes-xts-plain64)"));
}

TEST(FactsSummaryTest, SaysWhenNoAntiMalwareIsFound) {
  v1::Facts facts;
  facts.mutable_anti_malware()->set_package_database_read(true);
  EXPECT_THAT(SummarizeFacts(facts),
              HasSubstr("no known anti-malware product found"));
}

TEST(FactsSummaryTest, UpdaterAloneIsNotARunningEngine) {
  v1::Facts facts;
  v1::AntiMalwareProduct* p = facts.mutable_anti_malware()->add_products();
  p->set_name("ClamAV");
  p->set_installed(true);
  p->set_running(true);  // freshclam
  p->set_updater_running(true);
  p->set_newest_signature_build_time_unix(1763283600);  // 2025-11-16
  p->set_signature_source(v1::SIGNATURE_SOURCE_DISK);
  const std::string text = SummarizeFacts(facts);
  EXPECT_THAT(text, HasSubstr("ClamAV: installed"));
  EXPECT_THAT(text, HasSubstr("engine NOT running"));
  EXPECT_THAT(text, HasSubstr("only its updater running"));
  EXPECT_THAT(text, HasSubstr("signatures on disk built 2025-11-16 (not "
                              "confirmed loaded by the engine)"));
}

TEST(FactsSummaryTest, SignaturesTheEngineLoadedAreDatedByItsAnswer) {
  v1::Facts facts;
  v1::AntiMalwareProduct* p = facts.mutable_anti_malware()->add_products();
  p->set_name("ClamAV");
  p->set_installed(true);
  p->set_engine_running(true);
  p->set_newest_signature_build_time_unix(1763283600);  // 2025-11-16
  p->set_signature_build_time_unix(1763024400);         // 2025-11-13
  p->set_signature_source(v1::SIGNATURE_SOURCE_ENGINE);
  const std::string text = SummarizeFacts(facts);
  EXPECT_THAT(text, HasSubstr("engine running"));
  EXPECT_THAT(text,
              HasSubstr("signatures built 2025-11-13 (loaded by the engine)"));
}

TEST(FactsSummaryTest, FlagsUidZeroAndEmptyPasswords) {
  v1::Facts facts;
  v1::LocalAccountsFacts* f = facts.mutable_local_accounts();
  f->set_shadow_readable(true);
  f->add_uid0_non_root("toor");
  v1::Account* a = f->add_accounts();
  a->set_name("guest");
  a->set_interactive(true);
  a->set_shell("/bin/sh");
  a->set_password_state(v1::PASSWORD_STATE_EMPTY);
  const std::string text = SummarizeFacts(facts);
  EXPECT_THAT(text, HasSubstr("uid 0 besides root: toor"));
  EXPECT_THAT(text, HasSubstr("empty passwords: guest"));
  EXPECT_THAT(text, HasSubstr("login account guest"));
  EXPECT_THAT(text, Not(HasSubstr("shadow not readable")));
}

TEST(FactsSummaryTest, SaysWhenShadowIsUnreadable) {
  v1::Facts facts;
  facts.mutable_local_accounts()->set_shadow_readable(false);
  EXPECT_THAT(SummarizeFacts(facts), HasSubstr("(shadow not readable)"));
}

TEST(FactsSummaryTest, ProbesWithoutTheirOwnSummaryListWhatIsSet) {
  v1::Facts facts;
  v1::BootIntegrityFacts* boot = facts.mutable_boot_integrity();
  boot->set_firmware(v1::BOOT_FIRMWARE_UEFI);
  boot->set_efivars_available(true);
  boot->set_secure_boot(v1::EFI_FLAG_ON);
  v1::TpmDevice* tpm = boot->add_tpms();
  tpm->set_name("tpm0");
  tpm->set_version(v1::TPM_VERSION_2_0);
  EXPECT_EQ(SummarizeFacts(facts),
            "  firmware: BOOT_FIRMWARE_UEFI\n"
            "  efivars_available: yes\n"
            "  secure_boot: EFI_FLAG_ON\n"
            "  tpms (1):\n"
            "  - name=tpm0 version=TPM_VERSION_2_0\n");
}

// Facts come from agents over the network: what the CLI prints must not
// drive the operator's terminal, forge lines or flood it.
TEST(FactsSummaryTest, GenericSummaryEscapesTerminalControlAndBoundsStrings) {
  v1::Facts facts;
  v1::BootIntegrityFacts* boot = facts.mutable_boot_integrity();
  v1::TpmDevice* tpm = boot->add_tpms();
  tpm->set_name(
      "tpm0\x1b]0;pwned\x07\x1b[2J\r\n  secure_boot: EFI_FLAG_ON\xc2\x9b"
      "\xe2\x80\xae\xff");
  v1::TpmDevice* huge = boot->add_tpms();
  huge->set_name(std::string(100000, 'a'));
  const std::string out = SummarizeFacts(facts);
  for (char c : out) {
    EXPECT_TRUE(c == '\n' || (c >= 0x20 && c != 0x7f)) << static_cast<int>(c);
  }
  EXPECT_THAT(out, Not(HasSubstr("\xc2\x9b")));      // C1 CSI
  EXPECT_THAT(out, Not(HasSubstr("\xe2\x80\xae")));  // right-to-left override
  EXPECT_THAT(out, Not(HasSubstr("\xff")));
  EXPECT_THAT(out, Not(HasSubstr("\n  secure_boot")));
  EXPECT_THAT(out, HasSubstr("tpm0\\x1b]0;pwned\\x07"));
  EXPECT_LT(out.size(), 1000u);
  EXPECT_THAT(out, HasSubstr("(100000 bytes)"));
}

TEST(FactsSummaryTest, EveryProbesSummaryEscapesTerminalControl) {
  v1::Facts facts;
  v1::Volume* volume = facts.mutable_disk_encryption()->add_volumes();
  volume->set_mount_point("/srv\x1b[31m\x9b");
  volume->set_device("sda1");
  const std::string out = SummarizeFacts(facts);
  EXPECT_THAT(out, Not(HasSubstr("\x1b")));
  EXPECT_THAT(out, Not(HasSubstr("\x9b")));
  EXPECT_THAT(out, HasSubstr("/srv\\x1b[31m\\x9b"));
}

TEST(FactsSummaryTest, GenericSummarySaysHowManyElementsItLeftOut) {
  v1::Facts facts;
  v1::BootIntegrityFacts* boot = facts.mutable_boot_integrity();
  for (int i = 0; i < 60; ++i) boot->add_tpms()->set_name("tpm");
  const std::string out = SummarizeFacts(facts);
  EXPECT_THAT(out, HasSubstr("tpms (60):"));
  EXPECT_THAT(out, HasSubstr("(10 more)"));
}

TEST(FactsSummaryTest, GenericSummaryOfNothingSaysSo) {
  v1::Facts facts;
  facts.mutable_boot_integrity();
  EXPECT_EQ(SummarizeFacts(facts), "  (nothing observed)\n");
}

TEST(FactsSummaryTest, UnknownKindPointsAtJson) {
  EXPECT_THAT(SummarizeFacts(v1::Facts()), HasSubstr("--json"));
}

}  // namespace
}  // namespace evidentia::collector
