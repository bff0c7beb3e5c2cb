#include "agent/linux/probes/os_patching_memo.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

#include "agent/linux/sys/rooted_fs.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;

using Clock = std::chrono::system_clock;

// Appends `value` and a field separator.
void Field(std::string* out, std::string_view value) {
  out->append(value);
  out->push_back('\0');
}

void Field(std::string* out, int64_t value) {
  Field(out, std::to_string(value));
}

struct Fingerprinter {
  std::string text;
  bool reusable = true;
  Clock::time_point racy_after;

  bool Racy(const struct timespec& ts) const {
    Clock::time_point t =
        Clock::time_point(std::chrono::duration_cast<Clock::duration>(
            std::chrono::seconds(ts.tv_sec) +
            std::chrono::nanoseconds(ts.tv_nsec)));
    return t >= racy_after;
  }

  void Stat(const struct stat& st) {
    Field(&text, static_cast<int64_t>(st.st_dev));
    Field(&text, static_cast<int64_t>(st.st_ino));
    Field(&text, static_cast<int64_t>(st.st_mode));
    Field(&text, static_cast<int64_t>(st.st_size));
    Field(&text, static_cast<int64_t>(st.st_mtim.tv_sec));
    Field(&text, static_cast<int64_t>(st.st_mtim.tv_nsec));
    Field(&text, static_cast<int64_t>(st.st_ctim.tv_sec));
    Field(&text, static_cast<int64_t>(st.st_ctim.tv_nsec));
    if (Racy(st.st_mtim) || Racy(st.st_ctim)) reusable = false;
  }

  // lstat of `host_path` and, for a symlink, stat of what it points at (as
  // an open() on the host would follow it).
  void Path(const std::string& host_path) {
    struct stat st {};
    if (::lstat(host_path.c_str(), &st) != 0) {
      Field(&text, std::string("!") + std::strerror(errno));
      return;
    }
    Stat(st);
    if (!S_ISLNK(st.st_mode)) return;
    if (::stat(host_path.c_str(), &st) != 0) {
      Field(&text, std::string("!") + std::strerror(errno));
      return;
    }
    Stat(st);
  }

  // `path` below `root` resolved as the probe resolves it; returns the host
  // path, or "" when it cannot be resolved.
  std::string Resolve(const fs::path& root, const std::string& path) {
    Field(&text, path);
    absl::StatusOr<std::string> resolved = ResolveInRoot(root, path);
    if (!resolved.ok()) {
      Field(&text, "!" + resolved.status().ToString());
      return "";
    }
    Field(&text, *resolved);
    return (root / *resolved).string();
  }

  void Directory(const std::string& host_path) {
    Path(host_path);
    std::vector<std::string> names =
        ListRootedDir("/", host_path, kMaxFingerprintDirEntries + 1);
    if (names.size() > kMaxFingerprintDirEntries) {
      reusable = false;
      names.resize(kMaxFingerprintDirEntries);
    }
    Field(&text, static_cast<int64_t>(names.size()));
    for (const std::string& name : names) {
      Field(&text, name);
      Path(host_path + "/" + name);
    }
  }
};

}  // namespace

InputFingerprint TakeInputFingerprint(const fs::path& root,
                                      const InputSet& inputs,
                                      std::chrono::nanoseconds racy_window,
                                      Clock::time_point now) {
  Fingerprinter f;
  f.racy_after = now - std::chrono::duration_cast<Clock::duration>(racy_window);
  Field(&f.text, root.string());
  for (const std::string& path : inputs.files) {
    f.text.append("F");
    std::string host = f.Resolve(root, path);
    if (!host.empty()) f.Path(host);
  }
  for (const std::string& path : inputs.directories) {
    f.text.append("D");
    std::string host = f.Resolve(root, path);
    if (!host.empty()) f.Directory(host);
  }
  for (const std::string& path : inputs.host_files) {
    f.text.append("f");
    Field(&f.text, path);
    f.Path(path);
  }
  for (const std::string& path : inputs.host_directories) {
    f.text.append("d");
    Field(&f.text, path);
    f.Directory(path);
  }
  for (const std::string& value : inputs.values) {
    f.text.append("V");
    Field(&f.text, static_cast<int64_t>(value.size()));
    Field(&f.text, value);
  }
  return InputFingerprint{std::move(f.text), f.reusable};
}

OsPatchingMemo::OsPatchingMemo(std::chrono::nanoseconds racy_window)
    : racy_window_(racy_window) {}

OsPatchingMemo& OsPatchingMemo::Process() {
  static auto* const memo = new OsPatchingMemo();
  return *memo;
}

absl::StatusOr<v1::Facts> OsPatchingMemo::GetOrCompute(
    const fs::path& root, const InputSet& inputs,
    const std::function<absl::StatusOr<v1::Facts>()>& compute) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string key = root.lexically_normal().string();
  InputFingerprint fingerprint =
      TakeInputFingerprint(root, inputs, racy_window_, Clock::now());
  auto found = entries_.find(key);
  if (found != entries_.end() && fingerprint.reusable &&
      found->second.fingerprint == fingerprint.text) {
    found->second.last_used = ++clock_;
    return found->second.facts;
  }
  absl::StatusOr<v1::Facts> facts = compute();
  if (!facts.ok() || !fingerprint.reusable) {
    if (found != entries_.end()) entries_.erase(found);
    return facts;
  }
  if (found == entries_.end() && entries_.size() >= kMaxRoots) {
    auto oldest = entries_.begin();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->second.last_used < oldest->second.last_used) oldest = it;
    }
    entries_.erase(oldest);
  }
  Entry& entry = entries_[key];
  entry.fingerprint = std::move(fingerprint.text);
  entry.facts = *facts;
  entry.last_used = ++clock_;
  return facts;
}

void OsPatchingMemo::Clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.clear();
}

}  // namespace evidentia::agent
