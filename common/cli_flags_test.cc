#include "common/cli_flags.h"

#include <cstdint>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evidentia {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

// --- the value parsers ------------------------------------------------------

TEST(ParseDurationFlagTest, ReadsMinutesHoursAndCombinations) {
  EXPECT_EQ(*ParseDurationFlag("15m"), absl::Minutes(15));
  EXPECT_EQ(*ParseDurationFlag("1h"), absl::Hours(1));
  EXPECT_EQ(*ParseDurationFlag("1h30m"), absl::Minutes(90));
  EXPECT_EQ(*ParseDurationFlag("1.5s"), absl::Milliseconds(1500));
}

TEST(ParseDurationFlagTest, RefusesAWordNamingIt) {
  absl::StatusOr<absl::Duration> parsed = ParseDurationFlag("soon");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(),
              AllOf(HasSubstr("'soon'"), HasSubstr("duration")));
}

TEST(ParseDurationFlagTest, RefusesANumberWithoutUnit) {
  EXPECT_FALSE(ParseDurationFlag("15").ok());
}

TEST(ParseDurationFlagTest, RefusesBelowTheMinimum) {
  absl::StatusOr<absl::Duration> parsed =
      ParseDurationFlag("500ms", absl::Seconds(1));
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("at least 1s"));
  EXPECT_EQ(*ParseDurationFlag("1s", absl::Seconds(1)), absl::Seconds(1));
}

TEST(ParseDurationFlagTest, RefusesAboveTheMaximum) {
  absl::StatusOr<absl::Duration> parsed =
      ParseDurationFlag("31d", absl::ZeroDuration(), absl::Hours(24 * 30));
  EXPECT_FALSE(parsed.ok());
  EXPECT_FALSE(
      ParseDurationFlag("inf", absl::ZeroDuration(), absl::Hours(1)).ok());
}

TEST(ParseByteSizeFlagTest, ReadsBytesAndBinarySuffixes) {
  EXPECT_EQ(*ParseByteSizeFlag("67108864"), uint64_t{67108864});
  EXPECT_EQ(*ParseByteSizeFlag("64MiB"), uint64_t{64} << 20);
  EXPECT_EQ(*ParseByteSizeFlag("512KiB"), uint64_t{512} << 10);
  EXPECT_EQ(*ParseByteSizeFlag("1GiB"), uint64_t{1} << 30);
  EXPECT_EQ(*ParseByteSizeFlag("1"), uint64_t{1});
}

TEST(ParseByteSizeFlagTest, RefusesZero) {
  absl::StatusOr<uint64_t> parsed = ParseByteSizeFlag("0MiB");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("at least 1 byte"));
}

TEST(ParseByteSizeFlagTest, RefusesDecimalSuffixesAndOtherWords) {
  for (const char* text : {"64MB", "64M", "MiB", "", "-1", "+5", " 5", "1.5GiB",
                           "64mib", "sixty"}) {
    absl::StatusOr<uint64_t> parsed = ParseByteSizeFlag(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(), HasSubstr("64MiB")) << text;
  }
}

TEST(ParseByteSizeFlagTest, RefusesOverflow) {
  EXPECT_FALSE(ParseByteSizeFlag("18446744073709551616").ok());
  EXPECT_FALSE(ParseByteSizeFlag("17179869184GiB").ok());  // 2^64
  EXPECT_EQ(*ParseByteSizeFlag("17179869183GiB"), uint64_t{17179869183} << 30);
}

TEST(ParseNumberFlagTest, ReadsDecimalsWithinRange) {
  EXPECT_EQ(*ParseNumberFlag("10", 0), 10.0);
  EXPECT_EQ(*ParseNumberFlag("0.5", 0, 1), 0.5);
  EXPECT_EQ(*ParseNumberFlag("0", 0), 0.0);
}

