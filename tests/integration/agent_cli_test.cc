// The real evidentia-agent binary's command line (CLI11, common/cli_flags.h):
// --help on every command (exit 0, stdout), and every way of getting the
// command line wrong refused with exit 2 and one line on stderr naming what
// was wrong: an unknown command or flag, a missing required flag, a flag
// without its value, a malformed or out-of-range duration, size, rate or
// label. The documented invocations, in both `--flag value` and
// `--flag=value` forms, get past the command line to the command itself.
// tests/integration/cli_test.cc covers the three binaries side by side.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

extern char** environ;

namespace evidentia {
namespace {

namespace fs = std::filesystem;
using ::evidentia::testing::ScopedTempDir;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kRoot[] =
    EVIDENTIA_SOURCE_DIR "/tests/fixtures/host_facts/debian12";
constexpr int kUsage = 2;

// What a run of the agent printed where, and how it ended.
struct Outcome {
  int code = -1;  // exit code; 128 + signal if killed; -1 if not started
  std::string out;
  std::string err;
};

std::string Slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class AgentCliTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(tmp_.path().empty()); }

  // Runs evidentia-agent WORDS... to completion, stdout and stderr apart.
  Outcome Agent(const std::vector<std::string>& words) {
    std::vector<std::string> argv = {EVIDENTIA_AGENT_BIN};
    argv.insert(argv.end(), words.begin(), words.end());
    std::vector<char*> args;
    for (std::string& word : argv) args.push_back(word.data());
    args.push_back(nullptr);
    const fs::path out = tmp_.path() / "stdout";
    const fs::path err = tmp_.path() / "stderr";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    Outcome outcome;
    pid_t pid = -1;
    const int spawned =
        posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) return outcome;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) outcome.code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) outcome.code = 128 + WTERMSIG(status);
    outcome.out = Slurp(out);
    outcome.err = Slurp(err);
    return outcome;
  }

  // A state dir that does not exist: a command that gets past the command
  // line fails on it (exit 1) without waiting for any collector.
  std::string Missing() const { return (tmp_.path() / "missing").string(); }

  // Expects a usage error: exit 2, nothing on stdout, one line on stderr
  // that starts with "evidentia-agent COMMAND: " and contains `what`.
  void ExpectUsageError(const std::vector<std::string>& words,
                        const std::string& command, const std::string& what) {
    const Outcome outcome = Agent(words);
    EXPECT_EQ(outcome.code, kUsage) << outcome.err;
    EXPECT_THAT(outcome.out, IsEmpty());
    EXPECT_THAT(outcome.err, AllOf(StartsWith(command + ": "), HasSubstr(what),
                                   HasSubstr(command + " --help lists its")));
    EXPECT_EQ(outcome.err.find('\n'), outcome.err.size() - 1) << outcome.err;
  }

  ScopedTempDir tmp_;
};

// --- help
// ---------------------------------------------------------------------

TEST_F(AgentCliTest, TopLevelHelpListsEveryCommandAndTheExitCodes) {
  const Outcome outcome = Agent({"--help"});
  EXPECT_EQ(outcome.code, 0) << outcome.err;
  EXPECT_THAT(outcome.out,
              AllOf(HasSubstr("collect"), HasSubstr("enroll"), HasSubstr("run"),
                    HasSubstr("rotate-key"),
                    HasSubstr("exit codes: 0 ok, 1 failed, 2 usage, 3 not "
                              "delivered")));
  EXPECT_THAT(outcome.err, IsEmpty());
}

TEST_F(AgentCliTest, HelpAsACommandIsTheTopLevelHelp) {
  const Outcome outcome = Agent({"help"});
  EXPECT_EQ(outcome.code, 0) << outcome.err;
  EXPECT_THAT(outcome.out, AllOf(HasSubstr("enroll"), HasSubstr("rotate-key")));
}

TEST_F(AgentCliTest, NoArgumentsPrintTheHelpOnStderrAsUsageError) {
  const Outcome outcome = Agent({});
  EXPECT_EQ(outcome.code, kUsage);
  EXPECT_THAT(outcome.out, IsEmpty());
  EXPECT_THAT(outcome.err, AllOf(HasSubstr("enroll"), HasSubstr("rotate-key")));
}

// Each command's --help: exit 0 on stdout, its own flags and text only,
// and no required flag needed.
struct CommandHelp {
  std::string command;
  std::vector<std::string> has;
  std::vector<std::string> has_not;
};

