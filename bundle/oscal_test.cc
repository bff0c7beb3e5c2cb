#include "bundle/oscal.h"

#include <stdio.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "evidentia/v1/bundle.pb.h"
#include "evidentia/v1/cycle.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "gmock/gmock.h"
#include "grading/grading.h"
#include "grading/policy.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/temp_dir.h"

namespace evidentia::collector {
namespace {

using ::evidentia::testing::ScopedTempDir;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using Json = nlohmann::ordered_json;

// NIST's schema lives beside the source tree (../shared/reference/oscal);
// the validator is tests/oscal/validate.py, run with Debian's python3.
constexpr char kSchema[] = EVIDENTIA_OSCAL_SCHEMA;
constexpr char kValidator[] = EVIDENTIA_OSCAL_VALIDATOR;
constexpr char kPython[] = "/usr/bin/python3";

constexpr char kWeb[] = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
constexpr char kDb[] = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
constexpr char kLaptop[] = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

// The period: November 2026.
const absl::Time kFrom =
    absl::FromCivil(absl::CivilDay(2026, 11, 1), absl::UTCTimeZone());
const absl::Time kTo = kFrom + absl::Hours(30 * 24) - absl::Seconds(1);

const policy::PolicySet& Policy() {
  static const policy::PolicySet* policy = [] {
    absl::StatusOr<policy::PolicySet> loaded = policy::LoadPolicySet(
        EVIDENTIA_SOURCE_DIR "/policies",
        EVIDENTIA_SOURCE_DIR "/policies/soa.example.yaml");
    if (!loaded.ok()) {
      ADD_FAILURE() << "policy set: " << loaded.status();
      return new policy::PolicySet();
    }
    return new policy::PolicySet(*std::move(loaded));
  }();
  return *policy;
}

// A bundle's worth of input: three hosts, their snapshots, every SoA row
// graded with a mix of grades, every check on every host in every state.
struct Bundle {
  v1::BundleManifest manifest;
  v1::GradeControlsResponse grades;
  std::map<std::string, std::vector<v1::HostCheck>> host_checks;
  v1::CycleReport cycle;

