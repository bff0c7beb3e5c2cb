#include "collector/web/dashboard.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bundle/archive.h"
#include "common/envelope.h"
#include "common/limits.h"
#include "common/pae.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "isms/register.h"
#include "view/pages.h"

namespace evidentia::collector::web {
namespace {

constexpr size_t kHostsPerPage = 100;
constexpr size_t kTimelineHosts = 20;
constexpr int kTimelinePoints = 48;
constexpr size_t kEventsShown = 10;
constexpr size_t kSilentShown = GradeCache::kSilentHosts;

v1::GradeRequest GradeAt(const PageRequest& request) {
  v1::GradeRequest grade;
  if (!request.at_is_now) *grade.mutable_as_of() = ToProto(request.at);
  auto scope = request.params.find("scope");
  if (scope != request.params.end()) grade.set_scope(scope->second);
  return grade;
}

std::string Param(const PageRequest& request, const std::string& name) {
  auto it = request.params.find(name);
  return it == request.params.end() ? "" : it->second;
}

view::Site SiteOf(const PageRequest& request) {
  return view::Site::Dashboard(request.at_day);
}

// A day as typed in a form: its end (the last microsecond), UTC.
absl::StatusOr<absl::Time> EndOfDay(const std::string& text,
                                    absl::string_view what) {
  absl::Time day;
  std::string error;
  if (!absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &day, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not a date (YYYY-MM-DD): ", text));
  }
  return day + absl::Hours(24) - absl::Microseconds(1);
}

// The note of an upload: at most 500 bytes of the user's, then who added it.
std::string UploadNote(const PageRequest& request) {
  std::string note = Param(request, "note");
  if (note.size() > 500) note.resize(500);
  return absl::StrCat(note, note.empty() ? "" : " ", "(added by ",
                      request.session.user, " in the dashboard)");
}

// ?page=N, 1 when absent.
absl::StatusOr<int> PageParam(const PageRequest& request) {
  int page = 1;
  if (std::string text = Param(request, "page"); !text.empty()) {
    if (!absl::SimpleAtoi(text, &page) || page < 1 || page > 1000000) {
      return absl::InvalidArgumentError("page is a number from 1");
    }
  }
  return page;
}

// An uploaded file's base name (a browser may send a path), at most 255
// bytes.
std::string BaseName(std::string name) {
  if (size_t slash = name.find_last_of("/\\"); slash != std::string::npos) {
    name = name.substr(slash + 1);
  }
  if (name.empty()) name = "document";
  if (name.size() > 255) name.resize(255);
  return name;
}

// The events an operator should see on sign-in: not the dashboard's own
// routine records.
bool Routine(const std::string& kind) {
  return kind == "login" || kind == "logout" || kind == "export";
}

}  // namespace

v1::GetHistoryResponse Dashboard::DailyHistory(const PageRequest& request,
                                               const std::string& control_id,
                                               absl::Time from,
                                               v1::Grade now_grade,
                                               int* missing) {
  std::vector<std::pair<absl::Time, v1::Grade>> points;
  for (const DayGrades::Day& day :
       days_.Between(from, request.at - absl::Microseconds(1), missing)) {
    auto grade = day.grades.find(control_id);
    if (grade != day.grades.end()) points.emplace_back(day.at, grade->second);
  }
  points.emplace_back(request.at, now_grade);
  v1::GetHistoryResponse history;
  history.set_control_id(control_id);
  history.set_resolution_seconds(86400);
  int compliant = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    const auto& [at, grade] = points[i];
    if (grade == v1::GRADE_COMPLIANT ||
        grade == v1::GRADE_OPPORTUNITY_FOR_IMPROVEMENT) {
      ++compliant;
    }
    if (i == 0 || grade != points[i - 1].second) {
      v1::GradeChange* change = history.add_changes();
      *change->mutable_at() = ToProto(at);
      change->set_grade(grade);
    }
  }
  history.set_compliant_share(static_cast<double>(compliant) /
                              static_cast<double>(points.size()));
  return history;
}

