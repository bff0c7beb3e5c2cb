#include "collector/query/store_evidence.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "collector/store/keys.h"
#include "collector/store/records.h"
#include "common/status_macros.h"

namespace evidentia::collector {

absl::StatusOr<std::optional<v1::Facts>> StoreEvidence::FactsBody(
    absl::string_view digest) const {
  return GetRecord<v1::Facts>(store_, Table::kObjects, digest, "facts body");
}

absl::Status StoreEvidence::History(absl::string_view agent_id,
                                    absl::string_view check_id, absl::Time at,
                                    const ObservationVisitor& fn) const {
  absl::Status status;
  RETURN_IF_ERROR(store_.ScanBackward(
      Table::kHistory, keys::HistoryPrefix(agent_id, check_id),
      keys::History(agent_id, check_id, absl::ToUnixMicros(at)),
      [&](absl::string_view, absl::string_view value) {
        absl::StatusOr<v1::LatestObservation> observation =
            DecodeRecord<v1::LatestObservation>(value, "history entry");
        if (!observation.ok()) {
          status = observation.status();
          return false;
        }
        return fn(*observation);
      }));
  return status;
}

absl::Status StoreEvidence::Manual(absl::string_view control_id, absl::Time at,
                                   const ManualVisitor& fn) const {
  absl::Status status;
  RETURN_IF_ERROR(store_.ScanBackward(
      Table::kManual, keys::ManualPrefix(control_id),
      keys::Manual(control_id, absl::ToUnixMicros(at)),
      [&](absl::string_view, absl::string_view value) {
        absl::StatusOr<v1::StoredManualEvidence> manual =
            DecodeRecord<v1::StoredManualEvidence>(value, "manual evidence");
        if (!manual.ok()) {
          status = absl::DataLossError(
              absl::StrCat("manual evidence of ", control_id, " is corrupt"));
          return false;
        }
        return fn(*manual);
      }));
  return status;
}

absl::StatusOr<std::vector<v1::AgentRecord>> StoreEvidence::Agents() const {
  return ScanRecords<v1::AgentRecord>(store_, Table::kAgents, "",
                                      "agent record");
}

absl::StatusOr<std::unique_ptr<FleetState>> LoadFleetState(const Store& store) {
  ASSIGN_OR_RETURN(
      std::vector<v1::AgentRecord> agents,
      ScanRecords<v1::AgentRecord>(store, Table::kAgents, "", "agent record"));
  auto fleet = std::make_unique<FleetState>();
  for (v1::AgentRecord& agent : agents) {
    ASSIGN_OR_RETURN(
        std::vector<v1::LatestObservation> latest,
        ScanRecords<v1::LatestObservation>(store, Table::kLatest,
                                           keys::AgentPrefix(agent.agent_id()),
                                           "latest observation"));
    fleet->Update(agent, latest);
  }
  return fleet;
}

}  // namespace evidentia::collector
