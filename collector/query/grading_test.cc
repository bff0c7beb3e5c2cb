#include "grading/grading.h"

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "collector/query/store_evidence.h"
#include "collector/store/keys.h"
#include "collector/store/rocksdb_store.h"
#include "collector/store/store.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/facts/anti_malware.pb.h"
#include "evidentia/v1/facts/disk_encryption.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "evidentia/v1/store.pb.h"
#include "gmock/gmock.h"
#include "grading/fleet.h"
#include "grading/policy.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace evidentia::collector {
namespace {

using ::evidentia::testing::ScopedTempDir;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kDiskProbe[] = "linux.disk_encryption";
constexpr char kMalwareProbe[] = "linux.anti_malware";
constexpr char kDiskCheck[] = "linux.disk_encryption.fixed_volumes";
constexpr char kRunningCheck[] = "linux.anti_malware.installed_running";
constexpr char kSignaturesCheck[] = "linux.anti_malware.signatures_fresh";

// The moment graded, unless a test says otherwise (2023-11-14 22:13:20Z).
const absl::Time kAt = absl::FromUnixSeconds(1700000000);
// Thresholds of policies/soa.example.yaml and policies/checks/linux.yaml.
const absl::Duration kMaxSilence = absl::Hours(26);
const absl::Duration kStaleAfter = absl::Hours(48);
const absl::Duration kExpiryWarning = absl::Hours(24 * 30);
// Manual evidence that no test's `at` comes near.
const absl::Time kFarFuture = kAt + absl::Hours(24 * 365);

v1::Volume Mount(const std::string& mount_point, const std::string& device,
                 bool encrypted) {
  v1::Volume v;
  v.set_kind(v1::VOLUME_KIND_MOUNT);
  v.set_mount_point(mount_point);
  v.set_source("/dev/" + device);
  v.set_fs_type("ext4");
  v.set_resolved(true);
  v.set_device(device);
  v.set_encrypted(encrypted);
  return v;
}

// Disk facts: "/" on dm-0, encrypted; plus "/home" on sda3, unencrypted
// when `home_encrypted` is false.
v1::Facts DiskFacts(bool home_encrypted) {
  v1::Facts facts;
  v1::DiskEncryptionFacts* disk = facts.mutable_disk_encryption();
  *disk->add_volumes() = Mount("/", "dm-0", true);
  *disk->add_volumes() = Mount("/home", "sda3", home_encrypted);
  disk->set_root_on_block_device(true);
  disk->set_root_fs_type("ext4");
  disk->set_all_volumes_encrypted(home_encrypted);
  if (!home_encrypted) disk->add_unencrypted_devices("sda3");
  return facts;
}

// One product, installed with its engine running, with no signature
// databases (an EDR product: signatures_fresh does not apply) and real-time
// scanning as given.
v1::Facts EdrFacts(v1::RealtimeProtection realtime) {
  v1::Facts facts;
  v1::AntiMalwareFacts* am = facts.mutable_anti_malware();
  am->set_package_database_read(true);
  v1::AntiMalwareProduct* p = am->add_products();
  p->set_id("mdatp");
  p->set_name("Microsoft Defender for Endpoint");
  p->set_installed(true);
  p->set_running(true);
  p->set_engine_running(true);
  p->set_realtime(realtime);
  return facts;
}

// ClamAV installed, clamd and clamonacc running and connected, signatures on
// disk built at `built`; the running clamd reports the same signatures.
v1::Facts ClamAvFacts(absl::Time built) {
  v1::Facts facts;
  v1::AntiMalwareFacts* am = facts.mutable_anti_malware();
  am->set_package_database_read(true);
  v1::AntiMalwareProduct* p = am->add_products();
  p->set_id("clamav");
  p->set_name("ClamAV");
  p->set_installed(true);
  p->set_running(true);
  p->set_engine_running(true);
  p->set_updater_running(true);
  p->add_running_processes("clamd");
  p->add_running_processes("clamonacc");
  p->add_running_processes("freshclam");
  p->set_realtime(v1::REALTIME_PROTECTION_ENABLED);
  p->mutable_on_access()->set_configured(true);
  p->mutable_on_access()->set_process_running(true);
  p->mutable_on_access()->set_connected(true);
  v1::SignatureDatabase* db = p->add_signature_databases();
  db->set_file("daily.cld");
  db->set_version(27000);
  db->set_signatures(2000000);
  db->set_build_time_unix(absl::ToUnixSeconds(built));
  p->set_newest_signature_build_time_unix(absl::ToUnixSeconds(built));
  v1::ClamdAnswer* clamd = p->mutable_clamd();
  clamd->set_socket("/var/run/clamav/clamd.ctl");
  clamd->set_answered(true);
  clamd->set_engine_version("1.0.7");
  clamd->set_database_version(27000);
  clamd->set_database_build_time_unix(absl::ToUnixSeconds(built));
  p->set_signature_source(v1::SIGNATURE_SOURCE_ENGINE);
  p->set_signature_version(27000);
  p->set_signature_build_time_unix(absl::ToUnixSeconds(built));
  return facts;
}

// What the agent reports for ClamAV installed with only freshclam -d running
// (clamd refused its database and exited, clamonacc is not running), on-access
// configured in clamd.conf and fresh databases on disk built at `built`.
v1::Facts ClamAvUpdaterOnlyFacts(absl::Time built) {
  v1::Facts facts = ClamAvFacts(built);
  v1::AntiMalwareProduct* p = facts.mutable_anti_malware()->mutable_products(0);
  p->set_engine_running(false);
  p->clear_running_processes();
  p->add_running_processes("freshclam");
  p->set_realtime(v1::REALTIME_PROTECTION_DISABLED);
  p->mutable_on_access()->set_process_running(false);
  p->mutable_on_access()->set_connected(false);
  v1::ClamdAnswer* clamd = p->mutable_clamd();
  clamd->Clear();
  clamd->set_socket("/var/run/clamav/clamd.ctl");
  clamd->set_error("clamd is not running");
  p->set_signature_source(v1::SIGNATURE_SOURCE_DISK);
  return facts;
}

v1::LatestObservation Observation(const std::string& probe,
                                  const std::string& digest, uint64_t seq,
                                  absl::Time collected, absl::Time received) {
  v1::LatestObservation o;
  o.set_check_id(probe);
  o.set_probe(probe);
  o.set_seq(seq);
  o.set_facts_sha256(digest);
  *o.mutable_collected_at() = ToProto(collected);
  *o.mutable_received_at() = ToProto(received);
  return o;
}

HostPtr MakeHost(const std::string& agent_id, const std::string& hostname,
                 absl::Time last_seen,
                 std::vector<v1::LatestObservation> observations) {
  auto host = std::make_shared<HostEvidence>();
  host->agent.set_agent_id(agent_id);
  host->agent.mutable_host()->set_hostname(hostname);
  *host->agent.mutable_enrolled_at() = ToProto(kAt - absl::Hours(24 * 100));
  *host->agent.mutable_first_seen() = ToProto(kAt - absl::Hours(24 * 100));
  *host->agent.mutable_last_seen() = ToProto(last_seen);
  uint64_t last_seq = 0;
  for (v1::LatestObservation& o : observations) {
    last_seq = std::max<uint64_t>(last_seq, o.seq());
    std::string probe = o.probe();
    host->latest[probe] = std::move(o);
  }
  host->agent.set_last_seq(last_seq);
  return host;
}

const v1::HostCheck* FindCheck(const std::vector<v1::HostCheck>& checks,
                               const std::string& check_id) {
  for (const v1::HostCheck& hc : checks) {
    if (hc.check_id() == check_id) return &hc;
  }
  return nullptr;
}

class GraderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    absl::StatusOr<std::unique_ptr<Store>> store =
        OpenRocksDbStore(dir_.path() / "db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    absl::StatusOr<policy::PolicySet> policy = policy::LoadPolicySet(
        EVIDENTIA_SOURCE_DIR "/policies",
        EVIDENTIA_SOURCE_DIR "/policies/soa.example.yaml");
    ASSERT_TRUE(policy.ok()) << policy.status();
    policy_ = std::make_unique<policy::PolicySet>(*std::move(policy));
    shipped_a824_ = policy_->FindSoaEntry("a.8.24")->evidence;
    // These tests grade a.8.24 by one automated check and manual evidence:
    // the shipped SoA also names strong_cipher, graded on the same facts,
    // which would double every missing or stale finding below.
    for (policy::SoaEntry& entry : policy_->soa) {
      if (entry.control_id == "a.8.24") entry.evidence = {kDiskCheck, "manual"};
    }
    evidence_ = std::make_unique<StoreEvidence>(*store_);
    grader_ = std::make_unique<Grader>(*policy_, *evidence_);
  }

  // Stores a facts body the way ingest does; returns its raw SHA-256.
  std::string PutFacts(const v1::Facts& facts) {
    std::string body;
    EXPECT_TRUE(facts.SerializeToString(&body));
    std::string digest = Sha256(body);
    Batch batch;
    batch.Put(Table::kObjects, digest, body);
    EXPECT_TRUE(store_->Commit(batch).ok());
    return digest;
  }

  // Records manual evidence for `control`, received a day before kAt.
  void PutManual(const std::string& control, absl::Time valid_until,
                 const std::string& file_name = "evidence.pdf") {
    v1::ManualEvidenceStatement statement;
    statement.set_control_id(control);
    statement.set_document_sha256(Sha256(file_name));
    statement.set_file_name(file_name);
    statement.set_size(1234);
    *statement.mutable_valid_until() = ToProto(valid_until);
    const absl::Time received = kAt - absl::Hours(24);
    *statement.mutable_signed_at() = ToProto(received);
    v1::StoredManualEvidence stored;
    stored.set_statement(statement.SerializeAsString());
    stored.set_signature(std::string(64, 's'));
    stored.set_key_id("operator-key");
    *stored.mutable_received_at() = ToProto(received);
    Batch batch;
    batch.Put(Table::kManual,
              keys::Manual(control, absl::ToUnixMicros(received)),
              stored.SerializeAsString());
    ASSERT_TRUE(store_->Commit(batch).ok());
  }

  // A host heard from at `last_seen` whose disk observation was collected
  // and received at the given times.
  HostPtr DiskHost(const std::string& agent_id, bool encrypted,
                   absl::Time last_seen, absl::Time collected,
                   absl::Time received) {
    return MakeHost(agent_id, "host-" + agent_id, last_seen,
                    {Observation(kDiskProbe, PutFacts(DiskFacts(encrypted)), 7,
                                 collected, received)});
  }
  // A host that reported fresh disk facts an hour before kAt.
  HostPtr FreshDiskHost(const std::string& agent_id, bool encrypted) {
    const absl::Time t = kAt - absl::Hours(1);
    return DiskHost(agent_id, encrypted, t, t, t);
  }

  // A host whose anti-malware facts, collected an hour before kAt, are
  // `facts`.
  HostPtr MalwareHost(const v1::Facts& facts) {
    const absl::Time t = kAt - absl::Hours(1);
    return MakeHost("a1", "host-a1", t,
                    {Observation(kMalwareProbe, PutFacts(facts), 3, t, t)});
  }

  v1::ControlGrade Grade(const std::string& control,
                         const std::vector<HostPtr>& hosts, absl::Time at = kAt,
                         bool findings = false) {
    absl::StatusOr<v1::ControlGrade> grade =
        grader_->GradeControl(control, hosts, at, findings);
    EXPECT_TRUE(grade.ok()) << grade.status();
    return grade.ok() ? *std::move(grade) : v1::ControlGrade();
  }

  ScopedTempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<policy::PolicySet> policy_;
  std::vector<std::string> shipped_a824_;  // a.8.24's evidence as shipped
  std::unique_ptr<StoreEvidence> evidence_;
  std::unique_ptr<Grader> grader_;
};

