// The command lines of the three binaries: every command refuses a flag it
// does not take (exit 2) and lists its own flags under --help; every
// invocation the README, deploy/ and the tests use still parses; the
// operator CLI tells a local configuration error (exit 1) from a collector
// it cannot reach (exit 3). Real binaries where the binary's main() is what
// is tested, the CLI in-process against a real collector otherwise.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/operator_cli.h"
#include "collector/identity/data_dir.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/live_collector.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace evidentia {
namespace {

namespace fs = std::filesystem;
using ::evidentia::testing::RunProcess;
using ::evidentia::testing::ScopedTempDir;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kRoot[] =
    EVIDENTIA_SOURCE_DIR "/tests/fixtures/host_facts/debian12";
constexpr int kUsage = 2;

// Runs one of the real binaries; its exit code and everything it printed.
class BinaryTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(tmp_.path().empty()); }

  std::pair<int, std::string> Run(std::vector<std::string> argv) {
    return RunProcess(argv, tmp_.path() / "output");
  }
  // A data dir or state dir that does not exist.
  std::string Missing() const { return (tmp_.path() / "missing").string(); }

  ScopedTempDir tmp_;
};

TEST_F(BinaryTest, CliAgentsRefusesFlagsOfOtherCommands) {
  auto [code, output] = Run({EVIDENTIA_CLI_BIN, "agents", "--ttl", "1h",
                             "--file", "x", "--data-dir", Missing()});
  EXPECT_EQ(code, kUsage) << output;
  EXPECT_THAT(output, HasSubstr("--ttl"));
}

TEST_F(BinaryTest, CliLogCheckpointRefusesAFlagOfExport) {
  auto [code, output] = Run({EVIDENTIA_CLI_BIN, "log", "checkpoint", "--tar",
                             "--data-dir", Missing()});
  EXPECT_EQ(code, kUsage) << output;
  EXPECT_THAT(output, HasSubstr("--tar"));
}

TEST_F(BinaryTest, CliRefusesAnArgumentAfterTheFlags) {
  auto [code, output] = Run({EVIDENTIA_CLI_BIN, "agents", "--json", "extra",
                             "--data-dir", Missing()});
  EXPECT_EQ(code, kUsage) << output;
  EXPECT_THAT(output, HasSubstr("extra"));
}

TEST_F(BinaryTest, CliCommandHelpListsOnlyThatCommandsFlags) {
  auto [agents, agents_help] = Run({EVIDENTIA_CLI_BIN, "agents", "--help"});
  EXPECT_EQ(agents, 0) << agents_help;
  EXPECT_THAT(agents_help, AllOf(HasSubstr("--json"), HasSubstr("--data-dir"),
                                 Not(HasSubstr("--ttl"))));
  auto [token, token_help] =
      Run({EVIDENTIA_CLI_BIN, "token", "create", "--help"});
  EXPECT_EQ(token, 0) << token_help;
  EXPECT_THAT(token_help, AllOf(HasSubstr("--ttl"), HasSubstr("--uses"),
                                Not(HasSubstr("--valid-until"))));
}

TEST_F(BinaryTest, CliHelpWorksOnACommandMissingItsOperand) {
  auto [code, output] = Run({EVIDENTIA_CLI_BIN, "control", "--help"});
  EXPECT_EQ(code, 0) << output;
  EXPECT_THAT(output, AllOf(HasSubstr("control ID"), HasSubstr("--as-of")));
}

TEST_F(BinaryTest, AgentCollectRefusesAFlagOfEnroll) {
  auto [code, output] = Run({EVIDENTIA_AGENT_BIN, "collect", "--once", "--json",
                             "--root", kRoot, "--token", "t"});
  EXPECT_EQ(code, kUsage) << output;
  EXPECT_THAT(output, HasSubstr("--token"));
}

TEST_F(BinaryTest, AgentRotateKeyRefusesAFlagOfRun) {
  auto [code, output] = Run(
      {EVIDENTIA_AGENT_BIN, "rotate-key", "--state-dir", Missing(), "--once"});
  EXPECT_EQ(code, kUsage) << output;
  EXPECT_THAT(output, HasSubstr("--once"));
}

