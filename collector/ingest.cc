#include "collector/ingest.h"

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
#include "collector/agent_keys.h"
#include "collector/evidence.h"
#include "collector/keys.h"
#include "collector/records.h"
#include "collector/transparency_log.h"
#include "common/ed25519.h"
#include "common/envelope.h"
#include "common/sha256.h"
#include "common/snapshot_chain.h"
#include "evidentia/v1/store.pb.h"

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
  if (skew <= max_clock_skew_) return;
  registry_
      .RecordEvent(
          "clock_skew", snapshot.agent_id(), snapshot.seq(),
          absl::StrCat("snapshot ", snapshot.seq(), " from agent ",
                       snapshot.agent_id(), " claims a collection time ",
                       absl::FormatDuration(skew),
                       " after the collector received it (limit ",
                       absl::FormatDuration(max_clock_skew_),
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

v1::SubmitResponse Ingestor::Submit(const v1::SubmitRequest& request,
                                    absl::string_view peer) {
  const v1::SignedSnapshot& envelope = request.envelope();
  if (envelope.payload().size() > kMaxPayloadBytes) {
    return Rejected(absl::InvalidArgumentError(
                        absl::StrCat("payload is ", envelope.payload().size(),
                                     " bytes; at most ", kMaxPayloadBytes)),
                    0, "");
  }
  size_t facts_bytes = 0;
  for (const std::string& body : request.facts()) facts_bytes += body.size();
  if (facts_bytes > kMaxFactsBytes) {
    return Rejected(absl::InvalidArgumentError(
                        absl::StrCat("facts bodies total ", facts_bytes,
                                     " bytes; at most ", kMaxFactsBytes)),
                    0, "");
  }
  std::string payload_sha256 = Sha256(envelope.payload());

  v1::Snapshot snapshot;
  if (!snapshot.ParseFromString(envelope.payload())) {
    return Rejected(
        absl::InvalidArgumentError("payload is not a Snapshot message"), 0,
        std::move(payload_sha256));
  }
  const uint64_t seq = snapshot.seq();
  auto reject = [&](const absl::Status& status) {
    return Rejected(status, seq, payload_sha256);
  };
  const std::string context =
      absl::StrCat("snapshot ", seq, " from agent ", snapshot.agent_id());

  absl::StatusOr<std::optional<v1::AgentRecord>> found =
      registry_.GetAgent(snapshot.agent_id());
  if (!found.ok()) return reject(found.status());
  if (!found->has_value()) {
    return reject(absl::UnauthenticatedError(
        absl::StrCat(context, ": agent is not enrolled")));
  }
  // The key the envelope names, if it is one of the agent's (which seqs it
  // may sign is checked under the lock); else the current one, which then
  // refuses the envelope.
  const std::string* pem = AgentKeyPem(**found, envelope.key_id());
  absl::StatusOr<PublicKey> key =
      PublicKey::FromPem(pem != nullptr ? *pem : (*found)->public_key_pem());
  if (!key.ok()) return reject(key.status());
  if (absl::Status verified = VerifyEnvelope(*key, envelope); !verified.ok()) {
    const std::string detail = absl::StrCat(context, ": ", verified.message());
    registry_
        .RecordEvent("bad_signature", snapshot.agent_id(), seq, detail,
                     peer)
        .IgnoreError();  // the refusal below stands either way
    return reject(absl::Status(verified.code(), detail));
  }
  // From here on the payload is the agent's own words.
  if (limiter_ != nullptr) {
    if (const absl::Duration wait = limiter_->Admit(snapshot.agent_id());
        wait > absl::ZeroDuration()) {
      v1::SubmitResponse response = reject(absl::ResourceExhaustedError(
          absl::StrCat(context, ": over this agent's rate; retry in ",
                       absl::FormatDuration(wait))));
      response.set_retry_after_ms(
          absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1))));
      return response;
    }
  }
  if (absl::Status shape = CheckShape(snapshot); !shape.ok()) {
    return reject(absl::Status(shape.code(),
                               absl::StrCat(context, ": ", shape.message())));
  }

  // Facts bodies: each must be named by the signed payload and parse.
  std::set<std::string> digests;
  for (const v1::Observation& o : snapshot.observations()) {
    if (!o.facts_sha256().empty()) digests.insert(o.facts_sha256());
  }
  std::map<std::string, const std::string*> bodies;
  for (const std::string& body : request.facts()) {
    std::string digest = Sha256(body);
    if (digests.count(digest) == 0) {
      return reject(absl::InvalidArgumentError(
          absl::StrCat(context, ": facts body ", ToHex(digest),
                       " is not named by the snapshot")));
    }
    v1::Facts facts;
    if (!facts.ParseFromString(body)) {
      return reject(absl::InvalidArgumentError(absl::StrCat(
          context, ": facts body ", ToHex(digest), " is not a Facts message")));
    }
    bodies.emplace(std::move(digest), &body);
  }

  absl::MutexLock lock(&AgentMutex(snapshot.agent_id()));
  // Re-read under the lock: another stream of this agent may have advanced.
  absl::StatusOr<std::optional<v1::AgentRecord>> current =
      registry_.GetAgent(snapshot.agent_id());
  if (!current.ok()) return reject(current.status());
  v1::AgentRecord agent = **current;
  // Under the lock, so nothing is accepted after a revocation is stored.
  if (agent.has_revoked_at()) {
    return reject(absl::PermissionDeniedError(
        absl::StrCat(context, ": the agent was revoked")));
  }
  if (absl::Status signer = CheckKeyForSeq(agent, envelope.key_id(), seq);
      !signer.ok()) {
    registry_
        .RecordEvent("retired_key", snapshot.agent_id(), seq, signer.message(),
                     peer)
        .IgnoreError();  // the refusal below stands either way
    return reject(signer);
  }
  const ChainHead head{agent.last_seq(), agent.last_payload_sha256()};

  // A chain refusal names the collector's head so that an agent can rebase
  // a refused gap snapshot on what is actually held (proto/README.md, Gaps).
  auto reject_chain = [&](const absl::Status& status) {
    v1::SubmitResponse response = reject(absl::Status(
        status.code(), absl::StrCat(context, ": ", status.message())));
    if (status.code() == absl::StatusCode::kFailedPrecondition) {
      response.set_head_seq(head.seq);
      response.set_head_payload_sha256(head.payload_sha256);
    }
    return response;
  };
  if (absl::Status chain = CheckNext(head, snapshot); !chain.ok()) {
    if (chain.code() != absl::StatusCode::kAlreadyExists) {
      return reject_chain(chain);
    }
    absl::StatusOr<std::optional<v1::StoredSnapshot>> stored =
        GetRecord<v1::StoredSnapshot>(store_, Table::kSnapshots,
                                      keys::Snapshot(snapshot.agent_id(), seq),
                                      "snapshot");
    if (!stored.ok()) return reject(stored.status());
    if (stored->has_value() &&
        Sha256((*stored)->envelope().payload()) == payload_sha256) {
      v1::SubmitResponse response;
      response.set_result(v1::SubmitResponse::DUPLICATE);
      response.set_seq(seq);
      response.set_payload_sha256(payload_sha256);
      response.set_heartbeat_seconds(absl::ToInt64Seconds(heartbeat_));
      return response;
    }
    if (snapshot.has_gap()) {
      // The agent dropped snapshots the collector had in fact received (an
      // acknowledgement was lost): nothing is lost, and the gap is refused so
      // that it cannot hide them. Not an equivocation: the agent rebases.
      return reject_chain(absl::FailedPreconditionError(
          absl::StrCat("gap ", snapshot.gap().first_seq(), "..", seq,
                       " overlaps snapshots held up to ", head.seq)));
    }
    const std::string detail =
        absl::StrCat(context,
                     ": equivocation: a different snapshot with this seq was "
                     "already accepted");
    registry_
        .RecordEvent("equivocation", snapshot.agent_id(), seq, detail,
                     peer)
        .IgnoreError();  // the refusal below stands either way
    return reject(absl::AlreadyExistsError(detail));
  }

  // Every digest must be held already or arrive now. Those the agent's
  // latest observations name are held (objects are never deleted): a
  // heartbeat repeats them, and asking the store for each cost more than
  // verifying the signature.
  absl::flat_hash_set<std::string> latest_digests;
  if (const HostPtr host =
          fleet_ != nullptr ? fleet_->Find(snapshot.agent_id()) : nullptr) {
    for (const auto& [check_id, o] : host->latest) {
      if (!o.facts_sha256().empty()) latest_digests.insert(o.facts_sha256());
    }
  }
  Batch batch;
  v1::SubmitResponse need;
  for (const std::string& digest : digests) {
    if (latest_digests.contains(digest)) continue;
    absl::StatusOr<std::optional<std::string>> held =
        store_.Get(Table::kObjects, digest);
    if (!held.ok()) return reject(held.status());
    if (held->has_value()) continue;
    auto body = bodies.find(digest);
    if (body == bodies.end()) {
      need.add_missing_facts(digest);
    } else {
      batch.Put(Table::kObjects, digest, *body->second);
    }
  }
  if (need.missing_facts_size() > 0) {
    need.set_result(v1::SubmitResponse::NEED_FACTS);
    need.set_seq(seq);
    need.set_payload_sha256(payload_sha256);
    return need;
  }

  v1::StoredSnapshot stored;
  *stored.mutable_envelope() = envelope;
  *stored.mutable_received_at() = ToProto(clock_());
  std::vector<v1::LatestObservation> observed =
      AddSnapshotWrites(snapshot, stored, agent, batch);
  TransparencyLog::Enqueue(batch, snapshot.agent_id(), seq, envelope.payload(),
                           envelope.signature());

  if (absl::Status committed = store_.Commit(batch); !committed.ok()) {
    return reject(absl::UnavailableError(
        absl::StrCat(context, ": not stored: ", committed.message())));
  }
  if (snapshot.has_gap()) {
    registry_
        .RecordEvent(
            "snapshots_lost", snapshot.agent_id(), seq,
            absl::StrCat("agent ", snapshot.agent_id(), " lost snapshots ",
                         snapshot.gap().first_seq(), "..", seq,
                         " before delivering them (signed gap snapshot ", seq,
                         ")"),
            peer)
        .IgnoreError();  // the gap snapshot itself is stored either way
  }
  if (fleet_ != nullptr) fleet_->Update(agent, observed);
  if (log_ != nullptr) log_->Notify();
  RecordClockSkew(snapshot, FromProto(stored.received_at()), peer);
  v1::SubmitResponse response;
  response.set_result(v1::SubmitResponse::ACCEPTED);
  response.set_seq(seq);
  response.set_payload_sha256(payload_sha256);
  response.set_heartbeat_seconds(absl::ToInt64Seconds(heartbeat_));
  return response;
}

}  // namespace evidentia::collector
