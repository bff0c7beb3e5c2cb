// Step 5 of verifying a bundle: the keys, key rotations and FINGERPRINTS.txt.
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bundle/paths.h"
#include "bundle/verify_internal.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/envelope.h"
#include "common/pae.h"
#include "common/status_macros.h"

namespace evidentia::collector::verify_internal {

// 5. The keys: each agent's is the one its manifest entry names, the
// operator's is the manifest's, and FINGERPRINTS.txt lists them all.
absl::Status Verifier::CheckKeys() {
  auto parse = [&](absl::string_view path,
                   const std::string& pem) -> absl::StatusOr<PublicKey> {
    absl::StatusOr<PublicKey> key = PublicKey::FromPem(pem);
    if (!key.ok()) {
      return Bad(path, absl::StrCat("not an Ed25519 public key: ",
                                    key.status().message()));
    }
    return key;
  };
  // Parsing PEM is slow in OpenSSL 3: every agent's key in parallel.
  RETURN_IF_ERROR(ParallelFor(
      agents_.size(), threads_, 4, [&](int, size_t a) -> absl::Status {
        AgentInfo& agent = agents_[a];
        if (Find(agent.key_path) < 0) {
          return Bad(agent.key_path, "missing (manifest.json lists the agent)");
        }
        ASSIGN_OR_RETURN(const std::string* pem, Kept(agent.key_path));
        agent.pem = *pem;
        ASSIGN_OR_RETURN(PublicKey key, parse(agent.key_path, agent.pem));
        const std::string id = key.KeyId();
        if (id != agent.manifest->key_id()) {
          return Bad(agent.key_path,
                     absl::StrCat("fingerprint ", id, " is not the key_id ",
                                  Quoted(agent.manifest->key_id()),
                                  " manifest.json gives agent ",
                                  agent.manifest->agent_id()));
        }
        agent.key = std::move(key);
        return CheckRotations(agent);
      }));
  if (Find(bundle::kOperatorKey) >= 0) {
    ASSIGN_OR_RETURN(const std::string* pem, Kept(bundle::kOperatorKey));
    ASSIGN_OR_RETURN(PublicKey key, parse(bundle::kOperatorKey, *pem));
    if (key.KeyId() != manifest_.operator_key_id()) {
      return Bad(bundle::kOperatorKey,
                 absl::StrCat("fingerprint ", key.KeyId(),
                              " is not manifest.json's operator_key_id ",
                              Quoted(manifest_.operator_key_id())));
    }
    operator_key_ = std::move(key);
  } else if (manifest_.manual_size() > 0) {
    return Bad(bundle::kOperatorKey,
               "missing (manifest.json lists manual evidence)");
  }

  // FINGERPRINTS.txt: every key of keys/, in path order.
  std::string expected;
  for (size_t i = 0; i < listed_.size(); ++i) {
    const std::string& path = listed_[i].path;
    if (!absl::StartsWith(path, kKeysDir) ||
        !absl::EndsWith(path, ".pub.pem")) {
      continue;
    }
    std::string id;
    if (path == bundle::kCollectorKey) {
      id = result_.collector_key_id;
    } else if (path == bundle::kOperatorKey) {
      id = operator_key_->KeyId();
    } else if (absl::StartsWith(path, kAgentKeysDir)) {
      // keys/agents/<agent>.pub.pem, or a retired key in keys/agents/<agent>/.
      const std::string agent_id = path.substr(strlen(kAgentKeysDir), 32);
      auto it = agent_index_.find(agent_id);
      if (it == agent_index_.end()) {
        return Bad(path, "the key of an agent manifest.json does not list");
      }
      const AgentInfo& agent = agents_[it->second];
      id = agent.manifest->key_id();
      for (const RetiredKey& retired : agent.retired) {
        if (retired.key_path == path) id = retired.manifest->old_key_id();
      }
    } else {
      ASSIGN_OR_RETURN(PublicKey key, parse(path, kept_[i]));
      id = key.KeyId();
    }
    absl::StrAppend(&expected, id, "  ", path, "\n");
  }
  ASSIGN_OR_RETURN(const std::string* listed, Kept(bundle::kFingerprints));
  if (*listed != expected) {
    const std::vector<absl::string_view> want = absl::StrSplit(expected, '\n');
    const std::vector<absl::string_view> have = absl::StrSplit(*listed, '\n');
    size_t line = 0;
    while (line < want.size() && line < have.size() &&
           want[line] == have[line]) {
      ++line;
    }
    return Bad(bundle::kFingerprints,
               absl::StrCat("line ", line + 1, " is ",
                            Quoted(line < have.size() ? have[line] : ""),
                            "; the keys in keys/ give ",
                            Quoted(line < want.size() ? want[line] : "")));
  }
  return absl::OkStatus();
}

// 5b. Each retired key of `agent` is the one the manifest names, and its
// rotation statement, signed by it and by the next key, hands the chain
// over to that next key after the seq the manifest lists.
absl::Status Verifier::CheckRotations(AgentInfo& agent) {
  const std::string& agent_id = agent.manifest->agent_id();
  for (RetiredKey& retired : agent.retired) {
    ASSIGN_OR_RETURN(const std::string* pem, Kept(retired.key_path));
    absl::StatusOr<PublicKey> key = PublicKey::FromPem(*pem);
    if (!key.ok()) {
      return Bad(retired.key_path, absl::StrCat("not an Ed25519 public key: ",
                                                key.status().message()));
    }
    if (key->KeyId() != retired.manifest->old_key_id()) {
      return Bad(retired.key_path,
                 absl::StrCat("fingerprint ", key->KeyId(),
                              " is not the old_key_id manifest.json gives"));
    }
    retired.key = *std::move(key);
  }
  for (size_t r = 0; r < agent.retired.size(); ++r) {
    RetiredKey& retired = agent.retired[r];
    const v1::BundleKeyRotation& listed = *retired.manifest;
    auto path = [&](const char* extension) {
      return bundle::AgentRotationPath(agent_id, listed.last_seq(), extension);
    };
    ASSIGN_OR_RETURN(const std::string statement_path,
                     path(bundle::kRotationExtension));
    ASSIGN_OR_RETURN(const std::string* text, Kept(statement_path));
    absl::StatusOr<KeyRotation> statement = ParseKeyRotation(*text);
    if (!statement.ok()) {
      return Bad(statement_path, statement.status().message());
    }
    if (statement->agent_id != agent_id ||
        statement->old_key_id != listed.old_key_id() ||
        statement->new_key_id != listed.new_key_id() ||
        statement->seq != listed.last_seq()) {
      return Bad(statement_path,
                 "is not the rotation manifest.json lists (agent, old key, "
                 "new key and seq must match)");
    }
    retired.head = statement->head;
    const std::string signed_bytes = Pae(kKeyRotationPayloadType, *text);
    const PublicKey& next =
        r + 1 < agent.retired.size() ? *agent.retired[r + 1].key : *agent.key;
    for (auto [extension, signer] :
         {std::pair<const char*, const PublicKey*>{
              bundle::kRotationSigExtension, &*retired.key},
          {bundle::kRotationNewSigExtension, &next}}) {
      ASSIGN_OR_RETURN(const std::string sig_path, path(extension));
      ASSIGN_OR_RETURN(const std::string* signature, Kept(sig_path));
      if (!signer->Verify(signed_bytes, *signature).ok()) {
        return Forged(sig_path,
                      absl::StrCat("not a valid signature of ", statement_path,
                                   " under key ", signer->KeyId()));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace evidentia::collector::verify_internal
