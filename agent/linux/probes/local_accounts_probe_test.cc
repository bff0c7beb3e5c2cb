#include "agent/linux/probes/local_accounts_probe.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

fs::path Fixture(const std::string& name) {
  return fs::path(EVIDENTIA_SOURCE_DIR) / "tests/fixtures/local_accounts" /
         name;
}

v1::LocalAccountsFacts CollectFixture(const std::string& name) {
  absl::StatusOr<v1::Facts> facts = LocalAccountsProbe().Collect(Fixture(name));
  EXPECT_TRUE(facts.ok()) << facts.status();
  if (!facts.ok()) return {};
  EXPECT_TRUE(facts->has_local_accounts());
  return facts->local_accounts();
}

const v1::Account& Find(const v1::LocalAccountsFacts& facts,
                        const std::string& name) {
  for (const v1::Account& account : facts.accounts()) {
    if (account.name() == name) return account;
  }
  ADD_FAILURE() << "no account " << name;
  static const v1::Account kEmpty;
  return kEmpty;
}

std::vector<std::string> Principals(const v1::LocalAccountsFacts& facts) {
  std::vector<std::string> out;
  for (const v1::SudoRule& rule : facts.sudo_rules()) {
    out.push_back(rule.principal());
  }
  return out;
}

// --- ParsePasswd ---------------------------------------------------------

TEST(PasswdParserTest, ReadsAllFields) {
  std::vector<PasswdEntry> entries =
      ParsePasswd("alice:x:1000:1001:Alice,,,:/home/alice:/bin/bash\n");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].name, "alice");
  EXPECT_EQ(entries[0].password, "x");
  EXPECT_EQ(entries[0].uid, 1000u);
  EXPECT_EQ(entries[0].gid, 1001u);
  EXPECT_EQ(entries[0].home, "/home/alice");
  EXPECT_EQ(entries[0].shell, "/bin/bash");
}

TEST(PasswdParserTest, KeepsEmptyShell) {
  std::vector<PasswdEntry> entries = ParsePasswd("u:x:5:5:::\n");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].shell, "");
}

TEST(PasswdParserTest, SkipsNonNumericAndNegativeIds) {
  EXPECT_THAT(ParsePasswd("a:x:one:1::/:/bin/sh\nb:x:-1:1::/:/bin/sh\n"
                          "c:x:1:99999999999::/:/bin/sh\n"),
              IsEmpty());
}

TEST(PasswdParserTest, SkipsWrongFieldCountCommentsAndNisLines) {
  EXPECT_THAT(
      ParsePasswd("# comment\n+@admins::::::\n-bad::::::\n"
                  "short:x:1:1\nlong:x:1:1:a:b:c:d\n:x:1:1::/:/bin/sh\n"),
      IsEmpty());
}

TEST(PasswdParserTest, SurvivesBinaryJunkAndHugeLines) {
  std::string junk;
  for (int i = 0; i < 65536; ++i) junk.push_back(static_cast<char>(i));
  junk += std::string(1 << 20, ':') + "\nok:x:1:1::/:/bin/sh";
  std::vector<PasswdEntry> entries = ParsePasswd(junk);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].name, "ok");
}

// --- ParseShadow ---------------------------------------------------------

TEST(ShadowParserTest, ReadsAgingFields) {
  std::vector<ShadowEntry> entries =
      ParseShadow("alice:$y$j9T$s$h:20001:0:90:7::20500:\n");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].last_change_days, 20001);
  EXPECT_EQ(entries[0].max_age_days, 90);
  EXPECT_EQ(entries[0].expire_days, 20500);
}

TEST(ShadowParserTest, EmptyAgingFieldsAreAbsent) {
  std::vector<ShadowEntry> entries = ParseShadow("svc:!:::::::\n");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_FALSE(entries[0].last_change_days.has_value());
  EXPECT_FALSE(entries[0].max_age_days.has_value());
  EXPECT_FALSE(entries[0].expire_days.has_value());
}

TEST(ShadowParserTest, TruncatedLineKeepsWhatItHas) {
  std::vector<ShadowEntry> entries = ParseShadow("root:*:19000\nnohash\n");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].last_change_days, 19000);
  EXPECT_FALSE(entries[0].max_age_days.has_value());
}

TEST(ShadowParserTest, GarbageNumbersAreAbsent) {
  std::vector<ShadowEntry> entries = ParseShadow("a:*:x1:0:-5:7:::\n");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_FALSE(entries[0].last_change_days.has_value());
  EXPECT_FALSE(entries[0].max_age_days.has_value());
}

// --- ParseGroup ----------------------------------------------------------

TEST(GroupParserTest, ReadsMembers) {
  std::vector<GroupEntry> entries = ParseGroup("sudo:x:27:alice,bob\n");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].gid, 27u);
  EXPECT_THAT(entries[0].members, ElementsAre("alice", "bob"));
}

TEST(GroupParserTest, EmptyMemberListHasNoMembers) {
  std::vector<GroupEntry> entries = ParseGroup("wheel:x:10:\n");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_THAT(entries[0].members, IsEmpty());
}

