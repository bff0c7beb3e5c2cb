#include "view/pages.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "view/site.h"

namespace evidentia::view {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kScript[] = "<script>alert(1)</script>";
constexpr char kEscaped[] = "&lt;script&gt;alert(1)&lt;/script&gt;";

v1::ControlGrade FailingControl() {
  v1::ControlGrade control;
  control.set_control_id("a.8.24");
  control.set_title("Use of cryptography");
  control.set_theme("technological");
  control.set_applicable(true);
  control.set_grade(v1::GRADE_MINOR_NONCONFORMITY);
  control.add_reasons(kScript);
  v1::HostCheck* check = control.add_findings();
  check->set_agent_id("ab12");
  check->set_hostname(kScript);
  check->set_check_id("disk_encryption.root");
  check->set_state(v1::CHECK_STATE_FAIL);
  check->add_reasons(std::string("root is not encrypted ") + kScript);
  check->set_seq(7);
  *check->mutable_since() = ToProto(absl::FromUnixSeconds(1700000000));
  return control;
}

TEST(PagesTest, ControlPageShowsAgentValuesAsText) {
  ControlModel model;
  model.control = FailingControl();
  model.at = absl::FromUnixSeconds(1700100000);
  const std::string page = ControlBody(Site::Dashboard(""), model).str();
  EXPECT_THAT(page, Not(HasSubstr(kScript)));
  EXPECT_THAT(page, HasSubstr(kEscaped));
  EXPECT_THAT(page, HasSubstr("id=\"failing-hosts\""));
  EXPECT_THAT(page, HasSubstr("<td class=\"since\">2023-11-14 22:13Z</td>"));
  EXPECT_THAT(page, HasSubstr("href=\"/hosts/ab12\""));
  // Each to the snapshot it was graded on.
  EXPECT_THAT(page,
              HasSubstr("<td><a href=\"/hosts/ab12/snapshots/7\">snapshot 7"
                        "</a>, "));
}

TEST(PagesTest, AControlsHostChecksArePagedOnTheDashboardOnly) {
  ControlModel model;
  model.control = FailingControl();
  for (int i = 0; i < 250; ++i) {
    v1::HostCheck* check = model.control.add_findings();
    check->set_agent_id(absl::StrCat("host", i));
    check->set_check_id("disk_encryption.root");
    check->set_state(v1::CHECK_STATE_FAIL);
  }
  model.at = absl::FromUnixSeconds(1700100000);
  model.findings_paging = {3, 3, 251};
  const std::string page = ControlBody(Site::Dashboard(""), model).str();
  EXPECT_THAT(page, HasSubstr("data-agent=\"host249\""));
  EXPECT_THAT(page, Not(HasSubstr("data-agent=\"host198\"")));
  EXPECT_THAT(page, HasSubstr("201 to 251 of 251 host checks."));
  EXPECT_THAT(page,
              HasSubstr("<a href=\"/controls/a.8.24?page=2\">previous</a>"));
  EXPECT_THAT(page, Not(HasSubstr(">next</a>")));
  // The static report has no pages: every row.
  const std::string report = ControlBody(Site::Report(1), model).str();
  EXPECT_THAT(report, HasSubstr("data-agent=\"host0\""));
  EXPECT_THAT(report, HasSubstr("data-agent=\"host249\""));
}

TEST(PagesTest, ASnapshotShowsItsValuesAsTextAndASignatureThatFails) {
  SnapshotModel model;
  model.agent_id = "ab12";
  model.hostname = kScript;
  model.seq = 2;
  model.payload.set_agent_version(kScript);
  v1::Observation* o = model.payload.add_observations();
  o->set_check_id("linux.disk_encryption");
  o->set_probe("linux.disk_encryption");
  o->set_error(kScript);
  model.stored.mutable_envelope()->set_payload("payload");
  model.signature_problem = std::string("signed by key ") + kScript;
  std::string page = SnapshotBody(Site::Dashboard(""), model).str();
  EXPECT_THAT(page, Not(HasSubstr(kScript)));
  EXPECT_THAT(page, HasSubstr(kEscaped));
  EXPECT_THAT(page, HasSubstr(">does not verify</span>"));
  EXPECT_THAT(page, Not(HasSubstr(">verifies</span>")));
  EXPECT_THAT(page, HasSubstr("not yet in a signed checkpoint"));
  EXPECT_THAT(page, HasSubstr("<a href=\"/hosts/ab12/snapshots/1\">previous "
                              "snapshot</a>"));
  EXPECT_THAT(page, Not(HasSubstr("next snapshot")));
  model.signature_problem.clear();
  model.log_index = 41;
  model.next = 3;
  page = SnapshotBody(Site::Dashboard("2026-11-30"), model).str();
  EXPECT_THAT(page, HasSubstr(">verifies</span>"));
  EXPECT_THAT(page, HasSubstr("leaf 41"));
  EXPECT_THAT(page, HasSubstr("/hosts/ab12/snapshots/3?at=2026-11-30"));
}

TEST(PagesTest, FactsAndHostnamesOnAHostPageAreText) {
  HostModel model;
  model.at = absl::FromUnixSeconds(1700100000);
  model.host.mutable_agent()->set_agent_id("ab12");
  model.host.mutable_agent()->mutable_host()->set_hostname(kScript);
  model.host.mutable_agent()->mutable_host()->set_os_pretty_name(kScript);
  (*model.host.mutable_agent()->mutable_labels())["team"] = kScript;
  v1::HostCheck* check = model.host.add_checks();
  check->set_check_id("disk_encryption.root");
  check->set_state(v1::CHECK_STATE_PASS);
  check->add_reasons(kScript);
  v1::EvidenceItem* item = model.evidence.add_items();
  item->set_check_id("disk_encryption.root");
  item->set_probe("disk_encryption");
  item->set_seq(3);
  item->set_error(kScript);
  const std::string page = HostBody(Site::Dashboard(""), model).str();
  EXPECT_THAT(page, Not(HasSubstr(kScript)));
  EXPECT_THAT(page, HasSubstr("team=&lt;script&gt;"));
  EXPECT_THAT(page, HasSubstr("id=\"checks\""));
}

TEST(PagesTest, WorseMeansAGradedControlGradedWorse) {
  EXPECT_TRUE(GotWorse(v1::GRADE_COMPLIANT, v1::GRADE_MINOR_NONCONFORMITY));
  EXPECT_TRUE(GotWorse(v1::GRADE_OPPORTUNITY_FOR_IMPROVEMENT,
                       v1::GRADE_MAJOR_NONCONFORMITY));
  EXPECT_FALSE(GotWorse(v1::GRADE_MINOR_NONCONFORMITY, v1::GRADE_COMPLIANT));
  EXPECT_FALSE(
      GotWorse(v1::GRADE_MINOR_NONCONFORMITY, v1::GRADE_MINOR_NONCONFORMITY));
  // Not graded before or now: not worse.
  EXPECT_FALSE(
      GotWorse(v1::GRADE_NOT_APPLICABLE, v1::GRADE_MAJOR_NONCONFORMITY));
  EXPECT_FALSE(GotWorse(v1::GRADE_UNSPECIFIED, v1::GRADE_MAJOR_NONCONFORMITY));
  EXPECT_FALSE(GotWorse(v1::GRADE_COMPLIANT, v1::GRADE_NOT_APPLICABLE));
  EXPECT_FALSE(
      GotWorse(v1::GRADE_MAJOR_NONCONFORMITY, static_cast<v1::Grade>(9)));
}

TEST(PagesTest, LinksCarryTheAsOfDateOnTheDashboard) {
  const Site site = Site::Dashboard("2026-11-30");
  EXPECT_EQ(site.Control("a.8.24"), "/controls/a.8.24?at=2026-11-30");
  EXPECT_EQ(site.Host("../etc"), "/hosts/..%2Fetc?at=2026-11-30");
  EXPECT_EQ(Site::Dashboard("").Controls(), "/controls");
}

TEST(PagesTest, ReportLinksAreRelativeFiles) {
  EXPECT_EQ(Site::Report(0).Control("a.8.24"), "controls/a.8.24.html");
  EXPECT_EQ(Site::Report(1).Host("ab12"), "../hosts/ab12.html");
  EXPECT_EQ(Site::Report(1).Snapshot("ab12", 4),
            "../../snapshots/ab12/4.payload");
  EXPECT_EQ(Site::Report(1).Asset("app.css"), "../app.css");
}

TEST(PagesTest, ControlsTableFiltersByGradeAndTheme) {
  v1::GradeControlsResponse grades;
  *grades.add_controls() = FailingControl();
  v1::ControlGrade* ok = grades.add_controls();
  ok->set_control_id("a.5.1");
  ok->set_theme("organizational");
  ok->set_applicable(true);
  ok->set_grade(v1::GRADE_COMPLIANT);
  ControlsFilter filter;
  filter.grade = "minor";
  std::string page = ControlsBody(Site::Dashboard(""), grades, filter).str();
  EXPECT_THAT(page, HasSubstr("data-control=\"a.8.24\""));
  EXPECT_THAT(page, Not(HasSubstr("data-control=\"a.5.1\"")));
  filter = {};
  filter.theme = "organizational";
  page = ControlsBody(Site::Dashboard(""), grades, filter).str();
  EXPECT_THAT(page, HasSubstr("data-control=\"a.5.1\""));
  EXPECT_THAT(page, Not(HasSubstr("data-control=\"a.8.24\"")));
}

TEST(PagesTest, OverviewCountsApplicableControlsByGrade) {
  OverviewModel model;
  *model.grades.add_controls() = FailingControl();
  v1::ControlGrade* na = model.grades.add_controls();
  na->set_control_id("a.7.1");
  na->set_applicable(false);
  na->set_grade(v1::GRADE_NOT_APPLICABLE);
  model.compliance = {{absl::FromUnixSeconds(1700000000), 0.5},
                      {absl::FromUnixSeconds(1700086400), 1.0}};
  const std::string page = OverviewBody(Site::Dashboard(""), model).str();
  EXPECT_THAT(
      page,
      HasSubstr("data-grade=\"minor\" href=\"/controls?grade=minor\"><span "
                "class=\"n\">1</span>"));
  EXPECT_THAT(page,
              HasSubstr("data-grade=\"na\" href=\"/controls?grade=na\"><span "
                        "class=\"n\">1</span>"));
  EXPECT_THAT(page, HasSubstr("id=\"compliance-chart\""));
  EXPECT_THAT(page, HasSubstr("points=\"44.0,80.0 704.0,10.0\""));
}

TEST(PagesTest, RenderPageFramesTheBodyWithoutInlineScript) {
  Frame frame;
  frame.title = kScript;
  frame.user = "alice";
  frame.role = "admin";
  frame.csrf = "tok\"en";
  frame.path = "/controls";
  const std::string page =
      RenderPage(Site::Dashboard(""), frame, Html() << "body");
  EXPECT_THAT(page, Not(HasSubstr(kScript)));
  EXPECT_THAT(page,
              HasSubstr("<script src=\"/static/app.js\" defer></script>"));
  EXPECT_THAT(page, HasSubstr("value=\"tok&quot;en\""));
  EXPECT_THAT(page, HasSubstr("id=\"as-of\""));
}

}  // namespace
}  // namespace evidentia::view
