#include "agent/linux/probes/disk_encryption_probe.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

fs::path Fixture(const std::string& name) {
  return fs::path(EVIDENTIA_SOURCE_DIR) / "tests/fixtures/disk_encryption" /
         name;
}

// The live tables the fixtures' dm-crypt mappings would have, keyed by dm
// name: keyring keys as cryptsetup 2 loads them, a hex key for plain swap.
std::shared_ptr<const DeviceMapper> FixtureTables() {
  return std::make_shared<FakeDeviceMapper>(
      std::map<std::string, std::vector<std::string>>{
          {"sda2_crypt",
           {"aes-xts-plain64 :64:logon:cryptsetup:8d2f0b7c-d0 0 8:2 4096"}},
          {"sda3_crypt",
           {"aes-xts-plain64 :64:logon:cryptsetup:3f6c5bd1-d0 0 8:3 32768 1 "
            "allow_discards"}},
          {"cryptswap",
           {"aes-cbc-essiv:sha256 " + std::string(64, 'a') + " 0 8:3 0"}},
      });
}

v1::DiskEncryptionFacts CollectFixture(const std::string& name) {
  absl::StatusOr<v1::Facts> facts =
      DiskEncryptionProbe(FixtureTables()).Collect(Fixture(name));
  EXPECT_TRUE(facts.ok()) << facts.status();
  if (!facts.ok()) return {};
  EXPECT_TRUE(facts->has_disk_encryption());
  return facts->disk_encryption();
}

const v1::Volume& Mount(const v1::DiskEncryptionFacts& facts,
                        const std::string& mount_point) {
  for (const v1::Volume& volume : facts.volumes()) {
    if (volume.kind() == v1::VOLUME_KIND_MOUNT &&
        volume.mount_point() == mount_point) {
      return volume;
    }
  }
  ADD_FAILURE() << "no volume mounted at " << mount_point;
  static const v1::Volume kEmpty;
  return kEmpty;
}

const v1::Volume& Swap(const v1::DiskEncryptionFacts& facts,
                       const std::string& source) {
  for (const v1::Volume& volume : facts.volumes()) {
    if (volume.kind() == v1::VOLUME_KIND_SWAP && volume.source() == source) {
      return volume;
    }
  }
  ADD_FAILURE() << "no swap " << source;
  static const v1::Volume kEmpty;
  return kEmpty;
}

std::vector<std::string> StackNames(const v1::Volume& volume) {
  std::vector<std::string> names;
  for (const v1::BlockDevice& device : volume.stack()) {
    names.push_back(device.name());
  }
  return names;
}

std::vector<std::string> MountPoints(const v1::DiskEncryptionFacts& facts) {
  std::vector<std::string> points;
  for (const v1::Volume& volume : facts.volumes()) {
    if (volume.kind() == v1::VOLUME_KIND_MOUNT) {
      points.push_back(volume.mount_point());
    }
  }
  return points;
}

// --- ParseMounts ---------------------------------------------------------

TEST(MountsParserTest, ReadsSourceMountPointAndType) {
  std::vector<MountEntry> mounts =
      ParseMounts("/dev/sda1 / ext4 rw,relatime 0 0\n");
  ASSERT_EQ(mounts.size(), 1u);
  EXPECT_EQ(mounts[0].source, "/dev/sda1");
  EXPECT_EQ(mounts[0].mount_point, "/");
  EXPECT_EQ(mounts[0].fs_type, "ext4");
}

TEST(MountsParserTest, DecodesOctalEscapesInMountPoint) {
  std::vector<MountEntry> mounts =
      ParseMounts("/dev/sdb1 /media/My\\040Disk vfat rw 0 0\n");
  ASSERT_EQ(mounts.size(), 1u);
  EXPECT_EQ(mounts[0].mount_point, "/media/My Disk");
}

TEST(MountsParserTest, KeepsBackslashNotFollowedByThreeOctalDigits) {
  EXPECT_EQ(UnescapeMountField("a\\08b"), "a\\08b");
  EXPECT_EQ(UnescapeMountField("end\\04"), "end\\04");
  EXPECT_EQ(UnescapeMountField("\\"), "\\");
}

TEST(MountsParserTest, SkipsLinesWithFewerThanThreeFields) {
  std::vector<MountEntry> mounts =
      ParseMounts("/dev/sda1 /\n\n   \n/dev/sda2 /home ext4 rw 0 0\n");
  ASSERT_EQ(mounts.size(), 1u);
  EXPECT_EQ(mounts[0].mount_point, "/home");
}

