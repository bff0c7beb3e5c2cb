#include "grading/evidence.h"

#include "common/proto_time.h"
#include "common/snapshot_chain.h"

namespace evidentia::collector {

std::vector<v1::LatestObservation> IndexSnapshot(
    const v1::Snapshot& snapshot, const v1::StoredSnapshot& stored,
    v1::AgentRecord& agent) {
  std::vector<v1::LatestObservation> observed;
  for (const v1::Observation& o : snapshot.observations()) {
    v1::LatestObservation& latest = observed.emplace_back();
    latest.set_check_id(o.check_id());
    latest.set_probe(o.probe());
    latest.set_seq(snapshot.seq());
    latest.set_facts_sha256(o.facts_sha256());
    latest.set_error(o.error());
    *latest.mutable_collected_at() = snapshot.collected_at();
    *latest.mutable_received_at() = stored.received_at();
  }
  agent.set_last_seq(snapshot.seq());
  agent.set_last_payload_sha256(
      HeadAfterSnapshot(snapshot, stored.envelope().payload()).payload_sha256);
  if (snapshot.has_host()) *agent.mutable_host() = snapshot.host();
  if (!agent.has_first_seen()) {
    *agent.mutable_first_seen() = stored.received_at();
  }
  *agent.mutable_last_seen() = stored.received_at();
  return observed;
}

void MemoryEvidence::AddFacts(std::string digest, v1::Facts facts) {
  facts_.insert_or_assign(std::move(digest), std::move(facts));
}

void MemoryEvidence::AddAgent(v1::AgentRecord agent) {
  std::string id = agent.agent_id();
  agents_.insert_or_assign(std::move(id), std::move(agent));
}

void MemoryEvidence::AddObservation(absl::string_view agent_id,
                                    v1::LatestObservation observation) {
  const int64_t micros =
      absl::ToUnixMicros(FromProto(observation.received_at()));
  history_[{std::string(agent_id), observation.check_id()}].insert_or_assign(
      micros, std::move(observation));
}

void MemoryEvidence::AddManual(absl::string_view control_id,
                               v1::StoredManualEvidence manual) {
  const int64_t micros = absl::ToUnixMicros(FromProto(manual.received_at()));
  manual_[std::string(control_id)].insert_or_assign(micros, std::move(manual));
}

absl::StatusOr<std::optional<v1::Facts>> MemoryEvidence::FactsBody(
    absl::string_view digest) const {
  auto it = facts_.find(digest);
  if (it == facts_.end()) return std::nullopt;
  return it->second;
}

namespace {

// Calls `fn` on the records of `timeline` at or before `at`, newest first.
template <typename Record, typename Visitor>
void Backward(const std::map<int64_t, Record>& timeline, absl::Time at,
              const Visitor& fn) {
  for (auto it = timeline.upper_bound(absl::ToUnixMicros(at));
       it != timeline.begin();) {
    --it;
    if (!fn(it->second)) return;
  }
}

}  // namespace

absl::Status MemoryEvidence::History(absl::string_view agent_id,
                                     absl::string_view check_id, absl::Time at,
                                     const ObservationVisitor& fn) const {
  auto it = history_.find({std::string(agent_id), std::string(check_id)});
  if (it != history_.end()) Backward(it->second, at, fn);
  return absl::OkStatus();
}

absl::Status MemoryEvidence::Manual(absl::string_view control_id, absl::Time at,
                                    const ManualVisitor& fn) const {
  auto it = manual_.find(std::string(control_id));
  if (it != manual_.end()) Backward(it->second, at, fn);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::AgentRecord>> MemoryEvidence::Agents() const {
  std::vector<v1::AgentRecord> out;
  out.reserve(agents_.size());
  for (const auto& [id, agent] : agents_) out.push_back(agent);
  return out;
}

}  // namespace evidentia::collector
