#include "agent/linux/probes/password_policy_probe.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

fs::path Fixture(const std::string& name) {
  return fs::path(EVIDENTIA_SOURCE_DIR) / "tests/fixtures/password_policy" /
         name;
}

v1::PasswordPolicyFacts CollectFixture(const std::string& name) {
  absl::StatusOr<v1::Facts> facts =
      PasswordPolicyProbe().Collect(Fixture(name));
  EXPECT_TRUE(facts.ok()) << facts.status();
  if (!facts.ok()) return {};
  EXPECT_TRUE(facts->has_password_policy());
  return facts->password_policy();
}

const v1::PamService& Service(const v1::PasswordPolicyFacts& facts,
                              const std::string& name) {
  for (const v1::PamService& service : facts.pam_services()) {
    if (service.name() == name) return service;
  }
  ADD_FAILURE() << "no PAM service " << name;
  static const v1::PamService kEmpty;
  return kEmpty;
}

// "module@file" for each line of a stack, e.g. "pam_unix@common-auth".
std::vector<std::string> Modules(
    const google::protobuf::RepeatedPtrField<v1::PamModuleLine>& stack) {
  std::vector<std::string> out;
  for (const v1::PamModuleLine& line : stack) {
    out.push_back(line.module_name() + "@" +
                  fs::path(line.file()).filename().string());
  }
  return out;
}

std::vector<std::string> Names(
    const google::protobuf::RepeatedPtrField<v1::PamService>& services) {
  std::vector<std::string> out;
  for (const v1::PamService& s : services) out.push_back(s.name());
  return out;
}

// A reader over files held in memory, for BuildPamService.
RootedReader MapReader(std::map<std::string, std::string> files) {
  return [files = std::move(files)](
             const std::string& path) -> absl::StatusOr<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return absl::NotFoundError(path);
    if (it->second == "<unreadable>") return absl::PermissionDeniedError(path);
    return it->second;
  };
}

// --- ParseLoginDefs --------------------------------------------------------

TEST(LoginDefsParserTest, ReadsKeysAndValues) {
  std::map<std::string, std::string> defs = ParseLoginDefs(
      "# comment\nPASS_MAX_DAYS\t90\n  PASS_MIN_DAYS 1\nENCRYPT_METHOD "
      "YESCRYPT\n\n");
  EXPECT_THAT(defs, ElementsAre(Pair("ENCRYPT_METHOD", "YESCRYPT"),
                                Pair("PASS_MAX_DAYS", "90"),
                                Pair("PASS_MIN_DAYS", "1")));
}

TEST(LoginDefsParserTest, LaterLineOverridesEarlier) {
  EXPECT_EQ(ParseLoginDefs("PASS_MAX_DAYS 99999\nPASS_MAX_DAYS 60\n")
                .at("PASS_MAX_DAYS"),
            "60");
}

TEST(LoginDefsParserTest, UnquotesValuesAndKeepsEmptyOnes) {
  std::map<std::string, std::string> defs =
      ParseLoginDefs("ENV_PATH \"PATH=/bin\"\nUMASK\n");
  EXPECT_EQ(defs.at("ENV_PATH"), "PATH=/bin");
  EXPECT_EQ(defs.at("UMASK"), "");
}

TEST(LoginDefsParserTest, SurvivesBinaryAndHugeInput) {
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>(i));
  junk += std::string(1 << 20, 'A') + "\nPASS_MAX_DAYS 30";
  EXPECT_EQ(ParseLoginDefs(junk).at("PASS_MAX_DAYS"), "30");
}

// --- ParsePamFile ----------------------------------------------------------

TEST(PamFileParserTest, ReadsModuleLine) {
  std::vector<PamLine> lines = ParsePamFile(
      "password [success=1 default=ignore] pam_unix.so obscure yescrypt\n");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].kind, PamLine::Kind::kModule);
  EXPECT_EQ(lines[0].type, "password");
  EXPECT_EQ(lines[0].control, "[success=1 default=ignore]");
  EXPECT_EQ(lines[0].module, "pam_unix.so");
  EXPECT_THAT(lines[0].arguments, ElementsAre("obscure", "yescrypt"));
  EXPECT_FALSE(lines[0].skip_if_missing);
}

