// The records of the certification cycle: what ValidateRecord accepts and
// refuses, proofs of effectiveness, samples, and the cycle they add up to.
#include "isms/cycle.h"

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "gmock/gmock.h"
#include "grading/evidence.h"
#include "grading/policy.h"
#include "gtest/gtest.h"
#include "isms/effectiveness.h"
#include "isms/register.h"
#include "isms/sampling.h"

namespace evidentia::isms {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::filesystem::path kPolicies =
    std::filesystem::path(EVIDENTIA_SOURCE_DIR) / "policies";

policy::PolicySet Policy() {
  static const policy::PolicySet* set = [] {
    absl::StatusOr<policy::PolicySet> loaded =
        policy::LoadPolicySet(kPolicies, kPolicies / "soa.example.yaml");
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return new policy::PolicySet(loaded.ok() ? *std::move(loaded)
                                             : policy::PolicySet());
  }();
  policy::PolicySet copy = *set;
  copy.grading.effective_after_passes = 3;
  copy.grading.effective_after_period = absl::Hours(2);
  return copy;
}

absl::Time Day(int y, int m, int d, int h = 9) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, h), absl::UTCTimeZone());
}

v1::Facts Disk(bool encrypted) {
  v1::Facts facts;
  v1::Volume& v = *facts.mutable_disk_encryption()->add_volumes();
  v.set_kind(v1::VOLUME_KIND_MOUNT);
  v.set_mount_point("/");
  v.set_resolved(true);
  v.set_encrypted(encrypted);
  v.set_device("/dev/sda2");
  return facts;
}

// A register, the fleet's evidence and a clock, with records accepted the
// way the collector accepts them: validated, then added.
class Cycle : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* id : {"host-a", "host-b", "host-c", "host-d"}) {
      v1::AgentRecord agent;
      agent.set_agent_id(id);
      *agent.mutable_enrolled_at() = ToProto(Day(2026, 1, 1));
      evidence_.AddAgent(agent);
    }
    evidence_.AddFacts(Sha256(Disk(true).SerializeAsString()), Disk(true));
    evidence_.AddFacts(Sha256(Disk(false).SerializeAsString()), Disk(false));
  }

  // Snapshot `seq` of `agent`, received at `at`.
  void Observe(const std::string& agent, uint64_t seq, absl::Time at,
               bool encrypted) {
    v1::LatestObservation o;
    o.set_check_id("linux.disk_encryption");
    o.set_probe("linux.disk_encryption");
    o.set_seq(seq);
    o.set_facts_sha256(Sha256(Disk(encrypted).SerializeAsString()));
    *o.mutable_collected_at() = ToProto(at);
    *o.mutable_received_at() = ToProto(at);
    evidence_.AddObservation(agent, o);
  }

  template <typename Message>
  absl::StatusOr<Checked> Validate(const char* type, Message m, absl::Time at) {
    *m.mutable_signed_at() = ToProto(at);
    Context c;
    c.policy = &policy_;
    c.so_far = &register_;
    c.evidence = &evidence_;
    c.at = at;
    c.evidence_from = evidence_from_;
    return ValidateRecord(type, m.SerializeAsString(), c);
  }

  template <typename Message>
  absl::Status Accept(const char* type, Message m, absl::Time at) {
    absl::StatusOr<Checked> checked = Validate(type, m, at);
    if (!checked.ok()) return checked.status();
    *m.mutable_signed_at() = ToProto(at);
    v1::StoredIsmsRecord record;
    record.set_number(register_.size() + 1);
    record.set_payload_type(type);
    record.set_statement(m.SerializeAsString());
    *record.mutable_received_at() = ToProto(at);
    return register_.Add(record);
  }

  static v1::AuditStatement Audit(v1::AuditKind kind, const std::string& id,
                                  const std::string& from,
                                  const std::string& to) {
    v1::AuditStatement a;
    a.set_audit(id);
    a.set_kind(kind);
    a.set_body("Cert Body Ltd");
    a.set_lead_auditor("A. Auditor");
    a.set_from(from);
    a.set_to(to);
    return a;
  }
  static v1::AuditClosureStatement Close(const std::string& id,
                                         const std::string& on) {
    v1::AuditClosureStatement c;
    c.set_audit(id);
    c.set_closed_on(on);
    return c;
  }
  static v1::FindingStatement Finding(const std::string& audit,
                                      const std::string& control,
                                      v1::Grade grade) {
    v1::FindingStatement f;
    f.set_audit(audit);
    f.set_control(control);
    f.set_grade(grade);
    f.set_statement("what the auditor saw");
    f.set_recorded_by("A. Auditor");
    return f;
  }
  static v1::ActionStatement Action(uint64_t finding,
                                    std::vector<std::string> hosts) {
    v1::ActionStatement a;
    a.set_finding(finding);
    a.set_root_cause("no check at install time");
    a.set_action("encrypt, and check it at install");
    a.set_owner("IT lead");
    a.set_due_on("2027-06-30");
    for (std::string& h : hosts) a.add_hosts(std::move(h));
    return a;
  }

  // Stage 1 (closed) and Stage 2 (open) in March 2027.
  void ThroughStage2() {
    ASSERT_TRUE(Accept(kAuditPayloadType,
                       Audit(v1::AUDIT_STAGE1, "stage1-2027-03-01",
                             "2027-03-01", "2027-03-02"),
                       Day(2027, 3, 1))
                    .ok());
    ASSERT_TRUE(Accept(kAuditClosurePayloadType,
                       Close("stage1-2027-03-01", "2027-03-02"),
                       Day(2027, 3, 2))
                    .ok());
    ASSERT_TRUE(Accept(kAuditPayloadType,
                       Audit(v1::AUDIT_STAGE2, "stage2-2027-03-15",
                             "2027-03-15", "2027-03-16"),
                       Day(2027, 3, 15))
                    .ok());
  }

  policy::PolicySet policy_ = Policy();
  Register register_;
  collector::MemoryEvidence evidence_;
  absl::Time evidence_from_ = absl::InfinitePast();
};

