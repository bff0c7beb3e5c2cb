#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <system_error>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/files.h"
#include "common/sha256.h"
#include "gmock/gmock.h"
#include "grading/policy.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace evidentia::policy {
namespace {

using ::testing::HasSubstr;

const std::filesystem::path kMinimal =
    std::filesystem::path(EVIDENTIA_SOURCE_DIR) /
    "grading/testdata/policy/minimal";
const std::filesystem::path kShipped =
    std::filesystem::path(EVIDENTIA_SOURCE_DIR) / "policies";

// A copy of the minimal policy set in a temp dir, to break one file at a time.
class PolicyCopy {
 public:
  PolicyCopy() {
    std::error_code ec;
    std::filesystem::copy(kMinimal, dir_.path(),
                          std::filesystem::copy_options::recursive, ec);
    EXPECT_FALSE(ec) << ec.message();
  }

  const std::filesystem::path& dir() const { return dir_.path(); }
  std::filesystem::path soa() const { return dir_.path() / "soa.yaml"; }

  void Write(const std::string& relative, const std::string& text) {
    std::ofstream out(dir_.path() / relative, std::ios::binary);
    out << text;
  }
  void Remove(const std::string& relative) {
    std::filesystem::remove(dir_.path() / relative);
  }

  absl::StatusOr<PolicySet> Load() const { return LoadPolicySet(dir(), soa()); }

 private:
  testing::ScopedTempDir dir_;
};

// One check (id test.extra) whose rules start at line 9.
std::string OneCheck(absl::string_view probe, absl::string_view rules) {
  return absl::StrCat(
      "checks:\n"             // 1
      "  - id: test.extra\n"  // 2
      "    title: Extra\n"    // 3
      "    probe: ",
      probe,
      "\n"                        // 4
      "    controls: [a.8.24]\n"  // 5
      "    severity: high\n"      // 6
      "    stale_after: 48h\n"    // 7
      "    rules:\n",             // 8
      rules);
}

// A full SoA over the minimal catalogue; `a51` is the a.5.1 row from line 5.
std::string Soa(absl::string_view a51) {
  return absl::StrCat(
      "organisation: Test Ltd\n"  // 1
      "settings:\n"               // 2
      "  sudo_allowed: [root]\n"  // 3
      "controls:\n",              // 4
      a51,                        // 5...
      "  - control: a.8.7\n"
      "    applicable: true\n"
      "    evidence: [manual]\n"
      "  - control: a.8.24\n"
      "    applicable: true\n"
      "    evidence: [manual]\n");
}

void ExpectInvalid(const absl::StatusOr<PolicySet>& set,
                   const std::string& where, const std::string& what) {
  ASSERT_FALSE(set.ok()) << "loaded although broken";
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument)
      << set.status();
  EXPECT_THAT(std::string(set.status().message()), HasSubstr(where));
  EXPECT_THAT(std::string(set.status().message()), HasSubstr(what));
}

// ---------------------------------------------------------------------------
// A good set
// ---------------------------------------------------------------------------