TEST(GroupParserTest, SkipsMalformedLines) {
  EXPECT_THAT(ParseGroup("a:x:b:\nc:x:1\n:x:1:\n"), IsEmpty());
}

// --- ClassifyPassword ----------------------------------------------------

TEST(PasswordClassifierTest, EmptyFieldIsEmpty) {
  EXPECT_EQ(ClassifyPassword("").state, v1::PASSWORD_STATE_EMPTY);
}

TEST(PasswordClassifierTest, StarIsNone) {
  PasswordInfo info = ClassifyPassword("*");
  EXPECT_EQ(info.state, v1::PASSWORD_STATE_NONE);
  EXPECT_EQ(info.algorithm, v1::HASH_ALGORITHM_UNSPECIFIED);
}

TEST(PasswordClassifierTest, BangAloneIsLockedWithoutAlgorithm) {
  EXPECT_EQ(ClassifyPassword("!").state, v1::PASSWORD_STATE_LOCKED);
  EXPECT_EQ(ClassifyPassword("!!").state, v1::PASSWORD_STATE_LOCKED);
  EXPECT_EQ(ClassifyPassword("!*").algorithm, v1::HASH_ALGORITHM_UNSPECIFIED);
}

TEST(PasswordClassifierTest, LockedHashKeepsItsAlgorithm) {
  PasswordInfo info = ClassifyPassword("!$6$salt$hash");
  EXPECT_EQ(info.state, v1::PASSWORD_STATE_LOCKED);
  EXPECT_EQ(info.algorithm, v1::HASH_ALGORITHM_SHA512);
}

TEST(PasswordClassifierTest, RecognisesEachAlgorithm) {
  EXPECT_EQ(ClassifyPassword("$1$s$h").algorithm, v1::HASH_ALGORITHM_MD5);
  EXPECT_EQ(ClassifyPassword("$2b$12$h").algorithm, v1::HASH_ALGORITHM_BCRYPT);
  EXPECT_EQ(ClassifyPassword("$2y$10$h").algorithm, v1::HASH_ALGORITHM_BCRYPT);
  EXPECT_EQ(ClassifyPassword("$5$s$h").algorithm, v1::HASH_ALGORITHM_SHA256);
  EXPECT_EQ(ClassifyPassword("$6$s$h").algorithm, v1::HASH_ALGORITHM_SHA512);
  EXPECT_EQ(ClassifyPassword("$y$j9T$s$h").algorithm,
            v1::HASH_ALGORITHM_YESCRYPT);
  EXPECT_EQ(ClassifyPassword("$gy$j9T$s$h").algorithm,
            v1::HASH_ALGORITHM_GOST_YESCRYPT);
  EXPECT_EQ(ClassifyPassword("$7$s$h").algorithm, v1::HASH_ALGORITHM_SCRYPT);
  EXPECT_EQ(ClassifyPassword("$sha1$1$s$h").algorithm, v1::HASH_ALGORITHM_SHA1);
  EXPECT_EQ(ClassifyPassword("$argon2id$v=19$h").algorithm,
            v1::HASH_ALGORITHM_OTHER);
  EXPECT_EQ(ClassifyPassword("$6$s$h").state, v1::PASSWORD_STATE_SET);
}

TEST(PasswordClassifierTest, ThirteenCharacterCryptIsDes) {
  PasswordInfo info = ClassifyPassword("Ab3dEfGh1jKlM");
  EXPECT_EQ(info.state, v1::PASSWORD_STATE_SET);
  EXPECT_EQ(info.algorithm, v1::HASH_ALGORITHM_DES);
}

TEST(PasswordClassifierTest, MalformedDollarPrefixIsNone) {
  EXPECT_EQ(ClassifyPassword("$6$").state, v1::PASSWORD_STATE_NONE);
  EXPECT_EQ(ClassifyPassword("$").state, v1::PASSWORD_STATE_NONE);
  EXPECT_EQ(ClassifyPassword("$$x").state, v1::PASSWORD_STATE_NONE);
  EXPECT_EQ(ClassifyPassword("x").state, v1::PASSWORD_STATE_NONE);
}

// --- IsInteractiveShell --------------------------------------------------

TEST(ShellTest, MarksNologinShellNonInteractive) {
  EXPECT_FALSE(IsInteractiveShell("/usr/sbin/nologin"));
  EXPECT_FALSE(IsInteractiveShell("/sbin/nologin"));
}

TEST(ShellTest, MarksFalseSyncShutdownHaltNonInteractive) {
  EXPECT_FALSE(IsInteractiveShell("/bin/false"));
  EXPECT_FALSE(IsInteractiveShell("/bin/sync"));
  EXPECT_FALSE(IsInteractiveShell("/sbin/shutdown"));
  EXPECT_FALSE(IsInteractiveShell("/sbin/halt"));
}

TEST(ShellTest, RealShellsAndEmptyAreInteractive) {
  EXPECT_TRUE(IsInteractiveShell("/bin/bash"));
  EXPECT_TRUE(IsInteractiveShell("/usr/bin/zsh"));
  EXPECT_TRUE(IsInteractiveShell(""));  // login(1) falls back to /bin/sh
}

// --- ParseSudoers --------------------------------------------------------

