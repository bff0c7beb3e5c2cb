// The auditor bundle as one .tar.gz (docs/bundle.md): writing it
// reproducibly from a bundle directory, and unpacking a received one safely
// (only regular files and directories, every path below the target, sizes
// bounded), whatever the archive holds. Stateless; safe from any thread.
#ifndef EVIDENTIA_BUNDLE_ARCHIVE_H_
#define EVIDENTIA_BUNDLE_ARCHIVE_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bundle/sink.h"

struct archive;
struct archive_entry;

namespace evidentia::collector {

// Limits of UnpackTarGz.
inline constexpr uint64_t kMaxArchiveEntries = 1000000;
inline constexpr uint64_t kMaxArchiveFileBytes = uint64_t{1} << 30;  // 1 GiB

// Writes `out`, a gzip-compressed tar of every directory and regular file
// below `dir`, named "<dir's base name>/<relative path>", in path order,
// owner 0:0, mode 0755 for directories and the top-level VERIFY.sh, 0644
// otherwise, mtime 0, no gzip timestamp: the same directory always gives the
// same bytes. Written to a temporary file beside `out` and renamed over it.
// FAILED_PRECONDITION for anything else below `dir` (a symlink, a device);
// NOT_FOUND when `dir` is missing; INTERNAL / UNAVAILABLE for I/O errors.
absl::Status WriteTarGz(const std::filesystem::path& dir,
                        const std::filesystem::path& out);

// Unpacks the .tar.gz `archive` into `into` (created if missing; it should
// be a fresh, private directory) and returns the bundle root: `into` / NAME
// when every entry lies below one top-level directory NAME (the form
// WriteTarGz writes), `into` otherwise. INVALID_ARGUMENT, naming the entry,
// for a symlink, hard link, device, FIFO or socket, an absolute path, a
// ".." component, a duplicate file, more than kMaxArchiveEntries entries or
// a file over kMaxArchiveFileBytes; DATA_LOSS for a corrupt archive;
// NOT_FOUND when `archive` is missing. Files are made 0644, directories
// 0755, never through an existing link.
absl::StatusOr<std::filesystem::path> UnpackTarGz(
    const std::filesystem::path& archive, const std::filesystem::path& into);

// Streams a bundle into a .tar.gz as the exporter hands over its files, in
// the form WriteTarGz writes ("<top>/<path>", each directory before its
// first file), without writing the directory: one file on disk however
// many the bundle holds. Written to a temporary file beside `out`; Finish()
// syncs and renames it into place; a sink dropped unfinished leaves nothing.
class TarGzSink : public BundleSink {
 public:
  // FAILED_PRECONDITION when `out` exists.
  static absl::StatusOr<std::unique_ptr<TarGzSink>> Create(
      const std::filesystem::path& out, std::string top);
  ~TarGzSink() override;
  TarGzSink(const TarGzSink&) = delete;
  TarGzSink& operator=(const TarGzSink&) = delete;

  absl::Status Add(absl::string_view path, absl::string_view bytes) override;
  absl::Status Finish();
  uint64_t files() const { return files_; }

 private:
  TarGzSink() = default;

  std::filesystem::path out_;
  std::string temp_;
  std::string top_;
  int fd_ = -1;
  struct archive* archive_ = nullptr;
  struct archive_entry* entry_ = nullptr;
  std::set<std::string> dirs_;
  uint64_t files_ = 0;
};

}  // namespace evidentia::collector

#endif  // EVIDENTIA_BUNDLE_ARCHIVE_H_