TEST(MountsParserTest, SurvivesBinaryJunkAndHugeLines) {
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>(i * 37));
  junk += "\n" + std::string(1 << 20, 'x') + " / ext4\n\\\\\\0";
  std::vector<MountEntry> mounts = ParseMounts(junk);
  EXPECT_FALSE(mounts.empty());  // the huge line still has three fields
}

// --- ParseMountInfo -------------------------------------------------------

TEST(MountInfoParserTest, ReadsDeviceNumberAndMountPoint) {
  std::vector<MountInfoEntry> entries = ParseMountInfo(
      "36 35 98:0 /mnt1 /mnt\\0402 rw,noatime master:1 - ext3 /dev/root rw\n");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].major_minor, "98:0");
  EXPECT_EQ(entries[0].mount_point, "/mnt 2");
}

TEST(MountInfoParserTest, SkipsShortLinesAndMissingDeviceNumber) {
  EXPECT_THAT(ParseMountInfo("36 35 98:0 /\n1 2 nocolon / /x rw\n"), IsEmpty());
}

// --- ParseSwaps ----------------------------------------------------------

TEST(SwapsParserTest, SkipsHeaderAndReadsType) {
  std::vector<SwapEntry> swaps = ParseSwaps(
      "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
      "/dev/sda3                               partition\t2097148\t0\t-2\n"
      "/swap\\040file                          file\t1048572\t0\t-3\n");
  ASSERT_EQ(swaps.size(), 2u);
  EXPECT_EQ(swaps[0].source, "/dev/sda3");
  EXPECT_EQ(swaps[0].type, "partition");
  EXPECT_EQ(swaps[1].source, "/swap file");
  EXPECT_EQ(swaps[1].type, "file");
}

TEST(SwapsParserTest, EmptyTableHasNoSwap) {
  EXPECT_THAT(ParseSwaps("Filename Type Size Used Priority\n"), IsEmpty());
}

// --- ParseCrypttab -------------------------------------------------------

TEST(CrypttabParserTest, ReadsCipherOption) {
  std::vector<CrypttabEntry> entries = ParseCrypttab(
      "cryptswap /dev/sda2 /dev/urandom "
      "swap,cipher=aes-xts-plain64,size=256\n");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].name, "cryptswap");
  EXPECT_EQ(entries[0].device, "/dev/sda2");
  EXPECT_EQ(entries[0].cipher, "aes-xts-plain64");
}

TEST(CrypttabParserTest, NoOptionsMeansNoCipher) {
  std::vector<CrypttabEntry> entries = ParseCrypttab("root UUID=abc none\n");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].cipher, "");
}

TEST(CrypttabParserTest, SkipsCommentsBlankAndShortLines) {
  std::vector<CrypttabEntry> entries =
      ParseCrypttab("# name dev key opts\n\n  lonely\n\tcr UUID=1 none luks\n");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].name, "cr");
}

// --- ParseDmUuid ---------------------------------------------------------

TEST(DmUuidTest, RecognisesLuks2) {
  DmUuidInfo info = ParseDmUuid("CRYPT-LUKS2-0123456789abcdef-root\n");
  EXPECT_TRUE(info.is_encryption);
  EXPECT_EQ(info.type, v1::ENCRYPTION_TYPE_LUKS2);
  EXPECT_EQ(info.subsystem, "CRYPT-LUKS2");
}

TEST(DmUuidTest, RecognisesLuks1) {
  EXPECT_EQ(ParseDmUuid("CRYPT-LUKS1-abc-x").type, v1::ENCRYPTION_TYPE_LUKS1);
}

TEST(DmUuidTest, RecognisesPlain) {
  DmUuidInfo info = ParseDmUuid("CRYPT-PLAIN-cryptswap");
  EXPECT_TRUE(info.is_encryption);
  EXPECT_EQ(info.type, v1::ENCRYPTION_TYPE_PLAIN);
}

TEST(DmUuidTest, UnknownCryptTypeIsOtherEncryption) {
  DmUuidInfo info = ParseDmUuid("CRYPT-FANCY-abc");
  EXPECT_TRUE(info.is_encryption);
  EXPECT_EQ(info.type, v1::ENCRYPTION_TYPE_OTHER);
}

TEST(DmUuidTest, VerityAndIntegrityAreNotEncryption) {
  EXPECT_FALSE(ParseDmUuid("CRYPT-VERITY-abc-root").is_encryption);
  EXPECT_FALSE(ParseDmUuid("CRYPT-INTEGRITY-abc").is_encryption);
  EXPECT_FALSE(ParseDmUuid("CRYPT-SUBDEV-abc").is_encryption);
}

