#include "agent/backoff.h"

#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace evidentia::agent {
namespace {

// A "random" source that always returns `value`.
std::function<double()> Always(double value) {
  return [value] { return value; };
}

TEST(BackoffTest, CeilingDoublesFromBaseAfterEachFailure) {
  Backoff backoff(absl::Seconds(1), absl::Minutes(5), Always(0.999999));
  std::vector<absl::Duration> ceilings;
  for (int i = 0; i < 4; ++i) {
    backoff.NextDelay();
    ceilings.push_back(backoff.Ceiling());
  }
  EXPECT_EQ(ceilings,
            (std::vector<absl::Duration>{absl::Seconds(1), absl::Seconds(2),
                                         absl::Seconds(4), absl::Seconds(8)}));
}

TEST(BackoffTest, CeilingStopsAtTheCap) {
  Backoff backoff(absl::Seconds(1), absl::Minutes(5), Always(0.5));
  for (int i = 0; i < 100; ++i) backoff.NextDelay();
  EXPECT_EQ(backoff.Ceiling(), absl::Minutes(5));
  EXPECT_LE(backoff.NextDelay(), absl::Minutes(5));
}

TEST(BackoffTest, DelayIsTheRandomFractionOfTheCeiling) {
  Backoff backoff(absl::Seconds(1), absl::Minutes(5), Always(0.25));
  backoff.NextDelay();
  backoff.NextDelay();
  EXPECT_EQ(backoff.NextDelay(), absl::Seconds(1));  // 0.25 * 4 s
}

TEST(BackoffTest, FullJitterCanDrawZero) {
  Backoff backoff(absl::Seconds(1), absl::Minutes(5), Always(0.0));
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(backoff.NextDelay(), absl::ZeroDuration());
}

TEST(BackoffTest, DelayNeverExceedsCeilingEvenForABadSource) {
  Backoff backoff(absl::Seconds(1), absl::Minutes(5), Always(7.0));
  EXPECT_EQ(backoff.NextDelay(), absl::Seconds(1));
}

TEST(BackoffTest, ResetStartsFromBaseAgain) {
  Backoff backoff(absl::Seconds(1), absl::Minutes(5), Always(0.999999));
  for (int i = 0; i < 6; ++i) backoff.NextDelay();
  backoff.Reset();
  EXPECT_EQ(backoff.failures(), 0);
  backoff.NextDelay();
  EXPECT_EQ(backoff.Ceiling(), absl::Seconds(1));
}

TEST(SendPacerTest, FirstSendIsImmediate) {
  SendPacer pacer(10);
  EXPECT_EQ(pacer.Reserve(absl::FromUnixSeconds(100)), absl::ZeroDuration());
}

TEST(SendPacerTest, BacklogIsSpreadAtTheRate) {
  SendPacer pacer(10);
  const absl::Time now = absl::FromUnixSeconds(100);
  pacer.Reserve(now);
  EXPECT_EQ(pacer.Reserve(now), absl::Milliseconds(100));
  EXPECT_EQ(pacer.Reserve(now), absl::Milliseconds(200));
}

TEST(SendPacerTest, IdleTimeIsNotSavedUpAsABurst) {
  SendPacer pacer(10);
  pacer.Reserve(absl::FromUnixSeconds(100));
  const absl::Time later = absl::FromUnixSeconds(200);
  EXPECT_EQ(pacer.Reserve(later), absl::ZeroDuration());
  EXPECT_EQ(pacer.Reserve(later), absl::Milliseconds(100));
}

TEST(SendPacerTest, ZeroRateMeansUnpaced) {
  SendPacer pacer(0);
  const absl::Time now = absl::FromUnixSeconds(100);
  pacer.Reserve(now);
  EXPECT_EQ(pacer.Reserve(now), absl::ZeroDuration());
}

}  // namespace
}  // namespace evidentia::agent