TEST(SudoersParserTest, SkipsDefaultsAndAliases) {
  SudoersFile file = ParseSudoers(
      "Defaults env_reset\nDefaults:bob !requiretty\n"
      "User_Alias ADMINS = a, b\nCmnd_Alias X = /bin/ls\n"
      "Host_Alias H = h1\nRunas_Alias R = root\n");
  EXPECT_THAT(file.rules, IsEmpty());
}

TEST(SudoersParserTest, GroupRuleGrantingAll) {
  SudoersFile file = ParseSudoers("%sudo\tALL=(ALL:ALL) ALL\n");
  ASSERT_EQ(file.rules.size(), 1u);
  const v1::SudoRule& rule = file.rules[0];
  EXPECT_EQ(rule.principal(), "%sudo");
  EXPECT_TRUE(rule.is_group());
  EXPECT_EQ(rule.hosts(), "ALL");
  EXPECT_EQ(rule.runas(), "ALL:ALL");
  EXPECT_TRUE(rule.all_commands());
  EXPECT_FALSE(rule.nopasswd());
}

TEST(SudoersParserTest, NopasswdCommandsAcrossContinuation) {
  SudoersFile file = ParseSudoers(
      "%ops ALL=(root) NOPASSWD: /usr/bin/systemctl restart nginx, \\\n"
      "    /usr/bin/journalctl\n");
  ASSERT_EQ(file.rules.size(), 1u);
  EXPECT_TRUE(file.rules[0].nopasswd());
  EXPECT_FALSE(file.rules[0].all_commands());
  EXPECT_THAT(
      file.rules[0].commands(),
      ElementsAre("/usr/bin/systemctl restart nginx", "/usr/bin/journalctl"));
}

TEST(SudoersParserTest, OneRulePerPrincipalInUserList) {
  SudoersFile file = ParseSudoers("bob, dave  ALL = (ALL) ALL # ticket 1\n");
  ASSERT_EQ(file.rules.size(), 2u);
  EXPECT_EQ(file.rules[0].principal(), "bob");
  EXPECT_EQ(file.rules[1].principal(), "dave");
  EXPECT_THAT(file.rules[1].commands(), ElementsAre("ALL"));
}

TEST(SudoersParserTest, NotesIncludeDirectives) {
  SudoersFile file = ParseSudoers(
      "@includedir /etc/sudoers.d\n#includedir /etc/sudoers.d\n"
      "#include /etc/sudoers.local\n# plain comment\n");
  EXPECT_THAT(file.includes, ElementsAre("@includedir /etc/sudoers.d",
                                         "#includedir /etc/sudoers.d",
                                         "#include /etc/sudoers.local"));
  EXPECT_THAT(file.rules, IsEmpty());
}

TEST(SudoersParserTest, CommentedRuleIsIgnored) {
  EXPECT_THAT(ParseSudoers("# %wheel ALL=(ALL) NOPASSWD: ALL\n").rules,
              IsEmpty());
}

TEST(SudoersParserTest, LineWithoutEqualsIsIgnored) {
  EXPECT_THAT(ParseSudoers("alice ALL ALL\n").rules, IsEmpty());
}

TEST(SudoersParserTest, UnterminatedContinuationAndJunkDoNotCrash) {
  std::string junk = "alice ALL=(ALL \\\n";
  for (int i = 0; i < 20000; ++i) junk.push_back(static_cast<char>(i * 11));
  junk += "\\";
  SudoersFile file = ParseSudoers(junk);
  SUCCEED() << file.rules.size();
  EXPECT_THAT(ParseSudoers("x ALL=(").rules, IsEmpty());
}

// --- ParseLastlogRecord --------------------------------------------------

TEST(LastlogParserTest, ReadsTime) {
  std::string record(kLastlogRecordBytes, '\0');
  int32_t time = 1731749249;
  std::memcpy(record.data(), &time, sizeof(time));
  EXPECT_EQ(ParseLastlogRecord(record), 1731749249);
}

TEST(LastlogParserTest, ZeroTimeIsNeverLoggedIn) {
  EXPECT_FALSE(
      ParseLastlogRecord(std::string(kLastlogRecordBytes, '\0')).has_value());
}

TEST(LastlogParserTest, ShortRecordIsAbsent) {
  EXPECT_FALSE(ParseLastlogRecord(std::string(10, '\x7f')).has_value());
}

// --- Fixture trees -------------------------------------------------------

TEST(LocalAccountsProbeTest, IdIsLinuxLocalAccounts) {
  EXPECT_EQ(LocalAccountsProbe().id(), "linux.local_accounts");
}

TEST(LocalAccountsProbeTest, AccountsAreOrderedByUidThenName) {
  v1::LocalAccountsFacts facts = CollectFixture("debian_desktop");
  std::vector<std::string> names;
  for (const v1::Account& a : facts.accounts()) names.push_back(a.name());
  EXPECT_THAT(names,
              ElementsAre("root", "toor", "daemon", "bin", "sync", "svc-backup",
                          "alice", "bob", "legacy", "nobody"));
}

