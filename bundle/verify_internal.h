// Internals of the bundle verifier (bundle/verify.h) shared by its files.
#ifndef EVIDENTIA_BUNDLE_VERIFY_INTERNAL_H_
#define EVIDENTIA_BUNDLE_VERIFY_INTERNAL_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "bundle/verify.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/files.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "evidentia/v1/bundle.pb.h"
#include "grading/evidence.h"
#include "grading/grading.h"
#include "grading/policy.h"

namespace evidentia::collector::verify_internal {

namespace fs = std::filesystem;

// Read limits: a bundle is input from outside; nothing is read unbounded.
// (The limits of one step sit beside it.)
inline constexpr size_t kMaxSignatureBytes = 4 << 10;
// What Intern gives a check id too long to intern (kMaxCheckIdBytes).
inline constexpr uint16_t kUngradedCheck = 0xffff;

inline constexpr char kObjectsDir[] = "objects/";
inline constexpr char kSnapshotsDir[] = "snapshots/";
inline constexpr char kProofsDir[] = "log/proofs/";
inline constexpr char kManualDir[] = "manual/";
inline constexpr char kIsmsDir[] = "isms/";
inline constexpr char kKeysDir[] = "keys/";
inline constexpr char kAgentKeysDir[] = "keys/agents/";

// A verification failure: the file first, then what is wrong. Bad is
// DATA_LOSS; Forged, for a signature or proof that does not verify,
// UNAUTHENTICATED.
absl::Status Bad(absl::string_view path, absl::string_view what);
absl::Status Forged(absl::string_view path, absl::string_view what);

// Whether `s` is `size` lowercase hex digits.
bool IsLowerHex(absl::string_view s, size_t size);

// Raw bytes of lowercase hex already checked by IsLowerHex.
std::string FromHex(absl::string_view hex);

// `s` (its first 200 bytes) in double quotes, C-escaped, for messages.
std::string Quoted(absl::string_view s);

// Runs `fn(worker, i)` for every i in [0, n) on up to `threads` threads
// (the caller included; `worker` in [0, threads) names the thread, for
// per-thread state), a chunk at a time, and returns the error of the
// smallest i that failed: every i below it is checked, those above it may
// be skipped. The answer is the same whatever the scheduling.
absl::Status ParallelFor(size_t n, int threads, size_t chunk,
                         const std::function<absl::Status(int, size_t)>& fn);

using Fd = ScopedFd;

// Reading the bundle (bundle/verify_read.cc): every read is bounded, never
// follows a final symlink, and fails naming the file by its bundle-relative
// path `rel`.

// Why `rel` could not be opened, from the errno `error`.
absl::Status OpenError(absl::string_view rel, int error);

// The whole of `name` relative to `dir_fd`: one open, one stat, one read.
absl::StatusOr<std::string> ReadAt(int dir_fd, const char* name,
                                   absl::string_view rel, size_t max);

// The whole of `name` relative to `dir_fd` into `buffer`, which keeps its
// size between calls: open, one read, close, no stat. For files the tree
// walk found regular: O_NONBLOCK keeps a FIFO swapped in from blocking, and
// a short read can only make the digest check that follows fail (callers
// then read again with ReadAt).
absl::StatusOr<absl::string_view> ReadInto(int dir_fd, const char* name,
                                           absl::string_view rel, size_t max,
                                           std::string& buffer);

// The whole of `rel` below `root`.
absl::StatusOr<std::string> ReadBundleFile(const std::string& root,
                                           absl::string_view rel, size_t max);

// Reads `rel` and returns its SHA-256, and its bytes in `keep` when given
// (then it may be at most kMaxWholeRead, 16 MiB). Larger files are hashed in a
// stream.
absl::StatusOr<std::string> HashBundleFile(const std::string& root,
                                           absl::string_view rel,
                                           std::string* keep);

// One file listed in SHA256SUMS.
struct Listed {
  std::string path;
  std::string sha256;  // raw 32 bytes
};

// A key an agent retired (docs/bundle.md, "Key rotation"), parsed once.
struct RetiredKey {
  const v1::BundleKeyRotation* manifest = nullptr;
  std::string key_path;  // keys/agents/<agent>/<last_seq>.pub.pem
  std::optional<PublicKey> key;
  std::string head;  // raw: the chain digest its statement hands over
};

// One agent of the manifest, with its keys parsed once.
struct AgentInfo {
  const v1::BundleAgent* manifest = nullptr;
  std::string key_path;
  std::string pem;
  std::optional<PublicKey> key;
  std::vector<RetiredKey> retired;  // by last_seq, as the manifest lists them

  // The key that signed snapshot `seq`, and its path.
  std::pair<const PublicKey*, const std::string*> KeyFor(uint64_t seq) const {
    for (const RetiredKey& r : retired) {
      if (seq <= r.manifest->last_seq()) return {&*r.key, &r.key_path};
    }
    return {&*key, &key_path};
  }
};

// What one thread of the snapshot pass keeps between snapshots.
struct SnapshotWorker {
  // The directories of the agent of the last snapshot checked.
  int64_t agent = -1;
  std::optional<Fd> snapshots_dir;  // snapshots/<agent>
  std::optional<Fd> proofs_dir;     // log/proofs/<agent>
  // Check ids already interned, so the shared table is rarely locked.
  absl::flat_hash_map<std::string, uint16_t> ids;
  // Payload, signature and proof bytes, reused from snapshot to snapshot.
  std::string buffers[3];
};

// One snapshot to check: the agent (index into agents_) and its position in
// the manifest's list.
struct Task {
  uint32_t agent;
  uint32_t index;
};

// One verification of the bundle directory `dir`; run once.
class Verifier {
 public:
  Verifier(const fs::path& dir, int threads)
      : dir_(dir),
        root_(dir.string()),
        threads_(threads > 0
                     ? threads
                     : std::max(1, static_cast<int>(
                                       std::thread::hardware_concurrency()))) {}

