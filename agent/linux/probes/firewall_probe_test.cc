#include "agent/linux/probes/firewall_probe.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "agent/linux/probes/firewall_fixed_ruleset_source.h"
#include "agent/linux/sys/text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;
using ::testing::UnorderedElementsAre;

fs::path Fixture(const std::string& name) {
  return fs::path(EVIDENTIA_SOURCE_DIR) / "tests/fixtures/firewall" / name;
}

std::string ReadFixtureRuleset(const std::string& name) {
  std::ifstream in(Fixture(name) / "ruleset.json", std::ios::binary);
  EXPECT_TRUE(in.good()) << name << "/ruleset.json";
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

v1::FirewallFacts CollectWith(const std::string& name,
                              absl::StatusOr<std::string> ruleset) {
  FirewallProbe probe(std::make_unique<FixedRulesetSource>(std::move(ruleset)));
  absl::StatusOr<v1::Facts> facts = probe.Collect(Fixture(name));
  EXPECT_TRUE(facts.ok()) << facts.status();
  if (!facts.ok()) return {};
  EXPECT_TRUE(facts->has_firewall());
  return facts->firewall();
}

// Collects fixture `name` with its ruleset.json as the live ruleset.
v1::FirewallFacts CollectFixture(const std::string& name) {
  return CollectWith(name, ReadFixtureRuleset(name));
}

std::vector<std::string> Ports(const v1::FirewallFacts& facts) {
  std::vector<std::string> out;
  for (const v1::OpenPort& port : facts.open_ports()) {
    out.push_back(port.port());
  }
  return out;
}

std::vector<std::string> Hooks(const v1::FirewallFacts& facts) {
  std::vector<std::string> out;
  for (const v1::BaseChain& chain : facts.base_chains()) {
    out.push_back(v1::NetfilterFamily_Name(chain.family()) + " " +
                  chain.table() + " " + chain.name() + " " +
                  v1::NetfilterHook_Name(chain.hook()));
  }
  return out;
}

absl::StatusOr<v1::FirewallFacts> Parse(const std::string& text) {
  return ParseNftRuleset(text);
}

// A ruleset of one inet table "t" with the given chains and rules, each
// rule given as its JSON "expr" array.
std::string Ruleset(const std::string& items) {
  return R"({"nftables":[{"metainfo":{"json_schema_version":1}},)"
         R"({"table":{"family":"inet","name":"t"}})" +
         items + "]}";
}
std::string InputChain(const std::string& policy) {
  return R"(,{"chain":{"family":"inet","table":"t","name":"in","type":"filter",)"
         R"("hook":"input","prio":0,"policy":")" +
         policy + R"("}})";
}
std::string RegularChain(const std::string& name) {
  return R"(,{"chain":{"family":"inet","table":"t","name":")" + name + R"("}})";
}
std::string RuleIn(const std::string& chain, const std::string& expr) {
  return R"(,{"rule":{"family":"inet","table":"t","chain":")" + chain +
         R"(","expr":)" + expr + "}}";
}
const char kTcp22[] =
    R"({"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":22}})";
const char kAccept[] = R"({"accept":null})";
const char kDrop[] = R"({"drop":null})";

// --- ParseNftRuleset: normal ------------------------------------------------

TEST(NftRulesetParserTest, EmptyRulesetHasNoTablesAndNoInputChain) {
  absl::StatusOr<v1::FirewallFacts> facts =
      Parse(R"({"nftables":[{"metainfo":{"json_schema_version":1}}]})");
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_TRUE(facts->ruleset_readable());
  EXPECT_THAT(facts->tables(), IsEmpty());
  EXPECT_EQ(facts->ipv4_input(), v1::INBOUND_POLICY_NO_CHAIN);
  EXPECT_EQ(facts->ipv6_input(), v1::INBOUND_POLICY_NO_CHAIN);
}

TEST(NftRulesetParserTest, PolicyDropIsDefaultDenyForBothVersions) {
  absl::StatusOr<v1::FirewallFacts> facts = Parse(
      Ruleset(InputChain("drop") +
              RuleIn("in", std::string("[") + kTcp22 + "," + kAccept + "]")));
  ASSERT_TRUE(facts.ok());
  EXPECT_EQ(facts->ipv4_input(), v1::INBOUND_POLICY_DROP);
  EXPECT_EQ(facts->ipv6_input(), v1::INBOUND_POLICY_DROP);
  EXPECT_THAT(Ports(*facts), ElementsAre("tcp/22"));
  ASSERT_EQ(facts->base_chains_size(), 1);
  EXPECT_EQ(facts->base_chains(0).policy(), v1::FIREWALL_VERDICT_DROP);
  EXPECT_EQ(facts->base_chains(0).rule_count(), 1u);
  EXPECT_EQ(facts->base_chains(0).default_verdict(), v1::FIREWALL_VERDICT_DROP);
}

TEST(NftRulesetParserTest, UnconditionalDropAfterJumpsCountsAsFinalRule) {
  absl::StatusOr<v1::FirewallFacts> facts = Parse(
      Ruleset(InputChain("accept") + RegularChain("deny") +
              RuleIn("in", R"([{"jump":{"target":"deny"}}])") +
              RuleIn("deny", R"([{"counter":null},{"log":{"prefix":"x"}},)" +
                                 std::string(kDrop) + "]")));
  ASSERT_TRUE(facts.ok());
  EXPECT_EQ(facts->ipv4_input(), v1::INBOUND_POLICY_FINAL_RULE);
  EXPECT_EQ(facts->base_chains(0).catch_all_verdict(),
            v1::FIREWALL_VERDICT_DROP);
}

TEST(NftRulesetParserTest, UnconditionalAcceptBeforePolicyDropIsAccept) {
  absl::StatusOr<v1::FirewallFacts> facts =
      Parse(Ruleset(InputChain("drop") + RuleIn("in", "[{\"accept\":null}]")));
  ASSERT_TRUE(facts.ok());
  EXPECT_EQ(facts->ipv4_input(), v1::INBOUND_POLICY_ACCEPT);
  EXPECT_THAT(Ports(*facts), ElementsAre("any"));
}

