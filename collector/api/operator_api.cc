#include "collector/api/operator_api.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "collector/query/history.h"
#include "collector/query/queries.h"
#include "collector/store/keys.h"
#include "collector/store/records.h"
#include "common/checkpoint.h"
#include "common/envelope.h"
#include "common/log.h"
#include "common/merkle.h"
#include "common/pae.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "evidentia/v1/bundle.pb.h"
#include "evidentia/v1/operator.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "evidentia/v1/store.pb.h"
#include "grading/timeline.h"
#include "isms/cycle.h"

namespace evidentia::collector {

absl::Status Authorize(const Caller& caller, Role role) {
  if (caller.role == role) return absl::OkStatus();
  return absl::PermissionDeniedError(role == Role::kOperator
                                         ? "an agent cannot make operator calls"
                                         : "only an agent can make this call");
}

absl::Status OperatorApi::Authorize(const Caller& caller) const {
  if (caller.role == Role::kReader || caller.role == Role::kAuditor) {
    return absl::OkStatus();
  }
  return collector::Authorize(caller, Role::kOperator);
}

absl::Status OperatorApi::AuthorizeChange(const Caller& caller) const {
  if (caller.role == Role::kReader || caller.role == Role::kAuditor) {
    return absl::PermissionDeniedError("a reader cannot change anything");
  }
  return collector::Authorize(caller, Role::kOperator);
}

absl::StatusOr<v1::RevokeAgentResponse> OperatorApi::RevokeAgent(
    const Caller& caller, const v1::RevokeAgentRequest& request) {
  RETURN_IF_ERROR(AuthorizeChange(caller));
  v1::RevokeAgentResponse response;
  absl::StatusOr<v1::AgentRecord> revoked =
      registry_.Revoke(request.agent_id(), caller.address);
  if (!revoked.ok()) return revoked.status();
  Log(LogLevel::kInfo,
      absl::StrCat("agent ", request.agent_id(), " revoked by the operator at ",
                   caller.address));
  *response.mutable_agent() = *std::move(revoked);
  return response;
}

absl::StatusOr<v1::CreateTokenResponse> OperatorApi::CreateToken(
    const Caller& caller, const v1::CreateTokenRequest& request) {
  RETURN_IF_ERROR(AuthorizeChange(caller));
  absl::StatusOr<v1::CreateTokenResponse> token = registry_.CreateToken(
      absl::Seconds(request.ttl_seconds()), request.uses());
  if (!token.ok()) return token.status();
  return token;
}

absl::StatusOr<v1::ListAgentsResponse> OperatorApi::ListAgents(
    const Caller& caller, const v1::ListAgentsRequest&) {
  RETURN_IF_ERROR(Authorize(caller));
  v1::ListAgentsResponse response;
  absl::StatusOr<std::vector<v1::AgentRecord>> agents = registry_.ListAgents();
  if (!agents.ok()) return agents.status();
  for (v1::AgentRecord& agent : *agents) {
    *response.add_agents() = std::move(agent);
  }
  return response;
}

absl::StatusOr<v1::GetEvidenceResponse> OperatorApi::GetEvidence(
    const Caller& caller, const v1::GetEvidenceRequest& request) {
  RETURN_IF_ERROR(Authorize(caller));
  absl::StatusOr<v1::GetEvidenceResponse> evidence =
      collector::GetEvidence(store_, request.agent_id(), request.check_id());
  if (!evidence.ok()) return evidence.status();
  // Evidence of a revoked device stays valid but must say so.
  absl::StatusOr<std::optional<absl::Time>> revoked =
      registry_.RevokedAt(request.agent_id());
  if (!revoked.ok()) return revoked.status();
  if (revoked->has_value()) {
    *evidence->mutable_agent()->mutable_revoked_at() = ToProto(**revoked);
  }
  return evidence;
}

absl::StatusOr<v1::ListEventsResponse> OperatorApi::ListEvents(
    const Caller& caller, const v1::ListEventsRequest&) {
  // Security events are the IT team's, not an auditor's.
  if (caller.role == Role::kAuditor) {
    return absl::PermissionDeniedError(
        "an auditor does not read security events");
  }
  RETURN_IF_ERROR(Authorize(caller));
  v1::ListEventsResponse response;
  absl::StatusOr<std::vector<v1::SecurityEvent>> events =
      registry_.ListEvents();
  if (!events.ok()) return events.status();
  for (v1::SecurityEvent& event : *events) {
    *response.add_events() = std::move(event);
  }
  return response;
}

absl::StatusOr<std::pair<absl::Time, std::vector<HostPtr>>> OperatorApi::Fleet(
    const v1::GradeRequest& request) const {
  if (grader_ == nullptr) {
    return absl::FailedPreconditionError(
        "the collector runs without a policy set; start it with --policies "
        "DIR --soa FILE to grade");
  }
  std::vector<HostPtr> hosts;
  absl::Time at = clock_();
  if (request.has_as_of()) {
    at = FromProto(request.as_of());
    // A moment a minute past is settled: nothing received later changes
    // its observations, so the fleets of the last two asked are kept for a
    // few minutes (the agents' records, as of now, may change).
    constexpr size_t kPastFleets = 2;
    const absl::Time now = clock_();
    const bool settled = at < now - absl::Minutes(1);
    bool kept = false;
    if (settled) {
      absl::MutexLock lock(&past_fleets_mu_);
      for (size_t i = 0; i < past_fleets_.size(); ++i) {
        const PastFleet& past = past_fleets_[i];
        if (past.at != at || now - past.read_at > absl::Minutes(5) ||
            now < past.read_at) {
          continue;
        }
        std::rotate(past_fleets_.begin(), past_fleets_.begin() + i,
                    past_fleets_.begin() + i + 1);
        hosts = past_fleets_.front().hosts;
        kept = true;
        break;
      }
    }
    if (!kept) {
      ASSIGN_OR_RETURN(
          hosts, FleetAsOf(grader_->evidence(), at, grader_->ObservedIds()));
      if (settled) {
        absl::MutexLock lock(&past_fleets_mu_);
        past_fleets_.insert(past_fleets_.begin(), PastFleet{at, now, hosts});
        if (past_fleets_.size() > kPastFleets) past_fleets_.pop_back();
      }
    }
  } else {
    hosts = fleet_.Hosts();
  }
  ASSIGN_OR_RETURN(hosts, InScope(std::move(hosts), request.scope()));
  return std::make_pair(at, std::move(hosts));
}

absl::StatusOr<v1::GradeControlsResponse> OperatorApi::GradeControls(
    const Caller& caller, const v1::GradeRequest& request) {
  RETURN_IF_ERROR(Authorize(caller));
  auto fleet = Fleet(request);
  if (!fleet.ok()) return fleet.status();
  absl::StatusOr<v1::GradeControlsResponse> graded =
      grader_->GradeAll(fleet->second, fleet->first);
  if (!graded.ok()) return graded.status();
  graded->set_scope(request.scope());
  return graded;
}

absl::StatusOr<v1::ControlGrade> OperatorApi::GetControl(
    const Caller& caller, const v1::GetControlRequest& request) {
  RETURN_IF_ERROR(Authorize(caller));
  auto fleet = Fleet(request.at());
  if (!fleet.ok()) return fleet.status();
  absl::StatusOr<v1::ControlGrade> grade = grader_->GradeControl(
      request.control_id(), fleet->second, fleet->first, true);
  if (!grade.ok()) return grade.status();
  // Revocation is a present fact: the in-memory fleet knows it.
  std::set<std::string> revoked;
  for (const HostPtr& host : fleet_.Hosts()) {
    if (host->agent.has_revoked_at()) revoked.insert(host->agent.agent_id());
  }
  for (v1::HostCheck& finding : *grade->mutable_findings()) {
    finding.set_agent_revoked(revoked.count(finding.agent_id()) > 0);
  }
  return grade;
}

absl::StatusOr<v1::GetHostResponse> OperatorApi::GetHost(
    const Caller& caller, const v1::GetHostRequest& request) {
  RETURN_IF_ERROR(Authorize(caller));
  v1::GetHostResponse response;
  auto fleet = Fleet(request.at());
  if (!fleet.ok()) return fleet.status();
  std::vector<HostPtr> matches;
  for (const HostPtr& host : fleet->second) {
    if (host->agent.agent_id() == request.host()) {
      matches = {host};
      break;
    }
    if (host->agent.host().hostname() == request.host()) {
      matches.push_back(host);
    }
  }
  if (matches.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no host ", request.host(), " in scope"));
  }
  if (matches.size() > 1) {
    return absl::FailedPreconditionError(
        absl::StrCat(matches.size(), " agents report hostname ", request.host(),
                     "; name one by agent id (evidentia agents)"));
  }
  const HostEvidence& host = *matches.front();
  absl::StatusOr<std::vector<v1::HostCheck>> checks =
      grader_->CheckHost(host, fleet->first);
  if (!checks.ok()) return checks.status();
  *response.mutable_agent() = host.agent;
  // Also for a moment before the revocation: the device is not trusted now.
  absl::StatusOr<std::optional<absl::Time>> revoked =
      registry_.RevokedAt(host.agent.agent_id());
  if (!revoked.ok()) return revoked.status();
  if (revoked->has_value()) {
    *response.mutable_agent()->mutable_revoked_at() = ToProto(**revoked);
  }
  response.set_silent(grader_->IsSilent(host, fleet->first));
  for (v1::HostCheck& check : *checks) {
    check.set_agent_revoked(response.agent().has_revoked_at());
    *response.add_checks() = std::move(check);
  }
  response.set_policy_sha256(grader_->policy().sha256);
  *response.mutable_at() = ToProto(fleet->first);
  return response;
}

absl::StatusOr<HostPage> OperatorApi::ListHosts(const Caller& caller,
                                                const v1::GradeRequest& request,
                                                size_t offset, size_t limit,
                                                bool silent_only) {
  RETURN_IF_ERROR(Authorize(caller));
  if (grader_ == nullptr || !request.has_as_of() || silent_only) {
    ASSIGN_OR_RETURN(auto fleet, Fleet(request));
    return Page(std::move(fleet.second), fleet.first, offset, limit,
                silent_only, false);
  }
  // A page of a past moment: the order needs only the records, so only the
  // page's hosts are read as of then.
  const absl::Time at = FromProto(request.as_of());
  ASSIGN_OR_RETURN(std::vector<v1::AgentRecord> agents,
                   grader_->evidence().Agents());
  std::vector<HostPtr> hosts;
  for (v1::AgentRecord& agent : agents) {
    if (FromProto(agent.enrolled_at()) > at) continue;
    auto host = std::make_shared<HostEvidence>();
    host->agent = std::move(agent);
    hosts.push_back(std::move(host));
  }
  ASSIGN_OR_RETURN(hosts, InScope(std::move(hosts), request.scope()));
  return Page(std::move(hosts), at, offset, limit, false, true);
}

absl::StatusOr<SnapshotView> OperatorApi::GetSnapshot(
    const Caller& caller, const std::string& agent_id, uint64_t seq) {
  RETURN_IF_ERROR(Authorize(caller));
  ASSIGN_OR_RETURN(std::optional<v1::AgentRecord> agent,
                   GetRecord<v1::AgentRecord>(store_, Table::kAgents, agent_id,
                                              "agent record"));
  ASSIGN_OR_RETURN(
      std::optional<v1::StoredSnapshot> stored,
      GetRecord<v1::StoredSnapshot>(store_, Table::kSnapshots,
                                    keys::Snapshot(agent_id, seq), "snapshot"));
  if (!agent.has_value() || !stored.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("no snapshot ", seq, " of agent ", agent_id));
  }
  SnapshotView view;
  view.stored = *std::move(stored);
  if (!view.payload.ParseFromString(view.stored.envelope().payload())) {
    return absl::DataLossError(absl::StrCat("snapshot ", seq, " of agent ",
                                            agent_id, " does not parse"));
  }
  // The key that signed it: the current one, or one it rotated from.
  const std::string& key_id = view.stored.envelope().key_id();
  std::string pem;
  if (key_id == agent->key_id()) pem = agent->public_key_pem();
  for (const v1::KeyRotationRecord& rotation : agent->rotations()) {
    if (rotation.old_key_id() == key_id) pem = rotation.old_public_key_pem();
  }
  if (pem.empty()) {
    view.signature = absl::UnauthenticatedError(
        absl::StrCat("signed by key ", key_id, ", not one of this agent's"));
  } else {
    absl::StatusOr<PublicKey> key = PublicKey::FromPem(pem);
    view.signature =
        key.ok() ? VerifyEnvelope(*key, view.stored.envelope()) : key.status();
  }
  ASSIGN_OR_RETURN(view.log_index, log_.LeafIndex(agent_id, seq));
  view.last_seq = agent->last_seq();
  if (seq < std::numeric_limits<uint64_t>::max()) {
    ASSIGN_OR_RETURN(std::optional<v1::StoredSnapshot> next,
                     GetRecord<v1::StoredSnapshot>(
                         store_, Table::kSnapshots,
                         keys::Snapshot(agent_id, seq + 1), "snapshot"));
    if (next.has_value())
      view.next_received_at = FromProto(next->received_at());
  }
  for (const v1::Observation& o : view.payload.observations()) {
    if (o.facts_sha256().empty()) continue;
    ASSIGN_OR_RETURN(std::optional<v1::Facts> facts,
                     GetRecord<v1::Facts>(store_, Table::kObjects,
                                          o.facts_sha256(), "facts body"));
    if (facts.has_value()) view.facts[o.check_id()] = *std::move(facts);
  }
  return view;
}

