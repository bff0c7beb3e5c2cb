// Who may do what on the dashboard: the one function every handler asks
// (Allow). Admins may do everything; viewers read and export; auditors read
// only the moments inside the periods of the audits they are invited to,
// export only those audits, and record findings on them.
#ifndef EVIDENTIA_COLLECTOR_WEB_ACCESS_H_
#define EVIDENTIA_COLLECTOR_WEB_ACCESS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "collector/web/sessions.h"
#include "evidentia/v1/cycle.pb.h"

namespace evidentia::collector::web {

enum class Permission {
  kRead,            // a page of the fleet, its controls or the cycle
  kChangePassword,  // one's own
  kAddEvidence,     // manual evidence, documents
  kRecordFinding,   // a finding in an audit
  kExport,          // a bundle of a period or of an audit
  kManageUsers,     // the users page
};

// What a request touches.
struct Target {
  absl::Time at = absl::InfiniteFuture();  // the moment read (kRead)
  // Evidence read (kRead): it was in force from `at` (its receipt) until
  // then (the next one's receipt, or the infinite future), and is readable
  // at any moment of that span.
  std::optional<absl::Time> in_force_until;
  std::string audit;  // the audit recorded in or exported (may be empty)
};

// An audit an auditor is invited to, and its period: from the first
// day's start to the last day's end (UTC).
struct AuditWindow {
  std::string audit;
  absl::Time from;
  absl::Time to;
  bool closed = false;
};

// The windows of the audits `session` is invited to, from the cycle.
std::vector<AuditWindow> InvitedWindows(const Session& session,
                                        const v1::CycleReport& cycle);

// OK when `session` may do `what` to `target`; PERMISSION_DENIED with the
// reason otherwise.
absl::Status Allow(const Session& session, Permission what,
                   const Target& target,
                   const std::vector<AuditWindow>& invited);

// The moment an auditor's pages open at when none is asked: now when it is
// inside an invited period, else the end of the latest one; nullopt when
// they are invited to none.
std::optional<absl::Time> AuditorDefaultMoment(
    const std::vector<AuditWindow>& invited, absl::Time now);

}  // namespace evidentia::collector::web

#endif  // EVIDENTIA_COLLECTOR_WEB_ACCESS_H_
