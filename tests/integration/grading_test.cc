// Grades end to end: real agents on fixture roots, a real collector with the
// shipped policy set and example SoA, a clock the test moves.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "agent/agent_state.h"
#include "agent/collect.h"
#include "agent/probe.h"
#include "agent/uploader.h"
#include "common/files.h"
#include "evidentia/v1/operator.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/support/live_collector.h"

namespace evidentia {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kSource = EVIDENTIA_SOURCE_DIR;

template <typename Message>
Message FromJson(const std::string& json) {
  Message message;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &message).ok())
      << json;
  return message;
}

std::string Moment(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

class GradingTest : public testing::LiveCollectorTest {
 protected:
  void ConfigureServer(collector::ServerOptions& options) override {
    options.policies_dir = kSource / "policies";
    options.soa_file = kSource / "policies/soa.example.yaml";
    options.clock = [this] { return now_; };
  }

  // A host: a fixture disk layout, a name, and a minimal account database.
  void MakeRoot(const std::string& host, const std::string& disk_fixture) {
    const fs::path root = tmp_ / "roots" / host;
    fs::remove_all(root);
    fs::create_directories(root);
    fs::copy(kSource / "tests/fixtures/disk_encryption" / disk_fixture, root,
             fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    fs::create_directories(root / "proc/sys/kernel");
    ASSERT_TRUE(
        WriteFileAtomic(root / "proc/sys/kernel/hostname", host + "\n").ok());
    fs::create_directories(root / "etc");
    ASSERT_TRUE(
        WriteFileAtomic(root / "etc/passwd", "root:x:0:0::/root:/bin/bash\n")
            .ok());
  }

  void Enroll(const std::string& host, const std::string& disk_fixture,
              std::map<std::string, std::string> labels = {}) {
    MakeRoot(host, disk_fixture);
    absl::StatusOr<std::string> id =
        EnrollAgent(tmp_ / "agents" / host, CreateToken(),
                    tmp_ / "roots" / host, std::move(labels));
    ASSERT_TRUE(id.ok()) << id.status();
  }

  // One collection cycle of `host` at the test's clock.
  void Report(const std::string& host) {
    ReportCycle(tmp_ / "agents" / host, tmp_ / "roots" / host, now_);
  }

  void AddManualEvidence(const std::string& control, absl::Duration valid) {
    const fs::path file = tmp_ / absl::StrCat(control, ".pdf");
    ASSERT_TRUE(WriteFileAtomic(file, "%PDF-1.4 policy document\n").ok());
    int code = -1;
    Cli({"evidence", "add", "--control", control, "--file", file.string(),
         "--valid-until", Moment(now_ + valid), "--note", "test"},
        &code);
    ASSERT_EQ(code, collector::kCliOk) << last_err_;
  }

  v1::ControlGrade Control(const std::string& id,
                           std::vector<std::string> flags = {}) {
    std::vector<std::string> words = {"control", id, "--json"};
    words.insert(words.end(), flags.begin(), flags.end());
    int code = -1;
    std::string json = Cli(words, &code);
    EXPECT_EQ(code, collector::kCliOk) << last_err_;
    return FromJson<v1::ControlGrade>(json);
  }

  // Three hosts, gamma with a plain disk; manual evidence for a.8.24.
  void ThreeHostsOneUnencrypted() {
    Enroll("alpha", "lvm_on_luks");
    Enroll("beta", "lvm_on_luks");
    Enroll("gamma", "plain_disk");
    AddManualEvidence("a.8.24", absl::Hours(24 * 365));
    for (const char* host : {"alpha", "beta", "gamma"}) Report(host);
  }

  absl::Time now_ = absl::FromUnixSeconds(1795000000);  // 2026-11-18
};

TEST_F(GradingTest, UnencryptedDiskIsMinorNonconformityNamingHostAndVolume) {
  ThreeHostsOneUnencrypted();
  v1::ControlGrade grade = Control("a.8.24");
  EXPECT_EQ(grade.grade(), v1::GRADE_MINOR_NONCONFORMITY);
  EXPECT_EQ(grade.hosts_failing(), 1u);
  EXPECT_EQ(grade.hosts_passing(), 2u);
  ASSERT_GE(grade.findings_size(), 1);
  EXPECT_EQ(grade.findings(0).hostname(), "gamma");
  EXPECT_EQ(grade.findings(0).state(), v1::CHECK_STATE_FAIL);
  EXPECT_THAT(grade.findings(0).reasons(0), HasSubstr("is not encrypted"));
  EXPECT_THAT(grade.findings(0).reasons(0), HasSubstr("sda"));
  EXPECT_EQ(grade.findings(0).since().seconds(), absl::ToUnixSeconds(now_));
}

TEST_F(GradingTest, FixingTheDiskMakesTheControlCompliant) {
  ThreeHostsOneUnencrypted();
  now_ += absl::Minutes(10);
  MakeRoot("gamma", "lvm_on_luks");
  Report("gamma");
  v1::ControlGrade grade = Control("a.8.24");
  EXPECT_EQ(grade.grade(), v1::GRADE_COMPLIANT) << grade.DebugString();
  EXPECT_EQ(grade.hosts_passing(), 3u);
  EXPECT_EQ(grade.findings_size(), 0);
}

TEST_F(GradingTest, MostHostsFailingIsMajorNonconformity) {
  Enroll("alpha", "plain_disk");
  Enroll("beta", "plain_disk");
  Enroll("gamma", "lvm_on_luks");
  AddManualEvidence("a.8.24", absl::Hours(24 * 365));
  for (const char* host : {"alpha", "beta", "gamma"}) Report(host);
  EXPECT_EQ(Control("a.8.24").grade(), v1::GRADE_MAJOR_NONCONFORMITY);
}

TEST_F(GradingTest, AutomatedControlWithNoReportsIsMajorNonconformity) {
  Enroll("alpha", "lvm_on_luks");  // enrolled, never reported
  AddManualEvidence("a.8.24", absl::Hours(24 * 365));
  v1::ControlGrade grade = Control("a.8.24");
  EXPECT_EQ(grade.grade(), v1::GRADE_MAJOR_NONCONFORMITY);
  EXPECT_THAT(grade.reasons(0), HasSubstr("no host has reported"));
}

TEST_F(GradingTest, SilentHostTurnsCompliantIntoMinorNonconformity) {
  ThreeHostsOneUnencrypted();
  MakeRoot("gamma", "lvm_on_luks");
  Report("gamma");
  ASSERT_EQ(Control("a.8.24").grade(), v1::GRADE_COMPLIANT);

  now_ += absl::Hours(27);  // past max_silence (26h) for gamma only
  Report("alpha");
  Report("beta");
  v1::ControlGrade grade = Control("a.8.24");
  EXPECT_EQ(grade.grade(), v1::GRADE_MINOR_NONCONFORMITY);
  EXPECT_EQ(grade.hosts_stale(), 1u);
  EXPECT_THAT(grade.findings(0).reasons(0), HasSubstr("silent since"));
  v1::ControlGrade register_grade = Control("a.5.9");
  EXPECT_EQ(register_grade.grade(), v1::GRADE_MINOR_NONCONFORMITY);
  EXPECT_THAT(register_grade.reasons(0), HasSubstr("gamma silent since"));
}

TEST_F(GradingTest, StaleEvidenceIsMinorNonconformity) {
  Enroll("alpha", "lvm_on_luks");
  AddManualEvidence("a.8.24", absl::Hours(24 * 365));
  Report("alpha");
  // The agent's own clock said it collected 3 days ago (e.g. it was spooled).
  absl::StatusOr<std::unique_ptr<agent::AgentState>> state =
      agent::AgentState::Open(tmp_ / "agents" / "alpha");
  ASSERT_TRUE(state.ok());
  now_ += absl::Hours(1);
  ASSERT_TRUE((*state)
                  ->MakeSnapshot(agent::Collect(agent::BuildProbes(),
                                                tmp_ / "roots" / "alpha"),
                                 now_ - absl::Hours(72))
                  .ok());
  ASSERT_TRUE(
      agent::DeliverSpool(**state, *Stub(tmp_ / "agents" / "alpha")).ok());
  v1::ControlGrade grade = Control("a.8.24");
  EXPECT_EQ(grade.grade(), v1::GRADE_MINOR_NONCONFORMITY);
  EXPECT_THAT(grade.findings(0).reasons(0),
              HasSubstr("evidence is 3 days old"));
}

TEST_F(GradingTest, AsOfReturnsThePastAfterLaterSnapshotsChangedIt) {
  ThreeHostsOneUnencrypted();
  const absl::Time failing_at = now_;
  now_ += absl::Hours(1);
  MakeRoot("gamma", "lvm_on_luks");
  Report("gamma");
  ASSERT_EQ(Control("a.8.24").grade(), v1::GRADE_COMPLIANT);

  v1::ControlGrade past =
      Control("a.8.24", {"--as-of", Moment(failing_at + absl::Minutes(1))});
  EXPECT_EQ(past.grade(), v1::GRADE_MINOR_NONCONFORMITY);
  ASSERT_GE(past.findings_size(), 1);
  EXPECT_EQ(past.findings(0).hostname(), "gamma");
}

TEST_F(GradingTest, ManualEvidenceCountsUntilItExpires) {
  // a.6.3 (awareness training) is evidenced by documents only.
  EXPECT_EQ(Control("a.6.3").grade(), v1::GRADE_MAJOR_NONCONFORMITY);
  AddManualEvidence("a.6.3", absl::Hours(24 * 60));
  EXPECT_EQ(Control("a.6.3").grade(), v1::GRADE_COMPLIANT);
  now_ += absl::Hours(24 * 31);  // now within the 30-day warning
  EXPECT_EQ(Control("a.6.3").grade(), v1::GRADE_OPPORTUNITY_FOR_IMPROVEMENT);
  now_ += absl::Hours(24 * 30);  // expired
  v1::ControlGrade expired = Control("a.6.3");
  EXPECT_EQ(expired.grade(), v1::GRADE_MINOR_NONCONFORMITY);
  EXPECT_THAT(expired.reasons(0), HasSubstr("expired"));
}

TEST_F(GradingTest, ManualEvidenceSignedByAnotherKeyIsRefused) {
  const fs::path other = tmp_ / "other.key";
  absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
  ASSERT_TRUE(key.ok() && key->SavePemFile(other).ok());
  ASSERT_TRUE(WriteFileAtomic(tmp_ / "doc.pdf", "document").ok());
  int code = -1;
  Cli({"evidence", "add", "--control", "a.6.3", "--file",
       (tmp_ / "doc.pdf").string(), "--valid-until",
       Moment(now_ + absl::Hours(48)), "--operator-key", other.string()},
      &code);
  EXPECT_EQ(code, collector::kCliFailed);
  EXPECT_THAT(last_err_, HasSubstr("not signed by the operator key"));
  EXPECT_EQ(Control("a.6.3").grade(), v1::GRADE_MAJOR_NONCONFORMITY);
}

TEST_F(GradingTest, ScopeGradesOnlyLabelledHosts) {
  Enroll("alpha", "lvm_on_luks", {{"dept", "finance"}});
  Enroll("gamma", "plain_disk", {{"dept", "engineering"}});
  AddManualEvidence("a.8.24", absl::Hours(24 * 365));
  Report("alpha");
  Report("gamma");
  v1::ControlGrade finance = Control("a.8.24", {"--scope", "dept=finance"});
  EXPECT_EQ(finance.hosts_in_scope(), 1u);
  EXPECT_EQ(finance.grade(), v1::GRADE_COMPLIANT);
  v1::ControlGrade all = Control("a.8.24");
  EXPECT_EQ(all.hosts_in_scope(), 2u);
  EXPECT_EQ(all.grade(), v1::GRADE_MAJOR_NONCONFORMITY);  // 1 of 2 fails
}

// The host of the report: ClamAV installed, on-access configured in
// clamd.conf, databases built the day before on disk, but clamd refused its
// database and exited and only freshclam -d runs. Nothing scans: a.8.7 must
// not be compliant.
TEST_F(GradingTest, ClamavWithOnlyItsUpdaterRunningIsNotCompliant) {
  Enroll("alpha", "lvm_on_luks");
  fs::copy(kSource / "tests/fixtures/anti_malware/clamav_updater_only",
           tmp_ / "roots/alpha",
           fs::copy_options::recursive | fs::copy_options::copy_symlinks |
               fs::copy_options::overwrite_existing);
  AddManualEvidence("a.8.7", absl::Hours(24 * 365));
  Report("alpha");
  v1::ControlGrade grade = Control("a.8.7");
  EXPECT_EQ(grade.grade(), v1::GRADE_MAJOR_NONCONFORMITY)
      << grade.DebugString();
  EXPECT_EQ(grade.hosts_failing(), 1u);
  ASSERT_GE(grade.findings_size(), 1);
  EXPECT_EQ(grade.findings(0).state(), v1::CHECK_STATE_FAIL);
}

TEST_F(GradingTest, ControlsTableCoversTheWholeSoa) {
  ThreeHostsOneUnencrypted();
  int code = -1;
  auto graded =
      FromJson<v1::GradeControlsResponse>(Cli({"controls", "--json"}, &code));
  ASSERT_EQ(code, collector::kCliOk) << last_err_;
  EXPECT_EQ(graded.controls_size(), 93);
  EXPECT_EQ(graded.policy_sha256().size(), 64u);
  const std::string table = Cli({"controls"});
  EXPECT_THAT(table, HasSubstr("a.8.24"));
  EXPECT_THAT(table, HasSubstr("minor nonconformity"));
  EXPECT_THAT(table, HasSubstr("not applicable"));
}

TEST_F(GradingTest, HostShowsEveryCheckWithVerdictAndReasons) {
  ThreeHostsOneUnencrypted();
  int code = -1;
  auto host =
      FromJson<v1::GetHostResponse>(Cli({"host", "gamma", "--json"}, &code));
  ASSERT_EQ(code, collector::kCliOk) << last_err_;
  bool saw_disk = false;
  for (const v1::HostCheck& check : host.checks()) {
    if (check.check_id() != "linux.disk_encryption.fixed_volumes") continue;
    saw_disk = true;
    EXPECT_EQ(check.state(), v1::CHECK_STATE_FAIL);
    EXPECT_THAT(check.reasons(0), HasSubstr("not encrypted"));
  }
  EXPECT_TRUE(saw_disk);
}

TEST_F(GradingTest, HistoryShowsGradeChangesAndCompliantShare) {
  const absl::Time start = now_;
  ThreeHostsOneUnencrypted();  // minor from `start`
  now_ += absl::Hours(3);
  MakeRoot("gamma", "lvm_on_luks");
  Report("gamma");  // compliant from start + 3h
  now_ += absl::Hours(1);
  int code = -1;
  auto history = FromJson<v1::GetHistoryResponse>(
      Cli({"history", "--control", "a.8.24", "--from", Moment(start), "--to",
           Moment(now_), "--json"},
          &code));
  ASSERT_EQ(code, collector::kCliOk) << last_err_;
  ASSERT_GE(history.changes_size(), 2);
  EXPECT_EQ(history.changes(history.changes_size() - 1).grade(),
            v1::GRADE_COMPLIANT);
  EXPECT_EQ(history.changes(history.changes_size() - 1).at().seconds(),
            absl::ToUnixSeconds(start + absl::Hours(3)));
  EXPECT_NEAR(history.compliant_share(), 0.25, 0.01);
}

class NoPolicyTest : public testing::LiveCollectorTest {};

TEST_F(NoPolicyTest, GradingWithoutAPolicySetIsRefusedClearly) {
  int code = -1;
  Cli({"controls"}, &code);
  EXPECT_EQ(code, collector::kCliFailed);
  EXPECT_THAT(last_err_, HasSubstr("--policies"));
}

TEST(PolicyStartTest, MistakeInTheSoaStopsTheStartWithFileAndLine) {
  testing::ScopedTempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  absl::StatusOr<std::string> soa =
      ReadFile(kSource / "policies/soa.example.yaml");
  ASSERT_TRUE(soa.ok());
  const size_t at = soa->find("control: a.8.24");
  ASSERT_NE(at, std::string::npos);
  soa->replace(at, 15, "control: a.9.99");
  ASSERT_TRUE(WriteFileAtomic(tmp.path() / "soa.yaml", *soa).ok());
  collector::ServerOptions options;
  options.data_dir = tmp.path() / "collector";
  options.listen = "127.0.0.1:0";
  options.policies_dir = kSource / "policies";
  options.soa_file = tmp.path() / "soa.yaml";
  absl::StatusOr<std::unique_ptr<collector::Server>> server =
      collector::Server::Start(options);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(server.status().message(), HasSubstr("soa.yaml:"));
  EXPECT_THAT(server.status().message(), HasSubstr("a.9.99"));
}

}  // namespace
}  // namespace evidentia
