// The operator's calls, free of any transport: one function per call,
// taking who calls (a Caller, authenticated by the transport) and the
// request, answering the response or a status. Authorisation happens here,
// on the Caller; the gRPC Operator service (collector/server/service.h) only
// turns a TLS client certificate into a Caller and statuses into gRPC's, and a
// web dashboard can call the same functions.
#ifndef EVIDENTIA_COLLECTOR_API_OPERATOR_API_H_
#define EVIDENTIA_COLLECTOR_API_OPERATOR_API_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "collector/export/bundle_export.h"
#include "collector/identity/registry.h"
#include "collector/identity/users.h"
#include "collector/log/transparency_log.h"
#include "collector/store/store.h"
#include "common/ed25519.h"
#include "common/limits.h"
#include "common/proto_time.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/isms.pb.h"
#include "evidentia/v1/operator.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "evidentia/v1/snapshot.pb.h"
#include "grading/fleet.h"
#include "grading/grading.h"

namespace evidentia::collector {

// kOperator: the operator's certificate (the CLI) or a dashboard admin.
// kReader: a dashboard viewer, who reads and exports. kAuditor: a
// dashboard auditor, who also records findings. The dashboard narrows what
// they see (collector/web/access.h); these roles keep the API itself from
// changing anything on their behalf.
enum class Role { kAgent, kOperator, kReader, kAuditor };

// Who makes a call, as its transport authenticated it.
struct Caller {
  Role role = Role::kAgent;
  std::string id;       // the agent id, or "operator"
  std::string address;  // where the call came from, for the log
};

// OK when `caller` has `role`; PERMISSION_DENIED otherwise.
absl::Status Authorize(const Caller& caller, Role role);

// One host of the asset register as the dashboard lists it.
struct HostStatus {
  v1::AgentRecord agent;
  bool silent = false;  // not heard from for longer than the policy allows
  int failing = 0;      // checks failing (filled for the page asked only)
  int stale = 0;        // checks stale or missing (likewise)
};
struct HostPage {
  size_t total = 0;  // hosts that match, in all
  std::vector<HostStatus> hosts;
};
// One stored snapshot, as the dashboard shows it.
struct SnapshotView {
  v1::StoredSnapshot stored;
  v1::Snapshot payload;  // parsed from the signed bytes
  // Checked now against the agent's keys (the current one and those it
  // rotated from): OK, or why it does not verify.
  absl::Status signature;
  std::optional<uint64_t> log_index;  // its leaf in the transparency log
  uint64_t last_seq = 0;              // the agent's latest snapshot
  // When the next one (seq + 1) was received, if it was.
  std::optional<absl::Time> next_received_at;
  // The facts of its observations (those still stored), by check id.
  std::map<std::string, v1::Facts> facts;
};

// What the overview shows of a moment.
struct FleetSurvey {
  v1::GradeControlsResponse grades;
  HostPage silent;  // the silent hosts
};
// One host's state for some checks at moments of a period: the worst of the
// checks (fail, then stale or missing, then warn, then pass); stale while
// the host was silent; none before it was enrolled.
struct HostStates {
  std::string agent_id;
  std::string hostname;
  std::vector<std::pair<absl::Time, v1::CheckState>> states;
};

class OperatorApi {
 public:
  // `grader` may be null: the collector runs without a policy set, and the
  // grading calls answer FAILED_PRECONDITION. All must outlive the API.
  OperatorApi(Store& store, Registry& registry, FleetState& fleet,
              Grader* grader, TransparencyLog& log, PrivateKey collector_key,
              PublicKey operator_key, Clock clock)
      : store_(store),
        registry_(registry),
        fleet_(fleet),
        grader_(grader),
        log_(log),
        collector_key_(std::move(collector_key)),
        operator_key_(std::move(operator_key)),
        clock_(std::move(clock)) {}

