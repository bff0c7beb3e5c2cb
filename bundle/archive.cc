#include "bundle/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/files.h"
#include "common/status_macros.h"

namespace evidentia::collector {
namespace {

namespace fs = std::filesystem;

constexpr size_t kChunk = 1 << 20;

struct ArchiveWriteDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct ArchiveReadDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct EntryDeleter {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};
using WritePtr = std::unique_ptr<struct archive, ArchiveWriteDeleter>;
using ReadPtr = std::unique_ptr<struct archive, ArchiveReadDeleter>;
using EntryPtr = std::unique_ptr<struct archive_entry, EntryDeleter>;

using Fd = ScopedFd;

absl::Status ErrnoError(absl::string_view what, const fs::path& path,
                        int error) {
  const absl::StatusCode code =
      error == ENOENT                   ? absl::StatusCode::kNotFound
      : error == EACCES                 ? absl::StatusCode::kPermissionDenied
      : error == ENOSPC || error == EIO ? absl::StatusCode::kUnavailable
                                        : absl::StatusCode::kInternal;
  return absl::Status(code, absl::StrCat(path.string(), ": ", what, ": ",
                                         std::strerror(error)));
}

absl::Status ArchiveError(struct archive* a, const fs::path& path,
                          absl::string_view what) {
  const char* detail = archive_error_string(a);
  return absl::InternalError(absl::StrCat(path.string(), ": ", what, ": ",
                                          detail != nullptr ? detail : "?"));
}

struct Item {
  std::string rel;  // relative to the bundle directory, '/'-separated
  bool is_dir = false;
  uint64_t size = 0;
};

absl::StatusOr<std::vector<Item>> ListTree(const fs::path& dir) {
  std::vector<Item> items;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, ec), end;
  if (ec) return ErrnoError("cannot list", dir, ec.value());
  for (; it != end; it.increment(ec)) {
    if (ec) return ErrnoError("cannot list", dir, ec.value());
    const fs::path rel = it->path().lexically_relative(dir);
    const fs::file_status status = it->symlink_status(ec);
    if (ec) return ErrnoError("cannot stat", it->path(), ec.value());
    Item item;
    item.rel = rel.generic_string();
    if (fs::is_directory(status)) {
      item.is_dir = true;
    } else if (fs::is_regular_file(status)) {
      item.size = it->file_size(ec);
      if (ec) return ErrnoError("cannot stat", it->path(), ec.value());
    } else {
      return absl::FailedPreconditionError(
          absl::StrCat(it->path().string(),
                       ": neither a regular file nor a directory; a bundle "
                       "holds only those"));
    }
    items.push_back(std::move(item));
  }
  std::sort(items.begin(), items.end(),
            [](const Item& a, const Item& b) { return a.rel < b.rel; });
  return items;
}

// Writes one tar header: owner 0:0, mtime 0, the given mode.
absl::Status WriteHeader(struct archive* a, struct archive_entry* entry,
                         const std::string& name, bool is_dir, unsigned mode,
                         uint64_t size) {
  archive_entry_clear(entry);
  archive_entry_set_pathname(entry, name.c_str());
  archive_entry_set_filetype(entry, is_dir ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm(entry, mode);
  archive_entry_set_size(entry, is_dir ? 0 : static_cast<la_int64_t>(size));
  archive_entry_set_mtime(entry, 0, 0);
  archive_entry_set_uid(entry, 0);
  archive_entry_set_gid(entry, 0);
  if (archive_write_header(a, entry) != ARCHIVE_OK) {
    return ArchiveError(a, name, "cannot write the archive entry");
  }
  return absl::OkStatus();
}

// A gzip-compressed tar written to `fd`, reproducibly.
absl::Status OpenTarGz(struct archive* a, int fd, const fs::path& out) {
  if (archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
      archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
      archive_write_set_options(
          a, "gzip:!timestamp,gzip:compression-level=1") != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
      archive_write_open_fd(a, fd) != ARCHIVE_OK) {
    return ArchiveError(a, out, "cannot start the archive");
  }
  return absl::OkStatus();
}

absl::Status WriteEntries(struct archive* a, const fs::path& dir,
                          const std::string& top,
                          const std::vector<Item>& items) {
  EntryPtr entry(archive_entry_new());
  if (entry == nullptr) return absl::ResourceExhaustedError("out of memory");
  auto header = [&](const std::string& name, bool is_dir, unsigned mode,
                    uint64_t size) {
    return WriteHeader(a, entry.get(), name, is_dir, mode, size);
  };
  RETURN_IF_ERROR(header(top + "/", true, 0755, 0));
  std::vector<char> buffer(kChunk);
  for (const Item& item : items) {
    const std::string name = absl::StrCat(top, "/", item.rel);
    if (item.is_dir) {
      RETURN_IF_ERROR(header(name + "/", true, 0755, 0));
      continue;
    }
    const fs::path path = dir / item.rel;
    Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) return ErrnoError("cannot open", path, errno);
    RETURN_IF_ERROR(
        header(name, false, item.rel == "VERIFY.sh" ? 0755 : 0644, item.size));
    uint64_t written = 0;
    while (true) {
      const ssize_t n = ReadRetrying(fd.get(), buffer.data(), buffer.size());
      if (n < 0) return ErrnoError("cannot read", path, errno);
      if (n == 0) break;
      written += static_cast<uint64_t>(n);
      if (written > item.size) break;
      if (archive_write_data(a, buffer.data(), static_cast<size_t>(n)) != n) {
        return ArchiveError(a, path, "cannot write the archive");
      }
    }
    if (written != item.size) {
      return absl::AbortedError(
          absl::StrCat(path.string(), ": changed while being archived"));
    }
  }
  return absl::OkStatus();
}

// "a/./b/" -> {"a", "b"}; INVALID_ARGUMENT for an absolute path or "..".
absl::StatusOr<std::vector<std::string>> EntryComponents(
    absl::string_view name, const std::string& where) {
  if (absl::StartsWith(name, "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": absolute path; refused"));
  }
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(name, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": \"..\" in its path; refused"));
    }
    parts.emplace_back(part);
  }
  return parts;
}

}  // namespace

