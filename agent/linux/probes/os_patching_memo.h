// Memoisation of linux.os_patching. Its facts are a pure function of files
// (dpkg's status, APT's sources, lists, preferences and configuration, the
// update stamps, reboot-required, os-release) and of the running kernel, so
// a collection whose inputs are all unchanged since the last one returns the
// facts kept from it instead of asking libapt-pkg to rebuild its package
// cache (half a second of CPU on a full Debian archive, every hour).
// Inputs are compared by a fingerprint of their metadata, never read.
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_OS_PATCHING_MEMO_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_OS_PATCHING_MEMO_H_

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "evidentia/v1/facts.pb.h"

namespace evidentia::agent {

// What a collection depends on.
struct InputSet {
  // Paths relative to the root, symlinks resolved inside it (as the probe
  // reads them).
  std::vector<std::string> files;
  // Directories relative to the root: the directory itself and every entry
  // in it.
  std::vector<std::string> directories;
  // Absolute host paths, as libapt-pkg opens them (its configuration below
  // the root may point anywhere).
  std::vector<std::string> host_files;
  std::vector<std::string> host_directories;
  // Inputs that are not files (the running kernel's uname strings).
  std::vector<std::string> values;
};

// The fingerprint of an InputSet.
struct InputFingerprint {
  // For every path: the path it resolves to, and its device, inode, mode,
  // size, mtime and ctime (with nanoseconds), or why it could not be
  // stat'ed; for a directory also its entries, sorted, each with the same
  // fields; then the values. Equal texts: no input changed.
  std::string text;
  // False when the facts computed now must not be reused: an input was
  // modified (mtime or ctime) less than the racy window before the
  // fingerprint was taken, so a change made within the filesystem's
  // timestamp granularity could go unnoticed; or a directory held more
  // entries than are fingerprinted.
  bool reusable = true;
};

// At most this many entries of a directory are fingerprinted; a larger
// directory makes the fingerprint not reusable.
inline constexpr size_t kMaxFingerprintDirEntries = 4096;

// Stats every input below `root` (never opens a file). `now` is the time the
// fingerprint is taken, before the inputs are read.
InputFingerprint TakeInputFingerprint(
    const std::filesystem::path& root, const InputSet& inputs,
    std::chrono::nanoseconds racy_window,
    std::chrono::system_clock::time_point now);

// The facts of the last collection of each root (at most kMaxRoots, least
// recently used dropped), each kept with the fingerprint of its inputs.
// Thread-safe: one mutex, held through a whole collection.
class OsPatchingMemo {
 public:
  static constexpr size_t kMaxRoots = 8;
  // An input modified less than 2 s before a collection: its facts are not
  // reused (ext4 stamps times with a clock tick of 1 to 10 ms).
  static constexpr std::chrono::nanoseconds kDefaultRacyWindow =
      std::chrono::seconds(2);

  explicit OsPatchingMemo(
      std::chrono::nanoseconds racy_window = kDefaultRacyWindow);

  // The process-wide memo of the agent's OsPatchingProbe.
  static OsPatchingMemo& Process();

  // The facts kept for `root` if the fingerprint of `inputs` (taken now,
  // before `compute` runs) equals theirs; otherwise compute()'s result,
  // kept when it is ok and the fingerprint is reusable.
  absl::StatusOr<v1::Facts> GetOrCompute(
      const std::filesystem::path& root, const InputSet& inputs,
      const std::function<absl::StatusOr<v1::Facts>()>& compute);

  // Forgets every kept result.
  void Clear();

 private:
  struct Entry {
    std::string fingerprint;
    v1::Facts facts;
    uint64_t last_used = 0;
  };

  const std::chrono::nanoseconds racy_window_;
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;  // by root, lexically normal
  uint64_t clock_ = 0;
};

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_OS_PATCHING_MEMO_H_
