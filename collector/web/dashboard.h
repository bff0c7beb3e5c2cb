// The dashboard's pages and actions over the operator API: each takes what
// the request asked (already authenticated and allowed by the web server,
// collector/web/web_server.h) and answers a page body rendered by view/, a
// redirect, or a download. No decision about who may do what is made here.
#ifndef EVIDENTIA_COLLECTOR_WEB_DASHBOARD_H_
#define EVIDENTIA_COLLECTOR_WEB_DASHBOARD_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/api/operator_api.h"
#include "collector/identity/registry.h"
#include "collector/identity/users.h"
#include "collector/web/access.h"
#include "collector/web/day_grades.h"
#include "collector/web/grade_cache.h"
#include "collector/web/sessions.h"
#include "common/ed25519.h"
#include "common/files.h"
#include "view/html.h"
#include "view/site.h"

namespace evidentia::collector::web {

// What one request asks, as the web server understood it.
struct PageRequest {
  Session session;
  Caller caller;  // as whom the operator API is called
  absl::Time now;
  absl::Time at;  // the moment shown
  bool at_is_now = true;
  std::string at_day;                // "2026-11-30" when a past day was asked
  std::vector<AuditWindow> invited;  // an auditor's
  // Query parameters, or form fields of a POST (urlencoded or multipart).
  std::map<std::string, std::string> params;
  // An uploaded file of a multipart POST.
  std::string file_name;
  std::string file_content;
  std::vector<std::string> path;  // the matched parts of the path
};

struct PageReply {
  int status = 200;
  // A page: the frame's title and section, and the body.
  std::string title;
  view::Section section = view::Section::kNone;
  view::Html body;
  std::string as_of_path;  // the path the as-of form reloads (or none)
  std::string notice;
  // Instead of a page: a redirect (303) to here.
  std::string redirect;
  // Instead of a page: a download of this file, then removed.
  std::shared_ptr<TempDir> download_dir;
  std::filesystem::path download;
  std::string download_name;
};

class Dashboard {
 public:
  // `operator_key` signs what the browser records (manual evidence,
  // findings); null: those are refused. All must outlive the dashboard.
  Dashboard(OperatorApi& api, Registry& registry,
            const PrivateKey* operator_key, int compliance_days, Clock clock)
      : api_(api),
        registry_(registry),
        operator_key_(operator_key),
        compliance_days_(compliance_days),
        grades_(api, clock),
        days_(api, std::move(clock), compliance_days) {}

  // The day grades behind the charts and histories (tests wait on them).
  DayGrades& days() { return days_; }
  // The grades now, kept between requests.
  GradeCache& grades() { return grades_; }
  // The certification cycle now (an auditor's invitations).
  absl::StatusOr<v1::CycleReport> CycleNow(const Caller& caller);

  absl::StatusOr<PageReply> Overview(const PageRequest& request);
  absl::StatusOr<PageReply> Controls(const PageRequest& request);
  absl::StatusOr<PageReply> Control(const PageRequest& request);
  absl::StatusOr<PageReply> History(const PageRequest& request);
  absl::StatusOr<PageReply> Hosts(const PageRequest& request);
  absl::StatusOr<PageReply> Host(const PageRequest& request);
  // A signed snapshot received by the moment shown.
  absl::StatusOr<PageReply> Snapshot(const PageRequest& request);
  absl::StatusOr<PageReply> Cycle(const PageRequest& request);
  absl::StatusOr<PageReply> AddEvidence(const PageRequest& request);
  absl::StatusOr<PageReply> RecordFinding(const PageRequest& request);
  // A version of an ISMS document (clauses 4 to 10), uploaded.
  absl::StatusOr<PageReply> AddDocument(const PageRequest& request);
  absl::StatusOr<PageReply> Export(const PageRequest& request);

 private:
  // OK when an uploaded file can be signed: there is an operator key and a
  // file, not too large.
  absl::Status CheckUpload(const PageRequest& request) const;
  // Signs `statement` with the operator key as an ISMS record of
  // `payload_type` (with `document`, when not empty), adds it as the
  // request's caller, and invalidates the kept grades.
  absl::StatusOr<v1::AddIsmsRecordResponse> AddSignedRecord(
      const PageRequest& request, const std::string& payload_type,
      const google::protobuf::Message& statement, const std::string& document);
  // Every SoA row and the silent hosts at the request's moment: kept for
  // now (grades_) and for the ends of the last days (days_); computed
  // otherwise.
  absl::StatusOr<std::shared_ptr<const FleetSurvey>> SurveyAt(
      const PageRequest& request);
  // The certification cycle at the request's moment.
  absl::StatusOr<v1::CycleReport> CycleAt(const PageRequest& request);
  // One control at the request's moment, with its findings.
  absl::StatusOr<v1::ControlGrade> ControlAt(const PageRequest& request,
                                             const std::string& control_id);

  // The grades of `control_id` at the day ends in [from, at] and at `at`
  // itself (`now_grade`), as a history: the changes and the compliant share
  // of those moments. `missing`: days not computed yet.
  v1::GetHistoryResponse DailyHistory(const PageRequest& request,
                                      const std::string& control_id,
                                      absl::Time from, v1::Grade now_grade,
                                      int* missing);

  OperatorApi& api_;
  Registry& registry_;
  const PrivateKey* operator_key_;
  int compliance_days_;
  // Controls with their findings at settled past moments (a minute or
  // more ago): the last kPastControls asked, for five minutes (their
  // revocation flags and agent records are the present ones).
  struct PastControl {
    std::string id;
    absl::Time at;
    absl::Time read_at;
    v1::ControlGrade control;
  };
  absl::Mutex past_mu_;
  std::vector<PastControl> past_controls_ ABSL_GUARDED_BY(past_mu_);
  GradeCache grades_;
  DayGrades days_;
};

}  // namespace evidentia::collector::web

#endif  // EVIDENTIA_COLLECTOR_WEB_DASHBOARD_H_
