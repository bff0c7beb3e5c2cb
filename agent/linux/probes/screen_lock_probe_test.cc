#include "agent/linux/probes/screen_lock_probe.h"

#include <filesystem>
#include <fstream>
#include <sstream>
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
using ::testing::Pair;

fs::path Fixture(const std::string& name) {
  return fs::path(EVIDENTIA_SOURCE_DIR) / "tests/fixtures/screen_lock" / name;
}

v1::ScreenLockFacts CollectFixture(const std::string& name) {
  absl::StatusOr<v1::Facts> facts = ScreenLockProbe().Collect(Fixture(name));
  EXPECT_TRUE(facts.ok()) << facts.status();
  if (!facts.ok()) return {};
  EXPECT_TRUE(facts->has_screen_lock());
  return facts->screen_lock();
}

const v1::ScreenLockUser& FindUser(const v1::ScreenLockFacts& facts,
                                   const std::string& name,
                                   v1::ScreenLockDesktop desktop) {
  for (const v1::ScreenLockUser& user : facts.users()) {
    if (user.name() == name && user.desktop() == desktop) return user;
  }
  ADD_FAILURE() << "no user " << name;
  static const v1::ScreenLockUser kEmpty;
  return kEmpty;
}

std::vector<std::string> UserNames(const v1::ScreenLockFacts& facts) {
  std::vector<std::string> out;
  for (const v1::ScreenLockUser& user : facts.users()) {
    out.push_back(user.name());
  }
  return out;
}

constexpr auto kGnome = v1::SCREEN_LOCK_DESKTOP_GNOME;
constexpr auto kKde = v1::SCREEN_LOCK_DESKTOP_KDE;
constexpr auto kDefault = v1::SCREEN_LOCK_SOURCE_DEFAULT;
constexpr auto kSystem = v1::SCREEN_LOCK_SOURCE_SYSTEM;
constexpr auto kUser = v1::SCREEN_LOCK_SOURCE_USER;
constexpr auto kLocked = v1::SCREEN_LOCK_SOURCE_LOCKED;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// --- ParseGVariantText -------------------------------------------------------

TEST(GVariantTextTest, ParsesBooleans) {
  EXPECT_EQ(ParseGVariantText("true")->boolean, true);
  EXPECT_EQ(ParseGVariantText(" false ")->boolean, false);
  EXPECT_EQ(ParseGVariantText("true")->type, "b");
}

TEST(GVariantTextTest, ParsesUint32Forms) {
  EXPECT_EQ(ParseGVariantText("uint32 300")->uint32, 300u);
  EXPECT_EQ(ParseGVariantText("@u 0")->uint32, 0u);
  EXPECT_EQ(ParseGVariantText("uint32 300")->type, "u");
}

TEST(GVariantTextTest, BareIntegerIsInt32NotUint32) {
  // dconf compiles "idle-delay=300" to an int32, which GSettings ignores.
  std::optional<DconfValue> v = ParseGVariantText("300");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->type, "i");
  EXPECT_EQ(v->int32, 300);
  EXPECT_EQ(ParseGVariantText("int32 -5")->int32, -5);
}

TEST(GVariantTextTest, ParsesQuotedStrings) {
  EXPECT_EQ(ParseGVariantText("'blank'")->string, "blank");
  EXPECT_EQ(ParseGVariantText("\"x\"")->string, "x");
}

TEST(GVariantTextTest, RejectsMalformed) {
  EXPECT_FALSE(ParseGVariantText("").has_value());
  EXPECT_FALSE(ParseGVariantText("True").has_value());
  EXPECT_FALSE(ParseGVariantText("uint32 -1").has_value());
  EXPECT_FALSE(ParseGVariantText("uint32 4294967296").has_value());
  EXPECT_FALSE(ParseGVariantText("uint32").has_value());
  EXPECT_FALSE(ParseGVariantText("'unterminated").has_value());
  EXPECT_FALSE(ParseGVariantText("['a']").has_value());
}

// --- ParseDconfKeyfile
// ----------------------------------------------------------

TEST(DconfKeyfileTest, ReadsGroupsAsPaths) {
  auto values = ParseDconfKeyfile(
      "# policy\n[org/gnome/desktop/session]\nidle-delay=uint32 300\n\n"
      "[/org/gnome/desktop/screensaver/]\nlock-enabled = true\n");
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values.at(std::string(kGnomeIdleDelayKey)).uint32, 300u);
  EXPECT_EQ(values.at(std::string(kGnomeLockEnabledKey)).boolean, true);
}

