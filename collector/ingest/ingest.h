// Ingest: the collector's decision on one submitted snapshot. Verifies the
// signature under the agent's enrolled key, checks the chain, stores facts
// bodies once by digest, the snapshot, the per-check latest index and the new
// chain head in one synced batch, with the snapshot's entry in the
// transparency log's queue, and only then answers ACCEPTED. The rules are
// those of proto/README.md. Thread-safe; submissions of one agent are
// serialized, different agents proceed in parallel.
#ifndef EVIDENTIA_COLLECTOR_INGEST_INGEST_H_
#define EVIDENTIA_COLLECTOR_INGEST_INGEST_H_

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/identity/registry.h"
#include "collector/ingest/agent_rate_limit.h"
#include "collector/ingest/ingest_metrics.h"
#include "collector/store/store.h"
#include "common/limits.h"
#include "common/proto_time.h"
#include "evidentia/v1/collector.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "evidentia/v1/snapshot.pb.h"
#include "evidentia/v1/store.pb.h"
#include "grading/fleet.h"
#include "grading/policy.h"

namespace evidentia::collector {

class TransparencyLog;

// The writes that record an accepted `snapshot` (stored as `stored`): the
// snapshot, the latest and history index of each observation, and the
// agent's new chain head, host facts and first/last seen, which it updates
// in `agent` (IndexSnapshot, grading/evidence.h). Returns the
// observations as indexed.
std::vector<v1::LatestObservation> AddSnapshotWrites(
    const v1::Snapshot& snapshot, const v1::StoredSnapshot& stored,
    v1::AgentRecord& agent, Batch& batch);

// How often agents should report under `policy` (SubmitResponse.
// heartbeat_seconds): a quarter of the shortest of every check's
// stale_after and the max_silence, so that three missed cycles still leave
// evidence fresh; at most kDefaultHeartbeat, at least one minute.
inline constexpr absl::Duration kDefaultHeartbeat = absl::Hours(1);
absl::Duration HeartbeatInterval(const policy::PolicySet& policy);

// The REJECTED answer to snapshot `seq` (0 when unknown) with that payload
// digest (may be empty), carrying `status`'s code and message.
v1::SubmitResponse Rejected(const absl::Status& status, uint64_t seq,
                            std::string payload_sha256);

// What an Ingestor works with besides its store and registry; all optional.
struct IngestOptions {
  // Told of every accepted snapshot; its latest digests count as held.
  FleetState* fleet = nullptr;
  // Woken after every accepted snapshot (queued for the log either way).
  TransparencyLog* log = nullptr;
  // Refuses an agent's snapshots over its rate with RESOURCE_EXHAUSTED and
  // retry_after_ms.
  AgentRateLimiter* rate_limiter = nullptr;
  // An accepted snapshot whose collection time is more than this after its
  // receive time is recorded as a "clock_skew" security event (it is still
  // accepted: evidence is dated by the earlier of the two). An earlier
  // collection time is not: that is a backlog after an outage.
  absl::Duration max_clock_skew = absl::Minutes(5);
  // Told to agents in every acknowledgement (0: not told).
  absl::Duration heartbeat;
  // Counts every answer and times every acknowledgement.
  IngestMetrics* metrics = nullptr;
};

// Ingest of a signed snapshot, in stages (ingest.cc): limits, decode,
// authenticate the agent and its key, facts bodies, the chain decision
// (under the agent's lock), the batch, the commit, and notifications.
class Ingestor {
 public:
  // Everything must outlive the ingestor.
  Ingestor(Store& store, Registry& registry, Clock clock,
           IngestOptions options = {})
      : store_(store),
        registry_(registry),
        clock_(std::move(clock)),
        options_(options) {}

  // The answer to one SubmitRequest from `peer` (for security events).
  // Never fails as a call: refusals are REJECTED responses with a code.
  v1::SubmitResponse Submit(const v1::SubmitRequest& request,
                            absl::string_view peer);

  // Collector.RotateKey for agent `agent_id` (by its client certificate)
  // from `peer`; the answers are in proto/evidentia/v1/collector.proto.
  // Serialized with the agent's snapshots, so no snapshot is ever checked
  // against a key that changed under it (collector/ingest/key_rotation.cc).
  absl::StatusOr<v1::RotateKeyResponse> RotateKey(
      const v1::RotateKeyRequest& request, absl::string_view agent_id,
      absl::string_view peer);

 private:
  struct Submission;
  // A stage's answer when it ends the submission; nullopt to go on.
  using Refusal = std::optional<v1::SubmitResponse>;

  v1::SubmitResponse Answer(const v1::SubmitRequest& request,
                            absl::string_view peer);
  Refusal CheckLimits(const Submission& s) const;
  Refusal Decode(Submission& s) const;
  Refusal Authenticate(const Submission& s);
  Refusal CheckFacts(Submission& s) const;
  Refusal DecideChain(Submission& s);
  Refusal BuildBatch(Submission& s) const;
  Refusal Commit(const Submission& s);
  void Notify(const Submission& s);

  absl::Mutex& AgentMutex(absl::string_view agent_id);
  void RecordClockSkew(const v1::Snapshot& snapshot, absl::Time received,
                       absl::string_view peer);

  Store& store_;
  Registry& registry_;
  Clock clock_;
  const IngestOptions options_;
  std::array<absl::Mutex, 64> agent_mutexes_;
};

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_INGEST_INGEST_H_
