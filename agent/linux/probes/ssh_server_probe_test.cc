#include "agent/linux/probes/ssh_server_probe.h"

#include <fnmatch.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "agent/linux/sys/text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

fs::path Fixture(const std::string& name) {
  return fs::path(EVIDENTIA_SOURCE_DIR) / "tests/fixtures/ssh_server" / name;
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

v1::SshServerFacts CollectFixture(const std::string& name) {
  absl::StatusOr<v1::Facts> facts = SshServerProbe().Collect(Fixture(name));
  EXPECT_TRUE(facts.ok()) << facts.status();
  if (!facts.ok()) return {};
  EXPECT_TRUE(facts->has_ssh_server());
  return facts->ssh_server();
}

// An in-memory tree of config files for EvaluateSshdConfig.
class MemoryFiles {
 public:
  MemoryFiles& Add(const std::string& path, const std::string& text) {
    files_[path] = text;
    return *this;
  }
  SshdConfigSource Source() const {
    SshdConfigSource source;
    source.read =
        [this](const std::string& path) -> absl::StatusOr<std::string> {
      auto it = files_.find(path);
      if (it == files_.end()) return absl::NotFoundError(path);
      return it->second;
    };
    source.glob = [this](const std::string& pattern) {
      std::vector<std::string> out;
      for (const auto& [path, text] : files_) {
        if (fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME | FNM_PERIOD) ==
            0) {
          out.push_back(path);
        }
      }
      return out;
    };
    return source;
  }
  SshdConfig Evaluate() const {
    return EvaluateSshdConfig("/etc/ssh/sshd_config", Source());
  }
  v1::SshServerFacts Settings(std::string_view version = "9.2") const {
    v1::SshServerFacts facts;
    FillSshdSettings(Evaluate(), DefaultsForVersion(version), &facts);
    return facts;
  }

 private:
  std::map<std::string, std::string> files_;
};

v1::SshServerFacts SettingsOf(const std::string& main_config,
                              std::string_view version = "9.2") {
  return MemoryFiles()
      .Add("/etc/ssh/sshd_config", main_config)
      .Settings(version);
}

std::vector<std::string> Effective(const v1::SshAlgorithmSetting& setting) {
  return {setting.effective().begin(), setting.effective().end()};
}

std::vector<std::string> Names(
    const absl::StatusOr<std::vector<std::string>>& names) {
  EXPECT_TRUE(names.ok()) << names.status();
  return names.ok() ? *names : std::vector<std::string>{};
}

// --- ParseSshdConfig -----------------------------------------------------

TEST(SshdConfigParserTest, SplitsKeywordAndArguments) {
  std::vector<SshdConfigLine> lines =
      ParseSshdConfig("PermitRootLogin no\nAcceptEnv LANG LC_*\n");
  ASSERT_THAT(lines, SizeIs(2));
  EXPECT_EQ(lines[0].line, 1);
  EXPECT_EQ(lines[0].keyword, "permitrootlogin");
  EXPECT_THAT(lines[0].args, ElementsAre("no"));
  EXPECT_THAT(lines[1].args, ElementsAre("LANG", "LC_*"));
}

TEST(SshdConfigParserTest, AcceptsEqualsForms) {
  for (const char* text :
       {"MaxAuthTries=3", "MaxAuthTries = 3", "MaxAuthTries= 3",
        "MaxAuthTries =3", "\tMaxAuthTries\t3\t"}) {
    std::vector<SshdConfigLine> lines = ParseSshdConfig(text);
    ASSERT_THAT(lines, SizeIs(1)) << text;
    EXPECT_EQ(lines[0].keyword, "maxauthtries") << text;
    EXPECT_THAT(lines[0].args, ElementsAre("3")) << text;
    EXPECT_EQ(lines[0].error, "") << text;
  }
}

TEST(SshdConfigParserTest, OnlyOneEqualsIsASeparator) {
  std::vector<SshdConfigLine> lines = ParseSshdConfig("Banner = =x\n");
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_THAT(lines[0].args, ElementsAre("=x"));
}

TEST(SshdConfigParserTest, SkipsCommentsAndBlankLinesButCountsThem) {
  std::vector<SshdConfigLine> lines =
      ParseSshdConfig("# c\n\n   # indented\r\nX11Forwarding no # why\n");
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_EQ(lines[0].line, 4);
  EXPECT_THAT(lines[0].args, ElementsAre("no"));
}

TEST(SshdConfigParserTest, RemovesQuotesAndEscapes) {
  std::vector<SshdConfigLine> lines = ParseSshdConfig(
      "Banner \"/etc/my banner\"\nAuthorizedKeysFile 'a b' c\\ d "
      "e\\\"f\n");
  ASSERT_THAT(lines, SizeIs(2));
  EXPECT_THAT(lines[0].args, ElementsAre("/etc/my banner"));
  EXPECT_THAT(lines[1].args, ElementsAre("a b", "c d", "e\"f"));
}

TEST(SshdConfigParserTest, UnbalancedQuoteIsAnError) {
  std::vector<SshdConfigLine> lines = ParseSshdConfig("Banner \"/etc/x\n");
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_THAT(lines[0].error, HasSubstr("quotes"));
}

TEST(SshdConfigParserTest, KeywordWithoutArgumentIsAnError) {
  std::vector<SshdConfigLine> lines =
      ParseSshdConfig("PermitRootLogin\nPermitRootLogin #no\n");
  ASSERT_THAT(lines, SizeIs(2));
  EXPECT_THAT(lines[0].error, HasSubstr("no argument"));
  EXPECT_THAT(lines[1].error, HasSubstr("no argument"));
}

TEST(SshdConfigParserTest, SurvivesBinaryJunkAndHugeLines) {
  std::string junk;
  for (int i = 0; i < 65536; ++i) junk.push_back(static_cast<char>(i));
  junk += "\n" + std::string(1 << 20, '"') + "\nUsePAM yes";
  std::vector<SshdConfigLine> lines = ParseSshdConfig(junk);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back().keyword, "usepam");
  EXPECT_THAT(lines.back().args, ElementsAre("yes"));
}

// --- EvaluateSshdConfig --------------------------------------------------

TEST(SshdConfigEvaluatorTest, FirstValueWins) {
  v1::SshServerFacts facts =
      SettingsOf("PermitRootLogin no\nPERMITROOTLOGIN yes\n");
  EXPECT_EQ(facts.permit_root_login().value(), v1::SSH_PERMIT_ROOT_LOGIN_NO);
  EXPECT_EQ(facts.permit_root_login().origin(), "/etc/ssh/sshd_config:1");
  EXPECT_EQ(facts.permit_root_login().source(), v1::SSH_SETTING_SOURCE_CONFIG);
}

