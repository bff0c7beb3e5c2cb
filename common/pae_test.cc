#include "common/pae.h"

#include <string>

#include "gtest/gtest.h"

namespace evidentia {
namespace {

TEST(PaeTest, MatchesDsseKnownAnswer) {
  EXPECT_EQ(Pae("http://example.com/HelloWorld", "hello world"),
            "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
}

TEST(PaeTest, EncodesEmptyPayload) { EXPECT_EQ(Pae("t", ""), "DSSEv1 1 t 0 "); }

TEST(PaeTest, EncodesEmptyTypeAndPayload) {
  EXPECT_EQ(Pae("", ""), "DSSEv1 0  0 ");
}

TEST(PaeTest, CountsBytesIncludingNul) {
  const std::string payload("a\0b", 3);
  EXPECT_EQ(Pae("x", payload), std::string("DSSEv1 1 x 3 a\0b", 16));
}

TEST(PaeTest, SeparatesTypeFromPayloadUnambiguously) {
  // Moving bytes between type and payload changes the encoding.
  EXPECT_NE(Pae("ab", "c"), Pae("a", "bc"));
}

}  // namespace
}  // namespace evidentia
