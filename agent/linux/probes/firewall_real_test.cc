// linux.firewall on this machine (root "/") against the real tools: the
// ruleset as `nft -j list ruleset` prints it (tables, base chains, hooks,
// priorities, policies), once as it is and once with a test table of our
// own added (an input chain with policy accept and one accept rule, which
// changes no packet's fate), and dpkg-query for ufw and firewalld.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "agent/linux/probes/firewall_probe.h"
#include "agent/linux/probes/firewall_ruleset_source.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/machine_lock.h"
#include "tests/support/shell.h"

namespace evidentia::agent {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// `command` with its standard error merged into the output (nft's refusal
// is on standard error).
CommandResult RunCommand(const std::string& command) {
  testing::ShellResult shell = testing::Shell("( { " + command + "; } 2>&1 )");
  return {shell.status, std::move(shell.out)};
}

// ctest runs each test in its own process, several at once, and the
// ruleset is the machine's: each process gets its own table name, so that
// a crashed test's table is never taken for another's, and each test holds
// an exclusive lock on the ruleset (below) so that no test adds or deletes
// a table while another compares the ruleset with nft.
const std::string kTestTable = "evidentia_test_" + std::to_string(getpid());

class FirewallRealMachineTest : public ::testing::Test {
  testing::MachineLock lock_{"ruleset"};
};

// Adds table inet kTestTable (an input base chain, policy accept, one rule
// "tcp dport 65022 counter accept") for its lifetime; deletes it in all
// cases.
class ScopedTestTable {
 public:
  ScopedTestTable() {
    Delete();
    CommandResult add =
        RunCommand("printf 'table inet " + kTestTable +
                   " {\\n"
                   " chain input {\\n"
                   "  type filter hook input priority 0; policy accept;\\n"
                   "  tcp dport 65022 counter accept\\n"
                   " }\\n"
                   "}\\n' | nft -f -");
    added_ = add.exit_code == 0;
    add_output_ = add.output;
  }
  ~ScopedTestTable() { Delete(); }
  ScopedTestTable(const ScopedTestTable&) = delete;
  ScopedTestTable& operator=(const ScopedTestTable&) = delete;

  bool added() const { return added_; }
  // What nft printed when adding the table (its refusal, if any).
  const std::string& add_output() const { return add_output_; }

