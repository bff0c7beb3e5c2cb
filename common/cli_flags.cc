#include "common/cli_flags.h"

#include <cmath>
#include <exception>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace evidentia {
namespace {

absl::Status NotA(absl::string_view text, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not ", what));
}

// The app and the commands chosen below it, outermost first.
std::vector<const CLI::App*> ChosenCommands(const CLI::App& app) {
  std::vector<const CLI::App*> chain = {&app};
  for (;;) {
    const std::vector<CLI::App*> chosen = chain.back()->get_subcommands();
    if (chosen.empty()) return chain;
    chain.push_back(chosen.front());
  }
}

// Whether `app` has commands of its own (named ones: CLI11's option
// groups are nameless).
bool HasCommands(const CLI::App& app) {
  return !app.get_subcommands(std::function<bool(const CLI::App*)>(
                                  [](const CLI::App* command) {
                                    return !command->get_name().empty();
                                  }))
              .empty();
}

bool HasCommand(const CLI::App& app, const std::string& name) {
  return !app.get_subcommands(std::function<bool(const CLI::App*)>(
                                  [&](const CLI::App* command) {
                                    return command->check_name(name);
                                  }))
              .empty();
}

// "evidentia-agent run", or "evidentia token create".
std::string CommandPath(const std::vector<const CLI::App*>& chain) {
  std::vector<std::string> names;
  for (const CLI::App* command : chain) names.push_back(command->get_name());
  return absl::StrJoin(names, " ");
}

// "once was given a disallowed flag override" (CLI11's words for a value
// given to a flag that takes none) as "--once takes no value";
// "--state-dir: 1 required DIR missing" as "--state-dir needs a value (DIR)";
// anything else as it is.
std::string Reword(const CLI::ParseError& error) {
  const std::string message = error.what();
  const std::string kOverride = " was given a disallowed flag override";
  if (absl::EndsWith(message, kOverride)) {
    std::string flag = message.substr(0, message.size() - kOverride.size());
    if (!absl::StartsWith(flag, "-")) flag = absl::StrCat("--", flag);
    return absl::StrCat(flag, " takes no value");
  }
  const std::string kRequired = ": 1 required ";
  const std::string kMissing = " missing";
  if (const size_t at = message.find(kRequired);
      at != std::string::npos && absl::EndsWith(message, kMissing)) {
    const size_t type_start = at + kRequired.size();
    return absl::StrCat(
        message.substr(0, at), " needs a value (",
        message.substr(type_start,
                       message.size() - kMissing.size() - type_start),
        ")");
  }
  if (message == "A subcommand is required") return "a command is required";
  return message;
}

}  // namespace

absl::StatusOr<absl::Duration> ParseDurationFlag(absl::string_view text,
                                                 absl::Duration min,
                                                 absl::Duration max) {
  absl::Duration duration;
  if (!absl::ParseDuration(text, &duration)) {
    return NotA(text, "a duration (like 90s, 15m or 1h)");
  }
  if (duration < min) {
    return NotA(text, absl::StrCat("at least ", absl::FormatDuration(min)));
  }
  if (duration > max) {
    return NotA(text, absl::StrCat("at most ", absl::FormatDuration(max)));
  }
  return duration;
}

absl::StatusOr<uint64_t> ParseByteSizeFlag(absl::string_view text) {
  constexpr struct {
    absl::string_view suffix;
    uint64_t unit;
  } kUnits[] = {{"KiB", uint64_t{1} << 10},
                {"MiB", uint64_t{1} << 20},
                {"GiB", uint64_t{1} << 30}};
  absl::string_view digits = text;
  uint64_t unit = 1;
  for (const auto& [suffix, size] : kUnits) {
    if (absl::ConsumeSuffix(&digits, suffix)) {
      unit = size;
      break;
    }
  }
  uint64_t number = 0;
  if (digits.empty() ||
      digits.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(digits, &number)) {
    return NotA(text,
                "a size (like 67108864 or 64MiB; suffixes KiB, MiB, GiB)");
  }
  if (number == 0) return NotA(text, "a size of at least 1 byte");
  if (number > UINT64_MAX / unit) return NotA(text, "a size below 16EiB");
  return number * unit;
}

absl::StatusOr<double> ParseNumberFlag(absl::string_view text, double min,
                                       double max) {
  double number = 0;
  if (!absl::SimpleAtod(text, &number) || !std::isfinite(number)) {
    return NotA(text, "a number");
  }
  if (number < min) return NotA(text, absl::StrCat("at least ", min));
  if (number > max) return NotA(text, absl::StrCat("at most ", max));
  return number;
}

absl::StatusOr<int64_t> ParseIntegerFlag(absl::string_view text, int64_t min,
                                         int64_t max) {
  int64_t number = 0;
  if (!absl::SimpleAtoi(text, &number)) return NotA(text, "a whole number");
  if (number < min) return NotA(text, absl::StrCat("at least ", min));
  if (number > max) return NotA(text, absl::StrCat("at most ", max));
  return number;
}

