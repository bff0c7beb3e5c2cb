#include "agent/linux/probes/screen_lock_probe.h"

#include <algorithm>
#include <deque>
#include <limits>
#include <set>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "agent/linux/sys/dpkg.h"
#include "agent/linux/sys/rooted_fs.h"
#include "agent/linux/sys/text.h"
#include "agent/linux/sys/utf8.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxDconfDatabaseBytes = 16 << 20;
constexpr size_t kMaxAccountsFileBytes = 16 << 20;
constexpr size_t kMaxKeyfiles = 256;
constexpr size_t kMaxSessionFiles = 256;
constexpr size_t kMaxProfileEntries = 32;
constexpr size_t kMaxUsers = 4096;

// GNOME's schema defaults (gsettings-desktop-schemas).
constexpr bool kGnomeDefaultLockEnabled = true;
constexpr uint32_t kGnomeDefaultIdleDelay = 300;
constexpr uint32_t kGnomeDefaultLockDelay = 0;
// KDE's kscreenlocker defaults (kscreensaversettings.kcfg).
constexpr bool kKdeDefaultAutolock = true;
constexpr int64_t kKdeDefaultTimeoutMinutes = 5;
constexpr int64_t kKdeDefaultLockGraceSeconds = 5;

// Packages whose presence makes a host graphical.
constexpr std::string_view kGraphicalPackages[] = {"cinnamon",
                                                   "gdm3",
                                                   "gnome-shell",
                                                   "lightdm",
                                                   "mate-session-manager",
                                                   "plasma-desktop",
                                                   "plasma-workspace",
                                                   "sddm",
                                                   "xfce4-session"};

// The screen-lock keys compared between keyfiles and compiled databases.
constexpr std::string_view kGnomeKeys[] = {
    kGnomeLockEnabledKey, kGnomeLockDelayKey, kGnomeIdleDelayKey,
    kGnomeDisableLockScreenKey};

std::string_view StripComment(std::string_view line) {
  size_t hash = line.find('#');
  return hash == std::string_view::npos ? line : line.substr(0, hash);
}

bool IsLoginShell(std::string_view shell) {
  shell = Trim(shell);
  if (shell.empty()) return true;  // /bin/sh
  std::string_view base = shell.substr(shell.rfind('/') + 1);
  return !(base == "nologin" || base == "false" || base == "true" ||
           base == "sync" || base == "shutdown" || base == "halt");
}

// Which desktop a session file (without ".desktop") starts.
enum class SessionKind { kGnome, kKde, kWrapper, kOther };

SessionKind ClassifySession(std::string_view name) {
  if (StartsWith(name, "gnome") || StartsWith(name, "ubuntu")) {
    return SessionKind::kGnome;
  }
  if (StartsWith(name, "plasma") || StartsWith(name, "kde")) {
    return SessionKind::kKde;
  }
  // Debian's lightdm-xsession runs the default x-session-manager, itself
  // one of the other sessions.
  if (name == "lightdm-xsession" || name == "default") {
    return SessionKind::kWrapper;
  }
  return SessionKind::kOther;
}

// The short name of a desktop this probe does not read.
std::string OtherDesktopName(std::string_view session_or_package) {
  for (std::string_view known : {"xfce", "cinnamon", "mate", "lxqt", "lxde"}) {
    if (StartsWith(session_or_package, known)) return std::string(known);
  }
  return std::string(session_or_package);
}

std::string ReadErrorText(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kPermissionDenied:
      return "permission denied";
    case absl::StatusCode::kOutOfRange:
      return "larger than the size limit";
    case absl::StatusCode::kFailedPrecondition:
      return "not a regular file";
    default:
      return "cannot be read";
  }
}

// A database file's bytes and the GvdbTable views into them; never moved
// once loaded (the views point into `bytes`).
struct LoadedDatabase {
  std::string bytes;
  std::optional<GvdbTable> values;
  std::optional<GvdbTable> locks;
};

// Loads a compiled dconf database; `error` says why it is not usable.
void LoadDconfDatabase(const fs::path& root, const std::string& path,
                       LoadedDatabase* db, std::string* error) {
  absl::StatusOr<std::string> bytes =
      ReadRootedFile(root, path, kMaxDconfDatabaseBytes);
  if (!bytes.ok()) {
    if (!absl::IsNotFound(bytes.status())) {
      *error = ReadErrorText(bytes.status());
    }
    return;
  }
  db->bytes = std::move(*bytes);
  absl::StatusOr<GvdbTable> table = GvdbTable::Open(db->bytes);
  if (!table.ok()) {
    *error = Cat("not a valid dconf database (",
                 std::string(table.status().message()), ")");
    return;
  }
  db->values = *table;
  db->locks = db->values->Subtable(".locks");
}

