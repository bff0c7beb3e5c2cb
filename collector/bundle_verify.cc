#include "collector/bundle_verify.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "collector/bundle_archive.h"
#include "collector/bundle_paths.h"
#include "collector/evidence.h"
#include "collector/fleet.h"
#include "collector/grading.h"
#include "collector/report.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/envelope.h"
#include "common/files.h"
#include "common/limits.h"
#include "common/merkle.h"
#include "common/pae.h"
#include "common/policy.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/snapshot_chain.h"
#include "common/status_macros.h"
#include "evidentia/v1/bundle.pb.h"
#include "evidentia/v1/collector.pb.h"
#include "evidentia/v1/snapshot.pb.h"
#include "evidentia/v1/store.pb.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace evidentia::collector {
namespace {

namespace fs = std::filesystem;

// Read limits: a bundle is input from outside; nothing is read unbounded.
constexpr size_t kMaxSumsBytes = size_t{1} << 30;
constexpr size_t kMaxKeyBytes = 64 << 10;
constexpr size_t kMaxSignatureBytes = 4 << 10;
constexpr size_t kMaxCheckpointBytes = 4 << 10;
constexpr size_t kMaxProofBytes = 16 << 10;
constexpr size_t kMaxManifestBytes = 256 << 20;
constexpr size_t kMaxStatementBytes = 1 << 20;
// Files up to this are read whole; larger ones (documents) are hashed in a
// stream, up to kMaxArchiveFileBytes.
constexpr size_t kMaxWholeRead = 16 << 20;
constexpr int kMaxTreeDepth = 16;
// Check ids longer than this are not interned (kUngradedCheck).
constexpr size_t kMaxCheckIdBytes = 256;
constexpr uint16_t kUngradedCheck = 0xffff;
// Snapshots handed to a worker at a time.
constexpr size_t kChunk = 32;

constexpr char kObjectsDir[] = "objects/";
constexpr char kSnapshotsDir[] = "snapshots/";
constexpr char kProofsDir[] = "log/proofs/";
constexpr char kManualDir[] = "manual/";
constexpr char kKeysDir[] = "keys/";
constexpr char kAgentKeysDir[] = "keys/agents/";

// A verification failure: the file first, then what is wrong.
absl::Status Bad(absl::string_view path, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(path, ": ", what));
}
absl::Status Forged(absl::string_view path, absl::string_view what) {
  return absl::UnauthenticatedError(absl::StrCat(path, ": ", what));
}

bool IsLowerHex(absl::string_view s, size_t size) {
  if (s.size() != size) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(c) && (c < 'a' || c > 'f')) return false;
  }
  return true;
}

// Raw bytes of lowercase hex already checked by IsLowerHex.
std::string FromHex(absl::string_view hex) {
  return absl::HexStringToBytes(hex);
}

std::string Quoted(absl::string_view s) {
  return absl::StrCat("\"", absl::CHexEscape(s.substr(0, 200)), "\"");
}

using Fd = ScopedFd;

absl::Status OpenError(absl::string_view rel, int error) {
  if (error == ENOENT) return Bad(rel, "missing");
  if (error == ELOOP) return Bad(rel, "a symbolic link; refused");
  return Bad(rel, absl::StrCat("cannot open: ", std::strerror(error)));
}

