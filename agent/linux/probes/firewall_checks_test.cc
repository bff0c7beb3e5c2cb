// The linux.firewall checks of policies/checks/ graded on the fixture trees
// (through the probe, with their ruleset JSON) and on facts built in code.
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "agent/linux/probes/firewall_fixed_ruleset_source.h"
#include "agent/linux/probes/firewall_probe.h"
#include "gmock/gmock.h"
#include "grading/policy.h"
#include "gtest/gtest.h"
#include "tests/support/checks.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using ::evidentia::testing::EvaluateCheck;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

const absl::Time kNow = absl::FromUnixSeconds(1790000000);
constexpr char kDefaultDeny[] = "linux.firewall.inbound_default_deny";
constexpr char kOpenPorts[] = "linux.firewall.open_ports";

fs::path Fixture(const std::string& name) {
  return fs::path(EVIDENTIA_SOURCE_DIR) / "tests/fixtures/firewall" / name;
}

v1::Facts CollectWith(const std::string& name,
                      absl::StatusOr<std::string> ruleset) {
  FirewallProbe probe(std::make_unique<FixedRulesetSource>(std::move(ruleset)));
  absl::StatusOr<v1::Facts> facts = probe.Collect(Fixture(name));
  EXPECT_TRUE(facts.ok()) << facts.status();
  return facts.ok() ? *facts : v1::Facts();
}

v1::Facts CollectFixture(const std::string& name) {
  std::ifstream in(Fixture(name) / "ruleset.json", std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return CollectWith(name, text.str());
}

policy::CheckResult Grade(const std::string& check, const std::string& name) {
  return EvaluateCheck(check, CollectFixture(name), kNow);
}

// --- inbound_default_deny ---------------------------------------------------

TEST(FirewallDefaultDenyCheckTest, PassesWithInetPolicyDrop) {
  policy::CheckResult result = Grade(kDefaultDeny, "nftables_default_deny");
  EXPECT_EQ(result.verdict, policy::Verdict::kPass);
  EXPECT_THAT(result.reasons, IsEmpty());
}

TEST(FirewallDefaultDenyCheckTest, PassesWithFinalDropRule) {
  EXPECT_EQ(Grade(kDefaultDeny, "final_drop_rule").verdict,
            policy::Verdict::kPass);
}

TEST(FirewallDefaultDenyCheckTest, PassesWithUfwAndFirewalld) {
  EXPECT_EQ(Grade(kDefaultDeny, "ufw_enabled").verdict, policy::Verdict::kPass);
  EXPECT_EQ(Grade(kDefaultDeny, "firewalld_public").verdict,
            policy::Verdict::kPass);
}

TEST(FirewallDefaultDenyCheckTest, WarnsWhenOnlyIpv4IsFiltered) {
  policy::CheckResult result = Grade(kDefaultDeny, "ipv4_only");
  EXPECT_EQ(result.verdict, policy::Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("only IPv4 inbound is denied by default")));
}

TEST(FirewallDefaultDenyCheckTest, Ipv4OnlyPassesWhenIpv6IsOff) {
  v1::Facts facts = CollectFixture("ipv4_only");
  facts.mutable_firewall()->set_ipv6_disabled(true);
  EXPECT_EQ(EvaluateCheck(kDefaultDeny, facts, kNow).verdict,
            policy::Verdict::kPass);
}

TEST(FirewallDefaultDenyCheckTest, FailsWithNoRuleset) {
  policy::CheckResult result = Grade(kDefaultDeny, "no_ruleset");
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("no firewall ruleset is loaded")));
}

TEST(FirewallDefaultDenyCheckTest, FailsWhenEverythingIsAccepted) {
  policy::CheckResult result = Grade(kDefaultDeny, "accept_all");
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("accept what no rule matched")));
}

TEST(FirewallDefaultDenyCheckTest, FailsWithForwardChainsOnly) {
  policy::CheckResult result = Grade(kDefaultDeny, "docker_forward_only");
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("no nftables input chain filters IPv4")));
}

TEST(FirewallDefaultDenyCheckTest, FailsWithUfwDisabledAndSaysHowToFix) {
  policy::CheckResult result = Grade(kDefaultDeny, "ufw_disabled");
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("accept what no rule matched"),
                          HasSubstr("run ufw enable")));
}

