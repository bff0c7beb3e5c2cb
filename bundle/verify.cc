// VerifyBundle and VerifyBundlePath: the steps of verifying, in order.
#include "bundle/verify.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "bundle/archive.h"
#include "bundle/verify_internal.h"
#include "common/status_macros.h"

namespace evidentia::collector {
namespace verify_internal {

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

std::string FromHex(absl::string_view hex) {
  return absl::HexStringToBytes(hex);
}

std::string Quoted(absl::string_view s) {
  return absl::StrCat("\"", absl::CHexEscape(s.substr(0, 200)), "\"");
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

absl::StatusOr<BundleVerification> Verifier::Run() {
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) {
    return absl::NotFoundError(absl::StrCat(root_, ": not a bundle directory"));
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
  RETURN_IF_ERROR(CheckIsms());
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

}  // namespace verify_internal

namespace fs = std::filesystem;

absl::StatusOr<BundleVerification> VerifyBundle(const fs::path& dir,
                                                int threads) {
  return verify_internal::Verifier(dir, threads).Run();
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

}  // namespace evidentia::collector
