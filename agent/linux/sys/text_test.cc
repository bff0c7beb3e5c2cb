#include "agent/linux/sys/text.h"

#include <cstdint>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evidentia::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(TextTest, SplitKeepsEmptyPieces) {
  EXPECT_THAT(Split("a::b", ':'), ElementsAre("a", "", "b"));
  EXPECT_THAT(Split("", ':'), ElementsAre(""));
}

TEST(TextTest, SplitAnyDropsEmptyPieces) {
  EXPECT_THAT(SplitAny("  a \t b  ", " \t"), ElementsAre("a", "b"));
}

TEST(TextTest, SplitLinesDropsCarriageReturnAndFinalEmptyLine) {
  EXPECT_THAT(SplitLines("a\r\nb\n"), ElementsAre("a", "b"));
  EXPECT_THAT(SplitLines("a\n\nb"), ElementsAre("a", "", "b"));
}

TEST(TextTest, ParseDecimalRejectsSignSpacesAndOverflow) {
  EXPECT_EQ(ParseDecimal<uint32_t>("4294967295"), 4294967295u);
  EXPECT_FALSE(ParseDecimal<uint32_t>("4294967296").has_value());
  EXPECT_FALSE(ParseDecimal<uint32_t>("-1").has_value());
  EXPECT_FALSE(ParseDecimal<uint32_t>(" 1").has_value());
  EXPECT_FALSE(ParseDecimal<uint32_t>("").has_value());
  EXPECT_EQ(ParseDecimal<int64_t>("-5"), -5);
}

TEST(TextTest, EqualsIgnoreCaseComparesAsciiOnly) {
  EXPECT_TRUE(EqualsIgnoreCase("Package", "pACKAGE"));
  EXPECT_FALSE(EqualsIgnoreCase("Package", "Packages"));
}

TEST(TextTest, CatJoinsStringsAndIntegers) {
  EXPECT_EQ(Cat("sys/dev/block/", 8u, ":", 2), "sys/dev/block/8:2");
}

TEST(TextTest, JoinContinuedLinesJoinsWithOneSpace) {
  EXPECT_THAT(JoinContinuedLines("a \\\nb\\\n  c\nd\r\n"),
              ElementsAre("a  b   c", "d"));
  // A continuation at the end of the text still ends the last line.
  EXPECT_THAT(JoinContinuedLines("x\\"), ElementsAre("x"));
  EXPECT_THAT(JoinContinuedLines(""), IsEmpty());
}

}  // namespace
}  // namespace evidentia::agent