TEST(NftRulesetParserTest, DropAfterAConditionalReturnIsNotACatchAll) {
  // ufw-not-local: local destinations return, everything else is dropped.
  absl::StatusOr<v1::FirewallFacts> facts = Parse(Ruleset(
      InputChain("accept") + RegularChain("not_local") +
      RuleIn("in", R"([{"jump":{"target":"not_local"}}])") +
      RuleIn("not_local",
             R"([{"xt":{"type":"match","name":"addrtype"}},{"return":null}])") +
      RuleIn("not_local", "[{\"drop\":null}]")));
  ASSERT_TRUE(facts.ok());
  EXPECT_EQ(facts->base_chains(0).catch_all_verdict(),
            v1::FIREWALL_VERDICT_UNSPECIFIED);
  EXPECT_EQ(facts->ipv4_input(), v1::INBOUND_POLICY_ACCEPT);
}

TEST(NftRulesetParserTest, LimitedDropIsNotACatchAll) {
  absl::StatusOr<v1::FirewallFacts> facts = Parse(Ruleset(
      InputChain("accept") +
      RuleIn("in", R"([{"limit":{"rate":3,"per":"minute"}},{"drop":null}])")));
  ASSERT_TRUE(facts.ok());
  EXPECT_EQ(facts->ipv4_input(), v1::INBOUND_POLICY_ACCEPT);
}

TEST(NftRulesetParserTest, SourceLoopbackAndEstablishedRulesAreNotOpen) {
  absl::StatusOr<v1::FirewallFacts> facts = Parse(Ruleset(
      InputChain("drop") +
      RuleIn(
          "in",
          R"([{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":{"prefix":{"addr":"10.0.0.0","len":8}}}},)" +
              std::string(kTcp22) + "," + kAccept + "]") +
      RuleIn(
          "in",
          R"([{"match":{"op":"==","left":{"meta":{"key":"iif"}},"right":"lo"}},{"accept":null}])") +
      RuleIn(
          "in",
          R"([{"match":{"op":"in","left":{"ct":{"key":"state"}},"right":["established","related"]}},{"accept":null}])")));
  ASSERT_TRUE(facts.ok());
  EXPECT_THAT(facts->open_ports(), IsEmpty());
  EXPECT_EQ(facts->unanalysed_accept_rules(), 0u);
}

TEST(NftRulesetParserTest, NewConnectionsToAPortAreOpen) {
  absl::StatusOr<v1::FirewallFacts> facts = Parse(Ruleset(
      InputChain("drop") +
      RuleIn(
          "in",
          std::string("[") + kTcp22 +
              R"(,{"match":{"op":"==","left":{"ct":{"key":"state"}},"right":{"set":["new","untracked"]}}},{"accept":null}])")));
  ASSERT_TRUE(facts.ok());
  EXPECT_THAT(Ports(*facts), ElementsAre("tcp/22"));
}

TEST(NftRulesetParserTest, SetsRangesAndProtocolsBecomeOnePortEach) {
  absl::StatusOr<v1::FirewallFacts> facts = Parse(Ruleset(
      InputChain("drop") +
      RuleIn(
          "in",
          R"([{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":{"set":[443,80,{"range":[8000,8080]}]}}},{"accept":null}])") +
      RuleIn(
          "in",
          R"([{"match":{"op":"==","left":{"meta":{"key":"l4proto"}},"right":{"set":["tcp","udp"]}}},{"match":{"op":"==","left":{"payload":{"protocol":"th","field":"dport"}},"right":53}},{"accept":null}])") +
      RuleIn(
          "in",
          R"([{"match":{"op":"==","left":{"meta":{"key":"l4proto"}},"right":"gre"}},{"accept":null}])") +
      RuleIn(
          "in",
          R"([{"match":{"op":"==","left":{"meta":{"key":"l4proto"}},"right":"ipv6-icmp"}},{"accept":null}])")));
  ASSERT_TRUE(facts.ok());
  EXPECT_THAT(Ports(*facts), ElementsAre("gre", "tcp/53", "tcp/80", "tcp/443",
                                         "tcp/8000-8080", "udp/53"));
}

TEST(NftRulesetParserTest, NamedSetIsExpandedAndEmptySetOpensNothing) {
  std::string items =
      R"(,{"set":{"family":"inet","table":"t","name":"web","type":"inet_service","elem":[80,443]}})"
      R"(,{"set":{"family":"inet","table":"t","name":"none","type":"inet_service"}})";
  absl::StatusOr<v1::FirewallFacts> facts = Parse(Ruleset(
      items + InputChain("drop") +
      RuleIn(
          "in",
          R"([{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":"@web"}},{"accept":null}])") +
      RuleIn(
          "in",
          R"([{"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"dport"}},"right":"@none"}},{"accept":null}])") +
      RuleIn(
          "in",
          R"([{"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"dport"}},"right":"@missing"}},{"accept":null}])")));
  ASSERT_TRUE(facts.ok());
  EXPECT_THAT(Ports(*facts), ElementsAre("tcp/80", "tcp/443", "udp/@missing"));
}

TEST(NftRulesetParserTest, NegatedPortIsEveryPort) {
  absl::StatusOr<v1::FirewallFacts> facts = Parse(Ruleset(
      InputChain("drop") +
      RuleIn(
          "in",
          R"([{"match":{"op":"!=","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":22}},{"accept":null}])")));
  ASSERT_TRUE(facts.ok());
  EXPECT_THAT(Ports(*facts), ElementsAre("tcp/*"));
}

