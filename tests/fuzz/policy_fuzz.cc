// The policy set loader (ParsePolicySet, what LoadPolicySet runs on the
// files it reads) with one file replaced by the input: its first byte picks
// the catalogue (0), checks/linux.yaml (1), checks/accounts.yaml (2), the
// SoA (3) or the clause catalogue (4), the rest is the file. The other files
// are grading/testdata/policy/minimal's. A set that loads must be complete and
// consistent.
#include <string>

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
  std::string file(evidentia::fuzz::AsText(data + 1, size - 1));
  switch (data[0] % 5) {
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
    default:
      texts.clauses = std::move(file);
      break;
  }
  absl::StatusOr<PolicySet> set = ParsePolicySet(std::move(texts));
  if (!set.ok()) {
    Require(set.status().code() == absl::StatusCode::kInvalidArgument,
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
  return 0;
}
