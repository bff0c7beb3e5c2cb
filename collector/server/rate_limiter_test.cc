#include "collector/server/rate_limiter.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace evidentia::collector {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

TEST(PeerAddressTest, StripsThePortOfIpv4) {
  EXPECT_EQ(PeerAddress("ipv4:10.0.0.7:51234"), "10.0.0.7");
}

TEST(PeerAddressTest, StripsBracketsAndPortOfIpv6) {
  EXPECT_EQ(PeerAddress("ipv6:[::1]:5000"), "::1");
}

TEST(FailureLimiterTest, BlocksAfterMaxFailuresInTheWindow) {
  FailureLimiter limiter(5, absl::Minutes(1), 100);
  for (int i = 0; i < 4; ++i) limiter.TryAttempt("10.0.0.7", kT0);
  EXPECT_FALSE(limiter.Blocked("10.0.0.7", kT0));
  limiter.TryAttempt("10.0.0.7", kT0);
  EXPECT_TRUE(limiter.Blocked("10.0.0.7", kT0 + absl::Seconds(59)));
}

TEST(FailureLimiterTest, CheckAndCountAreOneStep) {
  // 50 attempts at once after 4 failures: the first takes the last failure
  // allowed before it is known whether it fails, so the others are refused.
  FailureLimiter limiter(5, absl::Minutes(1), 100);
  for (int i = 0; i < 4; ++i) limiter.TryAttempt("10.0.0.7", kT0);
  int admitted = 0;
  for (int i = 0; i < 50; ++i) admitted += limiter.TryAttempt("10.0.0.7", kT0);
  EXPECT_EQ(admitted, 1);
}

TEST(FailureLimiterTest, ForgivenAttemptsDoNotCount) {
  FailureLimiter limiter(2, absl::Minutes(1), 100);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(limiter.TryAttempt("10.0.0.7", kT0));
    limiter.Forgive("10.0.0.7", kT0);
  }
  EXPECT_FALSE(limiter.Blocked("10.0.0.7", kT0));
}

TEST(FailureLimiterTest, ForgivingAnAttemptOfAnEndedWindowKeepsTheNewCount) {
  FailureLimiter limiter(1, absl::Minutes(1), 100);
  ASSERT_TRUE(limiter.TryAttempt("10.0.0.7", kT0));
  ASSERT_TRUE(limiter.TryAttempt("10.0.0.7", kT0 + absl::Minutes(2)));
  limiter.Forgive("10.0.0.7", kT0);
  EXPECT_TRUE(limiter.Blocked("10.0.0.7", kT0 + absl::Minutes(2)));
}

TEST(FailureLimiterTest, OtherAddressesAreNotBlocked) {
  FailureLimiter limiter(5, absl::Minutes(1), 100);
  for (int i = 0; i < 5; ++i) limiter.TryAttempt("10.0.0.7", kT0);
  EXPECT_FALSE(limiter.Blocked("10.0.0.8", kT0));
}

TEST(FailureLimiterTest, WindowEndUnblocks) {
  FailureLimiter limiter(5, absl::Minutes(1), 100);
  for (int i = 0; i < 5; ++i) limiter.TryAttempt("10.0.0.7", kT0);
  EXPECT_FALSE(limiter.Blocked("10.0.0.7", kT0 + absl::Minutes(1)));
}

TEST(FailureLimiterTest, MemoryIsBounded) {
  FailureLimiter limiter(5, absl::Minutes(1), 16);
  for (int i = 0; i < 1000; ++i) {
    limiter.TryAttempt(absl::StrCat("10.0.", i / 256, ".", i % 256),
                       kT0 + absl::Milliseconds(i));
  }
  EXPECT_LE(limiter.size(), 16u);
}

TEST(FailureLimiterTest, FullTableEvictsTheOldestNotTheBlocked) {
  FailureLimiter limiter(2, absl::Minutes(1), 2);
  limiter.TryAttempt("old", kT0);
  limiter.TryAttempt("busy", kT0 + absl::Seconds(1));
  limiter.TryAttempt("busy", kT0 + absl::Seconds(1));
  limiter.TryAttempt("new", kT0 + absl::Seconds(2));
  EXPECT_TRUE(limiter.Blocked("busy", kT0 + absl::Seconds(3)));
  EXPECT_EQ(limiter.size(), 2u);
}

}  // namespace
}  // namespace evidentia::collector