 private:
  static void Delete() { RunCommand("nft delete table inet " + kTestTable); }
  bool added_ = false;
  std::string add_output_;
};

v1::FirewallFacts CollectHere() {
  absl::StatusOr<v1::Facts> facts = FirewallProbe().Collect("/");
  EXPECT_TRUE(facts.ok()) << facts.status();
  return facts.ok() ? facts->firewall() : v1::FirewallFacts();
}

using ChainRow = std::tuple<std::string, std::string, std::string, std::string,
                            std::string, int64_t, std::string>;

std::string FamilyName(v1::NetfilterFamily family) {
  std::string name = v1::NetfilterFamily_Name(family);
  name = name.substr(std::string("NETFILTER_FAMILY_").size());
  for (char& c : name) c = static_cast<char>(std::tolower(c));
  return name;
}

std::string Lower(std::string name, const std::string& prefix) {
  name = name.substr(prefix.size());
  for (char& c : name) c = static_cast<char>(std::tolower(c));
  return name;
}

// Compares the probe's tables and base chains with what nft printed.
void ExpectSameRuleset(const v1::FirewallFacts& facts,
                       const std::string& nft_json) {
  json document = json::parse(nft_json, nullptr, false);
  ASSERT_FALSE(document.is_discarded()) << nft_json;
  ASSERT_TRUE(document.contains("nftables")) << nft_json;
  std::set<std::pair<std::string, std::string>> nft_tables;
  std::set<ChainRow> nft_chains;
  for (const json& item : document["nftables"]) {
    if (item.contains("table")) {
      nft_tables.emplace(item["table"].value("family", ""),
                         item["table"].value("name", ""));
    }
    if (item.contains("chain") && item["chain"].contains("hook")) {
      const json& c = item["chain"];
      nft_chains.emplace(c.value("family", ""), c.value("table", ""),
                         c.value("name", ""), c.value("type", ""),
                         c.value("hook", ""), c.value("prio", int64_t{0}),
                         c.value("policy", "accept"));
    }
  }
  std::set<std::pair<std::string, std::string>> probe_tables;
  for (const v1::NftTable& table : facts.tables()) {
    probe_tables.emplace(FamilyName(table.family()), table.name());
  }
  std::set<ChainRow> probe_chains;
  for (const v1::BaseChain& c : facts.base_chains()) {
    probe_chains.emplace(
        FamilyName(c.family()), c.table(), c.name(), c.type(),
        Lower(v1::NetfilterHook_Name(c.hook()), "NETFILTER_HOOK_"),
        c.priority(),
        Lower(v1::FirewallVerdict_Name(c.policy()), "FIREWALL_VERDICT_"));
  }
  EXPECT_EQ(probe_tables, nft_tables);
  EXPECT_EQ(probe_chains, nft_chains);
  EXPECT_EQ(static_cast<size_t>(facts.base_chains_size()), nft_chains.size());
}

bool DpkgInstalled(const std::string& package) {
  CommandResult result =
      RunCommand("dpkg-query -W -f='${Status}' " + package + " 2>/dev/null");
  return result.exit_code == 0 &&
         result.output.find("install ok installed") != std::string::npos;
}

TEST_F(FirewallRealMachineTest, MatchesNftListRuleset) {
  CommandResult nft = RunCommand("nft -j list ruleset");
  v1::FirewallFacts facts = CollectHere();
  if (nft.exit_code != 0) {
    // Without CAP_NET_ADMIN nft and the probe must both be refused.
    EXPECT_THAT(nft.output, HasSubstr("Operation not permitted"));
    EXPECT_FALSE(facts.ruleset_readable());
    EXPECT_THAT(facts.ruleset_error(), HasSubstr("PERMISSION_DENIED"));
    return;
  }
  ASSERT_TRUE(facts.ruleset_readable()) << facts.ruleset_error();
  ExpectSameRuleset(facts, nft.output);
  if (facts.tables_size() == 0) {
    EXPECT_EQ(facts.ipv4_input(), v1::INBOUND_POLICY_NO_CHAIN);
    EXPECT_EQ(facts.ipv6_input(), v1::INBOUND_POLICY_NO_CHAIN);
    EXPECT_EQ(facts.open_ports_size(), 0);
  }
}

TEST_F(FirewallRealMachineTest, MatchesNftWithATestTableAdded) {
  ScopedTestTable table;
  CommandResult nft = RunCommand("nft -j list ruleset");
  v1::FirewallFacts facts = CollectHere();
  if (!table.added()) {
    // Only a host that refuses nft may refuse the table.
    EXPECT_NE(nft.exit_code, 0) << "nft listed the ruleset but refused "
                                << "the test table: " << table.add_output();
    EXPECT_FALSE(facts.ruleset_readable());
    return;
  }
  ASSERT_EQ(nft.exit_code, 0) << nft.output;
  ASSERT_TRUE(facts.ruleset_readable()) << facts.ruleset_error();
  ExpectSameRuleset(facts, nft.output);

  bool saw_chain = false;
  for (const v1::BaseChain& c : facts.base_chains()) {
    if (c.table() != kTestTable) continue;
    saw_chain = true;
    EXPECT_EQ(c.family(), v1::NETFILTER_FAMILY_INET);
    EXPECT_EQ(c.hook(), v1::NETFILTER_HOOK_INPUT);
    EXPECT_EQ(c.policy(), v1::FIREWALL_VERDICT_ACCEPT);
    EXPECT_EQ(c.rule_count(), 1u);
    EXPECT_EQ(c.default_verdict(), v1::FIREWALL_VERDICT_ACCEPT);
  }
  EXPECT_TRUE(saw_chain);
  std::vector<std::string> ours;
  for (const v1::OpenPort& port : facts.open_ports()) {
    if (port.table() == kTestTable) ours.push_back(port.port());
  }
  EXPECT_THAT(ours, ::testing::ElementsAre("tcp/65022"));
  // With only our table the host accepts by default: an accept chain.
  if (facts.tables_size() == 1) {
    EXPECT_EQ(facts.ipv4_input(), v1::INBOUND_POLICY_ACCEPT);
    EXPECT_EQ(facts.ipv6_input(), v1::INBOUND_POLICY_ACCEPT);
  }
}

TEST_F(FirewallRealMachineTest, TestTableIsGoneAfterwards) {
  { ScopedTestTable table; }
  CommandResult nft = RunCommand("nft list table inet " + kTestTable);
  EXPECT_NE(nft.exit_code, 0) << nft.output;
}

TEST_F(FirewallRealMachineTest, PackagesMatchDpkgQuery) {
  v1::FirewallFacts facts = CollectHere();
  EXPECT_EQ(facts.ufw().installed(), DpkgInstalled("ufw"));
  EXPECT_EQ(facts.firewalld().installed(), DpkgInstalled("firewalld"));
}

TEST_F(FirewallRealMachineTest, TwoCollectionsGiveIdenticalBytes) {
  absl::StatusOr<v1::Facts> a = FirewallProbe().Collect("/");
  absl::StatusOr<v1::Facts> b = FirewallProbe().Collect("/");
  ASSERT_TRUE(a.ok() && b.ok());
  std::string bytes_a;
  std::string bytes_b;
  ASSERT_TRUE(a->SerializeToString(&bytes_a));
  ASSERT_TRUE(b->SerializeToString(&bytes_b));
  EXPECT_EQ(bytes_a, bytes_b);
}

// Packets move the test rule's counter between two collections (nft shows
// it move); the facts must not.
TEST_F(FirewallRealMachineTest, CounterTrafficDoesNotChangeTheFacts) {
  ScopedTestTable table;
  if (!table.added()) {
    EXPECT_NE(RunCommand("nft -j list ruleset").exit_code, 0);
    EXPECT_FALSE(CollectHere().ruleset_readable());
    return;
  }
  const std::string count_packets =
      "nft list table inet " + kTestTable +
      " | sed -n 's/.*counter packets \\([0-9]*\\).*/\\1/p'";
  const std::string before = RunCommand(count_packets).output;
  std::string bytes_a;
  ASSERT_TRUE(CollectHere().SerializeToString(&bytes_a));
  // A SYN to 127.0.0.1:65022 (refused, but counted on the input hook).
  RunCommand("timeout 2 bash -c 'echo > /dev/tcp/127.0.0.1/65022'");
  const std::string after = RunCommand(count_packets).output;
  std::string bytes_b;
  ASSERT_TRUE(CollectHere().SerializeToString(&bytes_b));
  ASSERT_NE(before, after) << "the counter did not move: nothing compared";
  EXPECT_EQ(bytes_a, bytes_b);
}

// --- RulesetSource contract, for each implementation -----------------------

class FixtureRulesetSource : public RulesetSource {
 public:
  absl::StatusOr<std::string> ListRuleset() const override {
    std::ifstream in(std::string(EVIDENTIA_SOURCE_DIR) +
                         "/tests/fixtures/firewall/ufw_enabled/ruleset.json",
                     std::ios::binary);
    if (!in) return absl::NotFoundError("fixture ruleset.json");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
};

using SourceFactory = std::unique_ptr<RulesetSource> (*)();

class RulesetSourceContractTest
    : public ::testing::TestWithParam<SourceFactory> {
  testing::MachineLock lock_{"ruleset"};
};

// An answer is nftables JSON starting with metainfo of schema version 1, or
// PERMISSION_DENIED (no CAP_NET_ADMIN), never a half-answer.
TEST_P(RulesetSourceContractTest, ReturnsNftablesJsonOrPermissionDenied) {
  std::unique_ptr<RulesetSource> source = GetParam()();
  absl::StatusOr<std::string> text = source->ListRuleset();
  if (!text.ok()) {
    EXPECT_EQ(text.status().code(), absl::StatusCode::kPermissionDenied)
        << text.status();
    EXPECT_THAT(std::string(text.status().message()),
                HasSubstr("Operation not permitted"));
    return;
  }
  json document = json::parse(*text, nullptr, false);
  ASSERT_FALSE(document.is_discarded());
  ASSERT_TRUE(document.contains("nftables"));
  ASSERT_TRUE(document["nftables"].is_array());
  ASSERT_FALSE(document["nftables"].empty());
  const json& first = document["nftables"][0];
  ASSERT_TRUE(first.contains("metainfo"));
  EXPECT_EQ(first["metainfo"].value("json_schema_version", 0), 1);
  EXPECT_TRUE(ParseNftRuleset(*text).ok());
}

TEST_P(RulesetSourceContractTest, RepeatedCallsAgree) {
  std::unique_ptr<RulesetSource> source = GetParam()();
  absl::StatusOr<std::string> a = source->ListRuleset();
  absl::StatusOr<std::string> b = source->ListRuleset();
  ASSERT_EQ(a.ok(), b.ok());
  if (a.ok()) {
    EXPECT_EQ(*a, *b);
  }
}

// libnftables has process-wide state (an unguarded init flag, a global
// interface cache): calls from several threads must each get the whole
// answer, the same one.
TEST_P(RulesetSourceContractTest, ConcurrentCallsAgree) {
  std::unique_ptr<RulesetSource> source = GetParam()();
  const absl::StatusOr<std::string> expected = source->ListRuleset();
  std::vector<absl::StatusOr<std::string>> answers(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < answers.size(); ++i) {
    threads.emplace_back([&source, &answers, i] {
      for (int round = 0; round < 10; ++round) {
        answers[i] = source->ListRuleset();
        if (!answers[i].ok()) return;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const absl::StatusOr<std::string>& answer : answers) {
    ASSERT_EQ(answer.ok(), expected.ok()) << answer.status();
    if (expected.ok()) {
      EXPECT_EQ(*answer, *expected);
    } else {
      EXPECT_EQ(answer.status().code(), expected.status().code());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Sources, RulesetSourceContractTest,
    ::testing::Values(
        +[]() -> std::unique_ptr<RulesetSource> {
          return std::make_unique<NftRulesetSource>();
        },
        +[]() -> std::unique_ptr<RulesetSource> {
          return std::make_unique<FixtureRulesetSource>();
        }),
    [](const ::testing::TestParamInfo<SourceFactory>& info) {
      return info.index == 0 ? std::string("Libnftables")
                             : std::string("Fixture");
    });

}  // namespace
}  // namespace evidentia::agent
