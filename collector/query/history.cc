#include "collector/query/history.h"

#include <algorithm>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/store/keys.h"
#include "collector/store/records.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "grading/fleet.h"

namespace evidentia::collector {
namespace {

bool Compliant(v1::Grade grade) {
  return grade == v1::GRADE_COMPLIANT ||
         grade == v1::GRADE_OPPORTUNITY_FOR_IMPROVEMENT;
}

}  // namespace

absl::StatusOr<v1::GetHistoryResponse> ControlHistory(
    Grader& grader, const Store& store, const std::string& control_id,
    const std::string& scope, absl::Time from, absl::Time to) {
  if (to <= from) {
    return absl::InvalidArgumentError("--to must be after --from");
  }
  const policy::SoaEntry* soa = grader.policy().FindSoaEntry(control_id);
  if (soa == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no control ", control_id, " in the SoA"));
  }
  const std::vector<std::string> observed = grader.ObservedIds();

  // Moments: every receive time in the period, plus a grid.
  ASSIGN_OR_RETURN(std::vector<HostPtr> hosts,
                   FleetAsOf(grader.evidence(), to, observed));
  ASSIGN_OR_RETURN(hosts, InScope(std::move(hosts), scope));
  std::set<absl::Time> moments = {from};
  for (const HostPtr& host : hosts) {
    for (const std::string& id : observed) {
      const std::string& agent_id = host->agent.agent_id();
      RETURN_IF_ERROR(store.Scan(
          Table::kHistory, keys::HistoryPrefix(agent_id, id),
          [&](absl::string_view key, absl::string_view) {
            const absl::Time t = absl::FromUnixMicros(static_cast<int64_t>(
                keys::ReadBigEndian64(key.substr(key.size() - 8))));
            if (t > to) return false;
            moments.insert(t);
            return true;
          },
          keys::History(agent_id, id, absl::ToUnixMicros(from))));
    }
  }
  std::vector<absl::Time> events(moments.begin(), moments.end());
  if (events.size() > kMaxHistoryPoints / 2) {
    // Keep an even sample of the events; the grid fills the rest.
    std::vector<absl::Time> sample;
    const double step =
        static_cast<double>(events.size()) / (kMaxHistoryPoints / 2);
    for (double i = 0; i < events.size(); i += step) {
      sample.push_back(events[static_cast<size_t>(i)]);
    }
    events = std::move(sample);
  }
  const absl::Duration resolution =
      std::max(absl::Minutes(1), (to - from) / (kMaxHistoryPoints / 2));
  std::set<absl::Time> points(events.begin(), events.end());
  for (absl::Time t = from; t < to; t += resolution) points.insert(t);

  v1::GetHistoryResponse response;
  response.set_control_id(control_id);
  response.set_resolution_seconds(absl::ToInt64Seconds(resolution));
  response.set_policy_sha256(grader.policy().sha256);
  absl::Duration compliant;
  std::optional<v1::Grade> previous;
  absl::Time previous_at = from;
  for (absl::Time t : points) {
    ASSIGN_OR_RETURN(std::vector<HostPtr> then,
                     FleetAsOf(grader.evidence(), t, observed));
    ASSIGN_OR_RETURN(then, InScope(std::move(then), scope));
    ASSIGN_OR_RETURN(v1::ControlGrade grade,
                     grader.GradeControl(control_id, then, t, false));
    if (previous.has_value() && Compliant(*previous)) {
      compliant += t - previous_at;
    }
    if (!previous.has_value() || grade.grade() != *previous) {
      v1::GradeChange* change = response.add_changes();
      *change->mutable_at() = ToProto(t);
      change->set_grade(grade.grade());
      *change->mutable_reasons() = grade.reasons();
    }
    previous = grade.grade();
    previous_at = t;
  }
  if (previous.has_value() && Compliant(*previous))
    compliant += to - previous_at;
  response.set_compliant_share(absl::FDivDuration(compliant, to - from));
  return response;
}

}  // namespace evidentia::collector