TEST_F(Cycle, AuditsFollowTheCycle) {
  absl::StatusOr<Checked> s = Validate(
      kAuditPayloadType,
      Audit(v1::AUDIT_STAGE2, "stage2-2027-03-15", "2027-03-15", "2027-03-16"),
      Day(2027, 3, 1));
  EXPECT_THAT(s.status().message(), HasSubstr("follows a closed Stage 1"));
  s = Validate(kAuditPayloadType,
               Audit(v1::AUDIT_SURVEILLANCE, "surveillance-2027-03-15",
                     "2027-03-15", "2027-03-16"),
               Day(2027, 3, 1));
  EXPECT_THAT(s.status().message(), HasSubstr("needs a certificate"));
  s = Validate(
      kAuditPayloadType,
      Audit(v1::AUDIT_STAGE1, "stage1-2027-03-01", "2027-03-01", "2027-02-28"),
      Day(2027, 3, 1));
  EXPECT_THAT(s.status().message(), HasSubstr("before it starts"));
  s = Validate(kAuditPayloadType,
               Audit(v1::AUDIT_STAGE1, "my-audit", "2027-03-01", "2027-03-02"),
               Day(2027, 3, 1));
  EXPECT_THAT(s.status().message(), HasSubstr("must be stage1-2027-03-01"));
  s = Validate(
      kAuditPayloadType,
      Audit(v1::AUDIT_STAGE1, "stage1-2027-02-30", "2027-02-30", "2027-03-02"),
      Day(2027, 3, 1));
  EXPECT_THAT(s.status().message(), HasSubstr("is not a date"));
  v1::AuditStatement no_body =
      Audit(v1::AUDIT_STAGE1, "stage1-2027-03-01", "2027-03-01", "2027-03-02");
  no_body.clear_body();
  EXPECT_THAT(
      Validate(kAuditPayloadType, no_body, Day(2027, 3, 1)).status().message(),
      HasSubstr("certification body"));

  ThroughStage2();
  s = Validate(
      kAuditPayloadType,
      Audit(v1::AUDIT_STAGE2, "stage2-2027-03-15", "2027-03-15", "2027-03-16"),
      Day(2027, 3, 15));
  EXPECT_THAT(s.status().message(), HasSubstr("already open"));
  EXPECT_THAT(
      Validate(kAuditClosurePayloadType,
               Close("stage1-2027-03-01", "2027-03-03"), Day(2027, 3, 3))
          .status()
          .message(),
      HasSubstr("already closed"));
  EXPECT_THAT(
      Validate(kAuditClosurePayloadType,
               Close("stage2-2027-03-15", "2027-03-20"), Day(2027, 3, 16))
          .status()
          .message(),
      HasSubstr("after today"));
}