TEST_F(BinaryTest, AgentCommandHelpListsOnlyThatCommandsFlags) {
  auto [code, output] = Run({EVIDENTIA_AGENT_BIN, "run", "--help"});
  EXPECT_EQ(code, 0) << output;
  EXPECT_THAT(output,
              AllOf(HasSubstr("--spool-max-bytes"), HasSubstr("--state-dir"),
                    Not(HasSubstr("--token")), Not(HasSubstr("rotate-key"))));
}

TEST_F(BinaryTest, CollectorTokenCreateRefusesAFlagOfAnotherCommand) {
  auto [code, output] = Run({EVIDENTIA_COLLECTOR_BIN, "token", "create",
                             "--data-dir", Missing(), "--agent", "x"});
  EXPECT_EQ(code, kUsage) << output;
  EXPECT_THAT(output, HasSubstr("--agent"));
}

TEST_F(BinaryTest, CollectorServeRefusesAFlagOfTokenCreate) {
  auto [code, output] = Run({EVIDENTIA_COLLECTOR_BIN, "serve", "--data-dir",
                             Missing(), "--ttl", "1h"});
  EXPECT_EQ(code, kUsage) << output;
  EXPECT_THAT(output, HasSubstr("--ttl"));
}

TEST_F(BinaryTest, CollectorServeHelpListsOnlyItsFlags) {
  auto [code, output] = Run({EVIDENTIA_COLLECTOR_BIN, "serve", "--help"});
  EXPECT_EQ(code, 0) << output;
  EXPECT_THAT(output, AllOf(HasSubstr("--min-free-mb"), HasSubstr("--listen"),
                            Not(HasSubstr("--uses"))));
}

TEST_F(BinaryTest, CliEveryCommandHasHelp) {
  const std::vector<std::vector<std::string>> commands = {
      {"token", "create"},   {"agents"},          {"agents", "revoke"},
      {"evidence"},          {"evidence", "add"}, {"events"},
      {"controls"},          {"control"},         {"host"},
      {"history"},           {"export"},          {"verify"},
      {"log", "checkpoint"}, {"log", "prove"},    {"log", "consistency"},
      {"document", "add"},   {"documents"},       {"readiness"},
      {"audit", "open"},     {"audit", "close"},  {"audit", "decide"},
      {"finding", "add"},    {"findings"},        {"action", "open"},
      {"action", "close"},   {"sample"},          {"cycle"},
      {"user", "add"}};
  for (const std::vector<std::string>& words : commands) {
    std::vector<std::string> argv = {EVIDENTIA_CLI_BIN};
    argv.insert(argv.end(), words.begin(), words.end());
    argv.push_back("--help");
    auto [code, output] = Run(argv);
    EXPECT_EQ(code, 0) << words[0] << ": " << output;
    EXPECT_THAT(output, HasSubstr("--help")) << words[0];
  }
}

TEST_F(BinaryTest, CliTokenCreateRefusesAZeroTtlBeforeConnecting) {
  auto [code, output] = Run({EVIDENTIA_CLI_BIN, "token", "create", "--ttl",
                             "0s", "--data-dir", Missing()});
  EXPECT_EQ(code, kUsage) << output;
  EXPECT_THAT(output, HasSubstr("--ttl"));
}

TEST_F(BinaryTest, CliTokenCreateRefusesUsesOutOfRange) {
  auto [code, output] = Run({EVIDENTIA_CLI_BIN, "token", "create", "--uses",
                             "100001", "--data-dir", Missing()});
  EXPECT_EQ(code, kUsage) << output;
  EXPECT_THAT(output, HasSubstr("--uses"));
}

TEST_F(BinaryTest, CliLogProveRefusesASeqThatIsNotANumber) {
  auto [code, output] = Run({EVIDENTIA_CLI_BIN, "log", "prove", "agent", "x",
                             "--data-dir", Missing()});
  EXPECT_EQ(code, kUsage) << output;
  EXPECT_THAT(output, HasSubstr("SEQ"));
}

TEST_F(BinaryTest, CliEvidenceWithoutAgentIsAUsageError) {
  auto [code, output] =
      Run({EVIDENTIA_CLI_BIN, "evidence", "--data-dir", Missing()});
  EXPECT_EQ(code, kUsage) << output;
  EXPECT_THAT(output, HasSubstr("--agent"));
}

