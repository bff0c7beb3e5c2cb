#include "agent/linux/probes/firewall_probe.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <set>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "agent/linux/sys/dpkg.h"
#include "agent/linux/sys/processes.h"
#include "agent/linux/sys/rooted_fs.h"
#include "agent/linux/sys/text.h"
#include "agent/linux/sys/utf8.h"
#include "nlohmann/json.hpp"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr size_t kMaxJsonDepth = 128;
constexpr size_t kMaxJumpDepth = 16;
constexpr size_t kMaxWalkSteps = 1 << 20;
constexpr size_t kMaxLegacyTables = 64;
constexpr size_t kMaxOpenPorts = 4096;
constexpr size_t kMaxZoneNameBytes = 64;

// --- JSON access that never throws ----------------------------------------

const json* Member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string String(const json* value) {
  return value != nullptr && value->is_string() ? value->get<std::string>()
                                                : std::string();
}

std::optional<int64_t> Integer(const json* value) {
  if (value == nullptr) return std::nullopt;
  if (value->is_number_integer()) return value->get<int64_t>();
  if (value->is_number_unsigned()) {
    uint64_t v = value->get<uint64_t>();
    if (v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(v);
  }
  return std::nullopt;
}

// The only key of a one-key object ({"accept": null} -> "accept").
std::string SoleKey(const json& object) {
  if (!object.is_object() || object.size() != 1) return "";
  return object.begin().key();
}

// Whether `value` holds an object with member `key` at any depth.
bool MentionsKey(const json& value, const char* key, int depth) {
  if (depth > 16) return false;
  if (value.is_object()) {
    if (value.find(key) != value.end()) return true;
    for (const auto& member : value.items()) {
      if (MentionsKey(member.value(), key, depth + 1)) return true;
    }
  } else if (value.is_array()) {
    for (const json& element : value) {
      if (MentionsKey(element, key, depth + 1)) return true;
    }
  }
  return false;
}

// Whether `text` nests arrays and objects deeper than `limit`.
bool NestsDeeperThan(std::string_view text, size_t limit) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

// --- Vocabulary -------------------------------------------------------------

v1::NetfilterFamily FamilyOf(std::string_view name) {
  if (name == "inet") return v1::NETFILTER_FAMILY_INET;
  if (name == "ip") return v1::NETFILTER_FAMILY_IP;
  if (name == "ip6") return v1::NETFILTER_FAMILY_IP6;
  if (name == "bridge") return v1::NETFILTER_FAMILY_BRIDGE;
  if (name == "netdev") return v1::NETFILTER_FAMILY_NETDEV;
  if (name == "arp") return v1::NETFILTER_FAMILY_ARP;
  return v1::NETFILTER_FAMILY_UNSPECIFIED;
}

v1::NetfilterHook HookOf(std::string_view name) {
  if (name == "prerouting") return v1::NETFILTER_HOOK_PREROUTING;
  if (name == "input") return v1::NETFILTER_HOOK_INPUT;
  if (name == "forward") return v1::NETFILTER_HOOK_FORWARD;
  if (name == "output") return v1::NETFILTER_HOOK_OUTPUT;
  if (name == "postrouting") return v1::NETFILTER_HOOK_POSTROUTING;
  if (name == "ingress") return v1::NETFILTER_HOOK_INGRESS;
  if (name == "egress") return v1::NETFILTER_HOOK_EGRESS;
  return v1::NETFILTER_HOOK_UNSPECIFIED;
}

v1::FirewallVerdict PolicyOf(std::string_view name) {
  if (name == "accept") return v1::FIREWALL_VERDICT_ACCEPT;
  if (name == "drop") return v1::FIREWALL_VERDICT_DROP;
  return v1::FIREWALL_VERDICT_UNSPECIFIED;
}

bool IsTransport(std::string_view protocol) {
  return protocol == "tcp" || protocol == "udp" || protocol == "sctp" ||
         protocol == "dccp" || protocol == "udplite";
}

bool IsIcmp(std::string_view protocol) {
  return protocol == "icmp" || protocol == "ipv6-icmp" ||
         protocol == "icmpv6" || protocol == "igmp";
}

// A protocol as nft names it, from a name or an IP protocol number.
std::string ProtocolName(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  std::optional<int64_t> number = Integer(&value);
  if (!number) return "?";
  switch (*number) {
    case 1:
      return "icmp";
    case 2:
      return "igmp";
    case 6:
      return "tcp";
    case 17:
      return "udp";
    case 33:
      return "dccp";
    case 58:
      return "ipv6-icmp";
    case 132:
      return "sctp";
    case 136:
      return "udplite";
    default:
      return std::to_string(*number);
  }
}

// --- The ruleset as a graph of chains ---------------------------------------

enum class Action { kNone, kAccept, kDrop, kReject, kJump, kGoto, kReturn };

// The conditions of one rule, or those accumulated along jumps.
struct Conditions {
  bool conditional = false;        // some expression restricts which packets
  bool source_restricted = false;  // a source address (or MAC) match
  bool loopback = false;           // input interface "lo"
  bool established_only = false;   // ct state within established/related
  bool unmodelled = false;         // a condition the probe cannot see into
  bool has_port_match = false;     // a destination-port match
  std::string port_protocol;       // "tcp" of "tcp dport"; "" for th
  // "22", "8000-8080", "*", "@set", "?"; shared, as jumps pass it down.
  std::shared_ptr<const std::vector<std::string>> ports;
  // From l4proto / ip protocol; shared, as jumps pass it down (a set of
  // thousands must not be copied at every rule the walk visits).
  std::shared_ptr<const std::vector<std::string>> protocols;
  std::string interface;
  std::string destination;
};

struct Rule {
  Conditions conditions;
  Action action = Action::kNone;
  std::string target;  // chain of a jump/goto
  bool has_vmap_accept = false;
};

struct Chain {
  v1::NetfilterFamily family = v1::NETFILTER_FAMILY_UNSPECIFIED;
  std::string family_name;
  std::string table;
  std::string name;
  bool base = false;
  std::string type;
  v1::NetfilterHook hook = v1::NETFILTER_HOOK_UNSPECIFIED;
  int32_t priority = 0;
  v1::FirewallVerdict policy = v1::FIREWALL_VERDICT_UNSPECIFIED;
  std::vector<Rule> rules;
};

// The key of a chain or set: its family, table and name.
std::string ObjectKey(std::string_view family, std::string_view table,
                      std::string_view name) {
  return Cat(family, std::string_view("\0", 1), table,
             std::string_view("\0", 1), name);
}

// `text` cut to kMaxRulesetValueBytes, marked with "..." when cut.
std::string Bounded(std::string text) {
  if (text.size() > kMaxRulesetValueBytes) {
    text.resize(kMaxRulesetValueBytes - 3);
    text += "...";
  }
  return text;
}

std::string RenderUnbounded(const json& value, int depth);

// A set or address value as nft writes it, at most kMaxRulesetValueBytes; the
// elements of a set in sorted order (the kernel lists a hash set's in hash
// order, which a reload changes).
std::string RenderValue(const json& value, int depth = 0) {
  return Bounded(RenderUnbounded(value, depth));
}

std::string RenderUnbounded(const json& value, int depth) {
  if (depth > 8) return "?";
  if (value.is_string()) return Bounded(value.get<std::string>());
  if (std::optional<int64_t> n = Integer(&value)) return std::to_string(*n);
  if (const json* prefix = Member(value, "prefix")) {
    std::optional<int64_t> len = Integer(Member(*prefix, "len"));
    const json* addr = Member(*prefix, "addr");
    if (addr != nullptr && len) {
      return Cat(RenderValue(*addr, depth + 1), "/", *len);
    }
    return "?";
  }
  if (const json* range = Member(value, "range")) {
    if (range->is_array() && range->size() == 2) {
      return Cat(RenderValue((*range)[0], depth + 1), "-",
                 RenderValue((*range)[1], depth + 1));
    }
    return "?";
  }
  if (const json* elem = Member(value, "elem")) {
    if (const json* val = Member(*elem, "val")) {
      return RenderValue(*val, depth + 1);
    }
    return "?";
  }
  if (const json* set = Member(value, "set")) {
    if (!set->is_array()) return RenderValue(*set, depth + 1);
    std::vector<std::string> elements;
    elements.reserve(set->size());
    for (const json& element : *set) {
      elements.push_back(RenderValue(element, depth + 1));
    }
    std::sort(elements.begin(), elements.end());
    std::string out = "{";
    for (size_t i = 0; i < elements.size(); ++i) {
      if (i > 0) out += ", ";
      out += elements[i];
      if (out.size() > kMaxRulesetValueBytes) break;
    }
    return out + "}";
  }
  return "?";
}

// The ruleset as chains of analysed rules, with its named sets and tables;
// filled by LoadModel, then read by the analyses (CatchAll, InboundWalk).
class RulesetModel {
 public:
  // Named sets: key -> their "elem" array (may be null: empty set).
  std::map<std::string, const json*> sets;
  std::map<std::string, size_t> chain_index;
  std::vector<Chain> chains;
  std::vector<v1::NftTable> tables;
  bool truncated = false;

  // The elements of a dport match's right side, as port strings.
  std::vector<std::string> Ports(const json& right, const Chain& chain) const {
    std::vector<std::string> ports;
    if (right.is_string()) {
      std::string name = right.get<std::string>();
      if (StartsWith(name, "@")) {
        auto it = sets.find(ObjectKey(chain.family_name, chain.table,
                                      std::string_view(name).substr(1)));
        if (it == sets.end()) return {name};
        if (it->second == nullptr) return {};  // empty set: matches nothing
        const json& elements = *it->second;
        if (!elements.is_array()) return {RenderValue(elements)};
        if (elements.size() > kMaxSetElementsListed) return {name};
        for (const json& element : elements) {
          ports.push_back(RenderValue(element));
        }
        return ports;
      }
      return {name};
    }
    if (const json* set = Member(right, "set")) {
      if (!set->is_array()) return {RenderValue(*set)};
      if (set->size() > kMaxSetElementsListed) return {"?"};
      for (const json& element : *set) ports.push_back(RenderValue(element));
      return ports;
    }
    return {RenderValue(right)};
  }

  void ApplyMatch(const json& match, const Chain& chain, Conditions* c) const {
    c->conditional = true;
    const std::string op = String(Member(match, "op"));
    const json* left = Member(match, "left");
    const json* right = Member(match, "right");
    if (left == nullptr || right == nullptr) {
      c->unmodelled = true;
      return;
    }
    const bool negated = op == "!=";
    const bool positive = op == "==" || op == "in" || op.empty();
    if (const json* payload = Member(*left, "payload")) {
      const std::string protocol = String(Member(*payload, "protocol"));
      const std::string field = String(Member(*payload, "field"));
      if (protocol.empty() || field.empty()) {
        c->unmodelled = true;  // raw payload offsets
      } else if (field.find("saddr") != std::string::npos) {
        if (!negated) c->source_restricted = true;
      } else if (field == "daddr") {
        if (positive) c->destination = RenderValue(*right);
      } else if (field == "dport") {
        c->has_port_match = true;
        if (protocol != "th") c->port_protocol = protocol;
        c->ports = std::make_shared<const std::vector<std::string>>(
            positive ? Ports(*right, chain) : std::vector<std::string>{"*"});
      } else if ((protocol == "ip" && field == "protocol") ||
                 (protocol == "ip6" && field == "nexthdr")) {
        SetProtocols(*right, positive, c);
      } else if (IsTransport(protocol) || IsIcmp(protocol)) {
        // tcp flags, sport, icmp type...: implies the protocol.
        if (c->protocols == nullptr) {
          c->protocols = std::make_shared<const std::vector<std::string>>(
              std::vector<std::string>{protocol});
        }
      } else if (field == "sport") {
        // A source port restricts nothing that matters here.
      } else {
        c->unmodelled = true;
      }
      return;
    }
    if (const json* meta = Member(*left, "meta")) {
      const std::string key = String(Member(*meta, "key"));
      if (key == "l4proto") {
        SetProtocols(*right, positive, c);
      } else if (key == "iif" || key == "iifname") {
        if (!positive) return;
        std::string name = RenderValue(*right);
        if (name == "lo") {
          c->loopback = true;
        } else {
          c->interface = name;
        }
      } else if (key == "nfproto") {
        // Which IP version: not a restriction of the source.
      } else {
        c->unmodelled = true;
      }
      return;
    }
    if (const json* ct = Member(*left, "ct")) {
      const std::string key = String(Member(*ct, "key"));
      if (key == "state" && positive && Member(*ct, "dir") == nullptr) {
        std::vector<std::string> states;
        if (right->is_array()) {
          for (const json& s : *right) states.push_back(RenderValue(s));
        } else {
          const json* set = Member(*right, "set");
          if (set != nullptr && set->is_array()) {
            for (const json& s : *set) states.push_back(RenderValue(s));
          } else {
            states.push_back(RenderValue(*right));
          }
        }
        const bool only_return_traffic =
            !states.empty() &&
            std::all_of(states.begin(), states.end(), [](const auto& s) {
              return s == "established" || s == "related";
            });
        if (only_return_traffic) c->established_only = true;
        return;
      }
      if (key == "state") return;  // "!= invalid" and the like
    }
    c->unmodelled = true;
  }

  static void SetProtocols(const json& right, bool positive, Conditions* c) {
    if (!positive) return;  // "not icmp": still any other protocol
    std::vector<std::string> protocols;
    const json* set = Member(right, "set");
    if (set != nullptr && set->is_array()) {
      for (const json& p : *set) protocols.push_back(ProtocolName(p));
    } else if (right.is_array()) {
      for (const json& p : right) protocols.push_back(ProtocolName(p));
    } else {
      protocols.push_back(ProtocolName(right));
    }
    c->protocols =
        std::make_shared<const std::vector<std::string>>(std::move(protocols));
  }

  Rule AnalyseRule(const json& expressions, const Chain& chain) const {
    Rule rule;
    if (!expressions.is_array()) {
      rule.conditions.conditional = rule.conditions.unmodelled = true;
      return rule;
    }
    for (const json& expression : expressions) {
      const std::string kind = SoleKey(expression);
      const json& body = kind.empty() ? expression : expression[kind];
      if (kind == "match") {
        ApplyMatch(body, chain, &rule.conditions);
      } else if (kind == "accept") {
        rule.action = Action::kAccept;
      } else if (kind == "drop") {
        rule.action = Action::kDrop;
      } else if (kind == "reject") {
        rule.action = Action::kReject;
      } else if (kind == "return") {
        rule.action = Action::kReturn;
      } else if (kind == "jump" || kind == "goto") {
        rule.action = kind == "jump" ? Action::kJump : Action::kGoto;
        rule.target = String(Member(body, "target"));
      } else if (kind == "counter" || kind == "log" || kind == "notrack" ||
                 kind == "mangle" || kind == "set" || kind == "continue") {
        // Statements that do not decide which packets match.
      } else if (kind == "xt") {
        // iptables-nft extensions: libnftables shows only their names.
        const std::string type = String(Member(body, "type"));
        const std::string name = String(Member(body, "name"));
        if (type == "target") {
          if (name == "REJECT") rule.action = Action::kReject;
        } else {
          rule.conditions.conditional = rule.conditions.unmodelled = true;
        }
      } else if (kind == "vmap") {
        rule.conditions.conditional = rule.conditions.unmodelled = true;
        rule.has_vmap_accept = MentionsKey(body, "accept", 0);
      } else {
        // limit, quota, ct count, fib, socket, queue ...: conditions or
        // verdicts the probe does not model.
        rule.conditions.conditional = rule.conditions.unmodelled = true;
      }
    }
    return rule;
  }

  const Chain* Find(const Chain& from, const std::string& target) const {
    auto it = chain_index.find(ObjectKey(from.family_name, from.table, target));
    return it == chain_index.end() ? nullptr : &chains[it->second];
  }

  // The verdict of the first rule matching every packet, following
  // unconditional jumps; kReturn when the chain returns unconditionally,
  // kNone when it may fall through.
  Action CatchAll(const Chain& chain, size_t depth) const {
    if (depth > kMaxJumpDepth) return Action::kNone;
    auto known = catch_all_.find(&chain);
    if (known != catch_all_.end()) return known->second;
    catch_all_[&chain] = Action::kNone;  // a jump back here: no verdict
    Action result = FirstCatchAll(chain, depth);
    catch_all_[&chain] = result;
    return result;
  }

 private:
  mutable std::map<const Chain*, Action> catch_all_;

  Action FirstCatchAll(const Chain& chain, size_t depth) const {
    for (const Rule& rule : chain.rules) {
      if (rule.conditions.conditional) {
        // Some packets leave the chain here without a verdict, so a later
        // catch-all does not see every packet.
        if (rule.action == Action::kReturn || rule.action == Action::kGoto) {
          return Action::kNone;
        }
        continue;
      }
      switch (rule.action) {
        case Action::kAccept:
        case Action::kDrop:
        case Action::kReject:
        case Action::kReturn:
          return rule.action;
        case Action::kJump:
        case Action::kGoto: {
          const Chain* target = Find(chain, rule.target);
          if (target == nullptr) break;
          Action inner = CatchAll(*target, depth + 1);
          if (inner == Action::kAccept || inner == Action::kDrop ||
              inner == Action::kReject) {
            return inner;
          }
          if (rule.action == Action::kGoto) return Action::kReturn;
          break;
        }
        case Action::kNone:
          break;
      }
    }
    return Action::kNone;
  }
};

v1::FirewallVerdict VerdictOf(Action action) {
  switch (action) {
    case Action::kAccept:
      return v1::FIREWALL_VERDICT_ACCEPT;
    case Action::kDrop:
      return v1::FIREWALL_VERDICT_DROP;
    case Action::kReject:
      return v1::FIREWALL_VERDICT_REJECT;
    default:
      return v1::FIREWALL_VERDICT_UNSPECIFIED;
  }
}

// Conditions on the way in (a jumping rule's) and of the rule itself.
Conditions Combine(const Conditions& outer, const Conditions& inner) {
  Conditions c = inner;
  c.conditional = outer.conditional || inner.conditional;
  c.source_restricted = outer.source_restricted || inner.source_restricted;
  c.loopback = outer.loopback || inner.loopback;
  c.established_only = outer.established_only || inner.established_only;
  c.unmodelled = outer.unmodelled || inner.unmodelled;
  if (!inner.has_port_match && outer.has_port_match) {
    c.has_port_match = true;
    c.ports = outer.ports;
  }
  if (c.port_protocol.empty()) c.port_protocol = outer.port_protocol;
  if (c.protocols == nullptr) c.protocols = outer.protocols;
  if (c.interface.empty()) c.interface = outer.interface;
  if (c.destination.empty()) c.destination = outer.destination;
  return c;
}

// Follows the rules of input chains and the chains they jump to, and
// collects what is accepted from anywhere.
class InboundWalk {
 public:
  explicit InboundWalk(const RulesetModel& model) : model_(model) {}

  void Walk(const Chain& chain, const Conditions& inherited, size_t depth) {
    if (depth > kMaxJumpDepth) {
      truncated_ = true;
      return;
    }
    for (const Rule& rule : chain.rules) {
      if (++steps_ > kMaxWalkSteps) {
        truncated_ = true;
        return;
      }
      Conditions c = Combine(inherited, rule.conditions);
      const bool restricted =
          c.source_restricted || c.loopback || c.established_only;
      if (!restricted) {
        if (rule.action == Action::kAccept) {
          Accept(chain, c);
        } else if (rule.action == Action::kJump ||
                   rule.action == Action::kGoto) {
          if (const Chain* target = model_.Find(chain, rule.target)) {
            Walk(*target, c, depth + 1);
          }
        } else if (rule.has_vmap_accept) {
          ++unanalysed_;
        }
      }
      // Rules after one matching every packet are never reached.
      if (!rule.conditions.conditional && rule.action != Action::kNone &&
          rule.action != Action::kJump) {
        return;
      }
    }
  }

  std::vector<v1::OpenPort>& open_ports() { return open_ports_; }
  uint32_t unanalysed() const { return unanalysed_; }
  bool truncated() const { return truncated_; }

 private:
  void Add(const Chain& chain, const Conditions& c, std::string port) {
    if (open_ports_.size() >= kMaxOpenPorts) {
      truncated_ = true;
      return;
    }
    v1::OpenPort open;
    open.set_port(std::move(port));
    open.set_family(chain.family);
    open.set_table(chain.table);
    open.set_chain(chain.name);
    open.set_interface(c.interface);
    open.set_destination(c.destination);
    open_ports_.push_back(std::move(open));
  }

  void Accept(const Chain& chain, const Conditions& c) {
    if (open_ports_.size() >= kMaxOpenPorts) {
      truncated_ = true;
      return;
    }
    if (c.has_port_match) {
      std::vector<std::string> protocols;
      if (!c.port_protocol.empty()) {
        protocols = {c.port_protocol};
      } else if (c.protocols != nullptr && !c.protocols->empty()) {
        protocols = *c.protocols;
      } else {
        protocols = {"any"};
      }
      for (const std::string& protocol : protocols) {
        for (const std::string& port : *c.ports) {
          Add(chain, c, Cat(protocol, "/", port));
        }
      }
      return;
    }
    if (c.protocols != nullptr && !c.protocols->empty()) {
      for (const std::string& protocol : *c.protocols) {
        if (IsIcmp(protocol)) continue;
        Add(chain, c, IsTransport(protocol) ? Cat(protocol, "/*") : protocol);
      }
      return;
    }
    if (c.unmodelled) {
      ++unanalysed_;
      return;
    }
    Add(chain, c, "any");
  }

  const RulesetModel& model_;
  std::vector<v1::OpenPort> open_ports_;
  uint32_t unanalysed_ = 0;
  size_t steps_ = 0;
  bool truncated_ = false;
};

// Builds the model from the "nftables" array.
void LoadModel(const json& items, RulesetModel* model) {
  size_t rules = 0;
  std::set<std::pair<int, std::string>> tables;
  // Chains first (rules refer to them), with sets; then rules.
  for (const json& item : items) {
    if (const json* table = Member(item, "table")) {
      const std::string family = String(Member(*table, "family"));
      const std::string name = String(Member(*table, "name"));
      if (!name.empty()) tables.emplace(FamilyOf(family), name);
    } else if (const json* set = Member(item, "set")) {
      model->sets[ObjectKey(
          String(Member(*set, "family")), String(Member(*set, "table")),
          String(Member(*set, "name")))] = Member(*set, "elem");
    } else if (const json* c = Member(item, "chain")) {
      if (model->chains.size() >= kMaxRulesetChains) {
        model->truncated = true;
        continue;
      }
      Chain chain;
      chain.family_name = String(Member(*c, "family"));
      chain.family = FamilyOf(chain.family_name);
      chain.table = String(Member(*c, "table"));
      chain.name = String(Member(*c, "name"));
      const json* hook = Member(*c, "hook");
      chain.base = hook != nullptr;
      chain.hook = HookOf(String(hook));
      chain.type = String(Member(*c, "type"));
      std::optional<int64_t> prio = Integer(Member(*c, "prio"));
      if (prio && *prio >= INT32_MIN && *prio <= INT32_MAX) {
        chain.priority = static_cast<int32_t>(*prio);
      }
      chain.policy = PolicyOf(String(Member(*c, "policy")));
      if (chain.base && chain.policy == v1::FIREWALL_VERDICT_UNSPECIFIED &&
          Member(*c, "policy") == nullptr) {
        chain.policy = v1::FIREWALL_VERDICT_ACCEPT;  // the kernel's default
      }
      const std::string key =
          ObjectKey(chain.family_name, chain.table, chain.name);
      if (model->chain_index.count(key) > 0) continue;
      model->chain_index[key] = model->chains.size();
      model->chains.push_back(std::move(chain));
    }
  }
  for (const json& item : items) {
    const json* r = Member(item, "rule");
    if (r == nullptr) continue;
    if (++rules > kMaxRulesetRules) {
      model->truncated = true;
      break;
    }
    auto it = model->chain_index.find(ObjectKey(String(Member(*r, "family")),
                                                String(Member(*r, "table")),
                                                String(Member(*r, "chain"))));
    if (it == model->chain_index.end()) continue;
    Chain& chain = model->chains[it->second];
    const json* expressions = Member(*r, "expr");
    chain.rules.push_back(model->AnalyseRule(
        expressions != nullptr ? *expressions : json(), chain));
  }
  for (const auto& [family, name] : tables) {
    v1::NftTable table;
    table.set_family(static_cast<v1::NetfilterFamily>(family));
    table.set_name(name);
    model->tables.push_back(std::move(table));
  }
}

v1::InboundPolicy Inbound(const std::vector<const v1::BaseChain*>& chains) {
  if (chains.empty()) return v1::INBOUND_POLICY_NO_CHAIN;
  bool final_rule = false;
  for (const v1::BaseChain* chain : chains) {
    if (chain->default_verdict() == v1::FIREWALL_VERDICT_ACCEPT) continue;
    if (chain->catch_all_verdict() == v1::FIREWALL_VERDICT_UNSPECIFIED &&
        chain->policy() == v1::FIREWALL_VERDICT_DROP) {
      return v1::INBOUND_POLICY_DROP;
    }
    if (chain->catch_all_verdict() == v1::FIREWALL_VERDICT_DROP ||
        chain->catch_all_verdict() == v1::FIREWALL_VERDICT_REJECT) {
      final_rule = true;
    }
  }
  return final_rule ? v1::INBOUND_POLICY_FINAL_RULE : v1::INBOUND_POLICY_ACCEPT;
}

// The sort key of an open port: protocol, first port number, the rest.
auto OpenPortKey(const v1::OpenPort& p) {
  std::string_view port = p.port();
  size_t slash = port.find('/');
  std::string_view protocol = port.substr(0, slash);
  int64_t number = -1;
  if (slash != std::string_view::npos) {
    std::string_view rest = port.substr(slash + 1);
    rest = rest.substr(0, rest.find('-'));
    number = ParseDecimal<int64_t>(rest).value_or(-1);
  }
  return std::make_tuple(std::string(protocol), number, p.port(),
                         static_cast<int>(p.family()), p.table(), p.chain(),
                         p.interface(), p.destination());
}

bool IsZoneName(std::string_view name) {
  if (name.empty() || name.size() > kMaxZoneNameBytes) return false;
  if (name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return IsAsciiAlnum(c) || c == '-' || c == '_' || c == '.';
  });
}

