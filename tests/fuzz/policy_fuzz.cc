// The policy set loader (ParsePolicySet, what LoadPolicySet runs on the
// files it reads) with one file replaced by the input: its first byte picks
// the catalogue (0), checks/linux.yaml (1), checks/accounts.yaml (2), the
// SoA (3), the clause catalogue (4) or the risk register (5; the SoA then
// names it), the rest is the file. The other files are
// grading/testdata/policy/minimal's. A set that loads must be complete and
// consistent.
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/files.h"
#include "grading/policy.h"
#include "tests/fuzz/fuzz_input.h"

namespace evidentia::policy {
namespace {

const PolicyTexts& Minimal() {
  static const PolicyTexts* texts = [] {
    const std::filesystem::path dir =
        std::filesystem::path(EVIDENTIA_SOURCE_DIR) /
        "grading/testdata/policy/minimal";
    auto read = [&](const char* name) {
      absl::StatusOr<std::string> text = ReadFile(dir / name);
      fuzz::Require(text.ok(), "reading grading/testdata/policy/minimal");
      return *std::move(text);
    };
    auto* t = new PolicyTexts;
    t->catalogue = read("iso27001-2022.yaml");
    t->checks.emplace_back("linux.yaml", read("checks/linux.yaml"));
    t->checks.emplace_back("accounts.yaml", read("checks/accounts.yaml"));
    t->soa_path = "soa.yaml";
    t->soa = read("soa.yaml");
    t->risks = read("risks.yaml");  // named only when the input is it
    return t;
  }();
  return *texts;
}

}  // namespace
}  // namespace evidentia::policy

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::policy;
  using evidentia::fuzz::Require;
  if (size == 0) return 0;
  PolicyTexts texts = Minimal();
  std::optional<std::string> risks = std::move(texts.risks);
  texts.risks.reset();
  std::string file(evidentia::fuzz::AsText(data + 1, size - 1));
  switch (data[0] % 6) {
    case 0:
      texts.catalogue = std::move(file);
      break;
    case 1:
      texts.checks[0].second = std::move(file);
      break;
    case 2:
      texts.checks[1].second = std::move(file);
      break;
    case 3:
      texts.soa = std::move(file);
      break;
    case 4:
      texts.clauses = std::move(file);
      break;
    default:
      texts.soa += "risk_register: risks.yaml\n";
      texts.risks = std::move(file);
      break;
  }
  const bool risks_given = texts.risks.has_value();
  absl::StatusOr<PolicySet> set = ParsePolicySet(std::move(texts));
  if (!set.ok()) {
    // NOT_FOUND: a fuzzed SoA naming a risk register that was not given.
    Require(set.status().code() == absl::StatusCode::kInvalidArgument ||
                (!risks_given &&
                 set.status().code() == absl::StatusCode::kNotFound),
            "a bad policy file is INVALID_ARGUMENT");
    return 0;
  }
  Require(set->soa.size() == set->catalogue.size(),
          "one SoA row per catalogue control");
  for (const SoaEntry& entry : set->soa) {
    Require(set->FindControl(entry.control_id) != nullptr,
            "SoA rows name catalogue controls");
  }
  for (const Clause& clause : set->clauses) {
    Require(set->FindClause(clause.id) == &clause, "clause ids are unique");
  }
  for (const Check& check : set->checks) {
    Require(FactsFieldForProbe(check.probe) != nullptr, "checks name probes");
  }
  Require(set->has_risk_register == risks_given,
          "a risk register loads exactly when given");
  std::set<std::string> ids;
  const auto applicable = [&](const std::vector<std::string>& controls) {
    for (const std::string& id : controls) {
      const SoaEntry* row = set->FindSoaEntry(id);
      Require(row != nullptr && row->applicable,
              "risks and requirements rely on applicable controls only");
    }
  };
  for (const Risk& risk : set->risks) {
    Require(IsRiskId(risk.id) && ids.insert(risk.id).second,
            "risk ids are well formed and unique");
    Require(risk.treatment != "modify" || !risk.controls.empty(),
            "a risk to modify names controls");
    applicable(risk.controls);
  }
  for (const Requirement& requirement : set->requirements) {
    Require(IsRiskId(requirement.id) && ids.insert(requirement.id).second,
            "requirement ids are well formed and unique");
    applicable(requirement.controls);
  }
  Require(set->sources.back().soa && !set->sources.back().risk_register,
          "the SoA is the last source");
  return 0;
}
