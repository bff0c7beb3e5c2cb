#include "collector/ingest/ingest.h"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "collector/ingest/agent_keys.h"
#include "collector/log/transparency_log.h"
#include "collector/store/keys.h"
#include "collector/store/records.h"
#include "common/ed25519.h"
#include "common/envelope.h"
#include "common/sha256.h"
#include "common/snapshot_chain.h"
#include "evidentia/v1/collector.pb.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "evidentia/v1/snapshot.pb.h"
#include "evidentia/v1/store.pb.h"
#include "grading/evidence.h"

namespace evidentia::collector {
v1::SubmitResponse Rejected(const absl::Status& status, uint64_t seq,
                            std::string payload_sha256) {
  v1::SubmitResponse response;
  response.set_result(v1::SubmitResponse::REJECTED);
  response.set_seq(seq);
  response.set_payload_sha256(std::move(payload_sha256));
  response.set_code(static_cast<int>(status.code()));
  response.set_message(std::string(status.message()));
  return response;
}

namespace {

// Structural checks on a parsed payload that need no stored state.
absl::Status CheckShape(const v1::Snapshot& snapshot) {
  if (snapshot.observations_size() > kMaxObservations) {
    return absl::InvalidArgumentError(
        absl::StrCat("snapshot has ", snapshot.observations_size(),
                     " observations; at most ", kMaxObservations));
  }
  std::set<absl::string_view> check_ids;
  for (const v1::Observation& o : snapshot.observations()) {
    if (o.check_id().empty()) {
      return absl::InvalidArgumentError("an observation has no check id");
    }
    if (!check_ids.insert(o.check_id()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("check ", o.check_id(), " is observed twice"));
    }
    if (o.facts_sha256().empty() ? o.error().empty()
                                 : o.facts_sha256().size() != kSha256Size) {
      return absl::InvalidArgumentError(
          absl::StrCat("observation ", o.check_id(),
                       " needs a 32-byte facts digest or an error"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<v1::LatestObservation> AddSnapshotWrites(
    const v1::Snapshot& snapshot, const v1::StoredSnapshot& stored,
    v1::AgentRecord& agent, Batch& batch) {
  batch.Put(Table::kSnapshots,
            keys::Snapshot(snapshot.agent_id(), snapshot.seq()),
            stored.SerializeAsString());
  const int64_t received_micros =
      absl::ToUnixMicros(FromProto(stored.received_at()));
  std::vector<v1::LatestObservation> observed =
      IndexSnapshot(snapshot, stored, agent);
  for (const v1::LatestObservation& latest : observed) {
    const std::string record = latest.SerializeAsString();
    batch.Put(Table::kLatest,
              keys::Latest(snapshot.agent_id(), latest.check_id()), record);
    batch.Put(
        Table::kHistory,
        keys::History(snapshot.agent_id(), latest.check_id(), received_micros),
        record);
  }
  batch.Put(Table::kAgents, agent.agent_id(), agent.SerializeAsString());
  return observed;
}

void Ingestor::RecordClockSkew(const v1::Snapshot& snapshot,
                               absl::Time received, absl::string_view peer) {
  // Only a claim in the future is skew: a snapshot collected long before it
  // arrives is the normal backlog after an outage (and is dated by its
  // claim, which only makes its evidence look older, never fresher).
  const absl::Duration skew = FromProto(snapshot.collected_at()) - received;
  if (skew <= options_.max_clock_skew) return;
  registry_
      .RecordEvent(
          "clock_skew", snapshot.agent_id(), snapshot.seq(),
          absl::StrCat("snapshot ", snapshot.seq(), " from agent ",
                       snapshot.agent_id(), " claims a collection time ",
                       absl::FormatDuration(skew),
                       " after the collector received it (limit ",
                       absl::FormatDuration(options_.max_clock_skew),
                       "); its evidence is dated no later than its receipt"),
          peer)
      .IgnoreError();  // accepted either way; the event is best effort
}

absl::Duration HeartbeatInterval(const policy::PolicySet& policy) {
  absl::Duration shortest = policy.grading.max_silence;
  for (const policy::Check& check : policy.checks) {
    shortest = std::min(shortest, check.stale_after);
  }
  return std::clamp(shortest / 4, absl::Minutes(1), kDefaultHeartbeat);
}

absl::Mutex& Ingestor::AgentMutex(absl::string_view agent_id) {
  return agent_mutexes_[absl::Hash<absl::string_view>()(agent_id) %
                        agent_mutexes_.size()];
}

// One submission on its way through the stages of Submit.
struct Ingestor::Submission {
  Submission(const v1::SubmitRequest& request, absl::string_view peer)
      : request(request), envelope(request.envelope()), peer(peer) {}

  // REJECTED with `status` (after Decode: naming the snapshot's seq).
  v1::SubmitResponse Reject(const absl::Status& status) const {
    return Rejected(status, snapshot.seq(), payload_sha256);
  }
  // REJECTED with `status`, its message prefixed with `context`.
  v1::SubmitResponse RejectIn(const absl::Status& status) const {
    return Reject(absl::Status(status.code(),
                               absl::StrCat(context, ": ", status.message())));
  }
  // An answer other than REJECTED, for this snapshot.
  v1::SubmitResponse Answer(v1::SubmitResponse::Result result) const {
    v1::SubmitResponse response;
    response.set_result(result);
    response.set_seq(snapshot.seq());
    response.set_payload_sha256(payload_sha256);
    return response;
  }

  const v1::SubmitRequest& request;
  const v1::SignedSnapshot& envelope;
  const absl::string_view peer;
  // Decode:
  std::string payload_sha256;
  v1::Snapshot snapshot;
  std::string context;  // "snapshot 7 from agent ...", for messages
  // CheckFacts: the facts digests the payload names, and the bodies sent.
  std::set<std::string> digests;
  std::map<std::string, const std::string*> bodies;
  // DecideChain, under the agent's lock: the agent as stored.
  v1::AgentRecord agent;
  ChainHead head;
  // BuildBatch:
  Batch batch;
  v1::StoredSnapshot stored;
  std::vector<v1::LatestObservation> observed;
};

v1::SubmitResponse Ingestor::Submit(const v1::SubmitRequest& request,
                                    absl::string_view peer) {
  const absl::Time start = absl::Now();
  v1::SubmitResponse response = Answer(request, peer);
  if (options_.metrics != nullptr) {
    options_.metrics->Record(response, absl::Now() - start);
  }
  return response;
}

v1::SubmitResponse Ingestor::Answer(const v1::SubmitRequest& request,
                                    absl::string_view peer) {
  Submission s(request, peer);
  if (Refusal refused = CheckLimits(s)) return *refused;
  if (Refusal refused = Decode(s)) return *refused;
  if (Refusal refused = Authenticate(s)) return *refused;
  if (Refusal refused = CheckFacts(s)) return *refused;
  absl::MutexLock lock(&AgentMutex(s.snapshot.agent_id()));
  if (Refusal answered = DecideChain(s)) return *answered;
  if (Refusal answered = BuildBatch(s)) return *answered;
  if (Refusal refused = Commit(s)) return *refused;
  Notify(s);
  v1::SubmitResponse accepted = s.Answer(v1::SubmitResponse::ACCEPTED);
  accepted.set_heartbeat_seconds(absl::ToInt64Seconds(options_.heartbeat));
  return accepted;
}

// 1. Sizes, before anything is parsed.
Ingestor::Refusal Ingestor::CheckLimits(const Submission& s) const {
  if (s.envelope.payload().size() > kMaxPayloadBytes) {
    return Rejected(absl::InvalidArgumentError(
                        absl::StrCat("payload is ", s.envelope.payload().size(),
                                     " bytes; at most ", kMaxPayloadBytes)),
                    0, "");
  }
  size_t facts_bytes = 0;
  for (const std::string& body : s.request.facts()) facts_bytes += body.size();
  if (facts_bytes > kMaxFactsBytes) {
    return Rejected(absl::InvalidArgumentError(
                        absl::StrCat("facts bodies total ", facts_bytes,
                                     " bytes; at most ", kMaxFactsBytes)),
                    0, "");
  }
  return std::nullopt;
}

// 2. The payload as a Snapshot (not yet trusted).
Ingestor::Refusal Ingestor::Decode(Submission& s) const {
  s.payload_sha256 = Sha256(s.envelope.payload());
  if (!s.snapshot.ParseFromString(s.envelope.payload())) {
    return Rejected(
        absl::InvalidArgumentError("payload is not a Snapshot message"), 0,
        s.payload_sha256);
  }
  s.context = absl::StrCat("snapshot ", s.snapshot.seq(), " from agent ",
                           s.snapshot.agent_id());
  return std::nullopt;
}

// 3. Signed by a key of an enrolled agent; then, as the agent's own words,
// within its rate and of a valid shape.
Ingestor::Refusal Ingestor::Authenticate(const Submission& s) {
  const v1::Snapshot& snapshot = s.snapshot;
  absl::StatusOr<std::optional<v1::AgentRecord>> found =
      registry_.GetAgent(snapshot.agent_id());
  if (!found.ok()) return s.Reject(found.status());
  if (!found->has_value()) {
    return s.Reject(absl::UnauthenticatedError(
        absl::StrCat(s.context, ": agent is not enrolled")));
  }
  // The key the envelope names, if it is one of the agent's (which seqs it
  // may sign is checked under the lock); else the current one, which then
  // refuses the envelope.
  const std::string* pem = AgentKeyPem(**found, s.envelope.key_id());
  absl::StatusOr<PublicKey> key =
      PublicKey::FromPem(pem != nullptr ? *pem : (*found)->public_key_pem());
  if (!key.ok()) return s.Reject(key.status());
  if (absl::Status verified = VerifyEnvelope(*key, s.envelope);
      !verified.ok()) {
    const std::string detail =
        absl::StrCat(s.context, ": ", verified.message());
    registry_
        .RecordEvent("bad_signature", snapshot.agent_id(), snapshot.seq(),
                     detail, s.peer)
        .IgnoreError();  // the refusal below stands either way
    return s.Reject(absl::Status(verified.code(), detail));
  }
  // From here on the payload is the agent's own words.
  if (options_.rate_limiter != nullptr) {
    if (const absl::Duration wait =
            options_.rate_limiter->Admit(snapshot.agent_id());
        wait > absl::ZeroDuration()) {
      v1::SubmitResponse response = s.Reject(absl::ResourceExhaustedError(
          absl::StrCat(s.context, ": over this agent's rate; retry in ",
                       absl::FormatDuration(wait))));
      response.set_retry_after_ms(
          absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1))));
      return response;
    }
  }
  if (absl::Status shape = CheckShape(snapshot); !shape.ok()) {
    return s.RejectIn(shape);
  }
  return std::nullopt;
}

// 4. Facts bodies: each must be named by the signed payload and parse.
Ingestor::Refusal Ingestor::CheckFacts(Submission& s) const {
  for (const v1::Observation& o : s.snapshot.observations()) {
    if (!o.facts_sha256().empty()) s.digests.insert(o.facts_sha256());
  }
  for (const std::string& body : s.request.facts()) {
    std::string digest = Sha256(body);
    if (s.digests.count(digest) == 0) {
      return s.Reject(absl::InvalidArgumentError(
          absl::StrCat(s.context, ": facts body ", ToHex(digest),
                       " is not named by the snapshot")));
    }
    v1::Facts facts;
    if (!facts.ParseFromString(body)) {
      return s.Reject(absl::InvalidArgumentError(
          absl::StrCat(s.context, ": facts body ", ToHex(digest),
                       " is not a Facts message")));
    }
    s.bodies.emplace(std::move(digest), &body);
  }
  return std::nullopt;
}

// 5. Under the agent's lock: the next link of its chain, a duplicate
// (answered DUPLICATE), or a refusal (revoked, retired key, gap, fork).
Ingestor::Refusal Ingestor::DecideChain(Submission& s) {
  const v1::Snapshot& snapshot = s.snapshot;
  const uint64_t seq = snapshot.seq();
  // Re-read under the lock: another stream of this agent may have advanced.
  absl::StatusOr<std::optional<v1::AgentRecord>> current =
      registry_.GetAgent(snapshot.agent_id());
  if (!current.ok()) return s.Reject(current.status());
  s.agent = **current;
  // Under the lock, so nothing is accepted after a revocation is stored.
  if (s.agent.has_revoked_at()) {
    return s.Reject(absl::PermissionDeniedError(
        absl::StrCat(s.context, ": the agent was revoked")));
  }
  if (absl::Status signer = CheckKeyForSeq(s.agent, s.envelope.key_id(), seq);
      !signer.ok()) {
    registry_
        .RecordEvent("retired_key", snapshot.agent_id(), seq, signer.message(),
                     s.peer)
        .IgnoreError();  // the refusal below stands either way
    return s.Reject(signer);
  }
  s.head = ChainHead{s.agent.last_seq(), s.agent.last_payload_sha256()};

  // A chain refusal names the collector's head so that an agent can rebase
  // a refused gap snapshot on what is actually held (proto/README.md, Gaps).
  auto reject_chain = [&](const absl::Status& status) {
    v1::SubmitResponse response = s.RejectIn(status);
    if (status.code() == absl::StatusCode::kFailedPrecondition) {
      response.set_head_seq(s.head.seq);
      response.set_head_payload_sha256(s.head.payload_sha256);
    }
    return response;
  };
  absl::Status chain = CheckNext(s.head, snapshot);
  if (chain.ok()) return std::nullopt;
  if (chain.code() != absl::StatusCode::kAlreadyExists) {
    return reject_chain(chain);
  }
  absl::StatusOr<std::optional<v1::StoredSnapshot>> stored =
      GetRecord<v1::StoredSnapshot>(store_, Table::kSnapshots,
                                    keys::Snapshot(snapshot.agent_id(), seq),
                                    "snapshot");
  if (!stored.ok()) return s.Reject(stored.status());
  if (stored->has_value() &&
      Sha256((*stored)->envelope().payload()) == s.payload_sha256) {
    v1::SubmitResponse response = s.Answer(v1::SubmitResponse::DUPLICATE);
    response.set_heartbeat_seconds(absl::ToInt64Seconds(options_.heartbeat));
    return response;
  }
  if (snapshot.has_gap()) {
    // The agent dropped snapshots the collector had in fact received (an
    // acknowledgement was lost): nothing is lost, and the gap is refused so
    // that it cannot hide them. Not an equivocation: the agent rebases.
    return reject_chain(absl::FailedPreconditionError(
        absl::StrCat("gap ", snapshot.gap().first_seq(), "..", seq,
                     " overlaps snapshots held up to ", s.head.seq)));
  }
  const std::string detail =
      absl::StrCat(s.context,
                   ": equivocation: a different snapshot with this seq was "
                   "already accepted");
  registry_
      .RecordEvent("equivocation", snapshot.agent_id(), seq, detail, s.peer)
      .IgnoreError();  // the refusal below stands either way
  return s.Reject(absl::AlreadyExistsError(detail));
}

// 6. The writes: facts bodies not yet held (NEED_FACTS when one is neither
// held nor sent), the snapshot, its index entries, the agent, the log queue.
Ingestor::Refusal Ingestor::BuildBatch(Submission& s) const {
  // Those the agent's latest observations name are held (objects are never
  // deleted): a heartbeat repeats them, and asking the store for each cost
  // more than verifying the signature.
  absl::flat_hash_set<std::string> latest_digests;
  if (const HostPtr host = options_.fleet != nullptr
                               ? options_.fleet->Find(s.snapshot.agent_id())
                               : nullptr) {
    for (const auto& [check_id, o] : host->latest) {
      if (!o.facts_sha256().empty()) latest_digests.insert(o.facts_sha256());
    }
  }
  v1::SubmitResponse need = s.Answer(v1::SubmitResponse::NEED_FACTS);
  for (const std::string& digest : s.digests) {
    if (latest_digests.contains(digest)) continue;
    absl::StatusOr<std::optional<std::string>> held =
        store_.Get(Table::kObjects, digest);
    if (!held.ok()) return s.Reject(held.status());
    if (held->has_value()) continue;
    auto body = s.bodies.find(digest);
    if (body == s.bodies.end()) {
      need.add_missing_facts(digest);
    } else {
      s.batch.Put(Table::kObjects, digest, *body->second);
    }
  }
  if (need.missing_facts_size() > 0) return need;

  *s.stored.mutable_envelope() = s.envelope;
  *s.stored.mutable_received_at() = ToProto(clock_());
  s.observed = AddSnapshotWrites(s.snapshot, s.stored, s.agent, s.batch);
  TransparencyLog::Enqueue(s.batch, s.snapshot.agent_id(), s.snapshot.seq(),
                           s.envelope.payload(), s.envelope.signature());
  return std::nullopt;
}

// 7. Durably, before the answer.
Ingestor::Refusal Ingestor::Commit(const Submission& s) {
  if (absl::Status committed = store_.Commit(s.batch); !committed.ok()) {
    return s.Reject(absl::UnavailableError(
        absl::StrCat(s.context, ": not stored: ", committed.message())));
  }
  return std::nullopt;
}

// 8. What follows an accepted snapshot: its gap as an event, the fleet, the
// log, a clock claimed in the future.
void Ingestor::Notify(const Submission& s) {
  const v1::Snapshot& snapshot = s.snapshot;
  if (snapshot.has_gap()) {
    registry_
        .RecordEvent(
            "snapshots_lost", snapshot.agent_id(), snapshot.seq(),
            absl::StrCat("agent ", snapshot.agent_id(), " lost snapshots ",
                         snapshot.gap().first_seq(), "..", snapshot.seq(),
                         " before delivering them (signed gap snapshot ",
                         snapshot.seq(), ")"),
            s.peer)
        .IgnoreError();  // the gap snapshot itself is stored either way
  }
  if (options_.fleet != nullptr) options_.fleet->Update(s.agent, s.observed);
  if (options_.log != nullptr) options_.log->Notify();
  RecordClockSkew(snapshot, FromProto(s.stored.received_at()), s.peer);
}

}  // namespace evidentia::collector
