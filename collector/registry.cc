#include "collector/registry.h"

#include <openssl/crypto.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "collector/keys.h"
#include "collector/records.h"
#include "common/ed25519.h"
#include "common/files.h"
#include "common/sha256.h"
#include "common/status_macros.h"
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
  Batch batch;
  batch.Put(Table::kTokens, Sha256(token), record.SerializeAsString());
  RETURN_IF_ERROR(store_.Commit(batch));

  v1::CreateTokenResponse response;
  response.set_token(token);
  *response.mutable_expires_at() = record.expires_at();
  response.set_uses(uses);
  return response;
}

absl::StatusOr<v1::EnrollResponse> Registry::Enroll(
    const v1::EnrollRequest& request) {
  absl::StatusOr<PublicKey> key = PublicKey::FromPem(request.public_key_pem());
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("enrolment key: ", key.status().message()));
  }
  for (const auto& [key, value] : request.labels()) {
    RETURN_IF_ERROR(ValidateLabel(key, value));
  }
  ASSIGN_OR_RETURN(std::string id_bytes, RandomBytes(16));
  const std::string agent_id = ToHex(id_bytes);
  const std::string token_hash = Sha256(request.token());
  const absl::Time now = clock_();

  absl::MutexLock lock(&tokens_mu_);
  ASSIGN_OR_RETURN(
      std::optional<v1::TokenRecord> stored,
      GetRecord<v1::TokenRecord>(store_, Table::kTokens, token_hash, "token"));
  if (!stored.has_value()) {
    return absl::UnauthenticatedError("enrolment token is not known");
  }
  v1::TokenRecord& token = *stored;
  if (FromProto(token.expires_at()) <= now) {
    return absl::UnauthenticatedError(
        absl::StrCat("enrolment token expired at ",
                     absl::FormatTime(FromProto(token.expires_at()))));
  }
  if (token.uses_left() == 0) {
    return absl::UnauthenticatedError("enrolment token is used up");
  }

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
  return response;
}

absl::StatusOr<std::optional<v1::AgentRecord>> Registry::GetAgent(
    absl::string_view agent_id) const {
  return GetRecord<v1::AgentRecord>(store_, Table::kAgents, agent_id,
                                    "agent record");
}

absl::StatusOr<std::vector<v1::AgentRecord>> Registry::ListAgents() const {
  return ScanRecords<v1::AgentRecord>(store_, Table::kAgents, "",
                                      "agent record");
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

absl::Status Registry::SetOperatorCredential(absl::string_view credential) {
  Batch batch;
  batch.Put(Table::kMeta, keys::kOperatorCredentialSha256,
            Sha256(std::string(credential)));
  return store_.Commit(batch);
}

absl::Status Registry::CheckOperatorCredential(
    absl::string_view credential) const {
  ASSIGN_OR_RETURN(std::optional<std::string> stored,
                   store_.Get(Table::kMeta, keys::kOperatorCredentialSha256));
  const std::string presented = Sha256(std::string(credential));
  if (!stored.has_value() || stored->size() != presented.size() ||
      CRYPTO_memcmp(stored->data(), presented.data(), presented.size()) != 0) {
    return absl::UnauthenticatedError("operator credential is not valid");
  }
  return absl::OkStatus();
}

}  // namespace evidentia::collector
