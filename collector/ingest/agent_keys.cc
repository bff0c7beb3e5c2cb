#include "collector/ingest/agent_keys.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace evidentia::collector {

const std::string* AgentKeyPem(const v1::AgentRecord& agent,
                               absl::string_view key_id) {
  if (agent.key_id() == key_id) return &agent.public_key_pem();
  for (const v1::KeyRotationRecord& rotation : agent.rotations()) {
    if (rotation.old_key_id() == key_id) return &rotation.old_public_key_pem();
  }
  return nullptr;
}

const std::string& KeyIdForSeq(const v1::AgentRecord& agent, uint64_t seq) {
  // Rotations are stored oldest first, with ascending last_seq.
  auto retired =
      std::lower_bound(agent.rotations().begin(), agent.rotations().end(), seq,
                       [](const v1::KeyRotationRecord& r, uint64_t s) {
                         return r.last_seq() < s;
                       });
  return retired == agent.rotations().end() ? agent.key_id()
                                            : retired->old_key_id();
}

absl::Status CheckKeyForSeq(const v1::AgentRecord& agent,
                            absl::string_view key_id, uint64_t seq) {
  const std::string& want = KeyIdForSeq(agent, seq);
  if (key_id == want) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(
      "snapshot ", seq, " of agent ", agent.agent_id(), " is signed by key ",
      absl::CHexEscape(key_id.substr(0, 64)), "; the agent's key for seq ", seq,
      " is ", want,
      want == agent.key_id() ? " (the signing key was retired)" : ""));
}

}  // namespace evidentia::collector
