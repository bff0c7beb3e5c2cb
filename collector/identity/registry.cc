#include "collector/identity/registry.h"

#include <openssl/crypto.h>

#include <cstring>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "collector/identity/peer_identity.h"
#include "collector/store/keys.h"
#include "collector/store/records.h"
#include "common/ed25519.h"
#include "common/files.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "evidentia/v1/collector.pb.h"
#include "evidentia/v1/operator.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "evidentia/v1/store.pb.h"

namespace evidentia::collector {
namespace {

constexpr absl::string_view kTokenPrefix = "evt1_";

bool IsLabelText(absl::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

absl::Status ValidateLabel(absl::string_view key, absl::string_view value) {
  if (!IsLabelText(key) || !IsLabelText(value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "label ", key, "=", value,
        ": keys and values are 1-64 characters of A-Z a-z 0-9 . _ -"));
  }
  return absl::OkStatus();
}

}  // namespace

Registry::Registry(Store& store, Clock clock)
    : store_(store), clock_(std::move(clock)) {
  uint64_t seed = 0;
  if (absl::StatusOr<std::string> bytes = RandomBytes(sizeof(seed));
      bytes.ok()) {
    std::memcpy(&seed, bytes->data(), sizeof(seed));
  }
  event_counter_ = seed >> 1;  // room to count up without wrapping
}

absl::StatusOr<v1::CreateTokenResponse> Registry::CreateToken(
    absl::Duration ttl, uint32_t uses) {
  if (ttl == absl::ZeroDuration()) ttl = kDefaultTokenTtl;
  if (ttl < absl::ZeroDuration() || ttl > kMaxTokenTtl) {
    return absl::InvalidArgumentError(
        absl::StrCat("token ttl must be positive and at most ",
                     absl::FormatDuration(kMaxTokenTtl)));
  }
  if (uses == 0) uses = 1;
  ASSIGN_OR_RETURN(std::string secret, RandomBytes(24));
  const std::string token = absl::StrCat(kTokenPrefix, ToHex(secret));

  const absl::Time now = clock_();
  v1::TokenRecord record;
  *record.mutable_created_at() = ToProto(now);
  *record.mutable_expires_at() = ToProto(now + ttl);
  record.set_uses_left(uses);
  record.set_token_sha256(Sha256(token));
  Batch batch;
  batch.Put(Table::kTokens, record.token_sha256(), record.SerializeAsString());
  RETURN_IF_ERROR(store_.Commit(batch));

  v1::CreateTokenResponse response;
  response.set_token(token);
  *response.mutable_expires_at() = record.expires_at();
  response.set_uses(uses);
  return response;
}

absl::StatusOr<v1::EnrollResponse> Registry::Enroll(
    const v1::EnrollRequest& request, absl::string_view peer) {
  if (!ca_.has_value()) {
    return absl::FailedPreconditionError(
        "the collector has no CA to issue client certificates with");
  }
  absl::StatusOr<PublicKey> key = PublicKey::FromPem(request.public_key_pem());
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("enrolment key: ", key.status().message()));
  }
  for (const auto& [key, value] : request.labels()) {
    RETURN_IF_ERROR(ValidateLabel(key, value));
  }
  if (request.csr_pem().empty()) {
    return absl::InvalidArgumentError(
        "enrolment needs a certificate request for the agent's TLS key "
        "(an agent older than mutual TLS?)");
  }
  ASSIGN_OR_RETURN(std::string id_bytes, RandomBytes(16));
  const std::string agent_id = ToHex(id_bytes);
  const std::string token_hash = Sha256(request.token());
  const absl::Time now = clock_();

  absl::MutexLock lock(&tokens_mu_);
  ASSIGN_OR_RETURN(
      std::optional<v1::TokenRecord> stored,
      GetRecord<v1::TokenRecord>(store_, Table::kTokens, token_hash, "token"));
  // Records from before token_sha256 existed are keyed by it all the same.
  const std::string& stored_hash =
      stored.has_value() && !stored->token_sha256().empty()
          ? stored->token_sha256()
          : token_hash;
  if (!stored.has_value() || stored_hash.size() != token_hash.size() ||
      CRYPTO_memcmp(stored_hash.data(), token_hash.data(), token_hash.size()) !=
          0) {
    return absl::UnauthenticatedError("enrolment token is not known");
  }
  v1::TokenRecord& token = *stored;
  if (FromProto(token.expires_at()) <= now) {
    return absl::UnauthenticatedError(
        absl::StrCat("enrolment token expired at ",
                     absl::FormatTime(FromProto(token.expires_at()))));
  }
  if (token.uses_left() == 0) {
    // Whoever holds it now was not the one it was made for: an auditor
    // must see that.
    RecordEvent("token_reuse", "", 0,
                absl::StrCat("an enrolment token that was already used up "
                             "(created ",
                             absl::FormatTime(FromProto(token.created_at())),
                             ") was presented again; refused"),
                peer)
        .IgnoreError();  // the refusal stands either way
    return absl::UnauthenticatedError("enrolment token is used up");
  }
  ASSIGN_OR_RETURN(
      std::string client_cert,
      IssueClientCertificate(*ca_, request.csr_pem(), agent_id,
                             AgentUri(agent_id), kAgentCertValidity));

  v1::AgentRecord agent;
  agent.set_agent_id(agent_id);
  agent.set_key_id(key->KeyId());
  agent.set_public_key_pem(key->ToPem());
  *agent.mutable_host() = request.host();
  *agent.mutable_enrolled_at() = ToProto(now);
  *agent.mutable_labels() = request.labels();

  Batch batch;
  // A used-up token is kept (until it expires) so a second use is told
  // "used up", not "unknown".
  token.set_uses_left(token.uses_left() - 1);
  batch.Put(Table::kTokens, token_hash, token.SerializeAsString());
  batch.Put(Table::kAgents, agent_id, agent.SerializeAsString());
  RETURN_IF_ERROR(store_.Commit(batch));
  if (fleet_ != nullptr) fleet_->Update(agent, {});

  v1::EnrollResponse response;
  response.set_agent_id(agent_id);
  response.set_key_id(agent.key_id());
  response.set_client_cert_pem(std::move(client_cert));
  return response;
}