TEST(PolicyLoaderTest, LoadsCatalogueAndChecksInFileOrder) {
  absl::StatusOr<PolicySet> set =
      LoadPolicySet(kMinimal, kMinimal / "soa.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ(set->catalogue.size(), 3u);
  EXPECT_EQ(set->catalogue[2].id, "a.8.24");
  EXPECT_EQ(set->catalogue[2].theme, "technological");
  EXPECT_EQ(set->catalogue[2].title, "Use of cryptography");
  ASSERT_EQ(set->checks.size(), 3u);
  // checks/accounts.yaml sorts before checks/linux.yaml.
  EXPECT_EQ(set->checks[0].id, "test.accounts.sudo");
  EXPECT_EQ(set->checks[1].id, "test.disk.encrypted");
  EXPECT_EQ(set->checks[2].id, "test.malware.running");
}

TEST(PolicyLoaderTest, ReadsEveryFieldOfACheck) {
  absl::StatusOr<PolicySet> set =
      LoadPolicySet(kMinimal, kMinimal / "soa.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  const Check* check = set->FindCheck("test.malware.running");
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->title, "An anti-malware product runs");
  EXPECT_EQ(check->probe, "linux.anti_malware");
  EXPECT_THAT(check->platforms, ::testing::ElementsAre("linux"));
  EXPECT_THAT(check->controls, ::testing::ElementsAre("a.8.7", "a.8.24"));
  EXPECT_EQ(check->severity, "medium");
  EXPECT_EQ(check->stale_after, absl::Minutes(90));
  EXPECT_EQ(check->location.file, "checks/linux.yaml");
  EXPECT_EQ(check->location.line, 15);
  ASSERT_EQ(check->rules.size(), 2u);
  const Rule& none_of = check->rules[0];
  EXPECT_EQ(none_of.outcome, Verdict::kFail);
  EXPECT_EQ(none_of.for_each, "products");
  EXPECT_TRUE(none_of.none_of);
  ASSERT_EQ(none_of.when.size(), 2u);
  EXPECT_EQ(none_of.when[0].field, "installed");
  EXPECT_EQ(none_of.when[0].op, FieldTest::Op::kEquals);
  EXPECT_THAT(none_of.when[0].values, ::testing::ElementsAre("true"));
  EXPECT_EQ(none_of.location.line, 23);
  const Rule& age = check->rules[1];
  EXPECT_EQ(age.outcome, Verdict::kWarn);
  EXPECT_FALSE(age.none_of);
  ASSERT_EQ(age.when.size(), 1u);
  EXPECT_EQ(age.when[0].op, FieldTest::Op::kOlderThan);
  EXPECT_EQ(age.when[0].age, absl::Hours(72));
}

TEST(PolicyLoaderTest, StoresSoaInCatalogueOrder) {
  absl::StatusOr<PolicySet> set =
      LoadPolicySet(kMinimal, kMinimal / "soa.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ(set->soa.size(), 3u);
  EXPECT_EQ(set->soa[0].control_id, "a.5.1");
  EXPECT_EQ(set->soa[1].control_id, "a.8.7");
  EXPECT_EQ(set->soa[2].control_id, "a.8.24");
  EXPECT_EQ(set->soa[0].owner, "CISO");
  EXPECT_EQ(set->soa[0].implementation, "partial");
  EXPECT_THAT(set->soa[0].evidence,
              ::testing::ElementsAre("manual", "test.accounts.sudo"));
  EXPECT_FALSE(set->soa[1].applicable);
  EXPECT_EQ(set->soa[1].justification, "No endpoints in scope");
  EXPECT_EQ(set->soa[2].location.line, 11);
}

TEST(PolicyLoaderTest, ReadsOrganisationSettingsAndGrading) {
  absl::StatusOr<PolicySet> set =
      LoadPolicySet(kMinimal, kMinimal / "soa.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->organisation, "Test Ltd");
  EXPECT_THAT(set->settings["sudo_allowed"],
              ::testing::ElementsAre("root", "alice"));
  EXPECT_TRUE(set->settings.count("empty_list"));
  EXPECT_TRUE(set->settings["empty_list"].empty());
  EXPECT_EQ(set->grading.max_silence, absl::Hours(12));
  EXPECT_EQ(set->grading.major_failure_share, 0.25);
  EXPECT_EQ(set->grading.manual_expiry_warning, absl::Hours(24 * 14));
}

TEST(PolicyLoaderTest, GradingDefaultsWhenAbsent) {
  PolicyCopy copy;
  copy.Write("soa.yaml", Soa("  - control: a.5.1\n"
                             "    applicable: true\n"
                             "    evidence: [manual]\n"));
  absl::StatusOr<PolicySet> set = copy.Load();
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->grading.max_silence, absl::Hours(26));
  EXPECT_EQ(set->grading.major_failure_share, 0.5);
  EXPECT_EQ(set->grading.manual_expiry_warning, absl::Hours(24 * 30));
}

TEST(PolicyLoaderTest, FindersReturnNullForUnknownIds) {
  absl::StatusOr<PolicySet> set =
      LoadPolicySet(kMinimal, kMinimal / "soa.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_NE(set->FindControl("a.8.7"), nullptr);
  EXPECT_EQ(set->FindControl("a.8.7")->title, "Protection against malware");
  ASSERT_NE(set->FindSoaEntry("a.8.24"), nullptr);
  EXPECT_EQ(set->FindSoaEntry("a.8.24")->owner, "IT");
  EXPECT_EQ(set->FindCheck("no.such.check"), nullptr);
  EXPECT_EQ(set->FindControl("a.9.1"), nullptr);
  EXPECT_EQ(set->FindSoaEntry("a.5.2"), nullptr);
}

TEST(PolicyLoaderTest, Sha256CoversEveryFileInPathOrder) {
  absl::StatusOr<PolicySet> set =
      LoadPolicySet(kMinimal, kMinimal / "soa.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  std::string input;
  // Path order: checks/accounts.yaml, checks/linux.yaml,
  // iso27001-2022.yaml, soa.yaml (the SoA by its file name).
  for (const char* name : {"checks/accounts.yaml", "checks/linux.yaml",
                           "iso27001-2022.yaml", "soa.yaml"}) {
    absl::StatusOr<std::string> bytes = ReadFile(kMinimal / name);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    absl::StrAppend(&input, name, std::string(1, '\0'), bytes->size(),
                    std::string(1, '\0'), *bytes);
  }
  EXPECT_EQ(set->sha256, Sha256Hex(input));
}

TEST(PolicyLoaderTest, Sha256ChangesWithACommentInTheSoa) {
  PolicyCopy copy;
  absl::StatusOr<PolicySet> before = copy.Load();
  ASSERT_TRUE(before.ok()) << before.status();
  absl::StatusOr<std::string> soa = ReadFile(copy.soa());
  ASSERT_TRUE(soa.ok());
  copy.Write("soa.yaml", *soa + "# reviewed\n");
  absl::StatusOr<PolicySet> after = copy.Load();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_NE(before->sha256, after->sha256);
}

// The minimal set's files as read, the checks in reverse name order.
PolicyTexts MinimalTexts() {
  PolicyTexts texts;
  texts.catalogue = ReadFile(kMinimal / "iso27001-2022.yaml").value_or("");
  for (const char* name : {"linux.yaml", "accounts.yaml"}) {
    texts.checks.emplace_back(
        name, ReadFile(kMinimal / "checks" / name).value_or(""));
  }
  texts.soa_path = (kMinimal / "soa.yaml").string();
  texts.soa = ReadFile(kMinimal / "soa.yaml").value_or("");
  return texts;
}

TEST(PolicyLoaderTest, ParsingTheTextsGivesWhatLoadingTheFilesGives) {
  absl::StatusOr<PolicySet> loaded =
      LoadPolicySet(kMinimal, kMinimal / "soa.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<PolicySet> parsed = ParsePolicySet(MinimalTexts());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->sha256, loaded->sha256);
  ASSERT_EQ(parsed->checks.size(), loaded->checks.size());
  for (size_t i = 0; i < parsed->checks.size(); ++i) {
    EXPECT_EQ(parsed->checks[i].id, loaded->checks[i].id);
  }
  ASSERT_EQ(parsed->sources.size(), loaded->sources.size());
  for (size_t i = 0; i < parsed->sources.size(); ++i) {
    EXPECT_EQ(parsed->sources[i].path, loaded->sources[i].path);
    EXPECT_EQ(parsed->sources[i].bytes, loaded->sources[i].bytes);
  }
}

TEST(PolicyLoaderTest, ParsedSoaIsNamedByItsPathInMessages) {
  PolicyTexts texts = MinimalTexts();
  texts.soa_path = "site/our-soa.yaml";
  texts.soa = "controls: [\n";
  absl::StatusOr<PolicySet> set = ParsePolicySet(std::move(texts));
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(set.status().message()),
              HasSubstr("site/our-soa.yaml:"));
}

TEST(PolicyLoaderTest, ShippedPolicySetLoadsCleanly) {
  absl::StatusOr<PolicySet> set =
      LoadPolicySet(kShipped, kShipped / "soa.example.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->catalogue.size(), 93u);
  EXPECT_EQ(set->soa.size(), 93u);
  EXPECT_FALSE(set->checks.empty());
  // Clauses 4.1 to 10.2, and the documented information
  // ../shared/reference/iso27001-2022-clauses.md marks as required.
  ASSERT_EQ(set->clauses.size(), 25u);
  EXPECT_EQ(set->clauses.front().id, "4.1");
  EXPECT_EQ(set->clauses.back().id, "10.2");
  size_t documents = 0;
  for (const Clause& clause : set->clauses)
    documents += clause.documents.size();
  EXPECT_EQ(documents, 16u);
  const Clause* treatment = set->FindClause("6.1.3");
  ASSERT_NE(treatment, nullptr);
  ASSERT_EQ(treatment->documents.size(), 3u);
  EXPECT_EQ(treatment->documents[1].id, "soa");
  EXPECT_EQ(set->FindClause("6.1"), nullptr);
  EXPECT_TRUE(set->has_risk_register);
  EXPECT_EQ(set->grading.effective_after_passes, 3);
  EXPECT_EQ(set->grading.effective_after_period, absl::Hours(24));
}

TEST(PolicyLoaderTest, ShippedRiskRegisterJustifiesEveryApplicableControl) {
  absl::StatusOr<PolicySet> set =
      LoadPolicySet(kShipped, kShipped / "soa.example.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_TRUE(set->has_risk_register);
  EXPECT_FALSE(set->risks.empty());
  EXPECT_FALSE(set->requirements.empty());
  std::set<std::string> justified;
  for (const Risk& risk : set->risks) {
    justified.insert(risk.controls.begin(), risk.controls.end());
    EXPECT_FALSE(risk.accepted_by.empty()) << risk.id;
  }
  for (const Requirement& requirement : set->requirements) {
    justified.insert(requirement.controls.begin(), requirement.controls.end());
  }
  for (const SoaEntry& row : set->soa) {
    if (!row.applicable) continue;
    EXPECT_EQ(justified.count(row.control_id), 1u)
        << row.control_id << " is justified by nothing";
  }
  const PolicySet::SourceFile& risks = set->sources[set->sources.size() - 2];
  EXPECT_EQ(risks.path, "risks.example.yaml");
  EXPECT_TRUE(risks.soa);
  EXPECT_TRUE(risks.risk_register);
  EXPECT_EQ(set->sources.back().path, "soa.example.yaml");
}

// ---------------------------------------------------------------------------
// The clause catalogue
// ---------------------------------------------------------------------------

constexpr char kTwoClauses[] =
    "clauses:\n"
    "  - id: \"4.3\"\n"
    "    title: Scope\n"
    "    documents:\n"
    "      - id: scope\n"
    "        title: The scope\n"
    "  - id: \"10.2\"\n"
    "    title: Nonconformity\n";

TEST(PolicyLoaderTest, WithoutAClauseCatalogueThereAreNoClauses) {
  PolicyCopy copy;
  absl::StatusOr<PolicySet> set = copy.Load();
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_TRUE(set->clauses.empty());
}

TEST(PolicyLoaderTest, ClauseCatalogueIsLoadedAndDigested) {
  PolicyCopy copy;
  absl::StatusOr<PolicySet> without = copy.Load();
  ASSERT_TRUE(without.ok()) << without.status();
  copy.Write("iso27001-2022-clauses.yaml", kTwoClauses);
  absl::StatusOr<PolicySet> set = copy.Load();
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ(set->clauses.size(), 2u);
  EXPECT_EQ(set->clauses[0].id, "4.3");
  ASSERT_EQ(set->clauses[0].documents.size(), 1u);
  EXPECT_EQ(set->clauses[0].documents[0].id, "scope");
  EXPECT_EQ(set->clauses[0].documents[0].title, "The scope");
  EXPECT_TRUE(set->clauses[1].documents.empty());
  EXPECT_NE(set->sha256, without->sha256);
  bool shipped = false;
  for (const PolicySet::SourceFile& file : set->sources) {
    shipped |= file.path == "iso27001-2022-clauses.yaml" &&
               file.bytes == kTwoClauses && !file.soa;
  }
  EXPECT_TRUE(shipped);
}

struct BadClauses {
  std::string text;
  std::string message;  // "iso27001-2022-clauses.yaml:LINE: ..."
};

class BadClauseCatalogueTest : public ::testing::TestWithParam<BadClauses> {};

TEST_P(BadClauseCatalogueTest, IsRefusedWithFileAndLine) {
  PolicyCopy copy;
  copy.Write("iso27001-2022-clauses.yaml", GetParam().text);
  absl::StatusOr<PolicySet> set = copy.Load();
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(set.status().message()),
              HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadClauseCatalogueTest,
    ::testing::Values(
        BadClauses{"", "iso27001-2022-clauses.yaml:1: empty"},
        BadClauses{"clauses: []\n", "must be a non-empty list"},
        BadClauses{"clauses:\n  - id: \"3.1\"\n    title: T\n",
                   ":2: malformed clause id \"3.1\""},
        BadClauses{"clauses:\n  - id: \"4\"\n    title: T\n",
                   "malformed clause id \"4\""},
        BadClauses{"clauses:\n  - id: \"4.01\"\n    title: T\n",
                   "malformed clause id \"4.01\""},
        BadClauses{"clauses:\n  - id: \"6.1.2.1\"\n    title: T\n",
                   "malformed clause id"},
        BadClauses{"clauses:\n  - id: \"4.+1\"\n    title: T\n",
                   "malformed clause id"},
        BadClauses{"clauses:\n  - id: \"5.1\"\n    title: T\n"
                   "  - id: \"4.3\"\n    title: T\n",
                   ":4: clause 4.3 is out of order or repeated"},
        BadClauses{"clauses:\n  - id: \"5.1\"\n    title: T\n"
                   "  - id: \"5.1\"\n    title: T\n",
                   "clause 5.1 is out of order or repeated"},
        BadClauses{"clauses:\n  - id: \"5.1\"\n", "title"},
        BadClauses{"clauses:\n  - id: \"5.1\"\n    title: T\n    owner: x\n",
                   "owner"},
        BadClauses{"clauses:\n  - id: \"5.2\"\n    title: T\n"
                   "    documents: []\n",
                   "\"documents\" must be a non-empty list"},
        BadClauses{"clauses:\n  - id: \"5.2\"\n    title: T\n"
                   "    documents:\n      - id: Policy\n        title: P\n",
                   ":5: malformed document id \"Policy\""},
        BadClauses{"clauses:\n  - id: \"5.2\"\n    title: T\n"
                   "    documents:\n      - id: policy-\n        title: P\n",
                   "malformed document id \"policy-\""},
        BadClauses{"clauses:\n  - id: \"5.2\"\n    title: T\n"
                   "    documents:\n      - id: policy\n        title: P\n"
                   "  - id: \"6.2\"\n    title: T\n"
                   "    documents:\n      - id: policy\n        title: P\n",
                   ":10: duplicate document id \"policy\""}));

// ---------------------------------------------------------------------------
// Missing files
// ---------------------------------------------------------------------------

TEST(PolicyLoaderTest, MissingCatalogueIsNotFound) {
  PolicyCopy copy;
  copy.Remove("iso27001-2022.yaml");
  absl::StatusOr<PolicySet> set = copy.Load();
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(set.status().message()),
              HasSubstr("iso27001-2022.yaml"));
}

TEST(PolicyLoaderTest, MissingSoaIsNotFound) {
  PolicyCopy copy;
  absl::StatusOr<PolicySet> set =
      LoadPolicySet(copy.dir(), copy.dir() / "no-soa.yaml");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(set.status().message()), HasSubstr("no-soa.yaml"));
}

// ---------------------------------------------------------------------------
// YAML and keys
// ---------------------------------------------------------------------------

TEST(PolicyLoaderTest, RefusesMalformedYamlWithFileAndLine) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml",
             "checks:\n"
             "  - id: test.extra\n"
             "    title: a: b\n"  // 3: a plain scalar cannot hold ": "
             "    probe: linux.disk_encryption\n");
  ExpectInvalid(copy.Load(), "checks/zz_bad.yaml:3:", "malformed YAML");
}

TEST(PolicyLoaderTest, RefusesSecondYamlDocumentWithFileAndLine) {
  PolicyCopy copy;
  absl::StatusOr<std::string> soa = ReadFile(copy.soa());
  ASSERT_TRUE(soa.ok());
  const int lines =
      static_cast<int>(std::count(soa->begin(), soa->end(), '\n'));
  copy.Write("soa.yaml", *soa + "---\norganisation: Other Ltd\n");
  absl::StatusOr<PolicySet> set = copy.Load();
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(set.status().message()),
              HasSubstr(absl::StrCat("soa.yaml:", lines + 1,
                                     ": more than one YAML document")));
}

// yaml-cpp 0.7's LoadAll never returns on this (jbeder/yaml-cpp#1319): it
// appends null documents until memory runs out. Found by policy_fuzz.
TEST(PolicyLoaderTest, RefusesYamlThatNeverEndsInYamlCppLoadAll) {
  PolicyTexts texts = MinimalTexts();
  texts.catalogue = std::string(" ,#[cl\x01oume -");
  absl::StatusOr<PolicySet> set = ParsePolicySet(std::move(texts));
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(set.status().message()),
              HasSubstr("iso27001-2022.yaml:1:"));
}

