// The linux.screen_lock checks of policies/checks/, graded on the probe's
// fixture trees and on facts built in code.
#include <filesystem>
#include <string>

#include "absl/time/time.h"
#include "agent/linux/probes/screen_lock_probe.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/checks.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using ::evidentia::testing::EvaluateCheck;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const absl::Time kNow = absl::FromUnixSeconds(1'796'000'000);
constexpr char kEnabled[] = "linux.screen_lock.enabled";
constexpr char kIdle[] = "linux.screen_lock.idle_timeout";

v1::Facts CollectFixture(const std::string& name) {
  absl::StatusOr<v1::Facts> facts = ScreenLockProbe().Collect(
      fs::path(EVIDENTIA_SOURCE_DIR) / "tests/fixtures/screen_lock" / name);
  EXPECT_TRUE(facts.ok()) << facts.status();
  return facts.ok() ? *facts : v1::Facts();
}

// A graphical GNOME host with one user whose settings the test sets.
v1::Facts GnomeUser(
    bool lock_enabled, uint32_t idle, uint32_t delay,
    v1::ScreenLockDesktop desktop = v1::SCREEN_LOCK_DESKTOP_GNOME) {
  v1::Facts facts;
  v1::ScreenLockFacts* out = facts.mutable_screen_lock();
  out->set_graphical(true);
  out->add_desktops(desktop);
  v1::ScreenLockUser* user = out->add_users();
  user->set_name("alice");
  user->set_uid(1000);
  user->set_desktop(desktop);
  user->set_lock_enabled(lock_enabled);
  user->set_idle_delay_seconds(idle);
  user->set_lock_delay_seconds(delay);
  user->set_lock_after_seconds(lock_enabled && idle > 0 ? idle + delay : 0);
  return facts;
}

// --- Both checks on a server ---------------------------------------------

TEST(ScreenLockChecksTest, ServerWithoutGraphicsPassesBoth) {
  v1::Facts facts = CollectFixture("server");
  for (const char* check : {kEnabled, kIdle}) {
    policy::CheckResult result = EvaluateCheck(check, facts, kNow);
    EXPECT_EQ(result.verdict, policy::Verdict::kPass) << check;
    EXPECT_THAT(result.reasons, IsEmpty()) << check;
  }
}

// --- linux.screen_lock.enabled ----------------------------------------------

TEST(ScreenLockEnabledCheckTest, PassesOnDefaultsAndEnforcedLock) {
  for (const char* fixture :
       {"gnome_defaults", "gnome_system_locked", "kde_timeout_10"}) {
    policy::CheckResult result =
        EvaluateCheck(kEnabled, CollectFixture(fixture), kNow);
    EXPECT_EQ(result.verdict, policy::Verdict::kPass) << fixture;
    EXPECT_THAT(result.reasons, IsEmpty()) << fixture;
  }
}

TEST(ScreenLockEnabledCheckTest, FailsWhenGnomeUserTurnedLockOff) {
  policy::CheckResult result =
      EvaluateCheck(kEnabled, CollectFixture("gnome_user_disabled"), kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre("alice: the GNOME screen does not lock when idle "
                          "(org.gnome.desktop.screensaver lock-enabled is "
                          "false): set lock-enabled=true in "
                          "/etc/dconf/db/local.d/, list it in "
                          "/etc/dconf/db/local.d/locks/ and run dconf "
                          "update"));
}

TEST(ScreenLockEnabledCheckTest, FailsWhenGnomeLockScreenDisabled) {
  policy::CheckResult result =
      EvaluateCheck(kEnabled, CollectFixture("gnome_idle_1800"), kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("bob: the GNOME lock screen is disabled "
                                    "(org.gnome.desktop.lockdown "
                                    "disable-lock-screen is true)")));
}