TEST(ParseNumberFlagTest, RefusesWordsNonFiniteAndOutOfRange) {
  EXPECT_FALSE(ParseNumberFlag("ten").ok());
  EXPECT_FALSE(ParseNumberFlag("nan").ok());
  EXPECT_FALSE(ParseNumberFlag("inf").ok());
  absl::StatusOr<double> low = ParseNumberFlag("-1", 0);
  ASSERT_FALSE(low.ok());
  EXPECT_THAT(low.status().message(),
              AllOf(HasSubstr("'-1'"), HasSubstr("at least 0")));
  EXPECT_FALSE(ParseNumberFlag("2", 0, 1).ok());
}

TEST(ParseIntegerFlagTest, ReadsWholeNumbersWithinRange) {
  EXPECT_EQ(*ParseIntegerFlag("8", 1, 100), 8);
  EXPECT_EQ(*ParseIntegerFlag("-3"), -3);
}

TEST(ParseIntegerFlagTest, RefusesFractionsWordsAndOutOfRange) {
  EXPECT_FALSE(ParseIntegerFlag("1.5").ok());
  EXPECT_FALSE(ParseIntegerFlag("x").ok());
  EXPECT_FALSE(ParseIntegerFlag("99999999999999999999").ok());
  absl::StatusOr<int64_t> zero = ParseIntegerFlag("0", 1, 100);
  ASSERT_FALSE(zero.ok());
  EXPECT_THAT(zero.status().message(), HasSubstr("at least 1"));
  EXPECT_FALSE(ParseIntegerFlag("101", 1, 100).ok());
}

// --- ParseCommandLine -------------------------------------------------------

// A binary "tool" with the shapes Evidentia's binaries have: `serve` with a
// required flag, a boolean, typed options and a repeatable one, and a
// nested `token create`.
struct ToolFlags {
  std::string data_dir;
  bool once = false;
  absl::Duration interval = absl::Hours(1);
  std::optional<absl::Duration> heartbeat;
  uint64_t quota = 1;
  double rate = 10;
  int64_t uses = 1;
  std::vector<std::string> labels;
  CLI::App* serve = nullptr;
  CLI::App* token_create = nullptr;

  void Define(CLI::App& app) {
    UseEvidentiaConventions(app);
    app.require_subcommand(1);
    serve = app.add_subcommand("serve", "serve");
    serve->add_option("--data-dir", data_dir, "where")
        ->type_name("DIR")
        ->required();
    serve->add_flag("--once", once, "one cycle")->disable_flag_override();
    AddDurationOption(*serve, "--interval", &interval, "between cycles",
                      absl::Seconds(1));
    AddDurationOption(*serve, "--heartbeat", &heartbeat, "if given");
    AddByteSizeOption(*serve, "--quota", &quota, "spool quota");
    AddNumberOption(*serve, "--rate", &rate, "per second", 0);
    serve->add_option("--label", labels, "repeatable")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->allow_extra_args(false);
    CLI::App* token = app.add_subcommand("token", "tokens");
    token->require_subcommand(1);
    token_create = token->add_subcommand("create", "a token");
    AddIntegerOption(*token_create, "--uses", &uses, "enrolments", 1, 100);
  }
};

class ParseCommandLineTest : public ::testing::Test {
 protected:
  // Parses "tool WORDS..."; the exit code, or nullopt when accepted.
  std::optional<int> Parse(const std::vector<std::string>& words) {
    std::vector<const char*> argv = {"tool"};
    for (const std::string& word : words) argv.push_back(word.c_str());
    return ParseCommandLine(
        app_, [this](CLI::App& app) { flags_.Define(app); },
        static_cast<int>(argv.size()), argv.data(), out_, err_);
  }

  ToolFlags flags_;
  CLI::App app_{"tool: a test binary", "tool"};
  std::ostringstream out_, err_;
};

