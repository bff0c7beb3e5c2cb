// The collector's evidence as grading reads it (grading/evidence.h),
// answered from its store's tables, and the fleet's present state loaded
// from them at start.
#ifndef EVIDENTIA_COLLECTOR_QUERY_STORE_EVIDENCE_H_
#define EVIDENTIA_COLLECTOR_QUERY_STORE_EVIDENCE_H_

#include <memory>
#include <optional>
#include <vector>

#include "collector/store/store.h"
#include "grading/evidence.h"
#include "grading/fleet.h"

namespace evidentia::collector {

class StoreEvidence final : public Evidence {
 public:
  // `store` must outlive it.
  explicit StoreEvidence(const Store& store) : store_(store) {}

  absl::StatusOr<std::optional<v1::Facts>> FactsBody(
      absl::string_view digest) const override;
  absl::Status History(absl::string_view agent_id, absl::string_view check_id,
                       absl::Time at,
                       const ObservationVisitor& fn) const override;
  absl::Status Manual(absl::string_view control_id, absl::Time at,
                      const ManualVisitor& fn) const override;
  absl::StatusOr<std::vector<v1::AgentRecord>> Agents() const override;

 private:
  const Store& store_;
};

// Every agent and its latest observations, from the store.
absl::StatusOr<std::unique_ptr<FleetState>> LoadFleetState(const Store& store);

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_QUERY_STORE_EVIDENCE_H_