TEST(PamFileParserTest, ReadsIncludeForms) {
  std::vector<PamLine> lines = ParsePamFile(
      "@include common-auth\nauth include system-auth\n"
      "password substack system-auth\n");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].kind, PamLine::Kind::kIncludeAll);
  EXPECT_EQ(lines[0].module, "common-auth");
  EXPECT_EQ(lines[1].kind, PamLine::Kind::kInclude);
  EXPECT_EQ(lines[1].type, "auth");
  EXPECT_EQ(lines[2].kind, PamLine::Kind::kSubstack);
  EXPECT_EQ(lines[2].module, "system-auth");
}

TEST(PamFileParserTest, DashTypeMarksSkipIfMissing) {
  std::vector<PamLine> lines =
      ParsePamFile("-password optional pam_gnome_keyring.so use_authtok\n");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].type, "password");
  EXPECT_TRUE(lines[0].skip_if_missing);
}

TEST(PamFileParserTest, LoneDashIsNoTypeAndTheLineIsSkipped) {
  // Found by fuzzing: "-" must be joined to the type ("-auth").
  EXPECT_THAT(ParsePamFile(std::string("- \0ay TauThs\n", 13)), IsEmpty());
  EXPECT_THAT(ParsePamFile("- auth required pam_unix.so\n"), IsEmpty());
}

TEST(PamFileParserTest, JoinsContinuationsAndDropsComments) {
  std::vector<PamLine> lines = ParsePamFile(
      "# header\npassword requisite pam_pwquality.so retry=3 \\\n"
      "   minlen=14 # trailing comment\n");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0].arguments, ElementsAre("retry=3", "minlen=14"));
}

TEST(PamFileParserTest, BracketedArgumentStaysOneArgument) {
  std::vector<PamLine> lines =
      ParsePamFile("auth required pam_x.so [query=select a \\] b] next\n");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0].arguments, ElementsAre("[query=select a ] b]", "next"));
}

TEST(PamFileParserTest, SkipsShortAndUnterminatedLines) {
  EXPECT_THAT(ParsePamFile("auth required\n@include\n"
                           "auth [success=1 pam_unix.so\n"),
              IsEmpty());
}

TEST(PamFileParserTest, LowerCasesType) {
  std::vector<PamLine> lines = ParsePamFile("AUTH required pam_unix.so\n");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].type, "auth");
}

TEST(PamFileParserTest, SurvivesBinaryAndHugeInput) {
  std::string junk;
  for (int i = 0; i < 65536; ++i) junk.push_back(static_cast<char>(i % 256));
  junk += std::string(1 << 20, '[') + "\nauth required pam_ok.so\n";
  std::vector<PamLine> lines = ParsePamFile(junk);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back().module, "pam_ok.so");
}

// --- ParsePwqualityConf / ParseFaillockConf --------------------------------

TEST(PwqualityConfParserTest, ReadsNameValueAndFlags) {
  EXPECT_THAT(ParsePwqualityConf("# c\nminlen = 12\n  dcredit=-1  # digits\n"
                                 "enforce_for_root\nMinClass =3\n"),
              ElementsAre(Pair("minlen", "12"), Pair("dcredit", "-1"),
                          Pair("enforce_for_root", ""), Pair("minclass", "3")));
}

TEST(PwqualityConfParserTest, SkipsBlankAndCommentOnlyLines) {
  EXPECT_THAT(ParsePwqualityConf("\n   \n# minlen = 9\n= 4\n"), IsEmpty());
}

TEST(FaillockConfParserTest, ReadsSettings) {
  EXPECT_THAT(
      ParseFaillockConf("deny = 5\nunlock_time=never\neven_deny_root\n"),
      ElementsAre(Pair("deny", "5"), Pair("unlock_time", "never"),
                  Pair("even_deny_root", "")));
}

TEST(FaillockConfParserTest, SurvivesBinaryInput) {
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>(i % 256));
  ParseFaillockConf(junk);  // no crash; content unspecified
  ParsePwqualityConf(junk);
}