TEST(DconfKeyfileTest, LaterDuplicateWins) {
  auto values = ParseDconfKeyfile(
      "[org/gnome/desktop/session]\nidle-delay=uint32 300\n"
      "idle-delay=uint32 60\n");
  EXPECT_EQ(values.at(std::string(kGnomeIdleDelayKey)).uint32, 60u);
}

TEST(DconfKeyfileTest, SkipsKeysOutsideGroupsAndMalformedLines) {
  auto values = ParseDconfKeyfile(
      "idle-delay=uint32 1\n[]\nx=true\n[org//gnome]\ny=true\n"
      "[org/gnome\nz=true\n[org/gnome]\nnoequals\n=true\nbad/key=true\n"
      "loc[de]=true\nunparsed=maybe\nok=false\n");
  DconfValue off;
  off.type = "b";
  off.boolean = false;
  EXPECT_THAT(values, ElementsAre(Pair("/org/gnome/ok", off)));
}

TEST(DconfKeyfileTest, SurvivesBinaryAndHugeInput) {
  std::string junk;
  for (int i = 0; i < 65536; ++i) junk.push_back(static_cast<char>(i * 7));
  junk += "\n[" + std::string(1 << 20, '[') + "]\n" +
          std::string(1 << 20, '=') + "\n[a]\nb=true";
  auto values = ParseDconfKeyfile(junk);
  EXPECT_EQ(values.count("/a/b"), 1u);
}

TEST(DconfLocksTest, KeepsKeyPaths) {
  EXPECT_THAT(ParseDconfLocks("# locks\n/org/gnome/desktop/session/idle-delay\n"
                              "  /org/gnome/desktop/screensaver/lock-enabled \n"
                              "relative/key\n\n"),
              ElementsAre("/org/gnome/desktop/session/idle-delay",
                          "/org/gnome/desktop/screensaver/lock-enabled"));
}

TEST(DconfProfileTest, KeepsDatabasesInOrder) {
  EXPECT_THAT(ParseDconfProfile("user-db:user # mine\n\n# site\n"
                                "system-db:local\nsystem-db:site\n"),
              ElementsAre("user-db:user", "system-db:local", "system-db:site"));
  EXPECT_THAT(ParseDconfProfile("# nothing\n"), IsEmpty());
}

// --- ParseKscreenlockerrc
// -------------------------------------------------------

TEST(KscreenlockerrcTest, ReadsDaemonGroupOnly) {
  KdeLockConfig config = ParseKscreenlockerrc(
      "[Greeter]\nTimeout=99\n[Daemon]\nAutolock=false\nTimeout=10\n"
      "LockGrace=30\nLockOnResume=true\n");
  EXPECT_FALSE(config.group_immutable);
  ASSERT_EQ(config.entries.size(), 4u);
  EXPECT_EQ(config.entries.at("Autolock").value, "false");
  EXPECT_EQ(config.entries.at("Timeout").value, "10");
  EXPECT_FALSE(config.entries.at("Timeout").immutable);
}

TEST(KscreenlockerrcTest, ReadsImmutableMarkers) {
  KdeLockConfig key = ParseKscreenlockerrc("[Daemon]\nTimeout[$i]=5\n");
  EXPECT_TRUE(key.entries.at("Timeout").immutable);
  EXPECT_TRUE(
      ParseKscreenlockerrc("[Daemon][$i]\nTimeout=5\n").group_immutable);
  EXPECT_TRUE(
      ParseKscreenlockerrc("[$i]\n[Daemon]\nTimeout=5\n").group_immutable);
  // "[$i]" after a group is not the file marker.
  EXPECT_FALSE(ParseKscreenlockerrc("[Daemon]\n[$i]\n").group_immutable);
}

TEST(KscreenlockerrcTest, ImmutableEntryIsNotOverriddenLaterInFile) {
  KdeLockConfig config =
      ParseKscreenlockerrc("[Daemon]\nTimeout[$i]=5\nTimeout=60\n");
  EXPECT_EQ(config.entries.at("Timeout").value, "5");
  config = ParseKscreenlockerrc("[Daemon]\nTimeout=5\nTimeout=60\n");
  EXPECT_EQ(config.entries.at("Timeout").value, "60");
}

