#include "collector/log/transparency_log.h"

#include <algorithm>
#include <array>
#include <limits>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "collector/store/keys.h"
#include "collector/store/records.h"
#include "common/log.h"
#include "common/merkle.h"
#include "common/sha256.h"
#include "common/status_macros.h"

namespace evidentia::collector {
namespace {

// The deepest level a tree of fewer than 2^64 leaves has.
constexpr int kMaxLevel = 63;
// The least time between retries of a failed background step.
constexpr absl::Duration kRetryDelay = absl::Seconds(1);

std::string_view Std(absl::string_view s) {
  return std::string_view(s.data(), s.size());
}

bool IsAlignedPowerOfTwo(uint64_t begin, uint64_t n) {
  return n != 0 && (n & (n - 1)) == 0 && (begin & (n - 1)) == 0;
}

// The largest power of two smaller than `n` (n >= 2): RFC 6962's split.
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while (k < n - k) k <<= 1;
  return k;
}

int Log2(uint64_t power_of_two) {
  int level = 0;
  while ((power_of_two >> level) != 1) ++level;
  return level;
}

absl::Status BeyondLog(uint64_t size, uint64_t log_size) {
  return absl::OutOfRangeError(
      absl::StrCat("tree size ", size, " is beyond the log's size ", log_size));
}

}  // namespace

TransparencyLog::TransparencyLog(Store& store, PrivateKey key, Clock clock)
    : store_(store), key_(std::move(key)), clock_(std::move(clock)) {}

TransparencyLog::~TransparencyLog() { Stop(); }

absl::StatusOr<std::unique_ptr<TransparencyLog>> TransparencyLog::Open(
    Store& store, PrivateKey collector_key, Clock clock) {
  ASSIGN_OR_RETURN(std::optional<std::string> stored,
                   store.Get(Table::kMeta, keys::kLogSize));
  uint64_t size = 0;
  if (stored.has_value()) {
    if (stored->size() != 8) {
      return absl::DataLossError(absl::StrCat(
          "stored transparency log size is ", stored->size(), " bytes, not 8"));
    }
    size = keys::ReadBigEndian64(*stored);
  }
  auto log = std::unique_ptr<TransparencyLog>(
      new TransparencyLog(store, std::move(collector_key), std::move(clock)));
  log->size_.store(size);
  return log;
}

void TransparencyLog::Enqueue(Batch& batch, absl::string_view agent_id,
                              uint64_t seq, absl::string_view payload,
                              absl::string_view signature) {
  v1::LogQueueEntry entry;
  entry.set_leaf_hash(merkle::SnapshotLeafHash(Std(payload), Std(signature)));
  batch.Put(Table::kLogQueue, keys::Snapshot(agent_id, seq),
            entry.SerializeAsString());
}

uint64_t TransparencyLog::size() const { return size_.load(); }

absl::StatusOr<uint64_t> TransparencyLog::Integrate() {
  absl::MutexLock lock(&integrate_mu_);
  while (true) {
    ASSIGN_OR_RETURN(size_t taken, IntegrateRound());
    if (taken < kLogEntriesPerRound) break;
  }
  return size_.load();
}