absl::Status WriteTarGz(const fs::path& dir, const fs::path& out) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat(dir.string(), ": not a directory"));
  }
  const fs::path canonical = fs::weakly_canonical(dir, ec);
  if (ec) return ErrnoError("cannot resolve", dir, ec.value());
  const std::string top = canonical.filename().string();
  if (top.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir.string(), ": cannot archive the root directory"));
  }
  ASSIGN_OR_RETURN(std::vector<Item> items, ListTree(dir));

  const fs::path parent =
      out.has_parent_path() ? out.parent_path() : fs::path(".");
  std::string temp =
      (parent / absl::StrCat(".", out.filename().string(), ".XXXXXX")).string();
  Fd fd(::mkstemp(temp.data()));
  if (fd.get() < 0) return ErrnoError("cannot create", temp, errno);
  struct Unlinker {
    std::string path;
    ~Unlinker() {
      if (!path.empty()) ::unlink(path.c_str());
    }
  } unlinker{temp};
  if (::fchmod(fd.get(), 0644) != 0) return ErrnoError("chmod", temp, errno);

  {
    WritePtr a(archive_write_new());
    if (a == nullptr) return absl::ResourceExhaustedError("out of memory");
    RETURN_IF_ERROR(OpenTarGz(a.get(), fd.get(), out));
    RETURN_IF_ERROR(WriteEntries(a.get(), dir, top, items));
    if (archive_write_close(a.get()) != ARCHIVE_OK) {
      return ArchiveError(a.get(), out, "cannot finish the archive");
    }
  }
  if (::fsync(fd.get()) != 0) return ErrnoError("cannot sync", temp, errno);
  if (fd.Close() != 0) return ErrnoError("cannot close", temp, errno);
  if (::rename(temp.c_str(), out.c_str()) != 0) {
    return ErrnoError("cannot rename into place", out, errno);
  }
  unlinker.path.clear();
  Fd dir_fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0) ::fsync(dir_fd.get());
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<TarGzSink>> TarGzSink::Create(
    const fs::path& out, std::string top) {
  std::error_code ec;
  if (fs::exists(out, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat(out.string(), " already exists"));
  }
  auto sink = std::unique_ptr<TarGzSink>(new TarGzSink());
  sink->out_ = out;
  sink->top_ = std::move(top);
  const fs::path parent =
      out.has_parent_path() ? out.parent_path() : fs::path(".");
  sink->temp_ =
      (parent / absl::StrCat(".", out.filename().string(), ".XXXXXX")).string();
  sink->fd_ = ::mkstemp(sink->temp_.data());
  if (sink->fd_ < 0) {
    const int error = errno;
    sink->temp_.clear();
    return ErrnoError("cannot create", out, error);
  }
  if (::fchmod(sink->fd_, 0644) != 0) return ErrnoError("chmod", out, errno);
  sink->archive_ = archive_write_new();
  sink->entry_ = archive_entry_new();
  if (sink->archive_ == nullptr || sink->entry_ == nullptr) {
    return absl::ResourceExhaustedError("out of memory");
  }
  RETURN_IF_ERROR(OpenTarGz(sink->archive_, sink->fd_, out));
  RETURN_IF_ERROR(WriteHeader(sink->archive_, sink->entry_, sink->top_ + "/",
                              true, 0755, 0));
  return sink;
}

