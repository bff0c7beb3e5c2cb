// systemd's configuration file syntax (systemd.syntax(7)): unit files, their
// drop-ins, and the daemons' *.conf files read the same way
// (timesyncd.conf, journald.conf), and the drop-in directories beside them.
#ifndef EVIDENTIA_AGENT_LINUX_SYS_SYSTEMD_UNIT_H_
#define EVIDENTIA_AGENT_LINUX_SYS_SYSTEMD_UNIT_H_

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace evidentia::agent {

// One "Key=Value" of a systemd configuration file, with its section.
struct UnitSetting {
  std::string section;  // without brackets, e.g. "Timer"
  std::string key;
  std::string value;  // trimmed; backslash continuations joined
};

// Settings of a systemd configuration file in file order: "[Section]"
// headers, '#' and ';' comments, backslash line continuations (comment
// lines inside a continuation dropped, as systemd does). Lines outside a
// section or without '=' are skipped. Any bytes are accepted.
std::vector<UnitSetting> ParseUnitFile(std::string_view text);

// The values of `key` in `section` across `settings` (a file followed by
// its drop-ins), for list-valued keys: an empty assignment clears what came
// before, as systemd does. Empty values are not returned.
std::vector<std::string> UnitValues(const std::vector<UnitSetting>& settings,
                                    std::string_view section,
                                    std::string_view key);

// The last value of `key` in `section` (empty if never set): single-valued
// keys, where a later assignment overrides.
std::string LastUnitValue(const std::vector<UnitSetting>& settings,
                          std::string_view section, std::string_view key);

// The files named *`suffix` in the directories `dirs` (below `root`, most
// important first): a file name in an earlier directory hides the same name
// in later ones (a drop-in in /etc overrides /usr/lib's, a link to
// /dev/null masks it), ordered by file name. At most `max_per_dir` names are
// read per directory and `max_files` returned (the first by name). Paths are
// "DIR/NAME" relative to root. How systemd reads NAME.d/*.conf and
// timesyncd.conf.d, and chrony its confdir and sourcedir.
std::vector<std::string> DropInFiles(const std::filesystem::path& root,
                                     const std::vector<std::string>& dirs,
                                     std::string_view suffix,
                                     size_t max_per_dir, size_t max_files);

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_SYS_SYSTEMD_UNIT_H_