TEST(PolicyLoaderTest, RefusesUnknownTopLevelKeyWithFileAndLine) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml", "# extra\nchecks: []\nversion: 2\n");
  ExpectInvalid(copy.Load(),
                "checks/zz_bad.yaml:3:", "unknown key \"version\"");
}

TEST(PolicyLoaderTest, RefusesUnknownCheckKeyWithFileAndLine) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml",
             "checks:\n"
             "  - id: test.extra\n"
             "    titel: Extra\n");
  ExpectInvalid(copy.Load(), "checks/zz_bad.yaml:3:", "unknown key \"titel\"");
}

TEST(PolicyLoaderTest, RefusesUnknownRuleKeyWithFileAndLine) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml", OneCheck("linux.disk_encryption",
                                            "      - fail: x\n"            // 9
                                            "        for_eech: volumes\n"  // 10
                                            ));
  ExpectInvalid(copy.Load(),
                "checks/zz_bad.yaml:10:", "unknown key \"for_eech\"");
}

TEST(PolicyLoaderTest, RefusesDuplicateYamlKeyWithFileAndLine) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml",
             OneCheck("linux.disk_encryption",
                      "      - fail: x\n"               // 9
                      "        when:\n"                 // 10
                      "          encrypted: false\n"    // 11
                      "          encrypted: true\n"));  // 12
  ExpectInvalid(copy.Load(),
                "checks/zz_bad.yaml:12:", "duplicate key \"encrypted\"");
}