std::optional<DconfValue> Find(const std::map<std::string, DconfValue>& map,
                               std::string_view key) {
  auto it = map.find(std::string(key));
  if (it == map.end()) return std::nullopt;
  return it->second;
}

// The facts of one system database, and whether its keyfiles are in force
// (only system-db databases have a keyfile directory).
v1::ScreenLockDconfDatabase DescribeSystemDatabase(const fs::path& root,
                                                   const std::string& name,
                                                   bool has_keyfiles,
                                                   const LoadedDatabase& db) {
  v1::ScreenLockDconfDatabase out;
  out.set_name(name);
  out.set_compiled(db.values.has_value());
  const std::string dir = Cat("etc/dconf/db/", name, ".d");
  out.set_keyfiles_present(has_keyfiles && RootedExists(root, dir));
  for (std::string_view key : kGnomeKeys) {
    if (db.locks && db.locks->HasValue(key)) {
      out.add_locked_keys(std::string(key));
    }
  }
  std::sort(out.mutable_locked_keys()->begin(),
            out.mutable_locked_keys()->end());
  if (!out.keyfiles_present()) return out;

  std::map<std::string, DconfValue> values;
  for (const std::string& file : ListRootedDir(root, dir, kMaxKeyfiles)) {
    if (StartsWith(file, ".")) continue;
    absl::StatusOr<std::string> text =
        ReadRootedFile(root, Cat(dir, "/", file), kMaxConfigFileBytes);
    if (!text.ok()) continue;  // the locks directory, unreadable files
    for (auto& [key, value] : ParseDconfKeyfile(*text)) {
      values[key] = std::move(value);
    }
  }
  std::set<std::string> locks;
  for (const std::string& file :
       ListRootedDir(root, Cat(dir, "/locks"), kMaxKeyfiles)) {
    if (StartsWith(file, ".")) continue;
    absl::StatusOr<std::string> text =
        ReadRootedFile(root, Cat(dir, "/locks/", file), kMaxConfigFileBytes);
    if (!text.ok()) continue;
    for (std::string& key : ParseDconfLocks(*text)) locks.insert(key);
  }
  bool pending = false;
  for (std::string_view key : kGnomeKeys) {
    std::optional<DconfValue> intended = Find(values, key);
    if (intended) {
      std::optional<DconfValue> compiled;
      if (db.values) compiled = db.values->Lookup(key);
      if (!compiled || !(*compiled == *intended)) pending = true;
    }
    if (locks.count(std::string(key)) > 0 &&
        !(db.locks && db.locks->HasValue(key))) {
      pending = true;
    }
  }
  out.set_pending_update(pending);
  return out;
}

uint32_t SaturatingAdd(uint32_t a, uint32_t b) {
  return b > std::numeric_limits<uint32_t>::max() - a
             ? std::numeric_limits<uint32_t>::max()
             : a + b;
}

void SetLockAfter(v1::ScreenLockUser* user) {
  bool locks = user->lock_enabled() && !user->lock_screen_disabled() &&
               user->idle_delay_seconds() > 0;
  user->set_lock_after_seconds(locks ? SaturatingAdd(user->idle_delay_seconds(),
                                                     user->lock_delay_seconds())
                                     : 0);
}

uint32_t ClampSeconds(int64_t seconds) {
  if (seconds <= 0) return 0;
  return seconds > std::numeric_limits<uint32_t>::max()
             ? std::numeric_limits<uint32_t>::max()
             : static_cast<uint32_t>(seconds);
}

// KDE integer setting: the resolved value if it parses, else the default
// (KConfig falls back to it), reported as the default.
int64_t KdeInt(ResolvedSetting* setting, int64_t fallback) {
  if (setting->value && setting->value->string) {
    std::optional<int64_t> parsed =
        ParseDecimal<int64_t>(Trim(*setting->value->string));
    if (parsed) return *parsed;
  }
  if (setting->source != v1::SCREEN_LOCK_SOURCE_LOCKED) {
    setting->source = v1::SCREEN_LOCK_SOURCE_DEFAULT;
  }
  return fallback;
}

}  // namespace

