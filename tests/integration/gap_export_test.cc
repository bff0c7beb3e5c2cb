// The documented outage path with the real binaries: an agent whose spool
// goes over its quota while the collector is down reports the snapshots it
// dropped with a signed gap snapshot; `evidentia export` of a period that
// starts before the chain then writes a bundle that both verifiers pass
// (`evidentia verify`, and VERIFY.sh as an auditor runs it). Real
// processes, real TLS on 127.0.0.1, real RocksDB.
#include <signal.h>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/identity/data_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/bundle_files.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace evidentia {
namespace {

namespace fs = std::filesystem;
using ::evidentia::testing::Child;
using ::evidentia::testing::CollectorProcess;
using ::evidentia::testing::RunProcess;
using ::evidentia::testing::RunVerifySh;
using ::evidentia::testing::ScopedTempDir;
using ::testing::HasSubstr;

const fs::path kSource = EVIDENTIA_SOURCE_DIR;
constexpr char kRoot[] =
    EVIDENTIA_SOURCE_DIR "/tests/fixtures/host_facts/debian12";

class GapExportProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = tmp_.path() / "collector";
    state_dir_ = tmp_.path() / "agent";
  }

  // On port 0 the first time; on the port it bound then at the restart,
  // where the agent, enrolled with that address, looks for it.
  void StartCollector() {
    CollectorProcess started = testing::StartCollectorProcess(
        EVIDENTIA_COLLECTOR_BIN, data_dir_, absl::StrCat("127.0.0.1:", port_),
        {"--policies", (kSource / "policies").string(), "--soa",
         (kSource / "policies/soa.example.yaml").string()},
        tmp_.path() / "collector.log");
    ASSERT_NE(started.child, nullptr) << started.address;
    collector_ = std::move(started.child);
    port_ = started.port;
  }

  void StopCollector() {
    collector_->Signal(SIGTERM);
    EXPECT_EQ(collector_->Wait(), 0);
    collector_.reset();
  }

  std::pair<int, std::string> Cli(std::vector<std::string> words) {
    words.insert(words.begin(), EVIDENTIA_CLI_BIN);
    words.push_back("--data-dir");
    words.push_back(data_dir_.string());
    return RunProcess(words, tmp_.path() / "cli.out");
  }

  // `evidentia-agent run --once` with `extra` flags; its exit code.
  std::pair<int, std::string> RunOnce(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {
        EVIDENTIA_AGENT_BIN, "run",    "--once", "--state-dir",
        state_dir_.string(), "--root", kRoot};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunProcess(argv, tmp_.path() / "agent.out");
  }

  ScopedTempDir tmp_;
  fs::path data_dir_, state_dir_;
  int port_ = 0;
  std::unique_ptr<Child> collector_;
};

TEST_F(GapExportProcessTest, ExportAfterAGapSnapshotPassesBothVerifiers) {
  ASSERT_NO_FATAL_FAILURE(StartCollector());
  auto [token_code, token] = Cli({"token", "create"});
  ASSERT_EQ(token_code, 0) << token;
  token = token.substr(0, token.find('\n'));  // then a note on stderr
  auto [enroll_code, enrolled] = RunProcess(
      {EVIDENTIA_AGENT_BIN, "enroll", "--collector",
       absl::StrCat("127.0.0.1:", port_), "--ca",
       collector::DataDirPaths(data_dir_).ca_cert().string(), "--token", token,
       "--state-dir", state_dir_.string(), "--root", kRoot},
      tmp_.path() / "enroll.out");
  ASSERT_EQ(enroll_code, 0) << enrolled;
  {
    auto [code, output] = RunOnce();  // seq 1, delivered
    ASSERT_EQ(code, 0) << output;
  }

  // The outage: six snapshots made with a spool that keeps only the newest.
  ASSERT_NO_FATAL_FAILURE(StopCollector());
  for (int i = 0; i < 6; ++i) {
    auto [code, output] = RunOnce({"--spool-max-bytes", "1"});
    ASSERT_EQ(code, 3) << output;  // made, not delivered
  }
  ASSERT_NO_FATAL_FAILURE(StartCollector());
  {
    auto [code, output] = RunOnce();  // gap 2..6, then 7 and 8
    ASSERT_EQ(code, 0) << output;
  }
  auto [events_code, events] = Cli({"events"});
  ASSERT_EQ(events_code, 0) << events;
  EXPECT_THAT(events, HasSubstr("lost snapshots 2..6"));

  const fs::path bundle = tmp_.path() / "bundle";
  auto [export_code, exported] = Cli({"export", "--from", "2000-01-01", "--to",
                                      "2099-12-31", "--out", bundle.string()});
  ASSERT_EQ(export_code, 0) << exported;

  auto [verify_code, verified] = RunProcess(
      {EVIDENTIA_CLI_BIN, "verify", bundle.string()}, tmp_.path() / "v.out");
  EXPECT_EQ(verify_code, 0) << verified;
  EXPECT_THAT(verified, HasSubstr("4 snapshot signatures from 1 agents"));
  EXPECT_THAT(verified,
              HasSubstr("lost snapshots 2..6 (signed gap snapshot 6)"));
  auto [script_code, script] = RunVerifySh(bundle);
  EXPECT_EQ(script_code, 0) << script;
  EXPECT_THAT(script, HasSubstr("4 snapshot signatures from 1 agents"));
  StopCollector();
}

}  // namespace
}  // namespace evidentia