TEST(ScreenLockEnabledCheckTest, FailsWhenKdeAutolockOff) {
  policy::CheckResult result =
      EvaluateCheck(kEnabled, CollectFixture("kde_autolock_off"), kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(result.reasons, ElementsAre(HasSubstr(
                                  "alice: KDE does not lock the screen when "
                                  "idle (Autolock=false in "
                                  "kscreenlockerrc): set Autolock[$i]=true")));
}

TEST(ScreenLockEnabledCheckTest, FailsOnGraphicalHostWithUnreadDesktopOnly) {
  policy::CheckResult result =
      EvaluateCheck(kEnabled, CollectFixture("xfce_only"), kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(
      result.reasons,
      ElementsAre(HasSubstr("the host runs graphical sessions but neither "
                            "GNOME nor KDE"),
                  "xfce is installed and its screen lock is not evidenced by "
                  "this check: configure its locker and evidence it "
                  "manually, or remove it"));
}

TEST(ScreenLockEnabledCheckTest, WarnsOnUnreadDesktopBesideGnome) {
  v1::Facts facts = GnomeUser(true, 300, 0);
  facts.mutable_screen_lock()->add_unevaluated_desktops("cinnamon");
  policy::CheckResult result = EvaluateCheck(kEnabled, facts, kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("cinnamon is installed and its screen "
                                    "lock is not evidenced")));
}

TEST(ScreenLockEnabledCheckTest, WarnsWhenKeyfilesNotCompiled) {
  policy::CheckResult result =
      EvaluateCheck(kEnabled, CollectFixture("gnome_pending_update"), kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre("dconf database local: keyfiles in /etc/dconf/db/ "
                          "set screen-lock keys or locks that are not in "
                          "force: run dconf update"));
}

TEST(ScreenLockEnabledCheckTest, WarnsOnUnusableUserDatabases) {
  policy::CheckResult result =
      EvaluateCheck(kEnabled, CollectFixture("gnome_malformed"), kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("alice: ~/.config/dconf/user: not a valid "
                                    "dconf database"),
                          HasSubstr("carol: ~/.config/dconf/user: not a valid "
                                    "dconf database")));
}

// --- linux.screen_lock.idle_timeout
// -------------------------------------------

TEST(ScreenLockIdleCheckTest, PassesWithin15Minutes) {
  for (const char* fixture :
       {"gnome_defaults", "gnome_system_locked", "kde_autolock_off"}) {
    policy::CheckResult result =
        EvaluateCheck(kIdle, CollectFixture(fixture), kNow);
    EXPECT_EQ(result.verdict, policy::Verdict::kPass) << fixture;
    EXPECT_THAT(result.reasons, IsEmpty()) << fixture;
  }
  // Exactly 900 s is within the limit.
  EXPECT_EQ(EvaluateCheck(kIdle, GnomeUser(true, 895, 5), kNow).verdict,
            policy::Verdict::kPass);
}

TEST(ScreenLockIdleCheckTest, WarnsAbove15MinutesOnGnome) {
  policy::CheckResult result =
      EvaluateCheck(kIdle, CollectFixture("gnome_idle_1800"), kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr(
                  "alice: the GNOME screen asks for a password only after "
                  "1800 s of inactivity (idle-delay 1800 s + lock-delay 0 s), "
                  "over the 900 s limit")));
}

TEST(ScreenLockIdleCheckTest, LockDelayCountsTowardsTheLimit) {
  policy::CheckResult result =
      EvaluateCheck(kIdle, GnomeUser(true, 900, 60), kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kWarn);
  EXPECT_THAT(result.reasons, ElementsAre(HasSubstr("after 960 s")));
}

TEST(ScreenLockIdleCheckTest, WarnsAbove15MinutesOnKde) {
  policy::CheckResult result =
      EvaluateCheck(kIdle, CollectFixture("kde_timeout_10"), kNow);
  // bob's 60 minutes (his own Timeout) are over the limit; alice's 10 pass.
  EXPECT_EQ(result.verdict, policy::Verdict::kWarn);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("bob: KDE asks for a password only after "
                                    "3600 s of inactivity (Timeout 3600 s + "
                                    "LockGrace 0 s)")));
}

TEST(ScreenLockIdleCheckTest, FailsWhenGnomeNeverIdles) {
  policy::CheckResult result =
      EvaluateCheck(kIdle, GnomeUser(true, 0, 0), kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre("alice: the GNOME session never goes idle "
                          "(org.gnome.desktop.session idle-delay is 0), so "
                          "the screen never locks by itself: set "
                          "idle-delay=uint32 300 in /etc/dconf/db/local.d/, "
                          "lock it and run dconf update"));
}

TEST(ScreenLockIdleCheckTest, FailsWhenKdeNeverIdles) {
  policy::CheckResult result = EvaluateCheck(
      kIdle, GnomeUser(true, 0, 5, v1::SCREEN_LOCK_DESKTOP_KDE), kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kFail);
  EXPECT_THAT(result.reasons,
              ElementsAre(HasSubstr("alice: KDE never locks on inactivity "
                                    "(Timeout=0 in kscreenlockerrc)")));
}

TEST(ScreenLockIdleCheckTest, LockedSystemIdleBeatsUsersZero) {
  // gnome_system_locked: alice wrote idle-delay 0 but the lock holds 300.
  policy::CheckResult result =
      EvaluateCheck(kIdle, CollectFixture("gnome_system_locked"), kNow);
  EXPECT_EQ(result.verdict, policy::Verdict::kPass);
}

}  // namespace
}  // namespace evidentia::agent
