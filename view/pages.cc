#include "view/pages.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "google/protobuf/util/json_util.h"
#include "grading/grading.h"

namespace evidentia::view {
namespace {

absl::Time T(const google::protobuf::Timestamp& t) { return FromProto(t); }

bool Applicable(const v1::ControlGrade& control) {
  return control.applicable() && control.grade() != v1::GRADE_NOT_APPLICABLE;
}

Html GradeBadge(v1::Grade grade) {
  Html out;
  out << Raw("<span") << Attr("class", absl::StrCat("grade ", GradeKey(grade)))
      << Raw(">") << GradeWords(grade) << Raw("</span>");
  return out;
}

// A link, or only its text when there is nowhere to go.
Html Link(const std::string& href, absl::string_view text) {
  Html out;
  if (href.empty()) return out << text;
  out << Raw("<a") << Attr("href", href) << Raw(">") << text << Raw("</a>");
  return out;
}

std::string StateClass(v1::CheckState state) {
  switch (state) {
    case v1::CHECK_STATE_PASS:
      return "pass";
    case v1::CHECK_STATE_WARN:
      return "warn";
    case v1::CHECK_STATE_FAIL:
      return "fail";
    default:
      return "stale";
  }
}

Html StateBadge(v1::CheckState state) {
  Html out;
  out << Raw("<span")
      << Attr("class", absl::StrCat("state ", StateClass(state))) << Raw(">")
      << collector::CheckStateName(state) << Raw("</span>");
  return out;
}

Html Reasons(const google::protobuf::RepeatedPtrField<std::string>& reasons) {
  Html out;
  if (reasons.empty()) return out;
  out << Raw("<ul class=\"reasons\">");
  for (const std::string& reason : reasons) {
    out << Raw("<li>") << reason << Raw("</li>");
  }
  out << Raw("</ul>");
  return out;
}

std::string HostName(const v1::AgentRecord& agent) {
  return agent.host().hostname().empty() ? agent.agent_id()
                                         : agent.host().hostname();
}

std::string FindingSubject(const v1::FindingStatement& finding) {
  return finding.control().empty() ? absl::StrCat("clause ", finding.clause())
                                   : finding.control();
}

Html FindingsTable(const Site& site, const std::vector<v1::FindingView>& rows,
                   bool with_subject) {
  Html out;
  out << Raw("<table class=\"findings\"><thead><tr><th>Finding</th>");
  if (with_subject) out << Raw("<th>Control or clause</th>");
  out << Raw(
      "<th>Audit</th><th>Auditor's grade</th><th>Evidentia's grade</th>"
      "<th>Statement</th><th>Corrective action</th><th>State</th></tr></thead>"
      "<tbody>");
  for (const v1::FindingView& view : rows) {
    const v1::FindingStatement& f = view.finding();
    out << Raw("<tr") << Attr("data-finding", absl::StrCat(view.number()))
        << Raw("><td>") << view.number() << Raw("</td>");
    if (with_subject) {
      out << Raw("<td>");
      if (f.control().empty()) {
        out << FindingSubject(f);
      } else {
        out << Link(site.Control(f.control()), f.control());
      }
      out << Raw("</td>");
    }
    out << Raw("<td>") << f.audit() << Raw("</td><td>") << GradeBadge(f.grade())
        << Raw("</td><td>");
    if (view.computed_grade() != v1::GRADE_UNSPECIFIED) {
      out << GradeBadge(view.computed_grade());
    } else {
      out << "-";
    }
    out << Raw("</td><td>") << f.statement() << Raw("</td><td>");
    if (view.action() != 0) {
      const v1::ActionStatement& a = view.action_statement();
      out << a.action() << Raw("<br><small>owner ") << a.owner()
          << Raw(", due ") << a.due_on() << Raw("</small>");
      if (view.closure() != 0) {
        out << Raw("<br><small>closed");
        if (view.closure_statement().proof_size() > 0) {
          out << Raw(", proven effective by ");
          bool first = true;
          for (const v1::SnapshotRef& ref : view.closure_statement().proof()) {
            if (!first) out << ", ";
            first = false;
            out << Link(
                site.Snapshot(ref.agent_id(), ref.seq()),
                absl::StrCat(ref.agent_id().substr(0, 8), "/", ref.seq()));
          }
        }
        out << Raw("</small>");
      }
    } else {
      out << "-";
    }
    out << Raw("</td><td>");
    if (view.state() == v1::FINDING_CLOSED) {
      out << Raw("<span class=\"state pass\">closed</span>");
    } else if (view.overdue()) {
      out << Raw("<span class=\"state fail\">overdue</span>");
    } else {
      out << Raw("<span class=\"state warn\">open</span>");
    }
    out << Raw("</td></tr>");
  }
  out << Raw("</tbody></table>");
  return out;
}

std::string AuditKindWords(v1::AuditKind kind) {
  switch (kind) {
    case v1::AUDIT_STAGE1:
      return "Stage 1";
    case v1::AUDIT_STAGE2:
      return "Stage 2";
    case v1::AUDIT_SURVEILLANCE:
      return "surveillance";
    case v1::AUDIT_RECERTIFICATION:
      return "recertification";
    default:
      return "-";
  }
}

Html Csrf(const std::string& csrf) {
  Html out;
  out << Raw("<input type=\"hidden\" name=\"csrf\"") << Attr("value", csrf)
      << Raw(">");
  return out;
}

}  // namespace

std::string GradeWords(v1::Grade grade) { return collector::GradeName(grade); }

std::string GradeKey(v1::Grade grade) {
  switch (grade) {
    case v1::GRADE_COMPLIANT:
      return "compliant";
    case v1::GRADE_OPPORTUNITY_FOR_IMPROVEMENT:
      return "ofi";
    case v1::GRADE_MINOR_NONCONFORMITY:
      return "minor";
    case v1::GRADE_MAJOR_NONCONFORMITY:
      return "major";
    default:
      return "na";
  }
}

std::string RoleName(v1::UserRole role) {
  switch (role) {
    case v1::USER_ROLE_ADMIN:
      return "admin";
    case v1::USER_ROLE_VIEWER:
      return "viewer";
    case v1::USER_ROLE_AUDITOR:
      return "auditor";
    default:
      return "none";
  }
}

bool GotWorse(v1::Grade before, v1::Grade now) {
  const bool graded = before >= v1::GRADE_COMPLIANT &&
                      before <= v1::GRADE_MAJOR_NONCONFORMITY &&
                      now <= v1::GRADE_MAJOR_NONCONFORMITY;
  return graded && now > before;
}

// --- Overview ---

double CompliantShare(const v1::GradeControlsResponse& grades) {
  int applicable = 0, compliant = 0;
  for (const v1::ControlGrade& control : grades.controls()) {
    if (!Applicable(control)) continue;
    ++applicable;
    if (control.grade() == v1::GRADE_COMPLIANT ||
        control.grade() == v1::GRADE_OPPORTUNITY_FOR_IMPROVEMENT) {
      ++compliant;
    }
  }
  return applicable == 0 ? 0 : static_cast<double>(compliant) / applicable;
}

std::vector<TimelineSegment> Segments(
    const std::vector<std::pair<absl::Time, v1::CheckState>>& states,
    absl::Time end) {
  std::vector<TimelineSegment> segments;
  for (size_t i = 0; i < states.size(); ++i) {
    const auto& [at, state] = states[i];
    const absl::Time until = i + 1 < states.size() ? states[i + 1].first : end;
    if (!segments.empty() && segments.back().state == state) {
      segments.back().to = until;
    } else {
      segments.push_back({at, until, state});
    }
  }
  return segments;
}

Html ComplianceChart(const std::vector<DayShare>& days) {
  constexpr double kLeft = 44, kTop = 10, kWidth = 660, kHeight = 140;
  Html out;
  out << Raw(
      "<svg id=\"compliance-chart\" class=\"chart\" viewBox=\"0 0 720 "
      "180\" role=\"img\" aria-labelledby=\"compliance-chart-title\">"
      "<title id=\"compliance-chart-title\">Share of applicable "
      "controls compliant, per day</title>");
  for (int pct : {0, 50, 100}) {
    const double y = kTop + (1 - pct / 100.0) * kHeight;
    out << Raw("<line class=\"grid\" x1=\"") << Number(kLeft, 0)
        << Raw("\" x2=\"") << Number(kLeft + kWidth, 0) << Raw("\" y1=\"")
        << Number(y, 1) << Raw("\" y2=\"") << Number(y, 1)
        << Raw("\"></line><text class=\"axis\" x=\"") << Number(kLeft - 6, 0)
        << Raw("\" y=\"") << Number(y + 4, 1) << Raw("\" text-anchor=\"end\">")
        << pct << Raw("%</text>");
  }
  if (!days.empty()) {
    const double step =
        days.size() > 1 ? kWidth / static_cast<double>(days.size() - 1) : 0;
    Html points;
    for (size_t i = 0; i < days.size(); ++i) {
      const double share = std::clamp(days[i].share, 0.0, 1.0);
      if (i > 0) points << " ";
      points << Number(kLeft + step * static_cast<double>(i), 1) << ","
             << Number(kTop + (1 - share) * kHeight, 1);
    }
    out << Raw("<polyline class=\"line\" points=\"") << points
        << Raw("\"></polyline>");
    for (size_t i = 0; i < days.size(); ++i) {
      const double share = std::clamp(days[i].share, 0.0, 1.0);
      out << Raw("<circle class=\"point\" r=\"2.5\" cx=\"")
          << Number(kLeft + step * static_cast<double>(i), 1) << Raw("\" cy=\"")
          << Number(kTop + (1 - share) * kHeight, 1) << Raw("\"><title>")
          << absl::FormatTime("%Y-%m-%d", days[i].at, absl::UTCTimeZone())
          << ": " << Number(share * 100, 0) << Raw("%</title></circle>");
    }
    out << Raw("<text class=\"axis\" x=\"") << Number(kLeft, 0)
        << Raw("\" y=\"172\">")
        << absl::FormatTime("%Y-%m-%d", days.front().at, absl::UTCTimeZone())
        << Raw("</text><text class=\"axis\" x=\"") << Number(kLeft + kWidth, 0)
        << Raw("\" y=\"172\" text-anchor=\"end\">")
        << absl::FormatTime("%Y-%m-%d", days.back().at, absl::UTCTimeZone())
        << Raw("</text>");
  }
  out << Raw("</svg>");
  return out;
}

Html OverviewBody(const Site& site, const OverviewModel& model) {
  std::map<v1::Grade, int> counts;
  for (const v1::ControlGrade& control : model.grades.controls()) {
    ++counts[Applicable(control) ? control.grade() : v1::GRADE_NOT_APPLICABLE];
  }
  Html out;
  out << Raw("<section id=\"grade-counts\" class=\"counts\">");
  for (v1::Grade grade :
       {v1::GRADE_COMPLIANT, v1::GRADE_OPPORTUNITY_FOR_IMPROVEMENT,
        v1::GRADE_MINOR_NONCONFORMITY, v1::GRADE_MAJOR_NONCONFORMITY,
        v1::GRADE_NOT_APPLICABLE}) {
    std::string href = site.Controls();
    if (!site.is_report()) {
      href += (href.find('?') == std::string::npos ? "?" : "&");
      href += "grade=" + GradeKey(grade);
    }
    out << Raw("<a class=\"count ") << GradeKey(grade) << Raw("\"")
        << Attr("data-grade", GradeKey(grade)) << Attr("href", href)
        << Raw("><span class=\"n\">") << counts[grade] << Raw("</span> ")
        << GradeWords(grade) << Raw("</a>");
  }
  out << Raw("</section>\n");

  if (site.is_report()) {
    out << Raw("<section><h2>Compliant over the period</h2>");
  } else {
    out << Raw("<section><h2>Compliant over the last ")
        << model.compliance.size() << Raw(" days</h2>");
  }
  out << ComplianceChart(model.compliance);
  if (model.days_missing > 0) {
    out << Raw("<p class=\"muted\">") << model.days_missing
        << Raw(" earlier days are still being graded; reload to see "
               "them.</p>");
  }
  if (!model.compliance.empty()) {
    out << Raw("<p class=\"muted\">")
        << (site.is_report()        ? "At the end of the period: "
            : site.at_day().empty() ? "Now: "
                                    : "Then: ")
        << Number(model.compliance.back().share * 100, 0)
        << Raw("% of applicable controls compliant or with an opportunity "
               "for improvement.</p>");
  }
  out << Raw("</section>\n");

  out << Raw("<section id=\"worse\"><h2>") << model.worse_heading
      << Raw("</h2>");
  if (model.worse.empty()) {
    out << Raw("<p class=\"muted\">No control got worse.</p>");
  } else {
    out << Raw(
        "<table><thead><tr><th>Control</th><th>Title</th><th>Before"
        "</th><th>Then</th></tr></thead><tbody>");
    for (const ControlChange& change : model.worse) {
      out << Raw("<tr><td>")
          << Link(site.Control(change.control_id), change.control_id)
          << Raw("</td><td>") << change.title << Raw("</td><td>")
          << GradeBadge(change.before) << Raw("</td><td>")
          << GradeBadge(change.now) << Raw("</td></tr>");
    }
    out << Raw("</tbody></table>");
  }
  out << Raw("</section>\n");

  out << Raw("<section id=\"silent\"><h2>Silent hosts</h2>");
  if (model.silent.empty()) {
    out << Raw("<p class=\"muted\">Every host reports.</p>");
  } else {
    out << Raw(
        "<table><thead><tr><th>Host</th><th>Last seen</th></tr>"
        "</thead><tbody>");
    for (const v1::AgentRecord& agent : model.silent) {
      out << Raw("<tr><td>")
          << Link(site.Host(agent.agent_id()), HostName(agent))
          << Raw("</td><td>") << When(T(agent.last_seen()))
          << Raw("</td></tr>");
    }
    out << Raw("</tbody></table>");
  }
  out << Raw("</section>\n");

  out << Raw(
      "<section id=\"open-findings\"><h2>Open findings and corrective "
      "actions</h2>");
  if (!model.cycle_status.empty()) {
    out << Raw("<p>") << model.cycle_status << Raw("</p>");
  }
  if (!model.cycle_next.empty()) {
    out << Raw("<p class=\"muted\">Next: ") << model.cycle_next << Raw("</p>");
  }
  if (model.open_findings.empty()) {
    out << Raw("<p class=\"muted\">No open finding.</p>");
  } else {
    out << FindingsTable(site, model.open_findings, true);
  }
  out << Raw("</section>\n");

  if (model.show_events) {
    out << Raw(
        "<section id=\"events\"><h2>Security events since your last "
        "sign-in</h2>");
    if (model.events_total == 0) {
      out << Raw("<p class=\"muted\">None.</p>");
    } else {
      out << Raw("<p>") << static_cast<uint64_t>(model.events_total)
          << Raw(" in all; the latest:</p><table><thead><tr><th>When</th>"
                 "<th>Kind</th><th>Host</th><th>What</th><th>From</th></tr>"
                 "</thead><tbody>");
      for (const v1::SecurityEvent& event : model.events) {
        out << Raw("<tr><td>") << When(T(event.at())) << Raw("</td><td>")
            << event.kind() << Raw("</td><td>");
        if (event.agent_id().empty()) {
          out << "-";
        } else {
          out << Link(site.Host(event.agent_id()), event.agent_id());
        }
        out << Raw("</td><td>") << event.detail() << Raw("</td><td>")
            << event.peer() << Raw("</td></tr>");
      }
      out << Raw("</tbody></table>");
    }
    out << Raw("</section>\n");
  }
  return out;
}

// --- Controls ---

Html ControlsBody(const Site& site, const v1::GradeControlsResponse& grades,
                  const ControlsFilter& filter) {
  std::set<std::string> themes, owners;
  for (const v1::ControlGrade& control : grades.controls()) {
    themes.insert(control.theme());
    if (!control.owner().empty()) owners.insert(control.owner());
  }
  Html out;
  if (!site.is_report()) {
    out << Raw("<form id=\"filter\" method=\"get\" action=\"/controls\">");
    if (!site.at_day().empty()) {
      out << Raw("<input type=\"hidden\" name=\"at\"")
          << Attr("value", site.at_day()) << Raw(">");
    }
    auto select =
        [&](absl::string_view name, absl::string_view label,
            const std::vector<std::pair<std::string, std::string>>& options,
            const std::string& chosen) {
          out << Raw("<label>") << label << Raw(" <select")
              << Attr("name", name) << Raw("><option value=\"\">all</option>");
          for (const auto& [value, text] : options) {
            out << Raw("<option") << Attr("value", value);
            if (value == chosen) out << Raw(" selected");
            out << Raw(">") << text << Raw("</option>");
          }
          out << Raw("</select></label> ");
        };
    std::vector<std::pair<std::string, std::string>> theme_options,
        owner_options, grade_options;
    for (const std::string& t : themes) theme_options.emplace_back(t, t);
    for (const std::string& o : owners) owner_options.emplace_back(o, o);
    for (v1::Grade g :
         {v1::GRADE_COMPLIANT, v1::GRADE_OPPORTUNITY_FOR_IMPROVEMENT,
          v1::GRADE_MINOR_NONCONFORMITY, v1::GRADE_MAJOR_NONCONFORMITY,
          v1::GRADE_NOT_APPLICABLE}) {
      grade_options.emplace_back(GradeKey(g), GradeWords(g));
    }
    select("theme", "Theme", theme_options, filter.theme);
    select("grade", "Grade", grade_options, filter.grade);
    select("owner", "Owner", owner_options, filter.owner);
    out << Raw("<label>Hosts labelled <input name=\"scope\" "
               "placeholder=\"KEY=VALUE\" size=\"14\"")
        << Attr("value", filter.scope)
        << Raw("></label> <button type=\"submit\">Filter</button> "
               "<input type=\"search\" id=\"quick-filter\" "
               "placeholder=\"Find in the table\" hidden></form>\n");
  }
  out << Raw(
      "<table id=\"controls\" class=\"sortable\"><thead><tr>"
      "<th data-sort=\"text\">Control</th><th data-sort=\"text\">"
      "Title</th><th data-sort=\"text\">Theme</th><th "
      "data-sort=\"grade\">Grade</th><th data-sort=\"text\">Owner</th>"
      "<th data-sort=\"number\">Hosts failing</th><th "
      "data-sort=\"number\">Hosts stale</th><th "
      "data-sort=\"text\">Oldest evidence</th></tr></thead><tbody>\n");
  size_t shown = 0;
  for (const v1::ControlGrade& control : grades.controls()) {
    const v1::Grade grade =
        Applicable(control) ? control.grade() : v1::GRADE_NOT_APPLICABLE;
    if (!filter.theme.empty() && control.theme() != filter.theme) continue;
    if (!filter.owner.empty() && control.owner() != filter.owner) continue;
    if (!filter.grade.empty() && GradeKey(grade) != filter.grade) continue;
    ++shown;
    out << Raw("<tr") << Attr("data-control", control.control_id())
        << Attr("data-grade", GradeKey(grade)) << Raw("><td>")
        << Link(site.Control(control.control_id()), control.control_id())
        << Raw("</td><td>") << control.title() << Raw("</td><td>")
        << control.theme() << Raw("</td><td class=\"grade\"")
        << Attr("data-value", absl::StrCat(static_cast<int>(grade))) << Raw(">")
        << GradeBadge(grade) << Raw("</td><td>") << control.owner()
        << Raw("</td><td class=\"num\">") << control.hosts_failing()
        << Raw("</td><td class=\"num\">") << control.hosts_stale()
        << Raw("</td><td>") << When(T(control.oldest_evidence()))
        << Raw("</td></tr>\n");
  }
  out << Raw("</tbody></table>\n<p class=\"muted\">")
      << static_cast<uint64_t>(shown) << Raw(" of ") << grades.controls_size()
      << Raw(" controls")
      << (grades.scope().empty()
              ? std::string()
              : absl::StrCat(", hosts labelled ", grades.scope()))
      << Raw(". Policy set ") << grades.policy_sha256().substr(0, 12)
      << Raw(".</p>\n");
  return out;
}

// --- One control ---

namespace {

Html Timelines(const std::vector<HostTimeline>& timelines, absl::Time from,
               absl::Time to, const Site& site) {
  Html out;
  if (timelines.empty() || to <= from) return out;
  constexpr double kLabel = 160, kWidth = 540, kRow = 18;
  const double span = absl::ToDoubleSeconds(to - from);
  const double height = kRow * static_cast<double>(timelines.size()) + 24;
  out << Raw("<svg id=\"timeline\" class=\"timeline\" viewBox=\"0 0 720 ")
      << Number(height, 0)
      << Raw("\" role=\"img\" aria-label=\"Each host's state over the "
             "period: green passing, red failing, grey silent or stale\">");
  for (size_t i = 0; i < timelines.size(); ++i) {
    const HostTimeline& row = timelines[i];
    const double y = kRow * static_cast<double>(i);
    out << Raw("<a") << Attr("href", site.Host(row.agent_id))
        << Raw("><text class=\"label\" x=\"0\" y=\"") << Number(y + 13, 0)
        << Raw("\">") << row.hostname.substr(0, 24) << Raw("</text></a>");
    for (const TimelineSegment& segment : row.segments) {
      const double x0 =
          kLabel + kWidth * absl::ToDoubleSeconds(segment.from - from) / span;
      const double x1 =
          kLabel + kWidth * absl::ToDoubleSeconds(segment.to - from) / span;
      out << Raw("<rect") << Attr("class", StateClass(segment.state))
          << Raw(" x=\"") << Number(x0, 1) << Raw("\" y=\"") << Number(y + 3, 0)
          << Raw("\" width=\"") << Number(std::max(x1 - x0, 0.5), 1)
          << Raw("\" height=\"12\"><title>") << row.hostname << ": "
          << collector::CheckStateName(segment.state) << " from "
          << When(segment.from) << " to " << When(segment.to)
          << Raw("</title></rect>");
    }
  }
  const double axis = kRow * static_cast<double>(timelines.size()) + 16;
  out << Raw("<text class=\"axis\" x=\"") << Number(kLabel, 0) << Raw("\" y=\"")
      << Number(axis, 0) << Raw("\">") << When(from)
      << Raw("</text><text class=\"axis\" x=\"") << Number(kLabel + kWidth, 0)
      << Raw("\" y=\"") << Number(axis, 0) << Raw("\" text-anchor=\"end\">")
      << When(to) << Raw("</text></svg>");
  return out;
}

}  // namespace

Html HistoryBody(const Site& site, const v1::GetHistoryResponse& history,
                 absl::Time from, absl::Time to) {
  Html out;
  out << Raw("<section id=\"history\"><h2>History from ") << When(from)
      << Raw(" to ") << When(to) << Raw("</h2><p>Compliant for ")
      << Number(history.compliant_share() * 100, 1)
      << Raw("% of the period.</p><table><thead><tr><th>From</th><th>Grade"
             "</th><th>Why</th></tr></thead><tbody>");
  for (const v1::GradeChange& change : history.changes()) {
    out << Raw("<tr><td>") << When(T(change.at())) << Raw("</td><td>")
        << GradeBadge(change.grade()) << Raw("</td><td>")
        << Reasons(change.reasons()) << Raw("</td></tr>");
  }
  out << Raw("</tbody></table>");
  if (!site.is_report()) {
    out << Raw(
        "<p class=\"muted\">The grade at the end of each day, and "
        "now; <code>evidentia history</code> finds each change to "
        "the minute.</p>");
  }
  out << Raw("</section>\n");
  return out;
}

// Links to the previous and next pages of `base` (a dashboard path).
Html PagesNav(const std::string& base, const Paging& paging) {
  Html out;
  if (paging.pages <= 1) return out;
  const char* sep = base.find('?') == std::string::npos ? "?" : "&";
  out << Raw("<nav class=\"pages\">");
  if (paging.page > 1) {
    out << Link(absl::StrCat(base, sep, "page=", paging.page - 1), "previous");
  }
  if (paging.page < paging.pages) {
    out << Raw(" ")
        << Link(absl::StrCat(base, sep, "page=", paging.page + 1), "next");
  }
  out << Raw("</nav>");
  return out;
}

Html ControlBody(const Site& site, const ControlModel& model) {
  const v1::ControlGrade& c = model.control;
  const v1::Grade grade = Applicable(c) ? c.grade() : v1::GRADE_NOT_APPLICABLE;
  Html out;
  out << Raw("<p class=\"lead\">") << GradeBadge(grade)
      << Raw("</p><dl class=\"facts\"><dt>Theme</dt><dd>") << c.theme()
      << Raw("</dd><dt>Owner</dt><dd>") << (c.owner().empty() ? "-" : c.owner())
      << Raw("</dd><dt>Justification</dt><dd>") << c.justification()
      << Raw("</dd><dt>Checks behind the grade</dt><dd>");
  if (c.checks().empty()) {
    out << "none: graded on manual evidence";
  } else {
    out << absl::StrJoin(c.checks(), ", ");
  }
  out << Raw("</dd><dt>Hosts</dt><dd>") << c.hosts_in_scope()
      << Raw(" in scope: ") << c.hosts_passing() << Raw(" passing, ")
      << c.hosts_failing() << Raw(" failing, ") << c.hosts_stale()
      << Raw(" stale</dd></dl>");
  if (!c.reasons().empty()) {
    out << Raw("<h2>Why not better</h2>") << Reasons(c.reasons());
  }

  out << Raw("<h2>Failing and stale hosts</h2>");
  if (c.findings().empty()) {
    out << Raw("<p class=\"muted\">Every host in scope passes.</p>");
  } else {
    out << Raw(
        "<table id=\"failing-hosts\" class=\"sortable\"><thead><tr>"
        "<th data-sort=\"text\">Host</th><th data-sort=\"text\">Check"
        "</th><th data-sort=\"text\">State</th><th>Why</th><th "
        "data-sort=\"text\">Since</th><th data-sort=\"text\">Evidence"
        "</th></tr></thead><tbody>");
    // The dashboard pages them; the static report shows them all.
    size_t first = 0, end = static_cast<size_t>(c.findings_size());
    if (!site.is_report() && model.findings_paging.pages > 0) {
      first = static_cast<size_t>(model.findings_paging.page - 1) *
              kFindingsPerPage;
      end = std::min(end, first + kFindingsPerPage);
    }
    for (size_t i = first; i < end; ++i) {
      const v1::HostCheck& check = c.findings(static_cast<int>(i));
      out << Raw("<tr") << Attr("data-agent", check.agent_id()) << Raw("><td>")
          << Link(site.Host(check.agent_id()), check.hostname().empty()
                                                   ? check.agent_id()
                                                   : check.hostname());
      if (check.agent_revoked()) out << Raw(" <small>(revoked)</small>");
      out << Raw("</td><td>") << check.check_id() << Raw("</td><td>")
          << StateBadge(check.state()) << Raw("</td><td>")
          << Reasons(check.reasons()) << Raw("</td><td class=\"since\">")
          << (check.has_since() ? When(T(check.since())) : std::string("-"))
          << Raw("</td><td>");
      if (check.seq() > 0) {
        out << Link(site.Snapshot(check.agent_id(), check.seq()),
                    absl::StrCat("snapshot ", check.seq()))
            << Raw(", ") << Age(T(check.evidence_at()), model.at)
            << Raw(" old");
      } else {
        out << "none";
      }
      out << Raw("</td></tr>");
    }
    out << Raw("</tbody></table>");
    if (end - first < static_cast<size_t>(c.findings_size())) {
      out << Raw("<p class=\"muted\">") << static_cast<uint64_t>(first + 1)
          << Raw(" to ") << static_cast<uint64_t>(end) << Raw(" of ")
          << c.findings_size() << Raw(" host checks.</p>")
          << PagesNav(site.Control(c.control_id()), model.findings_paging);
    }
  }

  if (!model.timelines.empty()) {
    out << Raw("<h2>Hosts over the period</h2>")
        << Timelines(model.timelines, model.period_from, model.at, site)
        << Raw("<p class=\"legend\"><span class=\"key pass\"></span>passing "
               "<span class=\"key fail\"></span>failing <span "
               "class=\"key stale\"></span>silent or stale</p>");
  }

  out << Raw("<h2>Manual evidence</h2>");
  if (c.manual().present()) {
    out << Raw("<p>") << c.manual().file_name() << Raw(" <small>(SHA-256 ")
        << c.manual().sha256().substr(0, 16) << Raw("…)</small>, valid until ")
        << When(T(c.manual().valid_until()));
    if (!c.manual().note().empty()) out << Raw(": ") << c.manual().note();
    out << Raw("</p>");
  } else {
    out << Raw("<p class=\"muted\">None recorded.</p>");
  }
  if (model.can_add_evidence) {
    out << Raw("<form id=\"manual-evidence\" method=\"post\" "
               "enctype=\"multipart/form-data\"")
        << Attr("action", absl::StrCat("/controls/", UrlPart(c.control_id()),
                                       "/evidence"))
        << Raw(">") << Csrf(model.csrf)
        << Raw("<label>Document <input type=\"file\" name=\"document\" "
               "required></label> <label>Valid until <input type=\"date\" "
               "name=\"valid_until\" required></label> <label>Note <input "
               "name=\"note\" maxlength=\"500\"></label> <button "
               "type=\"submit\">Add evidence</button></form>");
  }

  out << Raw("<h2>The auditor's findings</h2>");
  if (model.findings.empty()) {
    out << Raw("<p class=\"muted\">None on this control.</p>");
  } else {
    out << FindingsTable(site, model.findings, false);
  }
  if (!model.finding_audits.empty()) {
    out << Raw("<form id=\"finding\" method=\"post\"")
        << Attr("action", absl::StrCat("/controls/", UrlPart(c.control_id()),
                                       "/findings"))
        << Raw(">") << Csrf(model.csrf)
        << Raw("<label>Audit <select "
               "name=\"audit\">");
    for (const std::string& audit : model.finding_audits) {
      out << Raw("<option") << Attr("value", audit) << Raw(">") << audit
          << Raw("</option>");
    }
    out << Raw("</select></label> <label>Grade <select name=\"grade\">");
    for (v1::Grade g :
         {v1::GRADE_COMPLIANT, v1::GRADE_OPPORTUNITY_FOR_IMPROVEMENT,
          v1::GRADE_MINOR_NONCONFORMITY, v1::GRADE_MAJOR_NONCONFORMITY}) {
      out << Raw("<option") << Attr("value", GradeKey(g)) << Raw(">")
          << GradeWords(g) << Raw("</option>");
    }
    out << Raw(
        "</select></label> <label>Statement <input name=\"statement\" "
        "required maxlength=\"4000\" size=\"50\"></label> <button "
        "type=\"submit\">Record finding</button></form>");
  }

  if (model.history.changes_size() > 0) {
    out << HistoryBody(site, model.history, model.period_from, model.at);
  }
  return out;
}

// --- Hosts ---

Html HostsBody(const Site& site, const std::vector<HostRow>& hosts,
               const Paging& paging, absl::Time at) {
  Html out;
  out << Raw(
      "<table id=\"hosts\" class=\"sortable\"><thead><tr><th "
      "data-sort=\"text\">Host</th><th data-sort=\"text\">OS</th><th "
      "data-sort=\"text\">Last seen</th><th data-sort=\"text\">Labels"
      "</th><th data-sort=\"text\">State</th><th "
      "data-sort=\"number\">Checks failing</th><th "
      "data-sort=\"number\">Stale</th></tr></thead><tbody>\n");
  for (const HostRow& row : hosts) {
    const v1::AgentRecord& a = row.agent;
    std::vector<std::string> labels;
    for (const auto& [key, value] : a.labels()) {
      labels.push_back(absl::StrCat(key, "=", value));
    }
    std::sort(labels.begin(), labels.end());
    out << Raw("<tr") << Attr("data-agent", a.agent_id()) << Raw("><td>")
        << Link(site.Host(a.agent_id()), HostName(a)) << Raw("</td><td>")
        << a.host().os_pretty_name() << Raw("</td><td>")
        << When(T(a.last_seen())) << Raw(" <small>(")
        << Age(T(a.last_seen()), at) << Raw(")</small></td><td>")
        << absl::StrJoin(labels, ", ") << Raw("</td><td>");
    if (a.has_revoked_at()) {
      out << Raw("<span class=\"state fail\">revoked</span>");
    } else if (row.silent) {
      out << Raw("<span class=\"state stale\">silent</span>");
    } else {
      out << Raw("<span class=\"state pass\">reporting</span>");
    }
    out << Raw("</td><td class=\"num\">") << row.failing
        << Raw("</td><td class=\"num\">") << row.stale << Raw("</td></tr>\n");
  }
  out << Raw("</tbody></table>\n<p class=\"muted\">")
      << static_cast<uint64_t>(paging.total) << Raw(" hosts");
  if (paging.pages > 1) {
    out << Raw("; page ") << paging.page << Raw(" of ") << paging.pages;
  }
  out << Raw(".</p>");
  if (!site.is_report()) out << PagesNav(site.Hosts(), paging);
  return out;
}

Html HostBody(const Site& site, const HostModel& model) {
  const v1::GetHostResponse& h = model.host;
  const v1::AgentRecord& a = h.agent();
  Html out;
  std::vector<std::string> labels;
  for (const auto& [key, value] : a.labels()) {
    labels.push_back(absl::StrCat(key, "=", value));
  }
  std::sort(labels.begin(), labels.end());
  out << Raw("<dl class=\"facts\"><dt>Agent</dt><dd><code>") << a.agent_id()
      << Raw("</code></dd><dt>OS</dt><dd>") << a.host().os_pretty_name()
      << Raw("</dd><dt>Labels</dt><dd>")
      << (labels.empty() ? std::string("-") : absl::StrJoin(labels, ", "))
      << Raw("</dd><dt>Enrolled</dt><dd>") << When(T(a.enrolled_at()))
      << Raw("</dd><dt>Last seen</dt><dd>") << When(T(a.last_seen()))
      << Raw(" (snapshot ") << a.last_seq() << Raw(")</dd><dt>State</dt><dd>");
  if (a.has_revoked_at()) {
    out << Raw("<span class=\"state fail\">revoked ") << When(T(a.revoked_at()))
        << Raw("</span>");
  } else if (h.silent()) {
    out << Raw("<span class=\"state stale\">silent</span>");
  } else {
    out << Raw("<span class=\"state pass\">reporting</span>");
  }
  out << Raw("</dd><dt>Device key</dt><dd><code>") << a.key_id()
      << Raw("</code></dd></dl>");

  std::map<std::string, const v1::EvidenceItem*> items;
  for (const v1::EvidenceItem& item : model.evidence.items()) {
    items[item.check_id()] = &item;
  }
  out << Raw(
      "<h2>Checks</h2><table id=\"checks\" class=\"sortable\"><thead>"
      "<tr><th data-sort=\"text\">Check</th><th data-sort=\"text\">"
      "State</th><th>Why</th><th data-sort=\"text\">Since</th><th "
      "data-sort=\"text\">Evidence age</th><th>Snapshot</th></tr>"
      "</thead><tbody>");
  for (const v1::HostCheck& check : h.checks()) {
    out << Raw("<tr") << Attr("data-check", check.check_id()) << Raw("><td>")
        << check.check_id() << Raw("</td><td>") << StateBadge(check.state())
        << Raw("</td><td>") << Reasons(check.reasons())
        << Raw("</td><td class=\"since\">")
        << (check.has_since() ? When(T(check.since())) : std::string("-"))
        << Raw("</td><td>") << Age(T(check.evidence_at()), model.at)
        << Raw("</td><td>");
    if (check.seq() > 0) {
      out << Link(site.Snapshot(a.agent_id(), check.seq()),
                  absl::StrCat(check.seq()));
    } else {
      out << "-";
    }
    out << Raw("</td></tr>");
  }
  out << Raw("</tbody></table>");

  if (model.show_facts && !items.empty()) {
    out << Raw(
        "<h2>Facts as stored</h2><p class=\"muted\">The latest "
        "observation of each probe, as the agent signed it.</p>");
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    options.preserve_proto_field_names = true;
    for (const auto& [check_id, item] : items) {
      std::string json;
      if (!google::protobuf::util::MessageToJsonString(item->facts(), &json,
                                                       options)
               .ok()) {
        json = "(cannot show)";
      }
      out << Raw("<details") << Attr("id", absl::StrCat("facts-", check_id))
          << Raw("><summary>") << check_id << Raw(" — probe ") << item->probe()
          << Raw(", snapshot ")
          << Link(site.Snapshot(a.agent_id(), item->seq()),
                  absl::StrCat(item->seq()))
          << Raw(", collected ") << When(T(item->collected_at()))
          << Raw("</summary>");
      if (!item->error().empty()) {
        out << Raw("<p class=\"error\">") << item->error() << Raw("</p>");
      }
      out << Raw("<pre>") << json << Raw("</pre></details>");
    }
  }
  return out;
}

Html SnapshotBody(const Site& site, const SnapshotModel& model) {
  const v1::Snapshot& p = model.payload;
  const v1::SignedSnapshot& envelope = model.stored.envelope();
  Html out;
  out << Raw("<dl class=\"facts\" id=\"snapshot\"><dt>Host</dt><dd>")
      << Link(site.Host(model.agent_id),
              model.hostname.empty() ? model.agent_id : model.hostname)
      << Raw("</dd><dt>Sequence</dt><dd>") << model.seq
      << Raw("</dd><dt>Collected</dt><dd>") << When(T(p.collected_at()))
      << Raw(" <small>(the agent's clock)</small></dd><dt>Received</dt><dd>")
      << When(T(model.stored.received_at()))
      << Raw(" <small>(the collector's clock)</small></dd>"
             "<dt>Signature</dt><dd id=\"signature\">");
  if (model.signature_problem.empty()) {
    out << Raw("<span class=\"grade compliant\">verifies</span> under the "
               "agent's key <code>")
        << envelope.key_id() << Raw("</code>");
  } else {
    out << Raw("<span class=\"grade major\">does not verify</span> ")
        << model.signature_problem;
  }
  out << Raw("</dd><dt>Transparency log</dt><dd id=\"log-index\">");
  if (model.log_index.has_value()) {
    out << "leaf " << *model.log_index;
  } else {
    out << "not yet in a signed checkpoint";
  }
  out << Raw("</dd><dt>Payload SHA-256</dt><dd><code>")
      << Sha256Hex(envelope.payload())
      << Raw("</code></dd><dt>Previous payload SHA-256</dt><dd><code>")
      << ToHex(p.prev_payload_sha256())
      << Raw("</code></dd><dt>Agent version</dt><dd>") << p.agent_version()
      << Raw("</dd></dl>");
  if (model.seq > 1 || model.next != 0) {
    out << Raw("<nav class=\"pages\">");
    if (model.seq > 1) {
      out << Link(site.Snapshot(model.agent_id, model.seq - 1),
                  "previous snapshot")
          << Raw(" ");
    }
    if (model.next != 0) {
      out << Link(site.Snapshot(model.agent_id, model.next), "next snapshot");
    }
    out << Raw("</nav>");
  }
  out << Raw(
      "<h2>Observations</h2><table id=\"observations\"><thead><tr>"
      "<th>Check</th><th>Probe</th><th>Facts SHA-256</th><th>Error</th>"
      "</tr></thead><tbody>");
  for (const v1::Observation& o : p.observations()) {
    out << Raw("<tr><td>") << o.check_id() << Raw("</td><td>") << o.probe()
        << Raw("</td><td><code>") << ToHex(o.facts_sha256())
        << Raw("</code></td><td>") << o.error() << Raw("</td></tr>");
  }
  out << Raw("</tbody></table>");
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  for (const auto& [check_id, facts] : model.facts) {
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(facts, &json, options)
             .ok()) {
      json = "(cannot show)";
    }
    out << Raw("<details") << Attr("id", absl::StrCat("facts-", check_id))
        << Raw("><summary>") << check_id << Raw("</summary><pre>") << json
        << Raw("</pre></details>");
  }
  return out;
}