TEST(PolicyLoaderTest, RefusesMissingRequiredKeyWithFileAndLine) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml",
             "checks:\n"
             "  - id: test.extra\n"
             "    title: Extra\n"
             "    probe: linux.disk_encryption\n"
             "    controls: [a.8.24]\n"
             "    stale_after: 48h\n"
             "    rules: [{fail: x}]\n");
  ExpectInvalid(copy.Load(), "checks/zz_bad.yaml:2:", "\"severity\"");
}

TEST(PolicyLoaderTest, RefusesRuleWithBothFailAndWarn) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml", OneCheck("linux.disk_encryption",
                                            "      - fail: x\n"  // 9
                                            "        warn: y\n"));
  ExpectInvalid(copy.Load(), "checks/zz_bad.yaml:9:", "exactly one of");
}

// ---------------------------------------------------------------------------
// Probes, fields and tests
// ---------------------------------------------------------------------------

TEST(PolicyLoaderTest, RefusesUnknownProbeWithFileAndLine) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml",
             OneCheck("linux.disk_encrypton", "      - fail: x\n"));
  ExpectInvalid(copy.Load(), "checks/zz_bad.yaml:4:",
                "unknown probe \"linux.disk_encrypton\"");
}

TEST(PolicyLoaderTest, RefusesUnknownFactsFieldNamingFieldAndType) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml",
             OneCheck("linux.disk_encryption",
                      "      - fail: x\n"                     // 9
                      "        for_each: volumes\n"           // 10
                      "        when: {encrypted: false,\n"    // 11
                      "               encryptd: false}\n"));  // 12
  const absl::StatusOr<PolicySet> set = copy.Load();
  ExpectInvalid(set, "checks/zz_bad.yaml:12:", "unknown field \"encryptd\"");
  ExpectInvalid(set, "evidentia.v1.Volume",
                "facts of linux.disk_encryption: "
                "evidentia.v1.DiskEncryptionFacts");
}

TEST(PolicyLoaderTest, RefusesUnknownNestedFieldNamingItsMessage) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml",
             OneCheck("linux.local_accounts",
                      "      - fail: x\n"                                 // 9
                      "        for_each: privileged_groups.membres\n"));  // 10
  ExpectInvalid(copy.Load(), "checks/zz_bad.yaml:10:",
                "unknown field \"membres\" (of \"privileged_groups.membres\") "
                "in evidentia.v1.PrivilegedGroup");
}

TEST(PolicyLoaderTest, RefusesForEachOnNonRepeatedField) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml",
             OneCheck("linux.disk_encryption",
                      "      - fail: x\n"                    // 9
                      "        for_each: root_fs_type\n"));  // 10
  ExpectInvalid(copy.Load(), "checks/zz_bad.yaml:10:",
                "\"root_fs_type\" is not a repeated field");
}

TEST(PolicyLoaderTest, RefusesNoneOfOnNonRepeatedField) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml",
             OneCheck("linux.anti_malware",
                      "      - fail: x\n"                            // 9
                      "        none_of: package_database_read\n"));  // 10
  ExpectInvalid(copy.Load(),
                "checks/zz_bad.yaml:10:", "is not a repeated field");
}

TEST(PolicyLoaderTest, RefusesFieldOtherThanValueOnRepeatedScalar) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml",
             OneCheck("linux.local_accounts",
                      "      - fail: x\n"                  // 9
                      "        for_each: uid0_non_root\n"  // 10
                      "        when: {name: root}\n"));    // 11
  ExpectInvalid(copy.Load(), "checks/zz_bad.yaml:11:", "\"value\"");
}

TEST(PolicyLoaderTest, RefusesBadEnumLiteralListingTheValues) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml",
             OneCheck("linux.local_accounts",
                      "      - fail: x\n"                           // 9
                      "        for_each: accounts\n"                // 10
                      "        when: {password_state: EMPTY}\n"));  // 11
  ExpectInvalid(copy.Load(), "checks/zz_bad.yaml:11:",
                "\"EMPTY\" is not one of its values (PASSWORD_STATE_UNKNOWN");
}

TEST(PolicyLoaderTest, RefusesNonBoolLiteralForBoolField) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml",
             OneCheck("linux.local_accounts",
                      "      - fail: x\n"                         // 9
                      "        when: {shadow_readable: no}\n"));  // 10
  ExpectInvalid(copy.Load(),
                "checks/zz_bad.yaml:10:", "\"no\" is not true or false");
}

TEST(PolicyLoaderTest, RefusesMalformedDurationWithFileAndLine) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml",
             "checks:\n"
             "  - id: test.extra\n"
             "    title: Extra\n"
             "    probe: linux.disk_encryption\n"
             "    controls: [a.8.24]\n"
             "    severity: high\n"
             "    stale_after: 2w\n"  // 7
             "    rules: [{fail: x}]\n");
  ExpectInvalid(copy.Load(),
                "checks/zz_bad.yaml:7:", "malformed duration \"2w\"");
}

TEST(PolicyLoaderTest, RefusesMalformedFromDates) {
  for (const char* date :
       {"2026-6-10", "2026-13-01", "2026-02-30", "10.06.2026",
        "2026-06-10T00:00:00Z", "soon", "-026-06-10", "2026-00-10",
        "2026-06-00", "2026--1-10", "2025-02-29"}) {
    PolicyCopy copy;
    copy.Write("checks/zz_bad.yaml",
               OneCheck("linux.local_accounts",
                        absl::StrCat("      - fail: x\n"  // 9
                                     "        from: ",
                                     date, "\n"  // 10
                                     )));
    ExpectInvalid(copy.Load(),
                  "checks/zz_bad.yaml:10:", "\"from\": malformed date");
  }
}

TEST(PolicyLoaderTest, RefusesZeroDuration) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml",
             OneCheck("linux.anti_malware",
                      "      - fail: x\n"             // 9
                      "        for_each: products\n"  // 10
                      "        when: {newest_signature_build_time_unix: "
                      "{older_than: 0d}}\n"));  // 11
  ExpectInvalid(copy.Load(),
                "checks/zz_bad.yaml:11:", "malformed duration \"0d\"");
}