// A configuration value: inside one pair of matching quotes, else its
// first word (what a shell would assign).
std::string Unquote(std::string_view value) {
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
      value.back() == value.front()) {
    return std::string(value.substr(1, value.size() - 2));
  }
  return std::string(value.substr(0, value.find_first_of(" \t")));
}

}  // namespace

absl::StatusOr<v1::FirewallFacts> ParseNftRuleset(std::string_view text) {
  if (text.size() > kMaxRulesetJsonBytes) {
    return absl::InvalidArgumentError(
        Cat("nftables JSON is ", text.size(), " bytes, over the limit"));
  }
  if (NestsDeeperThan(text, kMaxJsonDepth)) {
    return absl::InvalidArgumentError("nftables JSON nests too deeply");
  }
  const json document = json::parse(text.begin(), text.end(), nullptr,
                                    /*allow_exceptions=*/false);
  if (document.is_discarded()) {
    return absl::InvalidArgumentError("nftables output is not JSON");
  }
  const json* items = Member(document, "nftables");
  if (items == nullptr || !items->is_array()) {
    return absl::InvalidArgumentError(
        "nftables JSON has no \"nftables\" array");
  }

  RulesetModel model;
  LoadModel(*items, &model);

  v1::FirewallFacts facts;
  facts.set_ruleset_readable(true);
  for (v1::NftTable& table : model.tables) {
    *facts.add_tables() = std::move(table);
  }

  std::vector<v1::BaseChain> base_chains;
  InboundWalk walk(model);
  for (const Chain& chain : model.chains) {
    if (!chain.base) continue;
    v1::BaseChain out;
    out.set_family(chain.family);
    out.set_table(chain.table);
    out.set_name(chain.name);
    out.set_type(chain.type);
    out.set_hook(chain.hook);
    out.set_priority(chain.priority);
    out.set_policy(chain.policy);
    out.set_rule_count(static_cast<uint32_t>(chain.rules.size()));
    const v1::FirewallVerdict catch_all =
        VerdictOf(model.CatchAll(chain, /*depth=*/0));
    out.set_catch_all_verdict(catch_all);
    out.set_default_verdict(catch_all != v1::FIREWALL_VERDICT_UNSPECIFIED
                                ? catch_all
                                : chain.policy);
    base_chains.push_back(std::move(out));
    if (chain.hook == v1::NETFILTER_HOOK_INPUT && chain.type == "filter" &&
        (chain.family == v1::NETFILTER_FAMILY_INET ||
         chain.family == v1::NETFILTER_FAMILY_IP ||
         chain.family == v1::NETFILTER_FAMILY_IP6)) {
      walk.Walk(chain, Conditions{}, /*depth=*/0);
    }
  }
  std::sort(base_chains.begin(), base_chains.end(),
            [](const v1::BaseChain& a, const v1::BaseChain& b) {
              return std::make_tuple(static_cast<int>(a.family()),
                                     static_cast<int>(a.hook()), a.priority(),
                                     a.table(), a.name()) <
                     std::make_tuple(static_cast<int>(b.family()),
                                     static_cast<int>(b.hook()), b.priority(),
                                     b.table(), b.name());
            });

  std::vector<const v1::BaseChain*> ipv4;
  std::vector<const v1::BaseChain*> ipv6;
  for (v1::BaseChain& chain : base_chains) {
    v1::BaseChain* added = facts.add_base_chains();
    *added = std::move(chain);
    if (added->hook() != v1::NETFILTER_HOOK_INPUT || added->type() != "filter")
      continue;
    if (added->family() == v1::NETFILTER_FAMILY_INET ||
        added->family() == v1::NETFILTER_FAMILY_IP) {
      ipv4.push_back(added);
    }
    if (added->family() == v1::NETFILTER_FAMILY_INET ||
        added->family() == v1::NETFILTER_FAMILY_IP6) {
      ipv6.push_back(added);
    }
  }
  facts.set_ipv4_input(Inbound(ipv4));
  facts.set_ipv6_input(Inbound(ipv6));

  std::vector<v1::OpenPort>& open = walk.open_ports();
  std::sort(open.begin(), open.end(),
            [](const v1::OpenPort& a, const v1::OpenPort& b) {
              return OpenPortKey(a) < OpenPortKey(b);
            });
  open.erase(std::unique(open.begin(), open.end(),
                         [](const v1::OpenPort& a, const v1::OpenPort& b) {
                           return OpenPortKey(a) == OpenPortKey(b);
                         }),
             open.end());
  for (v1::OpenPort& port : open) *facts.add_open_ports() = std::move(port);
  facts.set_unanalysed_accept_rules(walk.unanalysed());
  facts.set_ruleset_truncated(model.truncated || walk.truncated());
  return facts;
}

