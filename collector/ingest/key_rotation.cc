// Ingestor::RotateKey: an agent hands its chain over to a new device key.
// The statement binds the rotation to the agent, its current key and the
// chain head the collector holds, so it cannot be replayed later, applied
// to another agent, or used to rewrite what the old key signed; the new
// key's signature proves the agent holds it.
#include <string>

#include "absl/strings/str_cat.h"
#include "collector/ingest/agent_keys.h"
#include "collector/ingest/ingest.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/envelope.h"
#include "common/pae.h"
#include "common/sha256.h"
#include "common/status_macros.h"

namespace evidentia::collector {

absl::StatusOr<v1::RotateKeyResponse> Ingestor::RotateKey(
    const v1::RotateKeyRequest& request, absl::string_view agent_id,
    absl::string_view peer) {
  const std::string& text = request.statement();
  absl::StatusOr<KeyRotation> statement = ParseKeyRotation(text);
  if (!statement.ok()) return statement.status();
  const std::string context =
      absl::StrCat("key rotation of agent ", statement->agent_id);
  if (statement->agent_id != agent_id) {
    const std::string detail =
        absl::StrCat("agent ", agent_id, " (by its client certificate) sent ",
                     context, "; refused");
    registry_.RecordEvent("wrong_agent", agent_id, statement->seq, detail, peer)
        .IgnoreError();  // the refusal below stands either way
    return absl::PermissionDeniedError(detail);
  }
  absl::StatusOr<PublicKey> new_key =
      PublicKey::FromPem(request.new_public_key_pem());
  if (!new_key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(context, ": new key: ", new_key.status().message()));
  }
  if (new_key->KeyId() != statement->new_key_id) {
    return absl::InvalidArgumentError(
        absl::StrCat(context, ": the new key's id is ", new_key->KeyId(),
                     ", the statement names ", statement->new_key_id));
  }
  const std::string signed_bytes = Pae(kKeyRotationPayloadType, text);

  absl::MutexLock lock(&AgentMutex(agent_id));
  ASSIGN_OR_RETURN(std::optional<v1::AgentRecord> found,
                   registry_.GetAgent(agent_id));
  if (!found.has_value()) {
    return absl::UnauthenticatedError(
        absl::StrCat(context, ": agent is not enrolled"));
  }
  v1::AgentRecord& agent = *found;
  if (agent.has_revoked_at()) {
    return absl::PermissionDeniedError(
        absl::StrCat(context, ": the agent was revoked"));
  }
  v1::RotateKeyResponse response;
  response.set_key_id(agent.key_id());
  // The same statement again, after it took effect: the agent lost the
  // answer. Anything else naming the current key as new is a replay.
  if (agent.rotations_size() > 0 &&
      agent.rotations(agent.rotations_size() - 1).statement() == text) {
    return response;
  }
  if (statement->old_key_id != agent.key_id()) {
    return absl::FailedPreconditionError(
        absl::StrCat(context, ": it retires key ", statement->old_key_id,
                     ", but the agent's key is ", agent.key_id()));
  }
  absl::StatusOr<PublicKey> old_key =
      PublicKey::FromPem(agent.public_key_pem());
  if (!old_key.ok()) return old_key.status();
  for (auto [key, signature, which] :
       {std::make_tuple(&*old_key, &request.old_signature(), "current"),
        std::make_tuple(&*new_key, &request.new_signature(), "new")}) {
    if (key->Verify(signed_bytes, *signature).ok()) continue;
    const std::string detail = absl::StrCat(context, ": the signature by the ",
                                            which, " key does not verify");
    registry_
        .RecordEvent("bad_rotation", agent_id, statement->seq, detail,
                     peer)
        .IgnoreError();  // the refusal below stands either way
    return absl::UnauthenticatedError(detail);
  }
  if (AgentKeyPem(agent, statement->new_key_id) != nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(context, ": key ", statement->new_key_id,
                     " was the agent's before; a retired key is never reused"));
  }
  if (agent.rotations_size() > 0 &&
      agent.rotations(agent.rotations_size() - 1).last_seq() ==
          agent.last_seq()) {
    return absl::FailedPreconditionError(
        absl::StrCat(context, ": the current key ", agent.key_id(),
                     " has signed no snapshot yet; deliver one first"));
  }
  if (statement->seq != agent.last_seq() ||
      statement->head != agent.last_payload_sha256()) {
    return absl::FailedPreconditionError(
        absl::StrCat(context, ": it follows seq ", statement->seq,
                     ", but the collector holds the agent's chain up to seq ",
                     agent.last_seq(),
                     (statement->seq == agent.last_seq() ? " (another "
                                                           "snapshot)"
                                                         : ""),
                     "; deliver every spooled snapshot first"));
  }

  v1::KeyRotationRecord* rotation = agent.add_rotations();
  rotation->set_statement(text);
  rotation->set_old_signature(request.old_signature());
  rotation->set_new_signature(request.new_signature());
  rotation->set_old_key_id(agent.key_id());
  rotation->set_old_public_key_pem(agent.public_key_pem());
  rotation->set_last_seq(statement->seq);
  *rotation->mutable_received_at() = ToProto(clock_());
  agent.set_key_id(new_key->KeyId());
  agent.set_public_key_pem(new_key->ToPem());
  Batch batch;
  batch.Put(Table::kAgents, agent_id, agent.SerializeAsString());
  if (absl::Status committed = store_.Commit(batch); !committed.ok()) {
    return absl::UnavailableError(
        absl::StrCat(context, ": not stored: ", committed.message()));
  }
  if (options_.fleet != nullptr) options_.fleet->Update(agent, {});
  registry_
      .RecordEvent(
          "key_rotated", agent_id, statement->seq,
          absl::StrCat("agent ", agent_id, " retired key ",
                       rotation->old_key_id(), " after seq ", statement->seq,
                       "; its key is now ", agent.key_id()),
          peer)
      .IgnoreError();  // the rotation itself is stored either way
  response.set_key_id(agent.key_id());
  return response;
}

}  // namespace evidentia::collector