// --- BuildPamService -------------------------------------------------------

TEST(PamStackTest, FollowsIncludesInOrder) {
  v1::PamService service = BuildPamService(
      "login",
      MapReader(
          {{"/etc/pam.d/login",
            "auth requisite pam_nologin.so\n@include common-auth\n"
            "auth optional pam_group.so\n"},
           {"/etc/pam.d/common-auth",
            "auth required pam_unix.so\npassword required pam_unix.so\n"}}));
  EXPECT_TRUE(service.present());
  EXPECT_EQ(service.file(), "/etc/pam.d/login");
  EXPECT_THAT(Modules(service.auth()),
              ElementsAre("pam_nologin@login", "pam_unix@common-auth",
                          "pam_group@login"));
  EXPECT_THAT(Modules(service.password()), ElementsAre("pam_unix@common-auth"));
  EXPECT_THAT(service.problems(), IsEmpty());
}

TEST(PamStackTest, TypedIncludeTakesOnlyThatType) {
  v1::PamService service = BuildPamService(
      "passwd",
      MapReader({{"/etc/pam.d/passwd", "password substack system-auth\n"},
                 {"/etc/pam.d/system-auth",
                  "auth required pam_faillock.so preauth\n"
                  "password requisite pam_pwquality.so\n"}}));
  EXPECT_THAT(service.auth(), IsEmpty());
  EXPECT_THAT(Modules(service.password()),
              ElementsAre("pam_pwquality@system-auth"));
}

TEST(PamStackTest, MissingServiceFallsBackToOther) {
  v1::PamService service = BuildPamService(
      "passwd",
      MapReader({{"/etc/pam.d/other", "password required pam_deny.so\n"}}));
  EXPECT_FALSE(service.present());
  EXPECT_EQ(service.file(), "/etc/pam.d/other");
  EXPECT_THAT(Modules(service.password()), ElementsAre("pam_deny@other"));
}

TEST(PamStackTest, NotesLoopsAndStops) {
  v1::PamService service = BuildPamService(
      "login",
      MapReader({{"/etc/pam.d/login", "@include a\n"},
                 {"/etc/pam.d/a", "auth required pam_a.so\n@include b\n"},
                 {"/etc/pam.d/b", "auth include a\n"}}));
  EXPECT_THAT(Modules(service.auth()), ElementsAre("pam_a@a"));
  EXPECT_THAT(service.problems(), ElementsAre("include loop at /etc/pam.d/a"));
}

TEST(PamStackTest, BoundsIncludeDepth) {
  std::map<std::string, std::string> files;
  files["/etc/pam.d/login"] = "@include f0\n";
  for (int i = 0; i < 20; ++i) {
    files["/etc/pam.d/f" + std::to_string(i)] =
        "auth required pam_f" + std::to_string(i) + ".so\n@include f" +
        std::to_string(i + 1) + "\n";
  }
  v1::PamService service = BuildPamService("login", MapReader(files));
  EXPECT_EQ(service.auth_size(), kMaxPamIncludeDepth);
  ASSERT_EQ(service.problems_size(), 1);
  EXPECT_THAT(service.problems(0),
              ::testing::StartsWith("include depth above"));
}

TEST(PamStackTest, BoundsFilesReadWhenIncludesFanOut) {
  // No loop and shallow, yet 200 x 200 includes: without a bound on the
  // files followed, 40,000 reads (and 200^8 with eight levels).
  std::string many_a;
  std::string many_b;
  for (int i = 0; i < 200; ++i) {
    many_a += "@include a\n";
    many_b += "@include b\n";
  }
  RootedReader files =
      MapReader({{"/etc/pam.d/login", many_a},
                 {"/etc/pam.d/a", many_b},
                 {"/etc/pam.d/b", "auth required pam_b.so\n"}});
  int reads = 0;
  RootedReader counting = [&](const std::string& path) {
    ++reads;
    return files(path);
  };
  v1::PamService service = BuildPamService("login", counting);
  // One read tells whether the service file exists, then the walk's own.
  EXPECT_LE(reads, kMaxPamFilesPerService + 1);
  EXPECT_THAT(service.problems(),
              ElementsAre("more than 128 files included, stopped at "
                          "/etc/pam.d/b"));
  EXPECT_EQ(service.auth_size(), kMaxPamFilesPerService - 2);  // login, a
}