TEST(NftRulesetParserTest, JumpCarriesThePortIntoTheTargetChain) {
  absl::StatusOr<v1::FirewallFacts> facts =
      Parse(Ruleset(InputChain("drop") + RegularChain("allow") +
                    RuleIn("in", std::string("[") + kTcp22 +
                                     R"(,{"jump":{"target":"allow"}}])") +
                    RuleIn("allow", "[{\"accept\":null}]")));
  ASSERT_TRUE(facts.ok());
  ASSERT_EQ(facts->open_ports_size(), 1);
  EXPECT_EQ(facts->open_ports(0).port(), "tcp/22");
  EXPECT_EQ(facts->open_ports(0).chain(), "allow");
  EXPECT_EQ(facts->open_ports(0).family(), v1::NETFILTER_FAMILY_INET);
}

TEST(NftRulesetParserTest, InterfaceAndDestinationAreKept) {
  absl::StatusOr<v1::FirewallFacts> facts = Parse(Ruleset(
      InputChain("drop") +
      RuleIn(
          "in",
          R"([{"match":{"op":"==","left":{"meta":{"key":"iifname"}},"right":"eth0"}},{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"daddr"}},"right":"224.0.0.251"}},{"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"dport"}},"right":5353}},{"accept":null}])")));
  ASSERT_TRUE(facts.ok());
  ASSERT_EQ(facts->open_ports_size(), 1);
  EXPECT_EQ(facts->open_ports(0).interface(), "eth0");
  EXPECT_EQ(facts->open_ports(0).destination(), "224.0.0.251");
}

TEST(NftRulesetParserTest, OpaqueAcceptWithoutPortIsCountedNotListed) {
  absl::StatusOr<v1::FirewallFacts> facts = Parse(Ruleset(
      InputChain("drop") +
      RuleIn(
          "in",
          R"([{"xt":{"type":"match","name":"conntrack"}},{"accept":null}])") +
      RuleIn(
          "in",
          R"([{"match":{"op":"in","left":{"ct":{"key":"status"}},"right":"dnat"}},{"accept":null}])") +
      RuleIn(
          "in",
          std::string("[") + kTcp22 +
              R"(,{"xt":{"type":"match","name":"recent"}},{"accept":null}])")));
  ASSERT_TRUE(facts.ok());
  EXPECT_EQ(facts->unanalysed_accept_rules(), 2u);
  EXPECT_THAT(Ports(*facts), ElementsAre("tcp/22"));
}

TEST(NftRulesetParserTest, XtRejectTargetIsACatchAllReject) {
  absl::StatusOr<v1::FirewallFacts> facts = Parse(
      Ruleset(InputChain("accept") +
              RuleIn("in", R"([{"xt":{"type":"target","name":"REJECT"}}])")));
  ASSERT_TRUE(facts.ok());
  EXPECT_EQ(facts->base_chains(0).catch_all_verdict(),
            v1::FIREWALL_VERDICT_REJECT);
  EXPECT_EQ(facts->ipv4_input(), v1::INBOUND_POLICY_FINAL_RULE);
}

TEST(NftRulesetParserTest, RulesAfterACatchAllAreUnreachable) {
  absl::StatusOr<v1::FirewallFacts> facts = Parse(
      Ruleset(InputChain("accept") + RuleIn("in", "[{\"drop\":null}]") +
              RuleIn("in", std::string("[") + kTcp22 + "," + kAccept + "]")));
  ASSERT_TRUE(facts.ok());
  EXPECT_THAT(facts->open_ports(), IsEmpty());
}

TEST(NftRulesetParserTest, ChainsAreSortedByFamilyHookPriority) {
  std::string text =
      R"({"nftables":[)"
      R"({"table":{"family":"ip","name":"b"}},{"table":{"family":"inet","name":"a"}},)"
      R"({"chain":{"family":"ip","table":"b","name":"out","type":"filter","hook":"output","prio":0,"policy":"accept"}},)"
      R"({"chain":{"family":"ip","table":"b","name":"in2","type":"filter","hook":"input","prio":10,"policy":"accept"}},)"
      R"({"chain":{"family":"ip","table":"b","name":"in1","type":"filter","hook":"input","prio":-5,"policy":"accept"}},)"
      R"({"chain":{"family":"inet","table":"a","name":"fwd","type":"filter","hook":"forward","prio":0,"policy":"drop"}}]})";
  absl::StatusOr<v1::FirewallFacts> facts = Parse(text);
  ASSERT_TRUE(facts.ok());
  EXPECT_THAT(Hooks(*facts),
              ElementsAre("NETFILTER_FAMILY_INET a fwd NETFILTER_HOOK_FORWARD",
                          "NETFILTER_FAMILY_IP b in1 NETFILTER_HOOK_INPUT",
                          "NETFILTER_FAMILY_IP b in2 NETFILTER_HOOK_INPUT",
                          "NETFILTER_FAMILY_IP b out NETFILTER_HOOK_OUTPUT"));
  ASSERT_EQ(facts->tables_size(), 2);
  EXPECT_EQ(facts->tables(0).family(), v1::NETFILTER_FAMILY_INET);
  EXPECT_EQ(facts->ipv4_input(), v1::INBOUND_POLICY_ACCEPT);
  EXPECT_EQ(facts->ipv6_input(), v1::INBOUND_POLICY_NO_CHAIN);
}

// --- ParseNftRuleset: malformed and hostile ---------------------------------