TEST_F(Cycle, FindingsNeedAnOpenAuditAndAKnownTarget) {
  ThroughStage2();
  auto message = [&](v1::FindingStatement f) {
    return std::string(
        Validate(kFindingPayloadType, f, Day(2027, 3, 15)).status().message());
  };
  EXPECT_THAT(
      message(Finding("stage1-2027-03-01", "a.5.1", v1::GRADE_COMPLIANT)),
      HasSubstr("is closed"));
  EXPECT_THAT(message(Finding("stage9", "a.5.1", v1::GRADE_COMPLIANT)),
              HasSubstr("no audit"));
  EXPECT_THAT(
      message(Finding("stage2-2027-03-15", "a.9.99", v1::GRADE_COMPLIANT)),
      HasSubstr("no control"));
  v1::FindingStatement both =
      Finding("stage2-2027-03-15", "a.5.1", v1::GRADE_COMPLIANT);
  both.set_clause("6.1.2");
  EXPECT_THAT(message(both), HasSubstr("one control"));
  v1::FindingStatement clause =
      Finding("stage2-2027-03-15", "", v1::GRADE_COMPLIANT);
  clause.set_clause("6.9");
  EXPECT_THAT(message(clause), HasSubstr("no clause"));
  EXPECT_THAT(
      message(Finding("stage2-2027-03-15", "a.5.1", v1::GRADE_NOT_APPLICABLE)),
      HasSubstr("grade"));
  v1::FindingStatement ref =
      Finding("stage2-2027-03-15", "a.5.1", v1::GRADE_COMPLIANT);
  ref.add_evidence()->set_record(99);
  EXPECT_THAT(message(ref), HasSubstr("record 99"));
  v1::FindingStatement snap =
      Finding("stage2-2027-03-15", "a.5.1", v1::GRADE_COMPLIANT);
  snap.add_evidence()->mutable_snapshot()->set_agent_id("host-z");
  EXPECT_THAT(message(snap), HasSubstr("does not hold"));
  v1::FindingStatement early =
      Finding("stage2-2027-03-15", "a.5.1", v1::GRADE_COMPLIANT);
  EXPECT_THAT(std::string(Validate(kFindingPayloadType, early, Day(2027, 3, 14))
                              .status()
                              .message()),
              HasSubstr("no finding before then"));
  EXPECT_TRUE(Accept(kFindingPayloadType,
                     Finding("stage2-2027-03-15", "a.5.1", v1::GRADE_COMPLIANT),
                     Day(2027, 3, 15))
                  .ok());
}