TEST(PamStackTest, NotesMissingAndUnreadableIncludes) {
  v1::PamService service = BuildPamService(
      "login", MapReader({{"/etc/pam.d/login",
                           "@include gone\nauth include /etc/secret\n"},
                          {"/etc/secret", "<unreadable>"}}));
  EXPECT_THAT(service.problems(), ElementsAre("missing include /etc/pam.d/gone",
                                              "unreadable /etc/secret"));
}

TEST(PamStackTest, RecordsArgumentsAndControl) {
  v1::PamService service = BuildPamService(
      "sshd", MapReader({{"/etc/pam.d/sshd",
                          "auth [default=die] /lib/security/pam_faillock.so "
                          "authfail deny=4\n"}}));
  ASSERT_EQ(service.auth_size(), 1);
  const v1::PamModuleLine& line = service.auth(0);
  EXPECT_EQ(line.module(), "/lib/security/pam_faillock.so");
  EXPECT_EQ(line.module_name(), "pam_faillock");
  EXPECT_EQ(line.control(), "[default=die]");
  EXPECT_THAT(line.arguments(), ElementsAre("authfail", "deny=4"));
  EXPECT_EQ(line.file(), "/etc/pam.d/sshd");
}

// --- Fixtures --------------------------------------------------------------

TEST(PasswordPolicyFixtureTest, Debian12Default) {
  v1::PasswordPolicyFacts facts = CollectFixture("debian12_default");
  EXPECT_TRUE(facts.login_defs_present());
  EXPECT_EQ(facts.pass_max_days(), 99999);
  EXPECT_EQ(facts.pass_min_days(), 0);
  EXPECT_TRUE(facts.has_pass_min_days());
  EXPECT_EQ(facts.pass_warn_age(), 7);
  EXPECT_EQ(facts.encrypt_method(), "SHA512");
  EXPECT_EQ(facts.encrypt_method_effective(), "SHA512");
  EXPECT_FALSE(facts.has_yescrypt_cost_factor());
  EXPECT_TRUE(facts.pam_d_present());
  EXPECT_THAT(Names(facts.pam_services()),
              ElementsAre("login", "passwd", "sshd"));
  EXPECT_THAT(Modules(Service(facts, "login").auth()),
              ElementsAre("pam_faildelay@login", "pam_nologin@login",
                          "pam_unix@common-auth", "pam_deny@common-auth",
                          "pam_permit@common-auth", "pam_cap@common-auth",
                          "pam_group@login"));
  EXPECT_THAT(
      Modules(Service(facts, "passwd").password()),
      ElementsAre("pam_unix@common-password", "pam_deny@common-password",
                  "pam_permit@common-password"));
  EXPECT_THAT(
      Modules(Service(facts, "sshd").account()),
      ElementsAre("pam_nologin@sshd", "pam_unix@common-account",
                  "pam_deny@common-account", "pam_permit@common-account"));
  EXPECT_EQ(facts.pam_unix_hash(), "yescrypt");
  EXPECT_FALSE(facts.pwquality_in_stack());
  EXPECT_FALSE(facts.pwquality_config_present());
  EXPECT_EQ(facts.pwquality_minlen(), 8);
  EXPECT_FALSE(facts.cracklib_in_stack());
  EXPECT_TRUE(facts.pam_unix_in_password_stack());
  EXPECT_EQ(facts.effective_min_length(), 6);
  EXPECT_EQ(facts.required_classes(), 0);
  EXPECT_THAT(facts.lockouts(), IsEmpty());
  EXPECT_THAT(facts.services_without_lockout(), ElementsAre("login", "sshd"));
  EXPECT_TRUE(facts.faillock_config_present());
}