  OscalInput Input() const {
    return {&manifest, &Policy(), &grades, &host_checks};
  }
  OscalInput WithCycle() const {
    OscalInput input = Input();
    input.cycle = &cycle;
    return input;
  }
};

void AddAgent(v1::BundleManifest& manifest, const std::string& id,
              const std::string& hostname, uint64_t first_seq, int snapshots,
              std::map<std::string, std::string> labels = {}) {
  v1::BundleAgent* agent = manifest.add_agents();
  agent->set_agent_id(id);
  agent->set_key_id(Sha256Hex(absl::StrCat("key of ", id)));
  agent->set_hostname(hostname);
  agent->mutable_labels()->insert(labels.begin(), labels.end());
  *agent->mutable_enrolled_at() = ToProto(kFrom - absl::Hours(24 * 90));
  for (int i = 0; i < snapshots; ++i) {
    v1::BundleSnapshot* snapshot = agent->add_snapshots();
    snapshot->set_seq(first_seq + i);
    // The first is the last one before the period, the rest daily in it.
    *snapshot->mutable_received_at() =
        ToProto(kFrom + absl::Hours(24 * i) - absl::Hours(1));
    snapshot->set_log_index(100 + i);
    snapshot->set_payload_sha256(
        Sha256Hex(absl::StrCat(id, "/", first_seq + i)));
  }
}

// The seq of each agent's newest snapshot in the bundle.
uint64_t LastSeq(const v1::BundleManifest& manifest, const std::string& id) {
  for (const v1::BundleAgent& agent : manifest.agents()) {
    if (agent.agent_id() == id) return agent.snapshots().rbegin()->seq();
  }
  return 0;
}

const std::array<v1::CheckState, 5> kStates = {
    v1::CHECK_STATE_PASS, v1::CHECK_STATE_WARN, v1::CHECK_STATE_FAIL,
    v1::CHECK_STATE_STALE, v1::CHECK_STATE_MISSING};

Bundle MakeBundle() {
  const policy::PolicySet& policy = Policy();
  Bundle b;
  v1::BundleManifest& m = b.manifest;
  m.set_format("evidentia-bundle-v1");
  *m.mutable_from() = ToProto(kFrom);
  *m.mutable_to() = ToProto(kTo);
  *m.mutable_generated_at() = ToProto(kTo + absl::Hours(8));
  m.set_organisation(policy.organisation);
  m.set_collector_key_id(Sha256Hex("collector key"));
  m.set_operator_key_id(Sha256Hex("operator key"));
  m.set_policy_sha256(policy.sha256);
  m.set_log_size(4242);
  m.set_soa_file("soa/soa.example.yaml");
  AddAgent(m, kWeb, "web-1", 4, 5, {{"dept", "engineering"}});
  AddAgent(m, kDb, "db_1", 1, 3, {{"dept", "engineering"}, {"tier", "data"}});
  AddAgent(m, kLaptop, "laptop-mkovacs", 12, 1);

  // Every check on every host, the states in turn.
  size_t turn = 0;
  for (const v1::BundleAgent& agent : m.agents()) {
    const std::string& id = agent.agent_id();
    const std::string& hostname = agent.hostname();
    for (const policy::Check& check : policy.checks) {
      v1::HostCheck hc;
      hc.set_agent_id(id);
      hc.set_hostname(hostname);
      hc.set_check_id(check.id);
      hc.set_state(kStates[turn++ % kStates.size()]);
      if (hc.state() != v1::CHECK_STATE_MISSING) {
        hc.set_seq(LastSeq(m, id));
        *hc.mutable_evidence_at() = ToProto(kTo - absl::Hours(3));
      }
      switch (hc.state()) {
        case v1::CHECK_STATE_WARN:
          hc.add_reasons("anti-malware signatures are 3 days old");
          *hc.mutable_since() = ToProto(kTo - absl::Hours(72));
          break;
        case v1::CHECK_STATE_FAIL:
          // Markdown-special characters and a line break.
          hc.add_reasons("/srv/*_data on sdb1\nis not encrypted");
          hc.add_reasons("user <eve> is in group [sudo]");
          *hc.mutable_since() = ToProto(kFrom + absl::Hours(5));
          break;
        case v1::CHECK_STATE_STALE:
          hc.add_reasons("no evidence for 9 days (allowed: 2 days)");
          hc.set_seq(hc.seq() - 1);
          *hc.mutable_evidence_at() = ToProto(kTo - absl::Hours(24 * 9));
          break;
        case v1::CHECK_STATE_MISSING:
          hc.add_reasons("the host never reported linux.anti_malware");
          break;
        default:
          break;
      }
      b.host_checks[id].push_back(std::move(hc));
    }
  }
  // Evidence older than anything in the bundle, from an agent whose clock
  // said 1850: the document must stay valid.
  v1::HostCheck& old = b.host_checks[kLaptop].back();
  old.set_state(v1::CHECK_STATE_STALE);
  old.set_seq(9);
  *old.mutable_evidence_at() =
      ToProto(absl::FromCivil(absl::CivilDay(1850, 1, 1), absl::UTCTimeZone()));

  // Every SoA row, applicable ones in turn compliant, opportunity for
  // improvement, minor and major nonconformity.
  const std::array<v1::Grade, 4> grades = {
      v1::GRADE_COMPLIANT, v1::GRADE_OPPORTUNITY_FOR_IMPROVEMENT,
      v1::GRADE_MINOR_NONCONFORMITY, v1::GRADE_MAJOR_NONCONFORMITY};
  *b.grades.mutable_at() = ToProto(kTo);
  b.grades.set_policy_sha256(policy.sha256);
  size_t graded = 0;
  for (const policy::SoaEntry& soa : policy.soa) {
    const policy::Control* control = policy.FindControl(soa.control_id);
    v1::ControlGrade* g = b.grades.add_controls();
    g->set_control_id(soa.control_id);
    g->set_title(control->title);
    g->set_theme(control->theme);
    g->set_applicable(soa.applicable);
    g->set_justification(soa.justification);
    g->set_owner(soa.owner);
    if (!soa.applicable) {
      g->set_grade(v1::GRADE_NOT_APPLICABLE);
      continue;
    }
    g->set_grade(grades[graded++ % grades.size()]);
    if (g->grade() != v1::GRADE_COMPLIANT) {
      g->add_reasons(absl::StrCat("1 of 3 hosts fails ", soa.control_id));
    }
    bool manual = false;
    for (const std::string& evidence : soa.evidence) {
      if (evidence == "manual") {
        manual = true;
      } else {
        g->add_checks(evidence);
      }
    }
    g->set_hosts_in_scope(g->checks_size() > 0 ? 3 : 0);
    g->set_hosts_passing(g->checks_size() > 0 ? 1 : 0);
    g->set_hosts_failing(g->checks_size() > 0 ? 1 : 0);
    g->set_hosts_stale(g->checks_size() > 0 ? 1 : 0);
    if (g->checks_size() > 0) {
      *g->mutable_oldest_evidence() = ToProto(kTo - absl::Hours(24 * 9));
    }
    if (manual && graded % 5 != 0) {  // some without any document yet
      v1::ManualEvidenceSummary* summary = g->mutable_manual();
      summary->set_present(true);
      summary->set_sha256(Sha256Hex(absl::StrCat("document ", soa.control_id)));
      summary->set_file_name(absl::StrCat(soa.control_id, "_policy.pdf"));
      *summary->mutable_valid_until() = ToProto(kTo + absl::Hours(24 * 200));
      summary->set_note("Approved by the board on 2026-10-02");
      v1::BundleManual* recorded = m.add_manual();
      recorded->set_control_id(soa.control_id);
      recorded->set_number(1);
      *recorded->mutable_received_at() = ToProto(kFrom - absl::Hours(24 * 30));
      recorded->set_document_sha256(summary->sha256());
    }
  }
  return b;
}

void AddRecord(v1::BundleManifest& m, uint64_t number, const std::string& kind,
               const std::string& document_sha256 = "") {
  v1::BundleIsmsRecord* record = m.add_isms();
  record->set_number(number);
  record->set_kind(kind);
  *record->mutable_received_at() =
      ToProto(kFrom + absl::Hours(24) + absl::Minutes(number));
  record->set_log_index(4000 + number);
  record->set_statement_sha256(Sha256Hex(absl::StrCat("statement ", number)));
  record->set_document_sha256(document_sha256);
}

v1::FindingView* AddFinding(v1::CycleReport& cycle, uint64_t number,
                            const std::string& audit, const std::string& on,
                            v1::Grade grade, const std::string& statement) {
  v1::FindingView* view = cycle.add_findings();
  view->set_number(number);
  v1::FindingStatement* f = view->mutable_finding();
  f->set_audit(audit);
  if (on.rfind("a.", 0) == 0) {
    f->set_control(on);
  } else {
    f->set_clause(on);
  }
  f->set_grade(grade);
  f->set_statement(statement);
  f->set_recorded_by("A. Auditor");
  view->set_state(grade == v1::GRADE_COMPLIANT ? v1::FINDING_CLOSED
                                               : v1::FINDING_OPEN);
  return view;
}

v1::ActionStatement* AddAction(v1::FindingView* view, uint64_t number,
                               const std::string& action,
                               const std::string& owner,
                               const std::string& due_on) {
  view->set_action(number);
  v1::ActionStatement* a = view->mutable_action_statement();
  a->set_finding(view->number());
  a->set_correction(absl::StrCat("Correction of finding ", view->number()));
  a->set_root_cause(absl::StrCat("Root cause of finding ", view->number()));
  a->set_action(action);
  a->set_owner(owner);
  a->set_due_on(due_on);
  return a;
}

v1::ActionClosureStatement* Close(v1::FindingView* view, uint64_t number) {
  view->set_state(v1::FINDING_CLOSED);
  view->set_closure(number);
  v1::ActionClosureStatement* c = view->mutable_closure_statement();
  c->set_finding(view->number());
  return c;
}

const std::string kRiskMethod = Sha256Hex("risk-method-v4.pdf");
constexpr char kOutside[] = "ffffffffffffffffffffffffffffffff";

// MakeBundle's, with a certification cycle (the README's): a Stage 1 minor
// on clause 6.1.2 closed by a new document version (record 20), a Stage 2
// minor on a.8.24 closed on the laptop's proof, an opportunity for
// improvement without an action carried into the surveillance audit, an
// overdue major on a.8.5, and a compliant finding on a.5.15.
Bundle MakeCycleBundle() {
  Bundle b = MakeBundle();
  v1::BundleManifest& m = b.manifest;
  AddRecord(m, 17, "audit");
  AddRecord(m, 18, "finding");
  AddRecord(m, 19, "action");
  AddRecord(m, 20, "document", kRiskMethod);
  AddRecord(m, 21, "action-close");
  AddRecord(m, 22, "audit");
  AddRecord(m, 24, "finding");
  AddRecord(m, 25, "action");
  AddRecord(m, 26, "action-close");
  AddRecord(m, 27, "finding");
  AddRecord(m, 28, "finding");
  AddRecord(m, 29, "action");
  AddRecord(m, 30, "finding");

  v1::CycleReport& c = b.cycle;
  *c.mutable_at() = ToProto(kTo);
  v1::FindingView* f18 = AddFinding(
      c, 18, "stage1-2026-10-01", "6.1.2", v1::GRADE_MINOR_NONCONFORMITY,
      "The risk method sets no acceptance criteria");
  AddAction(f18, 19, "Define the criteria", "Jane Doe", "2026-10-31");
  Close(f18, 21)->add_evidence()->set_record(20);

  v1::FindingView* f24 = AddFinding(c, 24, "stage2-2026-11-02", "a.8.24",
                                    v1::GRADE_MINOR_NONCONFORMITY,
                                    "A laptop disk is not encrypted");
  f24->set_computed_grade(v1::GRADE_COMPLIANT);
  v1::SnapshotRef* seen =
      f24->mutable_finding()->add_evidence()->mutable_snapshot();
  seen->set_agent_id(kLaptop);
  seen->set_seq(12);
  AddAction(f24, 25, "Encrypt it", "IT lead", "2026-11-20")->add_hosts(kLaptop);
  v1::ActionClosureStatement* closed = Close(f24, 26);
  closed->set_note("Re-imaged with the encrypted profile");
  for (const auto& [agent, seq] :
       {std::pair<std::string, uint64_t>{kLaptop, 12},
        {kLaptop, 9},
        {kOutside, 3}}) {
    v1::SnapshotRef* proof = closed->add_proof();
    proof->set_agent_id(agent);
    proof->set_seq(seq);
  }

  v1::FindingView* f27 = AddFinding(c, 27, "stage2-2026-11-02", "a.5.1",
                                    v1::GRADE_OPPORTUNITY_FOR_IMPROVEMENT,
                                    "Policies could name owners");
  f27->set_computed_grade(v1::GRADE_MINOR_NONCONFORMITY);
  f27->add_carried_into("surveillance-2027-11-01");

  v1::FindingView* f28 =
      AddFinding(c, 28, "stage2-2026-11-02", "a.8.5",
                 v1::GRADE_MAJOR_NONCONFORMITY, "Admin accounts lack MFA");
  f28->mutable_finding()->add_evidence()->set_manual_sha256(
      Sha256("mfa-policy.pdf"));
  f28->mutable_finding()->add_evidence()->set_record(99);
  AddAction(f28, 29, "Enforce MFA", "Ops", "2026-11-15");
  f28->set_overdue(true);

  v1::FindingView* f30 =
      AddFinding(c, 30, "stage2-2026-11-02", "a.5.15", v1::GRADE_COMPLIANT,
                 "Access rules are reviewed");
  f30->set_computed_grade(v1::GRADE_COMPLIANT);
  return b;
}

const v1::FindingView* FindView(const v1::CycleReport& cycle, uint64_t number) {
  for (const v1::FindingView& view : cycle.findings()) {
    if (view.number() == number) return &view;
  }
  ADD_FAILURE() << "no finding " << number;
  static const v1::FindingView* none = new v1::FindingView();
  return none;
}

std::string Str(const Json& j) { return j.get<std::string>(); }

Json Parse(const std::string& text) {
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(doc.is_discarded()) << "not JSON";
  return doc;
}

Json Generate(const Bundle& bundle) {
  absl::StatusOr<std::string> text = AssessmentResultsJson(bundle.Input());
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? Parse(*text) : Json();
}

Json GenerateWithCycle(const Bundle& bundle) {
  absl::StatusOr<std::string> text = AssessmentResultsJson(bundle.WithCycle());
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? Parse(*text) : Json();
}

Json GeneratePoam(const Bundle& bundle) {
  absl::StatusOr<std::string> text = PoamJson(bundle.WithCycle());
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? Parse(*text) : Json();
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

struct Validation {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs `python3 validate.py SCHEMA DOC`.
Validation RunValidator(const std::filesystem::path& doc) {
  Validation v;
  const std::string command =
      absl::StrCat(kPython, " ", ShellQuote(kValidator), " ",
                   ShellQuote(kSchema), " ", ShellQuote(doc.string()), " 2>&1");
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    v.output = "popen failed";
    return v;
  }
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) {
    v.output.append(buffer, n);
  }
  const int status = ::pclose(pipe);
  if (status != -1 && WIFEXITED(status)) v.exit_code = WEXITSTATUS(status);
  return v;
}

// Writes `text` as a file in a fresh temp dir and validates it.
class ValidatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::is_regular_file(kSchema))
        << "NIST's OSCAL 1.1.3 schema is missing: expected at " << kSchema
        << " (../shared/reference/oscal/ beside the source tree). The OSCAL "
           "export cannot be checked without it.";
    ASSERT_TRUE(std::filesystem::is_regular_file(kValidator))
        << "validator missing: " << kValidator;
    ASSERT_TRUE(std::filesystem::is_regular_file(kPython))
        << kPython << " missing: install Debian's python3, "
        << "python3-jsonschema and python3-regex (deploy/install-deps.sh)";
    ASSERT_FALSE(dir_.path().empty());
  }

  Validation Validate(const std::string& text) {
    const std::filesystem::path path = dir_.path() / "assessment-results.json";
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    return RunValidator(path);
  }
  Validation Validate(const Json& doc) { return Validate(doc.dump(2)); }

  ScopedTempDir dir_;
};