TEST(PolicyLoaderTest, RefusesMalformedNumberWithFileAndLine) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml",
             OneCheck("linux.disk_encryption",
                      "      - fail: x\n"                               // 9
                      "        when: {volumes: {less_than: ten}}\n"));  // 10
  ExpectInvalid(copy.Load(),
                "checks/zz_bad.yaml:10:", "malformed number \"ten\"");
}

TEST(PolicyLoaderTest, RefusesMalformedIntegerLiteral) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml",
             OneCheck("linux.local_accounts",
                      "      - fail: x\n"              // 9
                      "        for_each: accounts\n"   // 10
                      "        when: {uid: 1e3}\n"));  // 11
  ExpectInvalid(copy.Load(), "checks/zz_bad.yaml:11:", "\"1e3\" is not");
}

TEST(PolicyLoaderTest, RefusesOlderThanOnStringField) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml",
             OneCheck("linux.anti_malware",
                      "      - fail: x\n"                            // 9
                      "        for_each: products\n"                 // 10
                      "        when: {name: {older_than: 7d}}\n"));  // 11
  ExpectInvalid(copy.Load(), "checks/zz_bad.yaml:11:",
                "\"older_than\" does not apply to \"name\", a string");
}

TEST(PolicyLoaderTest, RefusesUnknownPlaceholderInReason) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml",
             OneCheck("linux.disk_encryption",
                      "      - fail: \"{mount_piont} is bare\"\n"  // 9
                      "        for_each: volumes\n"));
  ExpectInvalid(copy.Load(), "checks/zz_bad.yaml:9:",
                "{mount_piont} names no field of evidentia.v1.Volume");
}

TEST(PolicyLoaderTest, RefusesAgeOfNonIntegerPlaceholder) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml",
             OneCheck("linux.anti_malware",
                      "      - warn: \"{name|age} old\"\n"  // 9
                      "        for_each: products\n"));
  ExpectInvalid(copy.Load(), "checks/zz_bad.yaml:9:", "{name|age}");
}

TEST(PolicyLoaderTest, RefusesUnclosedPlaceholder) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml",
             OneCheck("linux.disk_encryption",
                      "      - fail: \"{device is bare\"\n"));  // 9
  ExpectInvalid(copy.Load(), "checks/zz_bad.yaml:9:", "without \"}\"");
}

// ---------------------------------------------------------------------------
// Ids across files
// ---------------------------------------------------------------------------

TEST(PolicyLoaderTest, RefusesUnknownControlInCheckWithFileAndLine) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml",
             "checks:\n"
             "  - id: test.extra\n"
             "    title: Extra\n"
             "    probe: linux.disk_encryption\n"
             "    controls:\n"
             "      - a.8.24\n"
             "      - a.8.99\n"  // 7
             "    severity: high\n"
             "    stale_after: 48h\n"
             "    rules: [{fail: x}]\n");
  ExpectInvalid(copy.Load(),
                "checks/zz_bad.yaml:7:", "unknown control \"a.8.99\"");
}

TEST(PolicyLoaderTest, RefusesDuplicateCheckIdAcrossFiles) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml",
             "checks:\n"
             "  - id: test.disk.encrypted\n"  // 2
             "    title: Again\n"
             "    probe: linux.disk_encryption\n"
             "    controls: [a.8.24]\n"
             "    severity: high\n"
             "    stale_after: 48h\n"
             "    rules: [{fail: x}]\n");
  ExpectInvalid(copy.Load(), "checks/zz_bad.yaml:2:",
                "duplicate check id \"test.disk.encrypted\" (first defined "
                "at checks/linux.yaml:3)");
}

TEST(PolicyLoaderTest, RefusesDuplicateControlInCatalogue) {
  PolicyCopy copy;
  copy.Write("iso27001-2022.yaml",
             "controls:\n"
             "  - {id: a.5.1, theme: organizational, title: A}\n"
             "  - {id: a.5.1, theme: organizational, title: B}\n");  // 3
  ExpectInvalid(copy.Load(),
                "iso27001-2022.yaml:3:", "duplicate control id \"a.5.1\"");
}

TEST(PolicyLoaderTest, RefusesThemeThatDoesNotMatchTheSection) {
  PolicyCopy copy;
  copy.Write("iso27001-2022.yaml",
             "controls:\n"
             "  - id: a.5.1\n"
             "    theme: people\n"  // 3
             "    title: Policies\n");
  ExpectInvalid(copy.Load(),
                "iso27001-2022.yaml:3:", "a.5.1 is organizational, not people");
}

// ---------------------------------------------------------------------------
// The SoA
// ---------------------------------------------------------------------------

TEST(PolicyLoaderTest, RefusesUnknownCheckInSoaWithFileAndLine) {
  PolicyCopy copy;
  copy.Write("soa.yaml", Soa("  - control: a.5.1\n"             // 5
                             "    applicable: true\n"           // 6
                             "    evidence:\n"                  // 7
                             "      - manual\n"                 // 8
                             "      - test.no.such.check\n"));  // 9
  ExpectInvalid(copy.Load(),
                "soa.yaml:9:", "unknown check \"test.no.such.check\"");
}

TEST(PolicyLoaderTest, RefusesDuplicateControlInSoa) {
  PolicyCopy copy;
  copy.Write("soa.yaml", Soa("  - control: a.5.1\n"    // 5
                             "    applicable: true\n"  // 6
                             "    evidence: [manual]\n"
                             "  - control: a.5.1\n"  // 8
                             "    applicable: true\n"
                             "    evidence: [manual]\n"));
  ExpectInvalid(copy.Load(),
                "soa.yaml:8:", "control a.5.1 appears twice (first at line 5)");
}

TEST(PolicyLoaderTest, RefusesUnknownControlInSoa) {
  PolicyCopy copy;
  copy.Write("soa.yaml", Soa("  - control: a.5.1\n"
                             "    applicable: true\n"
                             "    evidence: [manual]\n"
                             "  - control: a.5.99\n"  // 8
                             "    applicable: true\n"
                             "    evidence: [manual]\n"));
  ExpectInvalid(copy.Load(), "soa.yaml:8:", "unknown control \"a.5.99\"");
}

TEST(PolicyLoaderTest, RefusesCatalogueControlMissingFromSoa) {
  PolicyCopy copy;
  copy.Write("soa.yaml", Soa(""));  // no a.5.1 row; "controls:" on line 4
  const absl::StatusOr<PolicySet> set = copy.Load();
  ExpectInvalid(set, "soa.yaml:4:", "control a.5.1");
  ExpectInvalid(set, copy.soa().string(), "missing from the SoA");
}

TEST(PolicyLoaderTest, RefusesUnknownSettingWithCheckFileAndLine) {
  PolicyCopy copy;
  copy.Write("checks/zz_bad.yaml",
             OneCheck("linux.local_accounts",
                      "      - fail: x\n"                         // 9
                      "        for_each: sudo_rules\n"            // 10
                      "        when:\n"                           // 11
                      "          principal:\n"                    // 12
                      "            in_setting: sudo_alowed\n"));  // 13
  ExpectInvalid(copy.Load(),
                "checks/zz_bad.yaml:13:", "unknown setting \"sudo_alowed\"");
}

TEST(PolicyLoaderTest, RefusesApplicableControlWithoutEvidence) {
  PolicyCopy copy;
  copy.Write("soa.yaml", Soa("  - control: a.5.1\n"  // 5
                             "    applicable: true\n"
                             "    owner: CISO\n"));
  ExpectInvalid(copy.Load(), "soa.yaml:5:",
                "applicable control a.5.1 needs at least one evidence");
}