TEST(SshdConfigEvaluatorTest, IncludedFileReadFirstWins) {
  v1::SshServerFacts facts = MemoryFiles()
                                 .Add("/etc/ssh/sshd_config",
                                      "Include /etc/ssh/sshd_config.d/*.conf\n"
                                      "PasswordAuthentication yes\n")
                                 .Add("/etc/ssh/sshd_config.d/20-b.conf",
                                      "PasswordAuthentication "
                                      "yes\n")
                                 .Add("/etc/ssh/sshd_config.d/10-a.conf",
                                      "PasswordAuthentication no\n")
                                 .Settings();
  EXPECT_FALSE(facts.password_authentication().value());
  EXPECT_EQ(facts.password_authentication().origin(),
            "/etc/ssh/sshd_config.d/10-a.conf:1");
  EXPECT_THAT(
      facts.config_files(),
      ElementsAre("/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/10-a.conf",
                  "/etc/ssh/sshd_config.d/20-b.conf"));
}

TEST(SshdConfigEvaluatorTest, RelativeIncludeIsBelowEtcSsh) {
  v1::SshServerFacts facts =
      MemoryFiles()
          .Add("/etc/ssh/sshd_config", "Include extra.conf\n")
          .Add("/etc/ssh/extra.conf", "X11Forwarding yes\n")
          .Settings();
  EXPECT_TRUE(facts.x11_forwarding().value());
  EXPECT_EQ(facts.x11_forwarding().origin(), "/etc/ssh/extra.conf:1");
}

TEST(SshdConfigEvaluatorTest, IncludeWithoutMatchesIsNotAnError) {
  v1::SshServerFacts facts =
      SettingsOf("Include /etc/ssh/sshd_config.d/*.conf\n");
  EXPECT_THAT(facts.config_errors(), IsEmpty());
}

TEST(SshdConfigEvaluatorTest, UnreadableIncludeIsAnError) {
  MemoryFiles files;
  files.Add("/etc/ssh/sshd_config", "Include /etc/ssh/x.conf\n");
  SshdConfigSource source = files.Source();
  source.glob = [](const std::string&) {
    return std::vector<std::string>{"/etc/ssh/x.conf"};
  };
  SshdConfig config = EvaluateSshdConfig("/etc/ssh/sshd_config", source);
  ASSERT_THAT(config.errors, SizeIs(1));
  EXPECT_THAT(config.errors[0], HasSubstr("/etc/ssh/x.conf cannot be read"));
}

TEST(SshdConfigEvaluatorTest, IncludeLoopStopsAtSshdDepth) {
  SshdConfig config =
      MemoryFiles()
          .Add("/etc/ssh/sshd_config",
               "PermitRootLogin no\nInclude /etc/ssh/sshd_config\n")
          .Evaluate();
  ASSERT_THAT(config.errors, SizeIs(1));
  EXPECT_THAT(config.errors[0], HasSubstr("Too many recursive"));
  // The file itself and 16 nested copies of it.
  EXPECT_THAT(config.directives, SizeIs(kMaxSshdIncludeDepth + 1));
  EXPECT_THAT(config.files, ElementsAre("/etc/ssh/sshd_config"));
}

TEST(SshdConfigEvaluatorTest, IncludeBombIsBounded) {
  MemoryFiles files;
  files.Add("/etc/ssh/sshd_config", "Include /etc/ssh/d/*\n");
  for (int i = 0; i < 10; ++i) {
    files.Add(Cat("/etc/ssh/d/", i), "Include /etc/ssh/d/*\nUsePAM yes\n");
  }
  SshdConfig config = files.Evaluate();
  EXPECT_FALSE(config.errors.empty());
  EXPECT_LE(config.directives.size(), size_t{1} << 16);
}

TEST(SshdConfigEvaluatorTest, ErrorsAreCappedButStillReported) {
  std::string config;
  for (int i = 0; i < 100000; ++i) config += "Bogus\n";
  v1::SshServerFacts facts = SettingsOf(config);
  ASSERT_FALSE(facts.config_errors().empty());
  EXPECT_LE(static_cast<size_t>(facts.config_errors_size()),
            kMaxSshdConfigErrors + 1);
  EXPECT_THAT(facts.config_errors(facts.config_errors_size() - 1),
              HasSubstr("more errors"));
}

TEST(SshdConfigEvaluatorTest, MatchBlocksAreCappedAndTheCapIsAnError) {
  std::string config;
  for (int i = 0; i < 5000; ++i) {
    config += Cat("Match User u", i, "\nPasswordAuthentication yes\n");
  }
  v1::SshServerFacts facts = SettingsOf(config);
  EXPECT_EQ(static_cast<size_t>(facts.match_blocks_size()),
            kMaxSshdMatchBlocks);
  // What was not read is not evidenced: the configuration check fails.
  ASSERT_FALSE(facts.config_errors().empty());
  EXPECT_THAT(facts.config_errors(facts.config_errors_size() - 1),
              HasSubstr("Match blocks"));
}

TEST(SshdConfigEvaluatorTest, NestedMatchCriteriaAreBounded) {
  MemoryFiles files;
  files.Add("/etc/ssh/sshd_config", "Match User " + std::string(200000, 'u') +
                                        "\nInclude /etc/ssh/inner.conf\n");
  std::string inner;
  for (int i = 0; i < 1000; ++i) inner += Cat("Match Address 10.0.0.", i, "\n");
  files.Add("/etc/ssh/inner.conf", inner);
  SshdConfig config = files.Evaluate();
  ASSERT_THAT(config.match_blocks, SizeIs(1001));
  size_t total = 0;
  for (const SshdMatch& block : config.match_blocks) {
    EXPECT_LE(block.criteria.size(), kMaxSshdMatchCriteriaBytes);
    total += block.criteria.size();
  }
  EXPECT_LE(total, 1001 * kMaxSshdMatchCriteriaBytes);
  EXPECT_THAT(config.match_blocks[1].criteria, HasSubstr("..."));
}

