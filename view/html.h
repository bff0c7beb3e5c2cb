// HTML that is safe by construction, after Go's html/template: text is
// escaped wherever it lands, and markup can only come from string literals
// in our own code. Every value from an agent, a user or a file (hostnames,
// facts, reasons, names) goes in as text.
#ifndef EVIDENTIA_VIEW_HTML_H_
#define EVIDENTIA_VIEW_HTML_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace evidentia::view {

// `text` with & < > " ' escaped: safe as element content and as a quoted
// attribute value.
std::string Escape(absl::string_view text);

// `text` percent-encoded but for [A-Za-z0-9._~-]: safe as one path segment
// or query value of a URL.
std::string UrlPart(absl::string_view text);

class Html;
// Markup written in our code. Only a string literal compiles here.
template <size_t N>
Html Raw(const char (&literal)[N]);

// A piece of a page. Appending a string escapes it; appending Html does not.
class Html {
 public:
  Html() = default;

  Html& operator<<(absl::string_view text) {
    out_ += Escape(text);
    return *this;
  }
  Html& operator<<(const char* text) {
    return *this << absl::string_view(text);
  }
  Html& operator<<(const std::string& text) {
    return *this << absl::string_view(text);
  }
  Html& operator<<(const Html& markup) {
    out_ += markup.out_;
    return *this;
  }
  Html& operator<<(int64_t n);
  Html& operator<<(uint64_t n);
  Html& operator<<(int n) { return *this << static_cast<int64_t>(n); }
  Html& operator<<(unsigned n) { return *this << static_cast<uint64_t>(n); }

  const std::string& str() const { return out_; }
  std::string Take() && { return std::move(out_); }
  bool empty() const { return out_.empty(); }

 private:
  template <size_t N>
  friend Html Raw(const char (&literal)[N]);
  // Markup assembled by this library (attributes, numbers formatted here).
  friend Html Attr(absl::string_view name, absl::string_view value);
  friend Html Number(double value, int decimals);
  explicit Html(std::string markup) : out_(std::move(markup)) {}

  std::string out_;
};

template <size_t N>
Html Raw(const char (&literal)[N]) {
  return Html(std::string(literal, N - 1));
}

// ` name="value"`, the value escaped. `name` must be a literal of ours.
Html Attr(absl::string_view name, absl::string_view value);
// `value` with `decimals` digits after the point (SVG coordinates).
Html Number(double value, int decimals);

}  // namespace evidentia::view

#endif  // EVIDENTIA_VIEW_HTML_H_
