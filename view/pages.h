// The dashboard's pages, as bodies for RenderPage (view/site.h): pure
// functions of what the operator API answers, so the collector's dashboard
// and a bundle's static report render them with the same code.
#ifndef EVIDENTIA_VIEW_PAGES_H_
#define EVIDENTIA_VIEW_PAGES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "evidentia/v1/cycle.pb.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/operator.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "evidentia/v1/snapshot.pb.h"
#include "evidentia/v1/store.pb.h"
#include "evidentia/v1/users.pb.h"
#include "view/html.h"
#include "view/site.h"

namespace evidentia::view {

// "compliant", "minor nonconformity", ...
std::string GradeWords(v1::Grade grade);
// A grade's short name: its grade= filter value and CSS class: "compliant",
// "ofi", "minor", "major", "na".
std::string GradeKey(v1::Grade grade);
// A dashboard role in words: "admin", "viewer", "auditor" ("none").
std::string RoleName(v1::UserRole role);
// Whether a control graded `before` (compliant to major) is graded worse
// `now`.
bool GotWorse(v1::Grade before, v1::Grade now);

// --- Overview ---

// The share of applicable controls compliant (an opportunity for
// improvement counts: it is not a nonconformity) at the end of one day.
struct DayShare {
  absl::Time at;
  double share = 0;  // 0..1
};

// A control whose grade is worse now than a week before.
struct ControlChange {
  std::string control_id;
  std::string title;
  v1::Grade before = v1::GRADE_UNSPECIFIED;
  v1::Grade now = v1::GRADE_UNSPECIFIED;
};

// The share of applicable controls compliant or with an opportunity for
// improvement (0..1; 0 when none is applicable).
double CompliantShare(const v1::GradeControlsResponse& grades);

struct OverviewModel {
  v1::GradeControlsResponse grades;
  // What `worse` compares with.
  std::string worse_heading = "Worse than a week before";
  std::vector<DayShare> compliance;  // oldest first, one per day
  std::vector<ControlChange> worse;
  std::vector<v1::AgentRecord> silent;
  // Open findings of the audit cycle (with their actions); and its status.
  std::vector<v1::FindingView> open_findings;
  std::string cycle_status;
  std::string cycle_next;
  // Security events since the user's previous sign-in, newest first, and
  // how many there were in all.
  std::vector<v1::SecurityEvent> events;
  size_t events_total = 0;
  bool show_events = true;
  // Days of the chart not graded yet (they are being computed).
  int days_missing = 0;
};
Html OverviewBody(const Site& site, const OverviewModel& model);

// The compliant share as an SVG line chart (id `compliance-chart`).
Html ComplianceChart(const std::vector<DayShare>& days);

// --- Controls ---

struct ControlsFilter {
  std::string theme;  // "" for all
  std::string grade;  // a GradeKey, or ""
  std::string owner;
  std::string scope;  // "KEY=VALUE" or ""
};
Html ControlsBody(const Site& site, const v1::GradeControlsResponse& grades,
                  const ControlsFilter& filter);

// The state of one host for one control over a period: consecutive
// segments, oldest first.
struct TimelineSegment {
  absl::Time from;
  absl::Time to;
  v1::CheckState state = v1::CHECK_STATE_UNSPECIFIED;  // worst of its checks
};
struct HostTimeline {
  std::string agent_id;
  std::string hostname;
  std::vector<TimelineSegment> segments;
};
// Segments from states sampled at moments (oldest first): each state holds
// until the next sample, the last one until `end`; equal neighbours merge.
std::vector<TimelineSegment> Segments(
    const std::vector<std::pair<absl::Time, v1::CheckState>>& states,
    absl::Time end);

// Host checks shown on one page of a control (the dashboard's).
inline constexpr size_t kFindingsPerPage = 100;

struct Paging {
  int page = 1;  // 1-based
  int pages = 1;
  size_t total = 0;
};

struct ControlModel {
  v1::ControlGrade control;  // GetControl: with the host checks not passing
  // Which page of the host checks not passing (pages 0: all of them).
  Paging findings_paging{1, 0, 0};
  absl::Time at;
  // The auditor's findings on this control.
  std::vector<v1::FindingView> findings;
  // Grade changes and compliant share over the period shown.
  v1::GetHistoryResponse history;
  absl::Time period_from;
  std::vector<HostTimeline> timelines;
  // Admin: the form to add manual evidence (needs the session's token).
  bool can_add_evidence = false;
  // Admin or an invited auditor: the form to record a finding, with the
  // audits it may be recorded in.
  std::vector<std::string> finding_audits;
  std::string csrf;
};
Html ControlBody(const Site& site, const ControlModel& model);

// The grade changes of a control over a period, and its compliant share.
Html HistoryBody(const Site& site, const v1::GetHistoryResponse& history,
                 absl::Time from, absl::Time to);

// --- Hosts ---

struct HostRow {
  v1::AgentRecord agent;
  bool silent = false;
  int failing = 0;  // checks failing
  int stale = 0;    // checks stale or missing
};
Html HostsBody(const Site& site, const std::vector<HostRow>& hosts,
               const Paging& paging, absl::Time at);

struct HostModel {
  v1::GetHostResponse host;
  // The latest observation of each check with its facts (as stored).
  v1::GetEvidenceResponse evidence;
  absl::Time at;
  bool show_facts = true;
};
Html HostBody(const Site& site, const HostModel& model);

// One signed snapshot, as stored (the dashboard's).
struct SnapshotModel {
  std::string agent_id;
  std::string hostname;
  uint64_t seq = 0;
  uint64_t next = 0;  // the next snapshot received by then, or 0
  v1::StoredSnapshot stored;
  v1::Snapshot payload;
  std::string signature_problem;  // empty: it verifies under the agent's key
  std::optional<uint64_t> log_index;
  std::map<std::string, v1::Facts> facts;  // by check id
};
Html SnapshotBody(const Site& site, const SnapshotModel& model);

// --- The audit cycle ---

// With `readiness`, the ISMS documents clause by clause; with a
// `document_csrf` too, the form that registers a version of one.
Html CycleBody(const Site& site, const v1::CycleReport& cycle,
               const v1::ReadinessReport* readiness,
               const std::string& document_csrf = "");

// --- Accounts ---

// The sign-in form; `error` shown above it when not empty.
Html LoginBody(const std::string& csrf, const std::string& error);
// The form to set a new password.
Html PasswordBody(const std::string& csrf, const std::string& error,
                  bool must_change);
// Admin: every user.
Html UsersBody(const std::vector<v1::UserRecord>& users);
// An error page's body: what went wrong, in one sentence.
Html ErrorBody(const std::string& message);

}  // namespace evidentia::view

#endif  // EVIDENTIA_VIEW_PAGES_H_