TEST(NftRulesetParserTest, RejectsNonJson) {
  EXPECT_EQ(Parse("Error: syntax error").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Parse("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Parse(R"({"nftables":[)").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(NftRulesetParserTest, RejectsJsonWithoutNftablesArray) {
  EXPECT_FALSE(Parse(R"({"tables":[]})").ok());
  EXPECT_FALSE(Parse(R"({"nftables":{}})").ok());
  EXPECT_FALSE(Parse("[1,2,3]").ok());
}

TEST(NftRulesetParserTest, RejectsDeepNesting) {
  std::string deep = R"({"nftables":[)" + std::string(100000, '[') +
                     std::string(100000, ']') + "]}";
  EXPECT_EQ(Parse(deep).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(NftRulesetParserTest, SkipsMembersOfTheWrongType) {
  absl::StatusOr<v1::FirewallFacts> facts = Parse(
      R"({"nftables":[1,"x",null,{"table":7},{"table":{"family":3,"name":["a"]}},)"
      R"({"chain":{"family":"inet","table":"t","name":"c","hook":5,"prio":"x","policy":{}}},)"
      R"({"rule":{"family":"inet","table":"t","chain":"c","expr":"accept"}},)"
      R"({"rule":{"family":"inet","table":"t","chain":"c","expr":[1,{"match":7},{"match":{"left":1}},{"jump":{"target":9}}]}},)"
      R"({"rule":{"family":"inet","table":"t","chain":"nochain","expr":[]}},)"
      R"({"set":{"name":5,"elem":"x"}}]})");
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_THAT(facts->tables(), IsEmpty());
  ASSERT_EQ(facts->base_chains_size(), 1);
  EXPECT_EQ(facts->base_chains(0).hook(), v1::NETFILTER_HOOK_UNSPECIFIED);
  EXPECT_EQ(facts->base_chains(0).rule_count(), 2u);
}

TEST(NftRulesetParserTest, JumpLoopsTerminate) {
  absl::StatusOr<v1::FirewallFacts> facts = Parse(
      Ruleset(InputChain("accept") + RegularChain("a") + RegularChain("b") +
              RuleIn("in", R"([{"jump":{"target":"a"}}])") +
              RuleIn("a", R"([{"jump":{"target":"b"}}])") +
              RuleIn("b", R"([{"jump":{"target":"a"}}])")));
  ASSERT_TRUE(facts.ok());
  EXPECT_EQ(facts->ipv4_input(), v1::INBOUND_POLICY_ACCEPT);
  EXPECT_TRUE(facts->ruleset_truncated());
}

TEST(NftRulesetParserTest, WideJumpFanOutIsBounded) {
  // 12 chains, each jumping 20 times to the next: 20^12 paths if followed.
  std::string items = InputChain("accept");
  for (int i = 0; i < 12; ++i) items += RegularChain("c" + std::to_string(i));
  for (int j = 0; j < 20; ++j) {
    items += RuleIn("in", R"([{"jump":{"target":"c0"}}])");
  }
  for (int i = 0; i + 1 < 12; ++i) {
    for (int j = 0; j < 20; ++j) {
      items += RuleIn(
          "c" + std::to_string(i),
          R"([{"jump":{"target":"c)" + std::to_string(i + 1) + R"("}}])");
    }
  }
  items += RuleIn("c11", std::string("[") + kTcp22 + "," + kAccept + "]");
  absl::StatusOr<v1::FirewallFacts> facts = Parse(Ruleset(items));
  ASSERT_TRUE(facts.ok());
  EXPECT_TRUE(facts->ruleset_truncated());
  EXPECT_THAT(Ports(*facts), ElementsAre("tcp/22"));
}

TEST(NftRulesetParserTest, OpenPortsAreCapped) {
  std::string ports;
  for (int p = 1; p <= 4000; ++p)
    ports += (p > 1 ? "," : "") + std::to_string(p);
  std::string items =
      InputChain("drop") + RegularChain("many") +
      RuleIn(
          "in",
          R"([{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":{"set":[)" +
              ports + R"(]}}},{"jump":{"target":"many"}}])");
  for (int i = 0; i < 5000; ++i) {
    items += RuleIn("many", R"([{"counter":null},{"accept":null}])");
  }
  absl::StatusOr<v1::FirewallFacts> facts = Parse(Ruleset(items));
  ASSERT_TRUE(facts.ok());
  EXPECT_EQ(facts->open_ports_size(), 4000);
  EXPECT_FALSE(facts->ruleset_truncated());  // later rules are unreachable
}

TEST(NftRulesetParserTest, OpenPortsOverTheCapAreTruncated) {
  std::string ports;
  for (int p = 1; p <= 4000; ++p)
    ports += (p > 1 ? "," : "") + std::to_string(p);
  std::string items = InputChain("drop") + RegularChain("many");
  items += RuleIn(
      "in",
      R"([{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":{"set":[)" +
          ports + R"(]}}},{"jump":{"target":"many"}}])");
  for (int i = 0; i < 5000; ++i) {
    items += RuleIn(
        "many",
        R"([{"match":{"op":"==","left":{"meta":{"key":"iifname"}},"right":"e)" +
            std::to_string(i) + R"("}},{"accept":null}])");
  }
  absl::StatusOr<v1::FirewallFacts> facts = Parse(Ruleset(items));
  ASSERT_TRUE(facts.ok());
  EXPECT_EQ(facts->open_ports_size(), 4096);
  EXPECT_TRUE(facts->ruleset_truncated());
}

TEST(NftRulesetParserTest, SurvivesBinaryJunk) {
  std::string junk;
  for (int i = 0; i < 65536; ++i) junk.push_back(static_cast<char>(i * 7));
  EXPECT_FALSE(Parse(junk).ok());
  EXPECT_FALSE(Parse(R"({"nftables":[")" + junk + "\"]}").ok());
}

// Replaces the node numbered *index (pre-order) of `node` with `with`.
bool ReplaceNode(nlohmann::json* node, int* index, const nlohmann::json& with) {
  if ((*index)-- == 0) {
    *node = with;
    return true;
  }
  if (node->is_array() || node->is_object()) {
    for (auto& child : *node) {
      if (ReplaceNode(&child, index, with)) return true;
    }
  }
  return false;
}

TEST(NftRulesetParserTest, SurvivesEveryNodeOfARealRulesetReplaced) {
  const nlohmann::json original =
      nlohmann::json::parse(ReadFixtureRuleset("firewalld_public"));
  const std::vector<nlohmann::json> replacements = {
      nullptr,
      7,
      -1,
      "x",
      "@",
      nlohmann::json::array(),
      nlohmann::json::object(),
      nlohmann::json::parse(R"([[{"set":{}}]])")};
  int replaced = 0;
  for (int i = 0;; i += 3) {
    bool any = false;
    for (const nlohmann::json& with : replacements) {
      nlohmann::json copy = original;
      int index = i;
      if (!ReplaceNode(&copy, &index, with)) break;
      any = true;
      ++replaced;
      absl::StatusOr<v1::FirewallFacts> facts = Parse(copy.dump());
      if (facts.ok()) {
        EXPECT_TRUE(facts->ruleset_readable());
      }
    }
    if (!any) break;
  }
  EXPECT_GT(replaced, 1000);
}

TEST(NftRulesetParserTest, RejectsOversizedText) {
  std::string huge(kMaxRulesetJsonBytes + 1, ' ');
  EXPECT_EQ(Parse(huge).status().code(), absl::StatusCode::kInvalidArgument);
}

// A rule whose conditions hold a huge set, jumping to a chain of many
// rules: the walk must not copy the set once per rule it visits.
std::string HugeConditionRuleset(const std::string& match, int rules) {
  std::string items =
      InputChain("drop") + RegularChain("many") +
      RuleIn("in", "[" + match + R"(,{"jump":{"target":"many"}}])");
  for (int i = 0; i < rules; ++i) {
    items += RuleIn("many", R"([{"counter":null}])");
  }
  items += RuleIn("many", std::string("[") + kAccept + "]");
  return Ruleset(items);
}

TEST(NftRulesetParserTest, HugeProtocolSetAcrossManyRulesIsParsed) {
  std::string protocols;
  for (int p = 0; p < 40000; ++p) {
    protocols += (p > 0 ? "," : "") + std::to_string(p % 256 == 6 ? 7 : p);
  }
  const std::string text = HugeConditionRuleset(
      R"({"match":{"op":"==","left":{"meta":{"key":"l4proto"}},"right":{"set":[)" +
          protocols + "]}}}",
      /*rules=*/60000);
  // No wall-clock bound (it would flake on a loaded machine): a parse
  // whose work grew with rules x set size would run for minutes here and
  // hit the test's timeout.
  absl::StatusOr<v1::FirewallFacts> facts = Parse(text);
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_FALSE(facts->open_ports().empty());
}

TEST(NftRulesetParserTest, HugeDestinationSetIsBounded) {
  std::string addresses;
  for (int a = 0; a < 40000; ++a) {
    addresses += Cat(a > 0 ? "," : "", "\"10.", a / 256 % 256, ".", a % 256,
                     ".", a / 65536, "\"");
  }
  const std::string text = HugeConditionRuleset(
      R"({"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"daddr"}},"right":{"set":[)" +
          addresses + "]}}}",
      /*rules=*/30000);
  // No wall-clock bound (it would flake on a loaded machine): a parse
  // whose work grew with rules x set size would run for minutes here and
  // hit the test's timeout.
  absl::StatusOr<v1::FirewallFacts> facts = Parse(text);
  ASSERT_TRUE(facts.ok()) << facts.status();
  ASSERT_EQ(facts->open_ports_size(), 1);
  EXPECT_LE(facts->open_ports(0).destination().size(), kMaxRulesetValueBytes);
  EXPECT_THAT(facts->open_ports(0).destination(), HasSubstr("10.0.1.0"));
}

// The kernel lists the elements of a hash set in hash order, which changes
// when the set is reloaded: the facts must not.
TEST(NftRulesetParserTest, SetElementOrderDoesNotChangeTheFacts) {
  auto with = [](const std::string& addresses, const std::string& ports,
                 const std::string& ifnames) {
    std::string items =
        InputChain("drop") +
        R"(,{"set":{"family":"inet","table":"t","name":"web","type":"inet_service","elem":[)" +
        ports + "]}}" +
        RuleIn(
            "in",
            R"([{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"daddr"}},"right":{"set":[)" +
                addresses +
                R"(]}}},{"match":{"op":"==","left":{"meta":{"key":"iifname"}},"right":{"set":[)" +
                ifnames +
                R"(]}}},{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":"@web"}},{"accept":null}])");
    absl::StatusOr<v1::FirewallFacts> facts = ParseNftRuleset(Ruleset(items));
    EXPECT_TRUE(facts.ok()) << facts.status();
    std::string bytes;
    if (facts.ok()) facts->SerializeToString(&bytes);
    return bytes;
  };
  EXPECT_EQ(
      with(R"("10.0.0.2","10.0.0.1",{"prefix":{"addr":"10.9.0.0","len":16}})",
           "443,80", R"("eth1","eth0")"),
      with(R"({"prefix":{"addr":"10.9.0.0","len":16}},"10.0.0.1","10.0.0.2")",
           "80,443", R"("eth0","eth1")"));
}