absl::StatusOr<std::shared_ptr<const FleetSurvey>> Dashboard::SurveyAt(
    const PageRequest& request) {
  const v1::GradeRequest grade = GradeAt(request);
  if (grade.scope().empty()) {
    if (request.at_is_now) {
      ASSIGN_OR_RETURN(std::shared_ptr<const GradeCache::Graded> now,
                       grades_.Now(request.caller));
      return std::shared_ptr<const FleetSurvey>(now, &now->survey);
    }
    if (std::optional<DayGrades::Day> day = days_.Ending(request.at);
        day.has_value() && day->survey != nullptr) {
      return day->survey;
    }
  }
  ASSIGN_OR_RETURN(FleetSurvey survey,
                   api_.Survey(request.caller, grade, kSilentShown));
  return std::make_shared<const FleetSurvey>(std::move(survey));
}

absl::StatusOr<v1::ControlGrade> Dashboard::ControlAt(
    const PageRequest& request, const std::string& control_id) {
  const v1::GradeRequest grade = GradeAt(request);
  if (request.at_is_now && grade.scope().empty()) {
    return grades_.Control(request.caller, control_id);
  }
  const bool settled = grade.scope().empty() && !request.at_is_now &&
                       request.at < request.now - absl::Minutes(1);
  // Kept five minutes: revocations and records are today's.
  if (settled) {
    absl::MutexLock lock(&past_mu_);
    for (const PastControl& past : past_controls_) {
      if (past.id == control_id && past.at == request.at &&
          request.now >= past.read_at &&
          request.now - past.read_at <= absl::Minutes(5)) {
        return past.control;
      }
    }
  }
  v1::GetControlRequest control_request;
  control_request.set_control_id(control_id);
  *control_request.mutable_at() = grade;
  ASSIGN_OR_RETURN(v1::ControlGrade control,
                   api_.GetControl(request.caller, control_request));
  if (settled) {
    constexpr size_t kPastControls = 16;
    absl::MutexLock lock(&past_mu_);
    past_controls_.insert(
        past_controls_.begin(),
        PastControl{control_id, request.at, request.now, control});
    if (past_controls_.size() > kPastControls) past_controls_.pop_back();
  }
  return control;
}

absl::StatusOr<v1::CycleReport> Dashboard::CycleAt(const PageRequest& request) {
  v1::GetCycleRequest cycle_request;
  if (!request.at_is_now) *cycle_request.mutable_at() = ToProto(request.at);
  // A finding's computed grade is the whole fleet's: kept grades help only
  // when the page grades no scope.
  if (!GradeAt(request).scope().empty()) {
    return api_.GetCycle(request.caller, cycle_request);
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const FleetSurvey> survey,
                   SurveyAt(request));
  return api_.GetCycle(request.caller, cycle_request, &survey->grades);
}

absl::StatusOr<v1::CycleReport> Dashboard::CycleNow(const Caller& caller) {
  ASSIGN_OR_RETURN(std::shared_ptr<const GradeCache::Graded> now,
                   grades_.Now(caller));
  return api_.GetCycle(caller, {}, &now->survey.grades);
}

