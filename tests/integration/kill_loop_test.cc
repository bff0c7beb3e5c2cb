// The collector killed with SIGKILL at random moments while agents submit:
// every snapshot it acknowledged is on disk after the restart, every chain
// is intact, and what the agents kept in their spools arrives later, stored
// exactly once. Real binaries, real TLS on 127.0.0.1, real RocksDB.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "collector/identity/data_dir.h"
#include "collector/store/keys.h"
#include "collector/store/records.h"
#include "collector/store/rocksdb_store.h"
#include "collector/store/store.h"
#include "common/ed25519.h"
#include "common/envelope.h"
#include "common/snapshot_chain.h"
#include "evidentia/v1/reports.pb.h"
#include "evidentia/v1/snapshot.pb.h"
#include "evidentia/v1/store.pb.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace evidentia {
namespace {

namespace fs = std::filesystem;
using ::evidentia::testing::Child;
using ::evidentia::testing::CollectorProcess;
using ::evidentia::testing::RunProcess;
using ::evidentia::testing::ScopedTempDir;

constexpr int kKills = 50;
constexpr int kAgents = 3;
constexpr char kRoot[] =
    EVIDENTIA_SOURCE_DIR "/tests/fixtures/host_facts/debian12";

// One agent's tally, kept by the thread that runs it.
struct AgentTally {
  fs::path state_dir;
  std::string agent_id;
  int made = 0;          // snapshots made (run --once that got as far)
  int acknowledged = 0;  // made and acknowledged (the spool was emptied)
  std::string failure;   // the first unexpected exit, with its output
};

class KillLoopTest : public ::testing::Test {
 protected:
  void SetUp() override { data_dir_ = tmp_.path() / "collector"; }

  // On port 0 the first time (the kernel picks a free one); on the port it
  // bound then at every restart, where the agents, enrolled with that
  // address, look for it. SO_REUSEPORT is off, so a port taken meanwhile
  // fails the start loudly instead of being shared.
  void StartCollector(std::vector<std::string> extra = {}) {
    CollectorProcess started = testing::StartCollectorProcess(
        EVIDENTIA_COLLECTOR_BIN, data_dir_, absl::StrCat("127.0.0.1:", port_),
        extra, tmp_.path() / "collector.log");
    ASSERT_NE(started.child, nullptr) << started.address;
    collector_ = std::move(started.child);
    port_ = started.port;
  }

  // SIGKILL: no shutdown, no flush, whatever was in flight is cut.
  void KillCollector() {
    collector_->Signal(SIGKILL);
    EXPECT_EQ(collector_->Wait(), 128 + SIGKILL);
    collector_.reset();
  }

  std::pair<int, std::string> Cli(std::vector<std::string> words) {
    words.insert(words.begin(), EVIDENTIA_CLI_BIN);
    words.push_back("--data-dir");
    words.push_back(data_dir_.string());
    return RunProcess(words, tmp_.path() / "cli.out");
  }

  // One `evidentia-agent run --once`; updates the tally.
  void AgentCycle(AgentTally& tally, const fs::path& scratch) {
    auto [code, output] =
        RunProcess({EVIDENTIA_AGENT_BIN, "run", "--once", "--state-dir",
                    tally.state_dir.string(), "--root", kRoot},
                   scratch);
    if (code == 0 || code == 3) ++tally.made;
    if (code == 0) tally.acknowledged = tally.made;
    if (code != 0 && code != 3 && tally.failure.empty()) {
      tally.failure = absl::StrCat("exit ", code, ": ", output);
    }
  }

  ScopedTempDir tmp_;
  fs::path data_dir_;
  int port_ = 0;
  std::unique_ptr<Child> collector_;
};

TEST_F(KillLoopTest, EveryAcknowledgedSnapshotSurvivesSigkill) {
  StartCollector();
  auto [token_code, token] =
      Cli({"token", "create", "--uses", std::to_string(kAgents)});
  ASSERT_EQ(token_code, 0) << token;
  token = token.substr(0, token.find('\n'));  // then a note on stderr
  std::vector<AgentTally> agents(kAgents);
  for (int i = 0; i < kAgents; ++i) {
    agents[i].state_dir = tmp_.path() / absl::StrCat("agent", i);
    auto [code, output] = RunProcess(
        {EVIDENTIA_AGENT_BIN, "enroll", "--collector",
         absl::StrCat("127.0.0.1:", port_), "--ca",
         collector::DataDirPaths(data_dir_).ca_cert().string(), "--token",
         token, "--state-dir", agents[i].state_dir.string(), "--root", kRoot},
        tmp_.path() / "enroll.out");
    ASSERT_EQ(code, 0) << output;
    const std::string kEnrolled = "enrolled as agent ";
    const size_t at = output.find(kEnrolled);
    ASSERT_NE(at, std::string::npos) << output;
    agents[i].agent_id = output.substr(
        at + kEnrolled.size(),
        output.find(' ', at + kEnrolled.size()) - at - kEnrolled.size());
  }

  // Agents submit continuously while the collector is killed and restarted.
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kAgents; ++i) {
    threads.emplace_back([&, i] {
      const fs::path scratch = tmp_.path() / absl::StrCat("agent", i, ".out");
      while (!stop) AgentCycle(agents[i], scratch);
    });
  }
  std::mt19937 random(20261129);
  std::uniform_int_distribution<int> up_ms(50, 400), down_ms(0, 50);
  int kills = 0;
  for (; kills < kKills; ++kills) {
    absl::SleepFor(absl::Milliseconds(up_ms(random)));
    KillCollector();
    absl::SleepFor(absl::Milliseconds(down_ms(random)));
    StartCollector();
    if (HasFatalFailure()) break;
  }
  stop = true;
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(kills, kKills);