// ---------------------------------------------------------------------------
// The thresholds the tests rely on are those of the shipped policy set.
// ---------------------------------------------------------------------------

TEST_F(GraderTest, ShippedThresholdsAreTheOnesTheseTestsAssume) {
  EXPECT_EQ(policy_->grading.max_silence, kMaxSilence);
  EXPECT_EQ(policy_->grading.major_failure_share, 0.5);
  EXPECT_EQ(policy_->grading.manual_expiry_warning, kExpiryWarning);
  const policy::Check* disk = policy_->FindCheck(kDiskCheck);
  ASSERT_NE(disk, nullptr);
  EXPECT_EQ(disk->stale_after, kStaleAfter);
  EXPECT_THAT(
      shipped_a824_,
      ElementsAre(kDiskCheck, "linux.disk_encryption.strong_cipher", "manual"));
  const policy::SoaEntry* a87 = policy_->FindSoaEntry("a.8.7");
  ASSERT_NE(a87, nullptr);
  EXPECT_THAT(a87->evidence,
              ElementsAre(kRunningCheck, kSignaturesCheck, "manual"));
}

// ---------------------------------------------------------------------------
// max_silence
// ---------------------------------------------------------------------------

TEST_F(GraderTest, HostSilentExactlyMaxSilenceIsNotSilent) {
  PutManual("a.8.24", kFarFuture);
  const absl::Time last = kAt - kMaxSilence;
  HostPtr host = DiskHost("a1", true, last, last, last);
  EXPECT_FALSE(grader_->IsSilent(*host, kAt));

  v1::ControlGrade grade = Grade("a.8.24", {host}, kAt, true);
  EXPECT_EQ(grade.grade(), v1::GRADE_COMPLIANT) << grade.DebugString();
  EXPECT_EQ(grade.hosts_passing(), 1u);
  EXPECT_EQ(grade.hosts_stale(), 0u);
  EXPECT_THAT(grade.findings(), IsEmpty());
  EXPECT_THAT(grade.reasons(), IsEmpty());
}