// --- The audit cycle ---

namespace {

std::string DocumentStateWords(v1::DocumentState state) {
  switch (state) {
    case v1::DOCUMENT_PRESENT:
      return "present";
    case v1::DOCUMENT_MISSING:
      return "missing";
    case v1::DOCUMENT_UNAPPROVED:
      return "not approved";
    case v1::DOCUMENT_OVERDUE:
      return "review overdue";
    case v1::DOCUMENT_OUTDATED:
      return "outdated";
    default:
      return "-";
  }
}

Html DocumentsSection(const v1::ReadinessReport& readiness,
                      const std::string& csrf) {
  Html out;
  out << Raw(
      "<h2>ISMS documents</h2><table id=\"documents\" "
      "class=\"sortable\"><thead><tr><th data-sort=\"text\">Clause"
      "</th><th data-sort=\"text\">Document</th><th "
      "data-sort=\"text\">State</th><th>Version</th><th>Approved"
      "</th><th data-sort=\"text\">Review by</th></tr></thead>"
      "<tbody>");
  std::vector<const v1::DocumentStatus*> documents;
  for (const v1::ClauseReadiness& clause : readiness.clauses()) {
    for (const v1::DocumentStatus& d : clause.documents()) {
      documents.push_back(&d);
      out << Raw("<tr") << Attr("data-document", d.document()) << Raw("><td>")
          << d.clause() << Raw("</td><td>")
          << (d.title().empty() ? d.document() : d.title()) << Raw("</td><td>")
          << DocumentStateWords(d.state());
      if (!d.reason().empty()) {
        out << Raw(" <small>") << d.reason() << Raw("</small>");
      }
      out << Raw("</td><td>") << d.version();
      if (!d.file_name().empty()) {
        out << Raw(" <small>(") << d.file_name() << Raw(")</small>");
      }
      out << Raw("</td><td>")
          << (d.approved_by().empty()
                  ? std::string("-")
                  : absl::StrCat(d.approved_by(), ", ", d.approved_on()))
          << Raw("</td><td>") << d.review_by() << Raw("</td></tr>");
    }
  }
  out << Raw("</tbody></table>");
  if (csrf.empty() || documents.empty()) return out;
  out << Raw("<h3>Register a version</h3><form id=\"document-upload\" "
             "method=\"post\" "
             "action=\"/documents\" enctype=\"multipart/form-data\">")
      << Csrf(csrf) << Raw("<label>Document <select name=\"which\" required>");
  for (const v1::DocumentStatus* d : documents) {
    out << Raw("<option")
        << Attr("value", absl::StrCat(d->clause(), " ", d->document()))
        << Raw(">") << d->clause() << " "
        << (d->title().empty() ? d->document() : d->title())
        << Raw("</option>");
  }
  out << Raw(
      "</select></label> <label>File <input type=\"file\" "
      "name=\"document\" required></label> <label>Version <input "
      "name=\"version\" maxlength=\"64\" required></label> "
      "<label>Approved by <input name=\"approved_by\" "
      "maxlength=\"200\"></label> <label>Approved on <input "
      "type=\"date\" name=\"approved_on\"></label> <label>Review by "
      "<input type=\"date\" name=\"review_by\" required></label> "
      "<label>Note <input name=\"note\" maxlength=\"500\"></label> "
      "<button type=\"submit\">Register the version</button></form>");
  return out;
}

}  // namespace