std::optional<DconfValue> ParseGVariantText(std::string_view text) {
  text = Trim(text);
  DconfValue value;
  if (text == "true" || text == "false") {
    value.type = "b";
    value.boolean = text == "true";
    return value;
  }
  for (std::string_view prefix : {"uint32 ", "@u "}) {
    if (StartsWith(text, prefix)) {
      std::optional<uint32_t> number =
          ParseDecimal<uint32_t>(Trim(text.substr(prefix.size())));
      if (!number) return std::nullopt;
      value.type = "u";
      value.uint32 = number;
      return value;
    }
  }
  std::string_view integer = text;
  if (StartsWith(integer, "int32 ")) integer = Trim(integer.substr(6));
  if (std::optional<int32_t> number = ParseDecimal<int32_t>(integer)) {
    value.type = "i";
    value.int32 = number;
    return value;
  }
  if (text.size() >= 2 && (text.front() == '\'' || text.front() == '"') &&
      text.back() == text.front()) {
    value.type = "s";
    value.string = std::string(text.substr(1, text.size() - 2));
    return value;
  }
  return std::nullopt;
}

std::map<std::string, DconfValue> ParseDconfKeyfile(std::string_view text) {
  std::map<std::string, DconfValue> out;
  std::string group;  // "org/gnome/desktop/session"; empty: no valid group
  for (std::string_view raw : SplitLines(text)) {
    std::string_view line = Trim(raw);
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      group.clear();
      if (line.back() != ']') continue;
      std::string_view name = Trim(line.substr(1, line.size() - 2));
      while (!name.empty() && name.front() == '/') name.remove_prefix(1);
      while (!name.empty() && name.back() == '/') name.remove_suffix(1);
      if (name.empty() || name.find("//") != std::string_view::npos) continue;
      group = std::string(name);
      continue;
    }
    if (group.empty()) continue;
    size_t equals = line.find('=');
    if (equals == std::string_view::npos) continue;
    std::string_view key = Trim(line.substr(0, equals));
    if (key.empty() || key.find_first_of("/[]") != std::string_view::npos) {
      continue;
    }
    std::optional<DconfValue> value =
        ParseGVariantText(line.substr(equals + 1));
    if (!value) continue;
    out[Cat("/", group, "/", key)] = std::move(*value);
  }
  return out;
}

std::vector<std::string> ParseDconfLocks(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view raw : SplitLines(text)) {
    std::string_view line = Trim(raw);
    if (line.empty() || line[0] != '/') continue;
    out.emplace_back(line);
  }
  return out;
}

std::vector<std::string> ParseDconfProfile(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view raw : SplitLines(text)) {
    std::string_view line = Trim(StripComment(raw));
    if (!line.empty()) out.emplace_back(line);
  }
  return out;
}

KdeLockConfig ParseKscreenlockerrc(std::string_view text) {
  KdeLockConfig out;
  bool seen_group = false;
  bool in_daemon = false;
  for (std::string_view raw : SplitLines(text)) {
    std::string_view line = Trim(raw);
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      if (!seen_group && line == "[$i]") {  // the whole file is immutable
        out.group_immutable = true;
        continue;
      }
      seen_group = true;
      in_daemon = line == "[Daemon]" || line == "[Daemon][$i]";
      if (line == "[Daemon][$i]") out.group_immutable = true;
      continue;
    }
    seen_group = true;
    if (!in_daemon) continue;
    size_t equals = line.find('=');
    if (equals == std::string_view::npos) continue;
    std::string_view key = Trim(line.substr(0, equals));
    std::string_view value = Trim(line.substr(equals + 1));
    bool immutable = false;
    bool localised = false;
    size_t bracket = key.find('[');
    if (bracket != std::string_view::npos) {
      std::string_view options = key.substr(bracket);
      key = key.substr(0, bracket);
      while (!options.empty()) {
        size_t close = options.find(']');
        if (options[0] != '[' || close == std::string_view::npos) {
          localised = true;  // malformed: KConfig would not match the key
          break;
        }
        std::string_view option = options.substr(1, close - 1);
        if (StartsWith(option, "$")) {
          if (option.find('i') != std::string_view::npos) immutable = true;
        } else {
          localised = true;
        }
        options.remove_prefix(close + 1);
      }
    }
    if (key.empty() || localised || value.empty()) continue;
    auto it = out.entries.find(std::string(key));
    if (it != out.entries.end() && it->second.immutable) continue;
    out.entries[std::string(key)] = KdeEntry{std::string(value), immutable};
  }
  return out;
}