TEST_F(Cycle, AnActionIsProvenByConsecutivePassesOfEveryHost) {
  ThroughStage2();
  ASSERT_TRUE(Accept(kFindingPayloadType,
                     Finding("stage2-2027-03-15", "a.8.24",
                             v1::GRADE_MINOR_NONCONFORMITY),
                     Day(2027, 3, 15))
                  .ok());
  const uint64_t finding = register_.size();
  EXPECT_THAT(Validate(kActionPayloadType, Action(finding, {"host-z"}),
                       Day(2027, 3, 16))
                  .status()
                  .message(),
              HasSubstr("not in the asset register"));
  EXPECT_THAT(Validate(kActionPayloadType,
                       Action(finding, {"host-b", "host-a"}), Day(2027, 3, 16))
                  .status()
                  .message(),
              HasSubstr("sorted"));
  v1::ActionStatement no_cause = Action(finding, {"host-a"});
  no_cause.clear_root_cause();
  EXPECT_THAT(Validate(kActionPayloadType, no_cause, Day(2027, 3, 16))
                  .status()
                  .message(),
              HasSubstr("root cause"));
  Observe("host-a", 1, Day(2027, 3, 15, 1), false);
  const absl::Time opened = Day(2027, 3, 16);
  ASSERT_TRUE(
      Accept(kActionPayloadType, Action(finding, {"host-a", "host-b"}), opened)
          .ok());

  ProofScope scope{"a.8.24", {"host-a", "host-b"}, opened, Day(2027, 4, 1)};
  // Before the action: host-a's failure does not count either way.
  absl::StatusOr<std::vector<v1::SnapshotRef>> proof =
      FindProof(policy_, evidence_, scope);
  EXPECT_THAT(proof.status().message(), HasSubstr("no evidence of a.8.24"));
  // host-a still fails after the action; host-b passes.
  Observe("host-a", 2, opened + absl::Hours(1), false);
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    Observe("host-b", seq, opened + absl::Hours(seq), true);
  }
  proof = FindProof(policy_, evidence_, scope);
  EXPECT_THAT(proof.status().message(),
              HasSubstr("host-a fails a.8.24 in its latest snapshot (2)"));
  v1::ActionClosureStatement close;
  close.set_finding(finding);
  EXPECT_THAT(Validate(kActionClosurePayloadType, close, Day(2027, 3, 17))
                  .status()
                  .message(),
              HasSubstr("needs the proof"));
  // Encrypted: three passes, but within the two hours the policy asks.
  for (uint64_t seq = 3; seq <= 5; ++seq) {
    Observe("host-a", seq,
            opened + absl::Hours(1) + absl::Minutes(50 * (seq - 2)), true);
  }
  proof = FindProof(policy_, evidence_, scope);
  EXPECT_THAT(proof.status().message(),
              HasSubstr("has passed a.8.24 in 3 consecutive snapshots"));
  Observe("host-a", 6, opened + absl::Hours(5), true);
  proof = FindProof(policy_, evidence_, scope);
  ASSERT_TRUE(proof.ok()) << proof.status();
  auto refs = [](const std::vector<v1::SnapshotRef>& p) {
    std::vector<std::string> out;
    for (const v1::SnapshotRef& r : p) {
      out.push_back(absl::StrCat(r.agent_id(), "/", r.seq()));
    }
    return out;
  };
  EXPECT_THAT(refs(*proof), ElementsAre("host-a/4", "host-a/5", "host-a/6",
                                        "host-b/1", "host-b/2", "host-b/3"));
  EXPECT_TRUE(CheckProof(policy_, evidence_, scope, *proof).ok());

  // Every way to bend the proof is refused.
  auto bent = [&](auto change) {
    std::vector<v1::SnapshotRef> p = *proof;
    change(p);
    return std::string(CheckProof(policy_, evidence_, scope, p).message());
  };
  EXPECT_THAT(bent([](auto& p) { p[1].set_seq(6); }),
              HasSubstr("not consecutive"));
  EXPECT_THAT(bent([](auto& p) {
                for (int i = 0; i < 3; ++i) p[i].set_seq(p[i].seq() - 2);
              }),
              HasSubstr("fails a.8.24"));
  EXPECT_THAT(bent([](auto& p) { p.resize(3); }),
              HasSubstr("no snapshot of host host-b"));
  EXPECT_THAT(bent([](auto& p) { p.erase(p.begin()); }),
              HasSubstr("the policy asks for 3"));
  EXPECT_THAT(bent([](auto& p) {
                p.push_back(p.back());
                p.back().set_agent_id("host-c");
              }),
              HasSubstr("names host host-c"));
  EXPECT_THAT(bent([](auto& p) {
                for (auto& r : p) r.set_seq(r.seq() + 10);
              }),
              HasSubstr("is not evidence"));
  ProofScope before = scope;
  before.until = opened + absl::Hours(2);
  EXPECT_FALSE(CheckProof(policy_, evidence_, before, *proof).ok());

  for (const v1::SnapshotRef& r : *proof) *close.add_proof() = r;
  ASSERT_TRUE(Accept(kActionClosurePayloadType, close, Day(2027, 4, 1)).ok());
  EXPECT_FALSE(register_.FindFinding(finding)->open());
  EXPECT_THAT(Validate(kActionClosurePayloadType, close, Day(2027, 4, 2))
                  .status()
                  .message(),
              HasSubstr("already closed"));
}

