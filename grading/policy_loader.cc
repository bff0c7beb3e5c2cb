// LoadPolicySet: reads the catalogue, the checks, the SoA and its risk
// register (grading/policy_parse.h) and validates everything policies/README.md
// lists. yaml-cpp throws; every exception is caught here and becomes
// INVALID_ARGUMENT "FILE:LINE: ...".
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/files.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "google/protobuf/descriptor.h"
#include "grading/policy.h"
#include "grading/policy_internal.h"
#include "grading/policy_parse.h"
#include "yaml-cpp/anchor.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/yaml.h"

namespace evidentia::policy {
namespace {

using internal::Guarded;
using internal::kCatalogueFile;
using internal::kChecksDir;
using internal::kClausesFile;
using internal::ParseCatalogue;
using internal::ParseChecks;
using internal::ParseClauses;
using internal::ParseRiskRegister;
using internal::ParseSoa;
using internal::ParseYaml;
using internal::RiskRegisterRef;
using internal::SettingUse;
using internal::YamlFile;

// A file as loaded: the name used in messages and in the digest, and bytes.
struct LoadedFile {
  std::string digest_name;
  std::string bytes;
};

}  // namespace

bool IsDocumentId(std::string_view id) {
  if (id.empty() || id.size() > 64 || !absl::ascii_islower(id[0]) ||
      id.back() == '-') {
    return false;
  }
  for (char c : id) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '-') {
      return false;
    }
  }
  return true;
}

const Check* PolicySet::FindCheck(const std::string& id) const {
  for (const Check& check : checks) {
    if (check.id == id) return &check;
  }
  return nullptr;
}

const Control* PolicySet::FindControl(const std::string& id) const {
  for (const Control& control : catalogue) {
    if (control.id == id) return &control;
  }
  return nullptr;
}

const Clause* PolicySet::FindClause(const std::string& id) const {
  for (const Clause& clause : clauses) {
    if (clause.id == id) return &clause;
  }
  return nullptr;
}

const SoaEntry* PolicySet::FindSoaEntry(const std::string& control_id) const {
  for (const SoaEntry& entry : soa) {
    if (entry.control_id == control_id) return &entry;
  }
  return nullptr;
}

absl::StatusOr<PolicySet> ParsePolicySet(PolicyTexts texts) {
  PolicySet set;
  std::vector<LoadedFile> loaded;

  // The catalogue.
  {
    const YamlFile file(kCatalogueFile);
    ASSIGN_OR_RETURN(YAML::Node root, ParseYaml(file, texts.catalogue));
    RETURN_IF_ERROR(Guarded(
        file, [&] { return ParseCatalogue(file, root, &set.catalogue); }));
    loaded.push_back(LoadedFile{kCatalogueFile, std::move(texts.catalogue)});
  }
  std::set<std::string> control_ids;
  for (const Control& control : set.catalogue) control_ids.insert(control.id);

  // The clauses, when there is a catalogue of them.
  if (texts.clauses.has_value()) {
    const YamlFile file(kClausesFile);
    ASSIGN_OR_RETURN(YAML::Node root, ParseYaml(file, *texts.clauses));
    RETURN_IF_ERROR(
        Guarded(file, [&] { return ParseClauses(file, root, &set.clauses); }));
    loaded.push_back(LoadedFile{kClausesFile, *std::move(texts.clauses)});
  }

  // The checks, file by file in name order.
  std::sort(texts.checks.begin(), texts.checks.end());
  std::map<std::string, SourceLocation> check_ids;
  std::vector<SettingUse> setting_uses;
  for (auto& [name, text] : texts.checks) {
    const std::string relative = absl::StrCat(kChecksDir, "/", name);
    const YamlFile file(relative);
    ASSIGN_OR_RETURN(YAML::Node root, ParseYaml(file, text));
    RETURN_IF_ERROR(Guarded(file, [&] {
      return ParseChecks(file, root, control_ids, &set.checks, &check_ids,
                         &setting_uses);
    }));
    loaded.push_back(LoadedFile{relative, std::move(text)});
  }

  // The SoA.
  const std::filesystem::path soa_file = texts.soa_path;
  const std::string soa_name = soa_file.filename().string();
  RiskRegisterRef risk_register;
  {
    const YamlFile file(soa_file.string());
    ASSIGN_OR_RETURN(YAML::Node root, ParseYaml(file, texts.soa));
    RETURN_IF_ERROR(Guarded(file, [&] {
      return ParseSoa(file, root, set.catalogue, check_ids, &set,
                      &risk_register);
    }));
  }

  for (const SettingUse& use : setting_uses) {
    if (set.settings.count(use.name) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          use.file, ":", use.line, ": unknown setting \"", use.name,
          "\" (not among the settings of ", soa_file.string(), ")"));
    }
  }

  // The risk register the SoA names, beside it.
  std::optional<LoadedFile> risks;
  if (!risk_register.name.empty()) {
    const std::string path =
        texts.risks_path.empty()
            ? (soa_file.parent_path() / risk_register.name).string()
            : texts.risks_path;
    if (!texts.risks.has_value()) {
      return absl::NotFoundError(absl::StrCat(
          soa_file.string(), ":", risk_register.line, ": the risk register ",
          path, " is missing (risk_register: ", risk_register.name, ")"));
    }
    for (const LoadedFile& file : loaded) {
      if (file.digest_name == risk_register.name) {
        return absl::InvalidArgumentError(absl::StrCat(
            soa_file.string(), ":", risk_register.line, ": the risk register ",
            risk_register.name, " has the name of a policy file; rename it"));
      }
    }
    const YamlFile file(path);
    ASSIGN_OR_RETURN(YAML::Node root, ParseYaml(file, *texts.risks));
    RETURN_IF_ERROR(
        Guarded(file, [&] { return ParseRiskRegister(file, root, &set); }));
    risks = LoadedFile{risk_register.name, *std::move(texts.risks)};
  } else if (texts.risks.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(soa_file.string(),
                     ":1: a risk register was given, but the SoA names none "
                     "(risk_register)"));
  }

  // The digest over every file in name order; `sources` ends with what
  // ships beside the SoA, the SoA last.
  std::vector<const LoadedFile*> digested;
  for (const LoadedFile& file : loaded) digested.push_back(&file);
  if (risks.has_value()) digested.push_back(&*risks);
  LoadedFile soa{soa_name, std::move(texts.soa)};
  digested.push_back(&soa);
  std::sort(digested.begin(), digested.end(),
            [](const LoadedFile* a, const LoadedFile* b) {
              return a->digest_name < b->digest_name;
            });
  std::string digest_input;
  for (const LoadedFile* file : digested) {
    absl::StrAppend(&digest_input, file->digest_name, std::string(1, '\0'),
                    file->bytes.size(), std::string(1, '\0'), file->bytes);
  }
  set.sha256 = Sha256Hex(digest_input);
  std::sort(loaded.begin(), loaded.end(),
            [](const LoadedFile& a, const LoadedFile& b) {
              return a.digest_name < b.digest_name;
            });
  for (LoadedFile& file : loaded) {
    set.sources.push_back(
        {std::move(file.digest_name), std::move(file.bytes), false, false});
  }
  if (risks.has_value()) {
    set.sources.push_back(
        {std::move(risks->digest_name), std::move(risks->bytes), true, true});
  }
  set.sources.push_back(
      {std::move(soa.digest_name), std::move(soa.bytes), true, false});
  return set;
}