absl::StatusOr<PageReply> Dashboard::Overview(const PageRequest& request) {
  const view::Site site = SiteOf(request);
  view::OverviewModel model;
  ASSIGN_OR_RETURN(std::shared_ptr<const FleetSurvey> survey,
                   SurveyAt(request));
  model.grades = survey->grades;

  // One point per day end before `at` (those computed so far), then `at`.
  auto visible = [&](absl::Time t) {
    if (request.session.role != v1::USER_ROLE_AUDITOR) return true;
    for (const AuditWindow& window : request.invited) {
      if (window.from <= t && t <= window.to) return true;
    }
    return false;
  };
  int missing = 0;
  for (const DayGrades::Day& day :
       days_.Between(request.at - absl::Hours(24) * (compliance_days_ - 1),
                     request.at - absl::Microseconds(1), &missing)) {
    if (visible(day.at)) model.compliance.push_back({day.at, day.share});
  }
  model.compliance.push_back({request.at, view::CompliantShare(model.grades)});
  model.days_missing = missing;

  // Worse than at the end of the day a week before (for an auditor, only
  // inside their periods).
  const absl::Time week_before =
      DayGrades::DayEnd(request.at - absl::Hours(24 * 7));
  const std::vector<DayGrades::Day> before =
      days_.Between(week_before, week_before);
  if (!before.empty() && visible(week_before)) {
    for (const v1::ControlGrade& control : model.grades.controls()) {
      auto was = before.front().grades.find(control.control_id());
      if (was != before.front().grades.end() &&
          view::GotWorse(was->second, control.grade())) {
        model.worse.push_back({control.control_id(), control.title(),
                               was->second, control.grade()});
      }
    }
  }

  for (const HostStatus& host : survey->silent.hosts) {
    model.silent.push_back(host.agent);
  }

  ASSIGN_OR_RETURN(v1::CycleReport cycle, CycleAt(request));
  model.cycle_status = cycle.status();
  model.cycle_next = cycle.next();
  for (const v1::FindingView& finding : cycle.findings()) {
    if (finding.state() == v1::FINDING_OPEN &&
        (request.session.role != v1::USER_ROLE_AUDITOR ||
         std::find(request.session.audits.begin(), request.session.audits.end(),
                   finding.finding().audit()) !=
             request.session.audits.end())) {
      model.open_findings.push_back(finding);
    }
  }

  model.show_events = request.session.role != v1::USER_ROLE_AUDITOR;
  if (model.show_events) {
    ASSIGN_OR_RETURN(v1::ListEventsResponse events,
                     api_.ListEvents(request.caller, {}));
    for (auto it = events.events().rbegin(); it != events.events().rend();
         ++it) {
      if (FromProto(it->at()) <= request.session.previous_login) break;
      if (Routine(it->kind())) continue;
      ++model.events_total;
      if (model.events.size() < kEventsShown) model.events.push_back(*it);
    }
  }

  PageReply reply;
  reply.title = "Overview";
  reply.section = view::Section::kOverview;
  reply.as_of_path = "/";
  reply.body = view::OverviewBody(site, model);
  return reply;
}

absl::StatusOr<PageReply> Dashboard::Controls(const PageRequest& request) {
  ASSIGN_OR_RETURN(std::shared_ptr<const FleetSurvey> survey,
                   SurveyAt(request));
  view::ControlsFilter filter;
  filter.theme = Param(request, "theme");
  filter.grade = Param(request, "grade");
  filter.owner = Param(request, "owner");
  filter.scope = Param(request, "scope");
  PageReply reply;
  reply.title = "Controls";
  reply.section = view::Section::kControls;
  reply.as_of_path = "/controls";
  reply.body = view::ControlsBody(SiteOf(request), survey->grades, filter);
  return reply;
}