TEST(PolicyLoaderTest, RefusesNotApplicableControlWithoutJustification) {
  PolicyCopy copy;
  copy.Write("soa.yaml", Soa("  - control: a.5.1\n"  // 5
                             "    applicable: false\n"));
  ExpectInvalid(copy.Load(), "soa.yaml:5:",
                "a.5.1 is not applicable and needs a justification");
}

TEST(PolicyLoaderTest, RefusesMajorFailureShareOutOfRange) {
  PolicyCopy copy;
  copy.Write("soa.yaml", absl::StrCat("grading:\n"
                                      "  major_failure_share: 1.5\n",  // 2
                                      Soa("  - control: a.5.1\n"
                                          "    applicable: true\n"
                                          "    evidence: [manual]\n")));
  ExpectInvalid(copy.Load(), "soa.yaml:2:", "major_failure_share");
}

// ---------------------------------------------------------------------------
// The risk register
// ---------------------------------------------------------------------------

// The minimal SoA naming the minimal risk register. a.8.7, not applicable,
// is on line 22 of soa.yaml.
class RiskRegisterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> soa = ReadFile(kMinimal / "soa.yaml");
    ASSERT_TRUE(soa.ok()) << soa.status();
    soa_ = *soa;
    NameRegister("risks.yaml");
  }

  // The SoA, naming `name` as its risk register.
  void NameRegister(const std::string& name) {
    copy_.Write("soa.yaml", absl::StrCat(soa_, "risk_register: ", name, "\n"));
  }

  PolicyCopy copy_;
  std::string soa_;  // without risk_register
};

TEST_F(RiskRegisterTest, LoadsEveryFieldOfRisksAndRequirements) {
  absl::StatusOr<PolicySet> set = copy_.Load();
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_TRUE(set->has_risk_register);
  ASSERT_EQ(set->risks.size(), 2u);
  const Risk& r = set->risks[0];
  EXPECT_EQ(r.id, "R-01");
  EXPECT_EQ(r.asset, "Laptops");
  EXPECT_EQ(r.threat, "A laptop is stolen");
  EXPECT_EQ(r.vulnerability, "Laptops leave the office");
  EXPECT_EQ(r.likelihood, 3);
  EXPECT_EQ(r.impact, 4);
  EXPECT_EQ(r.owner, "IT");
  EXPECT_EQ(r.treatment, "modify");
  EXPECT_THAT(r.controls, ::testing::ElementsAre("a.8.24"));
  EXPECT_EQ(r.residual_likelihood, 3);
  EXPECT_EQ(r.residual_impact, 1);
  EXPECT_EQ(r.accepted_by, "IT");
  EXPECT_EQ(r.accepted_on, "2026-11-20");
  EXPECT_EQ(r.location.line, 4);
  EXPECT_EQ(r.location.file, (copy_.dir() / "risks.yaml").string());
  EXPECT_EQ(set->risks[1].treatment, "retain");
  EXPECT_TRUE(set->risks[1].controls.empty());
  EXPECT_TRUE(set->risks[1].accepted_by.empty());
  ASSERT_EQ(set->requirements.size(), 1u);
  EXPECT_EQ(set->requirements[0].id, "REQ-01");
  EXPECT_EQ(set->requirements[0].source, "business");
  EXPECT_EQ(set->requirements[0].text, "The board asks for a security policy");
  EXPECT_THAT(set->requirements[0].controls, ::testing::ElementsAre("a.5.1"));
}

TEST_F(RiskRegisterTest, WithoutTheKeyThereIsNoRegister) {
  copy_.Write("soa.yaml", soa_);
  absl::StatusOr<PolicySet> set = copy_.Load();
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_FALSE(set->has_risk_register);
  EXPECT_TRUE(set->risks.empty());
  EXPECT_TRUE(set->requirements.empty());
  for (const PolicySet::SourceFile& file : set->sources) {
    EXPECT_FALSE(file.risk_register) << file.path;
  }
}

TEST_F(RiskRegisterTest, ShipsBesideTheSoaWhichComesLast) {
  absl::StatusOr<PolicySet> set = copy_.Load();
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ(set->sources.size(), 5u);
  // "risks.yaml" sorts after "iso27001-2022.yaml" and before "soa.yaml",
  // but `sources` puts what ships in soa/ last, the SoA at the very end.
  const PolicySet::SourceFile& risks = set->sources[3];
  EXPECT_EQ(risks.path, "risks.yaml");
  EXPECT_TRUE(risks.soa);
  EXPECT_TRUE(risks.risk_register);
  EXPECT_EQ(risks.bytes, ReadFile(kMinimal / "risks.yaml").value_or(""));
  EXPECT_EQ(set->sources[4].path, "soa.yaml");
  EXPECT_TRUE(set->sources[4].soa);
  EXPECT_FALSE(set->sources[4].risk_register);
}

TEST_F(RiskRegisterTest, Sha256CoversTheRegisterInPathOrder) {
  absl::StatusOr<PolicySet> set = copy_.Load();
  ASSERT_TRUE(set.ok()) << set.status();
  std::string input;
  for (const char* name : {"checks/accounts.yaml", "checks/linux.yaml",
                           "iso27001-2022.yaml", "risks.yaml", "soa.yaml"}) {
    absl::StatusOr<std::string> bytes = ReadFile(copy_.dir() / name);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    absl::StrAppend(&input, name, std::string(1, '\0'), bytes->size(),
                    std::string(1, '\0'), *bytes);
  }
  EXPECT_EQ(set->sha256, Sha256Hex(input));
}

TEST_F(RiskRegisterTest, Sha256ChangesWhenTheRegisterChanges) {
  absl::StatusOr<PolicySet> before = copy_.Load();
  ASSERT_TRUE(before.ok()) << before.status();
  absl::StatusOr<std::string> risks = ReadFile(copy_.dir() / "risks.yaml");
  ASSERT_TRUE(risks.ok());
  copy_.Write("risks.yaml", *risks + "# reviewed\n");
  absl::StatusOr<PolicySet> after = copy_.Load();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_NE(before->sha256, after->sha256);
}

TEST_F(RiskRegisterTest, RegisterInASubdirectoryIsFoundBesideTheSoa) {
  std::filesystem::create_directory(copy_.dir() / "isms");
  copy_.Write("isms/risks.yaml",
              ReadFile(kMinimal / "risks.yaml").value_or(""));
  copy_.Remove("risks.yaml");
  NameRegister("isms/risks.yaml");
  absl::StatusOr<PolicySet> set = copy_.Load();
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->sources[set->sources.size() - 2].path, "isms/risks.yaml");
}

TEST_F(RiskRegisterTest, MissingRegisterIsNotFoundNamingTheSoaLine) {
  copy_.Remove("risks.yaml");
  absl::StatusOr<PolicySet> set = copy_.Load();
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kNotFound) << set.status();
  EXPECT_THAT(std::string(set.status().message()),
              HasSubstr(absl::StrCat(copy_.soa().string(),
                                     ":25: the risk "
                                     "register ",
                                     (copy_.dir() / "risks.yaml").string(),
                                     " is missing")));
}

