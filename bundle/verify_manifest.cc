// Steps 4 and 6 of verifying a bundle: manifest.json and the files it lists.
#include <algorithm>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bundle/paths.h"
#include "bundle/verify_internal.h"
#include "common/files.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "evidentia/v1/bundle.pb.h"
#include "google/protobuf/util/json_util.h"

namespace evidentia::collector::verify_internal {
namespace {

constexpr size_t kMaxManifestBytes = 256 << 20;

}  // namespace

// 4. manifest.json: its form, and what it says about the agents.
// (Parsed while SHA256SUMS is checked; CheckManifest then holds it
// against SHA256SUMS and the keys.)
absl::Status Verifier::ParseManifest() {
  constexpr const char* kM = bundle::kManifest;
  absl::StatusOr<std::string> json = ReadFile(dir_ / kM, kMaxManifestBytes);
  if (!json.ok()) {
    return Bad(kM, absl::StrCat("cannot read: ", json.status().message()));
  }
  manifest_sha256_ = Sha256(*json);
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (const auto parsed = google::protobuf::util::JsonStringToMessage(
          *json, &manifest_, options);
      !parsed.ok()) {
    return Bad(kM, absl::StrCat("not a BundleManifest: ",
                                std::string(parsed.message())));
  }
  if (manifest_.format() != bundle::kFormat) {
    return Bad(kM, absl::StrCat("format ", Quoted(manifest_.format()),
                                ", want \"", bundle::kFormat, "\""));
  }
  if (!manifest_.has_to()) return Bad(kM, "no end of period (to)");
  to_ = FromProto(manifest_.to());
  if (manifest_.has_from() && FromProto(manifest_.from()) > to_) {
    return Bad(kM, "the period ends before it starts");
  }
  agents_.reserve(manifest_.agents_size());
  for (int a = 0; a < manifest_.agents_size(); ++a) {
    const v1::BundleAgent& agent = manifest_.agents(a);
    const std::string where = absl::StrCat("agent ", Quoted(agent.agent_id()));
    if (!bundle::IsAgentId(agent.agent_id())) {
      return Bad(kM, absl::StrCat(where, " is not 32 lowercase hex digits"));
    }
    if (a > 0 && agent.agent_id() <= manifest_.agents(a - 1).agent_id()) {
      return Bad(kM, absl::StrCat(where,
                                  " is out of order or listed twice (agents "
                                  "are sorted by id)"));
    }
    AgentInfo& info = agents_.emplace_back();
    info.manifest = &agent;
    ASSIGN_OR_RETURN(info.key_path, bundle::AgentKeyPath(agent.agent_id()));
    for (int r = 0; r < agent.rotations_size(); ++r) {
      const v1::BundleKeyRotation& rotation = agent.rotations(r);
      const std::string at =
          absl::StrCat(where, " key rotation after seq ", rotation.last_seq());
      if (rotation.last_seq() == 0 ||
          (r > 0 && rotation.last_seq() <= agent.rotations(r - 1).last_seq())) {
        return Bad(kM, absl::StrCat(at,
                                    ": rotations must follow one another "
                                    "by ascending last_seq from 1"));
      }
      if (!IsLowerHex(rotation.old_key_id(), 2 * kSha256Size) ||
          rotation.new_key_id() != (r + 1 < agent.rotations_size()
                                        ? agent.rotations(r + 1).old_key_id()
                                        : agent.key_id())) {
        return Bad(kM, absl::StrCat(at,
                                    ": its new key is not the agent's "
                                    "next key (key chain broken)"));
      }
      RetiredKey& retired = info.retired.emplace_back();
      retired.manifest = &rotation;
      ASSIGN_OR_RETURN(
          retired.key_path,
          bundle::AgentRotationPath(agent.agent_id(), rotation.last_seq(),
                                    bundle::kRetiredKeyExtension));
    }
    agent_index_.emplace(agent.agent_id(), a);
    first_task_.push_back(tasks_.size());
    for (int j = 0; j < agent.snapshots_size(); ++j) {
      const v1::BundleSnapshot& s = agent.snapshots(j);
      const std::string at = absl::StrCat(where, " snapshot ", s.seq());
      if (s.seq() == 0) return Bad(kM, absl::StrCat(at, ": seq 0"));
      // A gap snapshot stands for the seqs it declares lost; its payload
      // must say the same (checked with the payload).
      const bool gap = s.gap_first_seq() != 0;
      if (gap != !s.gap_last_payload_sha256().empty() ||
          s.gap_first_seq() > s.seq() ||
          (gap && !IsLowerHex(s.gap_last_payload_sha256(), 2 * kSha256Size))) {
        return Bad(kM, absl::StrCat(at, ": malformed gap"));
      }
      const uint64_t first = gap ? s.gap_first_seq() : s.seq();
      if (j > 0 && first != agent.snapshots(j - 1).seq() + 1) {
        return Bad(kM, absl::StrCat(where, ": seq ", s.seq(), " follows seq ",
                                    agent.snapshots(j - 1).seq(),
                                    ": the chain must be consecutive"));
      }
      if (gap) {
        result_.gaps.push_back(absl::StrCat(
            "agent ", agent.agent_id(), " lost snapshots ", first, "..",
            s.seq(), " (signed gap snapshot ", s.seq(), ")"));
      }
      if (!IsLowerHex(s.payload_sha256(), 2 * kSha256Size)) {
        return Bad(kM, absl::StrCat(at, ": payload_sha256 is not 64 hex"));
      }
      if (!s.has_received_at()) {
        return Bad(kM, absl::StrCat(at, ": no received_at"));
      }
      tasks_.push_back({static_cast<uint32_t>(a), static_cast<uint32_t>(j)});
    }
    if (agent.snapshots_size() > 0) ++result_.chains;
  }
  std::set<std::pair<std::string, uint32_t>> manual;
  for (const v1::BundleManual& m : manifest_.manual()) {
    const std::string at = absl::StrCat(
        "manual evidence ", Quoted(m.control_id()), " ", m.number());
    if (!bundle::IsControlId(m.control_id()) || m.number() == 0) {
      return Bad(kM, absl::StrCat(at, ": not a control id and number from 1"));
    }
    if (!manual.emplace(m.control_id(), m.number()).second) {
      return Bad(kM, absl::StrCat(at, " is listed twice"));
    }
    if (!IsLowerHex(m.document_sha256(), 2 * kSha256Size)) {
      return Bad(kM, absl::StrCat(at, ": document_sha256 is not 64 hex"));
    }
    if (!m.has_received_at()) {
      return Bad(kM, absl::StrCat(at, ": no received_at"));
    }
  }
  return absl::OkStatus();
}

absl::Status Verifier::CheckManifest(const absl::Status& parsed) {
  constexpr const char* kM = bundle::kManifest;
  const int64_t listed = Find(kM);
  if (listed < 0) return Bad(kM, "missing (not listed in SHA256SUMS)");
  // Whatever the parse said, bytes that are not the listed ones come first.
  if (!manifest_sha256_.empty() && manifest_sha256_ != listed_[listed].sha256) {
    return Bad(kM, "content does not match its SHA-256 in SHA256SUMS");
  }
  RETURN_IF_ERROR(parsed);
  if (manifest_.collector_key_id() != result_.collector_key_id) {
    return Bad(
        kM,
        absl::StrCat("collector_key_id ", Quoted(manifest_.collector_key_id()),
                     " is not the fingerprint of ", bundle::kCollectorKey, " (",
                     result_.collector_key_id, ")"));
  }
  const std::string& soa = manifest_.soa_file();
  if (!absl::StartsWith(soa, "soa/") || !bundle::IsSafePath(soa) ||
      Find(soa) < 0) {
    return Bad(kM, absl::StrCat("soa_file ", Quoted(soa),
                                " is not a file of soa/ listed in SHA256SUMS"));
  }
  return absl::OkStatus();
}

// 6. No snapshot, proof or manual file the manifest does not list, and
// nothing under keys/ but the keys and key rotations it lists.
absl::Status Verifier::CheckLayout() {
  std::set<std::string, std::less<>> rotation_files;
  for (const AgentInfo& agent : agents_) {
    for (const RetiredKey& retired : agent.retired) {
      for (const char* extension :
           {bundle::kRetiredKeyExtension, bundle::kRotationExtension,
            bundle::kRotationSigExtension, bundle::kRotationNewSigExtension}) {
        ASSIGN_OR_RETURN(
            std::string path,
            bundle::AgentRotationPath(agent.manifest->agent_id(),
                                      retired.manifest->last_seq(), extension));
        rotation_files.insert(std::move(path));
      }
    }
  }
  std::set<std::string> manual;
  for (const v1::BundleManual& m : manifest_.manual()) {
    for (const char* ext : {"statement", "sig"}) {
      ASSIGN_OR_RETURN(std::string path,
                       bundle::ManualPath(m.control_id(), m.number(), ext));
      manual.insert(std::move(path));
    }
  }
  std::set<std::string> isms;
  for (const v1::BundleIsmsRecord& r : manifest_.isms()) {
    for (const char* ext : {"statement", "sig"}) {
      ASSIGN_OR_RETURN(std::string path,
                       bundle::IsmsRecordPath(r.number(), r.kind(), ext));
      isms.insert(std::move(path));
    }
    isms.insert(bundle::IsmsProofPath(r.number()));
  }
  // "<agent>/<seq>.<ext>" below snapshots/ or log/proofs/: the task of a
  // snapshot of the manifest, or -1.
  auto task_of = [&](absl::string_view rest,
                     absl::string_view want_ext) -> int64_t {
    const size_t slash = rest.find('/');
    if (slash == absl::string_view::npos) return -1;
    auto it = agent_index_.find(rest.substr(0, slash));
    if (it == agent_index_.end()) return -1;
    const absl::string_view name = rest.substr(slash + 1);
    const size_t dot = name.find('.');
    if (dot == absl::string_view::npos || name.substr(dot + 1) != want_ext) {
      return -1;
    }
    const absl::string_view digits = name.substr(0, dot);
    uint64_t seq = 0;
    if (digits.empty() || digits[0] == '0' || !absl::SimpleAtoi(digits, &seq)) {
      return -1;
    }
    const v1::BundleAgent& agent = *agents_[it->second].manifest;
    // Seqs ascend, sparse only behind gap snapshots.
    auto found =
        std::lower_bound(agent.snapshots().begin(), agent.snapshots().end(),
                         seq, [](const v1::BundleSnapshot& s, uint64_t want) {
                           return s.seq() < want;
                         });
    if (found == agent.snapshots().end() || found->seq() != seq) return -1;
    return first_task_[it->second] + (found - agent.snapshots().begin());
  };
  task_files_.assign(tasks_.size(), {-1, -1, -1});
  for (size_t i = 0; i < listed_.size(); ++i) {
    const absl::string_view path = listed_[i].path;
    if (absl::StartsWith(path, kSnapshotsDir)) {
      const absl::string_view rest = path.substr(strlen(kSnapshotsDir));
      int64_t task = task_of(rest, "payload");
      int kind = 0;
      if (task < 0) {
        task = task_of(rest, "sig");
        kind = 1;
      }
      if (task < 0) {
        return Bad(path, "a snapshot file manifest.json does not list");
      }
      task_files_[task][kind] = i;
    } else if (absl::StartsWith(path, kProofsDir)) {
      const int64_t task = task_of(path.substr(strlen(kProofsDir)), "proof");
      if (task < 0) {
        return Bad(path, "a proof of a snapshot manifest.json does not list");
      }
      task_files_[task][2] = i;
    } else if (absl::StartsWith(path, kManualDir)) {
      if (manual.count(listed_[i].path) == 0) {
        return Bad(path, "manual evidence manifest.json does not list");
      }
    } else if (absl::StartsWith(path, kIsmsDir)) {
      if (isms.count(listed_[i].path) == 0) {
        return Bad(path, "an ISMS record manifest.json does not list");
      }
    } else if (absl::StartsWith(path, kKeysDir)) {
      if (path != bundle::kFingerprints && path != bundle::kCollectorKey &&
          path != bundle::kOperatorKey && rotation_files.count(path) == 0 &&
          !IsAgentKeyPath(path)) {
        return Bad(path,
                   "not a key, a key rotation manifest.json lists or "
                   "FINGERPRINTS.txt");
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace evidentia::collector::verify_internal