TEST_F(ParseCommandLineTest, AcceptsBothValueFormsAndTypesThem) {
  EXPECT_EQ(Parse({"serve", "--data-dir=/d", "--interval", "15m",
                   "--quota=64MiB", "--rate", "0.5", "--once"}),
            std::nullopt)
      << err_.str();
  EXPECT_TRUE(flags_.serve->parsed());
  EXPECT_EQ(flags_.data_dir, "/d");
  EXPECT_EQ(flags_.interval, absl::Minutes(15));
  EXPECT_EQ(flags_.quota, uint64_t{64} << 20);
  EXPECT_EQ(flags_.rate, 0.5);
  EXPECT_TRUE(flags_.once);
  EXPECT_THAT(err_.str(), IsEmpty());
}

TEST_F(ParseCommandLineTest, AbsentOptionsKeepTheirDefaults) {
  EXPECT_EQ(Parse({"serve", "--data-dir", "/d"}), std::nullopt);
  EXPECT_EQ(flags_.interval, absl::Hours(1));
  EXPECT_EQ(flags_.quota, uint64_t{1});
  EXPECT_FALSE(flags_.once);
}

TEST_F(ParseCommandLineTest, OptionalDurationIsSetOnlyWhenGiven) {
  EXPECT_EQ(Parse({"serve", "--data-dir", "/d"}), std::nullopt);
  EXPECT_EQ(flags_.heartbeat, std::nullopt);
}

TEST_F(ParseCommandLineTest, OptionalDurationTakesTheValueGiven) {
  EXPECT_EQ(Parse({"serve", "--data-dir", "/d", "--heartbeat=2m"}),
            std::nullopt);
  EXPECT_EQ(flags_.heartbeat, absl::Minutes(2));
}

TEST_F(ParseCommandLineTest, RepeatedOptionKeepsTheLastValue) {
  EXPECT_EQ(Parse({"serve", "--data-dir", "/a", "--data-dir", "/b"}),
            std::nullopt);
  EXPECT_EQ(flags_.data_dir, "/b");
}

TEST_F(ParseCommandLineTest, RepeatableOptionKeepsEveryValue) {
  EXPECT_EQ(
      Parse({"serve", "--data-dir", "/d", "--label", "a=1", "--label=b=2"}),
      std::nullopt);
  EXPECT_EQ(flags_.labels, (std::vector<std::string>{"a=1", "b=2"}));
}

TEST_F(ParseCommandLineTest, RepeatableOptionTakesOneValueEachTime) {
  EXPECT_EQ(Parse({"serve", "--data-dir", "/d", "--label", "a=1", "b=2"}),
            kUsageExitCode);
  EXPECT_THAT(err_.str(), HasSubstr("unexpected argument 'b=2'"));
}

TEST_F(ParseCommandLineTest, UnknownFlagIsUsageErrorNamingIt) {
  EXPECT_EQ(Parse({"serve", "--data-dir", "/d", "--bogus"}), kUsageExitCode);
  EXPECT_EQ(err_.str(),
            "tool serve: unknown flag --bogus (tool serve --help lists its "
            "flags)\n");
  EXPECT_THAT(out_.str(), IsEmpty());
}

TEST_F(ParseCommandLineTest, UnknownFlagWithValueIsNamedWithoutIt) {
  EXPECT_EQ(Parse({"serve", "--data-dir", "/d", "--bogus=secret"}),
            kUsageExitCode);
  EXPECT_THAT(err_.str(), AllOf(HasSubstr("unknown flag --bogus "),
                                Not(HasSubstr("secret"))));
}

TEST_F(ParseCommandLineTest, ShortFlagIsUnknown) {
  EXPECT_EQ(Parse({"serve", "--data-dir", "/d", "-h"}), kUsageExitCode);
  EXPECT_THAT(err_.str(), HasSubstr("unknown flag -h"));
}

TEST_F(ParseCommandLineTest, UnknownFlagIsReportedBeforeAMissingRequiredOne) {
  EXPECT_EQ(Parse({"serve", "--bogus"}), kUsageExitCode);
  EXPECT_THAT(err_.str(), HasSubstr("unknown flag --bogus"));
}

