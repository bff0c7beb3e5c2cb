#include "agent/linux/probes/host_facts.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "agent/collect.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;

fs::path Fixture(const std::string& name) {
  return fs::path(EVIDENTIA_SOURCE_DIR) / "tests/fixtures/host_facts" / name;
}

TEST(HostFactsTest, ReadsEveryFileBelowRoot) {
  absl::StatusOr<v1::HostFacts> host = CollectHostFacts(Fixture("debian12"));
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_EQ(host->hostname(), "web-01");
  EXPECT_EQ(host->kernel(), "6.1.0-28-amd64");
  EXPECT_EQ(host->os_id(), "debian");
  EXPECT_EQ(host->os_version(), "12");
  EXPECT_EQ(host->os_pretty_name(), "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(host->machine_id(), "3f1c2b7e9d8a4c6b8e0f1a2b3c4d5e6f");
}

TEST(HostFactsTest, ArchComesFromUname) {
  absl::StatusOr<v1::HostFacts> host = CollectHostFacts(Fixture("debian12"));
  ASSERT_TRUE(host.ok());
  struct utsname uts;
  ASSERT_EQ(uname(&uts), 0);
  EXPECT_EQ(host->arch(), uts.machine);
  EXPECT_FALSE(host->arch().empty());
}

TEST(HostFactsTest, FallsBackToUsrLibOsRelease) {
  absl::StatusOr<v1::HostFacts> host =
      CollectHostFacts(Fixture("usr_lib_only"));
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_EQ(host->os_id(), "fedora");
  EXPECT_EQ(host->os_version(), "40");
  EXPECT_EQ(host->os_pretty_name(),
            "Fedora Linux 40 (Workstation \"Edition\")");
}

TEST(HostFactsTest, MissingFilesLeaveFieldsEmpty) {
  absl::StatusOr<v1::HostFacts> host =
      CollectHostFacts(Fixture("usr_lib_only"));
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_EQ(host->hostname(), "");
  EXPECT_EQ(host->kernel(), "");
  EXPECT_EQ(host->machine_id(), "");
}

TEST(HostFactsTest, EmptyRootIsNotAnError) {
  absl::StatusOr<v1::HostFacts> host =
      CollectHostFacts(Fixture("no_such_tree"));
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_EQ(host->os_id(), "");
}

// A host whose own facts cannot be read still reports, and says so: the
// failure is an observation the collector stores, not empty fields alone.
TEST(CollectTest, UnreadableHostFactsAreAFailedObservation) {
  testing::ScopedTempDir tmp;
  fs::create_directories(tmp.path() / "proc/sys/kernel/hostname");  // EISDIR

  Collection collection = Collect({}, tmp.path());

  ASSERT_EQ(collection.observations.size(), 1u);
  const v1::Observation& failed = collection.observations[0];
  EXPECT_EQ(failed.check_id(), kHostFactsCheckId);
  EXPECT_EQ(failed.probe(), kHostFactsCheckId);
  EXPECT_THAT(failed.error(), ::testing::HasSubstr("hostname"));
  EXPECT_TRUE(failed.facts_sha256().empty());
  EXPECT_EQ(collection.bodies[0], "");
}

TEST(CollectTest, ReadableHostFactsAddNoObservation) {
  Collection collection = Collect({}, Fixture("debian12"));

  EXPECT_TRUE(collection.observations.empty());
  EXPECT_FALSE(collection.host.hostname().empty());
}

}  // namespace
}  // namespace evidentia::agent
