#include "common/sha256.h"

#include <string>

#include "gtest/gtest.h"

namespace evidentia {
namespace {

TEST(Sha256Test, HashesAbc) {
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, HashesEmptyString) {
  EXPECT_EQ(Sha256Hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256Test, HashesTwoBlockMessage) {
  EXPECT_EQ(
      Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, RawDigestIs32BytesMatchingHex) {
  const std::string digest = Sha256("abc");
  ASSERT_EQ(digest.size(), kSha256Size);
  EXPECT_EQ(ToHex(digest), Sha256Hex("abc"));
}

TEST(Sha256Test, ToHexIsLowercaseAndKeepsZeros) {
  EXPECT_EQ(ToHex(std::string("\x00\x0f\xab\xff", 4)), "000fabff");
}

TEST(Sha256Test, ToHexOfEmptyIsEmpty) { EXPECT_EQ(ToHex(""), ""); }

}  // namespace
}  // namespace evidentia
