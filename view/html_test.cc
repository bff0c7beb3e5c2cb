#include "view/html.h"

#include <string>

#include "gtest/gtest.h"

namespace evidentia::view {
namespace {

TEST(EscapeTest, EscapesEveryCharacterThatEndsTextOrAnAttribute) {
  EXPECT_EQ(Escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; "
            "&quot;q&quot;");
}

TEST(EscapeTest, LeavesUtf8AndPlainTextAlone) {
  EXPECT_EQ(Escape("façade — ok"), "façade — ok");
}

TEST(UrlPartTest, PercentEncodesAllButUnreserved) {
  EXPECT_EQ(UrlPart("a.8.24"), "a.8.24");
  EXPECT_EQ(UrlPart("../x y?&#\"<"), "..%2Fx%20y%3F%26%23%22%3C");
  EXPECT_EQ(UrlPart(std::string("\0\xff", 2)), "%00%FF");
}

TEST(HtmlTest, AppendedStringsAreEscapedAndLiteralsAreNot) {
  Html html;
  const std::string hostname = "<img src=x onerror=alert(1)>";
  html << Raw("<td>") << hostname << Raw("</td>");
  EXPECT_EQ(html.str(), "<td>&lt;img src=x onerror=alert(1)&gt;</td>");
}

TEST(HtmlTest, CharPointersAreTextToo) {
  Html html;
  const char* text = "<b>";
  html << text;
  EXPECT_EQ(html.str(), "&lt;b&gt;");
}

TEST(HtmlTest, AttributeValuesCannotCloseTheirQuotes) {
  Html html;
  html << Raw("<a") << Attr("href", "/x\" onclick=\"evil()") << Raw(">");
  EXPECT_EQ(html.str(), "<a href=\"/x&quot; onclick=&quot;evil()\">");
}

TEST(HtmlTest, NumbersAreFormattedAndNonFiniteOnesBecomeZero) {
  Html html;
  html << Number(12.345, 1) << " " << Number(1.0 / 0.0, 2) << " " << int64_t{-7}
       << " " << uint64_t{18446744073709551615u};
  EXPECT_EQ(html.str(), "12.3 0.00 -7 18446744073709551615");
}

}  // namespace
}  // namespace evidentia::view