TEST_F(Cycle, AnActionWithoutHostsClosesOnEvidenceOnly) {
  ThroughStage2();
  v1::FindingStatement f =
      Finding("stage2-2027-03-15", "", v1::GRADE_MINOR_NONCONFORMITY);
  f.set_clause("9.2");
  ASSERT_TRUE(Accept(kFindingPayloadType, f, Day(2027, 3, 15)).ok());
  const uint64_t finding = register_.size();
  v1::ActionClosureStatement close;
  close.set_finding(finding);
  EXPECT_THAT(Validate(kActionClosurePayloadType, close, Day(2027, 3, 17))
                  .status()
                  .message(),
              HasSubstr("no corrective action"));
  EXPECT_THAT(Validate(kActionPayloadType, Action(finding, {"host-a"}),
                       Day(2027, 3, 16))
                  .status()
                  .message(),
              HasSubstr("names no hosts"));
  ASSERT_TRUE(
      Accept(kActionPayloadType, Action(finding, {}), Day(2027, 3, 16)).ok());
  EXPECT_THAT(Validate(kActionClosurePayloadType, close, Day(2027, 3, 17))
                  .status()
                  .message(),
              HasSubstr("needs closure evidence"));
  *close.add_proof() = v1::SnapshotRef();
  EXPECT_THAT(Validate(kActionClosurePayloadType, close, Day(2027, 3, 17))
                  .status()
                  .message(),
              HasSubstr("nothing to prove"));
  close.clear_proof();
  close.add_evidence()->set_record(1);
  EXPECT_TRUE(Accept(kActionClosurePayloadType, close, Day(2027, 3, 17)).ok());
}

TEST_F(Cycle, CertificationWaitsForNonconformitiesAndRunsThreeYears) {
  ThroughStage2();
  ASSERT_TRUE(Accept(kFindingPayloadType,
                     Finding("stage2-2027-03-15", "a.8.24",
                             v1::GRADE_MAJOR_NONCONFORMITY),
                     Day(2027, 3, 15))
                  .ok());
  const uint64_t major = register_.size();
  ASSERT_TRUE(Accept(kFindingPayloadType,
                     Finding("stage2-2027-03-15", "a.5.1",
                             v1::GRADE_OPPORTUNITY_FOR_IMPROVEMENT),
                     Day(2027, 3, 15))
                  .ok());
  const uint64_t ofi = register_.size();
  v1::DecisionStatement decision;
  decision.set_audit("stage2-2027-03-15");
  decision.set_decision(v1::DECISION_GRANTED);
  decision.set_decided_on("2027-04-01");
  decision.set_certificate("ISMS-123");
  EXPECT_THAT(Validate(kDecisionPayloadType, decision, Day(2027, 4, 1))
                  .status()
                  .message(),
              HasSubstr("still open"));
  ASSERT_TRUE(Accept(kAuditClosurePayloadType,
                     Close("stage2-2027-03-15", "2027-03-16"), Day(2027, 3, 16))
                  .ok());
  v1::CycleReport report = AssessCycle(
      register_, Day(2027, 3, 20), [](const std::string& c, absl::Time) {
        return c == "a.8.24" ? v1::GRADE_MINOR_NONCONFORMITY
                             : v1::GRADE_COMPLIANT;
      });
  EXPECT_TRUE(report.blocked());
  EXPECT_THAT(report.status(),
              HasSubstr("certification blocked: finding 4 (major "
                        "nonconformity on a.8.24)"));
  ASSERT_EQ(report.findings_size(), 2);
  EXPECT_EQ(report.findings(0).computed_grade(), v1::GRADE_MINOR_NONCONFORMITY);
  EXPECT_EQ(report.findings(0).finding().grade(),
            v1::GRADE_MAJOR_NONCONFORMITY);
  EXPECT_THAT(Validate(kDecisionPayloadType, decision, Day(2027, 4, 1))
                  .status()
                  .message(),
              HasSubstr("certification is blocked: finding 4"));

  ASSERT_TRUE(
      Accept(kActionPayloadType, Action(major, {}), Day(2027, 3, 20)).ok());
  v1::ActionClosureStatement close;
  close.set_finding(major);
  close.add_evidence()->set_manual_sha256(Sha256("new key escrow record"));
  ASSERT_TRUE(Accept(kActionClosurePayloadType, close, Day(2027, 3, 25)).ok());
  ASSERT_TRUE(Accept(kDecisionPayloadType, decision, Day(2027, 4, 1)).ok());
  EXPECT_THAT(Validate(kDecisionPayloadType, decision, Day(2027, 4, 2))
                  .status()
                  .message(),
              HasSubstr("already decided"));

  report = AssessCycle(register_, Day(2027, 4, 2), nullptr);
  EXPECT_FALSE(report.blocked());
  EXPECT_EQ(report.certified_on(), "2027-04-01");
  EXPECT_EQ(report.expires_on(), "2030-04-01");
  EXPECT_EQ(report.certificate(), "ISMS-123");
  EXPECT_THAT(report.surveillance_due(),
              ElementsAre("2028-04-01", "2029-04-01"));
  EXPECT_EQ(report.recertification_due(), "2030-04-01");
  EXPECT_EQ(report.next(), "surveillance audit 1 by 2028-04-01");
  EXPECT_EQ(AssessCycle(register_, Day(2028, 4, 2), nullptr).next(),
            "surveillance audit 1 by 2028-04-01 (overdue)");

  // A year later the open OFI is carried into the surveillance audit.
  ASSERT_TRUE(Accept(kAuditPayloadType,
                     Audit(v1::AUDIT_SURVEILLANCE, "surveillance-2028-03-01",
                           "2028-03-01", "2028-03-02"),
                     Day(2028, 3, 1))
                  .ok());
  report = AssessCycle(register_, Day(2028, 3, 2), nullptr);
  ASSERT_EQ(report.audits_size(), 3);
  EXPECT_THAT(report.audits(2).carried(), ElementsAre(ofi));
  EXPECT_THAT(report.findings(1).carried_into(),
              ElementsAre("surveillance-2028-03-01"));
  EXPECT_EQ(report.findings(1).state(), v1::FINDING_OPEN);
  EXPECT_EQ(report.next(), "surveillance audit 2 by 2029-04-01");
  EXPECT_THAT(AssessCycle(register_, Day(2030, 4, 2), nullptr).status(),
              HasSubstr("certificate expired on 2030-04-01"));
}

