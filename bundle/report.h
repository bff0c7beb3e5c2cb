// The human-readable part of an auditor bundle (docs/bundle.md):
// report/summary.csv, a pure function of the grades that `evidentia verify`
// re-grades and compares byte for byte, and the static report, the
// dashboard's pages as of the period's end.
#ifndef EVIDENTIA_BUNDLE_REPORT_H_
#define EVIDENTIA_BUNDLE_REPORT_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "evidentia/v1/bundle.pb.h"
#include "evidentia/v1/cycle.pb.h"
#include "evidentia/v1/operator.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "view/pages.h"

namespace evidentia::collector {

// report/summary.csv: a header line, then one row per SoA control.
std::string SummaryCsv(const v1::GradeControlsResponse& grades);

// Everything the static report shows (report/*.html), as of the end of
// the bundle's period; the exporter fills it from the store's evidence.
struct ReportInput {
  const v1::BundleManifest* manifest = nullptr;
  const v1::GradeControlsResponse* grades = nullptr;  // at the period's end
  // Each SoA control as GetControl answers it (with the host checks not
  // passing), in SoA order.
  std::vector<v1::ControlGrade> controls;
  // The hosts exported, and each one's page: its checks at the end.
  std::vector<view::HostRow> hosts;
  std::map<std::string, v1::GetHostResponse> host_pages;
  const v1::CycleReport* cycle = nullptr;
  // The compliant share over the period, and the controls worse at its end
  // than at its start.
  std::vector<view::DayShare> compliance;
  std::vector<view::ControlChange> worse;
  // Per control id: its hosts' timelines over the period.
  std::map<std::string, std::vector<view::HostTimeline>> timelines;
  absl::Time from;
  absl::Time to;
};

// The static report (docs/bundle.md, "The report"): report/index.html (the
// overview), controls.html, controls/ID.html, hosts.html, hosts/ID.html,
// cycle.html, app.css and app.js, as (path, bytes) in path order. Rendered
// by the dashboard's own code (view/) with relative links, so it opens from
// the bundle directory with no server and no network.
std::vector<std::pair<std::string, std::string>> ReportFiles(
    const ReportInput& input);

}  // namespace evidentia::collector

#endif  // EVIDENTIA_BUNDLE_REPORT_H_
