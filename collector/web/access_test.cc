// Allow, for what an auditor reads: moments inside their audits' periods,
// and evidence that was in force during one.
#include "collector/web/access.h"

#include "gtest/gtest.h"

namespace evidentia::collector::web {
namespace {

const absl::Time kFrom = absl::FromUnixSeconds(1'800'000'000);
const absl::Time kTo = kFrom + absl::Hours(24 * 3);

Session Auditor() {
  Session session;
  session.user = "audrey";
  session.role = v1::USER_ROLE_AUDITOR;
  session.audits = {"stage2"};
  return session;
}

const std::vector<AuditWindow> kInvited = {{"stage2", kFrom, kTo, false}};

absl::Status Evidence(const Session& session, absl::Time received,
                      absl::Time next) {
  Target target;
  target.at = received;
  target.in_force_until = next;
  return Allow(session, Permission::kRead, target, kInvited);
}

TEST(AccessTest, AnAuditorReadsEvidenceInForceDuringTheirAudit) {
  const Session auditor = Auditor();
  const absl::Duration hour = absl::Hours(1);
  // Received inside the period.
  EXPECT_TRUE(Evidence(auditor, kFrom + hour, kFrom + 2 * hour).ok());
  EXPECT_TRUE(Evidence(auditor, kTo, absl::InfiniteFuture()).ok());
  // Received before, still in force when the period began.
  EXPECT_TRUE(Evidence(auditor, kFrom - hour, kFrom + hour).ok());
  EXPECT_TRUE(
      Evidence(auditor, kFrom - 100 * hour, absl::InfiniteFuture()).ok());
  // Replaced before the period began, or received after it ended.
  EXPECT_TRUE(absl::IsPermissionDenied(
      Evidence(auditor, kFrom - 2 * hour, kFrom - hour)));
  EXPECT_TRUE(
      absl::IsPermissionDenied(Evidence(auditor, kFrom - 2 * hour, kFrom)));
  EXPECT_TRUE(absl::IsPermissionDenied(
      Evidence(auditor, kTo + absl::Nanoseconds(1), absl::InfiniteFuture())));
  // Not invited to any audit: nothing.
  Session outsider = auditor;
  outsider.audits = {};
  Target target;
  target.at = kFrom + hour;
  target.in_force_until = absl::InfiniteFuture();
  EXPECT_TRUE(
      absl::IsPermissionDenied(Allow(outsider, Permission::kRead, target, {})));
}

TEST(AccessTest, AViewerReadsEvidenceOfAnyTime) {
  Session viewer;
  viewer.role = v1::USER_ROLE_VIEWER;
  EXPECT_TRUE(
      Evidence(viewer, kFrom - absl::Hours(1000), kFrom - absl::Hours(999))
          .ok());
}

TEST(AccessTest, AnAuditorsMomentsAreInsideTheirPeriods) {
  const Session auditor = Auditor();
  Target target;
  target.at = kFrom;
  EXPECT_TRUE(Allow(auditor, Permission::kRead, target, kInvited).ok());
  target.at = kFrom - absl::Nanoseconds(1);
  EXPECT_TRUE(absl::IsPermissionDenied(
      Allow(auditor, Permission::kRead, target, kInvited)));
  target.at = kTo + absl::Nanoseconds(1);
  EXPECT_TRUE(absl::IsPermissionDenied(
      Allow(auditor, Permission::kRead, target, kInvited)));
}

}  // namespace
}  // namespace evidentia::collector::web
