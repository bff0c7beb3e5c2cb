// Command lines of Evidentia's binaries on CLI11 (Debian's libcli11-dev):
// typed options for durations ("15m"), byte sizes ("64MiB") and numbers,
// each validated with a message naming the flag and the value, and one
// parse function that turns CLI11's exceptions into the binaries' exit
// codes (0 after --help, 2 for any usage error) and the project's message
// style. CLI11 throws; nothing thrown crosses ParseCommandLine.
//
// The Parse* functions are pure and usable without CLI11; the Add*Option
// functions attach them to a CLI::App. Not thread-safe (neither is CLI11's
// App); a command line is parsed once, in main().
#ifndef EVIDENTIA_COMMON_CLI_FLAGS_H_
#define EVIDENTIA_COMMON_CLI_FLAGS_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <utility>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace evidentia {

// The exit code of a command line that was refused, in every binary.
inline constexpr int kUsageExitCode = 2;

// `text` as absl::ParseDuration reads it ("90s", "15m", "1h30m", "1.5h",
// "inf"), within [min, max]. INVALID_ARGUMENT naming the value when it is
// malformed or out of range.
absl::StatusOr<absl::Duration> ParseDurationFlag(
    absl::string_view text, absl::Duration min = absl::ZeroDuration(),
    absl::Duration max = absl::InfiniteDuration());

// `text` as a number of bytes: digits with an optional binary suffix KiB,
// MiB or GiB ("67108864", "512KiB", "64MiB"), at least 1. INVALID_ARGUMENT
// when malformed, 0 or beyond 2^64 - 1.
absl::StatusOr<uint64_t> ParseByteSizeFlag(absl::string_view text);

// `text` as a finite decimal number ("10", "0.5") within [min, max].
// INVALID_ARGUMENT when malformed or out of range.
absl::StatusOr<double> ParseNumberFlag(
    absl::string_view text, double min = std::numeric_limits<double>::lowest(),
    double max = std::numeric_limits<double>::max());

// `text` as a whole number ("8", "-3") within [min, max]. INVALID_ARGUMENT
// when malformed or out of range.
absl::StatusOr<int64_t> ParseIntegerFlag(
    absl::string_view text, int64_t min = std::numeric_limits<int64_t>::min(),
    int64_t max = std::numeric_limits<int64_t>::max());

// Adds option `name` ("--interval") taking one value, which `parse` turns
// into *value; a value `parse` refuses is a usage error reading
// "NAME: <parse's message>". *value keeps what it held when the option is
// not given (the returned Option's count() is 0 then); given twice, the
// last one counts. `value` must outlive parsing. The Option is owned by
// `app`; callers may refine it (->required(), ->type_name()).
template <typename T>
CLI::Option* AddParsedOption(
    CLI::App& app, const std::string& name, T* value,
    std::function<absl::StatusOr<T>(absl::string_view)> parse,
    const std::string& help);

// AddParsedOption with ParseDurationFlag; shown as DURATION in --help.
CLI::Option* AddDurationOption(CLI::App& app, const std::string& name,
                               absl::Duration* value, const std::string& help,
                               absl::Duration min = absl::ZeroDuration(),
                               absl::Duration max = absl::InfiniteDuration());

// The same for an option whose absence means something else than any
// value: *value stays nullopt unless the option is given.
CLI::Option* AddDurationOption(CLI::App& app, const std::string& name,
                               std::optional<absl::Duration>* value,
                               const std::string& help,
                               absl::Duration min = absl::ZeroDuration(),
                               absl::Duration max = absl::InfiniteDuration());

// AddParsedOption with ParseByteSizeFlag; shown as SIZE in --help.
CLI::Option* AddByteSizeOption(CLI::App& app, const std::string& name,
                               uint64_t* value, const std::string& help);

// AddParsedOption with ParseNumberFlag; shown as N in --help.
CLI::Option* AddNumberOption(CLI::App& app, const std::string& name,
                             double* value, const std::string& help,
                             double min = std::numeric_limits<double>::lowest(),
                             double max = std::numeric_limits<double>::max());

// AddParsedOption with ParseIntegerFlag; shown as N in --help.
CLI::Option* AddIntegerOption(
    CLI::App& app, const std::string& name, int64_t* value,
    const std::string& help, int64_t min = std::numeric_limits<int64_t>::min(),
    int64_t max = std::numeric_limits<int64_t>::max());

// Prepares `app` (named after the binary: CLI::App{description, name}) for
// Evidentia's conventions before its commands are added: `--help` (no
// `-h`) on it and on every subcommand added afterwards, and an option
// given twice keeps its last value.
void UseEvidentiaConventions(CLI::App& app);

// Calls `define` to add the commands and options to `app`, then parses
// argv[1..argc) with it. Returns nullopt when the command line is accepted
// (the options hold their values; app.got_subcommand() names the command).
// Otherwise returns the exit code to exit with now:
//   0 after printing the help of the command named to `out` (`--help`, or
//     a first word `help` when the binary has no command of that name);
//   2 after printing one line to `err`: "PROGRAM COMMAND: MESSAGE
//     (PROGRAM COMMAND --help lists its flags)", where MESSAGE names an
//     unknown flag, an unexpected word, a missing required flag or a value
//     refused by its parser; with no arguments at all, the program's help
//     goes to `err` instead;
//   1 after printing a message to `err` when `define` itself failed (a
//     command line that cannot be built: a bug) or parsing failed for
//     another reason than the command line (out of memory).
// No exception escapes, whatever `define` or CLI11 throws.
std::optional<int> ParseCommandLine(
    CLI::App& app, const std::function<void(CLI::App&)>& define, int argc,
    const char* const* argv, std::ostream& out, std::ostream& err);

// The message ParseCommandLine prints for `error` raised while parsing with
// `app` (exposed for tests): the unexpected word if one was left over,
// else CLI11's message, reworded where CLI11's is unclear.
std::string UsageErrorMessage(const CLI::App& app,
                              const CLI::ParseError& error);

// ---------------------------------------------------------------------------
// Implementation.

template <typename T>
CLI::Option* AddParsedOption(
    CLI::App& app, const std::string& name, T* value,
    std::function<absl::StatusOr<T>(absl::string_view)> parse,
    const std::string& help) {
  return app.add_option_function<std::string>(
      name,
      [name, value, parse = std::move(parse)](const std::string& text) {
        absl::StatusOr<T> parsed = parse(text);
        if (!parsed.ok()) {
          // Caught by ParseCommandLine, which prints it as a usage error.
          throw CLI::ValidationError(name,
                                     std::string(parsed.status().message()));
        }
        *value = *std::move(parsed);
      },
      help);
}

}  // namespace evidentia

#endif  // EVIDENTIA_COMMON_CLI_FLAGS_H_