TEST_F(GraderTest, HostSilentOneSecondPastMaxSilenceIsStaleAndMinor) {
  PutManual("a.8.24", kFarFuture);
  const absl::Time last = kAt - kMaxSilence - absl::Seconds(1);
  HostPtr host = DiskHost("a1", true, last, last, last);
  EXPECT_TRUE(grader_->IsSilent(*host, kAt));

  v1::ControlGrade grade = Grade("a.8.24", {host}, kAt, true);
  EXPECT_EQ(grade.grade(), v1::GRADE_MINOR_NONCONFORMITY)
      << grade.DebugString();
  EXPECT_EQ(grade.hosts_stale(), 1u);
  EXPECT_EQ(grade.hosts_passing(), 0u);
  ASSERT_THAT(grade.findings(), SizeIs(1));
  EXPECT_EQ(grade.findings(0).state(), v1::CHECK_STATE_STALE);
  EXPECT_THAT(grade.findings(0).reasons(),
              ElementsAre(HasSubstr("host silent since")));
}

// ---------------------------------------------------------------------------
// stale_after
// ---------------------------------------------------------------------------

TEST_F(GraderTest, EvidenceExactlyStaleAfterOldIsNotStale) {
  PutManual("a.8.24", kFarFuture);
  const absl::Time observed = kAt - kStaleAfter;
  HostPtr host = DiskHost("a1", true, kAt - absl::Hours(1), observed, observed);

  v1::ControlGrade grade = Grade("a.8.24", {host}, kAt, true);
  EXPECT_EQ(grade.grade(), v1::GRADE_COMPLIANT) << grade.DebugString();
  EXPECT_EQ(grade.hosts_passing(), 1u);
  EXPECT_THAT(grade.findings(), IsEmpty());
  EXPECT_EQ(FromProto(grade.oldest_evidence()), observed);
}

