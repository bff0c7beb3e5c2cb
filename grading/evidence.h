// What grading reads: the evidence of a fleet, through a narrow interface.
// The collector answers it from its store (collector/query/store_evidence.h);
// the offline verifier from a bundle's own files, in memory (MemoryEvidence).
// Both index a snapshot's observations the same way (IndexSnapshot), so a
// bundle re-grades exactly as the collector graded it.
#ifndef EVIDENTIA_GRADING_EVIDENCE_H_
#define EVIDENTIA_GRADING_EVIDENCE_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "evidentia/v1/snapshot.pb.h"
#include "evidentia/v1/store.pb.h"

namespace evidentia::collector {

class Evidence {
 public:
  using ObservationVisitor =
      std::function<bool(const v1::LatestObservation& observation)>;
  using ManualVisitor =
      std::function<bool(const v1::StoredManualEvidence& manual)>;

  virtual ~Evidence() = default;

  // The facts body whose SHA-256 is `digest`; nullopt when absent.
  virtual absl::StatusOr<std::optional<v1::Facts>> FactsBody(
      absl::string_view digest) const = 0;
  // The observations of `check_id` (a check or probe id) by `agent_id`
  // received at or before `at`, newest first, until `fn` returns false.
  virtual absl::Status History(absl::string_view agent_id,
                               absl::string_view check_id, absl::Time at,
                               const ObservationVisitor& fn) const = 0;
  // The manual evidence of `control_id` received at or before `at`,
  // newest first, until `fn` returns false.
  virtual absl::Status Manual(absl::string_view control_id, absl::Time at,
                              const ManualVisitor& fn) const = 0;
  // Every enrolled agent, ordered by agent id, as recorded now (FleetAsOf
  // turns them into the fleet of a past moment).
  virtual absl::StatusOr<std::vector<v1::AgentRecord>> Agents() const = 0;
};

// The observations `snapshot`, received at `received_at`, adds to its
// agent's history, and `agent` brought up to date by it (chain head, host
// facts, first and last seen). Ingest stores exactly these.
std::vector<v1::LatestObservation> IndexSnapshot(
    const v1::Snapshot& snapshot, const v1::StoredSnapshot& stored,
    v1::AgentRecord& agent);

// Evidence held in memory, filled by its owner. Not thread-safe to fill;
// safe to read from several threads once filled.
class MemoryEvidence final : public Evidence {
 public:
  void AddFacts(std::string digest, v1::Facts facts);
  // The agent's record, replacing an earlier one.
  void AddAgent(v1::AgentRecord agent);
  // An indexed observation of the agent (IndexSnapshot's).
  void AddObservation(absl::string_view agent_id,
                      v1::LatestObservation observation);
  void AddManual(absl::string_view control_id, v1::StoredManualEvidence manual);

  absl::StatusOr<std::optional<v1::Facts>> FactsBody(
      absl::string_view digest) const override;
  absl::Status History(absl::string_view agent_id, absl::string_view check_id,
                       absl::Time at,
                       const ObservationVisitor& fn) const override;
  absl::Status Manual(absl::string_view control_id, absl::Time at,
                      const ManualVisitor& fn) const override;
  absl::StatusOr<std::vector<v1::AgentRecord>> Agents() const override;

 private:
  // By receive time in micros; later ones at the same micro replace
  // earlier ones, as in the collector's history index.
  template <typename Record>
  using Timeline = std::map<int64_t, Record>;

  absl::flat_hash_map<std::string, v1::Facts> facts_;
  std::map<std::string, v1::AgentRecord> agents_;
  std::map<std::pair<std::string, std::string>, Timeline<v1::LatestObservation>>
      history_;
  std::map<std::string, Timeline<v1::StoredManualEvidence>> manual_;
};

}  // namespace evidentia::collector

#endif  // EVIDENTIA_GRADING_EVIDENCE_H_