TEST(PasswordPolicyFixtureTest, DebianPwqualityConfOverridesConfD) {
  v1::PasswordPolicyFacts facts = CollectFixture("debian_pwquality");
  EXPECT_THAT(
      Modules(Service(facts, "passwd").password()),
      ElementsAre("pam_pwquality@common-password", "pam_unix@common-password",
                  "pam_deny@common-password", "pam_permit@common-password"));
  EXPECT_TRUE(facts.pwquality_in_stack());
  EXPECT_TRUE(facts.pwquality_config_present());
  EXPECT_EQ(facts.pwquality_minlen(), 12);   // pwquality.conf read last
  EXPECT_EQ(facts.pwquality_ucredit(), -1);  // from pwquality.conf.d
  EXPECT_EQ(facts.pwquality_minclass(), 3);
  EXPECT_EQ(facts.pwquality_retry(), 3);  // module argument
  EXPECT_FALSE(facts.pwquality_enforce_for_root());
  EXPECT_TRUE(facts.pwquality_enforcing());
  EXPECT_EQ(facts.effective_min_length(), 12);
  EXPECT_EQ(facts.required_classes(), 3);
}

TEST(PasswordPolicyFixtureTest, DebianFaillockInCommonAuth) {
  v1::PasswordPolicyFacts facts = CollectFixture("debian_faillock");
  ASSERT_EQ(facts.lockouts_size(), 2);
  for (const v1::PasswordPolicyLockout& lockout : facts.lockouts()) {
    EXPECT_EQ(lockout.module(), "pam_faillock");
    EXPECT_EQ(lockout.file(), "/etc/pam.d/common-auth");
    EXPECT_EQ(lockout.deny(), 5);
    EXPECT_EQ(lockout.unlock_time_seconds(), 900);
    EXPECT_EQ(lockout.fail_interval_seconds(), 900);
    EXPECT_TRUE(lockout.even_deny_root());
    EXPECT_TRUE(lockout.checks_before_auth());
  }
  EXPECT_EQ(facts.lockouts(0).service(), "login");
  EXPECT_EQ(facts.lockouts(1).service(), "sshd");
  EXPECT_THAT(facts.services_without_lockout(), IsEmpty());
}

TEST(PasswordPolicyFixtureTest, RhelSystemAuth) {
  v1::PasswordPolicyFacts facts = CollectFixture("rhel_system_auth");
  EXPECT_EQ(facts.pass_max_days(), 90);
  EXPECT_EQ(facts.pass_min_days(), 1);
  EXPECT_EQ(facts.pass_warn_age(), 14);
  EXPECT_EQ(facts.sha_crypt_min_rounds(), 5000);
  EXPECT_EQ(facts.encrypt_method_effective(), "SHA512");
  const v1::PamService& passwd = Service(facts, "passwd");
  EXPECT_THAT(Modules(passwd.password()),
              ElementsAre("pam_pwquality@system-auth", "pam_unix@system-auth",
                          "pam_deny@system-auth", "pam_gnome_keyring@passwd"));
  EXPECT_TRUE(passwd.password(3).skip_if_missing());
  EXPECT_THAT(Modules(Service(facts, "login").auth()),
              ElementsAre("pam_env@system-auth", "pam_faillock@system-auth",
                          "pam_unix@system-auth", "pam_faillock@system-auth",
                          "pam_deny@system-auth"));
  EXPECT_TRUE(facts.pwquality_in_stack());
  EXPECT_EQ(facts.pwquality_minlen(), 14);  // argument over pwquality.conf
  EXPECT_EQ(facts.pwquality_dcredit(), -1);
  EXPECT_EQ(facts.pwquality_ocredit(), -1);
  EXPECT_TRUE(facts.pwquality_enforce_for_root());
  EXPECT_EQ(facts.effective_min_length(), 14);
  EXPECT_EQ(facts.required_classes(), 4);
  EXPECT_EQ(facts.pam_unix_hash(), "sha512");
  ASSERT_EQ(facts.lockouts_size(), 1);
  EXPECT_EQ(facts.lockouts(0).service(), "login");
  EXPECT_EQ(facts.lockouts(0).file(), "/etc/pam.d/system-auth");
  EXPECT_EQ(facts.lockouts(0).deny(), 4);
  EXPECT_EQ(facts.lockouts(0).unlock_time_seconds(), 1200);
  EXPECT_FALSE(facts.lockouts(0).even_deny_root());
  EXPECT_THAT(facts.services_without_lockout(), ElementsAre("sshd"));
}