TEST_F(Cycle, ASampleIsWhatItsSeedGives) {
  ThroughStage2();
  for (const char* host : {"host-a", "host-b", "host-c", "host-d"}) {
    for (uint64_t seq = 1; seq <= 80; ++seq) {
      Observe(host, seq, Day(2027, 3, 14, 0) + absl::Hours(seq), true);
    }
  }
  SampleRequest request{"stage2-2027-03-15",
                        absl::CivilDay(2027, 3, 15),
                        absl::CivilDay(2027, 3, 16),
                        "auditor's seed 7f3a",
                        "a.8.24",
                        2,
                        3};
  absl::StatusOr<v1::SampleStatement> sample =
      DrawSample(policy_, evidence_, request);
  ASSERT_TRUE(sample.ok()) << sample.status();
  EXPECT_THAT(sample->population(),
              ElementsAre("host-a", "host-b", "host-c", "host-d"));
  ASSERT_EQ(sample->drawn_size(), 2);
  ASSERT_EQ(sample->picks_size(), 6);
  for (const v1::SampledSnapshot& pick : sample->picks()) {
    const absl::Time at = FromProto(pick.at());
    EXPECT_GE(at, Day(2027, 3, 15, 0));
    EXPECT_LT(at, Day(2027, 3, 17, 0));
    // Hourly snapshots from 01:00 on the 14th: the one in effect.
    EXPECT_EQ(pick.seq(), static_cast<uint64_t>((at - Day(2027, 3, 14, 0)) /
                                                absl::Hours(1)));
  }
  // The same inputs give the same sample; another seed another.
  absl::StatusOr<v1::SampleStatement> again =
      DrawSample(policy_, evidence_, request);
  EXPECT_EQ(again->SerializeAsString(), sample->SerializeAsString());
  request.seed = "another seed 0000";
  again = DrawSample(policy_, evidence_, request);
  EXPECT_NE(again->SerializeAsString(), sample->SerializeAsString());
  request.control = "a.5.1";
  EXPECT_THAT(DrawSample(policy_, evidence_, request).status().message(),
              HasSubstr("no host evidence"));

  EXPECT_THAT(Validate(kSamplePayloadType, *sample, Day(2027, 3, 16))
                  .status()
                  .message(),
              HasSubstr("after the audit's period"));
  v1::SampleStatement chosen = *sample;
  chosen.set_drawn(0, chosen.drawn(0) == "host-a" ? "host-b" : "host-a");
  EXPECT_THAT(
      Validate(kSamplePayloadType, chosen, Day(2027, 3, 17)).status().message(),
      HasSubstr("not what its seed gives"));
  v1::SampleStatement moved = *sample;
  moved.mutable_picks(0)->set_seq(1);
  EXPECT_FALSE(Validate(kSamplePayloadType, moved, Day(2027, 3, 17)).ok());
  v1::SampleStatement smaller = *sample;
  smaller.mutable_population()->RemoveLast();
  EXPECT_THAT(Validate(kSamplePayloadType, smaller, Day(2027, 3, 17))
                  .status()
                  .message(),
              HasSubstr("population holds 3"));
  v1::SampleStatement weak = *sample;
  weak.set_seed("1234");
  EXPECT_THAT(
      Validate(kSamplePayloadType, weak, Day(2027, 3, 17)).status().message(),
      HasSubstr("shorter than 8"));
  EXPECT_TRUE(Accept(kSamplePayloadType, *sample, Day(2027, 3, 17)).ok());
  // A bundle without the period's evidence checks all but the draw.
  evidence_from_ = Day(2027, 3, 16);
  v1::SampleStatement many = chosen;
  many.set_hosts(101);
  EXPECT_THAT(
      Validate(kSamplePayloadType, many, Day(2027, 3, 17)).status().message(),
      HasSubstr("1 to 100 hosts"));
  absl::StatusOr<Checked> checked =
      Validate(kSamplePayloadType, chosen, Day(2027, 3, 17));
  ASSERT_TRUE(checked.ok());
  EXPECT_EQ(*checked, Checked::kNotRecomputed);
}

