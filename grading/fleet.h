// The fleet as grading sees it: every enrolled host with its latest
// observation of each check. `FleetState` keeps the present in memory
// (loaded once, LoadFleetState, and updated by enrolment and ingest), so
// grading "now" never reads the evidence; `FleetAsOf` rebuilds a past
// moment from the history. Hosts are immutable snapshots shared by pointer.
#ifndef EVIDENTIA_GRADING_FLEET_H_
#define EVIDENTIA_GRADING_FLEET_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "evidentia/v1/reports.pb.h"
#include "evidentia/v1/store.pb.h"
#include "grading/evidence.h"

namespace evidentia::collector {

struct HostEvidence {
  v1::AgentRecord agent;
  // The latest observation of each check the agent reported, by check id.
  std::map<std::string, v1::LatestObservation> latest;
};
using HostPtr = std::shared_ptr<const HostEvidence>;

class FleetState {
 public:
  // Replaces the host's record and merges its new observations. A
  // revocation already known is kept even if `agent` lacks it.
  void Update(const v1::AgentRecord& agent,
              const std::vector<v1::LatestObservation>& observations);
  // Marks the host revoked at `at` (nothing if unknown).
  void MarkRevoked(absl::string_view agent_id,
                   const google::protobuf::Timestamp& at);

  // Every host, ordered by agent id.
  std::vector<HostPtr> Hosts() const;
  // One host, or nullptr when it is not known.
  HostPtr Find(absl::string_view agent_id) const;
  // Counts the changes (Update, MarkRevoked): equal counts, equal fleet.
  uint64_t generation() const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, HostPtr> hosts_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
};

// The fleet as the collector knew it at `at`: hosts enrolled by then, each
// with its latest observation received by then of every check in
// `check_ids`; first/last seen and last seq as of then.
absl::StatusOr<std::vector<HostPtr>> FleetAsOf(
    const Evidence& evidence, absl::Time at,
    const std::vector<std::string>& check_ids);
// One host of FleetAsOf: `agent` (its record now) as it stood at `at`.
absl::StatusOr<HostPtr> HostAsOf(const Evidence& evidence,
                                 v1::AgentRecord agent, absl::Time at,
                                 const std::vector<std::string>& check_ids);

// Only the hosts in `scope`: "" for all, "KEY=VALUE" for a label.
// INVALID_ARGUMENT for a scope of another form.
absl::StatusOr<std::vector<HostPtr>> InScope(std::vector<HostPtr> hosts,
                                             const std::string& scope);

}  // namespace evidentia::collector

#endif  // EVIDENTIA_GRADING_FLEET_H_
