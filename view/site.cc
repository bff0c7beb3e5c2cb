#include "view/site.h"

#include "absl/strings/str_cat.h"

namespace evidentia::view {

Site Site::Dashboard(std::string at_day) {
  return Site(false, std::move(at_day), 0);
}

Site Site::Report(int depth) { return Site(true, "", depth); }

std::string Site::Link(absl::string_view dashboard_path,
                       absl::string_view report_file) const {
  if (report_) {
    std::string up;
    for (int i = 0; i < depth_; ++i) up += "../";
    return absl::StrCat(up, report_file);
  }
  if (at_day_.empty()) return std::string(dashboard_path);
  return absl::StrCat(dashboard_path, "?at=", UrlPart(at_day_));
}

std::string Site::Overview() const { return Link("/", "index.html"); }
std::string Site::Controls() const {
  return Link("/controls", "controls.html");
}
std::string Site::Control(absl::string_view control_id) const {
  const std::string id = UrlPart(control_id);
  return Link(absl::StrCat("/controls/", id),
              absl::StrCat("controls/", id, ".html"));
}
std::string Site::ControlHistory(absl::string_view control_id) const {
  const std::string id = UrlPart(control_id);
  return Link(absl::StrCat("/controls/", id, "/history"),
              absl::StrCat("controls/", id, ".html#history"));
}
std::string Site::Hosts() const { return Link("/hosts", "hosts.html"); }
std::string Site::Host(absl::string_view agent_id) const {
  const std::string id = UrlPart(agent_id);
  return Link(absl::StrCat("/hosts/", id), absl::StrCat("hosts/", id, ".html"));
}
std::string Site::Snapshot(absl::string_view agent_id, uint64_t seq) const {
  const std::string id = UrlPart(agent_id);
  if (report_) {
    // The bundle's own signed snapshot (docs/bundle.md), beside report/.
    std::string up = "../";
    for (int i = 0; i < depth_; ++i) up += "../";
    return absl::StrCat(up, "snapshots/", id, "/", seq, ".payload");
  }
  return Link(absl::StrCat("/hosts/", id, "/snapshots/", seq), "");
}
std::string Site::Cycle() const { return Link("/cycle", "cycle.html"); }
std::string Site::Asset(absl::string_view name) const {
  if (report_) return Link("", name);
  return absl::StrCat("/static/", name);
}

std::string When(absl::Time t) {
  if (t == absl::UnixEpoch()) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%MZ", t, absl::UTCTimeZone());
}

std::string Age(absl::Time t, absl::Time now) {
  if (t == absl::UnixEpoch()) return "-";
  const absl::Duration d = now - t;
  if (d < absl::Minutes(1)) return "under 1 min";
  if (d < absl::Hours(1)) {
    return absl::StrCat(absl::ToInt64Minutes(d), " min");
  }
  if (d < absl::Hours(48)) return absl::StrCat(absl::ToInt64Hours(d), " h");
  return absl::StrCat(absl::ToInt64Hours(d) / 24, " d");
}

namespace {

Html NavLink(const Frame& frame, Section section, const std::string& href,
             absl::string_view label) {
  Html out;
  out << Raw("<a") << Attr("href", href);
  if (frame.section == section) out << Raw(" aria-current=\"page\"");
  out << Raw(">") << label << Raw("</a>");
  return out;
}

}  // namespace

std::string RenderPage(const Site& site, const Frame& frame, const Html& body) {
  Html page;
  page << Raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
              "charset=\"utf-8\">\n<meta name=\"viewport\" "
              "content=\"width=device-width, initial-scale=1\">\n")
       << Raw("<title>") << frame.title << Raw(" · Evidentia</title>\n");
  if (site.is_report()) {
    // No server sends headers to a file: the policy rides in the page.
    page << Raw(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
        "'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'\">\n");
  }
  page << Raw("<link rel=\"stylesheet\"") << Attr("href", site.Asset("app.css"))
       << Raw(">\n<script") << Attr("src", site.Asset("app.js"))
       << Raw(" defer></script>\n</head><body>\n<header><nav>");
  page << Raw("<span class=\"brand\">Evidentia</span>");
  if (!frame.user.empty() || site.is_report()) {
    page << NavLink(frame, Section::kOverview, site.Overview(), "Overview")
         << NavLink(frame, Section::kControls, site.Controls(), "Controls")
         << NavLink(frame, Section::kHosts, site.Hosts(), "Hosts")
         << NavLink(frame, Section::kCycle, site.Cycle(), "Audit cycle");
  }
  if (frame.can_admin) {
    page << NavLink(frame, Section::kAdmin, "/admin/users", "Users");
  }
  if (!frame.user.empty()) {
    page << Raw("<span class=\"who\">") << frame.user << Raw(" (") << frame.role
         << Raw(")</span>")
         << Raw("<form method=\"post\" action=\"/logout\" class=\"inline\">"
                "<input type=\"hidden\" name=\"csrf\"")
         << Attr("value", frame.csrf)
         << Raw("><button type=\"submit\">Sign out</button></form>");
  }
  page << Raw("</nav>\n");
  if (!frame.path.empty()) {
    const std::string day =
        frame.at_is_now
            ? ""
            : absl::FormatTime("%Y-%m-%d", frame.at, absl::UTCTimeZone());
    page << Raw("<form id=\"as-of\" method=\"get\"")
         << Attr("action", frame.path)
         << Raw("><label>As of <input type=\"date\" name=\"at\"")
         << Attr("value", day)
         << Raw("></label> <button "
                "type=\"submit\">Show</button> ");
    if (frame.at_is_now) {
      page << Raw("<span class=\"asof\">now: ") << When(frame.at)
           << Raw("</span>");
    } else {
      page << Raw("<span class=\"asof past\">as it stood at ") << When(frame.at)
           << Raw("</span> <a") << Attr("href", frame.path)
           << Raw(">back to now</a>");
    }
    page << Raw("</form>\n");
  } else if (site.is_report()) {
    page << Raw("<p class=\"asof past\">As it stood at ") << When(frame.at)
         << Raw(", the end of the bundle's period</p>\n");
  }
  page << Raw("</header>\n<main>\n");
  if (!frame.notice.empty()) {
    page << Raw("<p class=\"notice\" role=\"status\">") << frame.notice
         << Raw("</p>\n");
  }
  page << Raw("<h1>") << frame.title << Raw("</h1>\n") << body
       << Raw("</main>\n</body></html>\n");
  return std::move(page).Take();
}

}  // namespace evidentia::view
