// Stage 1 readiness: clause by clause, the documented information the
// clause catalogue requires (present, missing, unapproved, overdue), the
// organisation's own documents, the SoA's completeness, risk-to-control
// coverage, and one verdict line with every reason behind it.
#ifndef EVIDENTIA_ISMS_READINESS_H_
#define EVIDENTIA_ISMS_READINESS_H_

#include "absl/time/time.h"
#include "evidentia/v1/isms.pb.h"
#include "grading/policy.h"
#include "isms/register.h"

namespace evidentia::isms {

// Readiness as of `at`: a document whose review date is before the day of
// `at` is overdue. The SoA document (6.1.3 soa) is present only when its
// latest version is the SoA file `policy` was loaded from, byte for byte.
// A policy set without a clause catalogue is not ready, and says so; so is
// one without a risk register, one with an applicable control justified by
// no risk and no requirement, and one with a risk whose residual risk its
// owner has not accepted.
v1::ReadinessReport AssessReadiness(const policy::PolicySet& policy,
                                    const Register& isms, absl::Time at);

}  // namespace evidentia::isms

#endif  // EVIDENTIA_ISMS_READINESS_H_
