#include "bundle/report.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/proto_time.h"
#include "grading/grading.h"

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

std::string Html(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string When(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%SZ", FromProto(t),
                          absl::UTCTimeZone());
}

// CSS class and the auditor's words for a grade.
std::string GradeClass(v1::Grade grade) {
  switch (grade) {
    case v1::GRADE_COMPLIANT:
      return "ok";
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

constexpr absl::string_view kStyle = R"(<style>
body{font-family:sans-serif;margin:2em;max-width:72em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em}
td,th{border:1px solid #bbb;padding:.2em .5em;text-align:left;vertical-align:top}
th{background:#eee}
.ok{background:#d9f2d9}.ofi{background:#eef7c8}.minor{background:#fde6bf}
.major{background:#f7c6c6}.na{background:#eee}
.pass{color:#1a6b1a}.warn{color:#7a6a00}.fail,.stale,.missing{color:#a11}
section{border-top:1px solid #ccc;margin-top:1.5em}
code{font-size:90%}
</style>
)";

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

std::string IndexHtml(
    const v1::BundleManifest& manifest, const v1::GradeControlsResponse& grades,
    const std::map<std::string, std::vector<v1::HostCheck>>& host_checks) {
  std::string out;
  absl::StrAppend(&out,
                  "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                  "<meta charset=\"utf-8\">\n<title>Evidence report: ",
                  Html(manifest.organisation()), "</title>\n", kStyle,
                  "</head>\n<body>\n");
  absl::StrAppend(
      &out, "<h1>ISO/IEC 27001:2022 Annex A evidence report</h1>\n",
      "<table>\n<tr><th>Organisation</th><td>", Html(manifest.organisation()),
      "</td></tr>\n", "<tr><th>Period (collector receive time)</th><td>",
      When(manifest.from()), " to ", When(manifest.to()),
      "</td></tr>\n<tr><th>Scope</th><td>",
      manifest.scope().empty() ? "all hosts" : Html(manifest.scope()),
      "</td></tr>\n<tr><th>Graded as of</th><td>", When(grades.at()),
      "</td></tr>\n<tr><th>Generated</th><td>", When(manifest.generated_at()),
      "</td></tr>\n<tr><th>Collector key</th><td><code>",
      Html(manifest.collector_key_id()),
      "</code></td></tr>\n<tr><th>Policy set</th><td><code>",
      Html(manifest.policy_sha256()), "</code></td></tr>\n",
      "<tr><th>Hosts</th><td>", manifest.agents_size(),
      "</td></tr>\n</table>\n");
  out +=
      "<p>Every grade below was computed from the snapshots in this bundle "
      "with the SoA and policies in it; <code>evidentia verify</code> "
      "recomputes them. Links lead to the signed snapshots and documents "
      "behind each grade.</p>\n";

  // Summary.
  out +=
      "<h2>Summary</h2>\n<table>\n<tr><th>Control</th><th>Title</th>"
      "<th>Grade</th><th>Hosts passing / failing / stale</th></tr>\n";
  for (const v1::ControlGrade& c : grades.controls()) {
    absl::StrAppend(&out, "<tr><td><a href=\"#", Html(c.control_id()), "\">",
                    Html(c.control_id()), "</a></td><td>", Html(c.title()),
                    "</td><td class=\"", GradeClass(c.grade()), "\">",
                    Html(GradeName(c.grade())), "</td><td>");
    if (c.checks_size() > 0) {
      absl::StrAppend(&out, c.hosts_passing(), " / ", c.hosts_failing(), " / ",
                      c.hosts_stale(), " of ", c.hosts_in_scope());
    } else {
      out += "-";
    }
    out += "</td></tr>\n";
  }
  out += "</table>\n";

  // Hosts by agent id, for names and links.
  std::map<std::string, const v1::BundleAgent*> agents;
  for (const v1::BundleAgent& a : manifest.agents()) agents[a.agent_id()] = &a;

  out += "<h2>Controls</h2>\n";
  for (const v1::ControlGrade& c : grades.controls()) {
    absl::StrAppend(&out, "<section id=\"", Html(c.control_id()), "\">\n<h3>",
                    Html(c.control_id()), " ", Html(c.title()), "</h3>\n",
                    "<p>Grade: <span class=\"", GradeClass(c.grade()), "\">",
                    Html(GradeName(c.grade())), "</span> &middot; theme ",
                    Html(c.theme()), " &middot; owner ",
                    c.owner().empty() ? "-" : Html(c.owner()), "</p>\n",
                    "<p>Justification: ", Html(c.justification()), "</p>\n");
    if (c.reasons_size() > 0) {
      out += "<ul>\n";
      for (const std::string& r : c.reasons()) {
        absl::StrAppend(&out, "<li>", Html(r), "</li>\n");
      }
      out += "</ul>\n";
    }
    if (c.manual().present()) {
      absl::StrAppend(&out, "<p>Manual evidence: <a href=\"../objects/",
                      Html(c.manual().sha256()), "\">",
                      Html(c.manual().file_name()), "</a>, valid until ",
                      When(c.manual().valid_until()));
      if (!c.manual().note().empty()) {
        absl::StrAppend(&out, " (", Html(c.manual().note()), ")");
      }
      out += "</p>\n";
    }
    if (c.checks_size() > 0) {
      const std::set<std::string> checks(c.checks().begin(), c.checks().end());
      out +=
          "<table>\n<tr><th>Host</th><th>Check</th><th>State</th>"
          "<th>Reasons</th><th>Evidence</th></tr>\n";
      for (const auto& [agent_id, host] : host_checks) {
        auto agent = agents.find(agent_id);
        const std::string name =
            agent != agents.end() && !agent->second->hostname().empty()
                ? agent->second->hostname()
                : agent_id;
        for (const v1::HostCheck& hc : host) {
          if (checks.count(hc.check_id()) == 0) continue;
          const std::string state = CheckStateName(hc.state());
          absl::StrAppend(&out, "<tr><td><a href=\"#host-", Html(agent_id),
                          "\">", Html(name), "</a></td><td>",
                          Html(hc.check_id()), "</td><td class=\"", state,
                          "\">", state, "</td><td>",
                          Html(absl::StrJoin(hc.reasons(), "; ")), "</td><td>");
          if (hc.seq() > 0) {
            absl::StrAppend(&out, "<a href=\"../snapshots/", Html(agent_id),
                            "/", hc.seq(), ".payload\">snapshot ", hc.seq(),
                            "</a> ", When(hc.evidence_at()));
          } else {
            out += "none";
          }
          out += "</td></tr>\n";
        }
      }
      out += "</table>\n";
    }
    out += "</section>\n";
  }

  out +=
      "<h2>Hosts</h2>\n<table>\n<tr><th>Host</th><th>Agent</th>"
      "<th>Labels</th><th>Enrolled</th><th>Snapshots in bundle</th></tr>\n";
  for (const v1::BundleAgent& a : manifest.agents()) {
    std::vector<std::string> labels;
    for (const auto& [k, v] : a.labels())
      labels.push_back(absl::StrCat(k, "=", v));
    std::sort(labels.begin(), labels.end());
    absl::StrAppend(&out, "<tr id=\"host-", Html(a.agent_id()), "\"><td>",
                    Html(a.hostname()), "</td><td><code>", Html(a.agent_id()),
                    "</code></td><td>", Html(absl::StrJoin(labels, ", ")),
                    "</td><td>", When(a.enrolled_at()), "</td><td>");
    if (a.snapshots_size() == 0) {
      out += "none";
    } else {
      const v1::BundleSnapshot& first = a.snapshots(0);
      const v1::BundleSnapshot& last = a.snapshots(a.snapshots_size() - 1);
      absl::StrAppend(&out, a.snapshots_size(), ": <a href=\"../snapshots/",
                      Html(a.agent_id()), "/", first.seq(), ".payload\">",
                      first.seq(), "</a> to <a href=\"../snapshots/",
                      Html(a.agent_id()), "/", last.seq(), ".payload\">",
                      last.seq(), "</a>");
    }
    out += "</td></tr>\n";
  }
  out += "</table>\n</body>\n</html>\n";
  return out;
}

}  // namespace evidentia::collector