TEST_F(BinaryTest, CliVerifyRefusesThreadsThatAreNotANumber) {
  auto [code, output] =
      Run({EVIDENTIA_CLI_BIN, "verify", Missing(), "--threads", "x"});
  EXPECT_EQ(code, kUsage) << output;
  EXPECT_THAT(output, HasSubstr("--threads"));
}

// From bundle_verify_test when verify's own parser went (CLI11 parses it).
TEST_F(BinaryTest, CliVerifyRefusesBadCommandLines) {
  const std::vector<std::vector<std::string>> lines = {
      {"verify"}, {"verify", "a", "b"}, {"verify", "a", "--bogus"}};
  for (const std::vector<std::string>& words : lines) {
    std::vector<std::string> argv = {EVIDENTIA_CLI_BIN};
    argv.insert(argv.end(), words.begin(), words.end());
    auto [code, output] = Run(argv);
    EXPECT_EQ(code, kUsage) << words.size() << ": " << output;
  }
}

TEST_F(BinaryTest, CliUnknownCommandIsAUsageError) {
  auto [code, output] = Run({EVIDENTIA_CLI_BIN, "bogus"});
  EXPECT_EQ(code, kUsage) << output;
  EXPECT_THAT(output, HasSubstr("bogus"));
}

TEST_F(BinaryTest, CollectorServeRefusesACheckpointIntervalBelowOneSecond) {
  auto [code, output] = Run({EVIDENTIA_COLLECTOR_BIN, "serve", "--data-dir",
                             Missing(), "--checkpoint-interval", "500ms"});
  EXPECT_EQ(code, kUsage) << output;
  EXPECT_THAT(output, HasSubstr("--checkpoint-interval"));
}

TEST_F(BinaryTest, CollectorServeRefusesAZeroAgentRate) {
  auto [code, output] = Run({EVIDENTIA_COLLECTOR_BIN, "serve", "--data-dir",
                             Missing(), "--agent-rate", "0"});
  EXPECT_EQ(code, kUsage) << output;
  EXPECT_THAT(output, HasSubstr("--agent-rate"));
}

TEST_F(BinaryTest, CollectorServeRefusesNegativeMinFreeMb) {
  auto [code, output] = Run({EVIDENTIA_COLLECTOR_BIN, "serve", "--data-dir",
                             Missing(), "--min-free-mb", "-1"});
  EXPECT_EQ(code, kUsage) << output;
  EXPECT_THAT(output, HasSubstr("--min-free-mb"));
}

// The invocations of README.md, deploy/ (quickstart.sh, systemd units) and
// the tests, each with state that makes it fail after parsing (exit 1), so
// that none waits for a collector or serves: a usage error (2) would mean
// the command line itself was refused.
TEST_F(BinaryTest, AgentInvocationsInUseStillParse) {
  const std::string state = Missing();
  const std::string ca = (tmp_.path() / "no-ca.pem").string();
  const std::vector<std::vector<std::string>> invocations = {
      {"enroll", "--collector", "127.0.0.1:1", "--ca", ca, "--token", "evt1_x",
       "--state-dir", state, "--root", kRoot, "--label", "dept=finance",
       "--label", "site=paris"},
      {"run", "--once", "--state-dir", state, "--root", kRoot},
      {"run", "--state-dir", state, "--interval", "15m", "--spool-max-bytes",
       "64MiB", "--max-send-rate", "10", "--root", kRoot},
      {"rotate-key", "--state-dir", state},
  };
  for (std::vector<std::string> argv : invocations) {
    argv.insert(argv.begin(), EVIDENTIA_AGENT_BIN);
    auto [code, output] = Run(argv);
    EXPECT_EQ(code, 1) << argv[1] << ": " << output;
  }
  auto [code, output] = Run(
      {EVIDENTIA_AGENT_BIN, "collect", "--once", "--json", "--root", kRoot});
  EXPECT_EQ(code, 0) << output;
}