TEST(SshdConfigEvaluatorTest, IncludePatternsAreBounded) {
  MemoryFiles files;
  std::string config;
  for (int i = 0; i < 5000; ++i)
    config += Cat("Include /etc/ssh/none", i, "/*\n");
  files.Add("/etc/ssh/sshd_config", config);
  SshdConfigSource source = files.Source();
  size_t globs = 0;
  auto glob = source.glob;
  source.glob = [&globs, glob](const std::string& pattern) {
    ++globs;
    return glob(pattern);
  };
  SshdConfig config_read = EvaluateSshdConfig("/etc/ssh/sshd_config", source);
  EXPECT_LE(globs, kMaxSshdIncludePatterns);
  ASSERT_FALSE(config_read.errors.empty());
  EXPECT_THAT(config_read.errors.back(), HasSubstr("Include"));
}

// A removal list is matched as patterns against every default name: a
// pathological pattern in a 4 MiB line must not take seconds per list.
// No wall-clock bound (it would flake on a loaded machine): backtracking
// matching of this pattern would run for hours and hit the test's timeout.
TEST(SshdConfigEvaluatorTest, HugeRemovalPatternIsMatchedInLinearTime) {
  std::string pattern;
  for (int i = 0; i < 1000000; ++i) pattern += "*a";
  v1::SshServerFacts facts =
      SettingsOf("Ciphers -" + pattern + "\nMACs -" + pattern +
                 "\nKexAlgorithms -" + pattern + "\n");
  EXPECT_FALSE(facts.ciphers().effective().empty());
}

TEST(SshdConfigEvaluatorTest, MatchSettingsAreNotGlobal) {
  v1::SshServerFacts facts = SettingsOf(
      "PasswordAuthentication no\n"
      "Match Address 10.0.0.0/8\n"
      "  PasswordAuthentication yes\n"
      "  PermitRootLogin yes\n"
      "  PasswordAuthentication no\n");
  EXPECT_FALSE(facts.password_authentication().value());
  EXPECT_EQ(facts.permit_root_login().source(), v1::SSH_SETTING_SOURCE_DEFAULT);
  ASSERT_THAT(facts.match_blocks(), SizeIs(1));
  const v1::SshMatchBlock& block = facts.match_blocks(0);
  EXPECT_EQ(block.criteria(), "Address 10.0.0.0/8");
  EXPECT_EQ(block.location(), "/etc/ssh/sshd_config:2");
  EXPECT_TRUE(block.has_password_authentication());
  EXPECT_TRUE(block.password_authentication());  // first in the block
  EXPECT_EQ(block.permit_root_login(), v1::SSH_PERMIT_ROOT_LOGIN_YES);
  EXPECT_FALSE(block.has_x11_forwarding());
  EXPECT_THAT(block.keywords(),
              ElementsAre("passwordauthentication", "permitrootlogin"));
}

TEST(SshdConfigEvaluatorTest, MatchAllReturnsToGlobal) {
  v1::SshServerFacts facts = SettingsOf(
      "Match User bob\nX11Forwarding yes\nMatch all\nX11Forwarding no\n");
  EXPECT_FALSE(facts.x11_forwarding().value());
  EXPECT_EQ(facts.x11_forwarding().source(), v1::SSH_SETTING_SOURCE_CONFIG);
  ASSERT_THAT(facts.match_blocks(), SizeIs(1));
  EXPECT_TRUE(facts.match_blocks(0).x11_forwarding());
}

TEST(SshdConfigEvaluatorTest, MatchEndsWithItsIncludedFile) {
  v1::SshServerFacts facts =
      MemoryFiles()
          .Add("/etc/ssh/sshd_config",
               "Include /etc/ssh/m.conf\nPasswordAuthentication no\n")
          .Add("/etc/ssh/m.conf", "Match User a\nPasswordAuthentication yes\n")
          .Settings();
  EXPECT_FALSE(facts.password_authentication().value());
  EXPECT_EQ(facts.password_authentication().origin(), "/etc/ssh/sshd_config:2");
  ASSERT_THAT(facts.match_blocks(), SizeIs(1));
  EXPECT_TRUE(facts.match_blocks(0).password_authentication());
}

TEST(SshdConfigEvaluatorTest, IncludeInsideMatchBelongsToTheBlock) {
  v1::SshServerFacts facts =
      MemoryFiles()
          .Add("/etc/ssh/sshd_config",
               "Match Group admins\nInclude /etc/ssh/admins.conf\n")
          .Add("/etc/ssh/admins.conf",
               "PermitRootLogin yes\nMatch Address 10.0.0.1\n"
               "PasswordAuthentication yes\n")
          .Settings();
  EXPECT_EQ(facts.permit_root_login().source(), v1::SSH_SETTING_SOURCE_DEFAULT);
  EXPECT_EQ(facts.password_authentication().source(),
            v1::SSH_SETTING_SOURCE_DEFAULT);
  ASSERT_THAT(facts.match_blocks(), SizeIs(2));
  EXPECT_EQ(facts.match_blocks(0).permit_root_login(),
            v1::SSH_PERMIT_ROOT_LOGIN_YES);
  EXPECT_EQ(facts.match_blocks(1).criteria(), "Group admins Address 10.0.0.1");
  EXPECT_TRUE(facts.match_blocks(1).password_authentication());
}

TEST(SshdConfigEvaluatorTest, BadMatchCriteriaAreErrors) {
  v1::SshServerFacts facts =
      SettingsOf("Match Colour blue\nMatch User\nMatch all User x\n");
  ASSERT_THAT(facts.config_errors(), SizeIs(3));
  EXPECT_THAT(facts.config_errors(0), HasSubstr("unsupported attribute"));
  EXPECT_THAT(facts.config_errors(1), HasSubstr("missing argument"));
  EXPECT_THAT(facts.config_errors(2), HasSubstr("'all' cannot be combined"));
}

TEST(SshdConfigEvaluatorTest, InvalidValuesAreErrorsAndDefaultsApply) {
  v1::SshServerFacts facts = SettingsOf(
      "PermitRootLogin maybe\nPasswordAuthentication on\nMaxAuthTries -1\n"
      "X11Forwarding yes no\n");
  EXPECT_THAT(facts.config_errors(), SizeIs(4));
  EXPECT_EQ(facts.permit_root_login().value(),
            v1::SSH_PERMIT_ROOT_LOGIN_PROHIBIT_PASSWORD);
  EXPECT_EQ(facts.permit_root_login().source(), v1::SSH_SETTING_SOURCE_DEFAULT);
  EXPECT_EQ(facts.max_auth_tries().value(), 6);
}

TEST(SshdConfigEvaluatorTest, GlobalOnlyKeywordInMatchIsAnError) {
  v1::SshServerFacts facts = SettingsOf("Match User a\nCiphers aes128-ctr\n");
  ASSERT_THAT(facts.config_errors(), SizeIs(1));
  EXPECT_THAT(facts.config_errors(0), HasSubstr("not allowed within a Match"));
  EXPECT_EQ(facts.ciphers().source(), v1::SSH_SETTING_SOURCE_DEFAULT);
}