absl::StatusOr<size_t> TransparencyLog::IntegrateRound() {
  std::vector<std::pair<std::string, std::string>> queued;
  RETURN_IF_ERROR(
      store_.Scan(Table::kLogQueue, "",
                  [&](absl::string_view key, absl::string_view value) {
                    queued.emplace_back(std::string(key), std::string(value));
                    return queued.size() < kLogEntriesPerRound;
                  }));
  if (queued.empty()) return 0;

  // The right edge of the tree: frontier[l] is the complete subtree at level
  // l that still waits for its right sibling (present when bit l of n is
  // set).
  const uint64_t start = size_.load();
  std::array<std::string, kMaxLevel + 1> frontier;
  for (int level = 0; level <= kMaxLevel; ++level) {
    if (((start >> level) & 1) == 0) continue;
    ASSIGN_OR_RETURN(frontier[level], Node(level, (start >> level) - 1));
  }

  Batch batch;
  uint64_t n = start;
  for (const auto& [key, value] : queued) {
    batch.Delete(Table::kLogQueue, key);
    ASSIGN_OR_RETURN(
        v1::LogQueueEntry entry,
        DecodeRecord<v1::LogQueueEntry>(value, "transparency log queue entry"));
    if (entry.leaf_hash().size() != kSha256Size) {
      return absl::DataLossError(
          absl::StrCat("transparency log queue entry has a ",
                       entry.leaf_hash().size(), "-byte leaf hash"));
    }
    ASSIGN_OR_RETURN(std::optional<std::string> logged,
                     store_.Get(Table::kLogIndex, key));
    if (logged.has_value()) continue;  // never the same snapshot twice
    if (n == std::numeric_limits<uint64_t>::max()) {
      return absl::ResourceExhaustedError("the transparency log is full");
    }

    batch.Put(Table::kLogIndex, key, keys::BigEndian64(n));
    std::string hash = entry.leaf_hash();
    batch.Put(Table::kLogNodes, keys::LogNode(0, n), hash);
    int level = 0;
    while (((n >> level) & 1) != 0) {
      hash = merkle::NodeHash(frontier[level], hash);
      ++level;
      batch.Put(Table::kLogNodes, keys::LogNode(level, n >> level), hash);
    }
    frontier[level] = std::move(hash);
    ++n;
  }
  batch.Put(Table::kMeta, keys::kLogSize, keys::BigEndian64(n));
  RETURN_IF_ERROR(store_.Commit(batch));
  size_.store(n);
  return queued.size();
}

absl::StatusOr<std::string> TransparencyLog::Node(int level,
                                                  uint64_t index) const {
  ASSIGN_OR_RETURN(std::optional<std::string> hash,
                   store_.Get(Table::kLogNodes, keys::LogNode(level, index)));
  if (!hash.has_value() || hash->size() != kSha256Size) {
    return absl::DataLossError(
        absl::StrCat("transparency log node at level ", level, " index ", index,
                     hash.has_value() ? " is malformed" : " is missing"));
  }
  return *std::move(hash);
}

absl::StatusOr<std::string> TransparencyLog::SubtreeHash(uint64_t begin,
                                                         uint64_t end) const {
  const uint64_t n = end - begin;
  if (n == 0) return merkle::EmptyRoot();
  // Complete subtrees of 1 or 2 leaves are one read each and many; the
  // rest are shared by many proofs and worth keeping.
  const bool aligned = IsAlignedPowerOfTwo(begin, n);
  if (aligned && n < 4) {
    const int level = Log2(n);
    return Node(level, begin >> level);
  }
  {
    absl::MutexLock lock(&cache_mu_);
    auto cached = cache_.find({begin, end});
    if (cached != cache_.end()) return cached->second;
  }
  std::string hash;
  if (aligned) {
    const int level = Log2(n);
    ASSIGN_OR_RETURN(hash, Node(level, begin >> level));
  } else {
    const uint64_t k = SplitPoint(n);
    ASSIGN_OR_RETURN(std::string left, SubtreeHash(begin, begin + k));
    ASSIGN_OR_RETURN(std::string right, SubtreeHash(begin + k, end));
    hash = merkle::NodeHash(left, right);
  }
  absl::MutexLock lock(&cache_mu_);
  if (cache_.size() >= kCachedSubtrees) cache_.clear();
  cache_.emplace(std::make_pair(begin, end), hash);
  return hash;
}

absl::StatusOr<std::string> TransparencyLog::Root(uint64_t size) const {
  const uint64_t log_size = size_.load();
  if (size > log_size) return BeyondLog(size, log_size);
  return SubtreeHash(0, size);
}

