// The collector's transparency log: every accepted snapshot becomes a leaf
// of an RFC 6962 Merkle tree kept in RocksDB (proto/README.md,
// "Transparency log"). Ingest only queues the leaf inside its own synced
// batch (so an acknowledged snapshot is never missing from the log, even
// after a crash); Integrate() appends everything queued in one batch, which
// keeps ingest's writes grouped. Every complete subtree's hash is stored
// once, so roots and proofs for any size cost O(log n) reads.
// Checkpoints (size, root, time) are signed with the collector key.
// Thread-safe.
#ifndef EVIDENTIA_COLLECTOR_TRANSPARENCY_LOG_H_
#define EVIDENTIA_COLLECTOR_TRANSPARENCY_LOG_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/store.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/proto_time.h"
#include "evidentia/v1/bundle.pb.h"

namespace evidentia::collector {

class TransparencyLog {
 public:
  // `store` must outlive the log. Reads the log's size; integrates nothing.
  static absl::StatusOr<std::unique_ptr<TransparencyLog>> Open(
      Store& store, PrivateKey collector_key, Clock clock);
  ~TransparencyLog();  // stops the background thread

  // Adds to `batch` the queue entry for an accepted snapshot; ingest calls
  // this inside the batch that stores the snapshot.
  static void Enqueue(Batch& batch, absl::string_view agent_id, uint64_t seq,
                      absl::string_view payload, absl::string_view signature);

  // Appends every queued entry (in key order: agent id, then seq) in one
  // synced batch; returns the new size. UNAVAILABLE on a write error, when
  // nothing is appended.
  absl::StatusOr<uint64_t> Integrate();

  uint64_t size() const;
  // The root of the tree of the first `size` leaves (size <= size()).
  absl::StatusOr<std::string> Root(uint64_t size) const;
  // The leaf index of a snapshot; nullopt while it is queued or unknown.
  absl::StatusOr<std::optional<uint64_t>> LeafIndex(absl::string_view agent_id,
                                                    uint64_t seq) const;
  // RFC 6962 audit path of leaf `index` in the tree of `size`.
  absl::StatusOr<std::vector<std::string>> InclusionProof(uint64_t index,
                                                          uint64_t size) const;
  // RFC 6962 consistency proof from `size1` to `size2`.
  absl::StatusOr<std::vector<std::string>> ConsistencyProof(
      uint64_t size1, uint64_t size2) const;

  // Integrates, then signs and stores a checkpoint of the current size.
  absl::StatusOr<v1::StoredCheckpoint> SignCheckpoint();
  // The newest signed checkpoint, if any.
  absl::StatusOr<std::optional<v1::StoredCheckpoint>> LatestCheckpoint() const;

  // Wakes the background thread: something was queued.
  void Notify();
  // Integrates whenever notified (at most every `integrate_every`) and signs
  // a checkpoint every `checkpoint_every` when the log grew.
  void StartBackground(absl::Duration integrate_every,
                       absl::Duration checkpoint_every);
  void Stop();

 private:
  TransparencyLog(Store& store, PrivateKey key, Clock clock);

  Store& store_;
  const PrivateKey key_;
  const Clock clock_;
  // ... implementation state (helper fills in)
};

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_TRANSPARENCY_LOG_H_