TEST_F(GraderTest, EvidenceOneSecondPastStaleAfterIsStaleAndMinor) {
  PutManual("a.8.24", kFarFuture);
  const absl::Time observed = kAt - kStaleAfter - absl::Seconds(1);
  HostPtr host = DiskHost("a1", true, kAt - absl::Hours(1), observed, observed);

  v1::ControlGrade grade = Grade("a.8.24", {host}, kAt, true);
  EXPECT_EQ(grade.grade(), v1::GRADE_MINOR_NONCONFORMITY)
      << grade.DebugString();
  EXPECT_EQ(grade.hosts_stale(), 1u);
  ASSERT_THAT(grade.findings(), SizeIs(1));
  EXPECT_EQ(grade.findings(0).state(), v1::CHECK_STATE_STALE);
  EXPECT_THAT(
      grade.findings(0).reasons(),
      ElementsAre(AllOf(HasSubstr("evidence is"), HasSubstr(kDiskCheck))));
}

TEST_F(GraderTest, EvidenceTimeIsTheEarlierOfCollectedAndReceived) {
  PutManual("a.8.24", kFarFuture);
  const absl::Time recent = kAt - absl::Hours(1);
  const absl::Time old = kAt - kStaleAfter - absl::Seconds(1);
  // Collected long ago, received just now (e.g. a backlog flushed late).
  HostPtr collected_old = DiskHost("a1", true, recent, old, recent);
  // Received long ago with a collection clock running ahead.
  HostPtr received_old = DiskHost("a2", true, recent, recent, old);

  for (const HostPtr& host : {collected_old, received_old}) {
    v1::ControlGrade grade = Grade("a.8.24", {host}, kAt, true);
    EXPECT_EQ(grade.grade(), v1::GRADE_MINOR_NONCONFORMITY)
        << host->agent.agent_id() << ": " << grade.DebugString();
    ASSERT_THAT(grade.findings(), SizeIs(1)) << host->agent.agent_id();
    EXPECT_EQ(grade.findings(0).state(), v1::CHECK_STATE_STALE);
    EXPECT_EQ(FromProto(grade.findings(0).evidence_at()), old);
  }
}

// ---------------------------------------------------------------------------
// major_failure_share
// ---------------------------------------------------------------------------

TEST_F(GraderTest, OneOfThreeHostsFailingIsMinor) {
  PutManual("a.8.24", kFarFuture);
  v1::ControlGrade grade =
      Grade("a.8.24", {FreshDiskHost("a1", false), FreshDiskHost("a2", true),
                       FreshDiskHost("a3", true)});
  EXPECT_EQ(grade.grade(), v1::GRADE_MINOR_NONCONFORMITY)
      << grade.DebugString();
  EXPECT_EQ(grade.hosts_failing(), 1u);
  EXPECT_EQ(grade.hosts_passing(), 2u);
  EXPECT_THAT(grade.reasons(), Contains(HasSubstr("1 of 3 hosts fail")));
}

TEST_F(GraderTest, TwoOfFourHostsFailingIsExactlyTheShareAndMajor) {
  PutManual("a.8.24", kFarFuture);
  v1::ControlGrade grade =
      Grade("a.8.24", {FreshDiskHost("a1", false), FreshDiskHost("a2", true),
                       FreshDiskHost("a3", false), FreshDiskHost("a4", true)});
  EXPECT_EQ(grade.grade(), v1::GRADE_MAJOR_NONCONFORMITY)
      << grade.DebugString();
  EXPECT_EQ(grade.hosts_failing(), 2u);
  EXPECT_EQ(grade.hosts_passing(), 2u);
  EXPECT_THAT(grade.reasons(), Contains(HasSubstr("2 of 4 hosts fail")));
}

TEST_F(GraderTest, OneOfOneHostFailingIsMajor) {
  PutManual("a.8.24", kFarFuture);
  v1::ControlGrade grade = Grade("a.8.24", {FreshDiskHost("a1", false)});
  EXPECT_EQ(grade.grade(), v1::GRADE_MAJOR_NONCONFORMITY)
      << grade.DebugString();
  EXPECT_EQ(grade.hosts_failing(), 1u);
}

// ---------------------------------------------------------------------------
// No evidence, missing evidence
// ---------------------------------------------------------------------------