TEST_F(BinaryTest, CollectorServeInvocationInUseStillParses) {
  // A data dir below a regular file cannot be made: the start fails after
  // the command line was accepted.
  ASSERT_TRUE(WriteFileAtomic(tmp_.path() / "file", "").ok());
  auto [code, output] = Run({EVIDENTIA_COLLECTOR_BIN,
                             "serve",
                             "--data-dir",
                             (tmp_.path() / "file/data").string(),
                             "--listen",
                             "127.0.0.1:0",
                             "--tls-name",
                             "collector.example.org",
                             "--policies",
                             EVIDENTIA_SOURCE_DIR "/policies",
                             "--soa",
                             EVIDENTIA_SOURCE_DIR "/policies/soa.example.yaml",
                             "--checkpoint-interval",
                             "5m",
                             "--agent-rate",
                             "10",
                             "--min-free-mb",
                             "64",
                             "--web-listen",
                             "127.0.0.1:0",
                             "--metrics-allow",
                             "127.0.0.1",
                             "--metrics-token-file",
                             "/nonexistent"});
  EXPECT_EQ(code, 1) << output;
}

// The operator CLI in-process against a real collector.
class CliExitCodeTest : public testing::LiveCollectorTest {
 protected:
  collector::DataDirPaths paths() const {
    return collector::DataDirPaths(data_dir_);
  }
};

TEST_F(CliExitCodeTest, MissingCaFileIsALocalError) {
  fs::remove(paths().ca_cert());
  int code = -1;
  Cli({"agents"}, &code);
  EXPECT_EQ(code, collector::kCliFailed);
  EXPECT_THAT(last_err_, HasSubstr("ca.pem"));
}

TEST_F(CliExitCodeTest, MissingKeyFileIsALocalError) {
  fs::remove(paths().operator_client_key());
  int code = -1;
  Cli({"agents"}, &code);
  EXPECT_EQ(code, collector::kCliFailed);
  EXPECT_THAT(last_err_, HasSubstr("operator-client.key"));
}

TEST_F(CliExitCodeTest, KeyReadableByOthersIsALocalError) {
  fs::permissions(paths().operator_client_key(),
                  fs::perms::group_read | fs::perms::others_read,
                  fs::perm_options::add);
  int code = -1;
  Cli({"agents"}, &code);
  EXPECT_EQ(code, collector::kCliFailed);
  EXPECT_THAT(last_err_, HasSubstr("operator-client.key"));
}

TEST_F(CliExitCodeTest, MissingAddressFileIsALocalError) {
  fs::remove(paths().address());
  int code = -1;
  Cli({"agents"}, &code);
  EXPECT_EQ(code, collector::kCliFailed);
  EXPECT_THAT(last_err_, HasSubstr("collector.addr"));
}

TEST_F(CliExitCodeTest, UnreadableEvidenceFileIsALocalError) {
  int code = -1;
  Cli({"evidence", "add", "--control", "a.6.3", "--file",
       (tmp_ / "missing.pdf").string(), "--valid-until", "2027-01-31"},
      &code);
  EXPECT_EQ(code, collector::kCliFailed);
  EXPECT_THAT(last_err_, HasSubstr("missing.pdf"));
}

TEST_F(CliExitCodeTest, StoppedCollectorIsUnreachable) {
  StopCollector();
  int code = -1;
  Cli({"agents"}, &code);
  EXPECT_EQ(code, collector::kCliUnreachable) << last_err_;
}

TEST_F(CliExitCodeTest, LogCheckpointOfAStoppedCollectorIsUnreachable) {
  StopCollector();
  int code = -1;
  Cli({"log", "checkpoint"}, &code);
  EXPECT_EQ(code, collector::kCliUnreachable) << last_err_;
}

TEST_F(CliExitCodeTest, LocalErrorWinsOverAStoppedCollector) {
  StopCollector();
  fs::remove(paths().ca_cert());
  int code = -1;
  Cli({"agents"}, &code);
  EXPECT_EQ(code, collector::kCliFailed) << last_err_;
}

