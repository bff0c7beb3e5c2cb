// linux.screen_lock against the real tools on this machine: the graphical
// environment the probe sees on "/" against dpkg-query and the session
// directories, and the GVDB reader and dconf resolution against the real
// dconf (package dconf-cli) on the committed databases, which dconf reads
// through a DCONF_PROFILE naming them as file-db sources.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "agent/linux/probes/screen_lock_probe.h"
#include "agent/linux/sys/text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::ContainerEq;
using ::testing::IsEmpty;

fs::path Fixtures() {
  return fs::path(EVIDENTIA_SOURCE_DIR) / "tests/fixtures/screen_lock";
}

// Standard output of `command` run by /bin/sh, which must succeed.
std::string RunShell(const std::string& command) {
  evidentia::testing::ShellResult result = evidentia::testing::Shell(command);
  EXPECT_EQ(result.status, 0) << command;
  return result.out;
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

bool HaveDconf() {
  return evidentia::testing::Shell("command -v dconf").status == 0;
}

// A scratch directory: DCONF_PROFILE files and an XDG_CONFIG_HOME.
class DconfScratch {
 public:
  // A directory of its own: ctest runs this binary's tests in parallel.
  DconfScratch() : dir_(scratch_.path()) {
    fs::create_directories(dir_ / "config/dconf");
  }

  // `dconf ARGS` with `profile` as the profile and `user_db` (may be
  // empty) as the user database.
  std::string Dconf(const std::string& profile, const fs::path& user_db,
                    const std::string& args) {
    std::ofstream(dir_ / "profile", std::ios::trunc) << profile;
    fs::remove(dir_ / "config/dconf/user");
    if (!user_db.empty() && fs::exists(user_db)) {
      fs::copy_file(user_db, dir_ / "config/dconf/user");
    }
    return RunShell("XDG_CONFIG_HOME=" + Quote((dir_ / "config").string()) +
                    " DCONF_PROFILE=" + Quote((dir_ / "profile").string()) +
                    " dconf " + args);
  }

 private:
  evidentia::testing::ScopedTempDir scratch_;
  fs::path dir_;
};

// --- The graphical environment of this machine -------------------------------

TEST(ScreenLockRealTest, GraphicalEnvironmentMatchesDpkgAndSessionDirs) {
  absl::StatusOr<v1::Facts> facts = ScreenLockProbe().Collect("/");
  ASSERT_TRUE(facts.ok()) << facts.status();
  const v1::ScreenLockFacts& lock = facts->screen_lock();

  // dpkg-query exits 1 when some of the packages are unknown; keep its
  // output either way.
  std::string dpkg = RunShell(
      "dpkg-query -W -f='${db:Status-Abbrev} ${Package}\\n' cinnamon gdm3 "
      "gnome-shell lightdm mate-session-manager plasma-desktop "
      "plasma-workspace sddm xfce4-session 2>/dev/null; true");
  std::vector<std::string> installed;
  for (std::string_view line : SplitLines(dpkg)) {
    std::vector<std::string_view> words = Words(line);
    if (words.size() == 2 && words[0] == "ii") installed.emplace_back(words[1]);
  }
  std::sort(installed.begin(), installed.end());
  EXPECT_THAT(std::vector<std::string>(lock.graphical_packages().begin(),
                                       lock.graphical_packages().end()),
              ContainerEq(installed));

  std::string listing = RunShell(
      "for d in xsessions wayland-sessions; do "
      "ls -1 /usr/share/$d 2>/dev/null | sed -n "
      "\"s|^\\(.*\\.desktop\\)$|$d/\\1|p\"; "
      "done | LC_ALL=C sort");
  std::vector<std::string> sessions;
  for (std::string_view line : SplitLines(listing)) {
    if (line != "xsessions/.desktop" && line != "wayland-sessions/.desktop") {
      sessions.emplace_back(line);
    }
  }
  EXPECT_THAT(std::vector<std::string>(lock.session_files().begin(),
                                       lock.session_files().end()),
              ContainerEq(sessions));

  EXPECT_EQ(lock.graphical(), !installed.empty() || !sessions.empty());
  if (!lock.graphical()) {
    EXPECT_THAT(lock.users(), IsEmpty());
    EXPECT_THAT(lock.desktops(), IsEmpty());
  }
}

TEST(ScreenLockRealTest, TwoCollectionsGiveIdenticalBytes) {
  absl::StatusOr<v1::Facts> a = ScreenLockProbe().Collect("/");
  absl::StatusOr<v1::Facts> b = ScreenLockProbe().Collect("/");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->SerializeAsString(), b->SerializeAsString());
}

// --- The GVDB reader against `dconf dump`
// -------------------------------------

// Full key -> value text of `dconf dump /` output.
std::map<std::string, std::string> DumpEntries(std::string_view dump) {
  std::map<std::string, std::string> out;
  std::string group;
  for (std::string_view line : SplitLines(dump)) {
    if (line.empty()) continue;
    if (line.front() == '[' && line.back() == ']') {
      group = std::string(line.substr(1, line.size() - 2));
      continue;
    }
    size_t equals = line.find('=');
    if (equals == std::string_view::npos) continue;
    out["/" + group + "/" + std::string(line.substr(0, equals))] =
        std::string(line.substr(equals + 1));
  }
  return out;
}

