// Where a page's links lead and what frames it: the dashboard's URLs (with
// the as-of date carried along), or the files of a bundle's static report
// (relative links that open from the bundle directory with no server).
#ifndef EVIDENTIA_VIEW_SITE_H_
#define EVIDENTIA_VIEW_SITE_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "view/html.h"

namespace evidentia::view {

class Site {
 public:
  // The dashboard. `at_day` ("2026-11-30") is carried on every link; empty
  // for now.
  static Site Dashboard(std::string at_day);
  // The static report, for a page `depth` folders below report/.
  static Site Report(int depth);

  bool is_report() const { return report_; }
  const std::string& at_day() const { return at_day_; }

  std::string Overview() const;
  std::string Controls() const;
  std::string Control(absl::string_view control_id) const;
  std::string ControlHistory(absl::string_view control_id) const;
  std::string Hosts() const;
  std::string Host(absl::string_view agent_id) const;
  // The signed snapshot in the bundle; "" on the dashboard (no link).
  std::string Snapshot(absl::string_view agent_id, uint64_t seq) const;
  std::string Cycle() const;
  std::string Asset(absl::string_view name) const;  // app.css, app.js

 private:
  Site(bool report, std::string at_day, int depth)
      : report_(report), at_day_(std::move(at_day)), depth_(depth) {}
  std::string Link(absl::string_view dashboard_path,
                   absl::string_view report_file) const;

  bool report_;
  std::string at_day_;
  int depth_;
};

enum class Section { kOverview, kControls, kHosts, kCycle, kAdmin, kNone };

// What frames every page.
struct Frame {
  std::string title;
  Section section = Section::kNone;
  // The signed-in user; empty on the sign-in page and in the report.
  std::string user;
  std::string role;  // "admin", "viewer", "auditor"
  bool can_admin = false;
  std::string csrf;  // the session's token, for the sign-out form
  // The moment shown, and whether it is now.
  absl::Time at = absl::UnixEpoch();
  bool at_is_now = true;
  // The dashboard path the as-of form reloads (empty: no as-of form).
  std::string path;
  std::string notice;  // one line shown above the page, e.g. "saved"
};

// A whole page: the frame around `body`.
std::string RenderPage(const Site& site, const Frame& frame, const Html& body);

// "2026-11-30 14:05Z"; "-" for the epoch (unset).
std::string When(absl::Time t);
// "3 h", "2 d", "45 min": how long before `now` `t` was.
std::string Age(absl::Time t, absl::Time now);

}  // namespace evidentia::view

#endif  // EVIDENTIA_VIEW_SITE_H_
