// Test support: a RocksDB environment whose disk can be made "full". While
// full, every write, flush, sync and new file fails with ENOSPC, the way a
// real file system answers when space runs out; freeing space makes them
// succeed again. Only the operating-system boundary is faked: RocksDB
// itself, and the store above it, are real. Thread-safe.
#ifndef EVIDENTIA_TESTS_SUPPORT_FULL_DISK_H_
#define EVIDENTIA_TESTS_SUPPORT_FULL_DISK_H_

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "rocksdb/env.h"
#include "rocksdb/file_system.h"

namespace evidentia::testing {

class FullDisk {
 public:
  FullDisk()
      : fs_(std::make_shared<FileSystem>(rocksdb::FileSystem::Default(),
                                         &full_)),
        env_(rocksdb::NewCompositeEnv(fs_)) {}

  rocksdb::Env* env() const { return env_.get(); }
  void Fill() { full_ = true; }
  void Free() { full_ = false; }

 private:
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> file,
         const std::atomic<bool>* full)
        : FSWritableFileOwnerWrapper(std::move(file)), full_(full) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
      if (*full_) return rocksdb::IOStatus::NoSpace("injected: disk full");
      return FSWritableFileOwnerWrapper::Append(data, options, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data,
                             const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info,
                             rocksdb::IODebugContext* dbg) override {
      if (*full_) return rocksdb::IOStatus::NoSpace("injected: disk full");
      return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
    }
    rocksdb::IOStatus Flush(const rocksdb::IOOptions& options,
                            rocksdb::IODebugContext* dbg) override {
      if (*full_) return rocksdb::IOStatus::NoSpace("injected: disk full");
      return FSWritableFileOwnerWrapper::Flush(options, dbg);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
      if (*full_) return rocksdb::IOStatus::NoSpace("injected: disk full");
      return FSWritableFileOwnerWrapper::Sync(options, dbg);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                            rocksdb::IODebugContext* dbg) override {
      if (*full_) return rocksdb::IOStatus::NoSpace("injected: disk full");
      return FSWritableFileOwnerWrapper::Fsync(options, dbg);
    }

   private:
    const std::atomic<bool>* full_;
  };

  class FileSystem : public rocksdb::FileSystemWrapper {
   public:
    FileSystem(const std::shared_ptr<rocksdb::FileSystem>& target,
               const std::atomic<bool>* full)
        : FileSystemWrapper(target), full_(full) {}
    const char* Name() const override { return "FullDisk"; }
    rocksdb::IOStatus NewWritableFile(
        const std::string& name, const rocksdb::FileOptions& options,
        std::unique_ptr<rocksdb::FSWritableFile>* result,
        rocksdb::IODebugContext* dbg) override {
      return Wrapped(result, [&](auto* file) {
        return FileSystemWrapper::NewWritableFile(name, options, file, dbg);
      });
    }
    rocksdb::IOStatus ReopenWritableFile(
        const std::string& name, const rocksdb::FileOptions& options,
        std::unique_ptr<rocksdb::FSWritableFile>* result,
        rocksdb::IODebugContext* dbg) override {
      return Wrapped(result, [&](auto* file) {
        return FileSystemWrapper::ReopenWritableFile(name, options, file, dbg);
      });
    }

   private:
    // Opens a file with `open` (unless the disk is full) and wraps it.
    template <typename Open>
    rocksdb::IOStatus Wrapped(std::unique_ptr<rocksdb::FSWritableFile>* result,
                              Open open) {
      if (*full_) return rocksdb::IOStatus::NoSpace("injected: disk full");
      std::unique_ptr<rocksdb::FSWritableFile> file;
      rocksdb::IOStatus s = open(&file);
      if (s.ok()) *result = std::make_unique<File>(std::move(file), full_);
      return s;
    }

    const std::atomic<bool>* full_;
  };

  std::atomic<bool> full_{false};
  std::shared_ptr<FileSystem> fs_;
  std::unique_ptr<rocksdb::Env> env_;
};

}  // namespace evidentia::testing

#endif  // EVIDENTIA_TESTS_SUPPORT_FULL_DISK_H_
