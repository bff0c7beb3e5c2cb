// Read-only answers for the operator: what the collector holds for a host.
#ifndef EVIDENTIA_COLLECTOR_QUERY_QUERIES_H_
#define EVIDENTIA_COLLECTOR_QUERY_QUERIES_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "collector/store/store.h"
#include "evidentia/v1/operator.pb.h"

namespace evidentia::collector {

// The agent's record and the latest observation of each check (only
// `check_id` when not empty), with facts bodies decoded. NOT_FOUND for an
// unknown agent.
absl::StatusOr<v1::GetEvidenceResponse> GetEvidence(const Store& store,
                                                    absl::string_view agent_id,
                                                    absl::string_view check_id);

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_QUERY_QUERIES_H_
