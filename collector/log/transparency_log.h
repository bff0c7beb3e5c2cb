// The collector's transparency log: every accepted snapshot becomes a leaf
// of an RFC 6962 Merkle tree kept in RocksDB (proto/README.md,
// "Transparency log"). Ingest only queues the leaf inside its own synced
// batch (so an acknowledged snapshot is never missing from the log, even
// after a crash); Integrate() appends what is queued in large synced
// batches, which keeps ingest's own writes small. Every complete subtree's
// hash is stored
// once, so roots and proofs for any size cost O(log n) reads.
// Checkpoints (size, root, time) are signed with the collector key.
// Thread-safe.
#ifndef EVIDENTIA_COLLECTOR_LOG_TRANSPARENCY_LOG_H_
#define EVIDENTIA_COLLECTOR_LOG_TRANSPARENCY_LOG_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/store/store.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/proto_time.h"
#include "evidentia/v1/bundle.pb.h"

namespace evidentia::collector {

// How many queued entries one synced commit of Integrate() appends at most.
inline constexpr size_t kLogEntriesPerRound = 50000;

class TransparencyLog {
 public:
  // `store` must outlive the log. Reads the log's size; integrates nothing.
  // DATA_LOSS when the stored size is corrupt; UNAVAILABLE on a read error.
  static absl::StatusOr<std::unique_ptr<TransparencyLog>> Open(
      Store& store, PrivateKey collector_key, Clock clock);
  ~TransparencyLog();  // stops the background thread

  TransparencyLog(const TransparencyLog&) = delete;
  TransparencyLog& operator=(const TransparencyLog&) = delete;

  // Adds to `batch` the queue entry for an accepted snapshot; ingest calls
  // this inside the batch that stores the snapshot.
  static void Enqueue(Batch& batch, absl::string_view agent_id, uint64_t seq,
                      absl::string_view payload, absl::string_view signature);

  // Appends every queued entry (in key order: agent id, then seq), at most
  // kLogEntriesPerRound per synced batch, until the queue is empty; returns
  // the new size. A snapshot already in the log is not appended again.
  // UNAVAILABLE on a write error, when the failing round appends nothing;
  // DATA_LOSS for a corrupt queue entry or a missing stored node.
  absl::StatusOr<uint64_t> Integrate();

  uint64_t size() const;
  // The root of the tree of the first `size` leaves. OUT_OF_RANGE when
  // size > size(); DATA_LOSS when a stored node is missing or malformed.
  absl::StatusOr<std::string> Root(uint64_t size) const;
  // The leaf index of a snapshot; nullopt while it is queued or unknown.
  absl::StatusOr<std::optional<uint64_t>> LeafIndex(absl::string_view agent_id,
                                                    uint64_t seq) const;
  // RFC 6962 audit path of leaf `index` in the tree of `size`, the leaf's
  // sibling first. INVALID_ARGUMENT when index >= size; OUT_OF_RANGE when
  // size > size().
  absl::StatusOr<std::vector<std::string>> InclusionProof(uint64_t index,
                                                          uint64_t size) const;
  // RFC 6962 consistency proof from `size1` to `size2` (empty when size1 is
  // 0 or equals size2). INVALID_ARGUMENT when size1 > size2; OUT_OF_RANGE
  // when size2 > size().
  absl::StatusOr<std::vector<std::string>> ConsistencyProof(
      uint64_t size1, uint64_t size2) const;

  // Integrates, then signs and stores a checkpoint of the current size: the
  // text of common/checkpoint.h with the collector key's id, the root, and
  // the clock's time in whole seconds, signed over its exact bytes (raw
  // Ed25519, no PAE). Errors of Integrate, Root, signing and the store.
  absl::StatusOr<v1::StoredCheckpoint> SignCheckpoint();
  // The newest signed checkpoint (the largest size), if any.
  absl::StatusOr<std::optional<v1::StoredCheckpoint>> LatestCheckpoint() const;

  // Wakes the background thread: something was queued. Cheap; never blocks
  // on integration.
  void Notify();
  // Starts a thread that integrates at once (whatever a crash left queued),
  // then whenever notified (at most every `integrate_every`), and every
  // `checkpoint_every` integrates and signs a checkpoint when the log grew
  // since the last one. Failures are logged and retried. No-op when already
  // running.
  void StartBackground(absl::Duration integrate_every,
                       absl::Duration checkpoint_every);
  // Stops and joins the background thread, if any.
  void Stop();

 private:
  TransparencyLog(Store& store, PrivateKey key, Clock clock);

  // One synced commit of at most kLogEntriesPerRound queued entries;
  // returns how many were taken from the queue.
  absl::StatusOr<size_t> IntegrateRound()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(integrate_mu_);
  // The stored hash of the complete subtree at `level`, `index`.
  absl::StatusOr<std::string> Node(int level, uint64_t index) const;
  // MTH of the leaves [begin, end), from stored complete subtrees.
  absl::StatusOr<std::string> SubtreeHash(uint64_t begin, uint64_t end) const;
  // RFC 6962 PATH(index, D[begin:end]), appended to `out`.
  absl::Status AppendPath(uint64_t index, uint64_t begin, uint64_t end,
                          std::vector<std::string>& out) const;
  // RFC 6962 SUBPROOF(m, D[begin:end], complete), appended to `out`.
  absl::Status AppendSubproof(uint64_t m, uint64_t begin, uint64_t end,
                              bool complete,
                              std::vector<std::string>& out) const;
  void RunBackground(absl::Duration integrate_every,
                     absl::Duration checkpoint_every);

  Store& store_;
  const PrivateKey key_;
  const Clock clock_;

  // Serializes Integrate(); nodes below size_ are immutable, so readers
  // take no lock.
  absl::Mutex integrate_mu_;
  std::atomic<uint64_t> size_{0};

  // Serializes StartBackground() and Stop() (including the join).
  absl::Mutex lifecycle_mu_;
  absl::Mutex background_mu_;
  absl::CondVar wake_;
  bool notified_ ABSL_GUARDED_BY(background_mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(background_mu_) = false;
  std::thread thread_ ABSL_GUARDED_BY(lifecycle_mu_);

  // Subtree hashes by leaf range [begin, end): complete subtrees of 4
  // leaves or more, and incomplete ones (the right edge of some tree size).
  // They never change once computed, and proofs share them: the upper
  // nodes, and the right edge of the size they are made against. Bounded;
  // cleared when full.
  static constexpr size_t kCachedSubtrees = 1 << 17;
  mutable absl::Mutex cache_mu_;
  mutable absl::flat_hash_map<std::pair<uint64_t, uint64_t>, std::string> cache_
      ABSL_GUARDED_BY(cache_mu_);
};

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_LOG_TRANSPARENCY_LOG_H_