TarGzSink::~TarGzSink() {
  if (entry_ != nullptr) archive_entry_free(entry_);
  if (archive_ != nullptr) archive_write_free(archive_);
  if (fd_ >= 0) ::close(fd_);
  if (!temp_.empty()) ::unlink(temp_.c_str());
}

absl::Status TarGzSink::Add(absl::string_view path, absl::string_view bytes) {
  if (archive_ == nullptr) {
    return absl::FailedPreconditionError("the archive is finished");
  }
  // Each directory once, before its first file.
  for (size_t slash = path.find('/'); slash != absl::string_view::npos;
       slash = path.find('/', slash + 1)) {
    std::string dir(path.substr(0, slash));
    if (dirs_.insert(dir).second) {
      RETURN_IF_ERROR(WriteHeader(
          archive_, entry_, absl::StrCat(top_, "/", dir, "/"), true, 0755, 0));
    }
  }
  const std::string name = absl::StrCat(top_, "/", path);
  RETURN_IF_ERROR(WriteHeader(archive_, entry_, name, false,
                              path == "VERIFY.sh" ? 0755 : 0644, bytes.size()));
  if (!bytes.empty() &&
      archive_write_data(archive_, bytes.data(), bytes.size()) !=
          static_cast<la_ssize_t>(bytes.size())) {
    return ArchiveError(archive_, out_, "cannot write the archive");
  }
  ++files_;
  return absl::OkStatus();
}

absl::Status TarGzSink::Finish() {
  if (archive_ == nullptr) {
    return absl::FailedPreconditionError("the archive is finished");
  }
  const int closed = archive_write_close(archive_);
  absl::Status status =
      closed == ARCHIVE_OK
          ? absl::OkStatus()
          : ArchiveError(archive_, out_, "cannot finish the archive");
  archive_write_free(archive_);
  archive_ = nullptr;
  RETURN_IF_ERROR(status);
  if (::fsync(fd_) != 0) return ErrnoError("cannot sync", out_, errno);
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) return ErrnoError("cannot close", out_, errno);
  if (::rename(temp_.c_str(), out_.c_str()) != 0) {
    return ErrnoError("cannot rename into place", out_, errno);
  }
  temp_.clear();
  const fs::path parent =
      out_.has_parent_path() ? out_.parent_path() : fs::path(".");
  Fd dir_fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0) ::fsync(dir_fd.get());
  return absl::OkStatus();
}