// Every operator invocation of README.md, docs/, deploy/quickstart.sh and
// the tests is accepted by the command line; what the collector answers
// (this one grades nothing, knows no such agent) does not matter here.
TEST_F(CliExitCodeTest, OperatorInvocationsInUseStillParse) {
  const std::string document = (tmp_ / "training-2026.pdf").string();
  ASSERT_TRUE(WriteFileAtomic(document, "%PDF-1.4\n").ok());
  const std::string agent = "0123456789abcdef";
  const std::vector<std::vector<std::string>> invocations = {
      {"token", "create"},
      {"token", "create", "--ttl", "1h"},
      {"token", "create", "--ttl", "10m", "--uses", "2", "--json"},
      {"agents"},
      {"agents", "--json"},
      {"agents", "revoke", agent},
      {"agents", "revoke", agent, "--json"},
      {"user", "add", "alice", "--role", "admin"},
      {"user", "add", "auditor1", "--role", "auditor", "--audit",
       "stage2-2027-03-15,surveillance-2028-03-01", "--json"},
      {"evidence", "--agent", agent},
      {"evidence", "--agent", agent, "--check", "disk_encryption", "--json"},
      {"evidence", "add", "--control", "a.6.3", "--file", document,
       "--valid-until", "2027-01-31", "--note", "annual awareness training"},
      {"evidence", "add", "--control", "a.6.3", "--file", document,
       "--valid-until", "2027-01-31", "--operator-key",
       (tmp_ / "other.key").string(), "--json"},
      {"events"},
      {"events", "--json"},
      {"controls"},
      {"controls", "--scope", "dept=finance", "--as-of", "2026-11-01"},
      {"controls", "--json"},
      {"control", "a.8.24"},
      {"control", "a.8.24", "--json", "--scope", "site=paris", "--as-of",
       "2026-11-01T10:00:00Z"},
      {"host", "laptop-042"},
      {"host", "laptop-042", "--json", "--as-of", "2026-11-01", "--scope",
       "dept=finance"},
      {"history", "--control", "a.8.7", "--from", "2026-10-01", "--to",
       "2026-11-01"},
      {"history", "--control", "a.8.7", "--scope", "dept=finance", "--json"},
      {"export", "--from", "2026-10-01", "--to", "2026-12-31", "--out",
       (tmp_ / "q4-bundle").string(), "--tar"},
      {"export", "--from", "2026-11-01", "--to", "2026-11-30", "--out",
       (tmp_ / "bundle.tar.gz").string(), "--scope", "dept=finance", "--json"},
      {"document", "add", "--clause", "4.3", "--file", document, "--version",
       "2", "--approved-by", "Jane Doe", "--approved-on", "2026-11-30",
       "--review-by", "2027-11-30"},
      {"document", "add", "--clause", "6.1.3", "--document", "soa", "--file",
       document, "--version", "7", "--approved-by", "Jane Doe", "--approved-on",
       "2026-12-01", "--review-by", "2027-06-01", "--note",
       "after the risk review", "--json"},
      {"documents"},
      {"documents", "--json"},
      {"readiness"},
      {"readiness", "--as-of", "2026-11-01", "--json"},
      {"audit", "open", "--kind", "stage1", "--body", "Cert Body Ltd",
       "--lead-auditor", "A. Auditor", "--from", "2027-03-01", "--to",
       "2027-03-02"},
      {"audit", "open", "--kind", "surveillance", "--body", "Cert Body Ltd",
       "--lead-auditor", "A. Auditor", "--from", "2028-03-01", "--to",
       "2028-03-02", "--note", "year one", "--json"},
      {"finding", "add", "--audit", "stage1-2027-03-01", "--clause", "6.1.2",
       "--grade", "minor", "--statement",
       "The risk method sets no acceptance criteria", "--by", "A. Auditor"},
      {"finding", "add", "--audit", "stage2-2027-03-15", "--control", "a.8.24",
       "--grade", "minor", "--statement", "A laptop disk is not encrypted",
       "--by", "A. Auditor", "--evidence", "snapshot:" + agent + "/3,record:20",
       "--json"},
      {"action", "open", "--finding", "18", "--action", "Define the criteria",
       "--root-cause", "The template had no section", "--owner", "Jane Doe",
       "--due", "2027-03-31"},
      {"action", "open", "--finding", "24", "--hosts", agent, "--action",
       "Encrypt it", "--root-cause", "Installed without the encrypted profile",
       "--owner", "IT lead", "--due", "2027-04-15", "--json"},
      {"action", "close", "--finding", "18", "--evidence", "record:20"},
      {"action", "close", "--finding", "24", "--json"},
      {"audit", "close", "stage1-2027-03-01", "--on", "2027-03-02"},
      {"audit", "decide", "stage2-2027-03-15", "--decision", "granted", "--on",
       "2027-04-20", "--certificate", "ISMS-0042"},
      {"sample", "--audit", "stage2-2027-03-15", "--seed", "their own words",
       "--control", "a.8.24", "--hosts", "5", "--moments", "3"},
      {"export", "--audit", "stage2-2027-03-15", "--out",
       (tmp_ / "stage2-bundle").string()},
      {"cycle"},
      {"cycle", "--as-of", "2027-05-01", "--json"},
      {"findings"},
      {"findings", "--json"},
      {"log", "checkpoint"},
      {"log", "checkpoint", "--new", "--json"},
      {"log", "prove", agent, "3"},
      {"log", "consistency", "5", "--json"},
      {"verify", (tmp_ / "q4-bundle.tar.gz").string(), "--threads", "2"},
      {"verify", (tmp_ / "q4-bundle").string(), "--json"},
  };
  for (const std::vector<std::string>& words : invocations) {
    int code = -1;
    Cli(words, &code);
    EXPECT_NE(code, collector::kCliUsage)
        << words[0] << " " << words[1] << ": " << last_err_;
    EXPECT_NE(code, collector::kCliUnreachable)
        << words[0] << " " << words[1] << ": " << last_err_;
  }
  // The connection flags, given explicitly instead of the data dir's.
  int code = -1;
  Cli({"agents", "--collector", Address(), "--ca", paths().ca_cert().string(),
       "--cert", paths().operator_client_cert().string(), "--key",
       paths().operator_client_key().string()},
      &code);
  EXPECT_EQ(code, collector::kCliOk) << last_err_;
}