std::optional<bool> ParseKdeBool(std::string_view value) {
  value = Trim(value);
  if (value.empty()) return std::nullopt;
  for (std::string_view no : {"false", "no", "off", "0"}) {
    if (EqualsIgnoreCase(value, no)) return false;
  }
  return true;
}

ResolvedSetting ResolveDconfSetting(const std::vector<DconfLayer>& layers,
                                    std::string_view key,
                                    std::string_view type) {
  // dconf_engine_read: locks of the first layer are ignored; the last layer
  // that locks the key is where reading starts.
  size_t lock_level = 0;
  for (size_t i = layers.size(); i-- > 1;) {
    if (layers[i].locks != nullptr && layers[i].locks->HasValue(key)) {
      lock_level = i;
      break;
    }
  }
  ResolvedSetting out;
  for (size_t i = lock_level; i < layers.size(); ++i) {
    if (layers[i].values == nullptr) continue;
    std::optional<DconfValue> value = layers[i].values->Lookup(key);
    if (!value) continue;
    out.value = std::move(value);
    out.source = layers[i].is_user ? v1::SCREEN_LOCK_SOURCE_USER
                                   : v1::SCREEN_LOCK_SOURCE_SYSTEM;
    break;
  }
  if (out.value && out.value->type != type) {
    out.value.reset();  // GSettings ignores a value of the wrong type
    out.source = v1::SCREEN_LOCK_SOURCE_DEFAULT;
  }
  if (lock_level > 0) out.source = v1::SCREEN_LOCK_SOURCE_LOCKED;
  return out;
}

ResolvedSetting ResolveKdeSetting(const KdeLockConfig& system,
                                  const KdeLockConfig* user,
                                  std::string_view key) {
  ResolvedSetting out;
  auto as_value = [](const KdeEntry& entry) {
    DconfValue value;
    value.type = "s";
    value.string = entry.value;
    return value;
  };
  auto system_entry = system.entries.find(std::string(key));
  bool has_system = system_entry != system.entries.end();
  if (system.group_immutable ||
      (has_system && system_entry->second.immutable)) {
    if (has_system) out.value = as_value(system_entry->second);
    out.source = v1::SCREEN_LOCK_SOURCE_LOCKED;
    return out;
  }
  if (user != nullptr) {
    auto user_entry = user->entries.find(std::string(key));
    if (user_entry != user->entries.end()) {
      out.value = as_value(user_entry->second);
      out.source = v1::SCREEN_LOCK_SOURCE_USER;
      return out;
    }
  }
  if (has_system) {
    out.value = as_value(system_entry->second);
    out.source = v1::SCREEN_LOCK_SOURCE_SYSTEM;
  }
  return out;
}

std::vector<ScreenLockAccount> ParseScreenLockAccounts(std::string_view text) {
  std::vector<ScreenLockAccount> out;
  for (std::string_view line : SplitLines(text)) {
    if (line.empty() || line[0] == '#' || line[0] == '+' || line[0] == '-') {
      continue;
    }
    std::vector<std::string_view> f = Split(line, ':');
    if (f.size() != 7 || f[0].empty()) continue;
    std::optional<uint32_t> uid = ParseDecimal<uint32_t>(f[2]);
    if (!uid || *uid < 1000 || *uid == 65534) continue;
    std::string_view home = Trim(f[5]);
    if (home.empty() || home == "/" || home[0] != '/') continue;
    if (!IsLoginShell(f[6])) continue;
    out.push_back({std::string(f[0]), *uid, std::string(home)});
  }
  return out;
}

