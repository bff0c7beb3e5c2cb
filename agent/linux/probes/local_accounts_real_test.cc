// linux.local_accounts on this machine (root "/") against the real tools run
// by the test: `chage -l -i NAME` (shadow's own reading of the ageing
// fields) and `lastlog -u NAME` for every account the probe reports.
#include <unistd.h>

#include <ctime>
#include <map>
#include <string>

#include "agent/linux/probes/local_accounts_probe.h"
#include "agent/linux/sys/text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/shell.h"

namespace evidentia::agent {
namespace {

using evidentia::testing::Shell;
using evidentia::testing::ShellResult;

// Account names safe to pass to a shell unquoted-ish (single-quoted below).
bool IsSafeName(const std::string& name) {
  for (char c : name) {
    if (!(IsAsciiAlnum(c) || c == '_' || c == '-' || c == '.' || c == '$')) {
      return false;
    }
  }
  return !name.empty();
}

// "Key : value" lines of `chage -l`.
std::map<std::string, std::string> ChageFields(const std::string& name) {
  ShellResult result = Shell("LC_ALL=C chage -l -i '" + name + "'");
  std::map<std::string, std::string> fields;
  if (result.status != 0) {
    fields["error"] = result.out;
    return fields;
  }
  for (std::string_view line : SplitLines(result.out)) {
    size_t colon = line.rfind(':');
    if (colon == std::string_view::npos) continue;
    fields[std::string(Trim(line.substr(0, colon)))] =
        std::string(Trim(line.substr(colon + 1)));
  }
  return fields;
}

// Unix seconds as chage -i prints them (gmtime, YYYY-MM-DD).
std::string IsoDate(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%d", &tm);
  return buffer;
}

v1::LocalAccountsFacts CollectHere() {
  absl::StatusOr<v1::Facts> facts = LocalAccountsProbe().Collect("/");
  EXPECT_TRUE(facts.ok()) << facts.status();
  return facts.ok() ? facts->local_accounts() : v1::LocalAccountsFacts();
}

TEST(LocalAccountsRealTest, AgeingMatchesChageForEveryAccount) {
  v1::LocalAccountsFacts facts = CollectHere();
  ASSERT_GT(facts.accounts_size(), 0);
  const bool root = ::geteuid() == 0;
  EXPECT_EQ(facts.shadow_readable(), root);
  int compared = 0;
  for (const v1::Account& account : facts.accounts()) {
    ASSERT_TRUE(IsSafeName(account.name())) << account.name();
    SCOPED_TRACE(account.name());
    std::map<std::string, std::string> chage = ChageFields(account.name());
    if (chage.count("error")) {
      // chage finds no shadow entry (or may not read it): neither may we.
      EXPECT_FALSE(account.has_password_last_change_days()) << chage["error"];
      EXPECT_FALSE(account.has_password_max_age_days()) << chage["error"];
      continue;
    }
    ++compared;
    const std::string max_days =
        chage["Maximum number of days between password change"];
    EXPECT_EQ(max_days, account.has_password_max_age_days()
                            ? std::to_string(account.password_max_age_days())
                            : "-1");
    std::string last_change = "never";
    if (account.password_change_required()) {
      last_change = "password must be changed";
    } else if (account.has_password_last_change_days()) {
      last_change = IsoDate(account.password_last_change_days() * 86400);
      EXPECT_EQ(account.password_last_change_unix(),
                account.password_last_change_days() * 86400);
    }
    EXPECT_EQ(chage["Last password change"], last_change);
    std::string expires;
    if (account.password_change_required()) {
      expires = "password must be changed";
    } else if (account.password_never_expires()) {
      expires = "never";
    } else {
      ASSERT_TRUE(account.has_password_expires_unix());
      expires = IsoDate(account.password_expires_unix());
    }
    EXPECT_EQ(chage["Password expires"], expires);
  }
  // As root chage reads every shadow entry, root's at least.
  if (root) {
    EXPECT_GT(compared, 0);
  }
}

TEST(LocalAccountsRealTest, LoginStateMatchesLastlog) {
  v1::LocalAccountsFacts facts = CollectHere();
  ASSERT_GT(facts.accounts_size(), 0);
  EXPECT_EQ(facts.lastlog_present(),
            Shell("test -e /var/log/lastlog").status == 0);
  for (const v1::Account& account : facts.accounts()) {
    ASSERT_TRUE(IsSafeName(account.name())) << account.name();
    SCOPED_TRACE(account.name());
    ShellResult result = Shell("LC_ALL=C lastlog -u '" + account.name() + "'");
    if (!facts.lastlog_present()) {
      EXPECT_EQ(account.last_login_state(), v1::LAST_LOGIN_STATE_UNKNOWN);
      continue;
    }
    const bool never =
        result.out.find("**Never logged in**") != std::string::npos;
    EXPECT_EQ(account.last_login_state() == v1::LAST_LOGIN_STATE_NEVER, never)
        << result.out;
    EXPECT_EQ(account.last_login_state() == v1::LAST_LOGIN_STATE_RECORDED,
              !never)
        << result.out;
  }
}

TEST(LocalAccountsRealTest, TwoCollectionsGiveIdenticalBytes) {
  absl::StatusOr<v1::Facts> first = LocalAccountsProbe().Collect("/");
  absl::StatusOr<v1::Facts> second = LocalAccountsProbe().Collect("/");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->SerializeAsString(), second->SerializeAsString());
}

}  // namespace
}  // namespace evidentia::agent
