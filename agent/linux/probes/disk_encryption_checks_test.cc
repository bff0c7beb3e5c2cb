// The disk encryption checks of policies/checks/linux.yaml on the layers the
// probe reports: live cipher, key size and LUKS key-slot KDFs.
#include <string>

#include "absl/time/time.h"
#include "evidentia/v1/facts.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/checks.h"

namespace evidentia::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kCipherCheck[] = "linux.disk_encryption.strong_cipher";
const absl::Time kNow = absl::FromUnixSeconds(1796256000);  // 2026-12-03

// One LUKS2 layer with argon2id, aes-xts-plain64 and a 512-bit key.
v1::Facts StrongLayer() {
  v1::Facts facts;
  v1::EncryptionLayer* layer = facts.mutable_disk_encryption()->add_layers();
  layer->set_device("dm-0");
  layer->set_dm_name("cryptroot");
  layer->set_type(v1::ENCRYPTION_TYPE_LUKS2);
  layer->set_table_cipher("aes-xts-plain64");
  layer->set_table_key_bits(512);
  layer->set_header_device("nvme0n1p3");
  layer->mutable_luks()->set_version(2);
  layer->mutable_luks()->set_cipher("aes-xts-plain64");
  layer->mutable_luks()->set_key_bits(512);
  v1::LuksKeyslot* slot = layer->mutable_luks()->add_keyslots();
  slot->set_kdf(v1::KDF_TYPE_ARGON2ID);
  return facts;
}

v1::EncryptionLayer* Layer(v1::Facts* facts) {
  return facts->mutable_disk_encryption()->mutable_layers(0);
}

TEST(DiskEncryptionChecksTest, StrongLuks2LayerPasses) {
  policy::CheckResult result =
      testing::EvaluateCheck(kCipherCheck, StrongLayer(), kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kPass);
  EXPECT_THAT(result.reasons, IsEmpty());
}

TEST(DiskEncryptionChecksTest, NoLayersPassesHere) {
  // Unencrypted volumes are linux.disk_encryption.fixed_volumes' finding.
  v1::Facts facts;
  facts.mutable_disk_encryption();
  EXPECT_EQ(testing::EvaluateCheck(kCipherCheck, facts, kNow).verdict,
            policy::Verdict::kPass);
}

TEST(DiskEncryptionChecksTest, NullCipherFails) {
  v1::Facts facts = StrongLayer();
  Layer(&facts)->set_table_cipher("cipher_null-ecb");
  Layer(&facts)->set_table_key_bits(0);
  policy::CheckResult result =
      testing::EvaluateCheck(kCipherCheck, facts, kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre("cryptroot (dm-0) is mapped with cipher_null-ecb, "
                          "which does not encrypt: re-encrypt it with "
                          "aes-xts-plain64 (cryptsetup reencrypt)"));
}

TEST(DiskEncryptionChecksTest, WeakCipherModeFails) {
  v1::Facts facts = StrongLayer();
  Layer(&facts)->set_table_cipher("aes-cbc-plain");
  policy::CheckResult result =
      testing::EvaluateCheck(kCipherCheck, facts, kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(result.reasons[0], ::testing::HasSubstr("aes-cbc-plain"));
}

TEST(DiskEncryptionChecksTest, ShortKeyFails) {
  v1::Facts facts = StrongLayer();
  Layer(&facts)->set_table_cipher("des-cbc-essiv:sha256");
  Layer(&facts)->set_table_key_bits(64);
  policy::CheckResult result =
      testing::EvaluateCheck(kCipherCheck, facts, kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ::testing::Contains(
                  "cryptroot (dm-0) uses a 64-bit key, under the 128 bits "
                  "that resist brute force: re-encrypt it with a longer key"));
}

TEST(DiskEncryptionChecksTest, Luks1AndPbkdf2SlotsWarn) {
  v1::Facts facts = StrongLayer();
  v1::LuksHeader* luks = Layer(&facts)->mutable_luks();
  luks->set_version(1);
  luks->mutable_keyslots(0)->set_kdf(v1::KDF_TYPE_PBKDF2);
  luks->mutable_keyslots(0)->set_index(3);
  policy::CheckResult result =
      testing::EvaluateCheck(kCipherCheck, facts, kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kWarn);
  EXPECT_THAT(
      result.reasons,
      ElementsAre("cryptroot (dm-0) has a LUKS1 header, whose key slots can "
                  "only use PBKDF2: convert it to LUKS2 (cryptsetup convert "
                  "--type luks2) and its slots to argon2id",
                  "cryptroot key slot 3 stretches its passphrase with PBKDF2, "
                  "which GPUs attack cheaply: cryptsetup luksConvertKey "
                  "--pbkdf argon2id"));
}

TEST(DiskEncryptionChecksTest, UnreadableHeaderAndTableWarn) {
  v1::Facts facts = StrongLayer();
  Layer(&facts)->clear_luks();
  Layer(&facts)->set_header_error(
      "cannot read /dev/nvme0n1p3 (PERMISSION_DENIED)");
  Layer(&facts)->clear_table_cipher();
  Layer(&facts)->set_table_error(
      "opening /dev/mapper/control: Permission denied");
  policy::CheckResult result =
      testing::EvaluateCheck(kCipherCheck, facts, kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kWarn);
  EXPECT_THAT(
      result.reasons,
      ElementsAre("cryptroot (dm-0): the live cipher could not be read "
                  "(opening /dev/mapper/control: Permission denied) and there "
                  "is no LUKS header to tell it, so its strength is not "
                  "evidenced: run the agent as root",
                  "cryptroot (dm-0): the LUKS header could not be read (cannot "
                  "read /dev/nvme0n1p3 (PERMISSION_DENIED)), so how its key "
                  "slots are protected is not evidenced"));
}

TEST(DiskEncryptionChecksTest, HeaderStandsInForAnUnreadableTable) {
  v1::Facts facts = StrongLayer();
  Layer(&facts)->clear_table_cipher();
  Layer(&facts)->set_table_key_bits(0);
  Layer(&facts)->set_table_error("no device-mapper device cryptroot");
  EXPECT_EQ(testing::EvaluateCheck(kCipherCheck, facts, kNow).verdict,
            policy::Verdict::kPass);
  Layer(&facts)->mutable_luks()->set_cipher("aes-cbc-plain");
  policy::CheckResult weak = testing::EvaluateCheck(kCipherCheck, facts, kNow);
  EXPECT_EQ(weak.verdict, policy::Verdict::kFail);
  EXPECT_THAT(weak.reasons,
              ElementsAre("cryptroot (dm-0) is encrypted with aes-cbc-plain "
                          "(its LUKS header), a mode with known weaknesses or "
                          "none: re-encrypt it with aes-xts-plain64 "
                          "(cryptsetup reencrypt)"));
}

}  // namespace
}  // namespace evidentia::agent