TEST_F(ValidatorTest, GeneratedDocumentIsValidOscal113) {
  absl::StatusOr<std::string> text =
      AssessmentResultsJson(MakeBundle().Input());
  ASSERT_TRUE(text.ok()) << text.status();
  const Validation v = Validate(*text);
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

TEST_F(ValidatorTest, AssessmentResultsWithAuditorFindingsAreValid) {
  absl::StatusOr<std::string> text =
      AssessmentResultsJson(MakeCycleBundle().WithCycle());
  ASSERT_TRUE(text.ok()) << text.status();
  const Validation v = Validate(*text);
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

TEST_F(ValidatorTest, PoamIsValidOscal113) {
  absl::StatusOr<std::string> text = PoamJson(MakeCycleBundle().WithCycle());
  ASSERT_TRUE(text.ok()) << text.status();
  const Validation v = Validate(*text);
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

TEST_F(ValidatorTest, PoamOfOneOpenFindingWithoutHostsIsValid) {
  Bundle b = MakeCycleBundle();
  b.manifest.clear_agents();
  b.host_checks.clear();
  v1::FindingView ofi = *FindView(b.cycle, 27);
  b.cycle.clear_findings();
  *b.cycle.add_findings() = ofi;
  absl::StatusOr<std::string> text = PoamJson(b.WithCycle());
  ASSERT_TRUE(text.ok()) << text.status();
  const Validation v = Validate(*text);
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

TEST_F(ValidatorTest, RejectsPoamWithoutItems) {
  Json doc = GeneratePoam(MakeCycleBundle());
  doc["plan-of-action-and-milestones"].erase("poam-items");
  const Validation v = Validate(doc);
  EXPECT_EQ(v.exit_code, 1) << v.output;
  EXPECT_THAT(v.output, HasSubstr("'poam-items' is a required property"));
}

TEST_F(ValidatorTest, RejectsPoamItemWithoutDescription) {
  Json doc = GeneratePoam(MakeCycleBundle());
  doc["plan-of-action-and-milestones"]["poam-items"][0].erase("description");
  const Validation v = Validate(doc);
  EXPECT_EQ(v.exit_code, 1) << v.output;
  EXPECT_THAT(v.output,
              HasSubstr("$.plan-of-action-and-milestones.poam-items[0]: "
                        "'description' is a required property"));
}

// Why a clause is "clause-6.1.2": a target id is a token, which cannot
// start with a digit.
TEST_F(ValidatorTest, RejectsClauseNumberAsTargetId) {
  Json doc = GeneratePoam(MakeCycleBundle());
  Json& finding = doc["plan-of-action-and-milestones"]["findings"][0];
  ASSERT_EQ(finding["target"]["target-id"], "clause-6.1.2");
  finding["target"]["target-id"] = "6.1.2";
  const Validation v = Validate(doc);
  EXPECT_EQ(v.exit_code, 1) << v.output;
  EXPECT_THAT(v.output, HasSubstr("findings[0].target.target-id: '6.1.2' does "
                                  "not match"));
}

TEST_F(ValidatorTest, DocumentWithoutHostsOrManualEvidenceIsValid) {
  Bundle b = MakeBundle();
  b.manifest.clear_agents();
  b.manifest.clear_manual();
  b.host_checks.clear();
  for (v1::ControlGrade& g : *b.grades.mutable_controls()) g.clear_manual();
  absl::StatusOr<std::string> text = AssessmentResultsJson(b.Input());
  ASSERT_TRUE(text.ok()) << text.status();
  const Validation v = Validate(*text);
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

TEST_F(ValidatorTest, RejectsMalformedUuid) {
  Json doc = Generate(MakeBundle());
  doc["assessment-results"]["uuid"] = "c95e24e3-00bc-57e1-9022-5455a2c6805";
  const Validation v = Validate(doc);
  EXPECT_EQ(v.exit_code, 1) << v.output;
  EXPECT_THAT(v.output, HasSubstr("$.assessment-results.uuid:"));
}

TEST_F(ValidatorTest, RejectsMissingMetadataTitle) {
  Json doc = Generate(MakeBundle());
  doc["assessment-results"]["metadata"].erase("title");
  const Validation v = Validate(doc);
  EXPECT_EQ(v.exit_code, 1) << v.output;
  EXPECT_THAT(v.output, HasSubstr("$.assessment-results.metadata: 'title' is "
                                  "a required property"));
}

TEST_F(ValidatorTest, RejectsImpossibleDateTime) {
  Json doc = Generate(MakeBundle());
  doc["assessment-results"]["results"][0]["start"] = "2026-02-30T00:00:00Z";
  const Validation v = Validate(doc);
  EXPECT_EQ(v.exit_code, 1) << v.output;
  EXPECT_THAT(v.output, HasSubstr("$.assessment-results.results[0].start: "
                                  "'2026-02-30T00:00:00Z' is not a "
                                  "'date-time'"));
}

TEST_F(ValidatorTest, RejectsDateTimeWithoutOffset) {
  Json doc = Generate(MakeBundle());
  doc["assessment-results"]["metadata"]["last-modified"] =
      "2026-12-01T08:00:00";
  const Validation v = Validate(doc);
  EXPECT_EQ(v.exit_code, 1) << v.output;
  EXPECT_THAT(v.output,
              HasSubstr("$.assessment-results.metadata.last-modified:"));
}

TEST_F(ValidatorTest, RejectsPropNameThatIsNotAToken) {
  Json doc = Generate(MakeBundle());
  doc["assessment-results"]["metadata"]["props"][0]["name"] = "bad name";
  const Validation v = Validate(doc);
  EXPECT_EQ(v.exit_code, 1) << v.output;
  EXPECT_THAT(v.output,
              HasSubstr("$.assessment-results.metadata.props[0].name: 'bad "
                        "name' does not match"));
}

// The token pattern is \p{L}-based: a non-ASCII letter is a valid token.
TEST_F(ValidatorTest, AcceptsPropNameWithNonAsciiLetter) {
  Json doc = Generate(MakeBundle());
  doc["assessment-results"]["metadata"]["props"][0]["name"] = "catégorie";
  const Validation v = Validate(doc);
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

TEST_F(ValidatorTest, RejectsPropValueEndingInNewline) {
  Json doc = Generate(MakeBundle());
  doc["assessment-results"]["metadata"]["props"][0]["value"] = "v1\n";
  const Validation v = Validate(doc);
  EXPECT_EQ(v.exit_code, 1) << v.output;
  EXPECT_THAT(v.output, HasSubstr("$.assessment-results.metadata.props[0]."
                                  "value:"));
}

TEST_F(ValidatorTest, RejectsRelativePropNamespace) {
  Json doc = Generate(MakeBundle());
  doc["assessment-results"]["metadata"]["props"][0]["ns"] = "evidentia ns";
  const Validation v = Validate(doc);
  EXPECT_EQ(v.exit_code, 1) << v.output;
  EXPECT_THAT(v.output,
              HasSubstr("$.assessment-results.metadata.props[0].ns:"));
}

TEST_F(ValidatorTest, RejectsUnknownProperty) {
  Json doc = Generate(MakeBundle());
  doc["assessment-results"]["results"][0]["grade"] = "compliant";
  const Validation v = Validate(doc);
  EXPECT_EQ(v.exit_code, 1) << v.output;
  EXPECT_THAT(v.output, HasSubstr("$.assessment-results.results[0]: "
                                  "additional properties are not allowed"));
}

TEST_F(ValidatorTest, RejectsTextThatIsNotJson) {
  const Validation v = Validate(std::string("{\"assessment-results\": "));
  EXPECT_EQ(v.exit_code, 1) << v.output;
  EXPECT_THAT(v.output, HasSubstr("not valid JSON"));
}

TEST_F(ValidatorTest, ExitsTwoOnUsageError) {
  const std::string command = absl::StrCat(kPython, " ", ShellQuote(kValidator),
                                           " ", ShellQuote(kSchema), " 2>&1");
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buffer[256];
  while (fread(buffer, 1, sizeof buffer, pipe) > 0) {
  }
  const int status = ::pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
}

TEST(OscalTest, SameInputGivesSameBytes) {
  const Bundle b = MakeBundle();
  absl::StatusOr<std::string> first = AssessmentResultsJson(b.Input());
  absl::StatusOr<std::string> second = AssessmentResultsJson(b.Input());
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*first, *second);
  const Bundle again = MakeBundle();
  absl::StatusOr<std::string> third = AssessmentResultsJson(again.Input());
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(*first, *third);
}

TEST(OscalTest, DocumentUuidChangesWithContentOthersDoNot) {
  Bundle b = MakeBundle();
  const Json before = Generate(b);
  b.host_checks[kWeb][0].add_reasons("something new");
  const Json after = Generate(b);
  const Json& ar0 = before["assessment-results"];
  const Json& ar1 = after["assessment-results"];
  EXPECT_NE(ar0["uuid"], ar1["uuid"]);
  EXPECT_EQ(ar0["results"][0]["uuid"], ar1["results"][0]["uuid"]);
  EXPECT_EQ(ar0["results"][0]["observations"][0]["uuid"],
            ar1["results"][0]["observations"][0]["uuid"]);
}

TEST(OscalTest, PrettyPrintedWithTwoSpacesEndingInNewline) {
  absl::StatusOr<std::string> text =
      AssessmentResultsJson(MakeBundle().Input());
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(text->rfind("{\n  \"assessment-results\": {\n    \"uuid\": ", 0),
            0u);
  // Exactly what nlohmann's dump(2) writes for the same tree, one newline.
  EXPECT_EQ(Parse(*text).dump(2) + "\n", *text);
}

TEST(OscalTest, MetadataNamesOrganisationPeriodAndVersion) {
  const Json doc = Generate(MakeBundle());
  const Json& metadata = doc["assessment-results"]["metadata"];
  EXPECT_THAT(metadata["title"].get<std::string>(), HasSubstr("Example Ltd: "));
  EXPECT_THAT(metadata["title"].get<std::string>(),
              HasSubstr("2026-11-01T00:00:00Z to 2026-11-30T23:59:59Z"));
  EXPECT_EQ(metadata["last-modified"], "2026-12-01T07:59:59Z");
  EXPECT_EQ(metadata["oscal-version"], "1.1.3");
  const Json& result = doc["assessment-results"]["results"][0];
  EXPECT_EQ(result["start"], "2026-11-01T00:00:00Z");
  EXPECT_EQ(result["end"], "2026-11-30T23:59:59Z");
  EXPECT_EQ(doc["assessment-results"]["import-ap"]["href"],
            "../soa/soa.example.yaml");
}

TEST(OscalTest, OneFindingPerApplicableControlAndNoneForOthers) {
  const Bundle b = MakeBundle();
  const Json doc = Generate(b);
  std::vector<std::string> applicable, targets, included, excluded;
  for (const v1::ControlGrade& g : b.grades.controls()) {
    (g.applicable() ? applicable : excluded).push_back(g.control_id());
  }
  ASSERT_FALSE(excluded.empty()) << "the example SoA has not-applicable rows";
  const Json& result = doc["assessment-results"]["results"][0];
  for (const Json& finding : result["findings"]) {
    EXPECT_EQ(finding["target"]["type"], "objective-id");
    targets.push_back(Str(finding["target"]["target-id"]));
  }
  EXPECT_EQ(targets, applicable);
  const Json& selection = result["reviewed-controls"]["control-selections"][0];
  for (const Json& c : selection["include-controls"]) {
    included.push_back(Str(c["control-id"]));
  }
  EXPECT_EQ(included, applicable);
  std::vector<std::string> excluded_doc;
  for (const Json& c : selection["exclude-controls"]) {
    excluded_doc.push_back(Str(c["control-id"]));
  }
  EXPECT_EQ(excluded_doc, excluded);
}

std::string PropValue(const Json& object, const std::string& name) {
  for (const Json& prop : object.value("props", Json::array())) {
    if (prop["name"] == name) return Str(prop["value"]);
  }
  return "";
}

TEST(OscalTest, FindingStateAndGradeWordsFollowTheGrade) {
  const Bundle b = MakeBundle();
  const Json doc = Generate(b);
  std::map<std::string, v1::Grade> grade_of;
  for (const v1::ControlGrade& g : b.grades.controls()) {
    grade_of[g.control_id()] = g.grade();
  }
  std::set<std::string> seen;
  for (const Json& f : doc["assessment-results"]["results"][0]["findings"]) {
    const v1::Grade grade = grade_of.at(Str(f["target"]["target-id"]));
    const std::string words = PropValue(f, "grade");
    seen.insert(words);
    EXPECT_EQ(words, GradeName(grade));
    const bool satisfied = grade == v1::GRADE_COMPLIANT ||
                           grade == v1::GRADE_OPPORTUNITY_FOR_IMPROVEMENT;
    EXPECT_EQ(f["target"]["status"]["state"],
              satisfied ? "satisfied" : "not-satisfied")
        << f["target"]["target-id"];
  }
  EXPECT_EQ(seen, (std::set<std::string>{
                      "compliant", "opportunity for improvement",
                      "minor nonconformity", "major nonconformity"}));
}

TEST(OscalTest, OneObservationPerCheckAndHostPlusManualEvidence) {
  const Bundle b = MakeBundle();
  const Json doc = Generate(b);
  const Json& result = doc["assessment-results"]["results"][0];
  size_t host_checks = 0;
  for (const auto& [agent, checks] : b.host_checks)
    host_checks += checks.size();
  size_t manual = 0;
  for (const v1::ControlGrade& g : b.grades.controls()) {
    manual += g.applicable() && g.manual().present();
  }
  ASSERT_GT(manual, 0u);
  EXPECT_THAT(result["observations"], SizeIs(host_checks + manual));

  std::set<std::string> items;
  for (const Json& item : result["local-definitions"]["inventory-items"]) {
    items.insert(Str(item["uuid"]));
  }
  EXPECT_THAT(items, SizeIs(3));
  std::set<std::string> states;
  for (const Json& o : result["observations"]) {
    if (o["methods"][0] != "TEST") continue;
    ASSERT_THAT(o["subjects"], SizeIs(1));
    EXPECT_EQ(o["subjects"][0]["type"], "inventory-item");
    EXPECT_EQ(items.count(Str(o["subjects"][0]["subject-uuid"])), 1u);
    states.insert(PropValue(o, "state"));
  }
  EXPECT_EQ(states, (std::set<std::string>{"pass", "warn", "fail", "stale",
                                           "missing"}));
}

TEST(OscalTest, InventoryItemsCarryHostnameAgentAndKey) {
  const Bundle b = MakeBundle();
  const Json doc = Generate(b);
  const Json& item = doc["assessment-results"]["results"][0]
                        ["local-definitions"]["inventory-items"][0];
  EXPECT_EQ(PropValue(item, "hostname"), "web-1");
  EXPECT_EQ(PropValue(item, "agent-id"), kWeb);
  EXPECT_EQ(PropValue(item, "key-id"), b.manifest.agents(0).key_id());
  EXPECT_EQ(item["props"][1]["ns"], "https://evidentia.invalid/ns/oscal");
}

// uuid.uuid5(UUID("c95e24e3-00bc-47e1-9022-5455a2c68053"),
//            "inventory-item\0a1b2c3d4e5f60718293a4b5c6d7e8f90") in Python.
TEST(OscalTest, InventoryItemUuidIsVersion5OfAgentId) {
  const Json doc = Generate(MakeBundle());
  EXPECT_EQ(doc["assessment-results"]["results"][0]["local-definitions"]
               ["inventory-items"][0]["uuid"],
            "5402c59b-59b3-5e34-9ef8-0048ce379849");
}

void CollectUuids(const Json& node, std::vector<std::string>& out) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "uuid") out.push_back(Str(value));
      CollectUuids(value, out);
    }
  } else if (node.is_array()) {
    for (const Json& item : node) CollectUuids(item, out);
  }
}

TEST(OscalTest, UuidsAreUniqueAndRelatedObservationsExist) {
  const Json doc = Generate(MakeBundle());
  std::vector<std::string> uuids;
  CollectUuids(doc, uuids);
  const std::set<std::string> unique(uuids.begin(), uuids.end());
  EXPECT_EQ(unique.size(), uuids.size());
  std::set<std::string> observations;
  const Json& result = doc["assessment-results"]["results"][0];
  for (const Json& o : result["observations"]) {
    observations.insert(Str(o["uuid"]));
  }
  size_t related = 0;
  for (const Json& f : result["findings"]) {
    for (const Json& r : f.value("related-observations", Json::array())) {
      ++related;
      EXPECT_EQ(observations.count(Str(r["observation-uuid"])), 1u);
    }
  }
  EXPECT_GT(related, 0u);
}

TEST(OscalTest, FindingRelatesEveryHostObservationOfItsChecks) {
  const Bundle b = MakeBundle();
  const Json doc = Generate(b);
  const Json& result = doc["assessment-results"]["results"][0];
  std::map<std::string, std::string> check_of;  // observation uuid -> check
  for (const Json& o : result["observations"]) {
    check_of[Str(o["uuid"])] = PropValue(o, "check-id");
  }
  size_t checked = 0;
  for (const v1::ControlGrade& g : b.grades.controls()) {
    if (!g.applicable() || g.checks_size() == 0) continue;
    const Json* finding = nullptr;
    for (const Json& f : result["findings"]) {
      if (f["target"]["target-id"] == g.control_id()) finding = &f;
    }
    ASSERT_NE(finding, nullptr) << g.control_id();
    std::multiset<std::string> checks;
    for (const Json& r : (*finding)["related-observations"]) {
      checks.insert(check_of.at(Str(r["observation-uuid"])));
    }
    // Each check on the three hosts, and the manual document if any.
    for (const std::string& check : g.checks()) {
      EXPECT_EQ(checks.count(check), 3u) << g.control_id() << " " << check;
    }
    EXPECT_EQ(checks.count(""), g.manual().present() ? 1u : 0u);
    EXPECT_EQ(checks.size(), 3u * g.checks_size() + g.manual().present());
    ++checked;
  }
  EXPECT_GT(checked, 0u);
}

const Json* FindObservation(const Json& result, const std::string& agent,
                            const std::string& check) {
  for (const Json& o : result["observations"]) {
    if (PropValue(o, "check-id") == check &&
        o["description"].get<std::string>().find(agent) != std::string::npos) {
      return &o;
    }
  }
  return nullptr;
}

TEST(OscalTest, RelevantEvidenceNamesTheSnapshotInTheBundle) {
  const Bundle b = MakeBundle();
  const Json doc = Generate(b);
  const Json& result = doc["assessment-results"]["results"][0];
  const v1::HostCheck& check = b.host_checks.at(kWeb)[0];
  ASSERT_EQ(check.state(), v1::CHECK_STATE_PASS);
  const Json* o = FindObservation(result, kWeb, check.check_id());
  ASSERT_NE(o, nullptr);
  const Json& evidence = (*o)["relevant-evidence"][0];
  EXPECT_EQ(evidence["href"],
            absl::StrCat("../snapshots/", kWeb, "/8.payload"));
  EXPECT_EQ(evidence["links"][0]["href"],
            absl::StrCat("../snapshots/", kWeb, "/8.sig"));
  EXPECT_EQ(evidence["links"][1]["href"],
            absl::StrCat("../log/proofs/", kWeb, "/8.proof"));
  EXPECT_EQ(PropValue(evidence, "payload-sha256"),
            Sha256Hex(absl::StrCat(kWeb, "/8")));
  EXPECT_EQ((*o)["collected"], "2026-11-30T20:59:59Z");
  EXPECT_EQ((*o)["methods"], Json::array({"TEST"}));
}

TEST(OscalTest, MissingEvidenceHasNoSnapshotAndIsCollectedAtPeriodEnd) {
  const Bundle b = MakeBundle();
  const Json doc = Generate(b);
  const Json& result = doc["assessment-results"]["results"][0];
  const v1::HostCheck& check = b.host_checks.at(kWeb)[4];
  ASSERT_EQ(check.state(), v1::CHECK_STATE_MISSING);
  const Json* o = FindObservation(result, kWeb, check.check_id());
  ASSERT_NE(o, nullptr);
  EXPECT_FALSE(o->contains("relevant-evidence"));
  EXPECT_EQ((*o)["collected"], "2026-11-30T23:59:59Z");
  EXPECT_THAT((*o)["types"], Contains("finding"));
}

TEST(OscalTest, SnapshotOutsideTheBundleIsNamedWithoutHref) {
  const Bundle b = MakeBundle();
  const Json doc = Generate(b);
  const Json& result = doc["assessment-results"]["results"][0];
  const v1::HostCheck& check = b.host_checks.at(kLaptop).back();
  const Json* o = FindObservation(result, kLaptop, check.check_id());
  ASSERT_NE(o, nullptr);
  const Json& evidence = (*o)["relevant-evidence"][0];
  EXPECT_FALSE(evidence.contains("href"));
  EXPECT_THAT(evidence["description"].get<std::string>(),
              HasSubstr("Snapshot 9"));
  // 1850 is outside OSCAL's date-time: clamped to its first moment.
  EXPECT_EQ((*o)["collected"], "1900-01-01T00:00:00Z");
}

TEST(OscalTest, ManualEvidencePointsAtTheObjectAndStatement) {
  const Bundle b = MakeBundle();
  const Json doc = Generate(b);
  const v1::BundleManual& recorded = b.manifest.manual(0);
  bool found = false;
  for (const Json& o :
       doc["assessment-results"]["results"][0]["observations"]) {
    if (PropValue(o, "document-sha256") != recorded.document_sha256()) continue;
    found = true;
    EXPECT_EQ(o["methods"], Json::array({"EXAMINE"}));
    const Json& evidence = o["relevant-evidence"][0];
    EXPECT_EQ(evidence["href"],
              absl::StrCat("../objects/", recorded.document_sha256()));
    EXPECT_EQ(
        evidence["links"][0]["href"],
        absl::StrCat("../manual/", recorded.control_id(), "/1.statement"));
    EXPECT_EQ(evidence["links"][1]["href"],
              absl::StrCat("../manual/", recorded.control_id(), "/1.sig"));
    EXPECT_EQ(o["collected"], "2026-10-02T00:00:00Z");
  }
  EXPECT_TRUE(found);
}

TEST(OscalTest, FreeTextIsEscapedMarkdownOnOneLine) {
  const Json doc = Generate(MakeBundle());
  const Json& result = doc["assessment-results"]["results"][0];
  const Json* o = FindObservation(result, kWeb, Policy().checks[2].id);
  ASSERT_NE(o, nullptr);
  const std::string description = Str((*o)["description"]);
  EXPECT_THAT(description,
              HasSubstr("\n- /srv/\\*\\_data on sdb1 is not encrypted"));
  EXPECT_THAT(description, HasSubstr("\n- user \\<eve\\> is in group "
                                     "\\[sudo\\]"));
}

TEST(OscalTest, InvalidUtf8IsReplacedNotThrown) {
  Bundle b = MakeBundle();
  b.manifest.mutable_agents(0)->set_hostname("web\xff-1");
  absl::StatusOr<std::string> text = AssessmentResultsJson(b.Input());
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, HasSubstr("web\xEF\xBF\xBD-1"));
}