TEST_F(RiskRegisterTest, AMistakeInTheSoaComesBeforeAMissingRegister) {
  copy_.Remove("risks.yaml");
  copy_.Write("soa.yaml", absl::StrCat("risk_register: risks.yaml\n",
                                       Soa("  - control: a.5.99\n"
                                           "    applicable: true\n")));
  ExpectInvalid(copy_.Load(), "soa.yaml:6:", "unknown control \"a.5.99\"");
}

TEST_F(RiskRegisterTest, RefusesARegisterNamedOutsideTheSoaDirectory) {
  for (const char* name :
       {"../risks.yaml", "/etc/passwd", ".risks.yaml", "a//b.yaml",
        "risks.yaml/", "soa.yaml", "a/b/c/d/e.yaml", "risks yaml"}) {
    NameRegister(absl::StrCat("\"", name, "\""));
    ExpectInvalid(copy_.Load(), "soa.yaml:25:", "malformed \"risk_register\"");
  }
}

TEST_F(RiskRegisterTest, RefusesARegisterNamedLikeAPolicyFile) {
  NameRegister("checks/linux.yaml");
  ExpectInvalid(copy_.Load(), "soa.yaml:25:",
                "the risk register checks/linux.yaml has the name of a policy "
                "file");
}

TEST_F(RiskRegisterTest, RiskRelyingOnANotApplicableControlNamesBoth) {
  copy_.Write("risks.yaml",
              "risks:\n"
              "  - id: R-03\n"
              "    asset: Laptops\n"
              "    threat: Malware\n"
              "    vulnerability: Email\n"
              "    likelihood: 3\n"
              "    impact: 3\n"
              "    owner: IT\n"
              "    treatment: modify\n"
              "    controls:\n"
              "      - a.8.24\n"
              "      - a.8.7\n"  // 12
              "    residual_likelihood: 1\n"
              "    residual_impact: 3\n");
  ExpectInvalid(copy_.Load(),
                absl::StrCat((copy_.dir() / "risks.yaml").string(),
                             ":12: risk R-03 relies on a.8.7, which the SoA "
                             "marks not applicable (",
                             copy_.soa().string(), ":22)"),
                "");
}

TEST_F(RiskRegisterTest, RequirementRelyingOnANotApplicableControlNamesBoth) {
  copy_.Write("risks.yaml",
              "risks: []\n"
              "requirements:\n"
              "  - id: REQ-02\n"
              "    source: contractual\n"
              "    text: Customers require anti-malware\n"
              "    controls: [a.8.7]\n");  // 6
  ExpectInvalid(copy_.Load(),
                "risks.yaml:6: requirement REQ-02 relies on "
                "a.8.7, which the SoA marks not applicable (",
                copy_.soa().string() + ":22)");
}

// A register of one risk, its fields in key order, `fields` replacing or
// adding to the defaults ("DROP": left out); the risk starts on line 2.
std::string OneRisk(const std::map<std::string, std::string>& fields) {
  std::map<std::string, std::string> risk = {
      {"id", "R-01"},           {"asset", "Laptops"},
      {"threat", "Theft"},      {"vulnerability", "Carried around"},
      {"likelihood", "3"},      {"impact", "4"},
      {"owner", "IT"},          {"treatment", "modify"},
      {"controls", "[a.8.24]"}, {"residual_likelihood", "2"},
      {"residual_impact", "2"}};
  for (const auto& [key, value] : fields) risk[key] = value;
  std::string text = "risks:\n";
  bool first = true;
  for (const auto& [key, value] : risk) {
    if (value == "DROP") continue;
    absl::StrAppend(&text, first ? "  - " : "    ", key, ": ", value, "\n");
    first = false;
  }
  return text;
}

struct BadRegister {
  std::string text;
  std::string message;  // "risks.yaml:LINE: ..."
};

class BadRiskRegisterTest : public ::testing::TestWithParam<BadRegister> {};

TEST_P(BadRiskRegisterTest, IsRefusedWithFileAndLine) {
  PolicyCopy copy;
  absl::StatusOr<std::string> soa = ReadFile(kMinimal / "soa.yaml");
  ASSERT_TRUE(soa.ok());
  copy.Write("soa.yaml", *soa + "risk_register: risks.yaml\n");
  copy.Write("risks.yaml", GetParam().text);
  absl::StatusOr<PolicySet> set = copy.Load();
  ASSERT_FALSE(set.ok()) << GetParam().text;
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument)
      << set.status();
  EXPECT_THAT(std::string(set.status().message()),
              HasSubstr(GetParam().message));
}