  absl::StatusOr<v1::RevokeAgentResponse> RevokeAgent(
      const Caller& caller, const v1::RevokeAgentRequest& request);
  absl::StatusOr<v1::CreateTokenResponse> CreateToken(
      const Caller& caller, const v1::CreateTokenRequest& request);
  absl::StatusOr<v1::ListAgentsResponse> ListAgents(
      const Caller& caller, const v1::ListAgentsRequest& request);
  absl::StatusOr<v1::GetEvidenceResponse> GetEvidence(
      const Caller& caller, const v1::GetEvidenceRequest& request);
  absl::StatusOr<v1::ListEventsResponse> ListEvents(
      const Caller& caller, const v1::ListEventsRequest& request);
  absl::StatusOr<v1::GradeControlsResponse> GradeControls(
      const Caller& caller, const v1::GradeRequest& request);
  absl::StatusOr<v1::ControlGrade> GetControl(
      const Caller& caller, const v1::GetControlRequest& request);
  absl::StatusOr<v1::GetHostResponse> GetHost(
      const Caller& caller, const v1::GetHostRequest& request);
  // The hosts in scope at a moment, by hostname then agent id: `limit` of
  // them from `offset`, with their failing and stale checks counted (only
  // the silent ones when `silent_only`). Not a gRPC call: the dashboard's.
  absl::StatusOr<HostPage> ListHosts(const Caller& caller,
                                     const v1::GradeRequest& request,
                                     size_t offset, size_t limit,
                                     bool silent_only);
  // One signed snapshot with its facts. Not a gRPC call: the dashboard's.
  absl::StatusOr<SnapshotView> GetSnapshot(const Caller& caller,
                                           const std::string& agent_id,
                                           uint64_t seq);
  // Every SoA row and the silent hosts (the first `silent_limit`, and how
  // many in all) at a moment, from one reading of the fleet. Not a gRPC
  // call: the dashboard's overview.
  absl::StatusOr<FleetSurvey> Survey(const Caller& caller,
                                     const v1::GradeRequest& request,
                                     size_t silent_limit);
  // The states of `agent_ids` for `check_ids` at `points` moments evenly
  // from `from` to `to` (at most 200). Not a gRPC call: the dashboard's.
  absl::StatusOr<std::vector<HostStates>> Timelines(
      const Caller& caller, const std::vector<std::string>& check_ids,
      const std::vector<std::string>& agent_ids, absl::Time from, absl::Time to,
      int points);
  absl::StatusOr<v1::GetHistoryResponse> GetHistory(
      const Caller& caller, const v1::GetHistoryRequest& request);
  absl::StatusOr<v1::AddManualEvidenceResponse> AddManualEvidence(
      const Caller& caller, const v1::AddManualEvidenceRequest& request);
  // The ISMS register (operator_api_isms.cc).
  absl::StatusOr<v1::AddIsmsRecordResponse> AddIsmsRecord(
      const Caller& caller, const v1::AddIsmsRecordRequest& request);
  absl::StatusOr<v1::ListIsmsRecordsResponse> ListIsmsRecords(
      const Caller& caller, const v1::ListIsmsRecordsRequest& request);
  absl::StatusOr<v1::ReadinessReport> GetReadiness(
      const Caller& caller, const v1::GetReadinessRequest& request);
  // `grades`, when given, are every control's at the request's moment, as
  // the caller already has them (the dashboard keeps them).
  absl::StatusOr<v1::CycleReport> GetCycle(
      const Caller& caller, const v1::GetCycleRequest& request,
      const v1::GradeControlsResponse* grades = nullptr);
  absl::StatusOr<v1::SampleStatement> DrawSample(
      const Caller& caller, const v1::DrawSampleRequest& request);
  absl::StatusOr<v1::ProveActionResponse> ProveAction(
      const Caller& caller, const v1::ProveActionRequest& request);
  // Writes the bundle of the request's period into `sink`.
  absl::StatusOr<v1::ExportSummary> Export(const Caller& caller,
                                           const v1::ExportRequest& request,
                                           BundleSink& sink);
  absl::StatusOr<v1::GetCheckpointResponse> GetCheckpoint(
      const Caller& caller, const v1::GetCheckpointRequest& request);
  absl::StatusOr<v1::ProveInclusionResponse> ProveInclusion(
      const Caller& caller, const v1::ProveInclusionRequest& request);
  absl::StatusOr<v1::ProveConsistencyResponse> ProveConsistency(
      const Caller& caller, const v1::ProveConsistencyRequest& request);
  // The dashboard's accounts (collector/identity/users.h). FAILED_PRECONDITION
  // until set_users.
  absl::StatusOr<v1::AddUserResponse> AddUser(
      const Caller& caller, const v1::AddUserRequest& request);

  // Counts what changed the grades: snapshots and revocations (the fleet),
  // manual evidence and ISMS records. Equal counts, equal grades at equal
  // moments (a cache's key).
  uint64_t Generation() const { return fleet_.generation() + changes_.load(); }

  // The dashboard's accounts, when it has any; must outlive the API.
  void set_users(Users* users) { users_ = users; }

 private:
  // OK when `caller` may read (the operator, a reader or an auditor).
  absl::Status Authorize(const Caller& caller) const;
  // OK when `caller` may change something: the operator only.
  absl::Status AuthorizeChange(const Caller& caller) const;
  // The moment and the in-scope hosts of a grade request.
  absl::StatusOr<std::pair<absl::Time, std::vector<HostPtr>>> Fleet(
      const v1::GradeRequest& request) const;
  // `limit` of `hosts` from `offset`, by hostname then agent id, counted
  // as of `at` (only the silent ones when `silent_only`). With `read`, the
  // hosts hold only their records: the page's are read as of `at`.
  absl::StatusOr<HostPage> Page(std::vector<HostPtr> hosts, absl::Time at,
                                size_t offset, size_t limit, bool silent_only,
                                bool read) const;

  // Records are numbered and validated against the register one at a time
  // (the store's precondition on the number guards other processes).
  absl::Mutex isms_mu_;
  Store& store_;
  Registry& registry_;
  FleetState& fleet_;
  Grader* grader_;
  TransparencyLog& log_;
  PrivateKey collector_key_;
  PublicKey operator_key_;
  Clock clock_;
  Users* users_ = nullptr;
  std::atomic<uint64_t> changes_{0};
  // The fleets of the last past moments asked (settled ones), newest
  // first: browsing the pages of one past date reads its fleet once.
  struct PastFleet {
    absl::Time at;
    absl::Time read_at;  // kept a few minutes: records (labels) may change
    std::vector<HostPtr> hosts;
  };
  mutable absl::Mutex past_fleets_mu_;
  mutable std::vector<PastFleet> past_fleets_ ABSL_GUARDED_BY(past_fleets_mu_);
  // Grades of controls as of past moments (findings' audit ends), which
  // never change: (control, moment) -> grade, at most kPastGrades.
  absl::Mutex past_mu_;
  std::map<std::pair<std::string, absl::Time>, v1::Grade> past_grades_
      ABSL_GUARDED_BY(past_mu_);
};

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_API_OPERATOR_API_H_
