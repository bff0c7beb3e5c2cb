#include "view/html.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace evidentia::view {

std::string Escape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string UrlPart(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                       (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                       c == '~' || c == '-';
    if (plain) {
      out += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
  return out;
}

Html& Html::operator<<(int64_t n) {
  absl::StrAppend(&out_, n);
  return *this;
}

Html& Html::operator<<(uint64_t n) {
  absl::StrAppend(&out_, n);
  return *this;
}

Html Attr(absl::string_view name, absl::string_view value) {
  return Html(absl::StrCat(" ", name, "=\"", Escape(value), "\""));
}

Html Number(double value, int decimals) {
  if (!std::isfinite(value)) value = 0;
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  return Html(buffer);
}

}  // namespace evidentia::view
