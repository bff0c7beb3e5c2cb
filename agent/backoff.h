// Pacing the agent's talk to the collector: exponential backoff with full
// jitter between failed attempts, and a bound on the rate at which a
// backlog is sent, so that ten thousand agents coming back after an outage
// neither retry in lockstep nor flatten the collector. Pure: the random
// source is injected, time is passed in. Not thread-safe.
#ifndef EVIDENTIA_AGENT_BACKOFF_H_
#define EVIDENTIA_AGENT_BACKOFF_H_

#include <functional>

#include "absl/time/time.h"

namespace evidentia::agent {

inline constexpr absl::Duration kBackoffBase = absl::Seconds(1);
inline constexpr absl::Duration kBackoffCap = absl::Minutes(5);

// After the n-th consecutive failure (n = 1, 2, ...) the next attempt waits
// a uniformly random time in [0, min(cap, base * 2^(n-1))] ("full jitter").
class Backoff {
 public:
  // `uniform` returns a number in [0, 1); e.g. from std::mt19937_64 seeded
  // from the OS.
  Backoff(absl::Duration base, absl::Duration cap,
          std::function<double()> uniform);

  // Records a failure; returns how long to wait before the next attempt.
  absl::Duration NextDelay();
  // Records a success: the next failure starts from `base` again.
  void Reset() { failures_ = 0; }
  int failures() const { return failures_; }
  // The upper bound of the delay NextDelay would draw now.
  absl::Duration Ceiling() const;

 private:
  absl::Duration base_, cap_;
  std::function<double()> uniform_;
  int failures_ = 0;
};

// At most `per_second` sends per second on average, no burst: each send is
// due 1/per_second after the previous one.
class SendPacer {
 public:
  explicit SendPacer(double per_second) : per_second_(per_second) {}

  // How long to wait at `now` before the next send (zero when due); the
  // send is then counted as made at now + the returned wait.
  absl::Duration Reserve(absl::Time now);

 private:
  double per_second_;
  absl::Time next_ = absl::InfinitePast();
};

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_BACKOFF_H_