TEST_F(GraderTest, NoHostReportedAnyEvidenceIsMajor) {
  PutManual("a.8.24", kFarFuture);
  // Enrolled an hour ago (not silent yet), nothing reported.
  auto fresh = std::make_shared<HostEvidence>();
  fresh->agent.set_agent_id("a1");
  *fresh->agent.mutable_enrolled_at() = ToProto(kAt - absl::Hours(1));
  v1::ControlGrade grade = Grade("a.8.24", {fresh}, kAt, true);
  EXPECT_EQ(grade.grade(), v1::GRADE_MAJOR_NONCONFORMITY)
      << grade.DebugString();
  EXPECT_THAT(grade.reasons(),
              ElementsAre(AllOf(HasSubstr("no host has reported"),
                                HasSubstr(kDiskCheck))));
  ASSERT_THAT(grade.findings(), SizeIs(1));
  EXPECT_EQ(grade.findings(0).state(), v1::CHECK_STATE_MISSING);
}

TEST_F(GraderTest, HostReportingOtherProbesButNotThisOneIsMissingAndMinor) {
  PutManual("a.8.24", kFarFuture);
  const absl::Time t = kAt - absl::Hours(1);
  HostPtr other =
      MakeHost("a2", "host-a2", t,
               {Observation(kMalwareProbe,
                            PutFacts(EdrFacts(v1::REALTIME_PROTECTION_ENABLED)),
                            3, t, t)});
  v1::ControlGrade grade =
      Grade("a.8.24", {FreshDiskHost("a1", true), other}, kAt, true);
  EXPECT_EQ(grade.grade(), v1::GRADE_MINOR_NONCONFORMITY)
      << grade.DebugString();
  EXPECT_EQ(grade.hosts_passing(), 1u);
  EXPECT_EQ(grade.hosts_stale(), 1u);
  ASSERT_THAT(grade.findings(), SizeIs(1));
  EXPECT_EQ(grade.findings(0).agent_id(), "a2");
  EXPECT_EQ(grade.findings(0).state(), v1::CHECK_STATE_MISSING);
  EXPECT_THAT(grade.findings(0).reasons(),
              ElementsAre(HasSubstr("never reported linux.disk_encryption")));
}

// ---------------------------------------------------------------------------
// Warnings
// ---------------------------------------------------------------------------

TEST_F(GraderTest, WarningsOnlyAreAnOpportunityForImprovement) {
  PutManual("a.8.7", kFarFuture);
  const absl::Time t = kAt - absl::Hours(1);
  HostPtr host = MakeHost(
      "a1", "host-a1", t,
      {Observation(kMalwareProbe,
                   PutFacts(EdrFacts(v1::REALTIME_PROTECTION_DISABLED)), 3, t,
                   t)});
  v1::ControlGrade grade = Grade("a.8.7", {host}, kAt, true);
  EXPECT_EQ(grade.grade(), v1::GRADE_OPPORTUNITY_FOR_IMPROVEMENT)
      << grade.DebugString();
  EXPECT_EQ(grade.hosts_passing(), 1u);
  EXPECT_EQ(grade.hosts_failing(), 0u);
  EXPECT_THAT(grade.reasons(), ElementsAre(HasSubstr("warnings")));
  ASSERT_THAT(grade.findings(), SizeIs(1));
  EXPECT_EQ(grade.findings(0).check_id(), kRunningCheck);
  EXPECT_EQ(grade.findings(0).state(), v1::CHECK_STATE_WARN);
  EXPECT_THAT(grade.findings(0).reasons(), ElementsAre(HasSubstr("real-time")));
}

// ---------------------------------------------------------------------------
// Anti-malware (a.8.7): the engine, not its updater; its signatures, not the
// disk's
// ---------------------------------------------------------------------------

TEST_F(GraderTest, ClamavWithEngineAndFreshLoadedSignaturesIsCompliant) {
  PutManual("a.8.7", kFarFuture);
  v1::ControlGrade grade = Grade(
      "a.8.7", {MalwareHost(ClamAvFacts(kAt - absl::Hours(24)))}, kAt, true);
  EXPECT_EQ(grade.grade(), v1::GRADE_COMPLIANT) << grade.DebugString();
}

TEST_F(GraderTest, ClamavWithOnlyItsUpdaterRunningFails) {
  PutManual("a.8.7", kFarFuture);
  v1::ControlGrade grade = Grade(
      "a.8.7", {MalwareHost(ClamAvUpdaterOnlyFacts(kAt - absl::Hours(24)))},
      kAt, true);
  EXPECT_EQ(grade.grade(), v1::GRADE_MAJOR_NONCONFORMITY)
      << grade.DebugString();
  EXPECT_EQ(grade.hosts_failing(), 1u);
  std::vector<std::string> reasons;
  for (const v1::HostCheck& finding : grade.findings()) {
    reasons.insert(reasons.end(), finding.reasons().begin(),
                   finding.reasons().end());
  }
  EXPECT_THAT(reasons, Contains(HasSubstr("scanning engine running")));
  EXPECT_THAT(reasons, Contains(HasSubstr("clamd is not running")));
}