TEST(DmUuidTest, LvmIsNotEncryption) {
  DmUuidInfo info = ParseDmUuid("LVM-abcdef");
  EXPECT_FALSE(info.is_encryption);
  EXPECT_EQ(info.subsystem, "LVM");
}

TEST(DmUuidTest, EmptyUuidHasNoSubsystem) {
  DmUuidInfo info = ParseDmUuid("\n");
  EXPECT_FALSE(info.is_encryption);
  EXPECT_EQ(info.subsystem, "");
}

// --- IsFixedMount --------------------------------------------------------

TEST(FixedMountTest, BlockDeviceFilesystemIsFixed) {
  EXPECT_TRUE(IsFixedMount({"/dev/nvme0n1p2", "/boot", "ext4"}));
}

TEST(FixedMountTest, PseudoFilesystemsAreNotFixed) {
  EXPECT_FALSE(IsFixedMount({"tmpfs", "/run", "tmpfs"}));
  EXPECT_FALSE(IsFixedMount({"proc", "/proc", "proc"}));
  EXPECT_FALSE(IsFixedMount({"overlay", "/", "overlay"}));
  EXPECT_FALSE(IsFixedMount({"udev", "/dev", "devtmpfs"}));
}

TEST(FixedMountTest, ReadOnlyImageOnLoopIsNotFixed) {
  EXPECT_FALSE(IsFixedMount({"/dev/loop3", "/snap/core/1", "squashfs"}));
}

TEST(FixedMountTest, ZfsDatasetIsFixed) {
  EXPECT_TRUE(IsFixedMount({"rpool/ROOT/debian", "/", "zfs"}));
}

// --- Fixture trees -------------------------------------------------------

TEST(DiskEncryptionProbeTest, IdIsLinuxDiskEncryption) {
  EXPECT_EQ(DiskEncryptionProbe().id(), "linux.disk_encryption");
}

TEST(DiskEncryptionProbeTest, PlainDiskReportsEveryPartitionUnencrypted) {
  v1::DiskEncryptionFacts facts = CollectFixture("plain_disk");
  EXPECT_THAT(MountPoints(facts), ElementsAre("/", "/home"));
  const v1::Volume& root = Mount(facts, "/");
  EXPECT_TRUE(root.resolved());
  EXPECT_FALSE(root.encrypted());
  EXPECT_EQ(root.device(), "sda1");
  EXPECT_THAT(StackNames(root), ElementsAre("sda1", "sda"));
  EXPECT_EQ(root.stack(0).kind(), "partition");
  EXPECT_EQ(root.stack(1).kind(), "disk");
  EXPECT_THAT(facts.unencrypted_devices(), ElementsAre("sda1", "sda2"));
  EXPECT_FALSE(facts.all_volumes_encrypted());
  EXPECT_TRUE(facts.root_on_block_device());
  EXPECT_EQ(facts.root_fs_type(), "ext4");
  EXPECT_FALSE(facts.crypttab_present());
}

TEST(DiskEncryptionProbeTest, LuksOnPartitionReportsLuks1AndCrypttabCipher) {
  v1::DiskEncryptionFacts facts = CollectFixture("luks_on_partition");
  const v1::Volume& root = Mount(facts, "/");
  EXPECT_TRUE(root.encrypted());
  EXPECT_EQ(root.device(), "dm-0");
  EXPECT_THAT(StackNames(root), ElementsAre("dm-0", "sda2", "sda"));
  ASSERT_EQ(root.encryption_size(), 1);
  EXPECT_EQ(root.encryption(0).dm_name(), "sda2_crypt");
  EXPECT_EQ(root.encryption(0).type(), v1::ENCRYPTION_TYPE_LUKS1);
  EXPECT_EQ(root.encryption(0).cipher(), "aes-xts-plain64");
  EXPECT_TRUE(root.encryption(0).in_crypttab());
  EXPECT_TRUE(facts.crypttab_present());
  EXPECT_THAT(facts.unencrypted_devices(), ElementsAre("sda1"));
}