TEST(SshdConfigEvaluatorTest, DefaultsCarryTheirVersion) {
  v1::SshServerFacts facts = SettingsOf("");
  EXPECT_EQ(facts.permit_root_login().value(),
            v1::SSH_PERMIT_ROOT_LOGIN_PROHIBIT_PASSWORD);
  EXPECT_TRUE(facts.password_authentication().value());
  EXPECT_TRUE(facts.kbd_interactive_authentication().value());
  EXPECT_FALSE(facts.permit_empty_passwords().value());
  EXPECT_EQ(facts.max_auth_tries().value(), 6);
  EXPECT_FALSE(facts.x11_forwarding().value());
  EXPECT_FALSE(facts.use_pam().value());
  EXPECT_EQ(facts.x11_forwarding().origin(), "default of OpenSSH 9.2");
  EXPECT_EQ(facts.ciphers().source(), v1::SSH_SETTING_SOURCE_DEFAULT);
}

TEST(SshdConfigEvaluatorTest, ChallengeResponseIsAnAliasSince87) {
  v1::SshServerFacts facts = SettingsOf(
      "ChallengeResponseAuthentication no\nKbdInteractiveAuthentication yes\n");
  EXPECT_FALSE(facts.kbd_interactive_authentication().value());
  EXPECT_EQ(facts.kbd_interactive_authentication().origin(),
            "/etc/ssh/sshd_config:1");
}

TEST(SshdConfigEvaluatorTest, Before87EitherKeywordEnablesKeyboardInteractive) {
  EXPECT_TRUE(SettingsOf("KbdInteractiveAuthentication no\n", "8.4")
                  .kbd_interactive_authentication()
                  .value());  // ChallengeResponseAuthentication defaults yes
  v1::SshServerFacts off =
      SettingsOf("ChallengeResponseAuthentication no\n", "8.4");
  EXPECT_FALSE(off.kbd_interactive_authentication().value());
  EXPECT_EQ(off.kbd_interactive_authentication().source(),
            v1::SSH_SETTING_SOURCE_CONFIG);
  EXPECT_TRUE(SettingsOf("ChallengeResponseAuthentication no\n"
                         "KbdInteractiveAuthentication yes\n",
                         "8.4")
                  .kbd_interactive_authentication()
                  .value());
}

TEST(SshdConfigEvaluatorTest, WeakAlgorithmsFollowTheEffectiveLists) {
  v1::SshServerFacts facts = SettingsOf(
      "Ciphers +3des-cbc\nMACs hmac-sha2-256,hmac-md5\n"
      "KexAlgorithms curve25519-sha256,diffie-hellman-group1-sha1\n");
  ASSERT_THAT(facts.weak_algorithms(), SizeIs(3));
  EXPECT_EQ(facts.weak_algorithms(0).name(), "3des-cbc");
  EXPECT_EQ(facts.weak_algorithms(0).kind(), v1::SSH_ALGORITHM_KIND_CIPHER);
  EXPECT_EQ(facts.weak_algorithms(0).weakness(),
            v1::SSH_ALGORITHM_WEAKNESS_BROKEN);
  EXPECT_EQ(facts.weak_algorithms(1).name(), "hmac-md5");
  EXPECT_EQ(facts.weak_algorithms(2).name(), "diffie-hellman-group1-sha1");
  EXPECT_EQ(facts.ciphers().configured(), "+3des-cbc");
}

TEST(SshdConfigEvaluatorTest, UnknownAlgorithmIsAnErrorAndDefaultsApply) {
  v1::SshServerFacts facts = SettingsOf("Ciphers aes128-ctr,rot13\n");
  ASSERT_THAT(facts.config_errors(), SizeIs(1));
  EXPECT_THAT(facts.config_errors(0), HasSubstr("rot13"));
  EXPECT_EQ(facts.ciphers().source(), v1::SSH_SETTING_SOURCE_DEFAULT);
}

TEST(SshdConfigEvaluatorTest, EmptyResultIsAnError) {
  v1::SshServerFacts facts = SettingsOf("MACs aes128-ctr*\n");
  EXPECT_THAT(facts.config_errors(), SizeIs(1));
}

// --- ResolveAlgorithmList ------------------------------------------------

constexpr std::string_view kDefaults = "a,b,c";
constexpr std::string_view kSupported = "a,b,c,d,e-cbc,f-cbc";

TEST(AlgorithmListTest, EmptyIsTheDefault) {
  EXPECT_THAT(Names(ResolveAlgorithmList("", kDefaults, kSupported)),
              ElementsAre("a", "b", "c"));
}

TEST(AlgorithmListTest, ExplicitListKeepsItsOrder) {
  EXPECT_THAT(Names(ResolveAlgorithmList("d,a,d", kDefaults, kSupported)),
              ElementsAre("d", "a"));
}

TEST(AlgorithmListTest, PlusAppendsWithoutDuplicates) {
  EXPECT_THAT(Names(ResolveAlgorithmList("+d,a", kDefaults, kSupported)),
              ElementsAre("a", "b", "c", "d"));
}

TEST(AlgorithmListTest, CaretPrepends) {
  EXPECT_THAT(Names(ResolveAlgorithmList("^c,d", kDefaults, kSupported)),
              ElementsAre("c", "d", "a", "b"));
}

TEST(AlgorithmListTest, MinusRemovesPatterns) {
  EXPECT_THAT(Names(ResolveAlgorithmList("-b,?x", kDefaults, kSupported)),
              ElementsAre("a", "c"));
  EXPECT_THAT(Names(ResolveAlgorithmList("-*", kDefaults, kSupported)),
              IsEmpty());
  // Unknown names in a removal list are not checked.
  EXPECT_THAT(Names(ResolveAlgorithmList("-zz", kDefaults, kSupported)),
              ElementsAre("a", "b", "c"));
}

TEST(AlgorithmListTest, UnknownNameIsRefused) {
  EXPECT_FALSE(ResolveAlgorithmList("a,zz", kDefaults, kSupported).ok());
  EXPECT_FALSE(ResolveAlgorithmList("+zz", kDefaults, kSupported).ok());
  EXPECT_FALSE(ResolveAlgorithmList("^zz", kDefaults, kSupported).ok());
}