TEST_F(AgentCliTest, EveryCommandHasHelpListingOnlyItsFlags) {
  const std::vector<CommandHelp> commands = {
      {"collect",
       {"--once", "--json", "--root DIR", "Needs no collector"},
       {"--state-dir", "--token"}},
      {"enroll",
       {"--collector HOST:PORT", "--ca FILE", "--token TOKEN", "--state-dir",
        "--root", "--label KEY=VALUE", "repeatable"},
       {"--interval", "--once"}},
      {"run",
       {"--state-dir DIR", "--once", "--interval DURATION", "--root",
        "--spool-max-bytes SIZE", "--max-send-rate N", "default 64MiB",
        "default 10; 0: no limit"},
       {"--token", "--label", "rotate-key"}},
      {"rotate-key",
       {"--state-dir DIR", "Replace the device key"},
       {"--once", "--root", "--token"}},
  };
  for (const CommandHelp& help : commands) {
    const Outcome outcome = Agent({help.command, "--help"});
    EXPECT_EQ(outcome.code, 0) << help.command << ": " << outcome.err;
    EXPECT_THAT(outcome.err, IsEmpty()) << help.command;
    EXPECT_THAT(outcome.out, HasSubstr("evidentia-agent " + help.command))
        << help.command;
    EXPECT_THAT(outcome.out, HasSubstr("exit codes:")) << help.command;
    for (const std::string& text : help.has) {
      EXPECT_THAT(outcome.out, HasSubstr(text)) << help.command;
    }
    for (const std::string& text : help.has_not) {
      EXPECT_THAT(outcome.out, Not(HasSubstr(text))) << help.command;
    }
  }
}

// --- unknown commands, flags and words
// ----------------------------------------

TEST_F(AgentCliTest, UnknownCommandIsRefused) {
  ExpectUsageError({"frobnicate"}, "evidentia-agent",
                   "unknown command frobnicate");
}

TEST_F(AgentCliTest, UnknownFlagIsRefusedNamingIt) {
  ExpectUsageError({"run", "--state-dir", Missing(), "--frobnicate"},
                   "evidentia-agent run", "unknown flag --frobnicate");
  ExpectUsageError({"collect", "--once", "--json", "--frobnicate=1"},
                   "evidentia-agent collect", "unknown flag --frobnicate");
  ExpectUsageError({"rotate-key", "--state-dir", Missing(), "--interval", "1h"},
                   "evidentia-agent rotate-key", "unknown flag --interval");
  ExpectUsageError({"enroll", "--collector", "127.0.0.1:1", "--ca", "ca.pem",
                    "--token", "t", "--state-dir", Missing(), "--once"},
                   "evidentia-agent enroll", "unknown flag --once");
}

TEST_F(AgentCliTest, UnknownFlagIsNamedEvenWhenARequiredOneIsMissing) {
  ExpectUsageError({"run", "--frobnicate"}, "evidentia-agent run",
                   "unknown flag --frobnicate");
}

TEST_F(AgentCliTest, ShortFlagIsUnknown) {
  ExpectUsageError({"run", "--state-dir", Missing(), "-h"},
                   "evidentia-agent run", "unknown flag -h");
}

TEST_F(AgentCliTest, UnexpectedWordIsRefused) {
  ExpectUsageError({"run", "--state-dir", Missing(), "extra"},
                   "evidentia-agent run", "unexpected argument 'extra'");
  ExpectUsageError({"run", "--state-dir", Missing(), "collect"},
                   "evidentia-agent run", "unexpected argument 'collect'");
}

// --- required flags and values
// --------------------------------------------------

TEST_F(AgentCliTest, MissingRequiredFlagIsRefusedNamingIt) {
  ExpectUsageError({"run", "--once"}, "evidentia-agent run",
                   "--state-dir is required");
  ExpectUsageError({"rotate-key"}, "evidentia-agent rotate-key",
                   "--state-dir is required");
  ExpectUsageError({"collect", "--json"}, "evidentia-agent collect",
                   "--once is required");
  ExpectUsageError({"enroll", "--collector", "127.0.0.1:1", "--ca", "ca.pem",
                    "--state-dir", Missing()},
                   "evidentia-agent enroll", "--token is required");
}

TEST_F(AgentCliTest, FlagWithoutItsValueIsRefused) {
  ExpectUsageError({"run", "--state-dir"}, "evidentia-agent run",
                   "--state-dir needs a value (DIR)");
}

TEST_F(AgentCliTest, BooleanFlagGivenAValueIsRefused) {
  ExpectUsageError({"run", "--state-dir", Missing(), "--once=false"},
                   "evidentia-agent run", "--once takes no value");
}