  int acknowledged = 0, made = 0;
  for (AgentTally& agent : agents) {
    EXPECT_EQ(agent.failure, "");
    acknowledged += agent.acknowledged;
    // Whatever is still spooled goes now.
    for (int attempt = 0; attempt < 5 && agent.acknowledged < agent.made + 1;
         ++attempt) {
      AgentCycle(agent, tmp_.path() / "final.out");
    }
    ASSERT_EQ(agent.acknowledged, agent.made) << agent.failure;
    made += agent.made;
  }
  collector_->Signal(SIGTERM);
  EXPECT_EQ(collector_->Wait(), 0);
  collector_.reset();

  // Every snapshot made is stored exactly once, verifies and chains.
  absl::StatusOr<std::unique_ptr<collector::Store>> store =
      collector::OpenRocksDbStore(collector::DataDirPaths(data_dir_).db());
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<std::vector<v1::AgentRecord>> records =
      collector::ScanRecords<v1::AgentRecord>(
          **store, collector::Table::kAgents, "", "agent");
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), static_cast<size_t>(kAgents));
  std::map<std::string, int> made_by;
  for (const AgentTally& agent : agents) made_by[agent.agent_id] = agent.made;
  int found = 0;
  for (const v1::AgentRecord& record : *records) {
    absl::StatusOr<PublicKey> key = PublicKey::FromPem(record.public_key_pem());
    ASSERT_TRUE(key.ok()) << key.status();
    absl::StatusOr<std::vector<v1::StoredSnapshot>> stored =
        collector::ScanRecords<v1::StoredSnapshot>(
            **store, collector::Table::kSnapshots,
            collector::keys::AgentPrefix(record.agent_id()), "snapshot");
    ASSERT_TRUE(stored.ok()) << stored.status();
    ChainHead head;
    for (const v1::StoredSnapshot& s : *stored) {
      ASSERT_TRUE(VerifyEnvelope(*key, s.envelope()).ok());
      v1::Snapshot snapshot;
      ASSERT_TRUE(snapshot.ParseFromString(s.envelope().payload()));
      ASSERT_TRUE(CheckNext(head, snapshot).ok())
          << "agent " << record.agent_id() << " seq " << snapshot.seq();
      head = HeadAfter(snapshot.seq(), s.envelope().payload());
    }
    EXPECT_EQ(head.seq, record.last_seq());
    // Each agent's stored count is the count that agent made.
    ASSERT_EQ(made_by.count(record.agent_id()), 1u) << record.agent_id();
    EXPECT_EQ(static_cast<int>(stored->size()), made_by[record.agent_id()])
        << "agent " << record.agent_id();
    found += static_cast<int>(stored->size());
  }
  EXPECT_EQ(found, made);
  std::printf(
      "kill loop: %d SIGKILLs, %d snapshots acknowledged while killing, %d "
      "made in all, %d found stored\n",
      kills, acknowledged, made, found);
}

// Below its free-space reserve the collector acknowledges nothing, and
// the agent keeps its snapshot (exit 3); with room again it is delivered.
TEST_F(KillLoopTest, BelowTheFreeSpaceReserveNothingIsAcknowledged) {
  StartCollector();
  auto [token_code, token] = Cli({"token", "create"});
  ASSERT_EQ(token_code, 0) << token;
  token = token.substr(0, token.find('\n'));
  const fs::path state = tmp_.path() / "agent";
  auto [enrolled, enrol_output] = RunProcess(
      {EVIDENTIA_AGENT_BIN, "enroll", "--collector",
       absl::StrCat("127.0.0.1:", port_), "--ca",
       collector::DataDirPaths(data_dir_).ca_cert().string(), "--token", token,
       "--state-dir", state.string(), "--root", kRoot},
      tmp_.path() / "enroll.out");
  ASSERT_EQ(enrolled, 0) << enrol_output;
  KillCollector();
  StartCollector({"--min-free-mb", "1000000000"});  // more than any disk
  const std::vector<std::string> cycle = {
      EVIDENTIA_AGENT_BIN, "run",    "--once", "--state-dir",
      state.string(),      "--root", kRoot};

  auto [refused, refused_output] = RunProcess(cycle, tmp_.path() / "a.out");
  KillCollector();
  StartCollector();
  auto [delivered, delivered_output] = RunProcess(cycle, tmp_.path() / "b.out");

  EXPECT_EQ(refused, 3) << refused_output;
  EXPECT_NE(refused_output.find("free"), std::string::npos) << refused_output;
  EXPECT_EQ(delivered, 0) << delivered_output;
}

}  // namespace
}  // namespace evidentia