Html CycleBody(const Site& site, const v1::CycleReport& cycle,
               const v1::ReadinessReport* readiness,
               const std::string& document_csrf) {
  Html out;
  out << Raw("<p class=\"lead\" id=\"cycle-status\">") << cycle.status()
      << Raw("</p>");
  if (!cycle.next().empty()) {
    out << Raw("<p>Next: ") << cycle.next() << Raw("</p>");
  }
  if (!cycle.certified_on().empty()) {
    out << Raw("<dl class=\"facts\"><dt>Certificate</dt><dd>")
        << cycle.certificate() << Raw("</dd><dt>Granted</dt><dd>")
        << cycle.certified_on() << Raw("</dd><dt>Expires</dt><dd>")
        << cycle.expires_on() << Raw("</dd><dt>Surveillance due</dt><dd>")
        << absl::StrJoin(cycle.surveillance_due(), ", ")
        << Raw("</dd><dt>Recertification due</dt><dd>")
        << cycle.recertification_due() << Raw("</dd></dl>");
  }
  if (readiness != nullptr) {
    out << Raw("<h2>Stage 1 readiness</h2><p id=\"readiness\">")
        << (readiness->ready() ? "ready" : "not ready") << Raw("</p>");
    out << DocumentsSection(*readiness, document_csrf);
  }
  out << Raw("<h2>Audits</h2>");
  if (cycle.audits().empty()) {
    out << Raw("<p class=\"muted\">No audit recorded.</p>");
  } else {
    out << Raw(
        "<table id=\"audits\"><thead><tr><th>Audit</th><th>Kind</th>"
        "<th>Period</th><th>Lead auditor</th><th>Closed</th><th>"
        "Decision</th><th>Findings</th></tr></thead><tbody>");
    for (const v1::AuditView& audit : cycle.audits()) {
      const v1::AuditStatement& s = audit.audit();
      out << Raw("<tr") << Attr("data-audit", s.audit()) << Raw("><td>")
          << s.audit() << Raw("</td><td>") << AuditKindWords(s.kind())
          << Raw("</td><td>") << s.from() << " to " << s.to()
          << Raw("</td><td>") << s.lead_auditor() << Raw("</td><td>")
          << (audit.closed() ? audit.closed_on() : std::string("open"))
          << Raw("</td><td>");
      if (audit.has_decision()) {
        out << (audit.decision().decision() == v1::DECISION_GRANTED
                    ? "granted "
                    : "refused ")
            << audit.decision().decided_on();
      } else {
        out << "-";
      }
      out << Raw("</td><td>") << audit.findings_size() << Raw("</td></tr>");
    }
    out << Raw("</tbody></table>");
  }
  out << Raw("<h2>Findings and corrective actions</h2>");
  std::vector<v1::FindingView> findings(cycle.findings().begin(),
                                        cycle.findings().end());
  if (findings.empty()) {
    out << Raw("<p class=\"muted\">No finding recorded.</p>");
  } else {
    out << FindingsTable(site, findings, true);
  }
  return out;
}