TEST(PasswordPolicyFixtureTest, LoginDefsMissing) {
  v1::PasswordPolicyFacts facts = CollectFixture("login_defs_missing");
  EXPECT_FALSE(facts.login_defs_present());
  EXPECT_FALSE(facts.has_pass_max_days());
  EXPECT_FALSE(facts.has_pass_min_days());
  EXPECT_FALSE(facts.has_pass_warn_age());
  EXPECT_EQ(facts.encrypt_method(), "");
  EXPECT_EQ(facts.encrypt_method_effective(), "DES");
  EXPECT_EQ(facts.effective_min_length(), 6);  // PAM is still there
}

TEST(PasswordPolicyFixtureTest, IncludeLoopIsNotedNotFatal) {
  v1::PasswordPolicyFacts facts = CollectFixture("include_loop");
  EXPECT_THAT(Names(facts.pam_services()), ElementsAre("login", "passwd"));
  const v1::PamService& login = Service(facts, "login");
  EXPECT_THAT(Modules(login.auth()),
              ElementsAre("pam_nologin@login", "pam_unix@common-auth",
                          "pam_cap@common-extra"));
  EXPECT_THAT(login.problems(),
              ElementsAre("include loop at /etc/pam.d/common-auth",
                          "missing include /etc/pam.d/common-missing"));
  EXPECT_EQ(facts.effective_min_length(), 9);  // pam_unix minlen=9
  EXPECT_THAT(facts.services_without_lockout(), ElementsAre("login"));
}

TEST(PasswordPolicyFixtureTest, PwqualityConfWithoutModuleIsNotInEffect) {
  v1::PasswordPolicyFacts facts = CollectFixture("pwquality_not_in_stack");
  EXPECT_FALSE(facts.pwquality_in_stack());
  EXPECT_TRUE(facts.pwquality_config_present());
  EXPECT_EQ(facts.pwquality_minlen(), 14);
  EXPECT_EQ(facts.pwquality_minclass(), 4);
  EXPECT_EQ(facts.effective_min_length(), 6);
  EXPECT_EQ(facts.required_classes(), 0);
}

TEST(PasswordPolicyFixtureTest, LegacyCracklibAndTally2) {
  v1::PasswordPolicyFacts facts = CollectFixture("legacy_cracklib_tally2");
  EXPECT_EQ(facts.encrypt_method(), "");
  EXPECT_EQ(facts.encrypt_method_effective(), "MD5");
  EXPECT_EQ(facts.pam_unix_hash(), "md5");
  EXPECT_TRUE(facts.cracklib_in_stack());
  EXPECT_FALSE(facts.pwquality_in_stack());
  // cracklib minlen=8 with its default +1 credits: 4; pam_unix's 6 wins.
  EXPECT_EQ(facts.effective_min_length(), 6);
  ASSERT_EQ(facts.lockouts_size(), 1);
  EXPECT_EQ(facts.lockouts(0).module(), "pam_tally2");
  EXPECT_EQ(facts.lockouts(0).deny(), 6);
  EXPECT_EQ(facts.lockouts(0).unlock_time_seconds(), 1800);
  EXPECT_TRUE(facts.lockouts(0).checks_before_auth());
  EXPECT_THAT(facts.services_without_lockout(), IsEmpty());
}

TEST(PasswordPolicyFixtureTest, EmptyRootIsAFactNotAnError) {
  v1::PasswordPolicyFacts facts = CollectFixture("does_not_exist");
  EXPECT_FALSE(facts.login_defs_present());
  EXPECT_FALSE(facts.pam_d_present());
  EXPECT_EQ(facts.effective_min_length(), 0);
  EXPECT_EQ(facts.encrypt_method_effective(), "DES");
  EXPECT_THAT(facts.services_without_lockout(), ElementsAre("login"));
}