// Counter values change with every packet; they must never reach the facts.
TEST(NftRulesetParserTest, CounterValuesAndHandlesDoNotReachTheFacts) {
  auto with = [](int n) {
    const std::string counter =
        Cat(R"({"counter":{"packets":)", n, R"(,"bytes":)", n * 60, "}}");
    std::string items =
        InputChain("drop") +
        Cat(R"(,{"counter":{"family":"inet","table":"t","name":"c","handle":)",
            n, R"(,"packets":)", n, R"(,"bytes":)", n, "}}") +
        R"(,{"set":{"family":"inet","table":"t","name":"p","type":"inet_service","handle":)" +
        std::to_string(n) +
        R"(,"elem":[{"elem":{"val":22,"counter":{"packets":)" +
        std::to_string(n) + R"(,"bytes":1}}}]}})" +
        Cat(R"(,{"rule":{"family":"inet","table":"t","chain":"in","handle":)",
            n,
            R"(,"expr":[{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":"@p"}},)",
            counter, ",", kAccept, "]}}");
    absl::StatusOr<v1::FirewallFacts> facts = ParseNftRuleset(Ruleset(items));
    EXPECT_TRUE(facts.ok()) << facts.status();
    std::string bytes;
    if (facts.ok()) facts->SerializeToString(&bytes);
    return bytes;
  };
  EXPECT_EQ(with(1), with(987654));
}