absl::StatusOr<PolicySet> LoadPolicySet(
    const std::filesystem::path& policies_dir,
    const std::filesystem::path& soa_file) {
  PolicyTexts texts;
  ASSIGN_OR_RETURN(texts.catalogue, ReadFile(policies_dir / kCatalogueFile));
  if (absl::StatusOr<std::string> clauses =
          ReadFile(policies_dir / kClausesFile);
      clauses.ok()) {
    texts.clauses = *std::move(clauses);
  } else if (!absl::IsNotFound(clauses.status())) {
    return clauses.status();
  }
  {
    const std::filesystem::path dir = policies_dir / kChecksDir;
    std::error_code ec;
    std::vector<std::string> check_files;
    if (std::filesystem::is_directory(dir, ec)) {
      std::filesystem::directory_iterator it(dir, ec);
      for (; !ec && it != std::filesystem::directory_iterator();
           it.increment(ec)) {
        const std::filesystem::path& path = it->path();
        if (path.extension() == ".yaml" && it->is_regular_file(ec)) {
          check_files.push_back(path.filename().string());
        }
      }
      if (ec) {
        return absl::ErrnoToStatus(ec.value(),
                                   absl::StrCat("listing ", dir.string()));
      }
    }
    std::sort(check_files.begin(), check_files.end());
    for (std::string& name : check_files) {
      ASSIGN_OR_RETURN(std::string text, ReadFile(dir / name));
      texts.checks.emplace_back(std::move(name), std::move(text));
    }
  }
  texts.soa_path = soa_file.string();
  ASSIGN_OR_RETURN(texts.soa, ReadFile(soa_file));
  // The register is read before parsing; a missing one is reported by
  // ParsePolicySet once the SoA itself is found valid.
  if (const std::optional<std::string> name =
          internal::RiskRegisterNamedBy(texts.soa)) {
    const std::filesystem::path path = soa_file.parent_path() / *name;
    texts.risks_path = path.string();
    absl::StatusOr<std::string> risks = ReadFile(path);
    if (risks.ok()) {
      texts.risks = *std::move(risks);
    } else if (!absl::IsNotFound(risks.status())) {
      return risks.status();
    }
  }
  return ParsePolicySet(std::move(texts));
}

}  // namespace evidentia::policy