absl::StatusOr<FleetSurvey> OperatorApi::Survey(const Caller& caller,
                                                const v1::GradeRequest& request,
                                                size_t silent_limit) {
  RETURN_IF_ERROR(Authorize(caller));
  ASSIGN_OR_RETURN(auto fleet, Fleet(request));
  FleetSurvey survey;
  ASSIGN_OR_RETURN(survey.grades, grader_->GradeAll(fleet.second, fleet.first));
  survey.grades.set_scope(request.scope());
  ASSIGN_OR_RETURN(survey.silent, Page(std::move(fleet.second), fleet.first, 0,
                                       silent_limit, true, false));
  return survey;
}

absl::StatusOr<HostPage> OperatorApi::Page(std::vector<HostPtr> hosts,
                                           absl::Time at, size_t offset,
                                           size_t limit, bool silent_only,
                                           bool read) const {
  if (silent_only) {
    hosts.erase(std::remove_if(hosts.begin(), hosts.end(),
                               [&](const HostPtr& host) {
                                 return !grader_->IsSilent(*host, at);
                               }),
                hosts.end());
  }
  std::sort(hosts.begin(), hosts.end(), [](const HostPtr& a, const HostPtr& b) {
    return std::tie(a->agent.host().hostname(), a->agent.agent_id()) <
           std::tie(b->agent.host().hostname(), b->agent.agent_id());
  });
  std::vector<std::string> check_ids;
  for (const policy::Check& check : grader_->policy().checks) {
    check_ids.push_back(check.id);
  }
  const std::vector<std::string> observed = grader_->ObservedIds();
  HostPage page;
  page.total = hosts.size();
  for (size_t i = offset; i < hosts.size() && i - offset < limit; ++i) {
    HostPtr host = hosts[i];
    if (read) {
      ASSIGN_OR_RETURN(
          host, HostAsOf(grader_->evidence(), host->agent, at, observed));
    }
    HostStatus status;
    status.agent = host->agent;
    status.silent = grader_->IsSilent(*host, at);
    ASSIGN_OR_RETURN(std::vector<v1::CheckState> states,
                     grader_->CheckStates(*host, at, check_ids));
    for (v1::CheckState state : states) {
      if (state == v1::CHECK_STATE_FAIL) ++status.failing;
      if (state == v1::CHECK_STATE_STALE || state == v1::CHECK_STATE_MISSING) {
        ++status.stale;
      }
    }
    page.hosts.push_back(std::move(status));
  }
  return page;
}

