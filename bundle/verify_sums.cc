// Steps 1-3 of verifying a bundle: SHA256SUMS, the file tree, the digests.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bundle/paths.h"
#include "bundle/verify.h"
#include "bundle/verify_internal.h"
#include "common/ed25519.h"
#include "common/sha256.h"
#include "common/status_macros.h"

namespace evidentia::collector {
namespace verify_internal {
namespace {

constexpr size_t kMaxSumsBytes = size_t{1} << 30;
constexpr size_t kMaxKeyBytes = 64 << 10;
constexpr int kMaxTreeDepth = 16;

}  // namespace

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

}  // namespace verify_internal

using verify_internal::Bad;
using verify_internal::IsLowerHex;
using verify_internal::Quoted;

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

}  // namespace evidentia::collector
