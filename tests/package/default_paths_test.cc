// `evidentia-collector serve` without --data-dir: the installed layout of
// the Debian package (packaging/). EVIDENTIA_DATA_DIR and
// EVIDENTIA_CONFIG_DIR point its defaults at a temp dir, so these tests
// depend neither on this machine's /etc nor on its /var/lib. The layout
// itself, installed, is tested by tests/package/install_test.sh.
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace evidentia {
namespace {

namespace fs = std::filesystem;
using ::evidentia::testing::Child;
using ::evidentia::testing::RunProcess;
using ::evidentia::testing::ScopedTempDir;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

class InstalledLayoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    ASSERT_EQ(::setenv("EVIDENTIA_DATA_DIR", data_dir().c_str(), 1), 0);
    ASSERT_EQ(::setenv("EVIDENTIA_CONFIG_DIR", config_dir().c_str(), 1), 0);
    fs::create_directories(config_dir());
  }
  void TearDown() override {
    ::unsetenv("EVIDENTIA_DATA_DIR");
    ::unsetenv("EVIDENTIA_CONFIG_DIR");
  }

  std::string data_dir() const { return (tmp_.path() / "data").string(); }
  std::string config_dir() const { return (tmp_.path() / "etc").string(); }
  std::string Output() const {
    std::ifstream in(tmp_.path() / "output");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  ScopedTempDir tmp_;
};

TEST_F(InstalledLayoutTest, MissingSoaNamesItsPathAndTheTemplate) {
  auto [code, output] =
      RunProcess({EVIDENTIA_COLLECTOR_BIN, "serve", "--listen", "127.0.0.1:0"},
                 tmp_.path() / "output");
  const std::string soa = config_dir() + "/soa.yaml";
  EXPECT_EQ(code, 1) << output;
  EXPECT_THAT(
      output,
      AllOf(HasSubstr("no Statement of Applicability at " + soa),
            HasSubstr("cp /usr/share/evidentia/soa.example.yaml " + soa),
            HasSubstr("cp /usr/share/evidentia/risks.example.yaml " +
                      config_dir() + "/")));
  EXPECT_FALSE(fs::exists(data_dir())) << "nothing is made before the check";
}

TEST_F(InstalledLayoutTest, ExplicitDataDirDoesNotLookForTheInstalledSoa) {
  // With --data-dir the installed SoA is not looked for: the start goes on
  // and fails only because that data dir cannot be made (below a file).
  std::ofstream(tmp_.path() / "file") << "";
  auto [code, output] =
      RunProcess({EVIDENTIA_COLLECTOR_BIN, "serve", "--listen", "127.0.0.1:0",
                  "--data-dir", (tmp_.path() / "file/data").string()},
                 tmp_.path() / "output");
  EXPECT_EQ(code, 1) << output;
  EXPECT_THAT(output, Not(HasSubstr("Statement of Applicability")));
}

TEST_F(InstalledLayoutTest, DataDirDefaultsAndExplicitPoliciesAreLogged) {
  Child collector({EVIDENTIA_COLLECTOR_BIN, "serve", "--listen", "127.0.0.1:0",
                   "--web-listen", "127.0.0.1:0", "--policies",
                   EVIDENTIA_SOURCE_DIR "/policies", "--soa",
                   EVIDENTIA_SOURCE_DIR "/policies/soa.example.yaml"},
                  tmp_.path() / "output");
  const fs::path address = fs::path(data_dir()) / "collector.addr";
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (!fs::exists(address) && collector.Running() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(fs::exists(address)) << Output();
  EXPECT_EQ(fs::status(data_dir()).permissions() & fs::perms::all,
            fs::perms::owner_all);
  collector.Signal(SIGTERM);
  EXPECT_EQ(collector.Wait(), 0) << Output();
  EXPECT_THAT(Output(),
              HasSubstr("data dir " + data_dir() + ", policies " +
                        EVIDENTIA_SOURCE_DIR "/policies, SoA " +
                        EVIDENTIA_SOURCE_DIR "/policies/soa.example.yaml"));
}

}  // namespace
}  // namespace evidentia
