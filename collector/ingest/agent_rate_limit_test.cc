#include "collector/ingest/agent_rate_limit.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace evidentia::collector {
namespace {

class AgentRateLimiterTest : public ::testing::Test {
 protected:
  absl::Time now_ = absl::FromUnixSeconds(1000);
  AgentRateLimiter limiter_{2.0, 3.0, [this] { return now_; }};
};

TEST_F(AgentRateLimiterTest, BurstIsAdmittedAtOnce) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(limiter_.Admit("a"), absl::ZeroDuration()) << i;
  }
}

TEST_F(AgentRateLimiterTest, OverTheBurstSaysWhenATokenIsThere) {
  for (int i = 0; i < 3; ++i) limiter_.Admit("a");
  EXPECT_EQ(limiter_.Admit("a"), absl::Milliseconds(500));
}

TEST_F(AgentRateLimiterTest, TokensRefillAtTheRate) {
  for (int i = 0; i < 3; ++i) limiter_.Admit("a");
  now_ += absl::Milliseconds(500);
  EXPECT_EQ(limiter_.Admit("a"), absl::ZeroDuration());
  EXPECT_GT(limiter_.Admit("a"), absl::ZeroDuration());
}

TEST_F(AgentRateLimiterTest, RefillStopsAtTheBurst) {
  limiter_.Admit("a");
  now_ += absl::Hours(1);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(limiter_.Admit("a"), absl::ZeroDuration());
  EXPECT_GT(limiter_.Admit("a"), absl::ZeroDuration());
}

TEST_F(AgentRateLimiterTest, AgentsHaveTheirOwnBuckets) {
  for (int i = 0; i < 3; ++i) limiter_.Admit("a");
  EXPECT_GT(limiter_.Admit("a"), absl::ZeroDuration());
  EXPECT_EQ(limiter_.Admit("b"), absl::ZeroDuration());
}

TEST_F(AgentRateLimiterTest, RefusedRequestTakesNoToken) {
  for (int i = 0; i < 3; ++i) limiter_.Admit("a");
  for (int i = 0; i < 5; ++i) limiter_.Admit("a");  // all refused
  now_ += absl::Milliseconds(500);
  EXPECT_EQ(limiter_.Admit("a"), absl::ZeroDuration());
}

}  // namespace
}  // namespace evidentia::collector