// --- ParseKeyValueConfig ----------------------------------------------------

TEST(KeyValueConfigParserTest, ReadsQuotedAndBareValues) {
  std::map<std::string, std::string> values = ParseKeyValueConfig(
      "# comment\nENABLED=yes\nDEFAULT_INPUT_POLICY=\"DROP\"\n"
      "  LOGLEVEL = 'low'  \nIPT_MODULES=\"\"\n");
  EXPECT_EQ(values["ENABLED"], "yes");
  EXPECT_EQ(values["DEFAULT_INPUT_POLICY"], "DROP");
  EXPECT_EQ(values["LOGLEVEL"], "low");
  EXPECT_EQ(values["IPT_MODULES"], "");
}

TEST(KeyValueConfigParserTest, LastAssignmentWinsAndTrailingWordsDrop) {
  std::map<std::string, std::string> values =
      ParseKeyValueConfig("ENABLED=no\nENABLED=yes # turned on\n");
  EXPECT_EQ(values["ENABLED"], "yes");
}

TEST(KeyValueConfigParserTest, SkipsLinesWithoutKeyOrEquals) {
  EXPECT_THAT(ParseKeyValueConfig("=x\nno equals\n#A=b\n\r\n"), IsEmpty());
}

TEST(KeyValueConfigParserTest, SurvivesBinaryAndHugeLines) {
  std::string junk(1 << 20, '=');
  junk += '\0';
  junk += "\nDefaultZone=work\n";
  EXPECT_EQ(ParseKeyValueConfig(junk)["DefaultZone"], "work");
}

// --- ParseZoneTarget --------------------------------------------------------

TEST(ZoneTargetParserTest, ReadsTargetAttribute) {
  EXPECT_THAT(ParseZoneTarget("<?xml version=\"1.0\"?>\n<zone target=\"DROP\">"
                              "<short>Drop</short></zone>"),
              Optional(std::string("DROP")));
  EXPECT_THAT(ParseZoneTarget("<zone version='1' target = '%%REJECT%%'>"),
              Optional(std::string("%%REJECT%%")));
}

TEST(ZoneTargetParserTest, ZoneWithoutTargetIsDefault) {
  EXPECT_THAT(ParseZoneTarget("<zone>\n<short>Public</short>\n</zone>"),
              Optional(std::string("default")));
}

TEST(ZoneTargetParserTest, SkipsCommentsAndOtherElements) {
  EXPECT_THAT(ParseZoneTarget("<!-- <zone target=\"ACCEPT\"> --><zones/>"
                              "<zone target=\"DROP\"/>"),
              Optional(std::string("DROP")));
}

TEST(ZoneTargetParserTest, NoZoneElementOrCutOffTagIsUnknown) {
  EXPECT_EQ(ParseZoneTarget("<service/>"), std::nullopt);
  EXPECT_EQ(ParseZoneTarget(""), std::nullopt);
  EXPECT_EQ(ParseZoneTarget("<zone version=\"1"), std::nullopt);
  EXPECT_EQ(ParseZoneTarget("<!-- unterminated <zone>"), std::nullopt);
}

TEST(ZoneTargetParserTest, SurvivesBinaryJunk) {
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>(i * 13));
  ParseZoneTarget(junk);
  ParseZoneTarget("<zone " + junk);
  EXPECT_THAT(ParseZoneTarget(junk + "<zone target=X>"),
              Optional(std::string("X")));
}

// --- ParseLegacyTableNames ---------------------------------------------------

TEST(LegacyTableNamesParserTest, SortsAndDeduplicates) {
  EXPECT_THAT(ParseLegacyTableNames("nat\nfilter\n\nnat\n mangle \n"),
              ElementsAre("filter", "mangle", "nat"));
  EXPECT_THAT(ParseLegacyTableNames(""), IsEmpty());
}

TEST(LegacyTableNamesParserTest, CapsTheCount) {
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "t" + std::to_string(i) + "\n";
  EXPECT_EQ(ParseLegacyTableNames(many).size(), 64u);
}

// --- Fixtures ---------------------------------------------------------------

TEST(FirewallFixtureTest, NoRulesetIsAFact) {
  v1::FirewallFacts facts = CollectFixture("no_ruleset");
  EXPECT_TRUE(facts.ruleset_readable());
  EXPECT_THAT(facts.tables(), IsEmpty());
  EXPECT_THAT(facts.base_chains(), IsEmpty());
  EXPECT_EQ(facts.ipv4_input(), v1::INBOUND_POLICY_NO_CHAIN);
  EXPECT_EQ(facts.ipv6_input(), v1::INBOUND_POLICY_NO_CHAIN);
  EXPECT_THAT(facts.open_ports(), IsEmpty());
  EXPECT_FALSE(facts.ipv6_disabled());
  EXPECT_FALSE(facts.ufw().installed());
  EXPECT_FALSE(facts.firewalld().installed());
}

TEST(FirewallFixtureTest, NftablesDefaultDenyWithSsh) {
  v1::FirewallFacts facts = CollectFixture("nftables_default_deny");
  EXPECT_EQ(facts.ipv4_input(), v1::INBOUND_POLICY_DROP);
  EXPECT_EQ(facts.ipv6_input(), v1::INBOUND_POLICY_DROP);
  EXPECT_THAT(
      Hooks(facts),
      ElementsAre("NETFILTER_FAMILY_INET filter input NETFILTER_HOOK_INPUT",
                  "NETFILTER_FAMILY_INET filter forward NETFILTER_HOOK_FORWARD",
                  "NETFILTER_FAMILY_INET filter output NETFILTER_HOOK_OUTPUT"));
  // 9100 is open only to 192.168.10.0/24; ICMP is not a port.
  EXPECT_THAT(Ports(facts), ElementsAre("tcp/22"));
  EXPECT_EQ(facts.open_ports(0).table(), "filter");
  EXPECT_EQ(facts.open_ports(0).chain(), "input");
  EXPECT_EQ(facts.unanalysed_accept_rules(), 0u);
  EXPECT_FALSE(facts.ruleset_truncated());
}