absl::StatusOr<std::optional<uint64_t>> TransparencyLog::LeafIndex(
    absl::string_view agent_id, uint64_t seq) const {
  ASSIGN_OR_RETURN(std::optional<std::string> index,
                   store_.Get(Table::kLogIndex, keys::Snapshot(agent_id, seq)));
  if (!index.has_value()) return std::nullopt;
  if (index->size() != 8) {
    return absl::DataLossError(absl::StrCat("stored leaf index of snapshot ",
                                            seq, " from agent ", agent_id,
                                            " is malformed"));
  }
  return keys::ReadBigEndian64(*index);
}

absl::Status TransparencyLog::AppendPath(uint64_t index, uint64_t begin,
                                         uint64_t end,
                                         std::vector<std::string>& out) const {
  if (end - begin <= 1) return absl::OkStatus();
  const uint64_t k = SplitPoint(end - begin);
  if (index < begin + k) {
    RETURN_IF_ERROR(AppendPath(index, begin, begin + k, out));
    ASSIGN_OR_RETURN(std::string sibling, SubtreeHash(begin + k, end));
    out.push_back(std::move(sibling));
  } else {
    RETURN_IF_ERROR(AppendPath(index, begin + k, end, out));
    ASSIGN_OR_RETURN(std::string sibling, SubtreeHash(begin, begin + k));
    out.push_back(std::move(sibling));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> TransparencyLog::InclusionProof(
    uint64_t index, uint64_t size) const {
  const uint64_t log_size = size_.load();
  if (size > log_size) return BeyondLog(size, log_size);
  if (index >= size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "leaf index ", index, " is not in the tree of size ", size));
  }
  std::vector<std::string> proof;
  RETURN_IF_ERROR(AppendPath(index, 0, size, proof));
  return proof;
}