TEST(KscreenlockerrcTest, SkipsLocalisedEmptyAndMalformed) {
  KdeLockConfig config = ParseKscreenlockerrc(
      "[Daemon]\nTimeout[de]=9\nAutolock=\nbroken\n=5\nLockGrace[$i=3\n"
      "[Daemon][Sub]\nTimeout=77\n");
  EXPECT_THAT(config.entries, IsEmpty());
}

TEST(KscreenlockerrcTest, SurvivesBinaryAndHugeInput) {
  std::string junk(1 << 20, '[');
  for (int i = 0; i < 65536; ++i) junk.push_back(static_cast<char>(i));
  junk += "\n[Daemon]\nTimeout=3\n" + std::string(1 << 20, ']');
  EXPECT_EQ(ParseKscreenlockerrc(junk).entries.at("Timeout").value, "3");
}

TEST(KdeBoolTest, FollowsKConfig) {
  EXPECT_EQ(ParseKdeBool("false"), false);
  EXPECT_EQ(ParseKdeBool("OFF"), false);
  EXPECT_EQ(ParseKdeBool("no"), false);
  EXPECT_EQ(ParseKdeBool("0"), false);
  EXPECT_EQ(ParseKdeBool("true"), true);
  EXPECT_EQ(ParseKdeBool("anything"), true);
  EXPECT_EQ(ParseKdeBool(""), std::nullopt);
}

// --- ParseScreenLockAccounts
// ---------------------------------------------------

TEST(ScreenLockAccountsTest, KeepsInteractiveHumanAccounts) {
  std::vector<ScreenLockAccount> accounts = ParseScreenLockAccounts(
      "root:x:0:0:root:/root:/bin/bash\n"
      "alice:x:1000:1000::/home/alice:/bin/bash\n"
      "nobody:x:65534:65534::/nonexistent:/bin/sh\n"
      "svc:x:1500:1500::/srv/svc:/usr/sbin/nologin\n"
      "rootless:x:2000:2000::/:/bin/sh\n"
      "relative:x:2001:2001::home/r:/bin/sh\n"
      "emptyshell:x:2002:2002::/home/e:\n"
      "+nis::::::\nbroken:x:x:1::/home/b:/bin/sh\nshort:x:3000\n");
  ASSERT_EQ(accounts.size(), 2u);
  EXPECT_EQ(accounts[0].name, "alice");
  EXPECT_EQ(accounts[0].uid, 1000u);
  EXPECT_EQ(accounts[0].home, "/home/alice");
  EXPECT_EQ(accounts[1].name, "emptyshell");
}

// --- Resolution
// ----------------------------------------------------------------

// A GVDB file with one value per key, via the real dconf's format: built
// here from a tiny flat layout (one bucket).
std::string FlatGvdb(
    const std::vector<std::pair<std::string, std::string>>& cells) {
  auto le32 = [](uint32_t v) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (8 * i));
    return s;
  };
  const uint32_t table_end = 24 + 8 + 4 + 24 * cells.size();
  std::string keys;
  for (const auto& [key, cell] : cells) keys += key;
  uint32_t values_start = (table_end + keys.size() + 7) / 8 * 8;
  std::string file = "GVariant" + le32(0) + le32(0) + le32(24) +
                     le32(table_end) + le32(0) + le32(1) + le32(0);
  std::string values;
  uint32_t key_at = table_end;
  for (const auto& [key, cell] : cells) {
    while (values.size() % 8) values.push_back('\0');
    uint32_t start = values_start + values.size();
    values += cell;
    file += le32(GvdbHash(key)) + le32(kGvdbNoParent) + le32(key_at);
    file += std::string{static_cast<char>(key.size()),
                        static_cast<char>(key.size() >> 8), 'v', '\0'};
    file += le32(start) + le32(start + cell.size());
    key_at += key.size();
  }
  file += keys;
  file.resize(values_start, '\0');
  return file + values;
}

std::string U32(uint32_t v) {
  return std::string{static_cast<char>(v),
                     static_cast<char>(v >> 8),
                     static_cast<char>(v >> 16),
                     static_cast<char>(v >> 24),
                     '\0',
                     'u'};
}
std::string Bool(bool b) { return std::string{b ? '\1' : '\0', '\0', 'b'}; }

class DconfResolutionTest : public ::testing::Test {
 protected:
  const std::string key_ = std::string(kGnomeIdleDelayKey);
  const std::string user_file_ = FlatGvdb({{key_, U32(0)}});
  const std::string site_file_ = FlatGvdb({{key_, U32(600)}});
  const std::string local_file_ = FlatGvdb({{key_, U32(300)}});
  const std::string lock_file_ = FlatGvdb({{key_, std::string("\0\0s", 3)}});
  const GvdbTable user_ = *GvdbTable::Open(user_file_);
  const GvdbTable site_ = *GvdbTable::Open(site_file_);
  const GvdbTable local_ = *GvdbTable::Open(local_file_);
  const GvdbTable locks_ = *GvdbTable::Open(lock_file_);
};