TEST(LocalAccountsProbeTest, ReportsPasswordStatesFromShadow) {
  v1::LocalAccountsFacts facts = CollectFixture("debian_desktop");
  EXPECT_TRUE(facts.shadow_readable());
  EXPECT_EQ(Find(facts, "root").password_state(), v1::PASSWORD_STATE_SET);
  EXPECT_EQ(Find(facts, "root").hash_algorithm(), v1::HASH_ALGORITHM_YESCRYPT);
  EXPECT_EQ(Find(facts, "daemon").password_state(), v1::PASSWORD_STATE_NONE);
  EXPECT_EQ(Find(facts, "bob").password_state(), v1::PASSWORD_STATE_LOCKED);
  EXPECT_EQ(Find(facts, "bob").hash_algorithm(), v1::HASH_ALGORITHM_SHA512);
  EXPECT_EQ(Find(facts, "svc-backup").password_state(),
            v1::PASSWORD_STATE_LOCKED);
  EXPECT_EQ(Find(facts, "toor").password_state(), v1::PASSWORD_STATE_EMPTY);
}

TEST(LocalAccountsProbeTest, HashInPasswdItselfIsClassified) {
  v1::LocalAccountsFacts facts = CollectFixture("debian_desktop");
  EXPECT_EQ(Find(facts, "legacy").password_state(), v1::PASSWORD_STATE_SET);
  EXPECT_EQ(Find(facts, "legacy").hash_algorithm(), v1::HASH_ALGORITHM_DES);
  EXPECT_TRUE(Find(facts, "legacy").interactive());
}

TEST(LocalAccountsProbeTest, ReportsAgingFields) {
  v1::LocalAccountsFacts facts = CollectFixture("debian_desktop");
  const v1::Account& alice = Find(facts, "alice");
  EXPECT_EQ(alice.password_last_change_days(), 20001);
  EXPECT_EQ(alice.password_max_age_days(), 90);
  EXPECT_EQ(alice.account_expire_days(), 20500);
  EXPECT_FALSE(Find(facts, "svc-backup").has_password_max_age_days());
}

TEST(LocalAccountsProbeTest, MarksNonInteractiveShells) {
  v1::LocalAccountsFacts facts = CollectFixture("debian_desktop");
  EXPECT_TRUE(Find(facts, "alice").interactive());
  EXPECT_FALSE(Find(facts, "daemon").interactive());
  EXPECT_FALSE(Find(facts, "svc-backup").interactive());
  EXPECT_FALSE(Find(facts, "sync").interactive());
}

TEST(LocalAccountsProbeTest, FlagsUidZeroAccountsOtherThanRoot) {
  v1::LocalAccountsFacts facts = CollectFixture("debian_desktop");
  EXPECT_THAT(facts.uid0_non_root(), ElementsAre("toor"));
}

TEST(LocalAccountsProbeTest, PrivilegedGroupsIncludeListedMembers) {
  v1::LocalAccountsFacts facts = CollectFixture("debian_desktop");
  ASSERT_EQ(facts.privileged_groups_size(), 2);
  EXPECT_EQ(facts.privileged_groups(0).name(), "admin");
  EXPECT_THAT(facts.privileged_groups(0).members(), IsEmpty());
  EXPECT_EQ(facts.privileged_groups(1).name(), "sudo");
  EXPECT_EQ(facts.privileged_groups(1).gid(), 27u);
  EXPECT_THAT(facts.privileged_groups(1).members(),
              ElementsAre("alice", "carol"));
}

TEST(LocalAccountsProbeTest, WheelIncludesPrimaryGroupMembers) {
  v1::LocalAccountsFacts facts = CollectFixture("rhel_server");
  ASSERT_EQ(facts.privileged_groups_size(), 1);
  EXPECT_EQ(facts.privileged_groups(0).name(), "wheel");
  EXPECT_THAT(facts.privileged_groups(0).members(),
              ElementsAre("jsmith", "mikem"));
}

TEST(LocalAccountsProbeTest, SudoRulesFromSudoersAndIncludedFiles) {
  v1::LocalAccountsFacts facts = CollectFixture("debian_desktop");
  EXPECT_TRUE(facts.sudoers_readable());
  // README holds only comments; old.conf and ops~ are ignored like sudo does.
  EXPECT_THAT(Principals(facts),
              ElementsAre("root", "%sudo", "%ops", "bob", "dave"));
  EXPECT_EQ(facts.sudo_rules(0).file(), "/etc/sudoers");
  EXPECT_EQ(facts.sudo_rules(2).file(), "/etc/sudoers.d/ops");
  EXPECT_TRUE(facts.sudo_rules(2).nopasswd());
  EXPECT_THAT(facts.sudoers_includes(),
              ElementsAre("@includedir /etc/sudoers.d"));
}

TEST(LocalAccountsProbeTest, SudoersWithAliasesAndLegacyInclude) {
  v1::LocalAccountsFacts facts = CollectFixture("rhel_server");
  EXPECT_THAT(Principals(facts), ElementsAre("root", "ADMINS", "%wheel"));
  EXPECT_EQ(facts.sudo_rules(1).hosts(), "FILESERVERS");
  EXPECT_THAT(facts.sudo_rules(1).commands(), ElementsAre("NETWORKING"));
  EXPECT_THAT(facts.sudoers_includes(),
              ElementsAre("#includedir /etc/sudoers.d"));
}

