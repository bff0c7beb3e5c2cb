#include "bundle/report.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/proto_time.h"
#include "grading/grading.h"
#include "view/assets.h"
#include "view/html.h"
#include "view/site.h"

namespace evidentia::collector {
namespace {

// RFC 4180: quoted when it holds a comma, quote or line break.
std::string CsvField(absl::string_view field) {
  if (field.find_first_of(",\"\r\n") == absl::string_view::npos) {
    return std::string(field);
  }
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

std::string SummaryCsv(const v1::GradeControlsResponse& grades) {
  std::string out =
      "control,title,theme,applicable,grade,hosts_in_scope,hosts_passing,"
      "hosts_failing,hosts_stale,reasons\n";
  for (const v1::ControlGrade& c : grades.controls()) {
    absl::StrAppend(
        &out, CsvField(c.control_id()), ",", CsvField(c.title()), ",",
        CsvField(c.theme()), ",", c.applicable() ? "yes" : "no", ",",
        CsvField(GradeName(c.grade())), ",", c.hosts_in_scope(), ",",
        c.hosts_passing(), ",", c.hosts_failing(), ",", c.hosts_stale(), ",",
        CsvField(absl::StrJoin(c.reasons(), "; ")), "\n");
  }
  return out;
}

namespace {

std::string Page(int depth, const std::string& title, view::Section section,
                 absl::Time at, const view::Html& body) {
  view::Frame frame;
  frame.title = title;
  frame.section = section;
  frame.at = at;
  return view::RenderPage(view::Site::Report(depth), frame, body);
}

// What the report is of: the bundle's facts, above the overview.
view::Html BundleFacts(const v1::BundleManifest& manifest,
                       const v1::GradeControlsResponse& grades) {
  using view::Raw;
  view::Html out;
  out << Raw("<dl class=\"facts\" id=\"bundle\"><dt>Organisation</dt><dd>")
      << manifest.organisation()
      << Raw("</dd><dt>Period (collector receive time)</dt><dd>")
      << view::When(FromProto(manifest.from())) << " to "
      << view::When(FromProto(manifest.to())) << Raw("</dd><dt>Scope</dt><dd>")
      << (manifest.scope().empty() ? std::string("all hosts")
                                   : manifest.scope())
      << Raw("</dd>");
  if (!manifest.audit().empty()) {
    out << Raw("<dt>Audit</dt><dd>") << manifest.audit() << Raw("</dd>");
  }
  out << Raw("<dt>Graded as of</dt><dd>") << view::When(FromProto(grades.at()))
      << Raw("</dd><dt>Generated</dt><dd>")
      << view::When(FromProto(manifest.generated_at()))
      << Raw("</dd><dt>Collector key</dt><dd><code>")
      << manifest.collector_key_id()
      << Raw("</code></dd><dt>Policy set</dt><dd><code>")
      << manifest.policy_sha256() << Raw("</code></dd><dt>Hosts</dt><dd>")
      << manifest.agents_size()
      << Raw("</dd></dl><p class=\"muted\">Every grade here was computed "
             "from the snapshots in this bundle with the SoA and policies "
             "in it; <code>evidentia verify</code> recomputes them. Links "
             "lead to the signed snapshots behind each grade.</p>");
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ReportFiles(
    const ReportInput& in) {
  std::vector<std::pair<std::string, std::string>> files;
  const view::Site top = view::Site::Report(0);
  const view::Site below = view::Site::Report(1);

  view::OverviewModel overview;
  overview.grades = *in.grades;
  overview.compliance = in.compliance;
  overview.worse = in.worse;
  overview.worse_heading = "Worse at the end of the period than at its start";
  overview.show_events = false;
  for (const view::HostRow& host : in.hosts) {
    if (host.silent) overview.silent.push_back(host.agent);
  }
  if (in.cycle != nullptr) {
    overview.cycle_status = in.cycle->status();
    overview.cycle_next = in.cycle->next();
    for (const v1::FindingView& finding : in.cycle->findings()) {
      if (finding.state() == v1::FINDING_OPEN) {
        overview.open_findings.push_back(finding);
      }
    }
  }
  view::Html index = BundleFacts(*in.manifest, *in.grades);
  index << view::OverviewBody(top, overview);
  files.emplace_back(
      "report/index.html",
      Page(0, "Evidence report", view::Section::kOverview, in.to, index));

  files.emplace_back(
      "report/controls.html",
      Page(0, "Controls", view::Section::kControls, in.to,
           view::ControlsBody(top, *in.grades, view::ControlsFilter())));
  for (const v1::ControlGrade& control : in.controls) {
    view::ControlModel model;
    model.control = control;
    model.at = in.to;
    model.period_from = in.from;
    if (in.cycle != nullptr) {
      for (const v1::FindingView& finding : in.cycle->findings()) {
        if (finding.finding().control() == control.control_id()) {
          model.findings.push_back(finding);
        }
      }
    }
    auto timelines = in.timelines.find(control.control_id());
    if (timelines != in.timelines.end()) model.timelines = timelines->second;
    files.emplace_back(
        absl::StrCat("report/controls/", view::UrlPart(control.control_id()),
                     ".html"),
        Page(1, absl::StrCat(control.control_id(), " ", control.title()),
             view::Section::kControls, in.to, view::ControlBody(below, model)));
  }

  view::Paging paging;
  paging.total = in.hosts.size();
  files.emplace_back("report/hosts.html",
                     Page(0, "Hosts", view::Section::kHosts, in.to,
                          view::HostsBody(top, in.hosts, paging, in.to)));
  for (const auto& [agent_id, host] : in.host_pages) {
    view::HostModel model;
    model.host = host;
    model.at = in.to;
    model.show_facts = false;
    const std::string& name = host.agent().host().hostname();
    files.emplace_back(
        absl::StrCat("report/hosts/", view::UrlPart(agent_id), ".html"),
        Page(1, name.empty() ? agent_id : name, view::Section::kHosts, in.to,
             view::HostBody(below, model)));
  }

  if (in.cycle != nullptr) {
    files.emplace_back("report/cycle.html",
                       Page(0, "Audit cycle", view::Section::kCycle, in.to,
                            view::CycleBody(top, *in.cycle, nullptr)));
  }
  files.emplace_back("report/app.css", view::kAppCss);
  files.emplace_back("report/app.js", view::kAppJs);
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace evidentia::collector