TEST_F(DconfResolutionTest, UserValueWinsWithoutLocks) {
  ResolvedSetting r = ResolveDconfSetting(
      {{true, &user_, nullptr}, {false, &local_, nullptr}}, key_, "u");
  EXPECT_EQ(r.source, kUser);
  EXPECT_EQ(r.value->uint32, 0u);
}

TEST_F(DconfResolutionTest, SystemValueWhenUserHasNone) {
  ResolvedSetting r = ResolveDconfSetting(
      {{true, nullptr, nullptr}, {false, &local_, nullptr}}, key_, "u");
  EXPECT_EQ(r.source, kSystem);
  EXPECT_EQ(r.value->uint32, 300u);
}

TEST_F(DconfResolutionTest, DefaultWhenNobodySetsIt) {
  ResolvedSetting r =
      ResolveDconfSetting({{true, nullptr, nullptr}}, key_, "u");
  EXPECT_EQ(r.source, kDefault);
  EXPECT_FALSE(r.value.has_value());
  EXPECT_EQ(ResolveDconfSetting({}, key_, "u").source, kDefault);
}

TEST_F(DconfResolutionTest, LockForcesSystemValue) {
  ResolvedSetting r = ResolveDconfSetting(
      {{true, &user_, nullptr}, {false, &local_, &locks_}}, key_, "u");
  EXPECT_EQ(r.source, kLocked);
  EXPECT_EQ(r.value->uint32, 300u);
}

TEST_F(DconfResolutionTest, LowestPrecedenceLockDecidesWhereReadingStarts) {
  // profile: user, local, site; site locks: local's value is skipped too.
  ResolvedSetting r = ResolveDconfSetting({{true, &user_, nullptr},
                                           {false, &local_, nullptr},
                                           {false, &site_, &locks_}},
                                          key_, "u");
  EXPECT_EQ(r.source, kLocked);
  EXPECT_EQ(r.value->uint32, 600u);
}

TEST_F(DconfResolutionTest, LocksOfTheFirstLayerAreIgnored) {
  ResolvedSetting r = ResolveDconfSetting(
      {{false, &user_, &locks_}, {false, &local_, nullptr}}, key_, "u");
  EXPECT_EQ(r.source, kSystem);
  EXPECT_EQ(r.value->uint32, 0u);
}

TEST_F(DconfResolutionTest, LockedWithoutValueIsLockedDefault) {
  ResolvedSetting r = ResolveDconfSetting(
      {{true, &user_, nullptr}, {false, nullptr, &locks_}}, key_, "u");
  EXPECT_EQ(r.source, kLocked);
  EXPECT_FALSE(r.value.has_value());
}

TEST_F(DconfResolutionTest, WrongTypeFallsToDefault) {
  const std::string int_file =
      FlatGvdb({{key_, std::string("\x2c\x01\0\0\0i", 6)}});
  GvdbTable ints = *GvdbTable::Open(int_file);
  ResolvedSetting r = ResolveDconfSetting(
      {{true, &ints, nullptr}, {false, &local_, nullptr}}, key_, "u");
  EXPECT_EQ(r.source, kDefault);  // not the system's 300: GSettings' default
  EXPECT_FALSE(r.value.has_value());
}

TEST(DconfResolutionBoolTest, ReadsBooleanKeyAndRejectsUint32ForIt) {
  const std::string key(kGnomeLockEnabledKey);
  const std::string user_file = FlatGvdb({{key, Bool(false)}});
  const std::string wrong_file = FlatGvdb({{key, U32(0)}});
  GvdbTable user = *GvdbTable::Open(user_file);
  GvdbTable wrong = *GvdbTable::Open(wrong_file);
  ResolvedSetting r = ResolveDconfSetting({{true, &user, nullptr}}, key, "b");
  EXPECT_EQ(r.source, kUser);
  EXPECT_EQ(r.value->boolean, false);
  r = ResolveDconfSetting({{true, &wrong, nullptr}}, key, "b");
  EXPECT_EQ(r.source, kDefault);
}