// --- Accounts ---

Html LoginBody(const std::string& csrf, const std::string& error) {
  Html out;
  if (!error.empty()) {
    out << Raw("<p class=\"error\" role=\"alert\">") << error << Raw("</p>");
  }
  out << Raw("<form id=\"login\" method=\"post\" action=\"/login\">")
      << Csrf(csrf)
      << Raw("<label>User <input name=\"user\" autocomplete=\"username\" "
             "required maxlength=\"64\" autofocus></label><label>Password "
             "<input type=\"password\" name=\"password\" "
             "autocomplete=\"current-password\" required maxlength=\"1024\">"
             "</label><button type=\"submit\">Sign in</button></form>");
  return out;
}

Html PasswordBody(const std::string& csrf, const std::string& error,
                  bool must_change) {
  Html out;
  if (must_change) {
    out << Raw(
        "<p>You signed in with a one-time password: choose your "
        "own.</p>");
  }
  if (!error.empty()) {
    out << Raw("<p class=\"error\" role=\"alert\">") << error << Raw("</p>");
  }
  out << Raw("<form id=\"password\" method=\"post\" "
             "action=\"/account/password\">")
      << Csrf(csrf)
      << Raw("<label>Current password <input type=\"password\" "
             "name=\"current\" autocomplete=\"current-password\" required>"
             "</label><label>New password (12 characters or more) <input "
             "type=\"password\" name=\"password\" autocomplete=\"new-password\""
             " required minlength=\"12\" maxlength=\"1024\"></label><button "
             "type=\"submit\">Set password</button></form>");
  return out;
}

Html UsersBody(const std::vector<v1::UserRecord>& users) {
  Html out;
  out << Raw(
      "<table id=\"users\"><thead><tr><th>User</th><th>Role</th><th>"
      "Audits</th><th>Created</th><th>Last sign-in</th><th>Password"
      "</th></tr></thead><tbody>");
  for (const v1::UserRecord& user : users) {
    out << Raw("<tr><td>") << user.name() << Raw("</td><td>")
        << RoleName(user.role()) << Raw("</td><td>")
        << absl::StrJoin(user.audits(), ", ") << Raw("</td><td>")
        << When(T(user.created_at())) << Raw("</td><td>")
        << When(T(user.last_login_at())) << Raw("</td><td>")
        << (user.must_change_password() ? "one-time" : "set")
        << Raw("</td></tr>");
  }
  out << Raw(
      "</tbody></table><p class=\"muted\">Add users with <code>"
      "evidentia user add NAME --role admin|viewer|auditor</code>."
      "</p>");
  return out;
}

Html ErrorBody(const std::string& message) {
  Html out;
  out << Raw("<p class=\"error\" role=\"alert\">") << message << Raw("</p>");
  return out;
}

}  // namespace evidentia::view
