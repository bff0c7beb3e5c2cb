// A collector data dir and agent state dirs written by an earlier build
// (tests/fixtures/upgrade/state-COMMIT.tar.gz, made by
// tests/upgrade/make_state.sh) work with this one: the collector opens them
// and grades the stored evidence as the earlier build did, the agent
// delivers what it spooled and goes on with its chain, a revoked agent stays
// refused, a new agent enrols, and an export of everything passes both
// verifiers. Real processes, real TLS on 127.0.0.1, real RocksDB.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/bundle_files.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace evidentia {
namespace {

namespace fs = std::filesystem;
using ::evidentia::testing::CollectorProcess;
using ::evidentia::testing::RunProcess;
using ::evidentia::testing::RunVerifySh;
using ::evidentia::testing::ScopedTempDir;
using ::testing::HasSubstr;
using ::testing::Not;

const fs::path kSource = EVIDENTIA_SOURCE_DIR;
const fs::path kRoot = kSource / "tests/fixtures/host_facts/debian12";

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every stored state, oldest first (the names sort by nothing useful, so
// all are run; each stands alone).
std::vector<fs::path> StoredStates() {
  std::vector<fs::path> states;
  for (const fs::directory_entry& entry :
       fs::directory_iterator(kSource / "tests/fixtures/upgrade")) {
    if (entry.path().extension() == ".gz") states.push_back(entry.path());
  }
  return states;
}

class UpgradeTest : public ::testing::TestWithParam<fs::path> {
 protected:
  void SetUp() override {
    auto [code, output] = RunProcess(
        {"/bin/tar", "-xzf", GetParam().string(), "-C", dir().string()},
        tmp_.path() / "tar.out");
    ASSERT_EQ(code, 0) << output;
    CollectorProcess started = testing::StartCollectorProcess(
        EVIDENTIA_COLLECTOR_BIN, dir() / "collector", "127.0.0.1:0",
        {"--policies", (dir() / "policies").string(), "--soa",
         (dir() / "policies/soa.example.yaml").string()},
        tmp_.path() / "collector.log");
    ASSERT_NE(started.child, nullptr) << started.address;
    collector_ = std::move(started.child);
    address_ = started.address;
    // The agents enrolled with the address the earlier collector had.
    for (const char* agent : {"a", "b"}) {
      const fs::path conf = dir() / agent / "agent.conf";
      const std::string moved = std::regex_replace(
          ReadText(conf), std::regex("127\\.0\\.0\\.1:\\d+"), address_);
      std::ofstream(conf, std::ios::trunc) << moved;
    }
  }
  void TearDown() override {
    if (collector_ == nullptr) return;
    collector_->Signal(SIGTERM);
    EXPECT_EQ(collector_->Wait(), 0) << ReadText(tmp_.path() / "collector.log");
  }

  fs::path dir() const { return tmp_.path(); }

  std::pair<int, std::string> Cli(std::vector<std::string> words) {
    words.insert(words.begin(), EVIDENTIA_CLI_BIN);
    words.push_back("--data-dir");
    words.push_back((dir() / "collector").string());
    return RunProcess(words, tmp_.path() / "cli.out");
  }
  std::pair<int, std::string> Agent(std::vector<std::string> words) {
    words.insert(words.begin(), EVIDENTIA_AGENT_BIN);
    return RunProcess(words, tmp_.path() / "agent.out");
  }
  std::pair<int, std::string> RunOnce(const std::string& agent) {
    return Agent({"run", "--once", "--state-dir", (dir() / agent).string(),
                  "--root", kRoot.string()});
  }

  ScopedTempDir tmp_;
  std::unique_ptr<testing::Child> collector_;
  std::string address_;
};

TEST_P(UpgradeTest, StoredEvidenceIsGradedAsBefore) {
  const std::string expected = ReadText(dir() / "expected.txt");
  const std::string as_of = expected.substr(0, expected.find('\n'));

  auto [code, controls] = Cli({"controls", "--as-of", as_of});

  ASSERT_EQ(code, 0) << controls;
  EXPECT_EQ(as_of + "\n" + controls, expected);
}

TEST_P(UpgradeTest, AgentDeliversItsSpoolAndGoesOnWithItsChain) {
  auto [code, output] = RunOnce("a");
  EXPECT_EQ(code, 0) << output;
  EXPECT_THAT(output, HasSubstr("delivered 2 (0 already held)"));

  auto [again, second] = RunOnce("a");
  EXPECT_EQ(again, 0) << second;
  auto [events_code, events] = Cli({"events"});
  EXPECT_EQ(events_code, 0) << events;
  EXPECT_THAT(events, Not(HasSubstr("equivocat")));
}

TEST_P(UpgradeTest, RevokedAgentStaysRefused) {
  auto [code, output] = RunOnce("b");
  EXPECT_EQ(code, 3) << output;  // refused: kept, never delivered
  EXPECT_THAT(output, HasSubstr("revoked"));
  std::smatch id;
  const std::string conf = ReadText(dir() / "b/agent.conf");
  ASSERT_TRUE(std::regex_search(conf, id, std::regex("agent_id: \"(\\w+)\"")));
  auto [agents_code, agents] = Cli({"agents"});
  EXPECT_EQ(agents_code, 0) << agents;
  // Its row ends with the moment of its revocation, not "-".
  EXPECT_THAT(agents, ::testing::ContainsRegex(id[1].str() + ".* [0-9:]+Z\n"));
}

TEST_P(UpgradeTest, NewAgentEnrolsBesideTheOldOnes) {
  auto [token_code, token] = Cli({"token", "create"});
  ASSERT_EQ(token_code, 0) << token;
  token = token.substr(0, token.find('\n'));
  auto [code, output] =
      Agent({"enroll", "--collector", address_, "--ca",
             (dir() / "collector/ca.pem").string(), "--token", token,
             "--state-dir", (dir() / "c").string(), "--root", kRoot.string()});
  ASSERT_EQ(code, 0) << output;
  auto [run_code, run] = RunOnce("c");
  EXPECT_EQ(run_code, 0) << run;
}

TEST_P(UpgradeTest, ExportOfOldAndNewEvidencePassesBothVerifiers) {
  {
    auto [code, output] = RunOnce("a");
    ASSERT_EQ(code, 0) << output;
  }
  const fs::path bundle = tmp_.path() / "bundle";
  auto [code, exported] = Cli({"export", "--from", "2000-01-01", "--to",
                               "2099-12-31", "--out", bundle.string()});
  ASSERT_EQ(code, 0) << exported;

  // a: three before the upgrade, its spooled one and one after; b: one.
  auto [verify_code, verified] = RunProcess(
      {EVIDENTIA_CLI_BIN, "verify", bundle.string()}, tmp_.path() / "v.out");
  EXPECT_EQ(verify_code, 0) << verified;
  EXPECT_THAT(verified, HasSubstr("6 snapshot signatures from 2 agents"));
  auto [script_code, script] = RunVerifySh(bundle);
  EXPECT_EQ(script_code, 0) << script;
  EXPECT_THAT(script, HasSubstr("6 snapshot signatures from 2 agents"));
}

INSTANTIATE_TEST_SUITE_P(
    StoredStates, UpgradeTest, ::testing::ValuesIn(StoredStates()),
    [](const ::testing::TestParamInfo<fs::path>& info) {
      std::string name = info.param.stem().stem().string();  // state-COMMIT
      for (char& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return name;
    });

}  // namespace
}  // namespace evidentia
