// Export of an auditor bundle (docs/bundle.md): the collector gathers every
// file for a period and scope from its store and log, grades as of the
// period's end, and hands each file to a sink; SHA256SUMS and its signature
// come last. The sink (bundle/sink.h) is a directory (tests,
// benchmarks) or the Export RPC stream to the operator CLI, which writes
// the directory and the .tar.gz.
#ifndef EVIDENTIA_COLLECTOR_EXPORT_BUNDLE_EXPORT_H_
#define EVIDENTIA_COLLECTOR_EXPORT_BUNDLE_EXPORT_H_

#include <cstdint>
#include <filesystem>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "bundle/sink.h"
#include "collector/log/transparency_log.h"
#include "collector/store/store.h"
#include "common/ed25519.h"
#include "common/proto_time.h"
#include "evidentia/v1/operator.pb.h"
#include "grading/grading.h"
#include "grading/policy.h"

namespace evidentia::collector {

// What the collector exports with; all must outlive the call.
struct ExportSources {
  const Store* store = nullptr;
  TransparencyLog* log = nullptr;
  Grader* grader = nullptr;  // with its policy set
  const PrivateKey* collector_key = nullptr;
  const PublicKey* operator_key = nullptr;
  Clock clock = SystemClock();
};

struct ExportPeriod {
  absl::Time from;
  absl::Time to;      // later than now is taken as now
  std::string scope;  // "" or "KEY=VALUE"
  std::string audit;  // the audit exported for, or ""
};

// Exports the bundle of `period` into `sink`; says what it wrote.
// INVALID_ARGUMENT for an empty or inverted period or a malformed scope;
// FAILED_PRECONDITION without a policy set; errors of the store and the sink as
// they come.
absl::StatusOr<v1::ExportSummary> ExportBundle(const ExportSources& sources,
                                               const ExportPeriod& period,
                                               BundleSink& sink);

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_EXPORT_BUNDLE_EXPORT_H_