TEST(AlgorithmListTest, WildcardOutsideRemovalIsRefusedAsAName) {
  EXPECT_FALSE(ResolveAlgorithmList("*-cbc", kDefaults, kSupported).ok());
}

TEST(AlgorithmListTest, PatternListMatching) {
  EXPECT_EQ(MatchPatternList("aes128-cbc", "*-ctr,*-cbc"), 1);
  EXPECT_EQ(MatchPatternList("aes128-cbc", "aes*,!aes128*"), -1);
  EXPECT_EQ(MatchPatternList("aes128-cbc",
                             "aes?"
                             "?"
                             "?-cbc"),
            1);
  EXPECT_EQ(MatchPatternList("aes128-cbc",
                             "aes?"
                             "?-cbc"),
            0);
  EXPECT_EQ(MatchPatternList("", ""), 1);
  EXPECT_EQ(
      MatchPatternList(std::string(5000, 'a'), std::string(100, '*') + "b"),
      0);  // linear, no exponential backtracking
}

TEST(AlgorithmListTest, Classification) {
  EXPECT_EQ(
      ClassifyAlgorithm(v1::SSH_ALGORITHM_KIND_CIPHER, "aes256-cbc")->weakness,
      v1::SSH_ALGORITHM_WEAKNESS_BROKEN);
  EXPECT_EQ(
      ClassifyAlgorithm(v1::SSH_ALGORITHM_KIND_CIPHER, "arcfour256")->weakness,
      v1::SSH_ALGORITHM_WEAKNESS_BROKEN);
  EXPECT_FALSE(ClassifyAlgorithm(v1::SSH_ALGORITHM_KIND_CIPHER, "aes256-ctr"));
  EXPECT_EQ(
      ClassifyAlgorithm(v1::SSH_ALGORITHM_KIND_MAC, "hmac-sha1-etm@openssh.com")
          ->weakness,
      v1::SSH_ALGORITHM_WEAKNESS_DEPRECATED);
  EXPECT_EQ(ClassifyAlgorithm(v1::SSH_ALGORITHM_KIND_MAC, "umac-64@openssh.com")
                ->weakness,
            v1::SSH_ALGORITHM_WEAKNESS_DEPRECATED);
  EXPECT_EQ(
      ClassifyAlgorithm(v1::SSH_ALGORITHM_KIND_MAC, "hmac-md5-96")->weakness,
      v1::SSH_ALGORITHM_WEAKNESS_BROKEN);
  EXPECT_FALSE(ClassifyAlgorithm(v1::SSH_ALGORITHM_KIND_MAC,
                                 "hmac-sha2-256-etm@openssh.com"));
  EXPECT_FALSE(
      ClassifyAlgorithm(v1::SSH_ALGORITHM_KIND_MAC, "umac-128@openssh.com"));
  EXPECT_EQ(ClassifyAlgorithm(v1::SSH_ALGORITHM_KIND_KEX,
                              "diffie-hellman-group-exchange-sha1")
                ->weakness,
            v1::SSH_ALGORITHM_WEAKNESS_BROKEN);
  EXPECT_FALSE(ClassifyAlgorithm(v1::SSH_ALGORITHM_KIND_KEX,
                                 "diffie-hellman-group14-sha256"));
}

// --- Versions ------------------------------------------------------------

TEST(OpenSshVersionTest, FromDpkgAndBanner) {
  EXPECT_EQ(OpenSshUpstreamVersion("1:9.2p1-2+deb12u10"), "9.2");
  EXPECT_EQ(OpenSshUpstreamVersion("1:10.0p1-7"), "10.0");
  EXPECT_EQ(OpenSshUpstreamVersion("OpenSSH_8.4p1 Debian-5+deb11u3"), "8.4");
  EXPECT_EQ(OpenSshUpstreamVersion("9.6p1-3ubuntu13"), "9.6");
  EXPECT_EQ(OpenSshUpstreamVersion(""), std::nullopt);
  EXPECT_EQ(OpenSshUpstreamVersion("1:abc"), std::nullopt);
  EXPECT_EQ(OpenSshUpstreamVersion("OpenSSH_9"), std::nullopt);
}

TEST(OpenSshVersionTest, DefaultsTableIsTheNewestNotAbove) {
  EXPECT_EQ(DefaultsForVersion("9.2").version, "9.2");
  EXPECT_EQ(DefaultsForVersion("9.3").version, "9.2");
  EXPECT_EQ(DefaultsForVersion("9.9").version, "9.6");
  EXPECT_EQ(DefaultsForVersion("10.2").version, "10.0");
  EXPECT_EQ(DefaultsForVersion("7.9").version, "8.4");
  EXPECT_EQ(DefaultsForVersion("").version, "8.4");
  EXPECT_TRUE(DefaultsForVersion("8.4").separate_challenge_response);
  EXPECT_FALSE(DefaultsForVersion("9.6").separate_challenge_response);
}

TEST(OpenSshVersionTest, Version10DropsFiniteFieldDiffieHellman) {
  v1::SshServerFacts facts = SettingsOf("", "10.0");
  for (const std::string& kex : facts.kex_algorithms().effective()) {
    EXPECT_THAT(kex, ::testing::Not(HasSubstr("diffie-hellman"))) << kex;
  }
  EXPECT_EQ(facts.kex_algorithms().effective(0), "mlkem768x25519-sha256");
}

// --- ParseSshPublicKey ---------------------------------------------------

TEST(SshPublicKeyTest, ReadsTypesAndSizes) {
  struct Case {
    const char* fixture;
    const char* file;
    v1::SshHostKeyType type;
    uint32_t bits;
  } cases[] = {
      {"weak_host_keys", "ssh_host_dsa_key.pub", v1::SSH_HOST_KEY_TYPE_DSA,
       1024},
      {"weak_host_keys", "ssh_host_rsa_key.pub", v1::SSH_HOST_KEY_TYPE_RSA,
       1024},
      {"weak_host_keys", "ssh_host_rsa2048_key.pub", v1::SSH_HOST_KEY_TYPE_RSA,
       2048},
      {"weak_host_keys", "ssh_host_ecdsa_key.pub", v1::SSH_HOST_KEY_TYPE_ECDSA,
       384},
      {"debian12_default", "ssh_host_rsa_key.pub", v1::SSH_HOST_KEY_TYPE_RSA,
       3072},
      {"debian12_default", "ssh_host_ecdsa_key.pub",
       v1::SSH_HOST_KEY_TYPE_ECDSA, 256},
      {"hardened", "ssh_host_rsa_key.pub", v1::SSH_HOST_KEY_TYPE_RSA, 4096},
      {"hardened", "ssh_host_ed25519_key.pub", v1::SSH_HOST_KEY_TYPE_ED25519,
       256},
  };
  for (const Case& c : cases) {
    absl::StatusOr<SshPublicKey> key =
        ParseSshPublicKey(ReadText(Fixture(c.fixture) / "etc/ssh" / c.file));
    ASSERT_TRUE(key.ok()) << c.file << ": " << key.status();
    EXPECT_EQ(key->type, c.type) << c.file;
    EXPECT_EQ(key->bits, c.bits) << c.file;
  }
}