// A hostile agent's hostname and facts reach the operator's terminal only
// as text: escape sequences (here: clear screen, and a forged line after a
// carriage return) are printed escaped by every text command.
TEST_F(CliExitCodeTest, AgentStringsCannotDriveTheTerminal) {
  const fs::path root = tmp_ / "root";
  fs::create_directories(root / "etc");
  fs::create_directories(root / "proc/sys/kernel");
  fs::create_directories(root / "proc/self");
  const std::string hostile = "evil\x1b[2J\rroot-owned\xc2\x9b";
  ASSERT_TRUE(
      WriteFileAtomic(root / "proc/sys/kernel/hostname", hostile + "\n").ok());
  ASSERT_TRUE(
      WriteFileAtomic(root / "etc/passwd",
                      "root:x:0:0:root:/root:/bin/bash\n"
                      "m\x1b]0;pwned\x07:x:1000:1000::/home/m:/bin/sh\n")
          .ok());
  ASSERT_TRUE(
      WriteFileAtomic(root / "proc/self/mounts", "proc /proc proc rw 0 0\n")
          .ok());
  absl::StatusOr<std::string> agent_id =
      EnrollAgent(tmp_ / "agent", CreateToken("1"), root);
  ASSERT_TRUE(agent_id.ok()) << agent_id.status();
  ReportCycle(tmp_ / "agent", root, absl::Now());

  for (const std::vector<std::string>& words :
       std::vector<std::vector<std::string>>{
           {"agents"}, {"evidence", "--agent", *agent_id}}) {
    int code = -1;
    const std::string out = Cli(words, &code);
    EXPECT_EQ(code, 0) << words[0] << ": " << last_err_;
    EXPECT_EQ(out.find('\x1b'), std::string::npos) << words[0] << ": " << out;
    EXPECT_EQ(out.find('\r'), std::string::npos) << words[0];
    EXPECT_EQ(out.find("\xc2\x9b"), std::string::npos) << words[0];
    EXPECT_THAT(out, HasSubstr("evil\\x1b[2J\\x0droot-owned")) << words[0];
  }
  // --json stays JSON: its own escaping carries the bytes.
  const std::string json = Cli({"agents", "--json"});
  EXPECT_THAT(json, HasSubstr("evil\\u001b[2J\\rroot-owned"));
}

}  // namespace
}  // namespace evidentia