TEST(LocalAccountsProbeTest, RhelHashesAndDoubleBang) {
  v1::LocalAccountsFacts facts = CollectFixture("rhel_server");
  EXPECT_EQ(Find(facts, "sshd").password_state(), v1::PASSWORD_STATE_LOCKED);
  EXPECT_EQ(Find(facts, "jsmith").hash_algorithm(), v1::HASH_ALGORITHM_BCRYPT);
  EXPECT_EQ(Find(facts, "mikem").hash_algorithm(), v1::HASH_ALGORITHM_MD5);
  EXPECT_FALSE(Find(facts, "root").has_password_last_change_days());
  EXPECT_FALSE(Find(facts, "halt").interactive());
  EXPECT_FALSE(facts.lastlog_present());
}

TEST(LocalAccountsProbeTest, LastLoginFromLastlogForPresentAccounts) {
  v1::LocalAccountsFacts facts = CollectFixture("debian_desktop");
  EXPECT_TRUE(facts.lastlog_present());
  EXPECT_EQ(Find(facts, "alice").last_login_unix(), 1731749249);
  EXPECT_EQ(Find(facts, "root").last_login_unix(), 1731700000);
  EXPECT_FALSE(Find(facts, "bob").has_last_login_unix());
  EXPECT_FALSE(Find(facts, "nobody").has_last_login_unix());  // past EOF
}

TEST(LocalAccountsProbeTest, NeverIncludesPasswordHashes) {
  absl::StatusOr<v1::Facts> facts =
      LocalAccountsProbe().Collect(Fixture("debian_desktop"));
  ASSERT_TRUE(facts.ok());
  std::string bytes = facts->SerializeAsString();
  EXPECT_THAT(bytes, Not(HasSubstr("$y$")));
  EXPECT_THAT(bytes, Not(HasSubstr("$6$")));
  EXPECT_THAT(bytes, Not(HasSubstr("Ab3dEfGh1jKlM")));
  EXPECT_THAT(bytes, Not(HasSubstr("saltsalt")));
}

TEST(LocalAccountsProbeTest, UnreadableShadowIsAFlagNotAnError) {
  v1::LocalAccountsFacts facts = CollectFixture("shadow_unreadable");
  EXPECT_FALSE(facts.shadow_readable());
  EXPECT_EQ(Find(facts, "root").password_state(), v1::PASSWORD_STATE_UNKNOWN);
}

TEST(LocalAccountsProbeTest, MinimalContainerHasNoPrivilegeSources) {
  v1::LocalAccountsFacts facts = CollectFixture("minimal_container");
  EXPECT_EQ(facts.accounts_size(), 2);
  EXPECT_FALSE(facts.shadow_readable());
  EXPECT_FALSE(facts.sudoers_readable());
  EXPECT_THAT(facts.sudo_rules(), IsEmpty());
  EXPECT_THAT(facts.privileged_groups(), IsEmpty());
  EXPECT_FALSE(facts.lastlog_present());
}

TEST(LocalAccountsProbeTest, MissingPasswdIsNotFound) {
  absl::StatusOr<v1::Facts> facts =
      LocalAccountsProbe().Collect(Fixture("does_not_exist"));
  EXPECT_EQ(facts.status().code(), absl::StatusCode::kNotFound);
}

TEST(LocalAccountsProbeTest, GarbageFilesDoNotFail) {
  fs::path root = fs::temp_directory_path() /
                  ("evidentia_accounts_garbage_" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "etc/sudoers.d");
  fs::create_directories(root / "var/log");
  std::string junk;
  for (int i = 0; i < 50000; ++i) junk.push_back(static_cast<char>(i * 29));
  for (const char* file : {"etc/shadow", "etc/group", "etc/sudoers",
                           "etc/sudoers.d/junk", "var/log/lastlog"}) {
    std::ofstream(root / file, std::ios::binary) << junk;
  }
  std::ofstream(root / "etc/passwd", std::ios::binary)
      << junk << "\n\xff\xfeuser:x:4294967295:0::/\xc3:/bin/sh\n";
  absl::StatusOr<v1::Facts> facts = LocalAccountsProbe().Collect(root);
  fs::remove_all(root);
  ASSERT_TRUE(facts.ok()) << facts.status();
  ASSERT_EQ(facts->local_accounts().accounts_size(), 1);
  EXPECT_EQ(facts->local_accounts().accounts(0).uid(), 4294967295u);
  v1::Facts parsed;
  EXPECT_TRUE(parsed.ParseFromString(facts->SerializeAsString()));
}

TEST(LocalAccountsProbeTest, FactsAreIdenticalOnSecondCollection) {
  absl::StatusOr<v1::Facts> first =
      LocalAccountsProbe().Collect(Fixture("debian_desktop"));
  absl::StatusOr<v1::Facts> second =
      LocalAccountsProbe().Collect(Fixture("debian_desktop"));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->SerializeAsString(), second->SerializeAsString());
}

// --- User_Alias ------------------------------------------------------------