// A copy of fixture `name` in a scratch directory, to change one file.
class FixtureCopy {
 public:
  explicit FixtureCopy(const std::string& name) {
    fs::copy(Fixture(name), dir_.path(), fs::copy_options::recursive);
  }
  const fs::path& root() const { return dir_.path(); }
  // Replaces `path` (relative to the root) with `text`.
  void Write(const std::string& path, const std::string& text) const {
    std::ofstream(root() / path, std::ios::binary | std::ios::trunc) << text;
  }

 private:
  evidentia::testing::ScopedTempDir dir_;
};

// Text over the probe's 4 MiB cap whose first line PAM would still apply.
std::string Oversized(const std::string& first_line) {
  return first_line + std::string(5 << 20, '#') + "\n";
}

TEST(PasswordPolicyFixtureTest, UnreadableFaillockConfIsNoLockout) {
  // pam_faillock reads "deny = 0" (never lock) from a file too large for
  // the probe: its defaults (deny 3) must not stand in for it.
  FixtureCopy copy("debian_faillock");
  copy.Write("etc/security/faillock.conf", Oversized("deny = 0\n"));
  absl::StatusOr<v1::Facts> facts = PasswordPolicyProbe().Collect(copy.root());
  ASSERT_TRUE(facts.ok()) << facts.status();
  const v1::PasswordPolicyFacts& policy = facts->password_policy();
  EXPECT_THAT(policy.lockouts(), IsEmpty());
  EXPECT_THAT(policy.services_without_lockout(), ElementsAre("login", "sshd"));
  EXPECT_THAT(Service(policy, "login").problems(),
              ElementsAre("pam_faillock configuration "
                          "/etc/security/faillock.conf is larger than the "
                          "probe reads"));
}

TEST(PasswordPolicyFixtureTest, MissingExplicitFaillockConfIsNoLockout) {
  FixtureCopy copy("debian_faillock");
  std::string auth;
  {
    std::ifstream in(copy.root() / "etc/pam.d/common-auth");
    std::stringstream text;
    text << in.rdbuf();
    auth = text.str();
  }
  const std::string authfail = "pam_faillock.so authfail";
  size_t at = auth.find(authfail);
  ASSERT_NE(at, std::string::npos);
  auth.insert(at + authfail.size(), " conf=/etc/security/gone.conf");
  copy.Write("etc/pam.d/common-auth", auth);
  absl::StatusOr<v1::Facts> facts = PasswordPolicyProbe().Collect(copy.root());
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_THAT(facts->password_policy().lockouts(), IsEmpty());
  EXPECT_THAT(Service(facts->password_policy(), "sshd").problems(),
              ElementsAre("pam_faillock configuration "
                          "/etc/security/gone.conf is missing"));
}

TEST(PasswordPolicyFixtureTest, UnreadablePwqualityConfIsNotCredited) {
  // pam_pwquality reads "minlen = 6" from a file too large for the probe:
  // libpwquality's defaults (minlen 8) must not stand in for it.
  FixtureCopy copy("debian_pwquality");
  copy.Write("etc/security/pwquality.conf", Oversized("minlen = 6\n"));
  absl::StatusOr<v1::Facts> facts = PasswordPolicyProbe().Collect(copy.root());
  ASSERT_TRUE(facts.ok()) << facts.status();
  const v1::PasswordPolicyFacts& policy = facts->password_policy();
  EXPECT_TRUE(policy.pwquality_in_stack());
  EXPECT_TRUE(policy.pwquality_config_present());
  EXPECT_EQ(policy.effective_min_length(), 6);  // pam_unix's default alone
  EXPECT_EQ(policy.required_classes(), 0);
  EXPECT_THAT(Service(policy, "passwd").problems(),
              ElementsAre("pwquality configuration "
                          "/etc/security/pwquality.conf is larger than the "
                          "probe reads"));
}

TEST(PasswordPolicyFixtureTest, CollectionIsDeterministic) {
  absl::StatusOr<v1::Facts> a =
      PasswordPolicyProbe().Collect(Fixture("rhel_system_auth"));
  absl::StatusOr<v1::Facts> b =
      PasswordPolicyProbe().Collect(Fixture("rhel_system_auth"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->SerializeAsString(), b->SerializeAsString());
}

}  // namespace
}  // namespace evidentia::agent