TEST(DiskEncryptionProbeTest, Luks1LayerCarriesLiveTableAndHeader) {
  v1::DiskEncryptionFacts facts = CollectFixture("luks_on_partition");
  const v1::EncryptionLayer& layer = Mount(facts, "/").encryption(0);
  EXPECT_EQ(layer.table_cipher(), "aes-xts-plain64");
  EXPECT_EQ(layer.table_key_bits(), 512u);
  EXPECT_EQ(layer.table_error(), "");
  EXPECT_EQ(layer.header_device(), "sda2");
  EXPECT_EQ(layer.header_error(), "");
  EXPECT_EQ(layer.luks().version(), 1u);
  EXPECT_EQ(layer.luks().cipher(), "aes-xts-plain64");
  EXPECT_EQ(layer.luks().key_bits(), 512u);
  ASSERT_EQ(layer.luks().keyslots_size(), 1);
  EXPECT_EQ(layer.luks().keyslots(0).index(), 0u);
  EXPECT_EQ(layer.luks().keyslots(0).kdf(), v1::KDF_TYPE_PBKDF2);
  EXPECT_EQ(layer.luks().keyslots(0).pbkdf2_hash(), "sha256");
  EXPECT_GT(layer.luks().keyslots(0).iterations(), 1000u);
}

TEST(DiskEncryptionProbeTest, Luks2LayerSharedByVolumesIsDescribedOnce) {
  v1::DiskEncryptionFacts facts = CollectFixture("lvm_on_luks");
  const v1::EncryptionLayer& root = Mount(facts, "/").encryption(0);
  EXPECT_EQ(root.header_device(), "sda3");
  EXPECT_EQ(root.luks().version(), 2u);
  EXPECT_EQ(root.luks().cipher(), "aes-xts-plain64");
  EXPECT_EQ(root.luks().key_bits(), 512u);
  ASSERT_EQ(root.luks().keyslots_size(), 1);
  EXPECT_EQ(root.luks().keyslots(0).kdf(), v1::KDF_TYPE_ARGON2ID);
  EXPECT_EQ(root.luks().keyslots(0).iterations(), 4u);
  EXPECT_EQ(root.luks().keyslots(0).memory_kib(), 65536u);
  EXPECT_EQ(root.table_key_bits(), 512u);
  // /home and swap sit on the same LUKS layer: the same description.
  EXPECT_EQ(Mount(facts, "/home").encryption(0).SerializeAsString(),
            root.SerializeAsString());
  EXPECT_EQ(Swap(facts, "/dev/dm-3").encryption(0).SerializeAsString(),
            root.SerializeAsString());
}

TEST(DiskEncryptionProbeTest, DeviceWithoutLuksMagicIsAHeaderError) {
  // A detached header (crypttab header=) leaves no header on the device.
  v1::DiskEncryptionFacts facts = CollectFixture("encrypted_root_plain_boot");
  const v1::EncryptionLayer& layer = Mount(facts, "/").encryption(0);
  EXPECT_EQ(layer.header_device(), "nvme0n1p3");
  EXPECT_EQ(layer.header_error(), "/dev/nvme0n1p3: no LUKS magic");
  EXPECT_FALSE(layer.has_luks());
  // No live table in the fixture either.
  EXPECT_THAT(layer.table_error(), ::testing::HasSubstr("no device-mapper"));
  EXPECT_EQ(layer.table_cipher(), "");
}

TEST(DiskEncryptionProbeTest, MissingDeviceNodeIsAHeaderError) {
  v1::DiskEncryptionFacts facts = CollectFixture("luks_on_lvm");
  const v1::EncryptionLayer& layer = Mount(facts, "/").encryption(0);
  EXPECT_EQ(layer.header_device(), "dm-0");
  EXPECT_EQ(layer.header_error(), "cannot read /dev/dm-0 (NOT_FOUND)");
}

TEST(DiskEncryptionProbeTest, PlainDmCryptHasNoHeaderButALiveTable) {
  v1::DiskEncryptionFacts facts = CollectFixture("encrypted_swap_plain");
  for (const v1::Volume& volume : facts.volumes()) {
    for (const v1::EncryptionLayer& layer : volume.encryption()) {
      if (layer.dm_name() != "cryptswap") continue;
      EXPECT_EQ(layer.table_cipher(), "aes-cbc-essiv:sha256");
      EXPECT_EQ(layer.table_key_bits(), 256u);
      EXPECT_EQ(layer.header_device(), "");
      EXPECT_FALSE(layer.has_luks());
      return;
    }
  }
  ADD_FAILURE() << "no cryptswap layer";
}