absl::StatusOr<std::vector<HostStates>> OperatorApi::Timelines(
    const Caller& caller, const std::vector<std::string>& check_ids,
    const std::vector<std::string>& agent_ids, absl::Time from, absl::Time to,
    int points) {
  RETURN_IF_ERROR(Authorize(caller));
  if (grader_ == nullptr) return Fleet(v1::GradeRequest()).status();
  std::vector<HostStates> timelines;
  for (const std::string& agent_id : agent_ids) {
    // The record now (every enrolled agent is in the fleet).
    const HostPtr host = fleet_.Find(agent_id);
    if (host == nullptr) {
      return absl::NotFoundError(absl::StrCat("no agent ", agent_id));
    }
    ASSIGN_OR_RETURN(auto states, HostTimeline(*grader_, host->agent, check_ids,
                                               from, to, points));
    timelines.push_back(
        {agent_id, host->agent.host().hostname(), std::move(states)});
  }
  return timelines;
}

absl::StatusOr<v1::GetHistoryResponse> OperatorApi::GetHistory(
    const Caller& caller, const v1::GetHistoryRequest& request) {
  RETURN_IF_ERROR(Authorize(caller));
  if (grader_ == nullptr) return Fleet(v1::GradeRequest()).status();
  const absl::Time to = request.has_to() ? FromProto(request.to()) : clock_();
  const absl::Time from = request.has_from() ? FromProto(request.from())
                                             : to - absl::Hours(24 * 30);
  absl::StatusOr<v1::GetHistoryResponse> history = ControlHistory(
      *grader_, store_, request.control_id(), request.scope(), from, to);
  if (!history.ok()) return history.status();
  return history;
}