TEST(FirewallFixtureTest, Ipv4OnlyTableLeavesIpv6Open) {
  v1::FirewallFacts facts = CollectFixture("ipv4_only");
  EXPECT_EQ(facts.ipv4_input(), v1::INBOUND_POLICY_DROP);
  EXPECT_EQ(facts.ipv6_input(), v1::INBOUND_POLICY_NO_CHAIN);
  EXPECT_THAT(Ports(facts), ElementsAre("tcp/22", "udp/51820"));
  EXPECT_EQ(facts.open_ports(0).family(), v1::NETFILTER_FAMILY_IP);
}

TEST(FirewallFixtureTest, FinalDropRuleMakesAcceptPolicyDefaultDeny) {
  v1::FirewallFacts facts = CollectFixture("final_drop_rule");
  EXPECT_EQ(facts.ipv4_input(), v1::INBOUND_POLICY_FINAL_RULE);
  EXPECT_EQ(facts.ipv6_input(), v1::INBOUND_POLICY_FINAL_RULE);
  ASSERT_GE(facts.base_chains_size(), 1);
  const v1::BaseChain& input = facts.base_chains(0);
  EXPECT_EQ(input.name(), "input");
  EXPECT_EQ(input.policy(), v1::FIREWALL_VERDICT_ACCEPT);
  EXPECT_EQ(input.catch_all_verdict(), v1::FIREWALL_VERDICT_DROP);
  EXPECT_EQ(input.default_verdict(), v1::FIREWALL_VERDICT_DROP);
  EXPECT_THAT(Ports(facts),
              ElementsAre("tcp/22", "tcp/80", "tcp/443", "udp/60000-61000"));
}

TEST(FirewallFixtureTest, AcceptEverythingRuleset) {
  v1::FirewallFacts facts = CollectFixture("accept_all");
  EXPECT_EQ(facts.ipv4_input(), v1::INBOUND_POLICY_ACCEPT);
  EXPECT_EQ(facts.ipv6_input(), v1::INBOUND_POLICY_ACCEPT);
  EXPECT_EQ(facts.base_chains_size(), 3);
  EXPECT_THAT(facts.open_ports(), IsEmpty());
}

TEST(FirewallFixtureTest, DockerForwardChainsOnly) {
  v1::FirewallFacts facts = CollectFixture("docker_forward_only");
  EXPECT_EQ(facts.ipv4_input(), v1::INBOUND_POLICY_NO_CHAIN);
  EXPECT_EQ(facts.ipv6_input(), v1::INBOUND_POLICY_NO_CHAIN);
  EXPECT_THAT(
      Hooks(facts),
      ElementsAre(
          "NETFILTER_FAMILY_IP nat PREROUTING NETFILTER_HOOK_PREROUTING",
          "NETFILTER_FAMILY_IP filter FORWARD NETFILTER_HOOK_FORWARD",
          "NETFILTER_FAMILY_IP nat OUTPUT NETFILTER_HOOK_OUTPUT",
          "NETFILTER_FAMILY_IP nat POSTROUTING NETFILTER_HOOK_POSTROUTING"));
  EXPECT_THAT(facts.open_ports(), IsEmpty());
}

TEST(FirewallFixtureTest, UfwEnabled) {
  v1::FirewallFacts facts = CollectFixture("ufw_enabled");
  EXPECT_TRUE(facts.ufw().installed());
  EXPECT_TRUE(facts.ufw().config_readable());
  EXPECT_TRUE(facts.ufw().enabled());
  EXPECT_EQ(facts.ufw().default_input_policy(), "DROP");
  EXPECT_EQ(facts.ipv4_input(), v1::INBOUND_POLICY_DROP);
  EXPECT_EQ(facts.ipv6_input(), v1::INBOUND_POLICY_DROP);
  // ufw's own before-rules (DHCP client, mDNS, SSDP) and the user rules:
  // 22 for everyone, 2222 rate-limited, 5432 only from 10.0.0.0/8.
  EXPECT_THAT(Ports(facts),
              ElementsAre("tcp/22", "tcp/22", "tcp/2222", "udp/68", "udp/1900",
                          "udp/5353", "udp/5353"));
  std::vector<std::string> mdns;
  for (const v1::OpenPort& port : facts.open_ports()) {
    if (port.port() == "udp/5353") mdns.push_back(port.destination());
  }
  EXPECT_THAT(mdns, UnorderedElementsAre("224.0.0.251", "ff02::fb"));
  // ctstate RELATED,ESTABLISHED is an opaque xt match in each family.
  EXPECT_EQ(facts.unanalysed_accept_rules(), 2u);
}

TEST(FirewallFixtureTest, UfwInstalledButDisabled) {
  v1::FirewallFacts facts = CollectFixture("ufw_disabled");
  EXPECT_TRUE(facts.ufw().installed());
  EXPECT_TRUE(facts.ufw().config_readable());
  EXPECT_FALSE(facts.ufw().enabled());
  EXPECT_EQ(facts.ipv4_input(), v1::INBOUND_POLICY_ACCEPT);
  EXPECT_EQ(facts.ipv6_input(), v1::INBOUND_POLICY_ACCEPT);
}

