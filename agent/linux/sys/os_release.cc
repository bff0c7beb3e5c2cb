#include "agent/linux/sys/os_release.h"

#include "absl/status/status.h"
#include "agent/linux/sys/rooted_fs.h"
#include "agent/linux/sys/text.h"

namespace evidentia::agent {
namespace {

constexpr size_t kMaxOsReleaseBytes = 64 << 10;

std::string Unquote(std::string_view value) {
  if (value.size() < 2) return std::string(value);
  char quote = value.front();
  if ((quote != '"' && quote != '\'') || value.back() != quote) {
    return std::string(value);
  }
  value = value.substr(1, value.size() - 2);
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (quote == '"' && value[i] == '\\' && i + 1 < value.size() &&
        (value[i + 1] == '"' || value[i + 1] == '\\' || value[i + 1] == '$' ||
         value[i + 1] == '`')) {
      ++i;
    }
    out.push_back(value[i]);
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> ParseOsRelease(std::string_view text) {
  std::map<std::string, std::string> values;
  for (std::string_view line : SplitLines(text)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    size_t equals = line.find('=');
    if (equals == 0 || equals == std::string_view::npos) continue;
    values[std::string(Trim(line.substr(0, equals)))] =
        Unquote(Trim(line.substr(equals + 1)));
  }
  return values;
}

absl::StatusOr<std::map<std::string, std::string>> ReadOsRelease(
    const std::filesystem::path& root) {
  absl::StatusOr<std::string> text =
      ReadRootedFile(root, "etc/os-release", kMaxOsReleaseBytes);
  if (absl::IsNotFound(text.status())) {
    text = ReadRootedFile(root, "usr/lib/os-release", kMaxOsReleaseBytes);
  }
  if (absl::IsNotFound(text.status())) {
    return std::map<std::string, std::string>();
  }
  if (!text.ok()) return text.status();
  return ParseOsRelease(*text);
}

}  // namespace evidentia::agent
