#include "collector/ingest/ingest_metrics.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace evidentia::collector {

constexpr std::array<double, 10> IngestMetrics::kBuckets;

void IngestMetrics::Record(const v1::SubmitResponse& response,
                           absl::Duration took) {
  absl::MutexLock lock(&mu_);
  switch (response.result()) {
    case v1::SubmitResponse::ACCEPTED: {
      ++accepted_;
      const double seconds = absl::ToDoubleSeconds(took);
      for (size_t i = 0; i < kBuckets.size(); ++i) {
        if (seconds <= kBuckets[i]) ++buckets_[i];
      }
      ++count_;
      sum_seconds_ += seconds;
      return;
    }
    case v1::SubmitResponse::DUPLICATE:
      ++refused_["duplicate"];
      return;
    case v1::SubmitResponse::NEED_FACTS:
      ++refused_["need_facts"];
      return;
    default: {
      // A code name: "invalid_argument", "permission_denied", ...
      const auto code = static_cast<absl::StatusCode>(response.code());
      ++refused_[absl::AsciiStrToLower(absl::StatusCodeToString(code))];
      return;
    }
  }
}

std::string IngestMetrics::Prometheus() const {
  absl::MutexLock lock(&mu_);
  std::string out =
      "# HELP evidentia_snapshots_accepted_total Snapshots stored durably and "
      "acknowledged.\n# TYPE evidentia_snapshots_accepted_total counter\n";
  absl::StrAppend(&out, "evidentia_snapshots_accepted_total ", accepted_, "\n");
  absl::StrAppend(
      &out,
      "# HELP evidentia_snapshots_refused_total Submissions not stored, by "
      "reason.\n# TYPE evidentia_snapshots_refused_total counter\n");
  for (const auto& [reason, count] : refused_) {
    absl::StrAppend(&out, "evidentia_snapshots_refused_total{reason=\"", reason,
                    "\"} ", count, "\n");
  }
  absl::StrAppend(
      &out,
      "# HELP evidentia_ack_latency_seconds From a submission's arrival to "
      "its durable acknowledgement.\n# TYPE evidentia_ack_latency_seconds "
      "histogram\n");
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    absl::StrAppend(&out, "evidentia_ack_latency_seconds_bucket{le=\"",
                    kBuckets[i], "\"} ", buckets_[i], "\n");
  }
  absl::StrAppend(&out, "evidentia_ack_latency_seconds_bucket{le=\"+Inf\"} ",
                  count_, "\nevidentia_ack_latency_seconds_sum ", sum_seconds_,
                  "\nevidentia_ack_latency_seconds_count ", count_, "\n");
  return out;
}

}  // namespace evidentia::collector
