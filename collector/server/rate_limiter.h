// Limits failed attempts per client address: after `max_failures` failures
// within `window` of the first one, an address is refused until that window
// ends. An attempt is counted as a failure when it starts, in the same step
// as the check, and forgiven if it succeeds: so concurrent attempts cannot
// all pass the check before any of them is counted. Memory is bounded: at most
// `max_addresses` addresses are tracked; when full, expired entries go first,
// then the one whose window started earliest (so a flood from many addresses
// can only evict, never block, others). Thread-safe.
#ifndef EVIDENTIA_COLLECTOR_SERVER_RATE_LIMITER_H_
#define EVIDENTIA_COLLECTOR_SERVER_RATE_LIMITER_H_

#include <cstddef>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace evidentia::collector {

// The address part of a gRPC peer string ("ipv4:10.0.0.7:51234" ->
// "10.0.0.7", "ipv6:[::1]:5000" -> "::1"); other forms are returned whole.
std::string PeerAddress(absl::string_view grpc_peer);

class FailureLimiter {
 public:
  FailureLimiter(int max_failures, absl::Duration window, size_t max_addresses);

  // Whether `address` has used up its failures in the current window.
  bool Blocked(absl::string_view address, absl::Time now) const;
  // Starts an attempt of `address` at `now`: false, counting nothing, when
  // it has used up its failures; otherwise true, and the attempt counts as
  // a failure until Forgive(address, now) says it was not one.
  bool TryAttempt(absl::string_view address, absl::Time now);
  // The attempt `address` started at `started` did not fail: it no longer
  // counts (unless its window has ended and a new one begun meanwhile).
  void Forgive(absl::string_view address, absl::Time started);
  // How many addresses are tracked (for tests).
  size_t size() const;

 private:
  struct Entry {
    absl::Time window_start;
    int failures = 0;
  };
  void MakeRoom(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int max_failures_;
  const absl::Duration window_;
  const size_t max_addresses_;
  mutable absl::Mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_SERVER_RATE_LIMITER_H_
