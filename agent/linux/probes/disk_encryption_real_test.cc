// The disk encryption probe beside the real tools: LUKS headers made by
// cryptsetup and read back by `cryptsetup luksDump`, and the dm-crypt
// mappings of this machine as `dmsetup` would list them.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "agent/linux/probes/disk_encryption_probe.h"
#include "agent/linux/probes/luks_header.h"
#include "agent/linux/sys/rooted_fs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;

// The tool's standard output; its exit status in `rc`.
std::string RunTool(const std::string& command, int* rc) {
  testing::ShellResult result = testing::Shell(command);
  *rc = result.status;
  return result.out;
}

// "Key:" style lines of luksDump, "Name:\tvalue" -> value (first of each).
std::map<std::string, std::string> DumpFields(const std::string& dump) {
  std::map<std::string, std::string> fields;
  for (absl::string_view line : absl::StrSplit(dump, '\n')) {
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    std::string key(absl::StripAsciiWhitespace(line.substr(0, colon)));
    std::string value(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    fields.emplace(key, value);
  }
  return fields;
}

class CryptsetupTest : public ::testing::Test {
 protected:
  // Formats a 20 MiB image with cryptsetup `options` and parses its header.
  void Format(const std::string& options) {
    ASSERT_FALSE(dir_.path().empty());
    image_ = dir_.path() / "disk.img";
    int rc = 0;
    RunTool("truncate -s 20M " + image_.string(), &rc);
    ASSERT_EQ(rc, 0);
    RunTool("printf pw | cryptsetup luksFormat --batch-mode --key-file - " +
                options + " " + image_.string(),
            &rc);
    ASSERT_EQ(rc, 0) << "cryptsetup luksFormat " << options;
    dump_ = RunTool("cryptsetup luksDump " + image_.string(), &rc);
    ASSERT_EQ(rc, 0);
    absl::StatusOr<std::string> bytes =
        ReadRootedPrefix(dir_.path(), "disk.img", 4 << 20);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    absl::StatusOr<v1::LuksHeader> header = ParseLuksHeader(*bytes);
    ASSERT_TRUE(header.ok()) << header.status();
    header_ = *header;
  }

  testing::ScopedTempDir dir_;
  fs::path image_;
  std::string dump_;
  v1::LuksHeader header_;
};

TEST_F(CryptsetupTest, Luks1HeaderMatchesLuksDump) {
  ASSERT_NO_FATAL_FAILURE(
      Format("--type luks1 --cipher aes-cbc-essiv:sha256 --key-size 256 "
             "--hash sha512 --iter-time 1"));
  std::map<std::string, std::string> dump = DumpFields(dump_);
  EXPECT_EQ(dump["Version"], "1");
  EXPECT_EQ(header_.version(), 1u);
  EXPECT_EQ(header_.cipher(), dump["Cipher name"] + "-" + dump["Cipher mode"]);
  EXPECT_EQ(std::to_string(header_.key_bits()), dump["MK bits"]);
  ASSERT_EQ(header_.keyslots_size(), 1);
  EXPECT_EQ(header_.keyslots(0).pbkdf2_hash(), dump["Hash spec"]);
  EXPECT_EQ(std::to_string(header_.keyslots(0).iterations()),
            dump["Iterations"]);
}

TEST_F(CryptsetupTest, Luks2HeaderMatchesLuksDump) {
  ASSERT_NO_FATAL_FAILURE(Format(
      "--type luks2 --cipher aes-xts-plain64 --key-size 256 "
      "--pbkdf argon2i --pbkdf-memory 32768 --pbkdf-force-iterations 5"));
  std::map<std::string, std::string> dump = DumpFields(dump_);
  EXPECT_EQ(dump["Version"], "2");
  EXPECT_EQ(header_.version(), 2u);
  EXPECT_EQ(header_.cipher(), dump["cipher"]);  // the data segment's
  EXPECT_EQ(header_.key_bits(), 256u);
  EXPECT_EQ(dump["Key"], "256 bits");
  ASSERT_EQ(header_.keyslots_size(), 1);
  EXPECT_EQ(dump["PBKDF"], "argon2i");
  EXPECT_EQ(header_.keyslots(0).kdf(), v1::KDF_TYPE_ARGON2I);
  EXPECT_EQ(std::to_string(header_.keyslots(0).iterations()),
            dump["Time cost"]);
  EXPECT_EQ(std::to_string(header_.keyslots(0).memory_kib()), dump["Memory"]);
}

TEST_F(CryptsetupTest, Luks2Pbkdf2SlotMatchesLuksDump) {
  ASSERT_NO_FATAL_FAILURE(
      Format("--type luks2 --pbkdf pbkdf2 --hash sha256 "
             "--pbkdf-force-iterations 1000"));
  std::map<std::string, std::string> dump = DumpFields(dump_);
  ASSERT_EQ(header_.keyslots_size(), 1);
  EXPECT_EQ(dump["PBKDF"], "pbkdf2");
  EXPECT_EQ(header_.keyslots(0).kdf(), v1::KDF_TYPE_PBKDF2);
  EXPECT_EQ(header_.keyslots(0).pbkdf2_hash(), dump["Hash"]);
  EXPECT_EQ(std::to_string(header_.keyslots(0).iterations()),
            dump["Iterations"]);
}

TEST_F(CryptsetupTest, AddedKeySlotShowsInBoth) {
  ASSERT_NO_FATAL_FAILURE(Format("--type luks1 --iter-time 1"));
  const fs::path old_key = dir_.path() / "old";
  const fs::path new_key = dir_.path() / "new";
  int rc = 0;
  RunTool(
      "printf pw > " + old_key.string() + " && printf other > " +
          new_key.string() +
          " && cryptsetup luksAddKey --batch-mode --iter-time 1 --key-slot 5 "
          "--key-file " +
          old_key.string() + " " + image_.string() + " " + new_key.string(),
      &rc);
  ASSERT_EQ(rc, 0);
  std::string dump = RunTool("cryptsetup luksDump " + image_.string(), &rc);
  absl::StatusOr<std::string> bytes =
      ReadRootedPrefix(dir_.path(), "disk.img", 4 << 20);
  ASSERT_TRUE(bytes.ok());
  absl::StatusOr<v1::LuksHeader> header = ParseLuksHeader(*bytes);
  ASSERT_TRUE(header.ok());
  ASSERT_EQ(header->keyslots_size(), 2);
  EXPECT_EQ(header->keyslots(1).index(), 5u);
  EXPECT_THAT(dump, ::testing::HasSubstr("Key Slot 5: ENABLED"));
}

// This machine's dm-crypt mappings as the kernel lists them (`dmsetup
// table --target crypt`, keys hidden by dmsetup) against the probe's layers.
TEST(DiskEncryptionRealTest, LayersMatchDmsetupOnThisMachine) {
  absl::StatusOr<v1::Facts> facts = DiskEncryptionProbe().Collect("/");
  ASSERT_TRUE(facts.ok()) << facts.status();
  std::map<std::string, std::string> probe;
  for (const v1::EncryptionLayer& layer : facts->disk_encryption().layers()) {
    probe[layer.dm_name()] = layer.table_cipher();
  }
  int rc = 0;
  std::string table = RunTool("dmsetup table --target crypt", &rc);
  std::map<std::string, std::string> tool;
  for (absl::string_view line :
       absl::StrSplit(table, '\n', absl::SkipEmpty())) {
    // "NAME: START LENGTH crypt CIPHER KEY ..."
    std::vector<std::string> words =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (words.size() < 5 || words[0].back() != ':') continue;
    tool[words[0].substr(0, words[0].size() - 1)] = words[4];
  }
  // Only mappings beneath a mounted volume or active swap are layers.
  for (const auto& [name, cipher] : probe) {
    ASSERT_TRUE(tool.count(name)) << name << " not listed by dmsetup";
    EXPECT_EQ(cipher, tool[name]) << name;
  }
  if (tool.empty()) {
    EXPECT_TRUE(probe.empty());
  }
}

TEST(DiskEncryptionRealTest, StableBetweenCollections) {
  absl::StatusOr<v1::Facts> first = DiskEncryptionProbe().Collect("/");
  absl::StatusOr<v1::Facts> second = DiskEncryptionProbe().Collect("/");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->SerializeAsString(), second->SerializeAsString());
}

}  // namespace
}  // namespace evidentia::agent