TEST(SudoersAliasTest, ParsesUserAliasDefinitions) {
  SudoersFile file = ParseSudoers(
      "User_Alias ADMINS = alice, %wheel, ! mallory : OPS = carol\n"
      "User_Alias bad-name = x\nUser_Alias NOEQUALS\n");
  EXPECT_THAT(file.rules, IsEmpty());
  ASSERT_EQ(file.user_aliases.size(), 2u);
  EXPECT_THAT(file.user_aliases.at("ADMINS"),
              ElementsAre("alice", "%wheel", "!mallory"));
  EXPECT_THAT(file.user_aliases.at("OPS"), ElementsAre("carol"));
}

TEST(SudoersAliasTest, ContinuedAliasLineIsJoined) {
  SudoersFile file = ParseSudoers("User_Alias ADMINS = alice, \\\n    bob\n");
  EXPECT_THAT(file.user_aliases.at("ADMINS"), ElementsAre("alice", "bob"));
}

TEST(SudoersAliasTest, PrincipalThatIsNoAliasStandsForItself) {
  ExpandedPrincipal expanded = ExpandUserAlias({}, "%sudo");
  EXPECT_THAT(expanded.members, ElementsAre("%sudo"));
  EXPECT_THAT(expanded.excluded, IsEmpty());
}

TEST(SudoersAliasTest, ExpandsNestedAliasesAndNegations) {
  UserAliases aliases = {{"ADMINS", {"alice", "OPS", "!mallory"}},
                         {"OPS", {"carol", "dave"}}};
  ExpandedPrincipal expanded = ExpandUserAlias(aliases, "ADMINS");
  EXPECT_THAT(expanded.members, ElementsAre("alice", "carol", "dave"));
  EXPECT_THAT(expanded.excluded, ElementsAre("mallory"));
}

TEST(SudoersAliasTest, NegatedAliasExcludesItsMembersAndLaterEntryWins) {
  UserAliases aliases = {{"ALL_BUT_OPS", {"ALL", "!OPS", "dave"}},
                         {"OPS", {"carol", "dave"}}};
  ExpandedPrincipal expanded = ExpandUserAlias(aliases, "ALL_BUT_OPS");
  EXPECT_THAT(expanded.members, ElementsAre("ALL", "dave"));
  EXPECT_THAT(expanded.excluded, ElementsAre("carol"));
}

TEST(SudoersAliasTest, LoopKeepsAliasName) {
  UserAliases aliases = {{"A", {"B", "erin"}}, {"B", {"A", "finn"}}};
  ExpandedPrincipal expanded = ExpandUserAlias(aliases, "A");
  EXPECT_THAT(expanded.members, ElementsAre("A", "erin", "finn"));
}

TEST(SudoersAliasTest, DepthIsBounded) {
  UserAliases aliases;
  for (int i = 0; i < 20; ++i) {
    aliases["A" + std::to_string(i)] = {"A" + std::to_string(i + 1),
                                        "u" + std::to_string(i)};
  }
  ExpandedPrincipal expanded = ExpandUserAlias(aliases, "A0");
  // A0..A7 expanded (8 levels), A8 kept as a name.
  EXPECT_EQ(expanded.members.size(),
            static_cast<size_t>(kMaxUserAliasDepth) + 1);
  EXPECT_THAT(expanded.members, ::testing::Contains("A8"));
  EXPECT_THAT(expanded.members, Not(::testing::Contains("u8")));
}

TEST(SudoersAliasTest, FanOutIsBounded) {
  // 50 members naming the next alias, 8 levels deep: 50^8 paths unbounded.
  UserAliases aliases;
  for (int i = 0; i < 9; ++i) {
    std::vector<std::string> members(50, "A" + std::to_string(i + 1));
    members.push_back("u" + std::to_string(i));
    aliases["A" + std::to_string(i)] = members;
  }
  ExpandedPrincipal expanded = ExpandUserAlias(aliases, "A0");
  EXPECT_THAT(expanded.members, ::testing::Contains("u0"));
  EXPECT_LE(expanded.members.size(), 10u);
}

TEST(SudoersAliasTest, CopyingExpandedAliasesCountsAsWork) {
  // Few members visited, but every Bi copies C's 1000 names and A copies
  // them 200 times more: 400,000 insertions for one expansion. Past the
  // bound the expansion is incomplete, so A is kept as its name.
  UserAliases aliases;
  std::vector<std::string> names;
  for (int i = 0; i < 1000; ++i) names.push_back("u" + std::to_string(i));
  aliases["C"] = names;
  std::vector<std::string> bs;
  for (int i = 0; i < 200; ++i) {
    bs.push_back("B" + std::to_string(i));
    aliases[bs.back()] = {"C"};
  }
  aliases["A"] = bs;
  ExpandedPrincipal expanded = ExpandUserAlias(aliases, "A");
  EXPECT_THAT(expanded.members, ::testing::Contains("A"));
  EXPECT_THAT(expanded.members, ::testing::Contains("u0"));
}

