// Verifiable sampling: the auditor picks a seed after the audit's period
// has ended; hosts and moments follow from the seed, the audit, the
// control and the sorted population alone, so the auditee cannot choose
// the sample and anyone holding the evidence recomputes it. The procedure
// is written down in docs/bundle.md, "Samples".
#ifndef EVIDENTIA_ISMS_SAMPLING_H_
#define EVIDENTIA_ISMS_SAMPLING_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "evidentia/v1/cycle.pb.h"
#include "grading/evidence.h"
#include "grading/policy.h"

namespace evidentia::isms {

inline constexpr uint32_t kMaxSampleHosts = 100;
inline constexpr uint32_t kMaxSampleMoments = 100;

struct SampleRequest {
  std::string audit;
  absl::CivilDay from, to;  // the audit's period, whole days, UTC
  std::string seed;
  std::string control;
  uint32_t hosts = 0;
  uint32_t moments = 0;
};

// The sample `request` gives over `evidence`: a SampleStatement with
// everything but signed_at. The population is every agent enrolled by the
// end of the period, sorted by id (a host revoked since keeps the evidence
// it sent before, and stays sampleable for the period it was trusted in).
// INVALID_ARGUMENT for a control without host evidence, or counts out of
// 1..100.
absl::StatusOr<v1::SampleStatement> DrawSample(
    const policy::PolicySet& policy, const collector::Evidence& evidence,
    const SampleRequest& request);

}  // namespace evidentia::isms

#endif  // EVIDENTIA_ISMS_SAMPLING_H_
