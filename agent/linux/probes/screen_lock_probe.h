// linux.screen_lock: whether the host runs graphical sessions (display
// managers, desktops and session files) and, for each interactive user of
// GNOME or KDE, whether the screen locks by itself and after how long.
// GNOME's settings are resolved as dconf resolves them: the user's GVDB
// database (~/.config/dconf/user) and the compiled system databases of the
// dconf profile, with their locks; KDE's from kscreenlockerrc, the user's
// over /etc/xdg's unless marked immutable. Everything is read from files
// below the root. Facts: ScreenLockFacts.
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_SCREEN_LOCK_PROBE_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_SCREEN_LOCK_PROBE_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/linux/probes/screen_lock_gvdb.h"
#include "agent/probe.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/facts/screen_lock.pb.h"

namespace evidentia::agent {

// The GNOME keys this probe resolves, and GNOME's schema defaults for them.
inline constexpr std::string_view kGnomeLockEnabledKey =
    "/org/gnome/desktop/screensaver/lock-enabled";  // b, default true
inline constexpr std::string_view kGnomeLockDelayKey =
    "/org/gnome/desktop/screensaver/lock-delay";  // u, default 0
inline constexpr std::string_view kGnomeIdleDelayKey =
    "/org/gnome/desktop/session/idle-delay";  // u, default 300
inline constexpr std::string_view kGnomeDisableLockScreenKey =
    "/org/gnome/desktop/lockdown/disable-lock-screen";  // b, default false

// The value of a dconf keyfile entry in GVariant text format, for the types
// the screen-lock keys use: "true"/"false" (b), "uint32 N" or "@u N" (u),
// a bare or "int32 N" integer (i), a quoted string (s). nullopt otherwise.
std::optional<DconfValue> ParseGVariantText(std::string_view text);

// One dconf keyfile of /etc/dconf/db/NAME.d: "[org/gnome/desktop/session]"
// groups of "key=value" lines, as full key path ("/org/.../idle-delay") ->
// value. Comments, malformed lines and unparseable values are skipped; a
// later duplicate wins.
std::map<std::string, DconfValue> ParseDconfKeyfile(std::string_view text);

// One file of /etc/dconf/db/NAME.d/locks: the key paths it locks (lines
// starting with '/'), in file order; comments and blank lines skipped.
std::vector<std::string> ParseDconfLocks(std::string_view text);

// A dconf profile (/etc/dconf/profile/user): its database lines
// ("user-db:user", "system-db:local", "file-db:/path"), comments and blank
// lines dropped, in order.
std::vector<std::string> ParseDconfProfile(std::string_view text);

// One entry of a KDE config file's [Daemon] group.
struct KdeEntry {
  std::string value;
  bool immutable = false;  // "Key[$i]=..."
};

// The [Daemon] group of one kscreenlockerrc (KConfig INI).
struct KdeLockConfig {
  std::map<std::string, KdeEntry> entries;
  bool group_immutable = false;  // "[Daemon][$i]" or a leading "[$i]"
};

// [Daemon] of a kscreenlockerrc. Other groups, localised keys ("Key[de]")
// and malformed lines are skipped; a later duplicate wins unless the first
// was immutable.
KdeLockConfig ParseKscreenlockerrc(std::string_view text);

// KConfig's bool: "false", "no", "off", "0" (any case) are false, any other
// non-empty value true; nullopt for empty.
std::optional<bool> ParseKdeBool(std::string_view value);

// A dconf database layer as the user's profile stacks them, most important
// first.
struct DconfLayer {
  bool is_user = false;               // the user-db
  const GvdbTable* values = nullptr;  // null when absent or unreadable
  const GvdbTable* locks = nullptr;   // the ".locks" table, if any
};

// A resolved setting: the value the desktop uses (nullopt: its default)
// and where it comes from.
struct ResolvedSetting {
  std::optional<DconfValue> value;
  v1::ScreenLockSource source = v1::SCREEN_LOCK_SOURCE_DEFAULT;
};

// What dconf and GSettings read for `key` of type `type` ("b", "u") from
// `layers`: the lowest-precedence layer (other than the first) that locks
// the key forces reading from itself downwards; else the first layer that
// holds it. A value of another type is ignored by GSettings in favour of
// the default, and reported as the default.
ResolvedSetting ResolveDconfSetting(const std::vector<DconfLayer>& layers,
                                    std::string_view key,
                                    std::string_view type);

// A KDE setting from the system file and the user's file (null when the
// user has none): an immutable system key or group wins, then the user's,
// then the system's, else the default.
ResolvedSetting ResolveKdeSetting(const KdeLockConfig& system,
                                  const KdeLockConfig* user,
                                  std::string_view key);

// An account of /etc/passwd that could run a graphical session.
struct ScreenLockAccount {
  std::string name;
  uint32_t uid = 0;
  std::string home;
};

// Lines of /etc/passwd with uid >= 1000 (not 65534 "nobody"), a home other
// than "/" and a login shell (not nologin/false); file order.
std::vector<ScreenLockAccount> ParseScreenLockAccounts(std::string_view text);

class ScreenLockProbe : public Probe {
 public:
  std::string_view id() const override { return "linux.screen_lock"; }

  // Reads below `root`: var/lib/dpkg/status, usr/share/{xsessions,
  // wayland-sessions}, and on a graphical host etc/passwd, etc/dconf/
  // (profile/user, db/NAME, db/NAME.d/), etc/xdg/kscreenlockerrc and each
  // user's ~/.config/dconf/ and ~/.config/kscreenlockerrc. Errors only when
  // the dpkg database or etc/passwd exists but cannot be read (the answer
  // would otherwise be wrong); unreadable user files become settings_error.
  absl::StatusOr<v1::Facts> Collect(
      const std::filesystem::path& root) const override;
};

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_SCREEN_LOCK_PROBE_H_
