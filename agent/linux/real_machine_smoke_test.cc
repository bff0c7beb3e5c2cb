// Runs the Linux probes against the real machine ("/"). Asserts only what
// holds on any Linux host or container, so it runs everywhere; it exists to
// catch a probe that fails or crashes on a live /proc, /sys and /etc.
#include <sys/utsname.h>

#include <string>

#include "agent/linux/probes/host_facts.h"
#include "agent/probe.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"

namespace evidentia::agent {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> ProbeIds() {
  std::vector<std::string> ids;
  for (const std::unique_ptr<Probe>& probe : BuildProbes()) {
    ids.emplace_back(probe->id());
  }
  return ids;
}

absl::StatusOr<v1::Facts> CollectReal(std::string_view id) {
  for (const std::unique_ptr<Probe>& probe : BuildProbes()) {
    if (probe->id() == id) return probe->Collect("/");
  }
  return absl::NotFoundError("no such probe");
}

void ExpectRoundTrips(const v1::Facts& facts) {
  v1::Facts parsed;
  ASSERT_TRUE(parsed.ParseFromString(facts.SerializeAsString()));
  EXPECT_EQ(parsed.SerializeAsString(), facts.SerializeAsString());
}

TEST(LinuxProbesTest, BuildsTwelveProbesInFixedOrder) {
  EXPECT_THAT(
      ProbeIds(),
      ElementsAre("linux.disk_encryption", "linux.anti_malware",
                  "linux.local_accounts", "linux.firewall", "linux.os_patching",
                  "linux.ssh_server", "linux.time_sync", "linux.audit_logging",
                  "linux.screen_lock", "linux.password_policy", "linux.backup",
                  "linux.boot_integrity"));
}

// Every probe observes this machine, with facts of its own kind that
// survive a round trip and are the same bytes twice in a row.
TEST(RealMachineSmokeTest, EveryProbeCollectsStableFactsOfItsKind) {
  for (const std::unique_ptr<Probe>& probe : BuildProbes()) {
    SCOPED_TRACE(std::string(probe->id()));
    absl::StatusOr<v1::Facts> first = probe->Collect("/");
    ASSERT_TRUE(first.ok()) << first.status();
    const std::string kind = std::string(probe->id()).substr(6);  // "linux."
    const google::protobuf::FieldDescriptor* set =
        first->GetReflection()->GetOneofFieldDescriptor(
            *first, v1::Facts::descriptor()->FindOneofByName("kind"));
    ASSERT_NE(set, nullptr);
    EXPECT_EQ(set->name(), kind);
    ExpectRoundTrips(*first);
    absl::StatusOr<v1::Facts> second = probe->Collect("/");
    ASSERT_TRUE(second.ok()) << second.status();
    EXPECT_EQ(first->SerializeAsString(), second->SerializeAsString());
  }
}

TEST(RealMachineSmokeTest, DiskEncryptionDescribesThisMachine) {
  absl::StatusOr<v1::Facts> facts = CollectReal("linux.disk_encryption");
  ASSERT_TRUE(facts.ok()) << facts.status();
  ASSERT_TRUE(facts->has_disk_encryption());
  const v1::DiskEncryptionFacts& disk = facts->disk_encryption();
  EXPECT_FALSE(disk.root_fs_type().empty());  // "/" is always mounted
  bool saw_root = false;
  for (const v1::Volume& volume : disk.volumes()) {
    if (volume.mount_point() == "/") saw_root = true;
    if (volume.resolved()) {
      ASSERT_GT(volume.stack_size(), 0) << volume.source();
      EXPECT_EQ(volume.stack(0).name(), volume.device());
    }
    if (volume.encrypted()) {
      EXPECT_GT(volume.encryption_size(), 0) << volume.source();
    }
  }
  EXPECT_EQ(saw_root, disk.root_on_block_device());
  ExpectRoundTrips(*facts);
}

TEST(RealMachineSmokeTest, DiskEncryptionIsStableBetweenCollections) {
  absl::StatusOr<v1::Facts> first = CollectReal("linux.disk_encryption");
  absl::StatusOr<v1::Facts> second = CollectReal("linux.disk_encryption");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->SerializeAsString(), second->SerializeAsString());
}

TEST(RealMachineSmokeTest, AntiMalwareCollects) {
  absl::StatusOr<v1::Facts> facts = CollectReal("linux.anti_malware");
  ASSERT_TRUE(facts.ok()) << facts.status();
  ASSERT_TRUE(facts->has_anti_malware());
  for (const v1::AntiMalwareProduct& product :
       facts->anti_malware().products()) {
    EXPECT_TRUE(product.installed() || product.running() ||
                product.binaries_size() > 0)
        << product.id();
  }
  ExpectRoundTrips(*facts);
}

TEST(RealMachineSmokeTest, LocalAccountsIncludeRoot) {
  absl::StatusOr<v1::Facts> facts = CollectReal("linux.local_accounts");
  ASSERT_TRUE(facts.ok()) << facts.status();
  ASSERT_TRUE(facts->has_local_accounts());
  const v1::LocalAccountsFacts& accounts = facts->local_accounts();
  ASSERT_GT(accounts.accounts_size(), 0);
  EXPECT_EQ(accounts.accounts(0).uid(), 0u);  // ordered by uid
  EXPECT_EQ(accounts.accounts(0).name(), "root");
  ExpectRoundTrips(*facts);
}

TEST(RealMachineSmokeTest, LocalAccountsAreStableBetweenCollections) {
  absl::StatusOr<v1::Facts> first = CollectReal("linux.local_accounts");
  absl::StatusOr<v1::Facts> second = CollectReal("linux.local_accounts");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->SerializeAsString(), second->SerializeAsString());
}

TEST(RealMachineSmokeTest, HostFactsMatchUname) {
  absl::StatusOr<v1::HostFacts> host = CollectHostFacts("/");
  ASSERT_TRUE(host.ok()) << host.status();
  struct utsname uts;
  ASSERT_EQ(uname(&uts), 0);
  EXPECT_EQ(host->hostname(), uts.nodename);
  EXPECT_EQ(host->kernel(), uts.release);
  EXPECT_EQ(host->arch(), uts.machine);
}

}  // namespace
}  // namespace evidentia::agent
