#include "collector/query/queries.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/store/keys.h"
#include "collector/store/records.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/operator.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "evidentia/v1/store.pb.h"
#include "grading/fleet.h"
#include "isms/cycle.h"

namespace evidentia::collector {

absl::StatusOr<v1::GetEvidenceResponse> GetEvidence(
    const Store& store, absl::string_view agent_id,
    absl::string_view check_id) {
  ASSIGN_OR_RETURN(std::optional<v1::AgentRecord> agent,
                   GetRecord<v1::AgentRecord>(store, Table::kAgents, agent_id,
                                              "agent record"));
  if (!agent.has_value()) {
    return absl::NotFoundError(absl::StrCat("no agent ", agent_id));
  }
  const std::string prefix = check_id.empty()
                                 ? keys::AgentPrefix(agent_id)
                                 : keys::Latest(agent_id, check_id);
  ASSIGN_OR_RETURN(std::vector<v1::LatestObservation> latest,
                   ScanRecords<v1::LatestObservation>(
                       store, Table::kLatest, prefix, "latest observation"));

  v1::GetEvidenceResponse response;
  *response.mutable_agent() = *std::move(agent);
  for (const v1::LatestObservation& o : latest) {
    if (!check_id.empty() && o.check_id() != check_id) continue;
    v1::EvidenceItem* item = response.add_items();
    item->set_check_id(o.check_id());
    item->set_probe(o.probe());
    item->set_seq(o.seq());
    *item->mutable_collected_at() = o.collected_at();
    *item->mutable_received_at() = o.received_at();
    item->set_facts_sha256(o.facts_sha256());
    item->set_error(o.error());
    if (o.facts_sha256().empty()) continue;
    ASSIGN_OR_RETURN(std::optional<v1::Facts> facts,
                     GetRecord<v1::Facts>(store, Table::kObjects,
                                          o.facts_sha256(), "facts body"));
    if (!facts.has_value()) {
      return absl::DataLossError(absl::StrCat(
          "facts ", ToHex(o.facts_sha256()), " of check ", o.check_id(),
          " on agent ", agent_id, " are missing from the store"));
    }
    *item->mutable_facts() = *std::move(facts);
  }
  return response;
}

absl::StatusOr<std::vector<v1::StoredIsmsRecord>> IsmsRecords(
    const Store& store, absl::Time until) {
  ASSIGN_OR_RETURN(std::vector<v1::StoredIsmsRecord> records,
                   ScanRecords<v1::StoredIsmsRecord>(store, Table::kIsms, "",
                                                     "ISMS record"));
  while (!records.empty() && FromProto(records.back().received_at()) > until) {
    records.pop_back();
  }
  return records;
}

absl::StatusOr<isms::Register> IsmsRegister(
    const std::vector<v1::StoredIsmsRecord>& records) {
  isms::Register out;
  for (const v1::StoredIsmsRecord& record : records) {
    RETURN_IF_ERROR(out.Add(record));
  }
  return out;
}

GradeAtFn FleetGrades(Grader& grader) {
  auto fleets = std::make_shared<std::map<absl::Time, std::vector<HostPtr>>>();
  return [&grader, fleets](const std::string& control,
                           absl::Time when) -> absl::StatusOr<v1::Grade> {
    auto fleet = fleets->find(when);
    if (fleet == fleets->end()) {
      ASSIGN_OR_RETURN(
          std::vector<HostPtr> hosts,
          FleetAsOf(grader.evidence(), when, grader.ObservedIds()));
      fleet = fleets->emplace(when, std::move(hosts)).first;
    }
    ASSIGN_OR_RETURN(v1::ControlGrade grade,
                     grader.GradeControl(control, fleet->second, when, false));
    return grade.grade();
  };
}

absl::StatusOr<v1::CycleReport> AssessCycleWithGrades(
    const isms::Register& isms, absl::Time at, const GradeAtFn& grade_at) {
  absl::Status failed;
  v1::CycleReport report = isms::AssessCycle(
      isms, at, [&](const std::string& control, absl::Time when) {
        absl::StatusOr<v1::Grade> grade = grade_at(control, when);
        if (!grade.ok()) {
          failed.Update(grade.status());
          return v1::GRADE_UNSPECIFIED;
        }
        return *grade;
      });
  RETURN_IF_ERROR(failed);
  return report;
}

}  // namespace evidentia::collector