absl::StatusOr<PageReply> Dashboard::Control(const PageRequest& request) {
  const std::string& id = request.path.at(0);
  view::ControlModel model;
  model.at = request.at;
  ASSIGN_OR_RETURN(model.control, ControlAt(request, id));
  ASSIGN_OR_RETURN(model.findings_paging.page, PageParam(request));
  model.findings_paging.total =
      static_cast<size_t>(model.control.findings_size());
  model.findings_paging.pages = static_cast<int>(std::max<size_t>(
      1, (model.findings_paging.total + view::kFindingsPerPage - 1) /
             view::kFindingsPerPage));
  if (model.findings_paging.page > model.findings_paging.pages) {
    return absl::NotFoundError(absl::StrCat(
        "there are ", model.findings_paging.pages, " pages of host checks"));
  }

  // The last 30 days, or the auditor's period when it is shorter.
  model.period_from = request.at - absl::Hours(24 * 30);
  for (const AuditWindow& window : request.invited) {
    if (window.from <= request.at && request.at <= window.to) {
      model.period_from = std::max(model.period_from, window.from);
    }
  }
  model.history = DailyHistory(request, id, model.period_from,
                               model.control.grade(), nullptr);

  // A timeline for the hosts not passing, then others, kTimelineHosts at most.
  if (!model.control.checks().empty()) {
    std::vector<std::string> agents;
    auto add = [&](const std::string& agent_id) {
      if (agents.size() < kTimelineHosts &&
          std::find(agents.begin(), agents.end(), agent_id) == agents.end()) {
        agents.push_back(agent_id);
      }
    };
    for (const v1::HostCheck& check : model.control.findings()) {
      add(check.agent_id());
    }
    if (agents.size() < kTimelineHosts) {
      ASSIGN_OR_RETURN(HostPage hosts,
                       api_.ListHosts(request.caller, GradeAt(request), 0,
                                      kTimelineHosts, false));
      for (const HostStatus& host : hosts.hosts) add(host.agent.agent_id());
    }
    const std::vector<std::string> checks(model.control.checks().begin(),
                                          model.control.checks().end());
    ASSIGN_OR_RETURN(
        std::vector<HostStates> timelines,
        api_.Timelines(request.caller, checks, agents, model.period_from,
                       request.at, kTimelinePoints));
    for (HostStates& timeline : timelines) {
      model.timelines.push_back(
          {timeline.agent_id,
           timeline.hostname.empty() ? timeline.agent_id : timeline.hostname,
           view::Segments(timeline.states, request.at)});
    }
  }

  ASSIGN_OR_RETURN(v1::CycleReport cycle, CycleAt(request));
  for (const v1::FindingView& finding : cycle.findings()) {
    // An auditor sees the findings of the audits they are invited to.
    if (finding.finding().control() == id &&
        (request.session.role != v1::USER_ROLE_AUDITOR ||
         std::find(request.session.audits.begin(), request.session.audits.end(),
                   finding.finding().audit()) !=
             request.session.audits.end())) {
      model.findings.push_back(finding);
    }
  }
  model.csrf = request.session.csrf;
  model.can_add_evidence = request.session.role == v1::USER_ROLE_ADMIN &&
                           request.at_is_now && operator_key_ != nullptr;
  if (request.at_is_now && operator_key_ != nullptr) {
    for (const v1::AuditView& audit : cycle.audits()) {
      if (audit.closed() != 0) continue;
      const std::string& name = audit.audit().audit();
      if (request.session.role == v1::USER_ROLE_ADMIN ||
          (request.session.role == v1::USER_ROLE_AUDITOR &&
           std::find(request.session.audits.begin(),
                     request.session.audits.end(),
                     name) != request.session.audits.end())) {
        model.finding_audits.push_back(name);
      }
    }
  }
  PageReply reply;
  reply.title = absl::StrCat(id, " ", model.control.title());
  reply.section = view::Section::kControls;
  reply.as_of_path = absl::StrCat("/controls/", view::UrlPart(id));
  reply.body = view::ControlBody(SiteOf(request), model);
  return reply;
}