CLI::Option* AddDurationOption(CLI::App& app, const std::string& name,
                               absl::Duration* value, const std::string& help,
                               absl::Duration min, absl::Duration max) {
  return AddParsedOption<absl::Duration>(
             app, name, value,
             [min, max](absl::string_view text) {
               return ParseDurationFlag(text, min, max);
             },
             help)
      ->type_name("DURATION");
}

CLI::Option* AddDurationOption(CLI::App& app, const std::string& name,
                               std::optional<absl::Duration>* value,
                               const std::string& help, absl::Duration min,
                               absl::Duration max) {
  return AddParsedOption<std::optional<absl::Duration>>(
             app, name, value,
             [min, max](absl::string_view text)
                 -> absl::StatusOr<std::optional<absl::Duration>> {
               absl::StatusOr<absl::Duration> duration =
                   ParseDurationFlag(text, min, max);
               if (!duration.ok()) return duration.status();
               return *duration;
             },
             help)
      ->type_name("DURATION");
}

CLI::Option* AddByteSizeOption(CLI::App& app, const std::string& name,
                               uint64_t* value, const std::string& help) {
  return AddParsedOption<uint64_t>(app, name, value, ParseByteSizeFlag, help)
      ->type_name("SIZE");
}

CLI::Option* AddNumberOption(CLI::App& app, const std::string& name,
                             double* value, const std::string& help, double min,
                             double max) {
  return AddParsedOption<double>(
             app, name, value,
             [min, max](absl::string_view text) {
               return ParseNumberFlag(text, min, max);
             },
             help)
      ->type_name("N");
}

CLI::Option* AddIntegerOption(CLI::App& app, const std::string& name,
                              int64_t* value, const std::string& help,
                              int64_t min, int64_t max) {
  return AddParsedOption<int64_t>(
             app, name, value,
             [min, max](absl::string_view text) {
               return ParseIntegerFlag(text, min, max);
             },
             help)
      ->type_name("N");
}

void UseEvidentiaConventions(CLI::App& app) {
  // Commands and flags, in the words of the README and the --help texts.
  app.get_formatter()->label("SUBCOMMAND", "COMMAND");
  app.get_formatter()->label("OPTIONS", "FLAGS");
  app.get_formatter()->column_width(34);  // "--collector HOST:PORT REQUIRED"
  app.option_defaults()->group("Flags")->multi_option_policy(
      CLI::MultiOptionPolicy::TakeLast);
  app.set_help_flag("--help", "this help");
}

std::string UsageErrorMessage(const CLI::App& app,
                              const CLI::ParseError& error) {
  const std::vector<const CLI::App*> chain = ChosenCommands(app);
  // A word nobody took: the innermost command holds it, or an outer one
  // (after "--", or before any command was named).
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const std::vector<std::string> left = (*it)->remaining();
    if (left.empty()) continue;
    const std::string& word = left.front();
    if (absl::StartsWith(word, "-") && word.size() > 1) {
      return absl::StrCat("unknown flag ", word.substr(0, word.find('=')));
    }
    if (chain.size() == 1 && HasCommands(app)) {
      return absl::StrCat("unknown command ", word);
    }
    return absl::StrCat("unexpected argument '", word, "'");
  }
  return Reword(error);
}

std::optional<int> ParseCommandLine(
    CLI::App& app, const std::function<void(CLI::App&)>& define, int argc,
    const char* const* argv, std::ostream& out, std::ostream& err) {
  try {
    define(app);
  } catch (const std::exception& e) {
    err << app.get_name()
        << ": the command line cannot be defined: " << e.what() << "\n";
    return 1;
  }
  // Listed under "Commands:" (CLI11 says "Subcommands:"), --help with the
  // other flags (CLI11 copies it into each command before their defaults).
  std::vector<CLI::App*> commands = {&app};
  while (!commands.empty()) {
    CLI::App* command = commands.back();
    commands.pop_back();
    for (CLI::App* sub :
         command->get_subcommands(std::function<bool(CLI::App*)>())) {
      if (sub->get_group() == "Subcommands") sub->group("Commands");
      if (CLI::Option* help = sub->get_help_ptr(); help != nullptr) {
        help->group(sub->option_defaults()->get_group());
      }
      commands.push_back(sub);
    }
  }
  if (argc < 2 && app.get_require_subcommand_min() > 0) {
    err << app.help();
    return kUsageExitCode;
  }
  if (argc == 2 && std::string(argv[1]) == "help" && !HasCommand(app, "help")) {
    out << app.help();
    return 0;
  }
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      return app.exit(e, out, err);  // --help
    }
    const std::vector<const CLI::App*> chain = ChosenCommands(app);
    const std::string path = CommandPath(chain);
    err << path << ": " << UsageErrorMessage(app, e) << " (" << path
        << " --help lists its "
        << (HasCommands(*chain.back()) ? "commands" : "flags") << ")\n";
    return kUsageExitCode;
  } catch (const std::exception& e) {
    // Not a usage error: something failed while parsing (memory, a bug).
    err << app.get_name() << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace evidentia
