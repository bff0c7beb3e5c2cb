#include "isms/register.h"

#include <filesystem>
#include <string>

#include "absl/status/status.h"
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

const policy::PolicySet& Shipped() {
  static const policy::PolicySet* set = [] {
    absl::StatusOr<policy::PolicySet> loaded =
        policy::LoadPolicySet(kPolicies, kPolicies / "soa.example.yaml");
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return new policy::PolicySet(loaded.ok() ? *std::move(loaded)
                                             : policy::PolicySet());
  }();
  return *set;
}

const absl::Time kSigned =
    absl::FromCivil(absl::CivilSecond(2026, 12, 3, 9), absl::UTCTimeZone());

v1::DocumentStatement Document() {
  v1::DocumentStatement s;
  s.set_clause("6.1.2");
  s.set_document("risk-assessment-process");
  s.set_version("3");
  s.set_sha256(Sha256("the method"));
  s.set_file_name("risk-method-v3.pdf");
  s.set_size(10);
  s.set_approved_by("Jane Doe");
  s.set_approved_on("2026-11-30");
  s.set_review_by("2027-11-30");
  *s.mutable_signed_at() = ToProto(kSigned);
  return s;
}

v1::StoredIsmsRecord Stored(uint64_t number, const v1::DocumentStatement& s) {
  v1::StoredIsmsRecord record;
  record.set_number(number);
  record.set_payload_type(std::string(kDocumentPayloadType));
  record.set_statement(s.SerializeAsString());
  *record.mutable_received_at() = ToProto(kSigned);
  return record;
}

TEST(ParseDayTest, AcceptsRealDates) {
  absl::StatusOr<absl::CivilDay> day = ParseDay("2028-02-29", "d");
  ASSERT_TRUE(day.ok()) << day.status();
  EXPECT_EQ(*day, absl::CivilDay(2028, 2, 29));
}

TEST(ParseDayTest, RefusesWhatIsNotADate) {
  for (const char* text :
       {"", "2026-1-01", "2026-13-01", "2026-02-29", "2026-04-31", "1969-12-31",
        "-026-01-01", "+2026-01-0", "2026/01/01", "2026-01-01 ",
        "２０２６-01-01", "2026-00-10", "2026-01-00"}) {
    absl::StatusOr<absl::CivilDay> day = ParseDay(text, "the review date");
    ASSERT_FALSE(day.ok()) << text;
    EXPECT_EQ(day.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(day.status().message()),
                HasSubstr("the review date"));
  }
}

TEST(CheckTextTest, RefusesControlsLengthAndBlanks) {
  EXPECT_TRUE(CheckText("Jane Doe", "the approver", 20, true).ok());
  EXPECT_TRUE(CheckText("", "the note", 20, false).ok());
  EXPECT_FALSE(CheckText("  ", "the version", 20, true).ok());
  EXPECT_FALSE(CheckText("a\x1b[2Jb", "the note", 20, false).ok());
  EXPECT_FALSE(CheckText("line\nbreak", "the note", 20, false).ok());
  EXPECT_FALSE(CheckText(std::string(21, 'a'), "the note", 20, false).ok());
}

TEST(RegisterTest, KeepsEveryVersionInOrder) {
  Register isms;
  v1::DocumentStatement v3 = Document();
  v1::DocumentStatement v4 = Document();
  v4.set_version("4");
  ASSERT_TRUE(isms.Add(Stored(1, v3)).ok());
  ASSERT_TRUE(isms.Add(Stored(2, v4)).ok());
  EXPECT_EQ(isms.size(), 2u);
  const std::vector<DocumentVersion>* versions =
      isms.Versions({"6.1.2", "risk-assessment-process"});
  ASSERT_NE(versions, nullptr);
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[0].statement.version(), "3");
  EXPECT_EQ((*versions)[1].statement.version(), "4");
  EXPECT_EQ((*versions)[1].record, 2u);
  EXPECT_EQ(isms.Versions({"6.1.2", "other"}), nullptr);
}