TEST(KdeResolutionTest, Precedence) {
  KdeLockConfig system = ParseKscreenlockerrc("[Daemon]\nTimeout=10\n");
  KdeLockConfig user = ParseKscreenlockerrc("[Daemon]\nTimeout=60\n");
  KdeLockConfig none;
  EXPECT_EQ(ResolveKdeSetting(system, &user, "Timeout").source, kUser);
  EXPECT_EQ(*ResolveKdeSetting(system, &user, "Timeout").value->string, "60");
  EXPECT_EQ(ResolveKdeSetting(system, nullptr, "Timeout").source, kSystem);
  EXPECT_EQ(ResolveKdeSetting(none, nullptr, "Timeout").source, kDefault);
  KdeLockConfig locked = ParseKscreenlockerrc("[Daemon]\nTimeout[$i]=10\n");
  EXPECT_EQ(ResolveKdeSetting(locked, &user, "Timeout").source, kLocked);
  EXPECT_EQ(*ResolveKdeSetting(locked, &user, "Timeout").value->string, "10");
  KdeLockConfig group = ParseKscreenlockerrc("[Daemon][$i]\n");
  EXPECT_EQ(ResolveKdeSetting(group, &user, "Timeout").source, kLocked);
  EXPECT_FALSE(ResolveKdeSetting(group, &user, "Timeout").value.has_value());
}

// --- Fixture trees
// ---------------------------------------------------------------

TEST(ScreenLockProbeTest, Id) {
  EXPECT_EQ(ScreenLockProbe().id(), "linux.screen_lock");
}

TEST(ScreenLockFixtureTest, ServerIsNotGraphical) {
  v1::ScreenLockFacts facts = CollectFixture("server");
  EXPECT_FALSE(facts.graphical());
  EXPECT_THAT(facts.graphical_packages(), IsEmpty());
  EXPECT_THAT(facts.session_files(), IsEmpty());
  EXPECT_THAT(facts.desktops(), IsEmpty());
  EXPECT_THAT(facts.users(), IsEmpty());
}

TEST(ScreenLockFixtureTest, EmptyRootIsNotGraphical) {
  v1::ScreenLockFacts facts = CollectFixture("does_not_exist");
  EXPECT_FALSE(facts.graphical());
}

TEST(ScreenLockFixtureTest, GnomeDefaults) {
  v1::ScreenLockFacts facts = CollectFixture("gnome_defaults");
  EXPECT_TRUE(facts.graphical());
  EXPECT_THAT(facts.graphical_packages(), ElementsAre("gdm3", "gnome-shell"));
  EXPECT_THAT(facts.session_files(),
              ElementsAre("wayland-sessions/gnome.desktop",
                          "xsessions/gnome-xorg.desktop"));
  EXPECT_THAT(facts.desktops(), ElementsAre(kGnome));
  EXPECT_THAT(facts.unevaluated_desktops(), IsEmpty());
  EXPECT_THAT(facts.dconf_profile(), ElementsAre("user-db:user"));
  EXPECT_THAT(facts.dconf_databases(), IsEmpty());
  // svc has nologin, gone has no home, nobody and system accounts are out.
  EXPECT_THAT(UserNames(facts), ElementsAre("alice", "bob"));
  const v1::ScreenLockUser& alice = FindUser(facts, "alice", kGnome);
  EXPECT_EQ(alice.uid(), 1000u);
  EXPECT_TRUE(alice.lock_enabled());
  EXPECT_EQ(alice.lock_enabled_source(), kDefault);
  EXPECT_EQ(alice.idle_delay_seconds(), 300u);
  EXPECT_EQ(alice.idle_delay_source(), kDefault);
  EXPECT_EQ(alice.lock_delay_seconds(), 0u);
  EXPECT_EQ(alice.lock_delay_source(), kDefault);
  EXPECT_FALSE(alice.lock_screen_disabled());
  EXPECT_EQ(alice.lock_after_seconds(), 300u);
  EXPECT_EQ(alice.settings_error(), "");
}

TEST(ScreenLockFixtureTest, GnomeUserDisabledLock) {
  v1::ScreenLockFacts facts = CollectFixture("gnome_user_disabled");
  const v1::ScreenLockUser& alice = FindUser(facts, "alice", kGnome);
  EXPECT_FALSE(alice.lock_enabled());
  EXPECT_EQ(alice.lock_enabled_source(), kUser);
  EXPECT_EQ(alice.idle_delay_seconds(), 300u);
  EXPECT_EQ(alice.lock_after_seconds(), 0u);
  const v1::ScreenLockUser& bob = FindUser(facts, "bob", kGnome);
  EXPECT_TRUE(bob.lock_enabled());
}