// --- typed values
// -----------------------------------------------------------------

TEST_F(AgentCliTest, MalformedIntervalIsRefusedNamingTheValue) {
  ExpectUsageError({"run", "--state-dir", Missing(), "--interval", "15"},
                   "evidentia-agent run",
                   "--interval: '15' is not a duration (like 90s, 15m or 1h)");
  ExpectUsageError({"run", "--state-dir", Missing(), "--interval=soon"},
                   "evidentia-agent run", "'soon' is not a duration");
}

TEST_F(AgentCliTest, IntervalBelowOneSecondIsRefused) {
  ExpectUsageError({"run", "--state-dir", Missing(), "--interval", "500ms"},
                   "evidentia-agent run",
                   "--interval: '500ms' is not at least 1s");
}

TEST_F(AgentCliTest, MalformedSpoolSizeIsRefusedNamingTheValue) {
  ExpectUsageError(
      {"run", "--state-dir", Missing(), "--spool-max-bytes", "64MB"},
      "evidentia-agent run", "--spool-max-bytes: '64MB' is not a size");
  ExpectUsageError({"run", "--state-dir", Missing(), "--spool-max-bytes=0"},
                   "evidentia-agent run", "at least 1 byte");
}

TEST_F(AgentCliTest, SendRateOutOfRangeIsRefused) {
  for (const std::string rate : {"0.05", "-1", "ten", "nan"}) {
    ExpectUsageError(
        {"run", "--state-dir", Missing(), "--max-send-rate", rate},
        "evidentia-agent run",
        "--max-send-rate: '" + rate + "' is not a rate: snapshots a second");
  }
}

TEST_F(AgentCliTest, LabelWithoutKeyIsRefused) {
  for (const std::string label : {"finance", "=finance"}) {
    ExpectUsageError(
        {"enroll", "--collector", "127.0.0.1:1", "--ca", "ca.pem", "--token",
         "t", "--state-dir", Missing(), "--label", label},
        "evidentia-agent enroll", "--label: '" + label + "' is not KEY=VALUE");
  }
}

// --- what still works
// ----------------------------------------------------------

// Every documented run/enroll/rotate-key form reaches the command, which
// fails on the missing state dir or CA file (exit 1, not 2).
TEST_F(AgentCliTest, DocumentedInvocationsReachTheCommand) {
  const std::string state = Missing();
  const std::string ca = (tmp_.path() / "no-ca.pem").string();
  const std::vector<std::vector<std::string>> invocations = {
      {"run", "--once", "--state-dir", state},
      {"run", "--once", "--state-dir=" + state, "--root=" + std::string(kRoot)},
      {"run", "--state-dir", state, "--interval", "15m", "--spool-max-bytes",
       "64MiB", "--max-send-rate", "10", "--root", kRoot},
      {"run", "--state-dir", state, "--interval=1h30m",
       "--spool-max-bytes=67108864", "--max-send-rate=0"},
      {"run", "--state-dir", state, "--interval", "1s", "--spool-max-bytes",
       "1", "--max-send-rate", "0.1"},
      {"run", "--state-dir", state, "--spool-max-bytes", "512KiB",
       "--spool-max-bytes", "1GiB"},  // the last one counts
      {"enroll", "--collector", "127.0.0.1:1", "--ca", ca, "--token", "evt1_x",
       "--state-dir", state, "--root", kRoot, "--label", "dept=finance",
       "--label=site=paris", "--label", "empty="},
      {"rotate-key", "--state-dir", state},
      {"rotate-key", "--state-dir=" + state},
  };
  for (const std::vector<std::string>& words : invocations) {
    const Outcome outcome = Agent(words);
    EXPECT_EQ(outcome.code, 1)
        << words[0] << " " << words[1] << ": " << outcome.err;
    EXPECT_THAT(outcome.err, StartsWith("evidentia-agent: ")) << outcome.err;
  }
}

TEST_F(AgentCliTest, CollectPrintsTheFactsAsJson) {
  for (const std::vector<std::string>& words :
       std::vector<std::vector<std::string>>{
           {"collect", "--once", "--json", "--root", kRoot},
           {"collect", "--json", "--once", "--root=" + std::string(kRoot)}}) {
    const Outcome outcome = Agent(words);
    EXPECT_EQ(outcome.code, 0) << outcome.err;
    EXPECT_THAT(outcome.out, StartsWith("{"));
    EXPECT_THAT(outcome.out, HasSubstr("\"linux.disk_encryption\""));
  }
}

}  // namespace
}  // namespace evidentia
