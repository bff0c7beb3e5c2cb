#include "grading/fleet.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "common/status_macros.h"

namespace evidentia::collector {

void FleetState::Update(
    const v1::AgentRecord& agent,
    const std::vector<v1::LatestObservation>& observations) {
  absl::MutexLock lock(&mu_);
  auto host = std::make_shared<HostEvidence>();
  host->agent = agent;
  if (auto it = hosts_.find(agent.agent_id()); it != hosts_.end()) {
    host->latest = it->second->latest;
    if (it->second->agent.has_revoked_at() && !agent.has_revoked_at()) {
      *host->agent.mutable_revoked_at() = it->second->agent.revoked_at();
    }
  }
  for (const v1::LatestObservation& o : observations) {
    host->latest[o.check_id()] = o;
  }
  hosts_[agent.agent_id()] = std::move(host);
  ++generation_;
}

void FleetState::MarkRevoked(absl::string_view agent_id,
                             const google::protobuf::Timestamp& at) {
  absl::MutexLock lock(&mu_);
  auto it = hosts_.find(std::string(agent_id));
  if (it == hosts_.end()) return;
  auto host = std::make_shared<HostEvidence>(*it->second);
  *host->agent.mutable_revoked_at() = at;
  it->second = std::move(host);
  ++generation_;
}

std::vector<HostPtr> FleetState::Hosts() const {
  absl::MutexLock lock(&mu_);
  std::vector<HostPtr> out;
  out.reserve(hosts_.size());
  for (const auto& [id, host] : hosts_) out.push_back(host);
  return out;
}

HostPtr FleetState::Find(absl::string_view agent_id) const {
  absl::MutexLock lock(&mu_);
  auto it = hosts_.find(std::string(agent_id));
  return it == hosts_.end() ? nullptr : it->second;
}

uint64_t FleetState::generation() const {
  absl::MutexLock lock(&mu_);
  return generation_;
}

absl::StatusOr<std::vector<HostPtr>> FleetAsOf(
    const Evidence& evidence, absl::Time at,
    const std::vector<std::string>& check_ids) {
  ASSIGN_OR_RETURN(std::vector<v1::AgentRecord> agents, evidence.Agents());
  std::vector<HostPtr> out;
  for (v1::AgentRecord& agent : agents) {
    if (FromProto(agent.enrolled_at()) > at) continue;
    ASSIGN_OR_RETURN(HostPtr host,
                     HostAsOf(evidence, std::move(agent), at, check_ids));
    out.push_back(std::move(host));
  }
  return out;
}

absl::StatusOr<HostPtr> HostAsOf(const Evidence& evidence,
                                 v1::AgentRecord agent, absl::Time at,
                                 const std::vector<std::string>& check_ids) {
  {
    auto host = std::make_shared<HostEvidence>();
    std::optional<absl::Time> last_seen;
    uint64_t last_seq = 0;
    for (const std::string& check_id : check_ids) {
      std::optional<v1::LatestObservation> latest;
      RETURN_IF_ERROR(evidence.History(agent.agent_id(), check_id, at,
                                       [&](const v1::LatestObservation& o) {
                                         latest = o;
                                         return false;
                                       }));
      if (!latest.has_value()) continue;
      v1::LatestObservation& o = *latest;
      const absl::Time received = FromProto(o.received_at());
      if (!last_seen.has_value() || received > *last_seen) last_seen = received;
      last_seq = std::max(last_seq, o.seq());
      host->latest.emplace(check_id, std::move(o));
    }
    if (last_seen.has_value()) {
      *agent.mutable_last_seen() = ToProto(*last_seen);
      agent.set_last_seq(last_seq);
    } else {
      agent.clear_first_seen();
      agent.clear_last_seen();
      agent.set_last_seq(0);
    }
    agent.clear_last_payload_sha256();
    host->agent = std::move(agent);
    return HostPtr(std::move(host));
  }
}

absl::StatusOr<std::vector<HostPtr>> InScope(std::vector<HostPtr> hosts,
                                             const std::string& scope) {
  if (scope.empty()) return hosts;
  const size_t eq = scope.find('=');
  if (eq == std::string::npos || eq == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "scope \"", scope, "\" must be empty or KEY=VALUE (a label)"));
  }
  const std::string key = scope.substr(0, eq);
  const std::string value = scope.substr(eq + 1);
  std::vector<HostPtr> out;
  for (HostPtr& host : hosts) {
    auto it = host->agent.labels().find(key);
    if (it != host->agent.labels().end() && it->second == value) {
      out.push_back(std::move(host));
    }
  }
  return out;
}

}  // namespace evidentia::collector