TEST(ScreenLockFixtureTest, GnomeSystemLockWinsOverUser) {
  v1::ScreenLockFacts facts = CollectFixture("gnome_system_locked");
  EXPECT_THAT(facts.dconf_profile(),
              ElementsAre("user-db:user", "system-db:local"));
  ASSERT_EQ(facts.dconf_databases_size(), 1);
  const v1::ScreenLockDconfDatabase& db = facts.dconf_databases(0);
  EXPECT_EQ(db.name(), "local");
  EXPECT_TRUE(db.compiled());
  EXPECT_TRUE(db.keyfiles_present());
  EXPECT_FALSE(db.pending_update());
  EXPECT_THAT(db.locked_keys(), ElementsAre(std::string(kGnomeLockEnabledKey),
                                            std::string(kGnomeIdleDelayKey)));
  const v1::ScreenLockUser& alice = FindUser(facts, "alice", kGnome);
  EXPECT_TRUE(alice.lock_enabled());
  EXPECT_EQ(alice.lock_enabled_source(), kLocked);
  EXPECT_EQ(alice.idle_delay_seconds(), 300u);
  EXPECT_EQ(alice.idle_delay_source(), kLocked);
  // lock-delay is not locked: alice's 30 s applies.
  EXPECT_EQ(alice.lock_delay_seconds(), 30u);
  EXPECT_EQ(alice.lock_delay_source(), kUser);
  EXPECT_EQ(alice.lock_after_seconds(), 330u);
  const v1::ScreenLockUser& bob = FindUser(facts, "bob", kGnome);
  EXPECT_EQ(bob.lock_delay_seconds(), 0u);
  EXPECT_EQ(bob.lock_delay_source(), kSystem);
}

TEST(ScreenLockFixtureTest, GnomeIdle1800AndLockScreenDisabled) {
  v1::ScreenLockFacts facts = CollectFixture("gnome_idle_1800");
  const v1::ScreenLockUser& alice = FindUser(facts, "alice", kGnome);
  EXPECT_EQ(alice.idle_delay_seconds(), 1800u);
  EXPECT_EQ(alice.idle_delay_source(), kUser);
  EXPECT_EQ(alice.lock_after_seconds(), 1800u);
  const v1::ScreenLockUser& bob = FindUser(facts, "bob", kGnome);
  EXPECT_TRUE(bob.lock_enabled());
  EXPECT_TRUE(bob.lock_screen_disabled());
  EXPECT_EQ(bob.lock_after_seconds(), 0u);
}

TEST(ScreenLockFixtureTest, GnomeKeyfilesWithoutDconfUpdate) {
  v1::ScreenLockFacts facts = CollectFixture("gnome_pending_update");
  ASSERT_EQ(facts.dconf_databases_size(), 1);
  EXPECT_FALSE(facts.dconf_databases(0).compiled());
  EXPECT_TRUE(facts.dconf_databases(0).pending_update());
  // The keyfile's idle-delay 0 is not in force: dconf reads defaults.
  const v1::ScreenLockUser& alice = FindUser(facts, "alice", kGnome);
  EXPECT_EQ(alice.idle_delay_seconds(), 300u);
  EXPECT_EQ(alice.idle_delay_source(), kDefault);
}

TEST(ScreenLockFixtureTest, GnomeMalformedUserDatabases) {
  v1::ScreenLockFacts facts = CollectFixture("gnome_malformed");
  ASSERT_EQ(facts.dconf_databases_size(), 1);
  EXPECT_TRUE(facts.dconf_databases(0).compiled());
  // Truncated: unusable, so the system's 60 s applies, as in dconf.
  const v1::ScreenLockUser& alice = FindUser(facts, "alice", kGnome);
  EXPECT_THAT(alice.settings_error(),
              HasSubstr("~/.config/dconf/user: not a valid dconf database"));
  EXPECT_EQ(alice.idle_delay_seconds(), 60u);
  EXPECT_EQ(alice.idle_delay_source(), kSystem);
  // Byte-swapped signature: readable, values read big-endian (600 ->
  // 0x58020000), exactly what dconf would use.
  const v1::ScreenLockUser& bob = FindUser(facts, "bob", kGnome);
  EXPECT_EQ(bob.settings_error(), "");
  EXPECT_EQ(bob.idle_delay_seconds(), 0x58020000u);
  EXPECT_EQ(bob.idle_delay_source(), kUser);
  // Root pointer far beyond the file.
  const v1::ScreenLockUser& carol = FindUser(facts, "carol", kGnome);
  EXPECT_THAT(carol.settings_error(), HasSubstr("does not fit the file"));
  EXPECT_EQ(carol.idle_delay_seconds(), 60u);
}