absl::StatusOr<fs::path> UnpackTarGz(const fs::path& archive,
                                     const fs::path& into) {
  std::error_code ec;
  if (!fs::exists(archive, ec)) {
    return absl::NotFoundError(absl::StrCat(archive.string(), ": not found"));
  }
  ReadPtr a(archive_read_new());
  if (a == nullptr) return absl::ResourceExhaustedError("out of memory");
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), archive.c_str(), 1 << 16) !=
      ARCHIVE_OK) {
    return absl::DataLossError(absl::StrCat(
        archive.string(), ": not a .tar.gz archive: ",
        archive_error_string(a.get()) != nullptr ? archive_error_string(a.get())
                                                 : "?"));
  }
  fs::create_directories(into, ec);
  if (ec) return ErrnoError("cannot create", into, ec.value());

  // Whether every entry lies below one top-level directory.
  std::set<std::string> tops;
  bool file_at_top = false;
  uint64_t entries = 0;
  std::vector<char> buffer(kChunk);
  while (true) {
    struct archive_entry* entry = nullptr;
    const int r = archive_read_next_header(a.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      return absl::DataLossError(absl::StrCat(
          archive.string(), ": corrupt after ", entries, " entries: ",
          archive_error_string(a.get()) != nullptr
              ? archive_error_string(a.get())
              : "?"));
    }
    if (++entries > kMaxArchiveEntries) {
      return absl::InvalidArgumentError(
          absl::StrCat(archive.string(), ": more than ", kMaxArchiveEntries,
                       " entries; refused"));
    }
    const char* raw_name = archive_entry_pathname(entry);
    if (raw_name == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          archive.string(), ": entry ", entries, " has no usable name"));
    }
    const absl::string_view name(raw_name);
    const std::string where =
        absl::StrCat(archive.string(), ": entry \"",
                     absl::CHexEscape(name.substr(0, 256)), "\"");
    if (archive_entry_hardlink(entry) != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": is a hard link; refused"));
    }
    const mode_t type = archive_entry_filetype(entry);
    if (type == AE_IFLNK || archive_entry_symlink(entry) != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": is a symbolic link; refused"));
    }
    if (type != AE_IFREG && type != AE_IFDIR) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": is not a regular file or directory; refused"));
    }
    ASSIGN_OR_RETURN(std::vector<std::string> parts,
                     EntryComponents(name, where));
    if (parts.empty()) {
      if (type == AE_IFDIR) continue;  // "./"
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": a file without a name; refused"));
    }
    fs::path target = into;
    for (const std::string& part : parts) target /= part;
    tops.insert(parts[0]);
    if (type == AE_IFDIR) {
      fs::create_directories(target, ec);
      if (ec) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": cannot be made a directory: ", ec.message()));
      }
      continue;
    }
    if (parts.size() == 1) file_at_top = true;
    if (archive_entry_size_is_set(entry) &&
        archive_entry_size(entry) >
            static_cast<la_int64_t>(kMaxArchiveFileBytes)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": ", archive_entry_size(entry), " bytes, more than ",
          kMaxArchiveFileBytes, "; refused"));
    }
    fs::create_directories(target.parent_path(), ec);
    if (ec) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": its directory cannot be made: ", ec.message()));
    }
    Fd fd(::open(target.c_str(),
                 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (fd.get() < 0) {
      if (errno == EEXIST) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": appears twice; refused"));
      }
      return ErrnoError("cannot create", target, errno);
    }
    uint64_t size = 0;
    while (true) {
      const la_ssize_t n =
          archive_read_data(a.get(), buffer.data(), buffer.size());
      if (n == 0) break;
      if (n < 0) {
        return absl::DataLossError(
            absl::StrCat(where, ": corrupt: ",
                         archive_error_string(a.get()) != nullptr
                             ? archive_error_string(a.get())
                             : "?"));
      }
      size += static_cast<uint64_t>(n);
      if (size > kMaxArchiveFileBytes) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": more than ", kMaxArchiveFileBytes, " bytes; refused"));
      }
      if (WriteAll(fd.get(), std::string_view(buffer.data(),
                                              static_cast<size_t>(n))) != 0) {
        return ErrnoError("cannot write", target, errno);
      }
    }
    if (fd.Close() != 0) return ErrnoError("cannot write", target, errno);
  }
  if (tops.size() == 1 && !file_at_top) return into / *tops.begin();
  return into;
}

}  // namespace evidentia::collector