TEST(ScreenLockRealTest, GvdbReaderMatchesDconfDump) {
  ASSERT_TRUE(HaveDconf()) << "dconf (package dconf-cli) is required";
  DconfScratch scratch;
  size_t compared_values = 0;
  for (const auto& entry : fs::recursive_directory_iterator(Fixtures())) {
    if (!entry.is_regular_file()) continue;
    std::string file = ReadFile(entry.path());
    bool gvdb_named = entry.path().filename() == "user" &&
                      entry.path().parent_path().filename() == "dconf";
    bool compiled = entry.path().parent_path().filename() == "db" ||
                    entry.path().parent_path().filename() == "real_dconf";
    if (!gvdb_named && !compiled) continue;
    SCOPED_TRACE(entry.path().string());

    std::map<std::string, std::string> dumped = DumpEntries(
        scratch.Dconf("file-db:" + entry.path().string() + "\n", {}, "dump /"));
    absl::StatusOr<GvdbTable> table = GvdbTable::Open(file);
    if (!table.ok()) {
      EXPECT_THAT(dumped, IsEmpty()) << table.status();  // dconf: empty too
      continue;
    }
    std::vector<std::string> dumped_keys;
    for (const auto& [key, text] : dumped) dumped_keys.push_back(key);
    EXPECT_THAT(table->ValueKeys(), ContainerEq(dumped_keys));
    for (const auto& [key, text] : dumped) {
      std::optional<DconfValue> theirs = ParseGVariantText(text);
      std::optional<DconfValue> ours = table->Lookup(key);
      ASSERT_TRUE(ours.has_value()) << key;
      if (!theirs) continue;  // a type the probe does not decode (d, as)
      EXPECT_TRUE(*ours == *theirs) << key << " dconf says " << text;
      ++compared_values;
    }
  }
  // real_dconf/local alone has b, u, i and s values.
  EXPECT_GE(compared_values, 10u);
}

// --- The probe's resolution against `dconf read`
// ------------------------------

TEST(ScreenLockRealTest, ResolutionMatchesDconfRead) {
  ASSERT_TRUE(HaveDconf()) << "dconf (package dconf-cli) is required";
  DconfScratch scratch;
  size_t compared = 0;
  for (const char* fixture :
       {"gnome_defaults", "gnome_user_disabled", "gnome_system_locked",
        "gnome_idle_1800", "gnome_malformed"}) {
    SCOPED_TRACE(fixture);
    const fs::path root = Fixtures() / fixture;
    absl::StatusOr<v1::Facts> facts = ScreenLockProbe().Collect(root);
    ASSERT_TRUE(facts.ok()) << facts.status();
    // The fixture's profile with its system databases as file-db sources.
    std::string profile;
    for (const std::string& line : facts->screen_lock().dconf_profile()) {
      if (StartsWith(line, "system-db:")) {
        profile +=
            "file-db:" + (root / "etc/dconf/db" / line.substr(10)).string() +
            "\n";
      } else {
        profile += line + "\n";
      }
    }
    for (const v1::ScreenLockUser& user : facts->screen_lock().users()) {
      SCOPED_TRACE(user.name());
      const fs::path user_db =
          root / ("home/" + user.name()) / ".config/dconf/user";
      struct Key {
        std::string_view path;
        uint32_t ours;
        v1::ScreenLockSource source;
      };
      for (const Key& key : std::vector<Key>{
               {kGnomeLockEnabledKey, user.lock_enabled() ? 1u : 0u,
                user.lock_enabled_source()},
               {kGnomeIdleDelayKey, user.idle_delay_seconds(),
                user.idle_delay_source()},
               {kGnomeLockDelayKey, user.lock_delay_seconds(),
                user.lock_delay_source()}}) {
        std::string text = std::string(Trim(
            scratch.Dconf(profile, user_db, "read " + std::string(key.path))));
        if (text.empty()) {
          // dconf has no value: GNOME's schema default applies.
          EXPECT_TRUE(key.source == v1::SCREEN_LOCK_SOURCE_DEFAULT ||
                      key.source == v1::SCREEN_LOCK_SOURCE_LOCKED)
              << key.path;
        } else {
          std::optional<DconfValue> theirs = ParseGVariantText(text);
          ASSERT_TRUE(theirs.has_value()) << text;
          uint32_t value = theirs->boolean ? (*theirs->boolean ? 1u : 0u)
                                           : theirs->uint32.value_or(~0u);
          EXPECT_EQ(key.ours, value) << key.path << " dconf says " << text;
          EXPECT_NE(key.source, v1::SCREEN_LOCK_SOURCE_DEFAULT) << key.path;
        }
        std::string parent(key.path.substr(0, key.path.rfind('/') + 1));
        std::string locks =
            scratch.Dconf(profile, user_db, "list-locks " + parent);
        bool locked = false;
        for (std::string_view line : SplitLines(locks)) {
          if (line == key.path) locked = true;
        }
        EXPECT_EQ(locked, key.source == v1::SCREEN_LOCK_SOURCE_LOCKED)
            << key.path;
        ++compared;
      }
    }
  }
  EXPECT_GE(compared, 30u);
}

}  // namespace
}  // namespace evidentia::agent
