#include "collector/store/memory_store.h"

#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "common/status_macros.h"

namespace evidentia::collector {

MemoryStore::MemoryStore(std::function<absl::Status()> before_commit)
    : before_commit_(std::move(before_commit)) {}

absl::StatusOr<std::optional<std::string>> MemoryStore::Get(
    Table table, absl::string_view key) const {
  absl::ReaderMutexLock lock(&mu_);
  return GetLocked(table, key);
}

std::optional<std::string> MemoryStore::GetLocked(Table table,
                                                  absl::string_view key) const {
  const Rows& rows = tables_[static_cast<int>(table)];
  auto it = rows.find(key);
  if (it == rows.end()) return std::nullopt;
  return it->second;
}

// Scans copy up to kChunk entries at a time under the lock and call the
// visitor without it, so that a visitor may read the store.
constexpr size_t kChunk = 64;

absl::Status MemoryStore::Scan(Table table, absl::string_view prefix,
                               const Visitor& fn,
                               absl::string_view start) const {
  std::string from(start > prefix ? start : prefix);
  bool from_included = true;
  std::vector<std::pair<std::string, std::string>> chunk;
  do {
    chunk.clear();
    {
      absl::ReaderMutexLock lock(&mu_);
      const Rows& rows = tables_[static_cast<int>(table)];
      for (auto it = from_included ? rows.lower_bound(from)
                                   : rows.upper_bound(from);
           it != rows.end() && chunk.size() < kChunk &&
           absl::StartsWith(it->first, prefix);
           ++it) {
        chunk.emplace_back(*it);
      }
    }
    for (const auto& [key, value] : chunk) {
      if (!fn(key, value)) return absl::OkStatus();
    }
    if (!chunk.empty()) from = chunk.back().first;
    from_included = false;
  } while (chunk.size() == kChunk);
  return absl::OkStatus();
}

absl::Status MemoryStore::ScanBackward(Table table, absl::string_view prefix,
                                       absl::string_view bound,
                                       const Visitor& fn) const {
  std::string to(bound);
  bool to_included = true;
  std::vector<std::pair<std::string, std::string>> chunk;
  do {
    chunk.clear();
    {
      absl::ReaderMutexLock lock(&mu_);
      const Rows& rows = tables_[static_cast<int>(table)];
      auto it = to_included ? rows.upper_bound(to) : rows.lower_bound(to);
      while (it != rows.begin() && chunk.size() < kChunk) {
        --it;
        if (!absl::StartsWith(it->first, prefix)) break;
        chunk.emplace_back(*it);
      }
    }
    for (const auto& [key, value] : chunk) {
      if (!fn(key, value)) return absl::OkStatus();
    }
    if (!chunk.empty()) to = chunk.back().first;
    to_included = false;
  } while (chunk.size() == kChunk);
  return absl::OkStatus();
}

absl::Status MemoryStore::Commit(const Batch& batch) {
  if (before_commit_ != nullptr) RETURN_IF_ERROR(before_commit_());
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckPreconditions(batch,
                                     [this](Table table, absl::string_view key)
                                         ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
                                           return GetLocked(table, key);
                                         }));
  for (const Batch::Op& op : batch.ops()) {
    Rows& rows = tables_[static_cast<int>(op.table)];
    if (op.is_delete) {
      rows.erase(op.key);
    } else {
      rows.insert_or_assign(op.key, op.value);
    }
  }
  return absl::OkStatus();
}

}  // namespace evidentia::collector