std::map<std::string, std::string> ParseKeyValueConfig(std::string_view text) {
  std::map<std::string, std::string> values;
  for (std::string_view line : SplitLines(text)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    size_t equals = line.find('=');
    if (equals == std::string_view::npos) continue;
    std::string_view key = Trim(line.substr(0, equals));
    if (StartsWith(key, "export ")) key = Trim(key.substr(7));
    if (key.empty()) continue;
    values[std::string(key)] = Unquote(Trim(line.substr(equals + 1)));
  }
  return values;
}

std::optional<std::string> ParseZoneTarget(std::string_view xml) {
  size_t pos = 0;
  while (pos < xml.size()) {
    size_t open = xml.find('<', pos);
    if (open == std::string_view::npos) return std::nullopt;
    std::string_view rest = xml.substr(open);
    if (StartsWith(rest, "<!--")) {
      size_t end = xml.find("-->", open + 4);
      if (end == std::string_view::npos) return std::nullopt;
      pos = end + 3;
      continue;
    }
    if (StartsWith(rest, "<zone") &&
        (rest.size() == 5 || IsAsciiSpace(rest[5]) || rest[5] == '>' ||
         rest[5] == '/')) {
      const size_t end = rest.find('>');
      std::string_view tag = rest.substr(
          5, end == std::string_view::npos ? std::string_view::npos : end - 5);
      // Attributes: name = "value" | 'value'.
      size_t i = 0;
      while (i < tag.size()) {
        while (i < tag.size() && (IsAsciiSpace(tag[i]) || tag[i] == '/')) ++i;
        size_t name_start = i;
        while (i < tag.size() && !IsAsciiSpace(tag[i]) && tag[i] != '=' &&
               tag[i] != '/') {
          ++i;
        }
        std::string_view name = tag.substr(name_start, i - name_start);
        while (i < tag.size() && IsAsciiSpace(tag[i])) ++i;
        if (i >= tag.size() || tag[i] != '=') {
          if (name.empty() && i < tag.size()) ++i;
          continue;
        }
        ++i;
        while (i < tag.size() && IsAsciiSpace(tag[i])) ++i;
        if (i >= tag.size()) break;
        const char quote = tag[i];
        std::string_view value;
        if (quote == '"' || quote == '\'') {
          size_t close = tag.find(quote, i + 1);
          if (close == std::string_view::npos) break;
          value = tag.substr(i + 1, close - i - 1);
          i = close + 1;
        } else {
          size_t start = i;
          while (i < tag.size() && !IsAsciiSpace(tag[i])) ++i;
          value = tag.substr(start, i - start);
        }
        if (name == "target") return std::string(value);
      }
      // A start tag cut off before '>' may have lost its target.
      if (end == std::string_view::npos) return std::nullopt;
      return std::string("default");
    }
    pos = open + 1;
  }
  return std::nullopt;
}