// A root with `passwd` and `sudoers` in etc/.
class SudoersRoot {
 public:
  explicit SudoersRoot(const std::string& sudoers)
      : root_(fs::temp_directory_path() /
              ("evidentia_la_sudoers_" + std::to_string(::getpid()))) {
    fs::remove_all(root_);
    fs::create_directories(root_ / "etc");
    std::ofstream(root_ / "etc/passwd") << "root:x:0:0::/root:/bin/sh\n";
    std::ofstream(root_ / "etc/sudoers") << sudoers;
  }
  ~SudoersRoot() { fs::remove_all(root_); }
  const fs::path& path() const { return root_; }

 private:
  fs::path root_;
};

TEST(LocalAccountsProbeTest, AliasExpansionAcrossRulesIsBounded) {
  // 2000 rules granting to one alias of 1000 people: two million expanded
  // principals (and the work to make them) without a bound across rules.
  std::string sudoers = "User_Alias BIG = u0";
  for (int i = 1; i < 1000; ++i) sudoers += ", u" + std::to_string(i);
  sudoers += "\n";
  for (int i = 0; i < 2000; ++i) sudoers += "BIG ALL=(ALL) ALL\n";
  SudoersRoot root(sudoers);
  absl::StatusOr<v1::Facts> facts = LocalAccountsProbe().Collect(root.path());
  ASSERT_TRUE(facts.ok()) << facts.status();
  const v1::LocalAccountsFacts& accounts = facts->local_accounts();
  ASSERT_EQ(accounts.sudo_rules_size(), 2000);
  EXPECT_EQ(accounts.sudo_rules(0).expanded_principals_size(), 1000);
  // Past the bound a rule's alias is kept as its name: still graded (and
  // failed unless the alias name itself is approved), never dropped.
  EXPECT_THAT(accounts.sudo_rules(1999).expanded_principals(),
              ElementsAre("BIG"));
  size_t total = 0;
  for (const v1::SudoRule& rule : accounts.sudo_rules()) {
    total += rule.expanded_principals_size();
  }
  // The shared budget of alias work, plus one name per rule past it.
  EXPECT_LE(total, (size_t{1} << 20) + 2000);
}

TEST(LocalAccountsProbeTest, TooManySudoRulesIsAnError) {
  // Rules past the limit would be dropped unseen (one may grant an
  // unapproved user): no facts rather than incomplete ones.
  std::string sudoers;
  for (int i = 0; i < 70000; ++i) sudoers += "u ALL=ALL\n";
  SudoersRoot root(sudoers);
  absl::StatusOr<v1::Facts> facts = LocalAccountsProbe().Collect(root.path());
  EXPECT_EQ(facts.status().code(), absl::StatusCode::kResourceExhausted)
      << facts.status();
}

TEST(DeeperAccountsTest, GarbageShadowDateDerivesNoUnixSeconds) {
  fs::path root = fs::temp_directory_path() /
                  ("evidentia_la_dates_" + std::to_string(::getpid()));
  fs::create_directories(root / "etc");
  std::ofstream(root / "etc/passwd") << "u:x:1000:1000::/home/u:/bin/sh\n";
  std::ofstream(root / "etc/shadow")
      << "u:$6$s$h:9223372036854775807:0:90:7:::\n";
  absl::StatusOr<v1::Facts> facts = LocalAccountsProbe().Collect(root);
  fs::remove_all(root);
  ASSERT_TRUE(facts.ok()) << facts.status();
  const v1::Account& u = facts->local_accounts().accounts(0);
  EXPECT_TRUE(u.password_never_expires());
  EXPECT_FALSE(u.has_password_expires_unix());
  EXPECT_FALSE(u.has_password_last_change_unix());
}

// --- ParseUidRange ---------------------------------------------------------

TEST(UidRangeParserTest, ReadsUidMinAndMax) {
  UidRange range = ParseUidRange("# c\nUID_MIN\t\t 500\nUID_MAX 30000\n");
  EXPECT_EQ(range.min, 500u);
  EXPECT_EQ(range.max, 30000u);
}

TEST(UidRangeParserTest, DefaultsWhenMissingOrMalformed) {
  UidRange range = ParseUidRange("UID_MIN -5\nUID_MAX lots\n");
  EXPECT_EQ(range.min, 1000u);
  EXPECT_EQ(range.max, 60000u);
}

// --- Deeper accounts fixture -------------------------------------------------

constexpr int64_t kFixtureDay = 20788;  // 2026-12-01, "today" of the fixture

TEST(DeeperAccountsTest, ReadsUidRangeFromLoginDefs) {
  v1::LocalAccountsFacts facts = CollectFixture("deeper_accounts");
  EXPECT_EQ(facts.uid_min(), 500u);
  EXPECT_EQ(facts.uid_max(), 60000u);
  EXPECT_TRUE(Find(facts, "postgres").system_account());
  EXPECT_TRUE(Find(facts, "www-data").system_account());
  EXPECT_TRUE(Find(facts, "nobody").system_account());  // above UID_MAX
  EXPECT_FALSE(Find(facts, "henry").system_account());  // 600 >= UID_MIN 500
  EXPECT_FALSE(Find(facts, "root").system_account());
}