absl::StatusOr<v1::Facts> ScreenLockProbe::Collect(const fs::path& root) const {
  v1::Facts facts;
  v1::ScreenLockFacts* out = facts.mutable_screen_lock();

  absl::StatusOr<PackageDatabase> database = ReadPackageDatabase(root);
  if (!database.ok()) return database.status();
  const std::map<std::string, std::string>& packages = database->installed;

  bool gnome = false;
  bool kde = false;
  std::set<std::string> other_desktops;
  for (std::string_view name : kGraphicalPackages) {
    if (packages.count(std::string(name)) == 0) continue;
    out->add_graphical_packages(std::string(name));
    if (name == "gnome-shell") gnome = true;
    if (name == "plasma-desktop" || name == "plasma-workspace") kde = true;
    if (name == "xfce4-session" || name == "cinnamon" ||
        name == "mate-session-manager") {
      other_desktops.insert(OtherDesktopName(name));
    }
  }
  for (std::string_view dir : {"xsessions", "wayland-sessions"}) {
    for (const std::string& file :
         ListRootedDir(root, Cat("usr/share/", dir), kMaxSessionFiles)) {
      if (!EndsWith(file, ".desktop") || file.size() == 8) continue;
      out->add_session_files(Cat(dir, "/", file));
      std::string_view name = std::string_view(file).substr(0, file.size() - 8);
      switch (ClassifySession(name)) {
        case SessionKind::kGnome:
          gnome = true;
          break;
        case SessionKind::kKde:
          kde = true;
          break;
        case SessionKind::kWrapper:
          break;
        case SessionKind::kOther:
          other_desktops.insert(OtherDesktopName(name));
          break;
      }
    }
  }
  std::sort(out->mutable_session_files()->begin(),
            out->mutable_session_files()->end());
  out->set_graphical(out->graphical_packages_size() > 0 ||
                     out->session_files_size() > 0);
  if (!out->graphical()) {
    MakeStringsValidUtf8(&facts);
    return facts;
  }
  if (gnome) out->add_desktops(v1::SCREEN_LOCK_DESKTOP_GNOME);
  if (kde) out->add_desktops(v1::SCREEN_LOCK_DESKTOP_KDE);
  for (const std::string& name : other_desktops) {
    out->add_unevaluated_desktops(name);
  }
  if (!gnome && !kde) {
    MakeStringsValidUtf8(&facts);
    return facts;
  }

  std::vector<ScreenLockAccount> accounts;
  absl::StatusOr<std::string> passwd =
      ReadRootedFile(root, "etc/passwd", kMaxAccountsFileBytes);
  if (passwd.ok()) {
    for (ScreenLockAccount& account : ParseScreenLockAccounts(*passwd)) {
      if (accounts.size() >= kMaxUsers) break;
      if (RootedExists(root, account.home)) {
        accounts.push_back(std::move(account));
      }
    }
  } else if (!absl::IsNotFound(passwd.status())) {
    return passwd.status();
  }

  std::vector<v1::ScreenLockUser> users;

  if (gnome) {
    // The profile: /etc/dconf/profile/user, else the packaged one, else
    // dconf's built-in "user-db:user".
    std::vector<std::string> profile = {"user-db:user"};
    for (std::string_view path :
         {"etc/dconf/profile/user", "usr/share/dconf/profile/user"}) {
      absl::StatusOr<std::string> text =
          ReadRootedFile(root, path, kMaxConfigFileBytes);
      if (!text.ok()) continue;
      profile = ParseDconfProfile(*text);
      break;
    }
    if (profile.size() > kMaxProfileEntries) profile.resize(kMaxProfileEntries);

    // The system layers, loaded once; the user layer is per user.
    std::deque<LoadedDatabase> system;
    std::vector<DconfLayer> layers;
    std::optional<size_t> user_layer;
    std::string user_db_name;
    for (const std::string& entry : profile) {
      out->add_dconf_profile(entry);
      size_t colon = entry.find(':');
      if (colon == std::string::npos) continue;
      std::string_view kind = std::string_view(entry).substr(0, colon);
      std::string name = entry.substr(colon + 1);
      if (kind == "user-db" && !user_layer && !name.empty() &&
          name.find('/') == std::string::npos) {
        user_layer = layers.size();
        user_db_name = name;
        layers.push_back(DconfLayer{true, nullptr, nullptr});
      } else if ((kind == "system-db" && !name.empty() &&
                  name.find('/') == std::string::npos) ||
                 (kind == "file-db" && StartsWith(name, "/"))) {
        LoadedDatabase& db = system.emplace_back();
        std::string error;
        std::string path =
            kind == "system-db" ? Cat("etc/dconf/db/", name) : name;
        LoadDconfDatabase(root, path, &db, &error);
        layers.push_back(DconfLayer{false, db.values ? &*db.values : nullptr,
                                    db.locks ? &*db.locks : nullptr});
        *out->add_dconf_databases() = DescribeSystemDatabase(
            root, kind == "system-db" ? name : entry, kind == "system-db", db);
      }
    }

    for (const ScreenLockAccount& account : accounts) {
      v1::ScreenLockUser user;
      user.set_name(account.name);
      user.set_uid(account.uid);
      user.set_desktop(v1::SCREEN_LOCK_DESKTOP_GNOME);
      LoadedDatabase own;
      std::vector<DconfLayer> mine = layers;
      if (user_layer) {
        std::string error;
        LoadDconfDatabase(root,
                          Cat(account.home, "/.config/dconf/", user_db_name),
                          &own, &error);
        if (!error.empty()) {
          user.set_settings_error(
              Cat("~/.config/dconf/", user_db_name, ": ", error));
        }
        mine[*user_layer].values = own.values ? &*own.values : nullptr;
        mine[*user_layer].locks = nullptr;  // dconf has no user locks
      }
      ResolvedSetting enabled =
          ResolveDconfSetting(mine, kGnomeLockEnabledKey, "b");
      ResolvedSetting idle = ResolveDconfSetting(mine, kGnomeIdleDelayKey, "u");
      ResolvedSetting delay =
          ResolveDconfSetting(mine, kGnomeLockDelayKey, "u");
      ResolvedSetting disabled =
          ResolveDconfSetting(mine, kGnomeDisableLockScreenKey, "b");
      user.set_lock_enabled(enabled.value ? *enabled.value->boolean
                                          : kGnomeDefaultLockEnabled);
      user.set_lock_enabled_source(enabled.source);
      user.set_idle_delay_seconds(idle.value ? *idle.value->uint32
                                             : kGnomeDefaultIdleDelay);
      user.set_idle_delay_source(idle.source);
      user.set_lock_delay_seconds(delay.value ? *delay.value->uint32
                                              : kGnomeDefaultLockDelay);
      user.set_lock_delay_source(delay.source);
      user.set_lock_screen_disabled(disabled.value && *disabled.value->boolean);
      SetLockAfter(&user);
      users.push_back(std::move(user));
    }
  }

  if (kde) {
    KdeLockConfig system;
    absl::StatusOr<std::string> system_text =
        ReadRootedFile(root, "etc/xdg/kscreenlockerrc", kMaxConfigFileBytes);
    if (system_text.ok()) system = ParseKscreenlockerrc(*system_text);
    for (const ScreenLockAccount& account : accounts) {
      v1::ScreenLockUser user;
      user.set_name(account.name);
      user.set_uid(account.uid);
      user.set_desktop(v1::SCREEN_LOCK_DESKTOP_KDE);
      std::optional<KdeLockConfig> own;
      absl::StatusOr<std::string> text =
          ReadRootedFile(root, Cat(account.home, "/.config/kscreenlockerrc"),
                         kMaxConfigFileBytes);
      if (text.ok()) {
        own = ParseKscreenlockerrc(*text);
      } else if (!absl::IsNotFound(text.status())) {
        user.set_settings_error(
            Cat("~/.config/kscreenlockerrc: ", ReadErrorText(text.status())));
      }
      const KdeLockConfig* mine = own ? &*own : nullptr;

      ResolvedSetting autolock = ResolveKdeSetting(system, mine, "Autolock");
      std::optional<bool> enabled;
      if (autolock.value) enabled = ParseKdeBool(*autolock.value->string);
      if (!enabled && autolock.source != v1::SCREEN_LOCK_SOURCE_LOCKED) {
        autolock.source = v1::SCREEN_LOCK_SOURCE_DEFAULT;
      }
      user.set_lock_enabled(enabled.value_or(kKdeDefaultAutolock));
      user.set_lock_enabled_source(autolock.source);

      ResolvedSetting timeout = ResolveKdeSetting(system, mine, "Timeout");
      int64_t minutes = KdeInt(&timeout, kKdeDefaultTimeoutMinutes);
      user.set_idle_delay_seconds(
          minutes > std::numeric_limits<int64_t>::max() / 60
              ? std::numeric_limits<uint32_t>::max()
              : ClampSeconds(minutes * 60));
      user.set_idle_delay_source(timeout.source);

      ResolvedSetting grace = ResolveKdeSetting(system, mine, "LockGrace");
      user.set_lock_delay_seconds(
          ClampSeconds(KdeInt(&grace, kKdeDefaultLockGraceSeconds)));
      user.set_lock_delay_source(grace.source);
      SetLockAfter(&user);
      users.push_back(std::move(user));
    }
  }

  std::sort(users.begin(), users.end(),
            [](const v1::ScreenLockUser& a, const v1::ScreenLockUser& b) {
              return std::make_tuple(a.uid(), a.name(), a.desktop()) <
                     std::make_tuple(b.uid(), b.name(), b.desktop());
            });
  for (v1::ScreenLockUser& user : users) *out->add_users() = std::move(user);
  MakeStringsValidUtf8(&facts);
  return facts;
}

}  // namespace evidentia::agent