absl::StatusOr<v1::AddManualEvidenceResponse> OperatorApi::AddManualEvidence(
    const Caller& caller, const v1::AddManualEvidenceRequest& request) {
  RETURN_IF_ERROR(AuthorizeChange(caller));
  v1::AddManualEvidenceResponse response;
  if (request.document().size() > kMaxDocumentBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("document is ", request.document().size(),
                     " bytes; at most ", kMaxDocumentBytes));
  }
  if (absl::Status signature = operator_key_.Verify(
          Pae(kManualEvidencePayloadType, request.statement()),
          request.signature());
      !signature.ok()) {
    return absl::UnauthenticatedError(
        "manual evidence statement is not signed by the operator key");
  }
  v1::ManualEvidenceStatement statement;
  if (!statement.ParseFromString(request.statement())) {
    return absl::InvalidArgumentError(
        "statement is not a ManualEvidenceStatement");
  }
  const std::string digest = Sha256(request.document());
  if (statement.document_sha256() != digest) {
    return absl::InvalidArgumentError(
        "the document's SHA-256 differs from the signed statement's");
  }
  if (grader_ != nullptr &&
      grader_->policy().FindControl(statement.control_id()) == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "no control ", statement.control_id(), " in the catalogue"));
  }
  const absl::Time now = clock_();
  v1::StoredManualEvidence stored;
  stored.set_statement(request.statement());
  stored.set_signature(request.signature());
  stored.set_key_id(operator_key_.KeyId());
  *stored.mutable_received_at() = ToProto(now);
  Batch batch;
  batch.Put(Table::kObjects, digest, request.document());
  batch.Put(Table::kManual,
            keys::Manual(statement.control_id(), absl::ToUnixMicros(now)),
            stored.SerializeAsString());
  if (absl::Status committed = store_.Commit(batch); !committed.ok()) {
    return committed;
  }
  changes_.fetch_add(1);
  response.set_document_sha256(ToHex(digest));
  return response;
}

