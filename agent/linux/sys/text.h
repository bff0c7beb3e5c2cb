// Small std::string_view text helpers for the Linux parsers. Debian's Abseil
// has its own absl::string_view (not std::string_view), so the parsers use
// these instead of absl/strings to keep one string_view type throughout.
#ifndef EVIDENTIA_AGENT_LINUX_SYS_TEXT_H_
#define EVIDENTIA_AGENT_LINUX_SYS_TEXT_H_

#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace evidentia::agent {

inline bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}
inline bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsAsciiAlnum(char c) {
  return IsAsciiDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

inline std::string_view TrimLeft(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  return s;
}
inline std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}
inline std::string_view Trim(std::string_view s) {
  return TrimRight(TrimLeft(s));
}

inline bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}
inline bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Splits on every `sep`; keeps empty pieces ("a::b" -> "a", "", "b").
std::vector<std::string_view> Split(std::string_view s, char sep);

// Splits on runs of any of `seps`; no empty pieces.
std::vector<std::string_view> SplitAny(std::string_view s,
                                       std::string_view seps);

// Words separated by spaces and tabs.
inline std::vector<std::string_view> Words(std::string_view s) {
  return SplitAny(s, " \t");
}

// Lines split on '\n' with a trailing '\r' dropped from each; no final empty
// line for text ending in '\n'.
std::vector<std::string_view> SplitLines(std::string_view text);

// SplitLines, with a line ending in '\\' joined to the next by one space (the
// backslash dropped), as sudoers and PAM configuration read them.
std::vector<std::string> JoinContinuedLines(std::string_view text);

// The whole of `s` as a decimal integer of type T (no sign for unsigned, no
// spaces, no overflow); nullopt otherwise.
template <typename T>
std::optional<T> ParseDecimal(std::string_view s) {
  static_assert(std::is_integral_v<T>);
  T value{};
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, value);
  if (s.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

// Concatenates string pieces and integers.
inline void AppendPieces(std::string*) {}
template <typename T, typename... Rest>
void AppendPieces(std::string* out, const T& first, const Rest&... rest) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, char>) {
    out->append(std::to_string(first));
  } else {
    out->append(std::string_view(first));
  }
  AppendPieces(out, rest...);
}
template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  AppendPieces(&out, args...);
  return out;
}

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_SYS_TEXT_H_
