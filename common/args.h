// Command-line flags for Evidentia's binaries: `--name value`,
// `--name=value` and boolean `--name`, with positional words kept in order.
// Unknown flags are errors, so a typo never silently changes behaviour.
// Each command declares the flags it takes in a table of FlagSpec, which
// both parses its command line and writes its --help.
#ifndef EVIDENTIA_COMMON_ARGS_H_
#define EVIDENTIA_COMMON_ARGS_H_

#include <algorithm>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace evidentia {

// One flag a command takes: `--name VALUE` when `value` names its argument
// in help ("DIR", "DURATION"), boolean `--name` when `value` is empty.
// `help` is one line for the command's --help.
struct FlagSpec {
  std::string name;
  std::string value;
  std::string help;
};

// The flags of several groups (the connection flags, --json, a command's
// own), in order.
inline std::vector<FlagSpec> Flags(
    std::initializer_list<std::vector<FlagSpec>> groups) {
  std::vector<FlagSpec> all;
  for (const std::vector<FlagSpec>& group : groups) {
    all.insert(all.end(), group.begin(), group.end());
  }
  return all;
}

// `flags` as --help lines, "  --name VALUE  help", the help aligned.
inline std::string FlagHelp(const std::vector<FlagSpec>& flags) {
  size_t width = 0;
  for (const FlagSpec& flag : flags) {
    width =
        std::max(width, flag.name.size() + 2 +
                            (flag.value.empty() ? 0 : flag.value.size() + 1));
  }
  std::string out;
  for (const FlagSpec& flag : flags) {
    std::string left = absl::StrCat("--", flag.name);
    if (!flag.value.empty()) absl::StrAppend(&left, " ", flag.value);
    left.resize(width, ' ');
    absl::StrAppend(&out, "  ", left, "  ", flag.help, "\n");
  }
  return out;
}

class Args {
 public:
  // Parses argv[first..argc) against the flags one command takes; any other
  // word starting with "--" is INVALID_ARGUMENT "unknown flag --NAME".
  static absl::StatusOr<Args> Parse(int argc, const char* const* argv,
                                    int first,
                                    const std::vector<FlagSpec>& flags) {
    std::set<std::string> with_value, booleans;
    for (const FlagSpec& flag : flags) {
      (flag.value.empty() ? booleans : with_value).insert(flag.name);
    }
    return Parse(argc, argv, first, with_value, booleans);
  }

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
