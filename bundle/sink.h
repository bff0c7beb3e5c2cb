// Where a bundle's files go as they are made (docs/bundle.md): the sink
// interface and a directory. bundle/archive.h has a .tar.gz one.
#ifndef EVIDENTIA_BUNDLE_SINK_H_
#define EVIDENTIA_BUNDLE_SINK_H_

#include <cstdint>
#include <filesystem>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace evidentia::collector {

// Receives the bundle's files, each once, under paths that passed
// bundle::IsSafePath.
class BundleSink {
 public:
  virtual ~BundleSink() = default;
  virtual absl::Status Add(absl::string_view path, absl::string_view bytes) = 0;
};

// Writes files below a directory that must not exist yet (it is created
// 0755; files 0644, VERIFY.sh 0755). Not synced file by file: Finish()
// syncs the file system once.
class DirectorySink : public BundleSink {
 public:
  // FAILED_PRECONDITION when `dir` exists; an error when it cannot be made.
  static absl::StatusOr<std::unique_ptr<DirectorySink>> Create(
      const std::filesystem::path& dir);
  absl::Status Add(absl::string_view path, absl::string_view bytes) override;
  // Flushes everything written to disk.
  absl::Status Finish();
  uint64_t bytes() const { return bytes_; }
  uint64_t files() const { return files_; }

 private:
  explicit DirectorySink(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path dir_;
  uint64_t bytes_ = 0;
  uint64_t files_ = 0;
};

}  // namespace evidentia::collector

#endif  // EVIDENTIA_BUNDLE_SINK_H_
