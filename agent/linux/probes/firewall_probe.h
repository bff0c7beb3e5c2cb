// linux.firewall: what filters traffic to this host. The live nftables
// ruleset (through a RulesetSource: libnftables in production) gives the
// base chains, the inbound default per IP version and the ports accepted
// from anywhere; /proc gives the iptables-legacy tables loaded; dpkg, the
// process list and their configuration give ufw's and firewalld's state.
// Facts: FirewallFacts.
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_FIREWALL_PROBE_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_FIREWALL_PROBE_H_

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/linux/probes/firewall_ruleset_source.h"
#include "agent/probe.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/facts/firewall.pb.h"

namespace evidentia::agent {

// Limits of the ruleset analysis; beyond them ruleset_truncated is set.
inline constexpr size_t kMaxRulesetJsonBytes = 64 << 20;
inline constexpr size_t kMaxRulesetRules = 65536;
inline constexpr size_t kMaxRulesetChains = 16384;
inline constexpr size_t kMaxSetElementsListed = 4096;
// A rendered value (an open port's destination or interface, a port) is
// cut to this length, ending in "...": it is copied along every jump the
// analysis follows, and lands in the facts.
inline constexpr size_t kMaxRulesetValueBytes = 512;

// The ruleset facts of libnftables' JSON ("list ruleset"): tables,
// base_chains, ipv4_input, ipv6_input, open_ports, unanalysed_accept_rules,
// ruleset_truncated, with ruleset_readable set; other fields are left
// empty. INVALID_ARGUMENT when the text is not JSON, nests deeper than 128
// levels, is over kMaxRulesetJsonBytes or has no "nftables" array. Objects
// of unknown kinds and malformed members are skipped.
absl::StatusOr<v1::FirewallFacts> ParseNftRuleset(std::string_view json);

// KEY=VALUE lines of a shell-style configuration file (/etc/ufw/ufw.conf,
// /etc/default/ufw, /etc/firewalld/firewalld.conf): keys and values
// trimmed, one level of matching single or double quotes removed from the
// value, comments ('#' first on the line) and lines without '=' or with an
// empty key skipped; the last assignment of a key wins.
std::map<std::string, std::string> ParseKeyValueConfig(std::string_view text);

// The target attribute of the <zone> element of a firewalld zone file
// ("ACCEPT", "DROP", "%%REJECT%%", "default"): "default" when the element
// has none; nullopt when the text has no <zone> start tag. Comments and
// the XML declaration before it are skipped; not a general XML parser.
std::optional<std::string> ParseZoneTarget(std::string_view xml);

// Table names of /proc/net/ip_tables_names or ip6_tables_names: one per
// line, trimmed, non-empty, sorted, without duplicates; at most 64.
std::vector<std::string> ParseLegacyTableNames(std::string_view text);

class FirewallProbe : public Probe {
 public:
  // Reads the live ruleset through libnftables (NftRulesetSource).
  FirewallProbe();
  // Reads the ruleset from `source` (tests: a fake); not null.
  explicit FirewallProbe(std::unique_ptr<RulesetSource> source);

  std::string_view id() const override { return "linux.firewall"; }

  // The ruleset from the source (a failure is recorded in ruleset_error,
  // not returned), and below `root`: proc/net/ip_tables_names,
  // proc/net/ip6_tables_names, proc/sys/net/ipv6, var/lib/dpkg/status,
  // proc/*/comm and cmdline, etc/ufw/ufw.conf, etc/default/ufw,
  // etc/firewalld/firewalld.conf and the default zone's file in
  // etc/firewalld/zones/ or usr/lib/firewalld/zones/. Returns the error of
  // the dpkg database when it exists but cannot be read; a missing file is
  // a fact, not an error.
  absl::StatusOr<v1::Facts> Collect(
      const std::filesystem::path& root) const override;

 private:
  std::unique_ptr<RulesetSource> source_;
};

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_FIREWALL_PROBE_H_
