#include "agent/linux/sys/systemd_unit.h"

#include <map>

#include "agent/linux/sys/rooted_fs.h"
#include "agent/linux/sys/text.h"

namespace evidentia::agent {

std::vector<UnitSetting> ParseUnitFile(std::string_view text) {
  std::vector<UnitSetting> settings;
  std::string section;
  std::string pending;
  bool continuing = false;
  auto finish = [&](std::string_view logical) {
    std::string_view line = Trim(logical);
    if (line.empty() || line[0] == '#' || line[0] == ';') return;
    if (line[0] == '[') {
      size_t close = line.find(']');
      section = close == std::string_view::npos
                    ? std::string()
                    : std::string(line.substr(1, close - 1));
      return;
    }
    size_t equals = line.find('=');
    if (section.empty() || equals == std::string_view::npos) return;
    std::string_view key = Trim(line.substr(0, equals));
    if (key.empty()) return;
    settings.push_back(UnitSetting{section, std::string(key),
                                   std::string(Trim(line.substr(equals + 1)))});
  };
  for (std::string_view line : SplitLines(text)) {
    std::string_view trimmed = TrimLeft(line);
    if (continuing && !trimmed.empty() &&
        (trimmed[0] == '#' || trimmed[0] == ';')) {
      continue;
    }
    std::string_view body = TrimRight(line);
    bool continues = !body.empty() && body.back() == '\\';
    if (continues) body.remove_suffix(1);
    if (continuing) {
      pending.push_back(' ');
      pending.append(body);
    } else {
      pending.assign(body);
    }
    continuing = continues;
    if (!continuing) finish(pending);
  }
  if (continuing) finish(pending);
  return settings;
}

std::vector<std::string> UnitValues(const std::vector<UnitSetting>& settings,
                                    std::string_view section,
                                    std::string_view key) {
  std::vector<std::string> values;
  for (const UnitSetting& s : settings) {
    if (s.section != section || s.key != key) continue;
    if (s.value.empty()) {
      values.clear();
    } else {
      values.push_back(s.value);
    }
  }
  return values;
}

std::string LastUnitValue(const std::vector<UnitSetting>& settings,
                          std::string_view section, std::string_view key) {
  std::string value;
  for (const UnitSetting& s : settings) {
    if (s.section == section && s.key == key) value = s.value;
  }
  return value;
}

std::vector<std::string> DropInFiles(const std::filesystem::path& root,
                                     const std::vector<std::string>& dirs,
                                     std::string_view suffix,
                                     size_t max_per_dir, size_t max_files) {
  std::map<std::string, std::string> by_name;  // file name -> path
  for (const std::string& dir : dirs) {
    for (const std::string& name : ListRootedDir(root, dir, max_per_dir)) {
      if (name.size() <= suffix.size() || !EndsWith(name, suffix)) continue;
      by_name.emplace(name, Cat(dir, "/", name));
    }
  }
  std::vector<std::string> files;
  for (auto& [name, path] : by_name) {
    if (files.size() >= max_files) break;
    files.push_back(std::move(path));
  }
  return files;
}

}  // namespace evidentia::agent
