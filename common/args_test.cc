#include "common/args.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evidentia {
namespace {

using ::testing::HasSubstr;

const std::vector<FlagSpec> kFlags = {
    {"ttl", "DURATION", "how long the token is valid"},
    {"json", "", "one JSON document"},
};

absl::StatusOr<Args> ParseWords(std::vector<const char*> words) {
  words.insert(words.begin(), "evidentia");
  return Args::Parse(static_cast<int>(words.size()), words.data(), 1, kFlags);
}

TEST(ArgsTest, TakesTheFlagsOfItsTable) {
  absl::StatusOr<Args> args = ParseWords({"--ttl", "1h", "--json", "word"});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->Get("ttl"), "1h");
  EXPECT_TRUE(args->Has("json"));
  EXPECT_EQ(args->positional(), std::vector<std::string>{"word"});
}

TEST(ArgsTest, RefusesAFlagNotInItsTableNamingIt) {
  absl::StatusOr<Args> args = ParseWords({"--json", "--file", "x"});
  EXPECT_EQ(args.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(args.status().message(), HasSubstr("unknown flag --file"));
}

TEST(ArgsTest, BooleanOfTheTableTakesNoValue) {
  absl::StatusOr<Args> args = ParseWords({"--json=yes"});
  EXPECT_EQ(args.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(args.status().message(), HasSubstr("--json takes no value"));
}

TEST(ArgsTest, ValueFlagOfTheTableNeedsAValue) {
  absl::StatusOr<Args> args = ParseWords({"--ttl"});
  EXPECT_EQ(args.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(args.status().message(), HasSubstr("--ttl needs a value"));
}

TEST(ArgsTest, FlagHelpAlignsOneLinePerFlag) {
  EXPECT_EQ(FlagHelp(kFlags),
            "  --ttl DURATION  how long the token is valid\n"
            "  --json          one JSON document\n");
}

TEST(ArgsTest, FlagsConcatenatesGroupsInOrder) {
  const std::vector<FlagSpec> all = Flags({kFlags, {{"help", "", "this"}}});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].name, "ttl");
  EXPECT_EQ(all[2].name, "help");
}

}  // namespace
}  // namespace evidentia
