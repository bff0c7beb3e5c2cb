// Command-line flags for Evidentia's binaries: `--name value`,
// `--name=value` and boolean `--name`, with positional words kept in order.
// Unknown flags are errors, so a typo never silently changes behaviour.
#ifndef EVIDENTIA_COMMON_ARGS_H_
#define EVIDENTIA_COMMON_ARGS_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace evidentia {

class Args {
 public:
  // Parses argv[first..argc). `with_value` names flags that take a value,
  // `booleans` those that do not; anything else starting with "--" is
  // INVALID_ARGUMENT. A flag given twice keeps every value (GetAll).
  static absl::StatusOr<Args> Parse(int argc, const char* const* argv,
                                    int first,
                                    const std::set<std::string>& with_value,
                                    const std::set<std::string>& booleans) {
    Args args;
    for (int i = first; i < argc; ++i) {
      std::string word = argv[i];
      if (word == "--") {
        for (++i; i < argc; ++i) args.positional_.emplace_back(argv[i]);
        break;
      }
      if (!absl::StartsWith(word, "--")) {
        args.positional_.push_back(std::move(word));
        continue;
      }
      std::string name = word.substr(2);
      std::optional<std::string> value;
      if (size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
      }
      if (booleans.count(name) != 0) {
        if (value.has_value()) {
          return absl::InvalidArgumentError(
              absl::StrCat("--", name, " takes no value"));
        }
        args.values_[name].push_back("true");
        continue;
      }
      if (with_value.count(name) == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown flag --", name));
      }
      if (!value.has_value()) {
        if (i + 1 >= argc) {
          return absl::InvalidArgumentError(
              absl::StrCat("--", name, " needs a value"));
        }
        value = argv[++i];
      }
      args.values_[name].push_back(*std::move(value));
    }
    return args;
  }

  bool Has(const std::string& name) const { return values_.count(name) != 0; }
  // The last value given, or `fallback`.
  std::string Get(const std::string& name,
                  const std::string& fallback = "") const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second.back();
  }
  std::vector<std::string> GetAll(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
  }
  // INVALID_ARGUMENT naming the first of `names` that is missing.
  absl::Status Require(const std::vector<std::string>& names) const {
    for (const std::string& name : names) {
      if (!Has(name)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " is required"));
      }
    }
    return absl::OkStatus();
  }
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

}  // namespace evidentia

#endif  // EVIDENTIA_COMMON_ARGS_H_