TEST_F(ParseCommandLineTest, MissingRequiredFlagIsUsageError) {
  EXPECT_EQ(Parse({"serve", "--once"}), kUsageExitCode);
  EXPECT_THAT(err_.str(),
              StartsWith("tool serve: --data-dir is required (tool serve"));
}

TEST_F(ParseCommandLineTest, FlagWithoutItsValueIsUsageError) {
  EXPECT_EQ(Parse({"serve", "--data-dir"}), kUsageExitCode);
  EXPECT_THAT(err_.str(), HasSubstr("--data-dir needs a value (DIR)"));
}

TEST_F(ParseCommandLineTest, BooleanFlagGivenAValueIsUsageError) {
  EXPECT_EQ(Parse({"serve", "--data-dir", "/d", "--once=false"}),
            kUsageExitCode);
  EXPECT_THAT(err_.str(), HasSubstr("--once takes no value"));
}

TEST_F(ParseCommandLineTest, BadDurationIsUsageErrorNamingFlagAndValue) {
  EXPECT_EQ(Parse({"serve", "--data-dir", "/d", "--interval", "soon"}),
            kUsageExitCode);
  EXPECT_THAT(err_.str(),
              AllOf(StartsWith("tool serve: --interval: 'soon' is not a "
                               "duration"),
                    HasSubstr("15m")));
}

TEST_F(ParseCommandLineTest, DurationBelowItsMinimumIsUsageError) {
  EXPECT_EQ(Parse({"serve", "--data-dir", "/d", "--interval=10ms"}),
            kUsageExitCode);
  EXPECT_THAT(err_.str(), HasSubstr("--interval: '10ms' is not at least 1s"));
}

TEST_F(ParseCommandLineTest, BadSizeIsUsageErrorNamingFlagAndValue) {
  EXPECT_EQ(Parse({"serve", "--data-dir", "/d", "--quota", "64MB"}),
            kUsageExitCode);
  EXPECT_THAT(err_.str(), HasSubstr("--quota: '64MB' is not a size"));
}

TEST_F(ParseCommandLineTest, NegativeNumberIsRefusedByItsRange) {
  EXPECT_EQ(Parse({"serve", "--data-dir", "/d", "--rate=-1"}), kUsageExitCode);
  EXPECT_THAT(err_.str(), HasSubstr("--rate: '-1' is not at least 0"));
}

TEST_F(ParseCommandLineTest, UnexpectedWordIsUsageError) {
  EXPECT_EQ(Parse({"serve", "--data-dir", "/d", "extra"}), kUsageExitCode);
  EXPECT_THAT(err_.str(), HasSubstr("tool serve: unexpected argument 'extra'"));
}

TEST_F(ParseCommandLineTest, WordAfterDoubleDashIsUsageError) {
  EXPECT_EQ(Parse({"serve", "--data-dir", "/d", "--", "extra"}),
            kUsageExitCode);
  EXPECT_THAT(err_.str(), HasSubstr("unexpected argument 'extra'"));
}

TEST_F(ParseCommandLineTest, SecondCommandIsUsageError) {
  EXPECT_EQ(Parse({"serve", "--data-dir", "/d", "token", "create"}),
            kUsageExitCode);
  EXPECT_THAT(err_.str(), HasSubstr("unexpected argument 'token'"));
}

TEST_F(ParseCommandLineTest, UnknownCommandIsUsageError) {
  EXPECT_EQ(Parse({"frobnicate"}), kUsageExitCode);
  EXPECT_EQ(err_.str(),
            "tool: unknown command frobnicate (tool --help lists its "
            "commands)\n");
}

TEST_F(ParseCommandLineTest, FlagBeforeTheCommandIsUnknown) {
  EXPECT_EQ(Parse({"--data-dir", "/d", "serve"}), kUsageExitCode);
  EXPECT_THAT(err_.str(), HasSubstr("unknown flag --data-dir"));
}