TEST(FirewallDefaultDenyCheckTest, FailsWithFirewalldStopped) {
  v1::Facts facts = CollectFixture("accept_all");
  facts.mutable_firewall()->mutable_firewalld()->set_installed(true);
  policy::CheckResult result = EvaluateCheck(kDefaultDeny, facts, kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("accept what no rule matched"),
                          HasSubstr("systemctl enable --now firewalld")));
}

TEST(FirewallDefaultDenyCheckTest, FailsWithUnreadableLegacyTables) {
  policy::CheckResult result = Grade(kDefaultDeny, "iptables_legacy");
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(
      result.reasons,
      ElementsAre(AllOf(HasSubstr("iptables-legacy tables (filter, nat)"),
                        HasSubstr("iptables-nft"))));
}

TEST(FirewallDefaultDenyCheckTest, FailsWhenTheRulesetCannotBeRead) {
  policy::CheckResult result = EvaluateCheck(
      kDefaultDeny,
      CollectWith("ruleset_unreadable",
                  absl::PermissionDeniedError("Operation not permitted")),
      kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(AllOf(HasSubstr("could not be read"),
                                HasSubstr("Operation not permitted"),
                                HasSubstr("CAP_NET_ADMIN"))));
}

// Not every unreadable ruleset is a missing privilege: the reason says what
// to do when netfilter itself is missing too.
TEST(FirewallDefaultDenyCheckTest, UnavailableNetfilterGetsAnActionableReason) {
  policy::CheckResult result = EvaluateCheck(
      kDefaultDeny,
      CollectWith("ruleset_unreadable",
                  absl::UnavailableError(
                      "netfilter netlink socket: Protocol not supported")),
      kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(AllOf(HasSubstr("UNAVAILABLE"),
                                HasSubstr("modprobe nf_tables"))));
}

// --- open_ports -------------------------------------------------------------

TEST(FirewallOpenPortsCheckTest, PassesWithOnlyApprovedPorts) {
  policy::CheckResult result = Grade(kOpenPorts, "nftables_default_deny");
  EXPECT_EQ(result.verdict, policy::Verdict::kPass);
  EXPECT_THAT(result.reasons, IsEmpty());
}

TEST(FirewallOpenPortsCheckTest, WarnsPerUnapprovedPort) {
  policy::CheckResult result = Grade(kOpenPorts, "final_drop_rule");
  EXPECT_EQ(result.verdict, policy::Verdict::kWarn);
  EXPECT_THAT(
      result.reasons,
      ElementsAre(
          "tcp/80 accepts connections from any source (filter input): "
          "restrict it to known sources, or approve it in "
          "firewall_open_ports_allowed",
          HasSubstr("udp/60000-61000 accepts connections from any source")));
}

TEST(FirewallOpenPortsCheckTest, WarnsForUfwsOwnAndUserPorts) {
  policy::CheckResult result = Grade(kOpenPorts, "ufw_enabled");
  EXPECT_EQ(result.verdict, policy::Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              UnorderedElementsAre(
                  HasSubstr("tcp/2222 accepts"), HasSubstr("udp/68 accepts"),
                  HasSubstr("udp/1900 accepts"), HasSubstr("udp/5353 accepts"),
                  HasSubstr("udp/5353 accepts")));
}

TEST(FirewallOpenPortsCheckTest, WarnsWhenEveryPortIsOpen) {
  policy::CheckResult result = Grade(kOpenPorts, "accept_all");
  EXPECT_EQ(result.verdict, policy::Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("every port accepts IPv4 connections"),
                          HasSubstr("every port accepts IPv6 connections")));
}

TEST(FirewallOpenPortsCheckTest, WarnsWhenTheRulesetCannotBeRead) {
  policy::CheckResult result = EvaluateCheck(
      kOpenPorts,
      CollectWith("ruleset_unreadable",
                  absl::PermissionDeniedError("Operation not permitted")),
      kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kWarn);
  EXPECT_THAT(
      result.reasons,
      ElementsAre(HasSubstr("which ports are open to anyone is unknown")));
}

TEST(FirewallOpenPortsCheckTest, WarnsWhenTheRulesetWasTruncated) {
  v1::Facts facts = CollectFixture("nftables_default_deny");
  facts.mutable_firewall()->set_ruleset_truncated(true);
  policy::CheckResult result = EvaluateCheck(kOpenPorts, facts, kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kWarn);
  EXPECT_THAT(result.reasons, ElementsAre(HasSubstr("may be incomplete")));
}

}  // namespace
}  // namespace evidentia::agent