TEST(RegisterTest, CorruptRecordsAreDataLoss) {
  Register isms;
  EXPECT_EQ(isms.Add(Stored(2, Document())).code(),
            absl::StatusCode::kDataLoss);  // a gap
  v1::StoredIsmsRecord garbage = Stored(1, Document());
  garbage.set_statement("\xff\xff\xff");
  EXPECT_EQ(isms.Add(garbage).code(), absl::StatusCode::kDataLoss);
  v1::StoredIsmsRecord unknown = Stored(1, Document());
  unknown.set_payload_type("application/vnd.evidentia.snapshot.v1+protobuf");
  EXPECT_EQ(isms.Add(unknown).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(isms.size(), 0u);
  EXPECT_TRUE(isms.Add(Stored(1, Document())).ok());
}

TEST(ValidateDocumentTest, AcceptsAWellFormedVersion) {
  EXPECT_TRUE(ValidateDocument(Document(), Shipped(), Register()).ok());
  v1::DocumentStatement unapproved = Document();
  unapproved.clear_approved_by();
  unapproved.clear_approved_on();
  EXPECT_TRUE(ValidateDocument(unapproved, Shipped(), Register()).ok());
  v1::DocumentStatement own = Document();
  own.set_clause("4.1");
  own.set_document("context-analysis");
  EXPECT_TRUE(ValidateDocument(own, Shipped(), Register()).ok());
}

struct BadDocument {
  std::string name;
  void (*mutate)(v1::DocumentStatement&);
  std::string message;
};

class ValidateBadDocumentTest : public ::testing::TestWithParam<BadDocument> {};

TEST_P(ValidateBadDocumentTest, IsRefusedWithAReason) {
  v1::DocumentStatement statement = Document();
  GetParam().mutate(statement);
  absl::Status status = ValidateDocument(statement, Shipped(), Register());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ValidateBadDocumentTest,
    ::testing::Values(
        BadDocument{"UnknownClause",
                    [](v1::DocumentStatement& s) { s.set_clause("6.1"); },
                    "no clause \"6.1\""},
        BadDocument{"NoDocumentWhereSeveralAreRequired",
                    [](v1::DocumentStatement& s) {
                      s.set_clause("6.1.3");
                      s.clear_document();
                    },
                    "requires risk-treatment-process, soa, "
                    "risk-treatment-plan: say which"},
        BadDocument{"NoDocumentWhereNoneIsRequired",
                    [](v1::DocumentStatement& s) {
                      s.set_clause("4.1");
                      s.clear_document();
                    },
                    "requires no document: name yours"},
        BadDocument{
            "MalformedDocumentId",
            [](v1::DocumentStatement& s) { s.set_document("Risk Method"); },
            "is malformed"},
        BadDocument{"AnotherClausesDocument",
                    [](v1::DocumentStatement& s) { s.set_document("soa"); },
                    "document soa belongs to clause 6.1.3, not 6.1.2"},
        BadDocument{"NoVersion",
                    [](v1::DocumentStatement& s) { s.clear_version(); },
                    "the version is required"},
        BadDocument{"ShortDigest",
                    [](v1::DocumentStatement& s) { s.set_sha256("abc"); },
                    "not 32 bytes"},
        BadDocument{"EmptyFile",
                    [](v1::DocumentStatement& s) { s.set_size(0); },
                    "the document is empty"},
        BadDocument{
            "PathAsFileName",
            [](v1::DocumentStatement& s) { s.set_file_name("../etc/passwd"); },
            "holds a '/'"},
        BadDocument{"EscapesInTheApprover",
                    [](v1::DocumentStatement& s) {
                      s.set_approved_by("\x1b]0;pwned\x07");
                    },
                    "control character"},
        BadDocument{"ApproverWithoutDate",
                    [](v1::DocumentStatement& s) { s.clear_approved_on(); },
                    "needs both who approved"},
        BadDocument{"DateWithoutApprover",
                    [](v1::DocumentStatement& s) { s.clear_approved_by(); },
                    "needs both who approved"},
        BadDocument{"NoReviewDate",
                    [](v1::DocumentStatement& s) { s.clear_review_by(); },
                    "the review date \"\" is not a date"},
        BadDocument{
            "MalformedApprovalDate",
            [](v1::DocumentStatement& s) { s.set_approved_on("30/11/2026"); },
            "the approval date \"30/11/2026\" is not a date"},
        BadDocument{"ApprovedInTheFuture",
                    [](v1::DocumentStatement& s) {
                      s.set_approved_on("2026-12-04");
                      s.set_review_by("2027-12-04");
                    },
                    "is after today (2026-12-03)"},
        BadDocument{
            "ReviewBeforeApproval",
            [](v1::DocumentStatement& s) { s.set_review_by("2026-11-29"); },
            "is not after the approval date"},
        BadDocument{"NoSigningTime",
                    [](v1::DocumentStatement& s) { s.clear_signed_at(); },
                    "no signing time"}),
    [](const ::testing::TestParamInfo<BadDocument>& info) {
      return info.param.name;
    });

TEST(ValidateDocumentTest, AVersionIsRegisteredOnce) {
  Register isms;
  ASSERT_TRUE(isms.Add(Stored(1, Document())).ok());
  v1::DocumentStatement again = Document();
  again.set_sha256(Sha256("changed"));
  absl::Status status = ValidateDocument(again, Shipped(), isms);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("version 3 of 6.1.2 risk-assessment-process is "
                        "already registered (record 1)"));
  again.set_version("4");
  EXPECT_TRUE(ValidateDocument(again, Shipped(), isms).ok());
}

TEST(ValidateDocumentTest, WithoutAClauseCatalogueNothingIsAccepted) {
  policy::PolicySet no_clauses = Shipped();
  no_clauses.clauses.clear();
  absl::Status status = ValidateDocument(Document(), no_clauses, Register());
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("clause catalogue"));
}

}  // namespace
}  // namespace evidentia::isms