TEST(DiskEncryptionProbeTest, LvmOnLuksEncryptsRootHomeAndSwap) {
  v1::DiskEncryptionFacts facts = CollectFixture("lvm_on_luks");
  EXPECT_THAT(MountPoints(facts),
              ElementsAre("/", "/boot", "/boot/efi", "/home"));
  const v1::Volume& root = Mount(facts, "/");
  EXPECT_TRUE(root.encrypted());
  EXPECT_THAT(StackNames(root), ElementsAre("dm-1", "dm-0", "sda3", "sda"));
  EXPECT_EQ(root.stack(0).dm_name(), "vg0-root");
  EXPECT_EQ(root.stack(0).dm_subsystem(), "LVM");
  ASSERT_EQ(root.encryption_size(), 1);
  EXPECT_EQ(root.encryption(0).type(), v1::ENCRYPTION_TYPE_LUKS2);
  EXPECT_EQ(root.encryption(0).cipher(), "");  // crypttab does not say
  EXPECT_TRUE(Mount(facts, "/home").encrypted());
  const v1::Volume& swap = Swap(facts, "/dev/dm-3");
  EXPECT_TRUE(swap.encrypted());
  EXPECT_EQ(swap.fs_type(), "partition");
  EXPECT_THAT(facts.unencrypted_devices(), ElementsAre("sda1", "sda2"));
}

TEST(DiskEncryptionProbeTest, LuksOnLvmResolvesMapperNameWithoutSymlink) {
  v1::DiskEncryptionFacts facts = CollectFixture("luks_on_lvm");
  const v1::Volume& root = Mount(facts, "/");
  EXPECT_TRUE(root.resolved());
  EXPECT_TRUE(root.encrypted());
  EXPECT_THAT(StackNames(root), ElementsAre("dm-1", "dm-0", "sda2", "sda"));
  EXPECT_EQ(root.encryption(0).dm_name(), "root_crypt");
  const v1::Volume& data = Mount(facts, "/srv/data");
  EXPECT_TRUE(data.resolved());
  EXPECT_FALSE(data.encrypted());
  EXPECT_THAT(facts.unencrypted_devices(), ElementsAre("dm-2", "sda1"));
}

TEST(DiskEncryptionProbeTest, EncryptedRootWithPlainBoot) {
  v1::DiskEncryptionFacts facts = CollectFixture("encrypted_root_plain_boot");
  EXPECT_TRUE(Mount(facts, "/").encrypted());
  EXPECT_TRUE(Mount(facts, "/home").encrypted());
  EXPECT_FALSE(Mount(facts, "/boot").encrypted());
  EXPECT_FALSE(Mount(facts, "/boot/efi").encrypted());
  EXPECT_THAT(StackNames(Mount(facts, "/")),
              ElementsAre("dm-0", "nvme0n1p3", "nvme0n1"));
  EXPECT_THAT(facts.unencrypted_devices(),
              ElementsAre("nvme0n1p1", "nvme0n1p2"));
  EXPECT_FALSE(facts.all_volumes_encrypted());
}

TEST(DiskEncryptionProbeTest, SwapOnZramIsNotAFixedVolume) {
  v1::DiskEncryptionFacts facts = CollectFixture("encrypted_root_plain_boot");
  for (const v1::Volume& volume : facts.volumes()) {
    EXPECT_NE(volume.kind(), v1::VOLUME_KIND_SWAP) << volume.source();
  }
}

TEST(DiskEncryptionProbeTest, UnencryptedSwapPartitionIsReported) {
  v1::DiskEncryptionFacts facts = CollectFixture("unencrypted_swap");
  const v1::Volume& swap = Swap(facts, "/dev/sda3");
  EXPECT_TRUE(swap.resolved());
  EXPECT_FALSE(swap.encrypted());
  EXPECT_THAT(facts.unencrypted_devices(), ElementsAre("sda1", "sda3"));
}

TEST(DiskEncryptionProbeTest, SwapFileInheritsItsFilesystemsEncryption) {
  v1::DiskEncryptionFacts facts = CollectFixture("unencrypted_swap");
  const v1::Volume& swap = Swap(facts, "/swapfile");
  EXPECT_EQ(swap.fs_type(), "file");
  EXPECT_TRUE(swap.encrypted());
  EXPECT_EQ(swap.device(), "dm-0");
  EXPECT_EQ(swap.mount_point(), "");
}

