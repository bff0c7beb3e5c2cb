#include "agent/linux/sys/text.h"

namespace evidentia::agent {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> pieces;
  size_t start = 0;
  while (true) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) {
      pieces.push_back(s.substr(start));
      return pieces;
    }
    pieces.push_back(s.substr(start, end - start));
    start = end + 1;
  }
}

std::vector<std::string_view> SplitAny(std::string_view s,
                                       std::string_view seps) {
  std::vector<std::string_view> pieces;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = s.find_first_not_of(seps, i);
    if (start == std::string_view::npos) break;
    size_t end = s.find_first_of(seps, start);
    if (end == std::string_view::npos) end = s.size();
    pieces.push_back(s.substr(start, end - start));
    i = end;
  }
  return pieces;
}

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines = Split(text, '\n');
  for (std::string_view& line : lines) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  }
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

std::vector<std::string> JoinContinuedLines(std::string_view text) {
  std::vector<std::string> lines;
  std::string pending;
  bool continuing = false;
  for (std::string_view line : SplitLines(text)) {
    const bool continues = !line.empty() && line.back() == '\\';
    if (continues) line.remove_suffix(1);
    if (continuing) {
      pending.push_back(' ');
      pending.append(line);
    } else {
      pending.assign(line);
    }
    continuing = continues;
    if (!continuing) lines.push_back(std::move(pending));
  }
  if (continuing) lines.push_back(std::move(pending));
  return lines;
}

}  // namespace evidentia::agent