TEST_F(GraderTest, ClamavEngineWithNoDatabaseLoadedFailsSignatures) {
  // clamd runs but refused its database: fresh files on disk scan nothing.
  v1::Facts facts = ClamAvFacts(kAt - absl::Hours(24));
  v1::AntiMalwareProduct* p = facts.mutable_anti_malware()->mutable_products(0);
  p->mutable_clamd()->set_database_version(0);
  p->mutable_clamd()->set_database_build_time_unix(0);
  p->set_signature_source(v1::SIGNATURE_SOURCE_DISK);
  absl::StatusOr<std::vector<v1::HostCheck>> checks =
      grader_->CheckHost(*MalwareHost(facts), kAt);
  ASSERT_TRUE(checks.ok()) << checks.status();
  const v1::HostCheck* hc = FindCheck(*checks, kSignaturesCheck);
  ASSERT_NE(hc, nullptr);
  EXPECT_EQ(hc->state(), v1::CHECK_STATE_FAIL) << hc->DebugString();
  EXPECT_THAT(hc->reasons(), ElementsAre(HasSubstr("no signature database")));
}

TEST_F(GraderTest, ClamavSignatureAgeIsThatOfWhatTheEngineLoaded) {
  // freshclam fetched yesterday's database, but clamd still scans with one
  // eight days old (it has not reloaded).
  v1::Facts facts = ClamAvFacts(kAt - absl::Hours(24));
  v1::AntiMalwareProduct* p = facts.mutable_anti_malware()->mutable_products(0);
  const int64_t loaded = absl::ToUnixSeconds(kAt - absl::Hours(24 * 8));
  p->mutable_clamd()->set_database_build_time_unix(loaded);
  p->set_signature_build_time_unix(loaded);
  absl::StatusOr<std::vector<v1::HostCheck>> checks =
      grader_->CheckHost(*MalwareHost(facts), kAt);
  ASSERT_TRUE(checks.ok()) << checks.status();
  const v1::HostCheck* hc = FindCheck(*checks, kSignaturesCheck);
  ASSERT_NE(hc, nullptr);
  EXPECT_EQ(hc->state(), v1::CHECK_STATE_FAIL) << hc->DebugString();
  EXPECT_THAT(hc->reasons(), Contains(HasSubstr("8 days old, past")));
}

TEST_F(GraderTest, ClamonaccNotConnectedIsAWarning) {
  v1::Facts facts = ClamAvFacts(kAt - absl::Hours(24));
  v1::AntiMalwareProduct* p = facts.mutable_anti_malware()->mutable_products(0);
  p->set_realtime(v1::REALTIME_PROTECTION_DISABLED);
  p->mutable_on_access()->set_connected(false);
  absl::StatusOr<std::vector<v1::HostCheck>> checks =
      grader_->CheckHost(*MalwareHost(facts), kAt);
  ASSERT_TRUE(checks.ok()) << checks.status();
  const v1::HostCheck* hc = FindCheck(*checks, kRunningCheck);
  ASSERT_NE(hc, nullptr);
  EXPECT_EQ(hc->state(), v1::CHECK_STATE_WARN) << hc->DebugString();
  EXPECT_THAT(hc->reasons(), ElementsAre(HasSubstr("not connected")));
}

// ---------------------------------------------------------------------------
// Manual evidence (a.6.3: manual only)
// ---------------------------------------------------------------------------

TEST_F(GraderTest, NoManualEvidenceIsMajor) {
  v1::ControlGrade grade = Grade("a.6.3", {FreshDiskHost("a1", true)});
  EXPECT_EQ(grade.grade(), v1::GRADE_MAJOR_NONCONFORMITY)
      << grade.DebugString();
  EXPECT_FALSE(grade.manual().present());
  EXPECT_THAT(grade.reasons(),
              ElementsAre(HasSubstr("no manual evidence recorded")));
}

TEST_F(GraderTest, ManualEvidenceValidUntilExactlyAtIsExpiredAndMinor) {
  PutManual("a.6.3", kAt, "training-2023.pdf");
  v1::ControlGrade grade = Grade("a.6.3", {FreshDiskHost("a1", true)});
  EXPECT_EQ(grade.grade(), v1::GRADE_MINOR_NONCONFORMITY)
      << grade.DebugString();
  EXPECT_TRUE(grade.manual().present());
  EXPECT_EQ(grade.manual().file_name(), "training-2023.pdf");
  EXPECT_THAT(grade.reasons(), ElementsAre(AllOf(HasSubstr("training-2023.pdf"),
                                                 HasSubstr("expired"))));
}

TEST_F(GraderTest, ManualEvidenceExpiringExactlyAtWarningIsOpportunity) {
  PutManual("a.6.3", kAt + kExpiryWarning);
  v1::ControlGrade grade = Grade("a.6.3", {FreshDiskHost("a1", true)});
  EXPECT_EQ(grade.grade(), v1::GRADE_OPPORTUNITY_FOR_IMPROVEMENT)
      << grade.DebugString();
  EXPECT_THAT(grade.reasons(), ElementsAre(HasSubstr("expires")));
}