TEST(DiskEncryptionProbeTest, PlainDmCryptSwapWithCipher) {
  v1::DiskEncryptionFacts facts = CollectFixture("encrypted_swap_plain");
  const v1::Volume& swap = Swap(facts, "/dev/dm-0");
  EXPECT_TRUE(swap.encrypted());
  ASSERT_EQ(swap.encryption_size(), 1);
  EXPECT_EQ(swap.encryption(0).type(), v1::ENCRYPTION_TYPE_PLAIN);
  EXPECT_EQ(swap.encryption(0).cipher(), "aes-xts-plain64");
}

TEST(DiskEncryptionProbeTest, SourceMissingFromSysfsIsUnresolved) {
  v1::DiskEncryptionFacts facts = CollectFixture("unresolved_source");
  const v1::Volume& root = Mount(facts, "/");
  EXPECT_FALSE(root.resolved());
  EXPECT_FALSE(root.encrypted());
  EXPECT_THAT(root.stack(), IsEmpty());
  const v1::Volume& data = Mount(facts, "/data");
  EXPECT_TRUE(data.resolved());
  EXPECT_EQ(data.device(), "vda");
  EXPECT_THAT(facts.unencrypted_devices(), ElementsAre("/dev/root", "vda"));
}

TEST(DiskEncryptionProbeTest, DevRootResolvedThroughMountinfo) {
  v1::DiskEncryptionFacts facts = CollectFixture("dev_root_via_mountinfo");
  const v1::Volume& root = Mount(facts, "/");
  EXPECT_TRUE(root.resolved());
  EXPECT_EQ(root.source(), "/dev/root");
  EXPECT_THAT(StackNames(root), ElementsAre("vda1", "vda"));
}

TEST(DiskEncryptionProbeTest, AnonymousDeviceNumberStaysUnresolved) {
  v1::DiskEncryptionFacts facts = CollectFixture("dev_root_via_mountinfo");
  const v1::Volume& srv = Mount(facts, "/srv");
  EXPECT_FALSE(srv.resolved());
  EXPECT_THAT(facts.unencrypted_devices(),
              ElementsAre("/dev/mapper/gone", "vda1"));
}

TEST(DiskEncryptionProbeTest, ContainerOverlayRootHasNoFixedVolumes) {
  v1::DiskEncryptionFacts facts = CollectFixture("container_overlay");
  EXPECT_THAT(facts.volumes(), IsEmpty());
  EXPECT_FALSE(facts.root_on_block_device());
  EXPECT_EQ(facts.root_fs_type(), "overlay");
  EXPECT_FALSE(facts.all_volumes_encrypted());
}

TEST(DiskEncryptionProbeTest, SlaveCycleTerminatesUnencrypted) {
  v1::DiskEncryptionFacts facts = CollectFixture("device_cycle");
  const v1::Volume& root = Mount(facts, "/");
  EXPECT_TRUE(root.resolved());
  EXPECT_FALSE(root.encrypted());
  EXPECT_THAT(StackNames(root), ElementsAre("dm-0", "dm-1"));
}

TEST(DiskEncryptionProbeTest, FactsAreIdenticalOnSecondCollection) {
  absl::StatusOr<v1::Facts> first =
      DiskEncryptionProbe().Collect(Fixture("lvm_on_luks"));
  absl::StatusOr<v1::Facts> second =
      DiskEncryptionProbe().Collect(Fixture("lvm_on_luks"));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->SerializeAsString(), second->SerializeAsString());
}

class DiskEncryptionTempRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("evidentia_disk_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  void Write(const std::string& rel, const std::string& content) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel, std::ios::binary) << content;
  }
  fs::path root_;
};

TEST_F(DiskEncryptionTempRootTest, MissingMountTableIsNotFound) {
  absl::StatusOr<v1::Facts> facts = DiskEncryptionProbe().Collect(root_);
  EXPECT_EQ(facts.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(DiskEncryptionTempRootTest, GarbageEverywhereDoesNotFail) {
  std::string junk;
  for (int i = 0; i < 70000; ++i)
    junk.push_back(static_cast<char>(i * 131 + 7));
  Write("proc/self/mounts", junk + "\n/dev/\xff\xfe / ext4 rw 0 0\n");
  Write("proc/swaps", junk);
  Write("etc/crypttab", junk);
  absl::StatusOr<v1::Facts> facts = DiskEncryptionProbe().Collect(root_);
  ASSERT_TRUE(facts.ok()) << facts.status();
  // Whatever came out must serialize and parse back (valid UTF-8).
  v1::Facts parsed;
  EXPECT_TRUE(parsed.ParseFromString(facts->SerializeAsString()));
}

}  // namespace
}  // namespace evidentia::agent