TEST_F(ParseCommandLineTest, NoArgumentsPrintHelpAsUsageError) {
  EXPECT_EQ(Parse({}), kUsageExitCode);
  EXPECT_THAT(err_.str(), AllOf(HasSubstr("serve"), HasSubstr("token")));
  EXPECT_THAT(out_.str(), IsEmpty());
}

TEST_F(ParseCommandLineTest, HelpOfACommandListsItsFlagsOnStdout) {
  EXPECT_EQ(Parse({"serve", "--help"}), 0);
  EXPECT_THAT(out_.str(),
              AllOf(HasSubstr("--data-dir DIR"), HasSubstr("--interval"),
                    HasSubstr("DURATION"), HasSubstr("--quota SIZE"),
                    Not(HasSubstr("--uses"))));
  EXPECT_THAT(err_.str(), IsEmpty());
}

TEST_F(ParseCommandLineTest, HelpNeedsNoRequiredFlag) {
  EXPECT_EQ(Parse({"token", "create", "--help"}), 0);
  EXPECT_THAT(out_.str(),
              AllOf(HasSubstr("--uses"), Not(HasSubstr("--quota"))));
}

TEST_F(ParseCommandLineTest, TopLevelHelpListsTheCommands) {
  EXPECT_EQ(Parse({"--help"}), 0);
  EXPECT_THAT(out_.str(), AllOf(HasSubstr("serve"), HasSubstr("token")));
}

TEST_F(ParseCommandLineTest, HelpAsACommandIsTopLevelHelp) {
  EXPECT_EQ(Parse({"help"}), 0);
  EXPECT_THAT(out_.str(), AllOf(HasSubstr("serve"), HasSubstr("token")));
  EXPECT_THAT(err_.str(), IsEmpty());
}

TEST_F(ParseCommandLineTest, NestedCommandErrorsNameTheWholeCommand) {
  EXPECT_EQ(Parse({"token", "create", "--uses", "0"}), kUsageExitCode);
  EXPECT_THAT(err_.str(),
              StartsWith("tool token create: --uses: '0' is not at least 1 "
                         "(tool token create --help lists its flags)"));
}

TEST_F(ParseCommandLineTest, MissingNestedCommandIsUsageError) {
  EXPECT_EQ(Parse({"token"}), kUsageExitCode);
  EXPECT_THAT(err_.str(),
              HasSubstr("tool token: a command is required (tool token "
                        "--help lists its commands)"));
}

TEST_F(ParseCommandLineTest, NestedCommandParses) {
  EXPECT_EQ(Parse({"token", "create", "--uses=5"}), std::nullopt);
  EXPECT_TRUE(flags_.token_create->parsed());
  EXPECT_EQ(flags_.uses, 5);
}

TEST(ParseCommandLineDefineTest, FailingDefinitionIsReportedNotThrown) {
  CLI::App app{"broken", "broken"};
  std::ostringstream out, err;
  const char* argv[] = {"broken", "x"};
  const std::optional<int> code = ParseCommandLine(
      app,
      [](CLI::App& app) {
        app.add_flag("--same", "one");
        app.add_flag("--same", "the same name again");  // throws in CLI11
      },
      2, argv, out, err);
  EXPECT_EQ(code, 1);
  EXPECT_THAT(err.str(), HasSubstr("cannot be defined"));
}

TEST(ParseCommandLineDefineTest, ExceptionFromAParserIsReportedNotThrown) {
  CLI::App app{"tool", "tool"};
  std::ostringstream out, err;
  int value = 0;
  const char* argv[] = {"tool", "--n", "1"};
  const std::optional<int> code = ParseCommandLine(
      app,
      [&](CLI::App& app) {
        AddParsedOption<int>(
            app, "--n", &value,
            [](absl::string_view) -> absl::StatusOr<int> {
              throw std::runtime_error("out of memory, say");
            },
            "a number");
      },
      3, argv, out, err);
  EXPECT_EQ(code, 1);
  EXPECT_THAT(err.str(), HasSubstr("out of memory, say"));
}

}  // namespace
}  // namespace evidentia
