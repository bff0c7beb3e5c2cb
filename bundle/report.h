// The human-readable part of an auditor bundle: report/summary.csv and
// report/index.html (docs/bundle.md). Both are pure functions of the
// grades, so `evidentia verify` re-grades and compares byte for byte.
#ifndef EVIDENTIA_BUNDLE_REPORT_H_
#define EVIDENTIA_BUNDLE_REPORT_H_

#include <map>
#include <string>
#include <vector>

#include "evidentia/v1/bundle.pb.h"
#include "evidentia/v1/reports.pb.h"

namespace evidentia::collector {

// report/summary.csv: a header line, then one row per SoA control.
std::string SummaryCsv(const v1::GradeControlsResponse& grades);

// report/index.html: per control the grade, justification, reasons and the
// hosts behind it, linking to their snapshots; no script, no network.
// `host_checks` is every check per agent id as of the period's end.
std::string IndexHtml(
    const v1::BundleManifest& manifest, const v1::GradeControlsResponse& grades,
    const std::map<std::string, std::vector<v1::HostCheck>>& host_checks);

}  // namespace evidentia::collector

#endif  // EVIDENTIA_BUNDLE_REPORT_H_