absl::StatusOr<v1::ExportSummary> OperatorApi::Export(
    const Caller& caller, const v1::ExportRequest& request, BundleSink& sink) {
  RETURN_IF_ERROR(Authorize(caller));
  ExportPeriod period{FromProto(request.from()), FromProto(request.to()),
                      request.scope(), request.audit()};
  if (!request.audit().empty()) {
    if (request.has_from() || request.has_to()) {
      return absl::InvalidArgumentError(
          "an export is of an audit or of a period, not both");
    }
    ASSIGN_OR_RETURN(std::vector<v1::StoredIsmsRecord> records,
                     IsmsRecords(store_));
    ASSIGN_OR_RETURN(isms::Register isms, IsmsRegister(records));
    ASSIGN_OR_RETURN(auto audit_period,
                     isms::AuditPeriod(isms, request.audit()));
    period.from = audit_period.first;
    period.to = audit_period.second;
  } else if (!request.has_from() || !request.has_to()) {
    return absl::InvalidArgumentError("an export needs from and to");
  }
  ExportSources sources;
  sources.store = &store_;
  sources.log = &log_;
  sources.grader = grader_;
  sources.collector_key = &collector_key_;
  sources.operator_key = &operator_key_;
  sources.clock = clock_;
  ASSIGN_OR_RETURN(v1::ExportSummary summary,
                   ExportBundle(sources, period, sink));
  Log(LogLevel::kInfo,
      absl::StrCat("exported a bundle for ", caller.address, ": ",
                   summary.agents(), " agents, ", summary.snapshots(),
                   " snapshots, ", summary.files(), " files, ", summary.bytes(),
                   " bytes"));
  return summary;
}

absl::StatusOr<v1::GetCheckpointResponse> OperatorApi::GetCheckpoint(
    const Caller& caller, const v1::GetCheckpointRequest& request) {
  RETURN_IF_ERROR(Authorize(caller));
  v1::GetCheckpointResponse response;
  absl::StatusOr<std::optional<v1::StoredCheckpoint>> latest =
      log_.LatestCheckpoint();
  if (!latest.ok()) return latest.status();
  if (request.sign_now() || !latest->has_value()) {
    absl::StatusOr<v1::StoredCheckpoint> signed_now = log_.SignCheckpoint();
    if (!signed_now.ok()) return signed_now.status();
    *latest = *std::move(signed_now);
  }
  response.set_checkpoint((*latest)->text());
  response.set_signature((*latest)->signature());
  return response;
}