TEST(OscalTest, RejectsAgentIdThatIsNotAPathComponent) {
  Bundle b = MakeBundle();
  b.manifest.mutable_agents(0)->set_agent_id("../../etc");
  EXPECT_EQ(AssessmentResultsJson(b.Input()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(OscalTest, RejectsSoaFileOutsideSoa) {
  Bundle b = MakeBundle();
  b.manifest.set_soa_file("soa/../../etc/passwd");
  EXPECT_EQ(AssessmentResultsJson(b.Input()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(OscalTest, RejectsHostChecksOfAnAgentNotInTheManifest) {
  Bundle b = MakeBundle();
  b.host_checks["ffffffffffffffffffffffffffffffff"] = b.host_checks[kWeb];
  EXPECT_EQ(AssessmentResultsJson(b.Input()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(OscalTest, RejectsManualDigestThatIsNotHex) {
  Bundle b = MakeBundle();
  for (v1::ControlGrade& g : *b.grades.mutable_controls()) {
    if (g.manual().present()) {
      g.mutable_manual()->set_sha256("../keys/collector.pub.pem");
      break;
    }
  }
  EXPECT_EQ(AssessmentResultsJson(b.Input()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(OscalTest, RejectsNullInputs) {
  const Bundle b = MakeBundle();
  for (int missing = 0; missing < 4; ++missing) {
    OscalInput input = b.Input();
    if (missing == 0) input.manifest = nullptr;
    if (missing == 1) input.policy = nullptr;
    if (missing == 2) input.grades = nullptr;
    if (missing == 3) input.host_checks = nullptr;
    EXPECT_EQ(AssessmentResultsJson(input).status().code(),
              absl::StatusCode::kInvalidArgument)
        << "input " << missing << " null";
  }
}

// --- The certification cycle: auditor findings and the POA&M ---

std::vector<std::string> PropValues(const Json& object,
                                    const std::string& name) {
  std::vector<std::string> values;
  for (const Json& prop : object.value("props", Json::array())) {
    if (prop["name"] == name) values.push_back(Str(prop["value"]));
  }
  return values;
}

// The element of `array` whose prop finding-record is `number`.
const Json* ByRecord(const Json& array, uint64_t number) {
  for (const Json& item : array) {
    if (PropValue(item, "finding-record") == absl::StrCat(number)) return &item;
  }
  return nullptr;
}

const Json& Poam(const Json& doc) {
  return doc["plan-of-action-and-milestones"];
}

TEST(OscalCycleTest, NullOrEmptyCycleKeepsTheDocumentsBytes) {
  Bundle b = MakeBundle();
  absl::StatusOr<std::string> without = AssessmentResultsJson(b.Input());
  ASSERT_TRUE(without.ok()) << without.status();
  // A cycle with audits but no finding yet changes nothing either.
  b.cycle.add_audits()->set_number(17);
  b.cycle.set_status("no certificate yet");
  absl::StatusOr<std::string> empty = AssessmentResultsJson(b.WithCycle());
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(*without, *empty);
  EXPECT_THAT(*empty, ::testing::Not(HasSubstr("Auditor finding")));
}

TEST(OscalCycleTest, EveryAuditorFindingFollowsTheComputedOnes) {
  const Bundle b = MakeCycleBundle();
  const Json doc = GenerateWithCycle(b);
  const Json& result = doc["assessment-results"]["results"][0];
  size_t applicable = 0;
  for (const v1::ControlGrade& g : b.grades.controls()) {
    applicable += g.applicable();
  }
  const Json& findings = result["findings"];
  ASSERT_THAT(findings, SizeIs(applicable + 5));
  std::vector<std::string> titles;
  for (size_t i = applicable; i < findings.size(); ++i) {
    titles.push_back(Str(findings[i]["title"]));
  }
  EXPECT_EQ(titles,
            (std::vector<std::string>{
                "Auditor finding 18: minor nonconformity on clause 6.1.2",
                "Auditor finding 24: minor nonconformity on a.8.24",
                "Auditor finding 27: opportunity for improvement on a.5.1",
                "Auditor finding 28: major nonconformity on a.8.5",
                "Auditor finding 30: compliant on a.5.15"}));
  EXPECT_THAT(Str(result["description"]),
              HasSubstr("one per finding the auditors recorded in the "
                        "certification cycle (5 findings"));
}

TEST(OscalCycleTest, AuditorFindingHasStatementGradesAuditAndRecord) {
  const Json doc = GenerateWithCycle(MakeCycleBundle());
  const Json* f =
      ByRecord(doc["assessment-results"]["results"][0]["findings"], 24);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ((*f)["description"], "A laptop disk is not encrypted");
  EXPECT_EQ(PropValue(*f, "audit"), "stage2-2026-11-02");
  EXPECT_EQ(PropValue(*f, "auditor-grade"), "minor nonconformity");
  EXPECT_EQ(PropValue(*f, "computed-grade"), "compliant");
  EXPECT_EQ(PropValue(*f, "recorded-by"), "A. Auditor");
  EXPECT_EQ(PropValue(*f, "state"), "closed");
  EXPECT_EQ((*f)["props"][0]["ns"], "https://evidentia.invalid/ns/oscal");
  const Json& target = (*f)["target"];
  EXPECT_EQ(target["type"], "objective-id");
  EXPECT_EQ(target["target-id"], "a.8.24");
  EXPECT_EQ(target["status"]["state"], "not-satisfied");
  EXPECT_THAT(Str(target["status"]["remarks"]),
              HasSubstr("Evidentia's grade of the control at the end of the "
                        "audit: compliant."));
  // The signed finding, then the snapshot it rests on.
  const Json& links = (*f)["links"];
  ASSERT_THAT(links, SizeIs(4));
  EXPECT_EQ(links[0]["href"], "../isms/24.finding.statement");
  EXPECT_EQ(links[1]["href"], "../isms/24.finding.sig");
  EXPECT_EQ(links[2]["href"], "../isms/24.proof");
  EXPECT_EQ(links[3]["rel"], "evidence");
  EXPECT_EQ(links[3]["href"],
            absl::StrCat("../snapshots/", kLaptop, "/12.payload"));
}

TEST(OscalCycleTest, ClauseFindingTargetsTheClauseWithoutComputedGrade) {
  const Json doc = GenerateWithCycle(MakeCycleBundle());
  const Json* f =
      ByRecord(doc["assessment-results"]["results"][0]["findings"], 18);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ((*f)["target"]["type"], "statement-id");
  EXPECT_EQ((*f)["target"]["target-id"], "clause-6.1.2");
  EXPECT_THAT(Str((*f)["target"]["title"]), HasSubstr("Clause 6.1.2"));
  EXPECT_TRUE(PropValues(*f, "computed-grade").empty());
}

TEST(OscalCycleTest, StateFollowsTheAuditorsGradeAndCarriedIntoIsListed) {
  const Json doc = GenerateWithCycle(MakeCycleBundle());
  const Json& findings = doc["assessment-results"]["results"][0]["findings"];
  // Compliant and an opportunity for improvement satisfy the control, as
  // they do for Evidentia's own findings; a nonconformity does not.
  EXPECT_EQ((*ByRecord(findings, 30))["target"]["status"]["state"],
            "satisfied");
  const Json& ofi = *ByRecord(findings, 27);
  EXPECT_EQ(ofi["target"]["status"]["state"], "satisfied");
  EXPECT_EQ((*ByRecord(findings, 28))["target"]["status"]["state"],
            "not-satisfied");
  EXPECT_EQ(PropValues(ofi, "carried-into"),
            std::vector<std::string>{"surveillance-2027-11-01"});
  EXPECT_EQ(PropValue(ofi, "state"), "open");
  EXPECT_THAT(Str(ofi["remarks"]),
              HasSubstr("carried into `surveillance-2027-11-01`"));
}

TEST(OscalCycleTest, EvidenceTheBundleDoesNotHoldIsNotLinked) {
  const Json doc = GenerateWithCycle(MakeCycleBundle());
  const Json* f =
      ByRecord(doc["assessment-results"]["results"][0]["findings"], 28);
  ASSERT_NE(f, nullptr);
  // Its own record only: record 99 and the MFA document are not in it.
  ASSERT_THAT((*f)["links"], SizeIs(3));
  EXPECT_EQ((*f)["links"][0]["href"], "../isms/28.finding.statement");
}

TEST(OscalCycleTest, PoamHasOneItemPerFindingThatIsNotCompliant) {
  const Json doc = GeneratePoam(MakeCycleBundle());
  std::vector<std::string> items, findings;
  for (const Json& item : Poam(doc)["poam-items"]) {
    items.push_back(PropValue(item, "finding-record"));
  }
  for (const Json& finding : Poam(doc)["findings"]) {
    findings.push_back(PropValue(finding, "finding-record"));
  }
  EXPECT_EQ(items, (std::vector<std::string>{"18", "24", "27", "28"}));
  EXPECT_EQ(findings, items);
  EXPECT_EQ(Str(Poam(doc)["poam-items"][1]["title"]),
            "Finding 24: minor nonconformity on a.8.24");
}

TEST(OscalCycleTest, PoamFindingsAreTheAssessmentResultsOnes) {
  const Bundle b = MakeCycleBundle();
  const Json ar = GenerateWithCycle(b);
  const Json poam = GeneratePoam(b);
  for (const Json& finding : Poam(poam)["findings"]) {
    const Json* same =
        ByRecord(ar["assessment-results"]["results"][0]["findings"],
                 std::stoull(PropValue(finding, "finding-record")));
    ASSERT_NE(same, nullptr);
    EXPECT_EQ(*same, finding);
  }
}

TEST(OscalCycleTest, PoamItemCarriesTheCorrectiveAction) {
  const Json doc = GeneratePoam(MakeCycleBundle());
  const Json* item = ByRecord(Poam(doc)["poam-items"], 24);
  ASSERT_NE(item, nullptr);
  EXPECT_EQ((*item)["description"], "Encrypt it");
  EXPECT_EQ(PropValue(*item, "state"), "closed as effective");
  EXPECT_EQ(PropValue(*item, "audit"), "stage2-2026-11-02");
  EXPECT_EQ(PropValue(*item, "auditor-grade"), "minor nonconformity");
  EXPECT_EQ(PropValue(*item, "action-record"), "25");
  EXPECT_EQ(PropValue(*item, "owner"), "IT lead");
  EXPECT_EQ(PropValue(*item, "due-on"), "2026-11-20");
  EXPECT_EQ(PropValue(*item, "root-cause"), "Root cause of finding 24");
  EXPECT_EQ(PropValue(*item, "correction"), "Correction of finding 24");
  EXPECT_EQ(PropValues(*item, "affected-host"),
            std::vector<std::string>{kLaptop});
  EXPECT_EQ(PropValue(*item, "closure-record"), "26");
  std::vector<std::string> hrefs;
  for (const Json& link : (*item)["links"]) hrefs.push_back(Str(link["href"]));
  EXPECT_EQ(hrefs, (std::vector<std::string>{
                       "../isms/25.action.statement", "../isms/25.action.sig",
                       "../isms/25.proof", "../isms/26.action-close.statement",
                       "../isms/26.action-close.sig", "../isms/26.proof"}));
  EXPECT_EQ((*item)["remarks"], "Closed as effective by record 26.");
}

TEST(OscalCycleTest, OpenFindingWithoutActionSaysSo) {
  const Json doc = GeneratePoam(MakeCycleBundle());
  const Json* item = ByRecord(Poam(doc)["poam-items"], 27);
  ASSERT_NE(item, nullptr);
  EXPECT_EQ((*item)["description"], "No corrective action yet.");
  EXPECT_EQ(PropValue(*item, "state"), "open");
  EXPECT_TRUE(PropValues(*item, "owner").empty());
  EXPECT_TRUE(PropValues(*item, "action-record").empty());
  EXPECT_FALSE(item->contains("links"));
  EXPECT_FALSE(item->contains("related-observations"));
  EXPECT_EQ(PropValues(*item, "carried-into"),
            std::vector<std::string>{"surveillance-2027-11-01"});
}

TEST(OscalCycleTest, OpenActionPastItsDueDayIsOverdue) {
  Bundle b = MakeCycleBundle();
  Json doc = GeneratePoam(b);
  const Json* item = ByRecord(Poam(doc)["poam-items"], 28);
  ASSERT_NE(item, nullptr);
  EXPECT_EQ((*item)["description"], "Enforce MFA");
  EXPECT_EQ(PropValue(*item, "state"), "overdue");
  EXPECT_EQ(PropValue(*item, "due-on"), "2026-11-15");
  EXPECT_EQ((*item)["remarks"], "Overdue: open past its due day, 2026-11-15.");
  EXPECT_FALSE(item->contains("related-observations"));
  // Not yet due: open.
  for (v1::FindingView& view : *b.cycle.mutable_findings()) {
    if (view.number() == 28) view.set_overdue(false);
  }
  doc = GeneratePoam(b);
  item = ByRecord(Poam(doc)["poam-items"], 28);
  ASSERT_NE(item, nullptr);
  EXPECT_EQ(PropValue(*item, "state"), "open");
  EXPECT_EQ((*item)["remarks"], "Open, due on 2026-11-15.");
}

TEST(OscalCycleTest, ClosedActionPointsAtItsProofSnapshots) {
  const Json doc = GeneratePoam(MakeCycleBundle());
  const Json* item = ByRecord(Poam(doc)["poam-items"], 24);
  ASSERT_NE(item, nullptr);
  const std::string uuid =
      Str((*item)["related-observations"][0]["observation-uuid"]);
  const Json* closure = nullptr;
  for (const Json& o : Poam(doc)["observations"]) {
    if (o["uuid"] == uuid) closure = &o;
  }
  ASSERT_NE(closure, nullptr);
  EXPECT_EQ((*closure)["methods"], Json::array({"TEST"}));
  EXPECT_EQ((*closure)["types"], Json::array({"mitigation"}));
  EXPECT_THAT(Str((*closure)["description"]),
              HasSubstr("Note: Re-imaged with the encrypted profile"));
  EXPECT_EQ((*closure)["collected"], "2026-11-02T00:26:00Z");  // record 26
  const Json& evidence = (*closure)["relevant-evidence"];
  ASSERT_THAT(evidence, SizeIs(3));
  EXPECT_EQ(evidence[0]["href"],
            absl::StrCat("../snapshots/", kLaptop, "/12.payload"));
  EXPECT_EQ(evidence[0]["links"][1]["href"],
            absl::StrCat("../log/proofs/", kLaptop, "/12.proof"));
  EXPECT_THAT(Str(evidence[0]["description"]),
              ::testing::StartsWith("Proof of effectiveness: Snapshot 12"));
  // Older than the bundle, and from a host outside its scope: named, with
  // no href to a file that is not there.
  EXPECT_FALSE(evidence[1].contains("href"));
  EXPECT_THAT(Str(evidence[1]["description"]), HasSubstr("Snapshot 9"));
  EXPECT_FALSE(evidence[2].contains("href"));
  EXPECT_THAT(Str(evidence[2]["description"]),
              HasSubstr("outside this bundle's scope"));
}

TEST(OscalCycleTest, ClosureEvidenceRecordPointsAtItsDocument) {
  const Json doc = GeneratePoam(MakeCycleBundle());
  const Json* item = ByRecord(Poam(doc)["poam-items"], 18);
  ASSERT_NE(item, nullptr);
  EXPECT_EQ((*item)["description"], "Define the criteria");
  const Json* closure = nullptr;
  for (const Json& o : Poam(doc)["observations"]) {
    if (PropValue(o, "finding-record") == "18") closure = &o;
  }
  ASSERT_NE(closure, nullptr);
  EXPECT_EQ((*closure)["methods"], Json::array({"EXAMINE"}));
  const Json& evidence = (*closure)["relevant-evidence"][0];
  EXPECT_EQ(evidence["href"], absl::StrCat("../objects/", kRiskMethod));
  EXPECT_EQ(evidence["links"][0]["href"], "../isms/20.document.statement");
  EXPECT_EQ(PropValue(evidence, "record"), "20");
  EXPECT_THAT(Str(evidence["description"]),
              ::testing::StartsWith("Closure evidence: The document of ISMS "
                                    "record 20"));
}

TEST(OscalCycleTest, PoamMetadataNamesTheIsmsAndTheAssessmentResults) {
  const Json doc = GeneratePoam(MakeCycleBundle());
  const Json& metadata = Poam(doc)["metadata"];
  EXPECT_EQ(metadata["title"],
            "Example Ltd: ISO/IEC 27001:2022 corrective actions, plan of "
            "action and milestones as of 2026-11-30T23:59:59Z");
  EXPECT_EQ(metadata["oscal-version"], "1.1.3");
  EXPECT_EQ(metadata["links"].back()["href"], "assessment-results.json");
  EXPECT_EQ(Poam(doc)["system-id"]["id"], "ISMS of Example Ltd");
  EXPECT_FALSE(Poam(doc).contains("import-ssp"));
}

TEST(OscalCycleTest, PoamUuidsAreUniqueAndReferencesResolve) {
  const Json doc = GeneratePoam(MakeCycleBundle());
  std::vector<std::string> uuids;
  CollectUuids(doc, uuids);
  EXPECT_EQ(std::set<std::string>(uuids.begin(), uuids.end()).size(),
            uuids.size());
  std::set<std::string> findings, observations;
  for (const Json& f : Poam(doc)["findings"]) findings.insert(Str(f["uuid"]));
  for (const Json& o : Poam(doc)["observations"]) {
    observations.insert(Str(o["uuid"]));
  }
  EXPECT_THAT(observations, SizeIs(2));  // findings 18 and 24 closed
  for (const Json& item : Poam(doc)["poam-items"]) {
    for (const Json& r : item["related-findings"]) {
      EXPECT_EQ(findings.count(Str(r["finding-uuid"])), 1u);
    }
    for (const Json& r : item.value("related-observations", Json::array())) {
      EXPECT_EQ(observations.count(Str(r["observation-uuid"])), 1u);
    }
  }
}

TEST(OscalCycleTest, PoamSameInputGivesSameBytesAndUuidFollowsContent) {
  Bundle b = MakeCycleBundle();
  absl::StatusOr<std::string> first = PoamJson(b.WithCycle());
  absl::StatusOr<std::string> again = PoamJson(MakeCycleBundle().WithCycle());
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*first, *again);
  EXPECT_EQ(Parse(*first).dump(2) + "\n", *first);
  b.cycle.mutable_findings(0)->mutable_action_statement()->set_owner("Bob");
  const Json before = Parse(*first);
  const Json after = GeneratePoam(b);
  EXPECT_NE(Poam(before)["uuid"], Poam(after)["uuid"]);
  EXPECT_EQ(Poam(before)["poam-items"][0]["uuid"],
            Poam(after)["poam-items"][0]["uuid"]);
}

TEST(OscalCycleTest, PoamWithoutAFindingToActOnIsNotFound) {
  Bundle b = MakeCycleBundle();
  EXPECT_EQ(PoamJson(b.Input()).status().code(), absl::StatusCode::kNotFound);
  const v1::FindingView compliant = *FindView(b.cycle, 30);
  b.cycle.clear_findings();
  *b.cycle.add_findings() = compliant;
  EXPECT_EQ(PoamJson(b.WithCycle()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(OscalCycleTest, RejectsFindingOnNeitherAControlNorAClause) {
  for (const auto& [control, clause] :
       {std::pair<std::string, std::string>{"", ""},
        {"a.8.24", "6.1.2"},
        {"", "6.1 2"},
        {"a 8", ""}}) {
    Bundle b = MakeCycleBundle();
    v1::FindingStatement* f = b.cycle.mutable_findings(1)->mutable_finding();
    f->set_control(control);
    f->set_clause(clause);
    EXPECT_EQ(AssessmentResultsJson(b.WithCycle()).status().code(),
              absl::StatusCode::kInvalidArgument)
        << control << "/" << clause;
    EXPECT_EQ(PoamJson(b.WithCycle()).status().code(),
              absl::StatusCode::kInvalidArgument)
        << control << "/" << clause;
  }
}

TEST(OscalCycleTest, FreeTextOfTheCycleIsEscapedOnOneLine) {
  Bundle b = MakeCycleBundle();
  b.cycle.mutable_findings(1)->mutable_action_statement()->set_action(
      "Encrypt *all*\nlaptops <now>");
  b.cycle.mutable_findings(1)->mutable_finding()->set_statement("  ");
  const Json doc = GeneratePoam(b);
  const Json* item = ByRecord(Poam(doc)["poam-items"], 24);
  ASSERT_NE(item, nullptr);
  EXPECT_EQ((*item)["description"], "Encrypt \\*all\\* laptops \\<now\\>");
  const Json* finding = ByRecord(Poam(doc)["findings"], 24);
  ASSERT_NE(finding, nullptr);
  EXPECT_EQ((*finding)["description"], "The auditor recorded no statement.");
}

TEST(OscalCycleTest, RejectsNullInputs) {
  const Bundle b = MakeCycleBundle();
  OscalInput input = b.WithCycle();
  input.grades = nullptr;
  EXPECT_EQ(PoamJson(input).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace evidentia::collector
