#include "collector/web/access.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace evidentia::collector::web {
namespace {

std::optional<absl::Time> Day(const std::string& text) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &t, &error)) {
    return std::nullopt;
  }
  return t;
}

absl::Status Denied(absl::string_view why) {
  return absl::PermissionDeniedError(why);
}

}  // namespace

std::vector<AuditWindow> InvitedWindows(const Session& session,
                                        const v1::CycleReport& cycle) {
  std::vector<AuditWindow> windows;
  for (const v1::AuditView& view : cycle.audits()) {
    const v1::AuditStatement& audit = view.audit();
    if (std::find(session.audits.begin(), session.audits.end(),
                  audit.audit()) == session.audits.end()) {
      continue;
    }
    std::optional<absl::Time> from = Day(audit.from());
    std::optional<absl::Time> to = Day(audit.to());
    if (!from || !to) continue;
    windows.push_back({audit.audit(), *from,
                       *to + absl::Hours(24) - absl::Nanoseconds(1),
                       view.closed() != 0});
  }
  return windows;
}

std::optional<absl::Time> AuditorDefaultMoment(
    const std::vector<AuditWindow>& invited, absl::Time now) {
  std::optional<absl::Time> latest;
  for (const AuditWindow& window : invited) {
    if (window.from <= now && now <= window.to) return now;
    const absl::Time end = std::min(window.to, now);
    if (window.from <= now && (!latest || end > *latest)) latest = end;
  }
  return latest;
}

absl::Status Allow(const Session& session, Permission what,
                   const Target& target,
                   const std::vector<AuditWindow>& invited) {
  if (session.must_change_password && what != Permission::kChangePassword) {
    return Denied("set your own password first");
  }
  switch (session.role) {
    case v1::USER_ROLE_ADMIN:
      return absl::OkStatus();
    case v1::USER_ROLE_VIEWER:
      if (what == Permission::kRead || what == Permission::kExport ||
          what == Permission::kChangePassword) {
        return absl::OkStatus();
      }
      return Denied("a viewer reads and exports, and changes nothing");
    case v1::USER_ROLE_AUDITOR:
      break;
    default:
      return Denied("this account has no role");
  }
  // An auditor.
  auto invited_to = [&](const std::string& audit) -> const AuditWindow* {
    for (const AuditWindow& window : invited) {
      if (window.audit == audit) return &window;
    }
    return nullptr;
  };
  switch (what) {
    case Permission::kChangePassword:
      return absl::OkStatus();
    case Permission::kRead:
      for (const AuditWindow& window : invited) {
        const absl::Time until = target.in_force_until.value_or(target.at);
        // The moment, or some moment of the evidence's span, is inside.
        const bool inside =
            target.in_force_until.has_value()
                ? target.at <= window.to && until > window.from
                : window.from <= target.at && target.at <= window.to;
        if (inside) return absl::OkStatus();
      }
      return Denied(
          invited.empty()
              ? "you are invited to no audit yet"
              : absl::StrCat(
                    "an auditor sees only the periods of the audits "
                    "they are invited to: ",
                    absl::StrJoin(invited, ", ",
                                  [](std::string* out, const AuditWindow& w) {
                                    out->append(w.audit);
                                  })));
    case Permission::kRecordFinding:
    case Permission::kExport: {
      const AuditWindow* window = invited_to(target.audit);
      if (window == nullptr) {
        return Denied(
            absl::StrCat("you are not invited to audit ",
                         target.audit.empty() ? "(none named)" : target.audit));
      }
      if (what == Permission::kRecordFinding && window->closed) {
        return Denied(absl::StrCat("audit ", target.audit, " is closed"));
      }
      return absl::OkStatus();
    }
    case Permission::kAddEvidence:
    case Permission::kManageUsers:
      return Denied("an auditor reads, and records findings on their audits");
  }
  return Denied("not allowed");
}

}  // namespace evidentia::collector::web