TEST_F(Cycle, AProofEndsWithTheHostsLatestSnapshot) {
  ThroughStage2();
  ASSERT_TRUE(Accept(kFindingPayloadType,
                     Finding("stage2-2027-03-15", "a.8.24",
                             v1::GRADE_MINOR_NONCONFORMITY),
                     Day(2027, 3, 15))
                  .ok());
  const absl::Time opened = Day(2027, 3, 16);
  ASSERT_TRUE(
      Accept(kActionPayloadType, Action(register_.size(), {"host-a"}), opened)
          .ok());
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    Observe("host-a", seq, opened + absl::Hours(seq), true);
  }
  ProofScope scope{"a.8.24", {"host-a"}, opened, Day(2027, 4, 1)};
  absl::StatusOr<std::vector<v1::SnapshotRef>> proof =
      FindProof(policy_, evidence_, scope);
  ASSERT_TRUE(proof.ok()) << proof.status();
  // Failing again: the older passing run proves nothing now.
  Observe("host-a", 4, opened + absl::Hours(4), false);
  EXPECT_THAT(
      std::string(CheckProof(policy_, evidence_, scope, *proof).message()),
      HasSubstr("not with its latest (4)"));
  // A bundle that cannot recompute it still checks the proof's shape.
  evidence_from_ = Day(2027, 3, 20);
  v1::ActionClosureStatement close;
  close.set_finding(register_.size() - 1);
  for (const v1::SnapshotRef& r : *proof) *close.add_proof() = r;
  close.mutable_proof(1)->set_agent_id("host-z");
  EXPECT_THAT(
      std::string(Validate(kActionClosurePayloadType, close, Day(2027, 4, 1))
                      .status()
                      .message()),
      HasSubstr("names host host-z"));
  close.mutable_proof(1)->set_agent_id("host-a");
  absl::StatusOr<Checked> checked =
      Validate(kActionClosurePayloadType, close, Day(2027, 4, 1));
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_EQ(*checked, Checked::kNotRecomputed);
}