TEST(ScreenLockFixtureTest, KdeAutolockOff) {
  v1::ScreenLockFacts facts = CollectFixture("kde_autolock_off");
  EXPECT_THAT(facts.desktops(), ElementsAre(kKde));
  EXPECT_THAT(facts.dconf_profile(), IsEmpty());
  const v1::ScreenLockUser& alice = FindUser(facts, "alice", kKde);
  EXPECT_FALSE(alice.lock_enabled());
  EXPECT_EQ(alice.lock_enabled_source(), kUser);
  EXPECT_EQ(alice.idle_delay_seconds(), 300u);
  EXPECT_EQ(alice.idle_delay_source(), kDefault);
  EXPECT_EQ(alice.lock_delay_seconds(), 5u);
  EXPECT_EQ(alice.lock_after_seconds(), 0u);
  const v1::ScreenLockUser& bob = FindUser(facts, "bob", kKde);
  EXPECT_TRUE(bob.lock_enabled());
  EXPECT_EQ(bob.lock_enabled_source(), kDefault);
  EXPECT_EQ(bob.lock_after_seconds(), 305u);
}

TEST(ScreenLockFixtureTest, KdeSystemTimeoutAndImmutableGrace) {
  v1::ScreenLockFacts facts = CollectFixture("kde_timeout_10");
  const v1::ScreenLockUser& alice = FindUser(facts, "alice", kKde);
  EXPECT_EQ(alice.idle_delay_seconds(), 600u);
  EXPECT_EQ(alice.idle_delay_source(), kSystem);
  EXPECT_EQ(alice.lock_delay_seconds(), 0u);
  EXPECT_EQ(alice.lock_delay_source(), kLocked);
  EXPECT_EQ(alice.lock_after_seconds(), 600u);
  const v1::ScreenLockUser& bob = FindUser(facts, "bob", kKde);
  EXPECT_EQ(bob.idle_delay_seconds(), 3600u);
  EXPECT_EQ(bob.idle_delay_source(), kUser);
  EXPECT_EQ(bob.lock_delay_seconds(), 0u);  // his 300 s cannot override
  EXPECT_EQ(bob.lock_delay_source(), kLocked);
}

TEST(ScreenLockFixtureTest, XfceOnlyIsGraphicalButUnevaluated) {
  v1::ScreenLockFacts facts = CollectFixture("xfce_only");
  EXPECT_TRUE(facts.graphical());
  EXPECT_THAT(facts.graphical_packages(),
              ElementsAre("lightdm", "xfce4-session"));
  EXPECT_THAT(facts.desktops(), IsEmpty());
  EXPECT_THAT(facts.unevaluated_desktops(), ElementsAre("xfce"));
  EXPECT_THAT(facts.users(), IsEmpty());
}

TEST(ScreenLockFixtureTest, UsersSortedAndOnePerDesktop) {
  // A temporary tree with both desktops.
  fs::path root = fs::path(::testing::TempDir()) / "screen_lock_both";
  fs::remove_all(root);
  fs::copy(Fixture("gnome_user_disabled"), root, fs::copy_options::recursive);
  std::ofstream(root / "var/lib/dpkg/status", std::ios::app)
      << "Package: plasma-desktop\nStatus: install ok installed\n"
         "Version: 1\n\n";
  absl::StatusOr<v1::Facts> facts = ScreenLockProbe().Collect(root);
  ASSERT_TRUE(facts.ok()) << facts.status();
  const v1::ScreenLockFacts& out = facts->screen_lock();
  EXPECT_THAT(out.desktops(), ElementsAre(kGnome, kKde));
  ASSERT_EQ(out.users_size(), 4);
  EXPECT_EQ(out.users(0).name(), "alice");
  EXPECT_EQ(out.users(0).desktop(), kGnome);
  EXPECT_EQ(out.users(1).name(), "alice");
  EXPECT_EQ(out.users(1).desktop(), kKde);
  EXPECT_EQ(out.users(2).name(), "bob");
  fs::remove_all(root);
}

