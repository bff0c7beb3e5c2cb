#include "isms/readiness.h"

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "gmock/gmock.h"
#include "grading/policy.h"
#include "gtest/gtest.h"

namespace evidentia::isms {
namespace {

using ::testing::HasSubstr;

const std::filesystem::path kPolicies =
    std::filesystem::path(EVIDENTIA_SOURCE_DIR) / "policies";

policy::PolicySet Shipped() {
  absl::StatusOr<policy::PolicySet> loaded =
      policy::LoadPolicySet(kPolicies, kPolicies / "soa.example.yaml");
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  return loaded.ok() ? *std::move(loaded) : policy::PolicySet();
}

const absl::Time kToday =
    absl::FromCivil(absl::CivilSecond(2026, 12, 3, 9), absl::UTCTimeZone());

// The SoA file, not the risk register that ships beside it.
std::string SoaBytes(const policy::PolicySet& set) {
  for (const policy::PolicySet::SourceFile& file : set.sources) {
    if (file.soa && !file.risk_register) return file.bytes;
  }
  return "";
}

// Registers every document the catalogue requires, approved and within
// review; the SoA as the file the set was loaded from.
class Registrar {
 public:
  explicit Registrar(const policy::PolicySet& set) : set_(set) {}

  void Add(const std::string& clause, const std::string& document,
           const std::string& bytes, const std::string& version = "1",
           const std::string& approved_by = "Jane Doe",
           const std::string& review_by = "2027-11-30") {
    v1::DocumentStatement s;
    s.set_clause(clause);
    s.set_document(document);
    s.set_version(version);
    s.set_sha256(Sha256(bytes));
    s.set_file_name(document + ".pdf");
    s.set_size(bytes.size());
    if (!approved_by.empty()) {
      s.set_approved_by(approved_by);
      s.set_approved_on("2026-11-30");
    }
    s.set_review_by(review_by);
    *s.mutable_signed_at() = ToProto(kToday);
    v1::StoredIsmsRecord record;
    record.set_number(isms_.size() + 1);
    record.set_payload_type(std::string(kDocumentPayloadType));
    record.set_statement(s.SerializeAsString());
    *record.mutable_received_at() = ToProto(kToday);
    EXPECT_TRUE(isms_.Add(record).ok());
  }

  void AddAllRequired() {
    for (const policy::Clause& clause : set_.clauses) {
      for (const policy::RequiredDocument& d : clause.documents) {
        Add(clause.id, d.id, d.id == "soa" ? SoaBytes(set_) : d.title);
      }
    }
  }

  const Register& isms() const { return isms_; }

