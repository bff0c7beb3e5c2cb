// What ingest has done since the collector started, for /metrics:
// submissions accepted, and refused by reason, and how long each
// acknowledgement took (verification to durable commit). Thread-safe.
#ifndef EVIDENTIA_COLLECTOR_INGEST_INGEST_METRICS_H_
#define EVIDENTIA_COLLECTOR_INGEST_INGEST_METRICS_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "evidentia/v1/collector.pb.h"

namespace evidentia::collector {

class IngestMetrics {
 public:
  // The upper bounds of the latency histogram's buckets, in seconds.
  static constexpr std::array<double, 10> kBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5};

  void Record(const v1::SubmitResponse& response, absl::Duration took);

  // In the Prometheus text format: evidentia_snapshots_accepted_total,
  // evidentia_snapshots_refused_total{reason=...} and the
  // evidentia_ack_latency_seconds histogram (accepted snapshots).
  std::string Prometheus() const;

 private:
  mutable absl::Mutex mu_;
  uint64_t accepted_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, uint64_t> refused_ ABSL_GUARDED_BY(mu_);
  std::array<uint64_t, kBuckets.size()> buckets_ ABSL_GUARDED_BY(mu_) = {};
  uint64_t count_ ABSL_GUARDED_BY(mu_) = 0;
  double sum_seconds_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_INGEST_INGEST_METRICS_H_