absl::Status TransparencyLog::AppendSubproof(
    uint64_t m, uint64_t begin, uint64_t end, bool complete,
    std::vector<std::string>& out) const {
  if (m == end) {
    if (!complete) {
      ASSIGN_OR_RETURN(std::string hash, SubtreeHash(begin, end));
      out.push_back(std::move(hash));
    }
    return absl::OkStatus();
  }
  const uint64_t k = SplitPoint(end - begin);
  if (m <= begin + k) {
    RETURN_IF_ERROR(AppendSubproof(m, begin, begin + k, complete, out));
    ASSIGN_OR_RETURN(std::string right, SubtreeHash(begin + k, end));
    out.push_back(std::move(right));
  } else {
    RETURN_IF_ERROR(AppendSubproof(m, begin + k, end, false, out));
    ASSIGN_OR_RETURN(std::string left, SubtreeHash(begin, begin + k));
    out.push_back(std::move(left));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> TransparencyLog::ConsistencyProof(
    uint64_t size1, uint64_t size2) const {
  if (size1 > size2) {
    return absl::InvalidArgumentError(
        absl::StrCat("consistency from size ", size1, " to the smaller size ",
                     size2, " is meaningless"));
  }
  const uint64_t log_size = size_.load();
  if (size2 > log_size) return BeyondLog(size2, log_size);
  std::vector<std::string> proof;
  if (size1 == 0 || size1 == size2) return proof;
  RETURN_IF_ERROR(AppendSubproof(size1, 0, size2, true, proof));
  return proof;
}

absl::StatusOr<v1::StoredCheckpoint> TransparencyLog::SignCheckpoint() {
  ASSIGN_OR_RETURN(uint64_t size, Integrate());
  Checkpoint checkpoint;
  checkpoint.collector_key_id = key_.public_key().KeyId();
  checkpoint.size = size;
  ASSIGN_OR_RETURN(checkpoint.root, Root(size));
  checkpoint.time = absl::FromUnixSeconds(absl::ToUnixSeconds(clock_()));
  const std::string text = FormatCheckpoint(checkpoint);
  ASSIGN_OR_RETURN(std::string signature, key_.Sign(text));

  v1::StoredCheckpoint stored;
  stored.set_text(text);
  stored.set_signature(std::move(signature));
  Batch batch;
  batch.Put(Table::kCheckpoints, keys::Checkpoint(size),
            stored.SerializeAsString());
  RETURN_IF_ERROR(store_.Commit(batch));
  return stored;
}

absl::StatusOr<std::optional<v1::StoredCheckpoint>>
TransparencyLog::LatestCheckpoint() const {
  ASSIGN_OR_RETURN(auto last,
                   store_.LastAtOrBefore(
                       Table::kCheckpoints, "",
                       keys::Checkpoint(std::numeric_limits<uint64_t>::max())));
  if (!last.has_value()) return std::nullopt;
  ASSIGN_OR_RETURN(
      v1::StoredCheckpoint checkpoint,
      DecodeRecord<v1::StoredCheckpoint>(last->second, "checkpoint"));
  return checkpoint;
}

void TransparencyLog::Notify() {
  absl::MutexLock lock(&background_mu_);
  notified_ = true;
  wake_.Signal();
}

void TransparencyLog::StartBackground(absl::Duration integrate_every,
                                      absl::Duration checkpoint_every) {
  absl::MutexLock lifecycle(&lifecycle_mu_);
  if (thread_.joinable()) return;
  {
    absl::MutexLock lock(&background_mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this, integrate_every, checkpoint_every] {
    RunBackground(integrate_every, checkpoint_every);
  });
}

void TransparencyLog::Stop() {
  absl::MutexLock lifecycle(&lifecycle_mu_);
  if (!thread_.joinable()) return;
  {
    absl::MutexLock lock(&background_mu_);
    stopping_ = true;
    wake_.Signal();
  }
  thread_.join();
}

void TransparencyLog::RunBackground(absl::Duration integrate_every,
                                    absl::Duration checkpoint_every) {
  integrate_every = std::max(integrate_every, absl::ZeroDuration());
  // The size of the newest checkpoint: only growth is worth signing.
  uint64_t checkpointed = 0;
  if (absl::StatusOr<std::optional<v1::StoredCheckpoint>> latest =
          LatestCheckpoint();
      latest.ok() && latest->has_value()) {
    absl::StatusOr<Checkpoint> parsed = ParseCheckpoint((*latest)->text());
    if (parsed.ok()) checkpointed = parsed->size;
  }

  bool pending = true;  // whatever was queued before we started
  absl::Time next_integrate = absl::InfinitePast();
  absl::Time next_checkpoint = absl::Now() + checkpoint_every;
  while (true) {
    {
      absl::MutexLock lock(&background_mu_);
      while (!stopping_) {
        pending = pending || notified_;
        const absl::Time now = absl::Now();
        if ((pending && now >= next_integrate) || now >= next_checkpoint) {
          break;
        }
        wake_.WaitWithDeadline(
            &background_mu_, pending ? std::min(next_integrate, next_checkpoint)
                                     : next_checkpoint);
      }
      if (stopping_) return;
      notified_ = false;
    }
    pending = false;

    const absl::Time now = absl::Now();
    if (absl::StatusOr<uint64_t> integrated = Integrate(); !integrated.ok()) {
      Log(LogLevel::kError,
          absl::StrCat("transparency log: integrating queued snapshots "
                       "failed; will retry: ",
                       integrated.status().ToString()));
      pending = true;
      next_integrate = now + std::max(integrate_every, kRetryDelay);
      continue;
    }
    next_integrate = now + integrate_every;

    if (now < next_checkpoint) continue;
    if (size() <= checkpointed) {
      next_checkpoint = now + checkpoint_every;
      continue;
    }
    absl::StatusOr<v1::StoredCheckpoint> signed_checkpoint = SignCheckpoint();
    absl::StatusOr<Checkpoint> parsed =
        signed_checkpoint.ok()
            ? ParseCheckpoint(signed_checkpoint->text())
            : absl::StatusOr<Checkpoint>(signed_checkpoint.status());
    if (!parsed.ok()) {
      Log(LogLevel::kError,
          absl::StrCat("transparency log: signing a checkpoint failed; will "
                       "retry: ",
                       parsed.status().ToString()));
      next_checkpoint = now + std::max(integrate_every, kRetryDelay);
      continue;
    }
    checkpointed = parsed->size;
    next_checkpoint = now + checkpoint_every;
  }
}

}  // namespace evidentia::collector