  // Runs the numbered steps below, some side by side (bundle/verify.cc),
  // and returns what was verified or the failure of the earliest step.
  absl::StatusOr<BundleVerification> Run();

 private:
  // The index of `path` in listed_, or -1.
  int64_t Find(absl::string_view path) const {
    auto it = std::lower_bound(listed_.begin(), listed_.end(), path,
                               [](const Listed& file, absl::string_view p) {
                                 return absl::string_view(file.path) < p;
                               });
    if (it == listed_.end() || it->path != path) return -1;
    return it - listed_.begin();
  }
  // The bytes kept from the digest pass of a listed file.
  absl::StatusOr<const std::string*> Kept(absl::string_view path) const {
    const int64_t i = Find(path);
    if (i < 0) return Bad(path, "missing (not listed in SHA256SUMS)");
    if (!keep_[i]) return absl::InternalError(absl::StrCat(path, ": not kept"));
    return &kept_[i];
  }
  // Reads a listed file and checks it against its digest in SHA256SUMS.
  absl::StatusOr<std::string> ReadListed(absl::string_view path, size_t max,
                                         absl::string_view listed_by) const {
    const int64_t i = Find(path);
    if (i < 0) {
      return Bad(path, absl::StrCat("missing (", listed_by, " lists it)"));
    }
    ASSIGN_OR_RETURN(std::string bytes, ReadBundleFile(root_, path, max));
    if (Sha256(bytes) != listed_[i].sha256) {
      return Bad(path, "content does not match its SHA-256 in SHA256SUMS");
    }
    return bytes;
  }

  // Steps 1-3, bundle/verify_sums.cc: SHA256SUMS, the tree, the digests.
  absl::Status CheckSums();
  absl::Status Walk(const std::string& rel_dir, int depth);
  absl::Status CompareTree();
  absl::Status HashFiles();
  // Steps 4 and 6, bundle/verify_manifest.cc: manifest.json and the files
  // it lists.
  absl::Status ParseManifest();
  absl::Status CheckManifest(const absl::Status& parsed);
  absl::Status CheckLayout();
  // Whether `path` is keys/agents/<agent>.pub.pem of an agent listed.
  bool IsAgentKeyPath(absl::string_view path) const {
    if (!absl::ConsumePrefix(&path, kAgentKeysDir) ||
        !absl::ConsumeSuffix(&path, ".pub.pem")) {
      return false;
    }
    return agent_index_.contains(path);
  }
  // Step 5, bundle/verify_keys.cc: the keys and key rotations.
  absl::Status CheckKeys();
  absl::Status CheckRotations(AgentInfo& agent);
  // Steps 7 and 9, bundle/verify_snapshots.cc: the checkpoint, then each
  // snapshot's signature, chain and inclusion proof.
  absl::Status CheckCheckpoint();
  absl::Status CheckSnapshots();
  absl::Status CheckSnapshot(SnapshotWorker& worker, size_t task);
  absl::StatusOr<uint16_t> Intern(SnapshotWorker& worker,
                                  const std::string& check_id,
                                  absl::string_view payload_path);
  // Step 10, bundle/verify_manual.cc: the manual evidence.
  absl::Status CheckManual();
  // Step 10b, bundle/verify_isms.cc: the ISMS records.
  absl::Status CheckIsms();
  // Every snapshot of the bundle as evidence, for the records checked
  // against it; read on first need.
  absl::StatusOr<const MemoryEvidence*> CycleEvidence();
  // Steps 8 and 11, bundle/verify_regrade.cc: the policies, and the
  // re-grade compared with report/summary.csv.
  absl::Status LoadPolicies();
  absl::Status Regrade();

  const fs::path dir_;
  const std::string root_;
  const int threads_;
  BundleVerification result_;

  std::optional<PublicKey> collector_key_;
  std::optional<PublicKey> operator_key_;
  std::vector<Listed> listed_;
  // Every regular file below the bundle but SHA256SUMS and its signature.
  std::vector<std::string> on_disk_;
  // Bytes of the files later steps read, by listed_ index.
  std::vector<char> keep_;
  std::vector<std::string> kept_;
  // Raw digests of the files under objects/.
  absl::flat_hash_set<std::string> objects_;

  v1::BundleManifest manifest_;
  std::string manifest_sha256_;  // of the bytes parsed
  absl::Time to_;
  std::vector<AgentInfo> agents_;
  absl::flat_hash_map<std::string, uint32_t> agent_index_;
  std::vector<Task> tasks_;
  // Per agent, its first task; per task, the listed_ index of its payload,
  // signature and proof (-1: not listed).
  std::vector<size_t> first_task_;
  std::vector<std::array<int64_t, 3>> task_files_;
  Checkpoint checkpoint_;

  std::unique_ptr<MemoryEvidence> cycle_evidence_;
  // Re-grading.
  std::unique_ptr<MemoryEvidence> evidence_;
  std::optional<policy::PolicySet> policy_;
  std::unique_ptr<Grader> grader_;
  // Grading reads the latest observation of each of these ids.
  std::vector<std::string> observed_ids_;
  // The check ids each snapshot observes, as indexes into interned_.
  std::vector<std::vector<uint16_t>> task_ids_;
  absl::Mutex intern_mu_;
  absl::flat_hash_map<std::string, uint16_t> interned_
      ABSL_GUARDED_BY(intern_mu_);
};

}  // namespace evidentia::collector::verify_internal

#endif  // EVIDENTIA_BUNDLE_VERIFY_INTERNAL_H_