TEST(SshPublicKeyTest, SkipsCommentsBeforeTheKey) {
  std::string ed25519 =
      ReadText(Fixture("hardened") / "etc/ssh/ssh_host_ed25519_key.pub");
  absl::StatusOr<SshPublicKey> key =
      ParseSshPublicKey("# generated\n\n" + ed25519);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->algorithm, "ssh-ed25519");
}

TEST(SshPublicKeyTest, TypeMismatchIsRefused) {
  std::string ed25519 =
      ReadText(Fixture("hardened") / "etc/ssh/ssh_host_ed25519_key.pub");
  absl::StatusOr<SshPublicKey> key =
      ParseSshPublicKey("ssh-rsa" + ed25519.substr(ed25519.find(' ')));
  ASSERT_FALSE(key.ok());
  EXPECT_THAT(std::string(key.status().message()), HasSubstr("not"));
}

TEST(SshPublicKeyTest, MalformedInputsAreRefused) {
  for (const char* text :
       {"", "# only a comment\n", "ssh-rsa\n", "ssh-rsa !!!!\n",
        "ssh-rsa AAAA\n", "ssh-rsa AAAAB3NzaC1yc2E=\n",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKdk\n", "ssh-rsa A\n",
        "x-unknown AAAACXgtdW5rbm93bg==\n"}) {
    EXPECT_FALSE(ParseSshPublicKey(text).ok()) << text;
  }
}

TEST(SshPublicKeyTest, TruncatedRealKeyIsRefused) {
  std::string rsa =
      ReadText(Fixture("hardened") / "etc/ssh/ssh_host_rsa_key.pub");
  size_t space = rsa.find(' ');
  for (size_t cut : {space + 5, space + 40, space + 300}) {
    EXPECT_FALSE(ParseSshPublicKey(rsa.substr(0, cut)).ok()) << cut;
  }
}

// --- Fixtures ------------------------------------------------------------

TEST(SshServerFixtureTest, NotInstalled) {
  v1::SshServerFacts facts = CollectFixture("not_installed");
  EXPECT_FALSE(facts.installed());
  EXPECT_FALSE(facts.running());
  EXPECT_EQ(facts.config_state(), v1::SSH_CONFIG_STATE_UNSPECIFIED);
  EXPECT_THAT(facts.host_keys(), IsEmpty());
}

TEST(SshServerFixtureTest, Debian12Default) {
  v1::SshServerFacts facts = CollectFixture("debian12_default");
  EXPECT_TRUE(facts.installed());
  EXPECT_TRUE(facts.running());
  EXPECT_EQ(facts.package_version(), "1:9.2p1-2+deb12u10");
  EXPECT_EQ(facts.openssh_version(), "9.2");
  EXPECT_EQ(facts.defaults_version(), "9.2");
  EXPECT_EQ(facts.config_state(), v1::SSH_CONFIG_STATE_READ);
  EXPECT_THAT(facts.config_errors(), IsEmpty());
  EXPECT_THAT(facts.config_files(), ElementsAre("/etc/ssh/sshd_config"));
  EXPECT_EQ(facts.permit_root_login().value(),
            v1::SSH_PERMIT_ROOT_LOGIN_PROHIBIT_PASSWORD);
  EXPECT_EQ(facts.permit_root_login().source(), v1::SSH_SETTING_SOURCE_DEFAULT);
  EXPECT_TRUE(facts.password_authentication().value());
  EXPECT_EQ(facts.password_authentication().source(),
            v1::SSH_SETTING_SOURCE_DEFAULT);
  // Debian's shipped file, not the defaults:
  EXPECT_FALSE(facts.kbd_interactive_authentication().value());
  EXPECT_EQ(facts.kbd_interactive_authentication().source(),
            v1::SSH_SETTING_SOURCE_CONFIG);
  EXPECT_TRUE(facts.use_pam().value());
  EXPECT_TRUE(facts.x11_forwarding().value());
  EXPECT_EQ(facts.x11_forwarding().source(), v1::SSH_SETTING_SOURCE_CONFIG);
  EXPECT_EQ(facts.max_auth_tries().value(), 6);
  EXPECT_THAT(Effective(facts.ciphers()),
              ElementsAre("chacha20-poly1305@openssh.com", "aes128-ctr",
                          "aes192-ctr", "aes256-ctr", "aes128-gcm@openssh.com",
                          "aes256-gcm@openssh.com"));
  // The default MAC list carries SHA-1 and 64-bit UMAC: deprecated only.
  ASSERT_THAT(facts.weak_algorithms(), SizeIs(4));
  for (const v1::SshWeakAlgorithm& weak : facts.weak_algorithms()) {
    EXPECT_EQ(weak.kind(), v1::SSH_ALGORITHM_KIND_MAC);
    EXPECT_EQ(weak.weakness(), v1::SSH_ALGORITHM_WEAKNESS_DEPRECATED);
  }
  ASSERT_THAT(facts.host_keys(), SizeIs(3));
  EXPECT_EQ(facts.host_keys(0).path(), "/etc/ssh/ssh_host_ecdsa_key.pub");
  EXPECT_EQ(facts.host_keys(2).path(), "/etc/ssh/ssh_host_rsa_key.pub");
  EXPECT_EQ(facts.host_keys(2).bits(), 3072u);
  for (const v1::SshHostKey& key : facts.host_keys()) {
    EXPECT_TRUE(key.in_use()) << key.path();
    EXPECT_EQ(key.error(), "") << key.path();
  }
  EXPECT_THAT(facts.match_blocks(), IsEmpty());
}