// Opens `name` relative to `dir_fd` (AT_FDCWD: a path), never through a
// final symlink, and checks that it is a regular file of at most `max`
// bytes; returns its size. Messages name the file by `rel`.
absl::StatusOr<size_t> OpenRegular(int dir_fd, const char* name,
                                   absl::string_view rel, size_t max,
                                   std::optional<Fd>& fd) {
  int raw;
  do {
    raw = ::openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
  } while (raw < 0 && errno == EINTR);
  if (raw < 0) return OpenError(rel, errno);
  fd.emplace(raw);
  struct stat st;
  if (::fstat(raw, &st) != 0) {
    return Bad(rel, absl::StrCat("cannot stat: ", std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) return Bad(rel, "not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max) {
    return Bad(rel, absl::StrCat(st.st_size, " bytes, more than the ", max,
                                 " allowed"));
  }
  return static_cast<size_t>(st.st_size);
}

// Reads `size` bytes from `fd` into `out`.
absl::Status ReadExactly(int fd, absl::string_view rel, size_t size,
                         std::string& out) {
  out.resize(size);
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, out.data() + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Bad(rel, absl::StrCat("cannot read: ", std::strerror(errno)));
    }
    if (n == 0) return Bad(rel, "shrank while being read");
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// The whole of `name` relative to `dir_fd`: one open, one stat, one read.
absl::StatusOr<std::string> ReadAt(int dir_fd, const char* name,
                                   absl::string_view rel, size_t max) {
  std::optional<Fd> fd;
  ASSIGN_OR_RETURN(const size_t size, OpenRegular(dir_fd, name, rel, max, fd));
  std::string bytes;
  RETURN_IF_ERROR(ReadExactly(fd->get(), rel, size, bytes));
  return bytes;
}

// The whole of `name` relative to `dir_fd` into `buffer`, which keeps its
// size between calls: open, one read, close, no stat. For files the tree
// walk found regular: O_NONBLOCK keeps a FIFO swapped in from blocking, and
// a short read can only make the digest check that follows fail (callers
// then read again with ReadAt).
absl::StatusOr<absl::string_view> ReadInto(int dir_fd, const char* name,
                                           absl::string_view rel, size_t max,
                                           std::string& buffer) {
  if (buffer.size() < max + 1) buffer.resize(max + 1);
  // O_NOATIME spares a metadata write per file; only the owner (or root)
  // may ask for it, so others open without.
  static std::atomic<bool> noatime(true);
  const int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK;
  int raw;
  do {
    raw = ::openat(dir_fd, name, flags | (noatime ? O_NOATIME : 0));
    if (raw < 0 && errno == EPERM && noatime.exchange(false)) errno = EINTR;
  } while (raw < 0 && errno == EINTR);
  if (raw < 0) return OpenError(rel, errno);
  Fd fd(raw);
  ssize_t n;
  do {
    n = ::read(raw, buffer.data(), max + 1);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return Bad(rel, absl::StrCat("cannot read: ", std::strerror(errno)));
  }
  if (static_cast<size_t>(n) > max) {
    return Bad(rel, absl::StrCat("more than the ", max, " bytes allowed"));
  }
  return absl::string_view(buffer.data(), static_cast<size_t>(n));
}

// The whole of `rel` below `root`.
absl::StatusOr<std::string> ReadBundleFile(const std::string& root,
                                           absl::string_view rel, size_t max) {
  const std::string path = absl::StrCat(root, "/", rel);
  return ReadAt(AT_FDCWD, path.c_str(), rel, max);
}

// Reads `rel` and returns its SHA-256, and its bytes in `keep` when given
// (then it may be at most kMaxWholeRead). Larger files are hashed in a
// stream.
absl::StatusOr<std::string> HashBundleFile(const std::string& root,
                                           absl::string_view rel,
                                           std::string* keep) {
  const std::string path = absl::StrCat(root, "/", rel);
  std::optional<Fd> fd;
  ASSIGN_OR_RETURN(const size_t size, OpenRegular(AT_FDCWD, path.c_str(), rel,
                                                  kMaxArchiveFileBytes, fd));
  if (keep != nullptr && size > kMaxWholeRead) {
    return Bad(rel, absl::StrCat(size, " bytes, more than the ", kMaxWholeRead,
                                 " allowed"));
  }
  if (size <= kMaxWholeRead) {
    std::string bytes;
    RETURN_IF_ERROR(ReadExactly(fd->get(), rel, size, bytes));
    std::string digest = Sha256(bytes);
    if (keep != nullptr) *keep = std::move(bytes);
    return digest;
  }
  Sha256Stream hasher;
  if (!hasher.Start()) return absl::InternalError("SHA-256: cannot start");
  std::string buffer(1 << 20, '\0');
  size_t done = 0;
  while (done < size) {
    const ssize_t n =
        ::read(fd->get(), buffer.data(), std::min(buffer.size(), size - done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Bad(rel, absl::StrCat("cannot read: ", std::strerror(errno)));
    }
    if (n == 0) return Bad(rel, "shrank while being read");
    hasher.Update(std::string_view(buffer.data(), static_cast<size_t>(n)));
    done += static_cast<size_t>(n);
  }
  return hasher.Finish();
}

// Runs a function on its own thread; Join() returns what it returned.
class Background {
 public:
  explicit Background(std::function<absl::Status()> fn)
      : thread_([this, fn = std::move(fn)] { status_ = fn(); }) {}
  ~Background() {
    if (thread_.joinable()) thread_.join();
  }
  absl::Status Join() {
    if (thread_.joinable()) thread_.join();
    return status_;
  }

 private:
  absl::Status status_;
  std::thread thread_;
};

// Runs `fn(worker, i)` for every i in [0, n) on up to `threads` threads
// (the caller included; `worker` in [0, threads) names the thread, for
// per-thread state), a chunk at a time, and returns the error of the
// smallest i that failed: every i below it is checked, those above it may
// be skipped. The answer is the same whatever the scheduling.
absl::Status ParallelFor(size_t n, int threads, size_t chunk,
                         const std::function<absl::Status(int, size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::atomic<size_t> first_failed{n};
  absl::Mutex mu;
  absl::Status error;
  auto work = [&](int worker) {
    while (true) {
      const size_t begin = next.fetch_add(chunk);
      if (begin >= n) return;
      const size_t end = std::min(n, begin + chunk);
      for (size_t i = begin; i < end; ++i) {
        if (i > first_failed.load(std::memory_order_relaxed)) return;
        absl::Status status = fn(worker, i);
        if (status.ok()) continue;
        absl::MutexLock lock(&mu);
        if (i < first_failed.load()) {
          first_failed.store(i);
          error = std::move(status);
        }
        return;
      }
    }
  };
  const size_t wanted = std::min<size_t>(
      std::max(threads, 1), std::max<size_t>(1, (n + chunk - 1) / chunk));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < wanted; ++t) {
    pool.emplace_back(work, static_cast<int>(t));
  }
  work(0);
  for (std::thread& thread : pool) thread.join();
  return error;
}

// A private temporary directory, removed with its contents when it goes.
class TempDir {
 public:
  static absl::StatusOr<std::unique_ptr<TempDir>> Make(absl::string_view tag) {
    const char* env = std::getenv("TMPDIR");
    const std::string base = env != nullptr && *env != '\0' ? env : "/tmp";
    std::string pattern = absl::StrCat(base, "/evidentia-", tag, "-XXXXXX");
    if (::mkdtemp(pattern.data()) == nullptr) {
      return absl::UnavailableError(
          absl::StrCat("cannot make a temporary directory in ", base, ": ",
                       std::strerror(errno)));
    }
    return std::unique_ptr<TempDir>(new TempDir(pattern));
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit TempDir(fs::path path) : path_(std::move(path)) {}
  fs::path path_;
};

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

class Verifier {
 public:
  Verifier(const fs::path& dir, int threads)
      : dir_(dir),
        root_(dir.string()),
        threads_(threads > 0
                     ? threads
                     : std::max(1, static_cast<int>(
                                       std::thread::hardware_concurrency()))) {}

  absl::StatusOr<BundleVerification> Run() {
    std::error_code ec;
    if (!fs::is_directory(dir_, ec)) {
      return absl::NotFoundError(
          absl::StrCat(root_, ": not a bundle directory"));
    }
    // Independent steps overlap; errors are reported in this order
    // whatever finishes first.
    {
      Background manifest([this] { return ParseManifest(); });
      {
        Background sums([this] { return CheckSums(); });
        absl::Status walked = Walk("", 0);
        RETURN_IF_ERROR(sums.Join());
        RETURN_IF_ERROR(walked);
      }
      RETURN_IF_ERROR(CompareTree());
      RETURN_IF_ERROR(HashFiles());
      RETURN_IF_ERROR(CheckManifest(manifest.Join()));
    }
    RETURN_IF_ERROR(CheckKeys());
    RETURN_IF_ERROR(CheckLayout());
    RETURN_IF_ERROR(CheckCheckpoint());
    {
      Background policies([this] { return LoadPolicies(); });
      absl::Status checked = CheckSnapshots();
      absl::Status loaded = policies.Join();
      RETURN_IF_ERROR(checked);
      RETURN_IF_ERROR(loaded);
    }
    RETURN_IF_ERROR(CheckManual());
    RETURN_IF_ERROR(Regrade());
    result_.files = listed_.size();
    result_.agents = agents_.size();
    result_.snapshots = tasks_.size();
    for (const AgentInfo& agent : agents_) {
      result_.key_rotations += agent.retired.size();
    }
    result_.log_size = checkpoint_.size;
    return result_;
  }

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

  absl::Status CheckSums();
  absl::Status Walk(const std::string& rel_dir, int depth);
  absl::Status CompareTree();
  absl::Status HashFiles();
  absl::Status ParseManifest();
  absl::Status CheckManifest(const absl::Status& parsed);
  absl::Status CheckKeys();
  absl::Status CheckRotations(AgentInfo& agent);
  absl::Status CheckLayout();
  // Whether `path` is keys/agents/<agent>.pub.pem of an agent listed.
  bool IsAgentKeyPath(absl::string_view path) const {
    if (!absl::ConsumePrefix(&path, kAgentKeysDir) ||
        !absl::ConsumeSuffix(&path, ".pub.pem")) {
      return false;
    }
    return agent_index_.contains(path);
  }
  absl::Status CheckCheckpoint();
  absl::Status LoadPolicies();
  absl::Status CheckSnapshots();
  absl::Status CheckSnapshot(SnapshotWorker& worker, size_t task);
  absl::StatusOr<uint16_t> Intern(SnapshotWorker& worker,
                                  const std::string& check_id,
                                  absl::string_view payload_path);
  absl::Status CheckManual();
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

// 1. SHA256SUMS and its signature under the collector key.
absl::Status Verifier::CheckSums() {
  ASSIGN_OR_RETURN(const std::string pem,
                   ReadBundleFile(root_, bundle::kCollectorKey, kMaxKeyBytes));
  absl::StatusOr<PublicKey> key = PublicKey::FromPem(pem);
  if (!key.ok()) {
    return Bad(
        bundle::kCollectorKey,
        absl::StrCat("not an Ed25519 public key: ", key.status().message()));
  }
  collector_key_ = *std::move(key);
  result_.collector_key_id = collector_key_->KeyId();
  ASSIGN_OR_RETURN(const std::string sums,
                   ReadBundleFile(root_, bundle::kSums, kMaxSumsBytes));
  ASSIGN_OR_RETURN(const std::string signature,
                   ReadBundleFile(root_, bundle::kSumsSig, kMaxSignatureBytes));
  if (!collector_key_->Verify(sums, signature).ok()) {
    return Forged(bundle::kSumsSig,
                  absl::StrCat("not a valid signature of ", bundle::kSums,
                               " under ", bundle::kCollectorKey));
  }
  ASSIGN_OR_RETURN(std::vector<Sha256SumsEntry> entries, ParseSha256Sums(sums));
  listed_.reserve(entries.size());
  for (Sha256SumsEntry& entry : entries) {
    listed_.push_back({std::move(entry.path), FromHex(entry.sha256)});
  }
  return absl::OkStatus();
}

// 2. Every file on disk is listed, every listed file is on disk (both
// lists sorted bytewise).
absl::Status Verifier::CompareTree() {
  std::sort(on_disk_.begin(), on_disk_.end());
  size_t i = 0, j = 0;
  while (i < listed_.size() || j < on_disk_.size()) {
    if (j == on_disk_.size() ||
        (i < listed_.size() && listed_[i].path < on_disk_[j])) {
      return Bad(listed_[i].path, "missing (listed in SHA256SUMS)");
    }
    if (i == listed_.size() || on_disk_[j] < listed_[i].path) {
      return Bad(on_disk_[j], "not listed in SHA256SUMS");
    }
    ++i;
    ++j;
  }
  on_disk_.clear();
  on_disk_.shrink_to_fit();
  return absl::OkStatus();
}

absl::Status Verifier::Walk(const std::string& rel_dir, int depth) {
  const std::string shown = rel_dir.empty() ? "." : rel_dir;
  if (depth > kMaxTreeDepth) return Bad(shown, "nested too deeply");
  const std::string path =
      rel_dir.empty() ? root_ : absl::StrCat(root_, "/", rel_dir);
  struct DirCloser {
    void operator()(DIR* d) const { ::closedir(d); }
  };
  std::unique_ptr<DIR, DirCloser> dir(::opendir(path.c_str()));
  if (dir == nullptr) {
    return Bad(shown, absl::StrCat("cannot list: ", std::strerror(errno)));
  }
  std::vector<std::string> subdirs;
  while (struct dirent* entry = ::readdir(dir.get())) {
    const absl::string_view name(entry->d_name);
    if (name == "." || name == "..") continue;
    std::string rel =
        rel_dir.empty() ? std::string(name) : absl::StrCat(rel_dir, "/", name);
    unsigned char type = entry->d_type;
    if (type == DT_UNKNOWN) {
      struct stat st;
      if (::lstat(absl::StrCat(root_, "/", rel).c_str(), &st) != 0) {
        return Bad(rel, absl::StrCat("cannot stat: ", std::strerror(errno)));
      }
      type = S_ISDIR(st.st_mode)   ? DT_DIR
             : S_ISREG(st.st_mode) ? DT_REG
             : S_ISLNK(st.st_mode) ? DT_LNK
                                   : DT_UNKNOWN;
    }
    if (type == DT_DIR) {
      subdirs.push_back(std::move(rel));
      continue;
    }
    if (type == DT_LNK) {
      return Bad(rel, "a symbolic link; a bundle holds only regular files");
    }
    if (type != DT_REG) {
      return Bad(rel, "not a regular file; a bundle holds only those");
    }
    if (rel == bundle::kSums || rel == bundle::kSumsSig) continue;
    on_disk_.push_back(std::move(rel));
  }
  dir.reset();
  std::sort(subdirs.begin(), subdirs.end());
  for (const std::string& sub : subdirs) {
    RETURN_IF_ERROR(Walk(sub, depth + 1));
  }
  return absl::OkStatus();
}

// 3. The digest of every file but the snapshots, signatures and proofs
// (checked with the snapshots, so each is read once), in parallel; keeps
// the bytes later steps read.
absl::Status Verifier::HashFiles() {
  keep_.assign(listed_.size(), 0);
  kept_.resize(listed_.size());
  std::vector<uint32_t> todo;
  for (size_t i = 0; i < listed_.size(); ++i) {
    const std::string& path = listed_[i].path;
    if (absl::StartsWith(path, kSnapshotsDir) ||
        absl::StartsWith(path, kProofsDir) || path == bundle::kManifest) {
      continue;
    }
    if (absl::StartsWith(path, kObjectsDir)) {
      const absl::string_view name =
          absl::string_view(path).substr(strlen(kObjectsDir));
      if (!IsLowerHex(name, 2 * kSha256Size) ||
          FromHex(name) != listed_[i].sha256) {
        return Bad(path,
                   "its name is not its SHA-256 (as SHA256SUMS gives it)");
      }
      objects_.insert(listed_[i].sha256);
    }
    const bool keep =
        path == bundle::kSummaryCsv || path == bundle::kCheckpoint ||
        path == bundle::kCheckpointSig || absl::StartsWith(path, kKeysDir) ||
        absl::StartsWith(path, kManualDir);
    keep_[i] = keep ? 1 : 0;
    todo.push_back(static_cast<uint32_t>(i));
  }
  return ParallelFor(
      todo.size(), threads_, 4, [&](int, size_t t) -> absl::Status {
        const uint32_t i = todo[t];
        const Listed& file = listed_[i];
        ASSIGN_OR_RETURN(
            const std::string digest,
            HashBundleFile(root_, file.path, keep_[i] ? &kept_[i] : nullptr));
        if (digest != file.sha256) {
          return Bad(file.path,
                     "content does not match its SHA-256 in SHA256SUMS");
        }
        return absl::OkStatus();
      });
}

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

// 8. The bundle's own SoA and policies, as manifest.json names them, and a
// private store to grade in.
absl::Status Verifier::LoadPolicies() {
  const fs::path soa = dir_ / manifest_.soa_file();
  absl::StatusOr<policy::PolicySet> set =
      policy::LoadPolicySet(dir_ / "policies", soa);
  if (!set.ok()) {
    const std::string message(set.status().message());
    if (absl::StartsWith(message, soa.string())) {
      return absl::DataLossError(absl::StrCat(
          manifest_.soa_file(), message.substr(soa.string().size())));
    }
    if (absl::StartsWith(message, "checks/") ||
        absl::StartsWith(message, "iso27001")) {
      return absl::DataLossError(absl::StrCat("policies/", message));
    }
    return Bad("policies", message);
  }
  policy_ = *std::move(set);
  if (policy_->sha256 != manifest_.policy_sha256()) {
    return Bad(bundle::kManifest,
               absl::StrCat("policy_sha256 ", Quoted(manifest_.policy_sha256()),
                            " is not that of ", manifest_.soa_file(),
                            " and policies/ (", policy_->sha256, ")"));
  }
  // Re-grading reads the bundle's evidence from memory: nothing is written.
  evidence_ = std::make_unique<MemoryEvidence>();
  grader_ = std::make_unique<Grader>(*policy_, *evidence_);
  observed_ids_ = grader_->ObservedIds();
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

// 10. Manual evidence: signed by the operator, naming a document present.
absl::Status Verifier::CheckManual() {
  for (const v1::BundleManual& m : manifest_.manual()) {
    ASSIGN_OR_RETURN(
        const std::string statement_path,
        bundle::ManualPath(m.control_id(), m.number(), "statement"));
    ASSIGN_OR_RETURN(const std::string sig_path,
                     bundle::ManualPath(m.control_id(), m.number(), "sig"));
    if (Find(statement_path) < 0) {
      return Bad(statement_path, "missing (manifest.json lists it)");
    }
    if (Find(sig_path) < 0) {
      return Bad(sig_path, "missing (manifest.json lists it)");
    }
    ASSIGN_OR_RETURN(const std::string* statement, Kept(statement_path));
    ASSIGN_OR_RETURN(const std::string* signature, Kept(sig_path));
    if (statement->size() > kMaxStatementBytes) {
      return Bad(statement_path, "too large for a statement");
    }
    if (!operator_key_
             ->Verify(Pae(kManualEvidencePayloadType, *statement), *signature)
             .ok()) {
      return Forged(sig_path,
                    absl::StrCat("not a valid signature of ", statement_path,
                                 " under ", bundle::kOperatorKey));
    }
    v1::ManualEvidenceStatement parsed;
    if (!parsed.ParseFromString(*statement)) {
      return Bad(statement_path, "not a ManualEvidenceStatement message");
    }
    if (parsed.control_id() != m.control_id()) {
      return Bad(statement_path,
                 absl::StrCat("is for control ", Quoted(parsed.control_id()),
                              ", not the control of its path"));
    }
    if (ToHex(parsed.document_sha256()) != m.document_sha256()) {
      return Bad(statement_path,
                 "names another document than manifest.json's document_sha256");
    }
    if (!objects_.contains(parsed.document_sha256())) {
      return Bad(statement_path,
                 absl::StrCat("names document ", m.document_sha256(), " but ",
                              kObjectsDir, m.document_sha256(),
                              " is not in the bundle"));
    }
    ++result_.manual;
  }
  return absl::OkStatus();
}

// 11. Grade the bundle's own evidence as of `to` and compare with
// report/summary.csv. Only what grading reads is stored: per agent and
// observed id, the snapshot holding its latest observation received by
// `to`, the facts those name, and the manual evidence.
absl::Status Verifier::Regrade() {
  const int64_t to_micros = absl::ToUnixMicros(to_);
  // Interned check id -> its bit among the ids grading observes, or -1.
  const size_t words = std::max<size_t>(1, (observed_ids_.size() + 63) / 64);
  std::vector<int> bit_of;
  {
    absl::MutexLock lock(&intern_mu_);
    bit_of.assign(interned_.size(), -1);
    for (size_t b = 0; b < observed_ids_.size(); ++b) {
      auto it = interned_.find(observed_ids_[b]);
      if (it != interned_.end()) bit_of[it->second] = static_cast<int>(b);
    }
  }
  absl::flat_hash_set<std::string> objects_written;
  size_t task = 0;
  for (const AgentInfo& agent : agents_) {
    const v1::BundleAgent& entry = *agent.manifest;
    const size_t first = task;
    task += entry.snapshots_size();
    // The observed ids of each snapshot received by `to`, as bits.
    std::vector<size_t> order;
    std::vector<uint64_t> masks;  // `words` per entry of `order`
    std::vector<uint64_t> all(words, 0);
    for (size_t t = first; t < task; ++t) {
      const int j = static_cast<int>(tasks_[t].index);
      if (absl::ToUnixMicros(FromProto(entry.snapshots(j).received_at())) >
          to_micros) {
        continue;
      }
      order.push_back(t);
      masks.resize(order.size() * words, 0);
      uint64_t* mask = &masks[(order.size() - 1) * words];
      for (uint16_t check : task_ids_[t]) {
        if (check == kUngradedCheck) continue;
        const int bit = bit_of[check];
        if (bit >= 0) mask[bit / 64] |= uint64_t{1} << (bit % 64);
      }
      for (size_t w = 0; w < words; ++w) all[w] |= mask[w];
    }
    // Latest first, by (receive time, seq): the order in which the
    // collector's history index answers "latest as of". A snapshot is
    // needed when it is the latest for some observed id.
    std::vector<size_t> by_time(order.size());
    for (size_t k = 0; k < order.size(); ++k) by_time[k] = k;
    auto micros = [&](size_t k) {
      return absl::ToUnixMicros(
          FromProto(entry.snapshots(tasks_[order[k]].index).received_at()));
    };
    std::sort(by_time.begin(), by_time.end(), [&](size_t a, size_t b) {
      const int64_t ma = micros(a), mb = micros(b);
      return ma != mb ? ma > mb : a > b;
    });
    std::vector<size_t> chosen;
    std::vector<uint64_t> covered(words, 0);
    for (size_t k : by_time) {
      if (covered == all && !chosen.empty()) break;
      bool adds = chosen.empty();  // the latest one always
      for (size_t w = 0; w < words; ++w) {
        const uint64_t m = masks[k * words + w];
        if ((m & ~covered[w]) != 0) adds = true;
        covered[w] |= m;
      }
      if (adds) chosen.push_back(order[k]);
    }
    std::sort(chosen.begin(), chosen.end());  // seq order

    v1::AgentRecord record;
    record.set_agent_id(entry.agent_id());
    record.set_key_id(entry.key_id());
    record.set_public_key_pem(agent.pem);
    *record.mutable_labels() = entry.labels();
    *record.mutable_enrolled_at() = entry.enrolled_at();
    for (size_t t : chosen) {
      const v1::BundleSnapshot& s = entry.snapshots(tasks_[t].index);
      const std::string base =
          absl::StrCat(kSnapshotsDir, entry.agent_id(), "/", s.seq());
      v1::StoredSnapshot stored;
      v1::SignedSnapshot* envelope = stored.mutable_envelope();
      ASSIGN_OR_RETURN(*envelope->mutable_payload(),
                       ReadListed(absl::StrCat(base, ".payload"),
                                  kMaxPayloadBytes, "manifest.json"));
      ASSIGN_OR_RETURN(*envelope->mutable_signature(),
                       ReadListed(absl::StrCat(base, ".sig"),
                                  kMaxSignatureBytes, "manifest.json"));
      envelope->set_payload_type(std::string(kSnapshotPayloadType));
      envelope->set_key_id(entry.key_id());
      *stored.mutable_received_at() = s.received_at();
      v1::Snapshot snapshot;
      if (!snapshot.ParseFromString(envelope->payload())) {
        return Bad(absl::StrCat(base, ".payload"), "not a Snapshot message");
      }
      for (const v1::Observation& o : snapshot.observations()) {
        if (o.facts_sha256().empty() ||
            !objects_written.insert(o.facts_sha256()).second) {
          continue;
        }
        const std::string path =
            absl::StrCat(kObjectsDir, ToHex(o.facts_sha256()));
        // Read again: only the few bodies grading needs, rather than
        // keeping every object in memory.
        ASSIGN_OR_RETURN(const std::string bytes,
                         ReadListed(path, kMaxFactsBytes, "a snapshot"));
        v1::Facts facts;
        if (!facts.ParseFromString(bytes)) {
          return Bad(path, "not a Facts message");
        }
        evidence_->AddFacts(o.facts_sha256(), std::move(facts));
      }
      for (v1::LatestObservation& o : IndexSnapshot(snapshot, stored, record)) {
        evidence_->AddObservation(record.agent_id(), std::move(o));
      }
    }
    // The name the exporter graded under.
    if (!entry.hostname().empty()) {
      record.mutable_host()->set_hostname(entry.hostname());
    }
    evidence_->AddAgent(std::move(record));
  }
  for (const v1::BundleManual& m : manifest_.manual()) {
    ASSIGN_OR_RETURN(
        const std::string statement_path,
        bundle::ManualPath(m.control_id(), m.number(), "statement"));
    ASSIGN_OR_RETURN(const std::string sig_path,
                     bundle::ManualPath(m.control_id(), m.number(), "sig"));
    ASSIGN_OR_RETURN(const std::string* statement, Kept(statement_path));
    ASSIGN_OR_RETURN(const std::string* signature, Kept(sig_path));
    v1::StoredManualEvidence stored;
    stored.set_statement(*statement);
    stored.set_signature(*signature);
    stored.set_key_id(operator_key_->KeyId());
    *stored.mutable_received_at() = m.received_at();
    evidence_->AddManual(m.control_id(), std::move(stored));
  }

  absl::StatusOr<std::vector<HostPtr>> hosts =
      FleetAsOf(*evidence_, to_, grader_->ObservedIds());
  if (hosts.ok()) hosts = InScope(*std::move(hosts), manifest_.scope());
  if (!hosts.ok()) {
    return Bad(bundle::kManifest, absl::StrCat("cannot rebuild the fleet: ",
                                               hosts.status().message()));
  }
  absl::StatusOr<v1::GradeControlsResponse> grades =
      grader_->GradeAll(*hosts, to_);
  if (!grades.ok()) {
    return Bad(bundle::kSummaryCsv,
               absl::StrCat("cannot re-grade: ", grades.status().message()));
  }
  const std::string csv = SummaryCsv(*grades);
  ASSIGN_OR_RETURN(const std::string* report, Kept(bundle::kSummaryCsv));
  if (csv != *report) {
    const std::vector<absl::string_view> want = absl::StrSplit(csv, '\n');
    const std::vector<absl::string_view> have = absl::StrSplit(*report, '\n');
    size_t line = 0;
    while (line < want.size() && line < have.size() &&
           want[line] == have[line]) {
      ++line;
    }
    const absl::string_view row = line < want.size() ? want[line] : "";
    const absl::string_view control = row.substr(0, row.find(','));
    return Bad(
        bundle::kSummaryCsv,
        absl::StrCat(
            line == 0 ? "the header line"
                      : absl::StrCat("the row of ",
                                     control.empty() ? "(none)" : control),
            " differs from re-grading the bundle's snapshots as of ",
            absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", to_, absl::UTCTimeZone()),
            ": the report says ", Quoted(line < have.size() ? have[line] : ""),
            ", the re-grade gives ", Quoted(row)));
  }
  result_.controls = grades->controls_size();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<Sha256SumsEntry>> ParseSha256Sums(
    absl::string_view text) {
  constexpr const char* kS = bundle::kSums;
  if (text.empty()) return Bad(kS, "empty");
  if (text.back() != '\n') {
    return Bad(kS, "the last line does not end with a line feed");
  }
  text.remove_suffix(1);
  std::vector<Sha256SumsEntry> out;
  size_t number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    const std::string at = absl::StrCat("line ", number);
    if (line.size() < 2 * kSha256Size + 3 ||
        !IsLowerHex(line.substr(0, 2 * kSha256Size), 2 * kSha256Size) ||
        line.substr(2 * kSha256Size, 2) != "  ") {
      return Bad(kS, absl::StrCat(at, ": not \"<64 lowercase hex>  <path>\""));
    }
    const absl::string_view path = line.substr(2 * kSha256Size + 2);
    if (!bundle::IsSafePath(path)) {
      return Bad(kS,
                 absl::StrCat(at, ": unsafe path ", Quoted(path), " refused"));
    }
    if (path == bundle::kSums || path == bundle::kSumsSig) {
      return Bad(kS, absl::StrCat(at, ": lists ", path, " itself"));
    }
    if (!out.empty() && path <= out.back().path) {
      return Bad(kS, absl::StrCat(at, ": ", Quoted(path),
                                  path == out.back().path
                                      ? " is listed twice"
                                      : " is out of order (paths are sorted)"));
    }
    out.push_back(
        {std::string(path), std::string(line.substr(0, 2 * kSha256Size))});
  }
  return out;
}

absl::StatusOr<BundleVerification> VerifyBundle(const fs::path& dir,
                                                int threads) {
  return Verifier(dir, threads).Run();
}

absl::StatusOr<BundleVerification> VerifyBundlePath(const fs::path& path,
                                                    int threads) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    return absl::NotFoundError(absl::StrCat(path.string(), ": not found"));
  }
  if (fs::is_directory(status)) return VerifyBundle(path, threads);
  if (!fs::is_regular_file(status)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path.string(), ": neither a bundle directory nor a .tar.gz"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<TempDir> temp, TempDir::Make("bundle"));
  ASSIGN_OR_RETURN(const fs::path root,
                   UnpackTarGz(path, temp->path() / "unpacked"));
  return VerifyBundle(root, threads);
}

int RunVerify(const std::string& path, int threads, bool json,
              std::ostream& out, std::ostream& err) {
  absl::StatusOr<BundleVerification> verified = VerifyBundlePath(path, threads);
  if (!verified.ok()) {
    if (json) {
      out << nlohmann::json{{"ok", false},
                            {"bundle", path},
                            {"error", std::string(verified.status().message())}}
                 .dump()
          << "\n";
    } else {
      err << "evidentia verify: FAILED: " << verified.status().message()
          << "\n";
    }
    return 1;
  }
  const BundleVerification& v = *verified;
  if (json) {
    out << nlohmann::json{{"ok", true},
                          {"bundle", path},
                          {"files", v.files},
                          {"agents", v.agents},
                          {"snapshots", v.snapshots},
                          {"signatures", v.snapshots},
                          {"chains", v.chains},
                          {"gaps", v.gaps},
                          {"key_rotations", v.key_rotations},
                          {"inclusion_proofs", v.snapshots},
                          {"log_size", v.log_size},
                          {"manual", v.manual},
                          {"controls", v.controls},
                          {"collector_key_fingerprint", v.collector_key_id}}
               .dump()
        << "\n";
    return 0;
  }
  out << "Bundle " << path << " verified:\n"
      << "  " << v.files
      << " files match SHA256SUMS, signed by keys/collector.pub.pem; no "
         "other files\n"
      << "  " << v.snapshots << " snapshot signatures from " << v.agents
      << " agents, " << v.chains << " chains continuous\n";
  if (!v.gaps.empty()) {
    out << "  " << v.gaps.size()
        << " signed gap snapshots: the agent reported snapshots it lost\n";
    for (const std::string& gap : v.gaps) out << "    " << gap << "\n";
  }
  if (v.key_rotations > 0) {
    out << "  " << v.key_rotations
        << " device key rotations, each signed by the retired key and the "
           "next\n";
  }
  out << "  " << v.snapshots
      << " inclusion proofs against the signed log checkpoint of size "
      << v.log_size << "\n"
      << "  " << v.manual
      << " manual evidence statements signed by keys/operator.pub.pem\n"
      << "  " << v.controls
      << " controls re-graded from the bundle's own snapshots, SoA and "
         "policies: report/summary.csv matches\n"
      << "Collector key fingerprint: " << v.collector_key_id << "\n"
      << "Compare it with the fingerprint you received separately from the "
         "organisation.\n";
  return 0;
}

}  // namespace evidentia::collector