TEST(FirewallFixtureTest, FirewalldRunningWithPublicZone) {
  v1::FirewallFacts facts = CollectFixture("firewalld_public");
  EXPECT_TRUE(facts.firewalld().installed());
  EXPECT_TRUE(facts.firewalld().running());
  EXPECT_EQ(facts.firewalld().default_zone(), "public");
  EXPECT_EQ(facts.firewalld().zone_file(),
            "/usr/lib/firewalld/zones/public.xml");
  EXPECT_EQ(facts.firewalld().zone_target(), "default");
  EXPECT_EQ(facts.ipv4_input(), v1::INBOUND_POLICY_FINAL_RULE);
  EXPECT_EQ(facts.ipv6_input(), v1::INBOUND_POLICY_FINAL_RULE);
  EXPECT_THAT(Ports(facts), ElementsAre("tcp/22", "tcp/9090", "udp/546"));
  EXPECT_EQ(facts.open_ports(0).chain(), "filter_IN_public_allow");
  EXPECT_EQ(facts.open_ports(2).destination(), "fe80::/64");
  EXPECT_EQ(facts.unanalysed_accept_rules(), 1u);  // ct status dnat
}

TEST(FirewallFixtureTest, IptablesLegacyTablesArePresentButUnread) {
  v1::FirewallFacts facts = CollectFixture("iptables_legacy");
  EXPECT_THAT(facts.iptables_legacy_tables(), ElementsAre("filter", "nat"));
  EXPECT_THAT(facts.ip6tables_legacy_tables(), ElementsAre("filter"));
  EXPECT_THAT(facts.tables(), IsEmpty());
  EXPECT_EQ(facts.ipv4_input(), v1::INBOUND_POLICY_NO_CHAIN);
}

TEST(FirewallFixtureTest, UnreadableRulesetKeepsFileFacts) {
  v1::FirewallFacts facts = CollectWith(
      "ruleset_unreadable",
      absl::PermissionDeniedError("libnftables list ruleset: netlink: Error: "
                                  "cache initialization failed: Operation "
                                  "not permitted"));
  EXPECT_FALSE(facts.ruleset_readable());
  EXPECT_THAT(facts.ruleset_error(), HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(facts.ruleset_error(), HasSubstr("Operation not permitted"));
  EXPECT_EQ(facts.ipv4_input(), v1::INBOUND_POLICY_UNSPECIFIED);
  EXPECT_EQ(facts.ipv6_input(), v1::INBOUND_POLICY_UNSPECIFIED);
  EXPECT_THAT(facts.tables(), IsEmpty());
  EXPECT_TRUE(facts.ufw().installed());
  EXPECT_TRUE(facts.ufw().enabled());
}

TEST(FirewallFixtureTest, MalformedRulesetIsRecordedNotReturned) {
  v1::FirewallFacts facts = CollectWith("no_ruleset", std::string("garbage"));
  EXPECT_FALSE(facts.ruleset_readable());
  EXPECT_THAT(facts.ruleset_error(), HasSubstr("INVALID_ARGUMENT"));
}

TEST(FirewallFixtureTest, ZoneFileInEtcOverridesTheShippedOne) {
  fs::path root = fs::path(::testing::TempDir()) / "firewall_zone_override";
  fs::remove_all(root);
  fs::create_directories(root / "etc/firewalld/zones");
  fs::create_directories(root / "usr/lib/firewalld/zones");
  std::ofstream(root / "etc/firewalld/firewalld.conf") << "DefaultZone=work\n";
  std::ofstream(root / "etc/firewalld/zones/work.xml")
      << "<zone target=\"DROP\"/>";
  std::ofstream(root / "usr/lib/firewalld/zones/work.xml") << "<zone/>";
  FirewallProbe probe(
      std::make_unique<FixedRulesetSource>(std::string(R"({"nftables":[]})")));
  absl::StatusOr<v1::Facts> facts = probe.Collect(root);
  ASSERT_TRUE(facts.ok());
  EXPECT_EQ(facts->firewall().firewalld().zone_file(),
            "/etc/firewalld/zones/work.xml");
  EXPECT_EQ(facts->firewall().firewalld().zone_target(), "DROP");
  fs::remove_all(root);
}

TEST(FirewallFixtureTest, ZoneNameCannotLeaveTheZoneDirectory) {
  fs::path root = fs::path(::testing::TempDir()) / "firewall_zone_escape";
  fs::remove_all(root);
  fs::create_directories(root / "etc/firewalld");
  std::ofstream(root / "etc/firewalld/firewalld.conf")
      << "DefaultZone=../../../etc/passwd\n";
  FirewallProbe probe(
      std::make_unique<FixedRulesetSource>(std::string(R"({"nftables":[]})")));
  absl::StatusOr<v1::Facts> facts = probe.Collect(root);
  ASSERT_TRUE(facts.ok());
  EXPECT_EQ(facts->firewall().firewalld().zone_file(), "");
  fs::remove_all(root);
}

TEST(FirewallFixtureTest, DisabledIpv6IsAFact) {
  fs::path root = fs::path(::testing::TempDir()) / "firewall_ipv6_off";
  fs::remove_all(root);
  fs::create_directories(root / "proc/sys/net/ipv6/conf/all");
  std::ofstream(root / "proc/sys/net/ipv6/conf/all/disable_ipv6") << "1\n";
  FirewallProbe probe(
      std::make_unique<FixedRulesetSource>(std::string(R"({"nftables":[]})")));
  absl::StatusOr<v1::Facts> facts = probe.Collect(root);
  ASSERT_TRUE(facts.ok());
  EXPECT_TRUE(facts->firewall().ipv6_disabled());
  fs::remove_all(root);
}

TEST(FirewallFixtureTest, TwoCollectionsAreIdentical) {
  for (const char* name : {"ufw_enabled", "firewalld_public"}) {
    std::string a;
    std::string b;
    ASSERT_TRUE(CollectFixture(name).SerializeToString(&a));
    ASSERT_TRUE(CollectFixture(name).SerializeToString(&b));
    EXPECT_EQ(a, b) << name;
  }
}

}  // namespace
}  // namespace evidentia::agent