TEST(SshServerFixtureTest, Hardened) {
  v1::SshServerFacts facts = CollectFixture("hardened");
  EXPECT_THAT(facts.config_errors(), IsEmpty());
  EXPECT_EQ(facts.permit_root_login().value(), v1::SSH_PERMIT_ROOT_LOGIN_NO);
  EXPECT_EQ(facts.permit_root_login().origin(), "/etc/ssh/sshd_config:4");
  EXPECT_FALSE(facts.password_authentication().value());
  EXPECT_FALSE(facts.kbd_interactive_authentication().value());
  EXPECT_FALSE(facts.permit_empty_passwords().value());
  EXPECT_EQ(facts.max_auth_tries().value(), 3);
  EXPECT_FALSE(facts.x11_forwarding().value());
  EXPECT_THAT(facts.weak_algorithms(), IsEmpty());
  EXPECT_THAT(Effective(facts.macs()),
              ElementsAre("hmac-sha2-512-etm@openssh.com",
                          "hmac-sha2-256-etm@openssh.com"));
  // Only the ed25519 key is named by HostKey.
  ASSERT_THAT(facts.host_keys(), SizeIs(2));
  EXPECT_TRUE(facts.host_keys(0).in_use());   // ed25519
  EXPECT_FALSE(facts.host_keys(1).in_use());  // rsa, on disk but unused
}

TEST(SshServerFixtureTest, RootLoginAndPasswords) {
  v1::SshServerFacts facts = CollectFixture("root_password");
  EXPECT_EQ(facts.permit_root_login().value(), v1::SSH_PERMIT_ROOT_LOGIN_YES);
  EXPECT_TRUE(facts.password_authentication().value());
  EXPECT_EQ(facts.password_authentication().source(),
            v1::SSH_SETTING_SOURCE_CONFIG);
  EXPECT_TRUE(facts.kbd_interactive_authentication().value());
  EXPECT_TRUE(facts.permit_empty_passwords().value());
  EXPECT_EQ(facts.max_auth_tries().value(), 10);
}

TEST(SshServerFixtureTest, IncludeOverrideFirstWins) {
  v1::SshServerFacts facts = CollectFixture("include_override");
  EXPECT_THAT(facts.config_errors(), IsEmpty());
  EXPECT_THAT(facts.config_files(),
              ElementsAre("/etc/ssh/sshd_config",
                          "/etc/ssh/sshd_config.d/10-hardening.conf",
                          "/etc/ssh/sshd_config.d/20-late.conf",
                          "/etc/ssh/conf.local/extra.conf"));
  EXPECT_EQ(facts.permit_root_login().value(), v1::SSH_PERMIT_ROOT_LOGIN_NO);
  EXPECT_EQ(facts.permit_root_login().origin(),
            "/etc/ssh/sshd_config.d/10-hardening.conf:2");
  EXPECT_FALSE(facts.password_authentication().value());
  EXPECT_FALSE(facts.x11_forwarding().value());
  EXPECT_EQ(facts.x11_forwarding().origin(),
            "/etc/ssh/sshd_config.d/20-late.conf:3");
  EXPECT_EQ(facts.max_auth_tries().value(), 4);
  EXPECT_FALSE(facts.permit_empty_passwords().value());  // .txt, dotfile
  EXPECT_FALSE(facts.kbd_interactive_authentication().value());
  EXPECT_TRUE(facts.use_pam().value());
  EXPECT_EQ(facts.use_pam().origin(), "/etc/ssh/sshd_config:8");
  ASSERT_THAT(facts.match_blocks(), SizeIs(1));
  EXPECT_EQ(facts.match_blocks(0).criteria(), "User backup");
  EXPECT_TRUE(facts.match_blocks(0).password_authentication());
}

TEST(SshServerFixtureTest, MatchReenablesPasswords) {
  v1::SshServerFacts facts = CollectFixture("match_passwords");
  EXPECT_FALSE(facts.password_authentication().value());
  EXPECT_EQ(facts.permit_root_login().value(), v1::SSH_PERMIT_ROOT_LOGIN_NO);
  EXPECT_EQ(facts.max_auth_tries().value(), 3);
  EXPECT_EQ(facts.max_auth_tries().origin(), "/etc/ssh/sshd_config:18");
  ASSERT_THAT(facts.match_blocks(), SizeIs(2));
  EXPECT_EQ(facts.match_blocks(0).criteria(),
            "Address 10.0.0.0/8,192.168.0.0/16");
  EXPECT_TRUE(facts.match_blocks(0).password_authentication());
  EXPECT_EQ(facts.match_blocks(1).criteria(),
            "User deploy Address 203.0.113.7");
  EXPECT_EQ(facts.match_blocks(1).permit_root_login(),
            v1::SSH_PERMIT_ROOT_LOGIN_YES);
  EXPECT_EQ(facts.match_blocks(1).max_auth_tries(), 10);
  EXPECT_FALSE(facts.match_blocks(1).has_password_authentication());
}

TEST(SshServerFixtureTest, WeakCiphersAppended) {
  v1::SshServerFacts facts = CollectFixture("weak_ciphers");
  EXPECT_EQ(facts.ciphers().configured(), "+3des-cbc,aes128-cbc");
  EXPECT_EQ(facts.ciphers().origin(), "/etc/ssh/sshd_config:2");
  EXPECT_EQ(facts.ciphers().effective(6), "3des-cbc");
  std::vector<std::string> broken;
  for (const v1::SshWeakAlgorithm& weak : facts.weak_algorithms()) {
    if (weak.weakness() == v1::SSH_ALGORITHM_WEAKNESS_BROKEN) {
      broken.push_back(weak.name());
    }
  }
  EXPECT_THAT(broken, ElementsAre("3des-cbc", "aes128-cbc", "hmac-md5",
                                  "diffie-hellman-group1-sha1",
                                  "diffie-hellman-group14-sha1"));
}

TEST(SshServerFixtureTest, ListPrefixes) {
  v1::SshServerFacts facts = CollectFixture("list_prefixes");
  EXPECT_EQ(facts.ciphers().effective(0), "aes256-gcm@openssh.com");
  EXPECT_THAT(Effective(facts.kex_algorithms()),
              ElementsAre("sntrup761x25519-sha512",
                          "sntrup761x25519-sha512@openssh.com",
                          "curve25519-sha256", "curve25519-sha256@libssh.org"));
  EXPECT_THAT(facts.weak_algorithms(), IsEmpty());
}