absl::StatusOr<std::optional<v1::AgentRecord>> Registry::GetAgent(
    absl::string_view agent_id) const {
  ASSIGN_OR_RETURN(std::optional<v1::AgentRecord> agent,
                   GetRecord<v1::AgentRecord>(store_, Table::kAgents, agent_id,
                                              "agent record"));
  if (!agent.has_value() || agent->has_revoked_at()) return agent;
  ASSIGN_OR_RETURN(std::optional<absl::Time> revoked, RevokedAt(agent_id));
  if (revoked.has_value()) *agent->mutable_revoked_at() = ToProto(*revoked);
  return agent;
}

absl::StatusOr<std::vector<v1::AgentRecord>> Registry::ListAgents() const {
  ASSIGN_OR_RETURN(
      std::vector<v1::AgentRecord> agents,
      ScanRecords<v1::AgentRecord>(store_, Table::kAgents, "", "agent record"));
  std::map<std::string, google::protobuf::Timestamp> revoked;
  absl::Status decoded;
  RETURN_IF_ERROR(store_.Scan(
      Table::kMeta, keys::kRevocationPrefix,
      [&](absl::string_view key, absl::string_view value) {
        absl::StatusOr<v1::AgentRevocation> revocation =
            DecodeRecord<v1::AgentRevocation>(value, "agent revocation");
        if (!revocation.ok()) {
          decoded = revocation.status();  // never list a revoked agent as not
          return false;
        }
        revoked[std::string(key.substr(keys::kRevocationPrefix.size()))] =
            revocation->revoked_at();
        return true;
      }));
  RETURN_IF_ERROR(decoded);
  for (v1::AgentRecord& agent : agents) {
    auto it = revoked.find(agent.agent_id());
    if (it != revoked.end()) *agent.mutable_revoked_at() = it->second;
  }
  return agents;
}

absl::StatusOr<std::optional<absl::Time>> Registry::RevokedAt(
    absl::string_view agent_id) const {
  ASSIGN_OR_RETURN(std::optional<v1::AgentRevocation> revocation,
                   GetRecord<v1::AgentRevocation>(store_, Table::kMeta,
                                                  keys::Revocation(agent_id),
                                                  "agent revocation"));
  if (!revocation.has_value()) return std::nullopt;
  return FromProto(revocation->revoked_at());
}

absl::StatusOr<v1::AgentRecord> Registry::Revoke(absl::string_view agent_id,
                                                 absl::string_view peer) {
  absl::MutexLock lock(&revoke_mu_);
  ASSIGN_OR_RETURN(std::optional<v1::AgentRecord> agent, GetAgent(agent_id));
  if (!agent.has_value()) {
    return absl::NotFoundError(absl::StrCat("no agent ", agent_id));
  }
  if (agent->has_revoked_at()) return *std::move(agent);
  v1::AgentRevocation revocation;
  *revocation.mutable_revoked_at() = ToProto(clock_());
  revocation.set_peer(std::string(peer));
  *agent->mutable_revoked_at() = revocation.revoked_at();
  // Only the revocation record is written: rewriting the agent record here
  // could race with ingest and roll its chain head back. Readers merge it.
  Batch batch;
  batch.Put(Table::kMeta, keys::Revocation(agent_id),
            revocation.SerializeAsString());
  RETURN_IF_ERROR(store_.Commit(batch));
  if (fleet_ != nullptr) fleet_->MarkRevoked(agent_id, agent->revoked_at());
  RecordEvent("revoked", agent_id, agent->last_seq(),
              "the operator revoked this agent; its later snapshots are "
              "refused, earlier ones stay valid",
              peer)
      .IgnoreError();  // the revocation stands either way
  return *std::move(agent);
}

absl::Status Registry::RecordEvent(absl::string_view kind,
                                   absl::string_view agent_id, uint64_t seq,
                                   absl::string_view detail,
                                   absl::string_view peer) {
  const absl::Time now = clock_();
  v1::SecurityEvent event;
  *event.mutable_at() = ToProto(now);
  event.set_kind(std::string(kind));
  event.set_agent_id(std::string(agent_id));
  event.set_seq(seq);
  event.set_detail(std::string(detail));
  event.set_peer(std::string(peer));
  Batch batch;
  batch.Put(Table::kEvents,
            keys::Event(absl::ToUnixMicros(now), event_counter_.fetch_add(1)),
            event.SerializeAsString());
  return store_.Commit(batch);
}

absl::StatusOr<std::vector<v1::SecurityEvent>> Registry::ListEvents() const {
  return ScanRecords<v1::SecurityEvent>(store_, Table::kEvents, "",
                                        "security event");
}

}  // namespace evidentia::collector
