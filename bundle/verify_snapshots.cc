// Steps 7 and 9: the log checkpoint; each snapshot's signature, chain, proof.
#include <fcntl.h>

#include <array>
#include <cerrno>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "bundle/paths.h"
#include "bundle/verify_internal.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/envelope.h"
#include "common/limits.h"
#include "common/merkle.h"
#include "common/pae.h"
#include "common/sha256.h"
#include "common/snapshot_chain.h"
#include "common/status_macros.h"
#include "evidentia/v1/snapshot.pb.h"

namespace evidentia::collector::verify_internal {
namespace {

constexpr size_t kMaxCheckpointBytes = 4 << 10;
constexpr size_t kMaxProofBytes = 16 << 10;
// Check ids longer than this are not interned (kUngradedCheck).
constexpr size_t kMaxCheckIdBytes = 256;
// Snapshots handed to a worker at a time.
constexpr size_t kChunk = 32;

}  // namespace

// 7. log/checkpoint: signed by the collector, naming its key and the
// manifest's log size.
absl::Status Verifier::CheckCheckpoint() {
  ASSIGN_OR_RETURN(const std::string* text, Kept(bundle::kCheckpoint));
  ASSIGN_OR_RETURN(const std::string* signature, Kept(bundle::kCheckpointSig));
  if (text->size() > kMaxCheckpointBytes) {
    return Bad(bundle::kCheckpoint, "too large for a checkpoint");
  }
  if (!collector_key_->Verify(*text, *signature).ok()) {
    return Forged(bundle::kCheckpointSig,
                  absl::StrCat("not a valid signature of ", bundle::kCheckpoint,
                               " under ", bundle::kCollectorKey));
  }
  absl::StatusOr<Checkpoint> checkpoint = ParseCheckpoint(*text);
  if (!checkpoint.ok()) {
    return Bad(bundle::kCheckpoint, checkpoint.status().message());
  }
  checkpoint_ = *std::move(checkpoint);
  if (checkpoint_.collector_key_id != result_.collector_key_id) {
    return Bad(
        bundle::kCheckpoint,
        absl::StrCat("names collector key ", checkpoint_.collector_key_id,
                     ", not ", bundle::kCollectorKey, "'s ",
                     result_.collector_key_id));
  }
  if (checkpoint_.size != manifest_.log_size()) {
    return Bad(bundle::kCheckpoint,
               absl::StrCat("tree size ", checkpoint_.size,
                            ", but manifest.json says log_size ",
                            manifest_.log_size()));
  }
  for (const AgentInfo& agent : agents_) {
    for (const v1::BundleSnapshot& s : agent.manifest->snapshots()) {
      if (s.log_index() >= checkpoint_.size) {
        return Bad(
            bundle::kManifest,
            absl::StrCat("agent ", agent.manifest->agent_id(), " snapshot ",
                         s.seq(), ": log_index ", s.log_index(),
                         " is outside the log of size ", checkpoint_.size));
      }
    }
  }
  return absl::OkStatus();
}

// 9. Every snapshot, in parallel.
absl::Status Verifier::CheckSnapshots() {
  task_ids_.assign(tasks_.size(), {});
  std::vector<SnapshotWorker> workers(threads_);
  return ParallelFor(
      tasks_.size(), threads_, kChunk,
      [&](int worker, size_t t) { return CheckSnapshot(workers[worker], t); });
}

absl::StatusOr<uint16_t> Verifier::Intern(SnapshotWorker& worker,
                                          const std::string& check_id,
                                          absl::string_view payload_path) {
  // Longer ids name no probe of any policy: they cannot matter to grading.
  if (check_id.size() > kMaxCheckIdBytes) return kUngradedCheck;
  auto it = worker.ids.find(check_id);
  if (it != worker.ids.end()) return it->second;
  absl::MutexLock lock(&intern_mu_);
  auto [global, inserted] =
      interned_.try_emplace(check_id, static_cast<uint16_t>(interned_.size()));
  if (inserted && interned_.size() > kUngradedCheck) {
    interned_.erase(global);
    return Bad(payload_path,
               "one check id too many: the bundle's snapshots "
               "name more than 65535 different ones");
  }
  worker.ids.emplace(check_id, global->second);
  return global->second;
}

absl::Status Verifier::CheckSnapshot(SnapshotWorker& worker, size_t task) {
  const AgentInfo& agent = agents_[tasks_[task].agent];
  const v1::BundleAgent& entry = *agent.manifest;
  const int j = static_cast<int>(tasks_[task].index);
  const v1::BundleSnapshot& s = entry.snapshots(j);
  const std::string& id = entry.agent_id();

  // The payload, signature and proof: each listed, each read once, relative
  // to its agent's directories.
  const std::array<int64_t, 3>& listed = task_files_[task];
  static constexpr const char* kExtensions[3] = {"payload", "sig", "proof"};
  for (int f = 0; f < 3; ++f) {
    if (listed[f] < 0) {
      return Bad(absl::StrCat(f == 2 ? kProofsDir : kSnapshotsDir, id, "/",
                              s.seq(), ".", kExtensions[f]),
                 "missing (manifest.json lists it)");
    }
  }
  const std::string& payload_path = listed_[listed[0]].path;
  const std::string& sig_path = listed_[listed[1]].path;
  const std::string& proof_path = listed_[listed[2]].path;
  if (worker.agent != tasks_[task].agent) {
    worker.agent = -1;
    worker.snapshots_dir.reset();
    worker.proofs_dir.reset();
    for (auto [dir, rel, fd] :
         {std::make_tuple(kSnapshotsDir, &payload_path, &worker.snapshots_dir),
          std::make_tuple(kProofsDir, &proof_path, &worker.proofs_dir)}) {
      const std::string path = absl::StrCat(root_, "/", dir, id);
      const int raw =
          ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (raw < 0) return OpenError(*rel, errno);
      fd->emplace(raw);
    }
    worker.agent = tasks_[task].agent;
  }
  auto read = [&](int f, int dir_fd,
                  size_t max) -> absl::StatusOr<absl::string_view> {
    const std::string& path = listed_[listed[f]].path;
    const char* name = path.c_str() + path.rfind('/') + 1;
    ASSIGN_OR_RETURN(absl::string_view bytes,
                     ReadInto(dir_fd, name, path, max, worker.buffers[f]));
    if (Sha256(std::string_view(bytes.data(), bytes.size())) ==
        listed_[listed[f]].sha256) {
      return bytes;
    }
    // A short read reads as a wrong digest: read it again the careful way
    // before calling it a mismatch.
    ASSIGN_OR_RETURN(std::string again, ReadAt(dir_fd, name, path, max));
    if (Sha256(again) != listed_[listed[f]].sha256) {
      return Bad(path, "content does not match its SHA-256 in SHA256SUMS");
    }
    worker.buffers[f].replace(0, again.size(), again);
    return absl::string_view(worker.buffers[f].data(), again.size());
  };
  ASSIGN_OR_RETURN(const absl::string_view payload,
                   read(0, worker.snapshots_dir->get(), kMaxPayloadBytes));
  ASSIGN_OR_RETURN(const absl::string_view signature,
                   read(1, worker.snapshots_dir->get(), kMaxSignatureBytes));
  if (ToHex(listed_[listed[0]].sha256) != s.payload_sha256()) {
    return Bad(payload_path,
               "its SHA-256 is not manifest.json's payload_sha256");
  }
  if (signature.size() != kEd25519SignatureSize) {
    return Bad(sig_path, absl::StrCat(signature.size(),
                                      " bytes; an Ed25519 signature is 64"));
  }
  const auto [key, key_path] = agent.KeyFor(s.seq());
  if (!key->Verify(Pae(kSnapshotPayloadType,
                       std::string_view(payload.data(), payload.size())),
                   std::string_view(signature.data(), signature.size()))
           .ok()) {
    return Forged(sig_path, absl::StrCat("not a valid signature of ",
                                         payload_path, " under ", *key_path));
  }
  v1::Snapshot snapshot;
  if (!snapshot.ParseFromArray(payload.data(),
                               static_cast<int>(payload.size()))) {
    return Bad(payload_path, "not a Snapshot message");
  }
  if (snapshot.agent_id() != id) {
    return Bad(payload_path,
               absl::StrCat("names agent ", Quoted(snapshot.agent_id()),
                            ", not the agent of its path"));
  }
  if (snapshot.seq() != s.seq()) {
    return Bad(payload_path, absl::StrCat("has seq ", snapshot.seq(),
                                          ", not the seq of its path"));
  }
  // A gap snapshot (proto/README.md, "Gaps"): well formed, and what the
  // manifest says of it, so the chain checks below can rely on the manifest.
  if (absl::Status shape = CheckGapShape(snapshot); !shape.ok()) {
    return Bad(payload_path, shape.message());
  }
  if (snapshot.has_gap() != (s.gap_first_seq() != 0) ||
      (snapshot.has_gap() && (snapshot.gap().first_seq() != s.gap_first_seq() ||
                              ToHex(snapshot.gap().last_payload_sha256()) !=
                                  s.gap_last_payload_sha256()))) {
    return Bad(payload_path, "its gap is not the one manifest.json lists");
  }
  // The chain: the first snapshot of the bundle may follow anything (its
  // predecessor was before the period) unless it is the agent's first.
  const std::string& prev = snapshot.prev_payload_sha256();
  const uint64_t first =
      snapshot.has_gap() ? snapshot.gap().first_seq() : s.seq();
  if (j == 0) {
    if (first == 1 && prev != std::string(kSha256Size, '\0')) {
      return Bad(payload_path,
                 "seq 1 must have 32 zero bytes as prev_payload_sha256");
    }
    if (prev.size() != kSha256Size) {
      return Bad(payload_path, "prev_payload_sha256 is not 32 bytes");
    }
  } else {
    // After a gap snapshot the chain continues from the lost snapshot's
    // digest it names.
    const v1::BundleSnapshot& before = entry.snapshots(j - 1);
    const bool after_gap = !before.gap_last_payload_sha256().empty();
    if (prev != FromHex(after_gap ? before.gap_last_payload_sha256()
                                  : before.payload_sha256())) {
      return Bad(payload_path,
                 absl::StrCat("prev_payload_sha256 is not ",
                              after_gap ? "the last_payload_sha256 of gap "
                                          "snapshot "
                                        : "the SHA-256 of ",
                              kSnapshotsDir, id, "/", before.seq(),
                              ".payload: the chain is broken"));
    }
  }
  // A key rotation after this seq names the chain digest it hands over.
  for (const RetiredKey& retired : agent.retired) {
    if (retired.manifest->last_seq() != s.seq()) continue;
    const ChainHead head = HeadAfterSnapshot(
        snapshot, std::string_view(payload.data(), payload.size()));
    if (head.payload_sha256 != retired.head) {
      return Bad(payload_path,
                 absl::StrCat("is not the chain head the key rotation after "
                              "it names (",
                              retired.key_path, ")"));
    }
  }
  std::vector<uint16_t>& ids = task_ids_[task];
  ids.reserve(snapshot.observations_size());
  for (const v1::Observation& o : snapshot.observations()) {
    if (!o.facts_sha256().empty()) {
      if (o.facts_sha256().size() != kSha256Size) {
        return Bad(payload_path,
                   absl::StrCat("observation ", Quoted(o.check_id()),
                                " has a facts digest that is not 32 bytes"));
      }
      if (!objects_.contains(o.facts_sha256())) {
        return Bad(payload_path,
                   absl::StrCat("names facts ", ToHex(o.facts_sha256()),
                                " but ", kObjectsDir, ToHex(o.facts_sha256()),
                                " is not in the bundle"));
      }
    }
    ASSIGN_OR_RETURN(const uint16_t check,
                     Intern(worker, o.check_id(), payload_path));
    ids.push_back(check);
  }

  ASSIGN_OR_RETURN(const absl::string_view proof_text,
                   read(2, worker.proofs_dir->get(), kMaxProofBytes));
  absl::StatusOr<InclusionProof> proof = ParseInclusionProof(
      std::string_view(proof_text.data(), proof_text.size()));
  if (!proof.ok()) return Bad(proof_path, proof.status().message());
  if (proof->size != checkpoint_.size) {
    return Bad(proof_path,
               absl::StrCat("is for a tree of size ", proof->size,
                            ", log/checkpoint is of size ", checkpoint_.size));
  }
  if (proof->index != s.log_index()) {
    return Bad(proof_path,
               absl::StrCat("is for leaf ", proof->index,
                            ", manifest.json says log_index ", s.log_index()));
  }
  if (absl::Status included = merkle::VerifyInclusion(
          proof->index, proof->size,
          merkle::SnapshotLeafHash(
              std::string_view(payload.data(), payload.size()),
              std::string_view(signature.data(), signature.size())),
          proof->hashes, checkpoint_.root);
      !included.ok()) {
    return Forged(proof_path,
                  absl::StrCat("does not lead to the root of log/checkpoint: ",
                               included.message()));
  }
  return absl::OkStatus();
}

}  // namespace evidentia::collector::verify_internal