std::vector<std::string> ParseLegacyTableNames(std::string_view text) {
  std::set<std::string> names;
  for (std::string_view line : SplitLines(text)) {
    line = Trim(line);
    if (line.empty()) continue;
    names.emplace(line);
    if (names.size() >= kMaxLegacyTables) break;
  }
  return {names.begin(), names.end()};
}

FirewallProbe::FirewallProbe()
    : source_(std::make_unique<NftRulesetSource>()) {}

FirewallProbe::FirewallProbe(std::unique_ptr<RulesetSource> source)
    : source_(std::move(source)) {}

absl::StatusOr<v1::Facts> FirewallProbe::Collect(const fs::path& root) const {
  v1::Facts facts;
  v1::FirewallFacts* out = facts.mutable_firewall();

  absl::StatusOr<std::string> ruleset = source_->ListRuleset();
  absl::StatusOr<v1::FirewallFacts> parsed =
      ruleset.ok() ? ParseNftRuleset(*ruleset)
                   : absl::StatusOr<v1::FirewallFacts>(ruleset.status());
  if (parsed.ok()) {
    *out = *std::move(parsed);
  } else {
    out->set_ruleset_readable(false);
    out->set_ruleset_error(parsed.status().ToString());
    out->set_ipv4_input(v1::INBOUND_POLICY_UNSPECIFIED);
    out->set_ipv6_input(v1::INBOUND_POLICY_UNSPECIFIED);
  }

  for (const auto& [file, field] :
       {std::make_pair("proc/net/ip_tables_names",
                       out->mutable_iptables_legacy_tables()),
        std::make_pair("proc/net/ip6_tables_names",
                       out->mutable_ip6tables_legacy_tables())}) {
    absl::StatusOr<std::string> text =
        ReadRootedFile(root, file, kMaxConfigFileBytes);
    if (!text.ok()) continue;
    for (std::string& name : ParseLegacyTableNames(*text)) {
      field->Add(std::move(name));
    }
  }

  absl::StatusOr<std::string> disable_ipv6 = ReadRootedFile(
      root, "proc/sys/net/ipv6/conf/all/disable_ipv6", kMaxConfigFileBytes);
  out->set_ipv6_disabled((disable_ipv6.ok() && Trim(*disable_ipv6) == "1") ||
                         (RootedExists(root, "proc/sys/net") &&
                          !RootedExists(root, "proc/sys/net/ipv6")));

  absl::StatusOr<PackageDatabase> database = ReadPackageDatabase(root);
  if (!database.ok()) return database.status();
  const std::map<std::string, std::string>& packages = database->installed;

  v1::UfwState* ufw = out->mutable_ufw();
  ufw->set_installed(packages.count("ufw") > 0);
  absl::StatusOr<std::string> ufw_conf =
      ReadRootedFile(root, "etc/ufw/ufw.conf", kMaxConfigFileBytes);
  if (ufw_conf.ok()) {
    ufw->set_config_readable(true);
    std::map<std::string, std::string> conf = ParseKeyValueConfig(*ufw_conf);
    ufw->set_enabled(EqualsIgnoreCase(conf["ENABLED"], "yes"));
  }
  absl::StatusOr<std::string> ufw_default =
      ReadRootedFile(root, "etc/default/ufw", kMaxConfigFileBytes);
  if (ufw_default.ok()) {
    ufw->set_default_input_policy(
        ParseKeyValueConfig(*ufw_default)["DEFAULT_INPUT_POLICY"]);
  }

  v1::FirewalldState* firewalld = out->mutable_firewalld();
  firewalld->set_installed(packages.count("firewalld") > 0);
  firewalld->set_running(RunningProcessNames(root).count("firewalld") > 0);
  absl::StatusOr<std::string> firewalld_conf =
      ReadRootedFile(root, "etc/firewalld/firewalld.conf", kMaxConfigFileBytes);
  if (firewalld_conf.ok()) {
    firewalld->set_default_zone(
        ParseKeyValueConfig(*firewalld_conf)["DefaultZone"]);
  }
  const std::string zone = firewalld->default_zone().empty()
                               ? std::string("public")
                               : firewalld->default_zone();
  if (IsZoneName(zone)) {
    for (std::string_view dir :
         {"/etc/firewalld/zones/", "/usr/lib/firewalld/zones/"}) {
      const std::string file = Cat(dir, zone, ".xml");
      absl::StatusOr<std::string> xml =
          ReadRootedFile(root, file, kMaxConfigFileBytes);
      if (!xml.ok()) continue;
      firewalld->set_zone_file(file);
      firewalld->set_zone_target(ParseZoneTarget(*xml).value_or(""));
      break;
    }
  }

  MakeStringsValidUtf8(&facts);
  return facts;
}

}  // namespace evidentia::agent