absl::StatusOr<PageReply> Dashboard::History(const PageRequest& request) {
  const std::string& id = request.path.at(0);
  absl::Time from = request.at - absl::Hours(24 * 90);
  if (std::string text = Param(request, "from"); !text.empty()) {
    ASSIGN_OR_RETURN(from, EndOfDay(text, "from"));
    from -= absl::Hours(24) - absl::Microseconds(1);
  }
  if (from >= request.at) {
    return absl::InvalidArgumentError("the period must start before it ends");
  }
  if (request.at - from > absl::Hours(24 * 400)) {
    return absl::InvalidArgumentError(
        "a history covers at most 400 days (evidentia history covers "
        "more)");
  }
  for (const AuditWindow& window : request.invited) {
    if (window.from <= request.at && request.at <= window.to) {
      from = std::max(from, window.from);
    }
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const FleetSurvey> survey,
                   SurveyAt(request));
  const auto& rows = survey->grades.controls();
  auto control = std::find_if(
      rows.begin(), rows.end(),
      [&](const v1::ControlGrade& c) { return c.control_id() == id; });
  if (control == rows.end()) {
    return absl::NotFoundError(absl::StrCat("no control ", id, " in the SoA"));
  }
  int missing = 0;
  const v1::GetHistoryResponse history =
      DailyHistory(request, id, from, control->grade(), &missing);
  PageReply reply;
  reply.title = absl::StrCat("History of ", id);
  reply.section = view::Section::kControls;
  reply.as_of_path = absl::StrCat("/controls/", view::UrlPart(id), "/history");
  reply.body = view::HistoryBody(SiteOf(request), history, from, request.at);
  if (missing > 0) {
    reply.notice =
        absl::StrCat(missing, " days are still being graded; reload soon.");
  }
  return reply;
}

absl::StatusOr<PageReply> Dashboard::Hosts(const PageRequest& request) {
  ASSIGN_OR_RETURN(const int page, PageParam(request));
  ASSIGN_OR_RETURN(HostPage hosts,
                   api_.ListHosts(request.caller, GradeAt(request),
                                  static_cast<size_t>(page - 1) * kHostsPerPage,
                                  kHostsPerPage, false));
  std::vector<view::HostRow> rows;
  for (HostStatus& host : hosts.hosts) {
    rows.push_back(
        {std::move(host.agent), host.silent, host.failing, host.stale});
  }
  view::Paging paging;
  paging.page = page;
  paging.total = hosts.total;
  paging.pages = static_cast<int>(
      std::max<size_t>(1, (hosts.total + kHostsPerPage - 1) / kHostsPerPage));
  PageReply reply;
  reply.title = "Hosts";
  reply.section = view::Section::kHosts;
  reply.as_of_path = "/hosts";
  reply.body = view::HostsBody(SiteOf(request), rows, paging, request.at);
  return reply;
}

absl::StatusOr<PageReply> Dashboard::Host(const PageRequest& request) {
  const std::string& id = request.path.at(0);
  view::HostModel model;
  model.at = request.at;
  v1::GetHostRequest host_request;
  host_request.set_host(id);
  *host_request.mutable_at() = GradeAt(request);
  ASSIGN_OR_RETURN(model.host, api_.GetHost(request.caller, host_request));
  // The facts as stored are the latest: shown only for now.
  model.show_facts = request.at_is_now;
  if (model.show_facts) {
    v1::GetEvidenceRequest evidence;
    evidence.set_agent_id(model.host.agent().agent_id());
    ASSIGN_OR_RETURN(model.evidence,
                     api_.GetEvidence(request.caller, evidence));
  }
  const v1::AgentRecord& agent = model.host.agent();
  PageReply reply;
  reply.title = agent.host().hostname().empty() ? agent.agent_id()
                                                : agent.host().hostname();
  reply.section = view::Section::kHosts;
  reply.as_of_path = absl::StrCat("/hosts/", view::UrlPart(id));
  reply.body = view::HostBody(SiteOf(request), model);
  return reply;
}