TEST(DeeperAccountsTest, UidRangeDefaultsWithoutLoginDefs) {
  v1::LocalAccountsFacts facts = CollectFixture("debian_desktop");
  EXPECT_EQ(facts.uid_min(), 1000u);
  EXPECT_EQ(facts.uid_max(), 60000u);
  EXPECT_TRUE(Find(facts, "svc-backup").system_account());
  EXPECT_FALSE(Find(facts, "alice").system_account());
}

TEST(DeeperAccountsTest, ComputesPasswordExpiryAsChageDoes) {
  v1::LocalAccountsFacts facts = CollectFixture("deeper_accounts");
  const v1::Account& dave =
      Find(facts, "dave");  // changed 100 days ago, max 90
  EXPECT_FALSE(dave.password_never_expires());
  EXPECT_EQ(dave.password_expires_unix(), (kFixtureDay - 10) * 86400);
  EXPECT_EQ(dave.password_last_change_unix(), (kFixtureDay - 100) * 86400);
  const v1::Account& erin = Find(facts, "erin");  // max 99999
  EXPECT_TRUE(erin.password_never_expires());
  EXPECT_FALSE(erin.has_password_expires_unix());
  const v1::Account& frank = Find(facts, "frank");  // no max age at all
  EXPECT_TRUE(frank.password_never_expires());
  const v1::Account& gina = Find(facts, "gina");  // last change day 0
  EXPECT_TRUE(gina.password_change_required());
  EXPECT_FALSE(gina.password_never_expires());
  EXPECT_FALSE(gina.has_password_expires_unix());
  EXPECT_FALSE(gina.has_password_last_change_unix());
}

TEST(DeeperAccountsTest, TellsNeverLoggedInFromRecorded) {
  v1::LocalAccountsFacts facts = CollectFixture("deeper_accounts");
  EXPECT_EQ(Find(facts, "bob").last_login_state(),
            v1::LAST_LOGIN_STATE_RECORDED);
  EXPECT_EQ(Find(facts, "bob").last_login_unix(),
            kFixtureDay * 86400 - 120 * 86400);
  EXPECT_EQ(Find(facts, "carol").last_login_state(),
            v1::LAST_LOGIN_STATE_NEVER);
  EXPECT_FALSE(Find(facts, "carol").has_last_login_unix());
  // uid 65534 lies past the end of the file: never.
  EXPECT_EQ(Find(facts, "nobody").last_login_state(),
            v1::LAST_LOGIN_STATE_NEVER);
}

TEST(DeeperAccountsTest, LoginStateUnknownWithoutLastlog) {
  v1::LocalAccountsFacts facts = CollectFixture("rhel_server");
  ASSERT_FALSE(facts.lastlog_present());
  for (const v1::Account& account : facts.accounts()) {
    EXPECT_EQ(account.last_login_state(), v1::LAST_LOGIN_STATE_UNKNOWN)
        << account.name();
  }
}

TEST(DeeperAccountsTest, ListsDuplicateUidsOtherThanZero) {
  v1::LocalAccountsFacts facts = CollectFixture("deeper_accounts");
  ASSERT_EQ(facts.duplicate_uids_size(), 1);
  EXPECT_EQ(facts.duplicate_uids(0).uid(), 1004u);
  EXPECT_THAT(facts.duplicate_uids(0).names(), ElementsAre("erin", "frank"));
  // debian_desktop has toor with uid 0: reported by uid0_non_root only.
  EXPECT_THAT(CollectFixture("debian_desktop").duplicate_uids(), IsEmpty());
}

TEST(DeeperAccountsTest, ExpandsAliasesAcrossSudoersFiles) {
  v1::LocalAccountsFacts facts = CollectFixture("deeper_accounts");
  std::map<std::string, const v1::SudoRule*> by_principal;
  for (const v1::SudoRule& rule : facts.sudo_rules()) {
    by_principal[rule.principal()] = &rule;
  }
  ASSERT_EQ(by_principal.size(), 4u);
  EXPECT_THAT(by_principal.at("root")->expanded_principals(),
              ElementsAre("root"));
  EXPECT_THAT(by_principal.at("ADMINS")->expanded_principals(),
              ElementsAre("%wheel", "alice", "carol", "dave"));
  EXPECT_THAT(by_principal.at("ADMINS")->excluded_principals(),
              ElementsAre("mallory"));
  EXPECT_THAT(by_principal.at("LOOP")->expanded_principals(),
              ElementsAre("LOOP", "erin"));
  EXPECT_THAT(by_principal.at("LATE")->expanded_principals(),
              ElementsAre("henry"));
  EXPECT_EQ(by_principal.at("LATE")->file(), "/etc/sudoers.d/late");
}

TEST(DeeperAccountsTest, RhelAdminsAliasIsExpanded) {
  v1::LocalAccountsFacts facts = CollectFixture("rhel_server");
  bool found = false;
  for (const v1::SudoRule& rule : facts.sudo_rules()) {
    if (rule.principal() != "ADMINS") continue;
    found = true;
    EXPECT_THAT(rule.expanded_principals(), ElementsAre("jsmith", "mikem"));
    EXPECT_THAT(rule.excluded_principals(), IsEmpty());
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace evidentia::agent