 private:
  const policy::PolicySet& set_;
  Register isms_;
};

const v1::DocumentStatus* Find(const v1::ReadinessReport& report,
                               const std::string& clause,
                               const std::string& document) {
  for (const v1::ClauseReadiness& c : report.clauses()) {
    for (const v1::DocumentStatus& d : c.documents()) {
      if (c.clause() == clause && d.document() == document) return &d;
    }
  }
  return nullptr;
}

TEST(ReadinessTest, NothingRegisteredIsNotReady) {
  const policy::PolicySet set = Shipped();
  v1::ReadinessReport report = AssessReadiness(set, Register(), kToday);
  EXPECT_FALSE(report.ready());
  ASSERT_EQ(report.clauses_size(), 25);
  EXPECT_THAT(report.verdict(),
              HasSubstr("Stage 1 not ready: 16 required documents missing: "
                        "4.3 scope, 5.2 policy, "));
  const v1::DocumentStatus* scope = Find(report, "4.3", "scope");
  ASSERT_NE(scope, nullptr);
  EXPECT_EQ(scope->state(), v1::DOCUMENT_MISSING);
  EXPECT_TRUE(scope->required());
  EXPECT_EQ(scope->title(), "The scope of the ISMS");
  EXPECT_EQ(report.soa_controls(), 93u);
  EXPECT_EQ(report.soa_sha256(), Sha256Hex(SoaBytes(set)));
  // Clauses that require nothing are ready with nothing.
  EXPECT_TRUE(report.clauses(0).ready());
  EXPECT_EQ(report.clauses(0).clause(), "4.1");
}

TEST(ReadinessTest, EveryRequiredDocumentApprovedIsReady) {
  const policy::PolicySet set = Shipped();
  Registrar r(set);
  r.AddAllRequired();
  v1::ReadinessReport report = AssessReadiness(set, r.isms(), kToday);
  EXPECT_TRUE(report.ready()) << report.verdict();
  EXPECT_THAT(report.verdict(),
              HasSubstr("Stage 1 ready: all 16 required documents approved"));
  EXPECT_THAT(report.verdict(), HasSubstr("(93 controls, "));
  EXPECT_THAT(report.verdict(),
              HasSubstr("every applicable control is justified by the risk "
                        "register (21 risks, 6 requirements) and every "
                        "residual risk accepted"));
  EXPECT_TRUE(report.reasons().empty());
  for (const v1::ClauseReadiness& c : report.clauses()) EXPECT_TRUE(c.ready());
}

TEST(ReadinessTest, TheShippedRegisterCoversEveryApplicableControl) {
  const policy::PolicySet set = Shipped();
  v1::ReadinessReport report = AssessReadiness(set, Register(), kToday);
  EXPECT_TRUE(report.has_risk_register());
  EXPECT_EQ(report.risks(), 21u);
  EXPECT_EQ(report.risks_treated(), 20u);  // all but R-20, retained
  EXPECT_EQ(report.risks_accepted(), 21u);
  EXPECT_EQ(report.requirements(), 6u);
  EXPECT_EQ(report.soa_applicable(), 89u);
  EXPECT_EQ(report.controls_justified(), 89u);
  EXPECT_THAT(report.coverage_problems(), ::testing::IsEmpty());
  // The SoA's digest is the SoA's, not the register's.
  EXPECT_THAT(SoaBytes(set), HasSubstr("risk_register: risks.example.yaml"));
  EXPECT_EQ(report.soa_sha256(), Sha256Hex(SoaBytes(set)));
}

TEST(ReadinessTest, NoRiskRegisterIsNotReady) {
  policy::PolicySet set = Shipped();
  Registrar r(set);
  r.AddAllRequired();
  set.has_risk_register = false;
  set.risks.clear();
  set.requirements.clear();
  v1::ReadinessReport report = AssessReadiness(set, r.isms(), kToday);
  EXPECT_FALSE(report.ready());
  EXPECT_FALSE(report.has_risk_register());
  EXPECT_EQ(report.verdict(),
            "Stage 1 not ready: no risk register: the SoA names none");
  EXPECT_THAT(report.coverage_problems(),
              ::testing::ElementsAre(
                  "no risk register: the SoA names none (risk_register)"));
}

TEST(ReadinessTest, AnApplicableControlJustifiedByNothingIsNotReady) {
  policy::PolicySet set = Shipped();
  Registrar r(set);
  r.AddAllRequired();
  // a.5.32 is named by requirement REQ-03 only.
  std::vector<policy::Requirement>& requirements = set.requirements;
  requirements.erase(std::remove_if(requirements.begin(), requirements.end(),
                                    [](const policy::Requirement& requirement) {
                                      return requirement.id == "REQ-03";
                                    }),
                     requirements.end());
  v1::ReadinessReport report = AssessReadiness(set, r.isms(), kToday);
  EXPECT_FALSE(report.ready());
  EXPECT_EQ(report.controls_justified(), 88u);
  EXPECT_THAT(report.coverage_problems(),
              ::testing::ElementsAre("a.5.32 Intellectual property rights is "
                                     "applicable but justified by no risk "
                                     "and no requirement"));
  EXPECT_EQ(report.verdict(),
            "Stage 1 not ready: 1 applicable control justified by no risk or "
            "requirement: a.5.32");
}

TEST(ReadinessTest, AResidualRiskNotAcceptedIsNotReady) {
  policy::PolicySet set = Shipped();
  Registrar r(set);
  r.AddAllRequired();
  ASSERT_EQ(set.risks[2].id, "R-03");
  set.risks[2].accepted_by.clear();
  set.risks[2].accepted_on.clear();
  v1::ReadinessReport report = AssessReadiness(set, r.isms(), kToday);
  EXPECT_FALSE(report.ready());
  EXPECT_EQ(report.risks_accepted(), 20u);
  EXPECT_THAT(report.coverage_problems(),
              ::testing::ElementsAre(
                  "the residual risk of R-03 (Company laptops and the source "
                  "code and support data on them; likelihood 3, impact 1) is "
                  "not accepted by its owner, IT Manager"));
  EXPECT_EQ(report.verdict(),
            "Stage 1 not ready: 1 risk whose residual risk is not accepted "
            "by its owner: R-03");
}

TEST(ReadinessTest, OneMissingDocumentIsNamed) {
  const policy::PolicySet set = Shipped();
  Registrar r(set);
  for (const policy::Clause& clause : set.clauses) {
    for (const policy::RequiredDocument& d : clause.documents) {
      if (d.id == "management-review-results") continue;
      r.Add(clause.id, d.id, d.id == "soa" ? SoaBytes(set) : d.title);
    }
  }
  v1::ReadinessReport report = AssessReadiness(set, r.isms(), kToday);
  EXPECT_FALSE(report.ready());
  EXPECT_EQ(report.verdict(),
            "Stage 1 not ready: 1 required document missing: 9.3 "
            "management-review-results");
  // Registered afterwards: ready.
  r.Add("9.3", "management-review-results", "minutes");
  EXPECT_TRUE(AssessReadiness(set, r.isms(), kToday).ready());
}

TEST(ReadinessTest, TheLatestVersionCounts) {
  const policy::PolicySet set = Shipped();
  Registrar r(set);
  r.AddAllRequired();
  r.Add("5.2", "policy", "policy v2 draft", "2", /*approved_by=*/"");
  v1::ReadinessReport report = AssessReadiness(set, r.isms(), kToday);
  EXPECT_FALSE(report.ready());
  const v1::DocumentStatus* policy = Find(report, "5.2", "policy");
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(policy->state(), v1::DOCUMENT_UNAPPROVED);
  EXPECT_EQ(policy->version(), "2");
  EXPECT_EQ(policy->versions(), 2u);
  EXPECT_EQ(policy->reason(), "version 2 is not approved");
  EXPECT_THAT(report.verdict(),
              HasSubstr("1 document not approved: 5.2 policy"));
  r.Add("5.2", "policy", "policy v2", "2.1");
  EXPECT_TRUE(AssessReadiness(set, r.isms(), kToday).ready());
}

TEST(ReadinessTest, AReviewDateBeforeTodayIsOverdue) {
  const policy::PolicySet set = Shipped();
  Registrar r(set);
  r.AddAllRequired();
  r.Add("6.2", "objectives", "objectives", "2", "Jane Doe", "2026-12-03");
  EXPECT_TRUE(AssessReadiness(set, r.isms(), kToday).ready());  // due today
  v1::ReadinessReport later =
      AssessReadiness(set, r.isms(), kToday + absl::Hours(24));
  EXPECT_FALSE(later.ready());
  EXPECT_EQ(Find(later, "6.2", "objectives")->state(), v1::DOCUMENT_OVERDUE);
  EXPECT_THAT(later.verdict(),
              HasSubstr("1 document past its review date: 6.2 objectives "
                        "(review by 2026-12-03)"));
}

TEST(ReadinessTest, TheSoaMustBeTheOneGradedWith) {
  const policy::PolicySet set = Shipped();
  Registrar r(set);
  r.AddAllRequired();
  r.Add("6.1.3", "soa", SoaBytes(set) + "# edited\n", "2");
  v1::ReadinessReport report = AssessReadiness(set, r.isms(), kToday);
  EXPECT_FALSE(report.ready());
  EXPECT_EQ(Find(report, "6.1.3", "soa")->state(), v1::DOCUMENT_OUTDATED);
  EXPECT_THAT(report.verdict(), HasSubstr("is not the registered 6.1.3 soa"));
}

TEST(ReadinessTest, OwnDocumentsAreListedAndJudgedButNotRequired) {
  const policy::PolicySet set = Shipped();
  Registrar r(set);
  r.AddAllRequired();
  r.Add("4.1", "context-analysis", "context");
  v1::ReadinessReport report = AssessReadiness(set, r.isms(), kToday);
  EXPECT_TRUE(report.ready());
  const v1::DocumentStatus* own = Find(report, "4.1", "context-analysis");
  ASSERT_NE(own, nullptr);
  EXPECT_FALSE(own->required());
  EXPECT_EQ(own->state(), v1::DOCUMENT_PRESENT);
  r.Add("4.1", "context-analysis", "context v2", "2", "");
  EXPECT_THAT(AssessReadiness(set, r.isms(), kToday).verdict(),
              HasSubstr("not approved: 4.1 context-analysis"));
}

TEST(ReadinessTest, AnIncompleteSoaIsNotReady) {
  policy::PolicySet set = Shipped();
  Registrar r(set);
  r.AddAllRequired();
  set.soa[2].owner.clear();
  set.soa[3].justification = " ";
  v1::ReadinessReport report = AssessReadiness(set, r.isms(), kToday);
  EXPECT_FALSE(report.ready());
  EXPECT_THAT(report.verdict(), HasSubstr("the SoA is incomplete (2 problems"));
  EXPECT_THAT(report.verdict(), HasSubstr("a.5.3 has no owner"));
  EXPECT_THAT(report.verdict(), HasSubstr("a.5.4 is applicable without a "
                                          "justification"));
}

TEST(ReadinessTest, PlannedControlsAreNotesNotProblems) {
  policy::PolicySet set = Shipped();
  Registrar r(set);
  r.AddAllRequired();
  set.soa[0].applicable = true;
  set.soa[0].implementation = "planned";
  v1::ReadinessReport report = AssessReadiness(set, r.isms(), kToday);
  EXPECT_TRUE(report.ready()) << report.verdict();
  EXPECT_THAT(report.soa_notes(),
              ::testing::Contains("a.5.1 is applicable and planned"));
}

TEST(ReadinessTest, NoClauseCatalogueIsNotReady) {
  policy::PolicySet set = Shipped();
  set.clauses.clear();
  v1::ReadinessReport report = AssessReadiness(set, Register(), kToday);
  EXPECT_FALSE(report.ready());
  EXPECT_THAT(report.verdict(), HasSubstr("no clause catalogue"));
}

}  // namespace
}  // namespace evidentia::isms
