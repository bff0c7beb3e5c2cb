#include "agent/linux/sys/utf8.h"

#include <string>

#include "evidentia/v1/facts/local_accounts.pb.h"
#include "gtest/gtest.h"

namespace evidentia::agent {
namespace {

TEST(Utf8Test, KeepsValidMultibyteText) {
  EXPECT_EQ(ToValidUtf8("Jürgen 日本 🙂"), "Jürgen 日本 🙂");
}

TEST(Utf8Test, ReplacesStrayBytes) {
  EXPECT_EQ(ToValidUtf8("a\xff"
                        "b\x80"),
            "a?b?");
}

TEST(Utf8Test, ReplacesTruncatedSequence) {
  EXPECT_EQ(ToValidUtf8("x\xe6\x97"), "x??");
}

TEST(Utf8Test, RejectsOverlongAndSurrogates) {
  EXPECT_EQ(ToValidUtf8("\xc0\xaf"), "??");
  EXPECT_EQ(ToValidUtf8("\xed\xa0\x80"), "???");
  EXPECT_EQ(ToValidUtf8("\xf4\x90\x80\x80"), "????");
}

TEST(Utf8Test, SanitizesNestedAndRepeatedFields) {
  v1::LocalAccountsFacts facts;
  facts.add_accounts()->set_name("bad\xfe");
  facts.add_uid0_non_root("\xff");
  facts.add_sudo_rules()->add_commands("/bin/\xc3");
  MakeStringsValidUtf8(&facts);
  EXPECT_EQ(facts.accounts(0).name(), "bad?");
  EXPECT_EQ(facts.uid0_non_root(0), "?");
  EXPECT_EQ(facts.sudo_rules(0).commands(0), "/bin/?");
}

}  // namespace
}  // namespace evidentia::agent
