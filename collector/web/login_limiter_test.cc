#include "collector/web/login_limiter.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/web/client_address.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evidentia::collector::web {
namespace {

LoginLimiter Limiter(absl::Time* now) {
  return LoginLimiter([now] { return *now; }, LoginLimits{});
}

TEST(LoginLimiterTest, FiveFailuresLockTheAccountUntilTheWindowPasses) {
  absl::Time now = absl::FromUnixSeconds(1800000000);
  LoginLimiter limiter = Limiter(&now);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(limiter.Attempt("alice", "10.0.0.1").ok()) << i;
  }
  const absl::Status refused = limiter.Attempt("alice", "10.0.0.2").status();
  EXPECT_TRUE(absl::IsResourceExhausted(refused));
  EXPECT_THAT(refused.message(), testing::HasSubstr("try again in 900 s"));
  // Another account from the same address may still try.
  EXPECT_TRUE(limiter.Attempt("bob", "10.0.0.1").ok());
  now += absl::Minutes(15);
  EXPECT_TRUE(limiter.Attempt("alice", "10.0.0.2").ok());
}

TEST(LoginLimiterTest, ASuccessForgetsTheAccountsFailuresOnly) {
  absl::Time now = absl::FromUnixSeconds(1800000000);
  LoginLimiter limiter = Limiter(&now);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(limiter.Attempt("alice", "a").ok());
  absl::StatusOr<uint64_t> right = limiter.Attempt("alice", "a");
  ASSERT_TRUE(right.ok());
  limiter.Succeeded("alice", "a", *right);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(limiter.Attempt("alice", "b").ok()) << i;
  }
  EXPECT_FALSE(limiter.Attempt("alice", "b").ok());
}

TEST(LoginLimiterTest, AnUndecidedAttemptIsNotCounted) {
  absl::Time now = absl::FromUnixSeconds(1800000000);
  LoginLimiter limiter = Limiter(&now);
  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<uint64_t> ticket = limiter.Attempt("alice", "a");
    ASSERT_TRUE(ticket.ok()) << i;
    limiter.Undecided("alice", "a", *ticket);
  }
}

// Taking back one attempt leaves the others' failures: a later one's
// success or failure to be judged cannot erase an earlier wrong guess.
TEST(LoginLimiterTest, TakingBackAnAttemptLeavesTheOthers) {
  absl::Time now = absl::FromUnixSeconds(1800000000);
  LoginLimiter limiter = Limiter(&now);
  std::vector<uint64_t> tickets;
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<uint64_t> ticket = limiter.Attempt("alice", "a");
    ASSERT_TRUE(ticket.ok()) << i;
    tickets.push_back(*ticket);
    now += absl::Seconds(1);
  }
  // The first attempt could not be judged: four failures remain, one try.
  limiter.Undecided("alice", "a", tickets[0]);
  EXPECT_TRUE(limiter.Attempt("alice", "a").ok());
  EXPECT_FALSE(limiter.Attempt("alice", "a").ok());
  // Taking back an attempt twice, or one never made, changes nothing.
  limiter.Undecided("alice", "a", tickets[0]);
  limiter.Undecided("alice", "a", 999999);
  EXPECT_FALSE(limiter.Attempt("alice", "a").ok());
}

// Guesses sent at once must not pass the limit together: each counts from
// the moment it is let through.
TEST(LoginLimiterTest, SimultaneousGuessesCannotPassTheLimitTogether) {
  absl::Time now = absl::FromUnixSeconds(1800000000);
  LoginLimiter limiter = Limiter(&now);
  std::atomic<int> allowed{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      if (limiter.Attempt("alice", "10.0.0.1").ok()) ++allowed;
    });
  }
  go = true;
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 5);
}

TEST(LoginLimiterTest, AnIpv6HostIsCountedByItsSlash64) {
  EXPECT_EQ(LoginLimiter::AddressKey("2001:db8:1:2::1"),
            LoginLimiter::AddressKey("2001:db8:1:2:ffff:ffff:ffff:ffff"));
  EXPECT_NE(LoginLimiter::AddressKey("2001:db8:1:2::1"),
            LoginLimiter::AddressKey("2001:db8:1:3::1"));
  EXPECT_EQ(LoginLimiter::AddressKey("::ffff:127.0.0.1"),
            LoginLimiter::AddressKey("127.0.0.1"));
  EXPECT_NE(LoginLimiter::AddressKey("127.0.0.1"),
            LoginLimiter::AddressKey("127.0.0.2"));
  // Not an address: kept as it is.
  EXPECT_EQ(LoginLimiter::AddressKey("not:an address"), "a:not:an address");
  EXPECT_EQ(ClientGroup("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(ClientGroup("::ffff:10.1.2.3"), "10.1.2.3");
  EXPECT_EQ(ClientGroup("10.1.2.3"), "10.1.2.3");

  absl::Time now = absl::FromUnixSeconds(1800000000);
  LoginLimiter limiter = Limiter(&now);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(
        limiter.Attempt(absl::StrCat("user", i), absl::StrCat("2001:db8::", i))
            .ok())
        << i;
  }
  EXPECT_FALSE(limiter.Attempt("someone", "2001:db8::ffff").ok());
  EXPECT_TRUE(limiter.Attempt("someone", "2001:db8:0:1::1").ok());
}

}  // namespace
}  // namespace evidentia::collector::web
