// Failed sign-ins, counted per account and per client address over a
// sliding window: past the limit, every sign-in of that account or from
// that address is refused until the oldest failure leaves the window, even
// with the right password. An attempt counts as a failure from the moment
// it is let through until it is known to have succeeded, so attempts made
// at once cannot pass the limit together. Addresses are counted by their
// ClientGroup (client_address.h: an IPv6 client by its /64). Memory is
// bounded: at most `max_keys` accounts and addresses are remembered (the
// stalest are forgotten first). Thread-safe.
#ifndef EVIDENTIA_COLLECTOR_WEB_LOGIN_LIMITER_H_
#define EVIDENTIA_COLLECTOR_WEB_LOGIN_LIMITER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/proto_time.h"

namespace evidentia::collector::web {

struct LoginLimits {
  size_t per_account = 5;
  size_t per_address = 20;
  absl::Duration window = absl::Minutes(15);
  size_t max_keys = 100000;
};

class LoginLimiter {
 public:
  LoginLimiter(Clock clock, LoginLimits limits)
      : clock_(std::move(clock)), limits_(limits) {}

  // A ticket when `account` may try from `address`: the attempt is counted
  // as a failure until Succeeded or Undecided says otherwise with it.
  // RESOURCE_EXHAUSTED saying for how long it may not, otherwise.
  absl::StatusOr<uint64_t> Attempt(absl::string_view account,
                                   absl::string_view address);
  // The attempt succeeded: the account's failures are forgotten, and the
  // attempt is not counted against the address.
  void Succeeded(absl::string_view account, absl::string_view address,
                 uint64_t ticket);
  // The attempt could not be judged (the collector failed): not counted.
  void Undecided(absl::string_view account, absl::string_view address,
                 uint64_t ticket);

  // The key an address is counted under: "a:" and its ClientGroup.
  static std::string AddressKey(absl::string_view address);

 private:
  struct Failure {
    absl::Time at;
    uint64_t ticket;  // the attempt's
  };
  // Drops failures older than the window; answers how many are left.
  size_t Prune(std::deque<Failure>& failures, absl::Time now) const;
  absl::Duration RetryAfter(const std::deque<Failure>& failures, size_t limit,
                            absl::Time now) const;
  void Add(const std::string& key, absl::Time now, uint64_t ticket)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes back the failure of attempt `ticket` under `key`, if still kept.
  void Remove(const std::string& key, uint64_t ticket)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock clock_;
  LoginLimits limits_;
  absl::Mutex mu_;
  // "u:" account or "a:" address -> failures, oldest first.
  absl::flat_hash_map<std::string, std::deque<Failure>> failures_
      ABSL_GUARDED_BY(mu_);
  uint64_t next_ticket_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace evidentia::collector::web

#endif  // EVIDENTIA_COLLECTOR_WEB_LOGIN_LIMITER_H_