TEST_F(GraderTest, ManualEvidenceExpiringJustAfterWarningIsCompliant) {
  PutManual("a.6.3", kAt + kExpiryWarning + absl::Seconds(1));
  v1::ControlGrade grade = Grade("a.6.3", {FreshDiskHost("a1", true)});
  EXPECT_EQ(grade.grade(), v1::GRADE_COMPLIANT) << grade.DebugString();
  EXPECT_THAT(grade.reasons(), IsEmpty());
  EXPECT_EQ(FromProto(grade.manual().valid_until()),
            kAt + kExpiryWarning + absl::Seconds(1));
}

// ---------------------------------------------------------------------------
// a.5.9: the asset register is the set of enrolled hosts
// ---------------------------------------------------------------------------

TEST_F(GraderTest, AssetRegisterWithNoHostsIsMajor) {
  v1::ControlGrade grade = Grade("a.5.9", {});
  EXPECT_EQ(grade.grade(), v1::GRADE_MAJOR_NONCONFORMITY)
      << grade.DebugString();
  EXPECT_THAT(grade.reasons(), Contains(HasSubstr("no host is enrolled")));
}

TEST_F(GraderTest, AssetRegisterWithOneSilentHostIsMinorNamingIt) {
  const absl::Time silent_since = kAt - kMaxSilence - absl::Seconds(1);
  HostPtr silent =
      DiskHost("a2", true, silent_since, silent_since, silent_since);
  v1::ControlGrade grade = Grade("a.5.9", {FreshDiskHost("a1", true), silent});
  EXPECT_EQ(grade.grade(), v1::GRADE_MINOR_NONCONFORMITY)
      << grade.DebugString();
  EXPECT_THAT(grade.reasons(), ElementsAre(HasSubstr("host-a2 silent since")));
}

TEST_F(GraderTest, AssetRegisterWithEveryHostReportingIsCompliant) {
  const absl::Time last = kAt - kMaxSilence;  // the last moment not silent
  v1::ControlGrade grade = Grade(
      "a.5.9",
      {FreshDiskHost("a1", true), DiskHost("a2", true, last, last, last)});
  EXPECT_EQ(grade.grade(), v1::GRADE_COMPLIANT) << grade.DebugString();
  EXPECT_THAT(grade.reasons(), IsEmpty());
}

// ---------------------------------------------------------------------------
// Not applicable, findings, unknown control
// ---------------------------------------------------------------------------

TEST_F(GraderTest, NotApplicableControlIsGradedNotApplicable) {
  // Even with a failing fleet and no manual evidence at all.
  v1::ControlGrade grade = Grade("a.7.6", {FreshDiskHost("a1", false)});
  EXPECT_EQ(grade.grade(), v1::GRADE_NOT_APPLICABLE) << grade.DebugString();
  EXPECT_FALSE(grade.applicable());
  EXPECT_FALSE(grade.justification().empty());
  EXPECT_THAT(grade.reasons(), IsEmpty());
}

TEST_F(GraderTest, FindingsListFailuresBeforeStaleHosts) {
  PutManual("a.8.24", kFarFuture);
  const absl::Time old = kAt - kStaleAfter - absl::Hours(1);
  // The stale host comes first in the input: the order must come from the
  // states, not from the hosts.
  HostPtr stale = DiskHost("a1", true, kAt - absl::Hours(1), old, old);
  HostPtr failing = FreshDiskHost("a2", false);
  HostPtr passing = FreshDiskHost("a3", true);

  v1::ControlGrade grade =
      Grade("a.8.24", {stale, failing, passing}, kAt, true);
  EXPECT_EQ(grade.grade(), v1::GRADE_MINOR_NONCONFORMITY)
      << grade.DebugString();
  ASSERT_THAT(grade.findings(), SizeIs(2)) << grade.DebugString();
  EXPECT_EQ(grade.findings(0).agent_id(), "a2");
  EXPECT_EQ(grade.findings(0).hostname(), "host-a2");
  EXPECT_EQ(grade.findings(0).state(), v1::CHECK_STATE_FAIL);
  EXPECT_EQ(grade.findings(0).check_id(), kDiskCheck);
  EXPECT_THAT(grade.findings(0).reasons(),
              ElementsAre(HasSubstr("/home on sda3 is not encrypted")));
  EXPECT_EQ(grade.findings(1).agent_id(), "a1");
  EXPECT_EQ(grade.findings(1).state(), v1::CHECK_STATE_STALE);

  // Without findings, none are listed, but the grade is the same.
  v1::ControlGrade summary = Grade("a.8.24", {stale, failing, passing});
  EXPECT_EQ(summary.grade(), grade.grade());
  EXPECT_THAT(summary.findings(), IsEmpty());
}