namespace {

// The tree size a proof request means: as asked, or the newest checkpoint's.
absl::StatusOr<uint64_t> TreeSize(const TransparencyLog& log,
                                  uint64_t requested) {
  if (requested != 0) {
    if (requested > log.size()) {
      return absl::OutOfRangeError(absl::StrCat("the log has ", log.size(),
                                                " entries, not ", requested));
    }
    return requested;
  }
  ASSIGN_OR_RETURN(std::optional<v1::StoredCheckpoint> latest,
                   log.LatestCheckpoint());
  if (!latest.has_value()) {
    return absl::FailedPreconditionError("no checkpoint has been signed yet");
  }
  ASSIGN_OR_RETURN(Checkpoint checkpoint, ParseCheckpoint(latest->text()));
  return checkpoint.size;
}

}  // namespace

absl::StatusOr<v1::ProveInclusionResponse> OperatorApi::ProveInclusion(
    const Caller& caller, const v1::ProveInclusionRequest& request) {
  RETURN_IF_ERROR(Authorize(caller));
  v1::ProveInclusionResponse response;
  absl::StatusOr<uint64_t> size = TreeSize(log_, request.tree_size());
  if (!size.ok()) return size.status();
  absl::StatusOr<std::optional<uint64_t>> index =
      log_.LeafIndex(request.agent_id(), request.seq());
  if (!index.ok()) return index.status();
  if (!index->has_value() || **index >= *size) {
    return absl::NotFoundError(
        absl::StrCat("snapshot ", request.seq(), " of agent ",
                     request.agent_id(), " is not in the log of size ", *size));
  }
  absl::StatusOr<std::vector<std::string>> proof =
      log_.InclusionProof(**index, *size);
  if (!proof.ok()) return proof.status();
  absl::StatusOr<std::optional<v1::StoredSnapshot>> stored =
      GetRecord<v1::StoredSnapshot>(
          store_, Table::kSnapshots,
          keys::Snapshot(request.agent_id(), request.seq()), "snapshot");
  if (!stored.ok()) return stored.status();
  if (stored->has_value()) {
    response.set_leaf_hash(merkle::SnapshotLeafHash(
        (*stored)->envelope().payload(), (*stored)->envelope().signature()));
  }
  response.set_leaf_index(**index);
  response.set_tree_size(*size);
  for (std::string& hash : *proof) response.add_hashes(std::move(hash));
  return response;
}

absl::StatusOr<v1::ProveConsistencyResponse> OperatorApi::ProveConsistency(
    const Caller& caller, const v1::ProveConsistencyRequest& request) {
  RETURN_IF_ERROR(Authorize(caller));
  v1::ProveConsistencyResponse response;
  absl::StatusOr<uint64_t> second = TreeSize(log_, request.second_size());
  if (!second.ok()) return second.status();
  if (request.first_size() > *second) {
    return absl::InvalidArgumentError(
        absl::StrCat("first size ", request.first_size(),
                     " is larger than second size ", *second));
  }
  absl::StatusOr<std::vector<std::string>> proof =
      log_.ConsistencyProof(request.first_size(), *second);
  if (!proof.ok()) return proof.status();
  absl::StatusOr<std::string> first_root = log_.Root(request.first_size());
  if (!first_root.ok()) return first_root.status();
  absl::StatusOr<std::string> second_root = log_.Root(*second);
  if (!second_root.ok()) return second_root.status();
  response.set_first_size(request.first_size());
  response.set_second_size(*second);
  for (std::string& hash : *proof) response.add_hashes(std::move(hash));
  response.set_first_root(*std::move(first_root));
  response.set_second_root(*std::move(second_root));
  return response;
}

absl::StatusOr<v1::AddUserResponse> OperatorApi::AddUser(
    const Caller& caller, const v1::AddUserRequest& request) {
  RETURN_IF_ERROR(AuthorizeChange(caller));
  if (users_ == nullptr) {
    return absl::FailedPreconditionError("this collector has no user accounts");
  }
  ASSIGN_OR_RETURN(v1::AddUserResponse response, users_->Add(request));
  const std::string role = v1::UserRole_Name(request.role());
  registry_
      .RecordEvent("user_added", "", 0,
                   absl::StrCat("user ", request.name(), " added with role ",
                                absl::AsciiStrToLower(role.substr(10)),
                                response.one_time_password().empty()
                                    ? ""
                                    : " and a one-time password"),
                   caller.address)
      .IgnoreError();
  return response;
}

}  // namespace evidentia::collector