TEST(ScreenLockFixtureTest, UnreadableAndSpecialUserFilesAreReported) {
  fs::path root = fs::path(::testing::TempDir()) / "screen_lock_special";
  fs::remove_all(root);
  fs::copy(Fixture("gnome_defaults"), root, fs::copy_options::recursive);
  fs::create_directories(root / "home/alice/.config/dconf");
  // A directory where the database should be, and a symlink that escapes.
  fs::create_directories(root / "home/alice/.config/dconf/user");
  fs::create_directories(root / "home/bob/.config/dconf");
  fs::create_symlink("/etc/passwd", root / "home/bob/.config/dconf/user");
  absl::StatusOr<v1::Facts> facts = ScreenLockProbe().Collect(root);
  ASSERT_TRUE(facts.ok()) << facts.status();
  const v1::ScreenLockFacts& out = facts->screen_lock();
  EXPECT_EQ(FindUser(out, "alice", kGnome).settings_error(),
            "~/.config/dconf/user: not a regular file");
  // Resolved inside the root: the fixture's passwd, which is not a database.
  EXPECT_THAT(FindUser(out, "bob", kGnome).settings_error(),
              HasSubstr("not a valid dconf database"));
  fs::remove_all(root);
}

TEST(ScreenLockFixtureTest, FileDatabaseInProfileIsReadBelowRoot) {
  fs::path root = fs::path(::testing::TempDir()) / "screen_lock_file_db";
  fs::remove_all(root);
  fs::copy(Fixture("gnome_system_locked"), root, fs::copy_options::recursive);
  fs::rename(root / "etc/dconf/db/local", root / "etc/dconf/custom");
  std::ofstream(root / "etc/dconf/profile/user", std::ios::trunc)
      << "user-db:user\nservice-db:keyfile/user\nfile-db:/etc/dconf/custom\n"
         "system-db:../../shadow\nnonsense\n";
  absl::StatusOr<v1::Facts> facts = ScreenLockProbe().Collect(root);
  ASSERT_TRUE(facts.ok()) << facts.status();
  const v1::ScreenLockFacts& out = facts->screen_lock();
  EXPECT_EQ(out.dconf_profile_size(), 5);
  ASSERT_EQ(out.dconf_databases_size(), 1);  // the traversal is refused
  EXPECT_EQ(out.dconf_databases(0).name(), "file-db:/etc/dconf/custom");
  EXPECT_TRUE(out.dconf_databases(0).compiled());
  EXPECT_FALSE(out.dconf_databases(0).keyfiles_present());
  const v1::ScreenLockUser& alice = FindUser(out, "alice", kGnome);
  EXPECT_EQ(alice.idle_delay_seconds(), 300u);
  EXPECT_EQ(alice.idle_delay_source(), kLocked);
  fs::remove_all(root);
}

TEST(ScreenLockFixtureTest, EmptyProfileMeansDefaultsOnly) {
  fs::path root = fs::path(::testing::TempDir()) / "screen_lock_empty_profile";
  fs::remove_all(root);
  fs::copy(Fixture("gnome_user_disabled"), root, fs::copy_options::recursive);
  fs::create_directories(root / "etc/dconf/profile");
  std::ofstream(root / "etc/dconf/profile/user") << "# no databases\n";
  absl::StatusOr<v1::Facts> facts = ScreenLockProbe().Collect(root);
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_THAT(facts->screen_lock().dconf_profile(), IsEmpty());
  // alice's database is not in the profile, so dconf does not read it.
  const v1::ScreenLockUser& alice =
      FindUser(facts->screen_lock(), "alice", kGnome);
  EXPECT_TRUE(alice.lock_enabled());
  EXPECT_EQ(alice.lock_enabled_source(), kDefault);
  fs::remove_all(root);
}

TEST(ScreenLockFixtureTest, TwoCollectionsAreIdentical) {
  for (const char* name :
       {"server", "gnome_system_locked", "gnome_malformed", "kde_timeout_10"}) {
    absl::StatusOr<v1::Facts> a = ScreenLockProbe().Collect(Fixture(name));
    absl::StatusOr<v1::Facts> b = ScreenLockProbe().Collect(Fixture(name));
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->SerializeAsString(), b->SerializeAsString()) << name;
  }
}

TEST(ScreenLockFixtureTest, FixtureDatabasesAreRealDconfFiles) {
  // The committed user databases start with dconf's signature.
  EXPECT_EQ(
      ReadFile(Fixture("gnome_user_disabled/home/alice/.config/dconf/user"))
          .substr(0, 8),
      "GVariant");
}

}  // namespace
}  // namespace evidentia::agent