TEST_F(Cycle, ACertificateNeedsItsNumberAndLastsThreeYears) {
  ThroughStage2();
  ASSERT_TRUE(Accept(kAuditClosurePayloadType,
                     Close("stage2-2027-03-15", "2027-03-16"), Day(2027, 3, 16))
                  .ok());
  v1::DecisionStatement decision;
  decision.set_audit("stage2-2027-03-15");
  decision.set_decision(v1::DECISION_GRANTED);
  decision.set_decided_on("2027-04-01");
  EXPECT_THAT(
      std::string(Validate(kDecisionPayloadType, decision, Day(2027, 4, 1))
                      .status()
                      .message()),
      HasSubstr("certificate number"));
  decision.set_certificate("ISMS-1");
  // "Today" is the day the record arrives, whatever the signer claims.
  EXPECT_THAT(
      std::string(Validate(kDecisionPayloadType, decision, Day(2027, 3, 31))
                      .status()
                      .message()),
      HasSubstr("and today"));
  ASSERT_TRUE(Accept(kDecisionPayloadType, decision, Day(2027, 4, 1)).ok());
  EXPECT_THAT(std::string(Validate(kAuditPayloadType,
                                   Audit(v1::AUDIT_SURVEILLANCE,
                                         "surveillance-2030-04-01",
                                         "2030-04-01", "2030-04-02"),
                                   Day(2030, 4, 1))
                              .status()
                              .message()),
              HasSubstr("has expired"));
  // Recertified: the new certificate's first surveillance is next.
  ASSERT_TRUE(
      Accept(kAuditPayloadType,
             Audit(v1::AUDIT_RECERTIFICATION, "recertification-2030-01-10",
                   "2030-01-10", "2030-01-11"),
             Day(2030, 1, 10))
          .ok());
  EXPECT_EQ(AssessCycle(register_, Day(2030, 1, 12), nullptr).next(),
            "the recertification decision, before 2030-04-01");
  ASSERT_TRUE(Accept(kAuditClosurePayloadType,
                     Close("recertification-2030-01-10", "2030-01-11"),
                     Day(2030, 1, 11))
                  .ok());
  decision.set_audit("recertification-2030-01-10");
  decision.set_decided_on("2030-02-01");
  decision.set_certificate("ISMS-2");
  ASSERT_TRUE(Accept(kDecisionPayloadType, decision, Day(2030, 2, 1)).ok());
  const v1::CycleReport report =
      AssessCycle(register_, Day(2030, 2, 2), nullptr);
  EXPECT_EQ(report.expires_on(), "2033-02-01");
  EXPECT_EQ(report.next(), "surveillance audit 1 by 2031-02-01");
}

TEST(RecordKindsTest, EveryPayloadTypeHasItsKind) {
  EXPECT_EQ(KindOfPayloadType(kAuditPayloadType), "audit");
  EXPECT_EQ(KindOfPayloadType(kAuditClosurePayloadType), "audit-close");
  EXPECT_EQ(KindOfPayloadType(kDecisionPayloadType), "decision");
  EXPECT_EQ(KindOfPayloadType(kFindingPayloadType), "finding");
  EXPECT_EQ(KindOfPayloadType(kActionPayloadType), "action");
  EXPECT_EQ(KindOfPayloadType(kActionClosurePayloadType), "action-close");
  EXPECT_EQ(KindOfPayloadType(kSamplePayloadType), "sample");
  EXPECT_EQ(KindOfPayloadType("application/vnd.evidentia.isms-x.v1+protobuf"),
            "");
}

TEST(RegisterTest, RefusesCycleRecordsThatDoNotResolve) {
  Register r;
  v1::StoredIsmsRecord record;
  record.set_number(1);
  record.set_payload_type(kFindingPayloadType);
  v1::FindingStatement f;
  f.set_audit("stage1-2027-03-01");
  record.set_statement(f.SerializeAsString());
  EXPECT_EQ(r.Add(record).code(), absl::StatusCode::kDataLoss);
  record.set_payload_type(kActionClosurePayloadType);
  record.set_statement("\xff\xff");
  EXPECT_EQ(r.Add(record).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(r.size(), 0u);
}

}  // namespace
}  // namespace evidentia::isms