TEST(SshServerFixtureTest, WeakHostKeys) {
  v1::SshServerFacts facts = CollectFixture("weak_host_keys");
  ASSERT_THAT(facts.host_keys(), SizeIs(6));
  std::map<std::string, v1::SshHostKey> by_path;
  for (const v1::SshHostKey& key : facts.host_keys()) by_path[key.path()] = key;
  const v1::SshHostKey& dsa = by_path["/etc/ssh/ssh_host_dsa_key.pub"];
  EXPECT_EQ(dsa.type(), v1::SSH_HOST_KEY_TYPE_DSA);
  EXPECT_TRUE(dsa.in_use());
  EXPECT_EQ(by_path["/etc/ssh/ssh_host_rsa_key.pub"].bits(), 1024u);
  EXPECT_EQ(by_path["/etc/ssh/ssh_host_rsa2048_key.pub"].bits(), 2048u);
  // Named by HostKey but its private key is missing: sshd skips it.
  EXPECT_FALSE(by_path["/etc/ssh/ssh_host_ecdsa_key.pub"].in_use());
  // On disk, not named by HostKey.
  EXPECT_FALSE(by_path["/etc/ssh/ssh_host_ed25519_key.pub"].in_use());
  EXPECT_THAT(by_path["/etc/ssh/ssh_host_broken_key.pub"].error(),
              HasSubstr("malformed"));
}

TEST(SshServerFixtureTest, ConfigMissing) {
  v1::SshServerFacts facts = CollectFixture("config_missing");
  EXPECT_TRUE(facts.installed());
  EXPECT_FALSE(facts.running());
  EXPECT_EQ(facts.config_state(), v1::SSH_CONFIG_STATE_MISSING);
  EXPECT_EQ(facts.config_error(), "/etc/ssh/sshd_config: not found");
  EXPECT_EQ(facts.permit_root_login().source(),
            v1::SSH_SETTING_SOURCE_UNSPECIFIED);
  EXPECT_THAT(facts.host_keys(), SizeIs(3));
}

TEST(SshServerFixtureTest, ConfigUnreadable) {
  v1::SshServerFacts facts = CollectFixture("config_unreadable");
  EXPECT_EQ(facts.config_state(), v1::SSH_CONFIG_STATE_UNREADABLE);
  EXPECT_EQ(facts.config_error(), "/etc/ssh/sshd_config: not a regular file");
  EXPECT_FALSE(facts.password_authentication().value());
  EXPECT_EQ(facts.password_authentication().source(),
            v1::SSH_SETTING_SOURCE_UNSPECIFIED);
}

TEST(SshServerFixtureTest, IncludeLoop) {
  v1::SshServerFacts facts = CollectFixture("include_loop");
  EXPECT_EQ(facts.config_state(), v1::SSH_CONFIG_STATE_READ);
  ASSERT_THAT(facts.config_errors(), SizeIs(1));
  EXPECT_THAT(facts.config_errors(0), HasSubstr("Too many recursive"));
  EXPECT_THAT(
      facts.config_files(),
      ElementsAre("/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/loop.conf"));
  EXPECT_EQ(facts.permit_root_login().value(), v1::SSH_PERMIT_ROOT_LOGIN_NO);
}

TEST(SshServerFixtureTest, BinaryOnlyOpenSsh84) {
  v1::SshServerFacts facts = CollectFixture("binary_only_84");
  EXPECT_TRUE(facts.installed());
  EXPECT_EQ(facts.package_version(), "");
  EXPECT_EQ(facts.openssh_version(), "8.4");
  EXPECT_EQ(facts.defaults_version(), "8.4");
  EXPECT_FALSE(facts.kbd_interactive_authentication().value());
  EXPECT_EQ(facts.kbd_interactive_authentication().origin(),
            "/etc/ssh/sshd_config:1");
  EXPECT_EQ(facts.kex_algorithms().effective(0), "curve25519-sha256");
}

// Include paths climbing with "..", and symlinks pointing out of the root
// (relative or absolute), resolve inside the root: the file beside the root
// is never read.
TEST(SshServerProbeTest, IncludesCannotLeaveTheRoot) {
  testing::ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path root = dir.path() / "root";
  fs::create_directories(root / "etc/ssh/sshd_config.d");
  fs::create_directories(root / "usr/sbin");
  std::ofstream(root / "usr/sbin/sshd") << "OpenSSH_9.2p1\n";
  std::ofstream(dir.path() / "outside.conf") << "PermitRootLogin yes\n";
  std::ofstream(root / "etc/ssh/sshd_config")
      << "Include /etc/ssh/../../../outside.conf\n"
         "Include ../../../../outside.conf\n"
         "Include /etc/ssh/sshd_config.d/*.conf\n"
         "PermitRootLogin no\n";
  fs::create_symlink("../../../../outside.conf",
                     root / "etc/ssh/sshd_config.d/relative.conf");
  fs::create_symlink(dir.path() / "outside.conf",
                     root / "etc/ssh/sshd_config.d/absolute.conf");
  absl::StatusOr<v1::Facts> facts = SshServerProbe().Collect(root);
  ASSERT_TRUE(facts.ok()) << facts.status();
  const v1::SshServerFacts& ssh = facts->ssh_server();
  EXPECT_EQ(ssh.permit_root_login().value(), v1::SSH_PERMIT_ROOT_LOGIN_NO);
  EXPECT_THAT(ssh.config_files(), ElementsAre("/etc/ssh/sshd_config"));
}

// Include globs listing thousands of directories are bounded, and the
// bound is a configuration error (some includes were not read).
TEST(SshServerProbeTest, IncludeGlobListingsAreBoundedAndReported) {
  testing::ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path root = dir.path();
  fs::create_directories(root / "etc/ssh");
  fs::create_directories(root / "usr/sbin");
  std::ofstream(root / "usr/sbin/sshd") << "OpenSSH_9.2p1\n";
  for (int i = 0; i < 100; ++i) {
    fs::create_directories(root / "d" / std::to_string(i));
  }
  std::string config;
  for (int i = 0; i < 60; ++i) config += Cat("Include /d/*/*x", i, "\n");
  std::ofstream(root / "etc/ssh/sshd_config") << config;
  absl::StatusOr<v1::Facts> facts = SshServerProbe().Collect(root);
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_THAT(facts->ssh_server().config_errors(),
              ::testing::Contains(HasSubstr("Include globs list more than")));
}

TEST(SshServerFixtureTest, TwoCollectionsAreIdentical) {
  for (const char* name : {"debian12_default", "include_override",
                           "match_passwords", "weak_host_keys"}) {
    absl::StatusOr<v1::Facts> a = SshServerProbe().Collect(Fixture(name));
    absl::StatusOr<v1::Facts> b = SshServerProbe().Collect(Fixture(name));
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->SerializeAsString(), b->SerializeAsString()) << name;
  }
}

TEST(SshServerProbeTest, Id) {
  EXPECT_EQ(SshServerProbe().id(), "linux.ssh_server");
}

}  // namespace
}  // namespace evidentia::agent
