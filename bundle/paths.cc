#include "bundle/paths.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/files.h"
#include "common/sha256.h"

namespace evidentia::collector::bundle {
namespace {

bool IsLowerHex(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(c) && (c < 'a' || c > 'f')) return false;
  }
  return true;
}

bool IsDigits(absl::string_view s) {
  if (s.empty() || s.size() > 4) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

absl::Status Refuse(absl::string_view what, absl::string_view id) {
  return absl::InvalidArgumentError(
      absl::StrCat("refusing ", what, " \"", absl::CHexEscape(id),
                   "\" as a bundle path component"));
}

}  // namespace

bool IsAgentId(absl::string_view id) {
  return id.size() == 32 && IsLowerHex(id);
}

bool IsControlId(absl::string_view id) {
  if (!absl::ConsumePrefix(&id, "a.")) return false;
  const size_t dot = id.find('.');
  return dot != absl::string_view::npos && IsDigits(id.substr(0, dot)) &&
         IsDigits(id.substr(dot + 1));
}

absl::StatusOr<std::string> AgentKeyPath(absl::string_view agent_id) {
  if (!IsAgentId(agent_id)) return Refuse("agent id", agent_id);
  return absl::StrCat("keys/agents/", agent_id, ".pub.pem");
}

absl::StatusOr<std::string> AgentRotationPath(absl::string_view agent_id,
                                              uint64_t last_seq,
                                              absl::string_view extension) {
  if (!IsAgentId(agent_id)) return Refuse("agent id", agent_id);
  return absl::StrCat("keys/agents/", agent_id, "/", last_seq, ".", extension);
}

absl::StatusOr<std::string> SnapshotPath(absl::string_view agent_id,
                                         uint64_t seq,
                                         absl::string_view extension) {
  if (!IsAgentId(agent_id)) return Refuse("agent id", agent_id);
  return absl::StrCat("snapshots/", agent_id, "/", seq, ".", extension);
}

absl::StatusOr<std::string> ProofPath(absl::string_view agent_id,
                                      uint64_t seq) {
  if (!IsAgentId(agent_id)) return Refuse("agent id", agent_id);
  return absl::StrCat("log/proofs/", agent_id, "/", seq, ".proof");
}

absl::StatusOr<std::string> ObjectPath(absl::string_view sha256) {
  if (sha256.size() != kSha256Size) return Refuse("digest", sha256);
  return absl::StrCat("objects/", ToHex(std::string(sha256)));
}

absl::StatusOr<std::string> ManualPath(absl::string_view control_id,
                                       uint32_t number,
                                       absl::string_view extension) {
  if (!IsControlId(control_id)) return Refuse("control id", control_id);
  return absl::StrCat("manual/", control_id, "/", number, ".", extension);
}

absl::StatusOr<std::string> IsmsRecordPath(uint64_t number,
                                           absl::string_view kind,
                                           absl::string_view extension) {
  // Lower case words joined by '-': "document", "action-close".
  if (kind.empty() || kind.size() > 32 || kind.front() == '-' ||
      kind.back() == '-' || !std::all_of(kind.begin(), kind.end(), [](char c) {
        return absl::ascii_islower(c) || c == '-';
      })) {
    return Refuse("ISMS record kind", kind);
  }
  return absl::StrCat("isms/", number, ".", kind, ".", extension);
}

std::string IsmsProofPath(uint64_t number) {
  return absl::StrCat("isms/", number, ".proof");
}

bool IsSafePath(absl::string_view path) {
  return IsPlainRelativePath(std::string_view(path.data(), path.size()), 6,
                             255);
}

}  // namespace evidentia::collector::bundle