// The keys of OneRisk in order, each on its own line from line 2:
// accepted_by and accepted_on (when given), asset (2), controls (3), id (4),
// impact (5), likelihood (6), owner (7), residual_impact (8),
// residual_likelihood (9), threat (10), treatment (11), vulnerability (12).
INSTANTIATE_TEST_SUITE_P(
    Cases, BadRiskRegisterTest,
    ::testing::Values(
        BadRegister{"", "risks.yaml:1: empty"},
        BadRegister{"risks: []\nrisk: []\n", ":2: unknown key \"risk\""},
        BadRegister{"requirements: []\n", "lacks the key \"risks\""},
        BadRegister{"risks: R-01\n", ":1: \"risks\" must be a list"},
        BadRegister{"risks: []\nrequirements: {}\n",
                    "\"requirements\" must be a list"},
        BadRegister{"risks:\n  - R-01\n", ":2: a risk must be a mapping"},
        BadRegister{OneRisk({{"severity", "high"}}),
                    "unknown key \"severity\" in a risk"},
        BadRegister{OneRisk({{"owner", "DROP"}}),
                    ":2: risk R-01 lacks the key \"owner\""},
        BadRegister{OneRisk({{"threat", "\"\""}}), "must not be empty"},
        BadRegister{OneRisk({{"asset", "[a, b]"}}), "must be a single value"},
        BadRegister{OneRisk({{"id", "R 01"}}), ":4: malformed id \"R 01\""},
        BadRegister{OneRisk({{"id", "-R1"}}), "malformed id \"-R1\""},
        BadRegister{absl::StrCat(OneRisk({}), "  - id: R-01\n"),  // 13
                    ":13: duplicate id \"R-01\" (first at line 4)"},
        BadRegister{absl::StrCat(OneRisk({}),
                                 "requirements:\n"
                                 "  - id: R-01\n"  // 14
                                 "    source: legal\n"
                                 "    text: T\n"
                                 "    controls: [a.5.1]\n"),
                    ":14: duplicate id \"R-01\" (first at line 4)"},
        BadRegister{OneRisk({{"likelihood", "0"}}),
                    ":6: \"likelihood\" of risk R-01 must be a whole number "
                    "from 1 to 5, not \"0\""},
        BadRegister{OneRisk({{"impact", "6"}}), ":5: \"impact\" of risk R-01"},
        BadRegister{OneRisk({{"residual_impact", "3.0"}}),
                    ":8: \"residual_impact\" of risk R-01 must be a whole"},
        BadRegister{OneRisk({{"residual_likelihood", "high"}}), "not \"high\""},
        BadRegister{OneRisk({{"likelihood", "+3"}}), "not \"+3\""},
        BadRegister{OneRisk({{"treatment", "transfer"}}),
                    ":11: unknown treatment \"transfer\" of risk R-01 (known: "
                    "modify, retain, avoid, share)"},
        BadRegister{OneRisk({{"controls", "DROP"}}),
                    ":2: risk R-01 is to modify: it needs the controls"},
        BadRegister{OneRisk({{"controls", "[]"}}), "is to modify: it needs"},
        BadRegister{OneRisk({{"treatment", "retain"}}),
                    ":3: risk R-01 is to retain: it names no controls"},
        BadRegister{OneRisk({{"treatment", "avoid"}}),
                    "risk R-01 is to avoid: it names no controls"},
        BadRegister{OneRisk({{"controls", "[a.8.24, a.8.24]"}}),
                    ":3: \"a.8.24\" appears twice"},
        BadRegister{OneRisk({{"controls", "[a.8.99]"}}),
                    ":3: risk R-01 names unknown control \"a.8.99\""},
        BadRegister{OneRisk({{"controls", "[A.8.24]"}}),
                    "unknown control \"A.8.24\""},
        BadRegister{OneRisk({{"controls", "a.8.24"}}), "must be a list"},
        BadRegister{OneRisk({{"accepted_by", "IT"}}),
                    ":2: risk R-01: accepted_by and accepted_on go together"},
        BadRegister{OneRisk({{"accepted_on", "2026-11-20"}}),
                    ":2: risk R-01: accepted_by and accepted_on go together"},
        BadRegister{
            OneRisk({{"accepted_by", "IT"}, {"accepted_on", "2026-11-31"}}),
            ":3: \"accepted_on\" of risk R-01: malformed date"},
        BadRegister{
            OneRisk({{"accepted_by", "IT"}, {"accepted_on", "20 Nov 2026"}}),
            "malformed date"},
        BadRegister{"risks: []\n"
                    "requirements:\n"
                    "  - id: REQ-1\n"
                    "    source: moral\n"  // 4
                    "    text: T\n"
                    "    controls: [a.5.1]\n",
                    ":4: unknown source \"moral\" of requirement REQ-1 "
                    "(known: legal, regulatory, contractual, business)"},
        BadRegister{"risks: []\n"
                    "requirements:\n"
                    "  - id: REQ-1\n"
                    "    source: legal\n"
                    "    controls: [a.5.1]\n",
                    ":3: requirement REQ-1 lacks the key \"text\""},
        BadRegister{"risks: []\n"
                    "requirements:\n"
                    "  - id: REQ-1\n"
                    "    source: legal\n"
                    "    text: T\n"
                    "    controls: []\n",
                    ":6: requirement REQ-1 needs at least one control"},
        BadRegister{"risks: []\n"
                    "requirements:\n"
                    "  - id: REQ-1\n"
                    "    source: legal\n"
                    "    text: T\n"
                    "    controls: [a.5.1]\n"
                    "    owner: CEO\n",
                    ":7: unknown key \"owner\" in a requirement"},
        BadRegister{"risks: [\n", "malformed YAML"}));

// ---------------------------------------------------------------------------
// The risk register without the file system
// ---------------------------------------------------------------------------

PolicyTexts MinimalTextsWithRegister() {
  PolicyTexts texts = MinimalTexts();
  texts.soa += "risk_register: risks.yaml\n";
  texts.risks = ReadFile(kMinimal / "risks.yaml").value_or("");
  return texts;
}

TEST(PolicyTextsTest, RegisterIsParsedAndNamedByItsNameInSources) {
  absl::StatusOr<PolicySet> set = ParsePolicySet(MinimalTextsWithRegister());
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_TRUE(set->has_risk_register);
  EXPECT_EQ(set->risks.size(), 2u);
  EXPECT_EQ(set->sources[set->sources.size() - 2].path, "risks.yaml");
  // Without risks_path, messages name it beside the SoA.
  EXPECT_EQ(set->risks[0].location.file, (kMinimal / "risks.yaml").string());
}

TEST(PolicyTextsTest, RisksPathNamesTheRegisterInMessages) {
  PolicyTexts texts = MinimalTextsWithRegister();
  texts.risks_path = "site/our-risks.yaml";
  texts.risks = "risks: [\n";
  absl::StatusOr<PolicySet> set = ParsePolicySet(std::move(texts));
  ExpectInvalid(set, "site/our-risks.yaml:", "malformed YAML");
}

TEST(PolicyTextsTest, RegisterNamedButNotGivenIsNotFound) {
  PolicyTexts texts = MinimalTextsWithRegister();
  texts.risks.reset();
  absl::StatusOr<PolicySet> set = ParsePolicySet(std::move(texts));
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(set.status().message()), HasSubstr("risk register"));
}

TEST(PolicyTextsTest, RegisterGivenButNotNamedIsRefused) {
  PolicyTexts texts = MinimalTexts();
  texts.risks = ReadFile(kMinimal / "risks.yaml").value_or("");
  ExpectInvalid(ParsePolicySet(std::move(texts)), "soa.yaml:1:",
                "a risk register was given, but the SoA names none");
}

// ---------------------------------------------------------------------------
// When a corrective action is effective
// ---------------------------------------------------------------------------

std::string SoaWithGrading(absl::string_view grading) {
  return absl::StrCat("grading:\n", grading,  // from line 2
                      Soa("  - control: a.5.1\n"
                          "    applicable: true\n"
                          "    evidence: [manual]\n"));
}

TEST(PolicyLoaderTest, EffectivenessThresholdsDefault) {
  PolicyCopy copy;
  absl::StatusOr<PolicySet> set = copy.Load();
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->grading.effective_after_passes, 3);
  EXPECT_EQ(set->grading.effective_after_period, absl::Hours(24));
}

TEST(PolicyLoaderTest, ReadsEffectivenessThresholds) {
  PolicyCopy copy;
  copy.Write("soa.yaml", SoaWithGrading("  effective_after_passes: 5\n"
                                        "  effective_after_period: 7d\n"));
  absl::StatusOr<PolicySet> set = copy.Load();
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->grading.effective_after_passes, 5);
  EXPECT_EQ(set->grading.effective_after_period, absl::Hours(24 * 7));
}

TEST(PolicyLoaderTest, EffectiveAfterAZeroPeriodIsAllowed) {
  PolicyCopy copy;
  copy.Write("soa.yaml", SoaWithGrading("  effective_after_passes: 1\n"
                                        "  effective_after_period: 0s\n"));
  absl::StatusOr<PolicySet> set = copy.Load();
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->grading.effective_after_passes, 1);
  EXPECT_EQ(set->grading.effective_after_period, absl::ZeroDuration());
}

TEST(PolicyLoaderTest, RefusesBadEffectivenessThresholds) {
  for (const char* passes : {"0", "-1", "2.5", "three", "[3]"}) {
    PolicyCopy copy;
    copy.Write("soa.yaml", SoaWithGrading(absl::StrCat(
                               "  effective_after_passes: ", passes, "\n")));
    ExpectInvalid(copy.Load(), "soa.yaml:2:", "\"effective_after_passes\"");
  }
  for (const char* period : {"-1h", "1", "0", "1w", "00s"}) {
    PolicyCopy copy;
    copy.Write("soa.yaml", SoaWithGrading(absl::StrCat(
                               "  effective_after_period: ", period, "\n")));
    ExpectInvalid(copy.Load(), "soa.yaml:2:", "\"effective_after_period\"");
  }
}

}  // namespace
}  // namespace evidentia::policy
