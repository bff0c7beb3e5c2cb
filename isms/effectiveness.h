// Corrective actions proven effective by the evidence itself: every host
// the action names has passed the control's checks in consecutive signed
// snapshots received after the action was opened, as many and over as
// long a period as the policy asks (effective_after_passes,
// effective_after_period). The proof is the list of those snapshots; the
// collector finds and checks it, the bundle verifier checks it again.
#ifndef EVIDENTIA_ISMS_EFFECTIVENESS_H_
#define EVIDENTIA_ISMS_EFFECTIVENESS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "evidentia/v1/cycle.pb.h"
#include "grading/evidence.h"
#include "grading/policy.h"

namespace evidentia::isms {

// The checks the SoA names as `control`'s evidence that hosts report (its
// check ids, "manual" aside), in policy order. Empty when the control has
// no host evidence, or is not in the catalogue.
std::vector<const policy::Check*> HostChecks(const policy::PolicySet& policy,
                                             absl::string_view control);

// What a proof is about: the action's control and hosts, and the moments
// that bound its snapshots (received after `opened_at`, at or before
// `until`).
struct ProofScope {
  std::string control;
  std::vector<std::string> hosts;
  absl::Time opened_at;
  absl::Time until;
};

// The proof, host by host in `scope.hosts` order: the shortest run of the
// host's latest snapshots that all pass and satisfy the policy.
// FAILED_PRECONDITION naming the first host that is not there yet and why
// ("host X failed a.8.24 in snapshot 12: ..."), so the caller can say the
// action is not effective yet.
absl::StatusOr<std::vector<v1::SnapshotRef>> FindProof(
    const policy::PolicySet& policy, const collector::Evidence& evidence,
    const ProofScope& scope);

// What can be checked of a proof without the evidence: for each of
// `hosts`, in order, a non-empty run of consecutive seqs of that host, and
// no other host. INVALID_ARGUMENT saying what does not hold.
absl::Status CheckProofShape(const std::vector<std::string>& hosts,
                             const std::vector<v1::SnapshotRef>& proof);

// Whether `proof` proves the action effective: for each host of the scope,
// in order, a run of consecutive seqs of that host, each received within
// the scope's bounds and passing every check of the control it was
// observed for, long enough in count and time, and ending with the host's
// latest snapshot by `scope.until` (a host failing again is not proven by
// an older run). INVALID_ARGUMENT saying what does not hold.
absl::Status CheckProof(const policy::PolicySet& policy,
                        const collector::Evidence& evidence,
                        const ProofScope& scope,
                        const std::vector<v1::SnapshotRef>& proof);

}  // namespace evidentia::isms

#endif  // EVIDENTIA_ISMS_EFFECTIVENESS_H_