TEST_F(GraderTest, UnknownControlIsNotFound) {
  absl::StatusOr<v1::ControlGrade> grade =
      grader_->GradeControl("a.9.99", {}, kAt, false);
  EXPECT_EQ(grade.status().code(), absl::StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------
// The verdict cache
// ---------------------------------------------------------------------------

// The same facts body (one digest) passes while the signatures are young
// and fails once they are past 7 days: a cached PASS must not outlive the
// moment its age condition flips.
TEST_F(GraderTest, CachedVerdictIsNotReusedPastItsValidUntil) {
  const absl::Time t1 = kAt;
  const absl::Time t2 = t1 + absl::Hours(24 * 8);
  const std::string digest =
      PutFacts(ClamAvFacts(t1 - absl::Hours(24)));  // 1 day old at t1

  // The agent re-reports the unchanged body before each grading.
  auto host_at = [&](absl::Time t) {
    const absl::Time seen = t - absl::Hours(1);
    return MakeHost("a1", "host-a1", seen,
                    {Observation(kMalwareProbe, digest, 1, seen, seen)});
  };

  absl::StatusOr<std::vector<v1::HostCheck>> first =
      grader_->CheckHost(*host_at(t1), t1);
  ASSERT_TRUE(first.ok()) << first.status();
  const v1::HostCheck* at_t1 = FindCheck(*first, kSignaturesCheck);
  ASSERT_NE(at_t1, nullptr);
  EXPECT_EQ(at_t1->state(), v1::CHECK_STATE_PASS);

  absl::StatusOr<std::vector<v1::HostCheck>> second =
      grader_->CheckHost(*host_at(t2), t2);
  ASSERT_TRUE(second.ok()) << second.status();
  const v1::HostCheck* at_t2 = FindCheck(*second, kSignaturesCheck);
  ASSERT_NE(at_t2, nullptr);
  EXPECT_EQ(at_t2->state(), v1::CHECK_STATE_FAIL) << at_t2->DebugString();
  EXPECT_THAT(at_t2->reasons(), Contains(HasSubstr("7-day limit")));

  // Back to t1 (a past moment graded after the present): PASS again, not
  // the FAIL cached at t2.
  absl::StatusOr<std::vector<v1::HostCheck>> again =
      grader_->CheckHost(*host_at(t1), t1);
  ASSERT_TRUE(again.ok()) << again.status();
  const v1::HostCheck* back = FindCheck(*again, kSignaturesCheck);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->state(), v1::CHECK_STATE_PASS) << back->DebugString();
}

// A cached verdict's reasons state an age; asked later, they must state the
// age as of the later moment, not as of when the verdict was cached.
TEST_F(GraderTest, CachedReasonsStateTheAgeAtTheMomentGraded) {
  const absl::Time built = kAt - absl::Hours(24 * 8);
  const std::string digest = PutFacts(ClamAvFacts(built));
  auto host_at = [&](absl::Time t) {
    const absl::Time seen = t - absl::Hours(1);
    return MakeHost("a1", "host-a1", seen,
                    {Observation(kMalwareProbe, digest, 1, seen, seen)});
  };
  for (int days : {8, 20}) {
    const absl::Time t = built + absl::Hours(24 * days);
    absl::StatusOr<std::vector<v1::HostCheck>> checks =
        grader_->CheckHost(*host_at(t), t);
    ASSERT_TRUE(checks.ok()) << checks.status();
    const v1::HostCheck* hc = FindCheck(*checks, kSignaturesCheck);
    ASSERT_NE(hc, nullptr);
    EXPECT_EQ(hc->state(), v1::CHECK_STATE_FAIL);
    EXPECT_THAT(hc->reasons(),
                Contains(HasSubstr(absl::StrCat(days, " days old, past"))))
        << "graded " << days << " days after the build: " << hc->DebugString();
  }
}

// ---------------------------------------------------------------------------
// GradeAll
// ---------------------------------------------------------------------------

TEST_F(GraderTest, GradeAllReturnsEverySoaRowInSoaOrder) {
  PutManual("a.8.24", kFarFuture);
  absl::StatusOr<v1::GradeControlsResponse> all =
      grader_->GradeAll({FreshDiskHost("a1", true)}, kAt);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->policy_sha256(), policy_->sha256);
  EXPECT_FALSE(all->policy_sha256().empty());
  EXPECT_EQ(FromProto(all->at()), kAt);
  ASSERT_EQ(all->controls_size(), 93);
  ASSERT_EQ(policy_->soa.size(), 93u);
  for (int i = 0; i < all->controls_size(); ++i) {
    EXPECT_EQ(all->controls(i).control_id(), policy_->soa[i].control_id)
        << "row " << i;
    EXPECT_NE(all->controls(i).grade(), v1::GRADE_UNSPECIFIED) << "row " << i;
  }
  EXPECT_EQ(all->controls(0).control_id(), "a.5.1");
  EXPECT_EQ(all->controls(92).control_id(), "a.8.34");
  // The same grades as one control at a time.
  for (const char* id : {"a.5.9", "a.6.3", "a.7.6", "a.8.24"}) {
    const policy::SoaEntry* soa = policy_->FindSoaEntry(id);
    ASSERT_NE(soa, nullptr);
    const int row = static_cast<int>(soa - policy_->soa.data());
    EXPECT_EQ(all->controls(row).grade(),
              Grade(id, {FreshDiskHost("a1", true)}).grade())
        << id;
  }
}

}  // namespace
}  // namespace evidentia::collector