absl::StatusOr<PageReply> Dashboard::Snapshot(const PageRequest& request) {
  const std::string& id = request.path.at(0);
  uint64_t seq = 0;
  if (!absl::SimpleAtoi(request.path.at(1), &seq) || seq == 0) {
    return absl::InvalidArgumentError("a snapshot's number is from 1");
  }
  ASSIGN_OR_RETURN(SnapshotView view,
                   api_.GetSnapshot(request.caller, id, seq));
  // Only what had been received by the moment shown.
  const absl::Time received = FromProto(view.stored.received_at());
  if (received > request.at) {
    return absl::NotFoundError(
        absl::StrCat("snapshot ", seq, " of agent ", id,
                     " was received after the moment shown"));
  }
  // And for an auditor, only what was in force during their audits.
  Target target;
  target.at = received;
  target.in_force_until =
      view.next_received_at.value_or(absl::InfiniteFuture());
  RETURN_IF_ERROR(
      Allow(request.session, Permission::kRead, target, request.invited));
  view::SnapshotModel model;
  model.agent_id = id;
  model.hostname = view.payload.host().hostname();
  model.seq = seq;
  // The next one is linked when it is stored; at a past moment it may
  // have come later, and then says so.
  if (seq < view.last_seq) model.next = seq + 1;
  model.stored = std::move(view.stored);
  model.payload = std::move(view.payload);
  if (!view.signature.ok()) {
    model.signature_problem = std::string(view.signature.message());
  }
  model.log_index = view.log_index;
  model.facts = std::move(view.facts);
  PageReply reply;
  reply.title = absl::StrCat("Snapshot ", seq, " of ",
                             model.hostname.empty() ? id : model.hostname);
  reply.section = view::Section::kHosts;
  reply.body = view::SnapshotBody(SiteOf(request), model);
  return reply;
}

absl::StatusOr<PageReply> Dashboard::Cycle(const PageRequest& request) {
  ASSIGN_OR_RETURN(v1::CycleReport cycle, CycleAt(request));
  if (request.session.role == v1::USER_ROLE_AUDITOR) {
    // Only the audits they are invited to, and their findings.
    v1::CycleReport mine = cycle;
    mine.clear_audits();
    mine.clear_findings();
    auto invited = [&](const std::string& audit) {
      return std::find(request.session.audits.begin(),
                       request.session.audits.end(),
                       audit) != request.session.audits.end();
    };
    for (const v1::AuditView& audit : cycle.audits()) {
      if (invited(audit.audit().audit())) *mine.add_audits() = audit;
    }
    for (const v1::FindingView& finding : cycle.findings()) {
      if (invited(finding.finding().audit())) *mine.add_findings() = finding;
    }
    cycle = std::move(mine);
  }
  v1::GetReadinessRequest readiness_request;
  if (!request.at_is_now) {
    *readiness_request.mutable_at() = ToProto(request.at);
  }
  absl::StatusOr<v1::ReadinessReport> readiness =
      api_.GetReadiness(request.caller, readiness_request);
  std::string document_csrf;
  if (request.session.role == v1::USER_ROLE_ADMIN && request.at_is_now &&
      operator_key_ != nullptr) {
    document_csrf = request.session.csrf;
  }
  PageReply reply;
  reply.title = "Audit cycle";
  reply.section = view::Section::kCycle;
  reply.as_of_path = "/cycle";
  reply.body =
      view::CycleBody(SiteOf(request), cycle,
                      readiness.ok() ? &*readiness : nullptr, document_csrf);
  return reply;
}

absl::Status Dashboard::CheckUpload(const PageRequest& request) const {
  if (operator_key_ == nullptr) {
    return absl::FailedPreconditionError(
        "this collector has no operator key to sign with");
  }
  if (request.file_content.empty()) {
    return absl::InvalidArgumentError("choose a file to upload");
  }
  if (request.file_content.size() > kMaxDocumentBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the file is larger than ", kMaxDocumentBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::AddIsmsRecordResponse> Dashboard::AddSignedRecord(
    const PageRequest& request, const std::string& payload_type,
    const google::protobuf::Message& statement, const std::string& document) {
  v1::AddIsmsRecordRequest add;
  add.set_payload_type(payload_type);
  add.set_statement(statement.SerializeAsString());
  ASSIGN_OR_RETURN(*add.mutable_signature(),
                   operator_key_->Sign(Pae(payload_type, add.statement())));
  add.set_document(document);
  ASSIGN_OR_RETURN(v1::AddIsmsRecordResponse added,
                   api_.AddIsmsRecord(request.caller, add));
  grades_.Invalidate();
  return added;
}

absl::StatusOr<PageReply> Dashboard::AddEvidence(const PageRequest& request) {
  const std::string& id = request.path.at(0);
  RETURN_IF_ERROR(CheckUpload(request));
  ASSIGN_OR_RETURN(absl::Time valid_until,
                   EndOfDay(Param(request, "valid_until"), "valid until"));
  const std::string name = BaseName(request.file_name);

  v1::ManualEvidenceStatement statement;
  statement.set_control_id(id);
  statement.set_document_sha256(Sha256(request.file_content));
  statement.set_file_name(name);
  statement.set_size(request.file_content.size());
  *statement.mutable_valid_until() = ToProto(valid_until);
  statement.set_note(UploadNote(request));
  *statement.mutable_signed_at() = ToProto(request.now);
  v1::AddManualEvidenceRequest add;
  add.set_statement(statement.SerializeAsString());
  ASSIGN_OR_RETURN(
      *add.mutable_signature(),
      operator_key_->Sign(Pae(kManualEvidencePayloadType, add.statement())));
  add.set_document(request.file_content);
  ASSIGN_OR_RETURN(v1::AddManualEvidenceResponse added,
                   api_.AddManualEvidence(request.caller, add));
  grades_.Invalidate();
  registry_
      .RecordEvent(
          "manual_evidence", "", 0,
          absl::StrCat(request.session.user, " added ", name, " (sha256 ",
                       added.document_sha256(), ") to ", id),
          request.caller.address)
      .IgnoreError();
  PageReply reply;
  reply.redirect =
      absl::StrCat("/controls/", view::UrlPart(id), "?notice=evidence-added");
  return reply;
}

absl::StatusOr<PageReply> Dashboard::AddDocument(const PageRequest& request) {
  RETURN_IF_ERROR(CheckUpload(request));
  // "CLAUSE DOCUMENT", as the form's choices are written.
  const std::string which = Param(request, "which");
  const size_t space = which.find(' ');
  if (space == std::string::npos || space == 0 || space + 1 == which.size()) {
    return absl::InvalidArgumentError("choose the document");
  }
  const std::string version = Param(request, "version");
  if (version.empty() || version.size() > 64) {
    return absl::InvalidArgumentError("the version is 1 to 64 characters");
  }
  v1::DocumentStatement statement;
  statement.set_clause(which.substr(0, space));
  statement.set_document(which.substr(space + 1));
  statement.set_version(version);
  statement.set_sha256(Sha256(request.file_content));
  statement.set_file_name(BaseName(request.file_name));
  statement.set_size(request.file_content.size());
  statement.set_approved_by(Param(request, "approved_by"));
  statement.set_approved_on(Param(request, "approved_on"));
  statement.set_review_by(Param(request, "review_by"));
  statement.set_note(UploadNote(request));
  *statement.mutable_signed_at() = ToProto(request.now);
  // The collector checks the clause, the document id and the dates.
  ASSIGN_OR_RETURN(v1::AddIsmsRecordResponse added,
                   AddSignedRecord(request, isms::kDocumentPayloadType,
                                   statement, request.file_content));
  registry_
      .RecordEvent(
          "document_added", "", 0,
          absl::StrCat(request.session.user, " registered ", statement.clause(),
                       " ", statement.document(), " version ", version,
                       " (record ", added.number(), ", sha256 ",
                       ToHex(statement.sha256()), ")"),
          request.caller.address)
      .IgnoreError();
  PageReply reply;
  reply.redirect = "/cycle?notice=document-added";
  return reply;
}

absl::StatusOr<PageReply> Dashboard::RecordFinding(const PageRequest& request) {
  const std::string& id = request.path.at(0);
  if (operator_key_ == nullptr) {
    return absl::FailedPreconditionError(
        "this collector has no operator key to sign findings with");
  }
  v1::FindingStatement finding;
  finding.set_audit(Param(request, "audit"));
  finding.set_control(id);
  const std::string grade = Param(request, "grade");
  if (grade == "compliant") {
    finding.set_grade(v1::GRADE_COMPLIANT);
  } else if (grade == "ofi") {
    finding.set_grade(v1::GRADE_OPPORTUNITY_FOR_IMPROVEMENT);
  } else if (grade == "minor") {
    finding.set_grade(v1::GRADE_MINOR_NONCONFORMITY);
  } else if (grade == "major") {
    finding.set_grade(v1::GRADE_MAJOR_NONCONFORMITY);
  } else {
    return absl::InvalidArgumentError(
        "grade is compliant, ofi, minor or major");
  }
  std::string statement = Param(request, "statement");
  if (statement.empty() || statement.size() > 4000) {
    return absl::InvalidArgumentError("the statement is 1 to 4000 bytes");
  }
  finding.set_statement(statement);
  finding.set_recorded_by(absl::StrCat(request.session.user, " (",
                                       view::RoleName(request.session.role),
                                       ", dashboard)"));
  *finding.mutable_signed_at() = ToProto(request.now);
  ASSIGN_OR_RETURN(
      v1::AddIsmsRecordResponse added,
      AddSignedRecord(request, isms::kFindingPayloadType, finding, ""));
  registry_
      .RecordEvent("finding_recorded", "", 0,
                   absl::StrCat(request.session.user, " recorded finding ",
                                added.number(), " (", grade, ") on ", id,
                                " in audit ", finding.audit()),
                   request.caller.address)
      .IgnoreError();
  PageReply reply;
  reply.redirect =
      absl::StrCat("/controls/", view::UrlPart(id), "?notice=finding-recorded");
  return reply;
}

absl::StatusOr<PageReply> Dashboard::Export(const PageRequest& request) {
  v1::ExportRequest export_request;
  std::string name;
  if (std::string audit = Param(request, "audit"); !audit.empty()) {
    export_request.set_audit(audit);
    name = absl::StrCat("evidentia-", audit);
  } else {
    ASSIGN_OR_RETURN(absl::Time to, EndOfDay(Param(request, "to"), "to"));
    ASSIGN_OR_RETURN(absl::Time from, EndOfDay(Param(request, "from"), "from"));
    from -= absl::Hours(24) - absl::Microseconds(1);
    *export_request.mutable_from() = ToProto(from);
    *export_request.mutable_to() = ToProto(to);
    export_request.set_scope(Param(request, "scope"));
    name = absl::StrCat("evidentia-", Param(request, "from"), "-to-",
                        Param(request, "to"));
  }
  // Names from the request become a file name: keep it plain.
  for (char& c : name) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                       c == '_';
    if (!plain) c = '_';
  }
  ASSIGN_OR_RETURN(std::unique_ptr<TempDir> dir, TempDir::Make("web-export"));
  std::shared_ptr<TempDir> shared = std::move(dir);
  const std::filesystem::path file = shared->path() / "bundle.tar.gz";
  ASSIGN_OR_RETURN(std::unique_ptr<TarGzSink> sink,
                   TarGzSink::Create(file, name));
  ASSIGN_OR_RETURN(v1::ExportSummary summary,
                   api_.Export(request.caller, export_request, *sink));
  RETURN_IF_ERROR(sink->Finish());
  registry_
      .RecordEvent("export", "", 0,
                   absl::StrCat(request.session.user, " downloaded ", name,
                                ".tar.gz (", summary.files(), " files)"),
                   request.caller.address)
      .IgnoreError();
  PageReply reply;
  reply.download_dir = std::move(shared);
  reply.download = file;
  reply.download_name = absl::StrCat(name, ".tar.gz");
  return reply;
}

}  // namespace evidentia::collector::web
