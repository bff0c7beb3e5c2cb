#include "collector/web/login_limiter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "collector/web/client_address.h"

namespace evidentia::collector::web {
namespace {

std::string AccountKey(absl::string_view account) {
  return absl::StrCat("u:", account);
}
}  // namespace

std::string LoginLimiter::AddressKey(absl::string_view address) {
  return absl::StrCat("a:", ClientGroup(address));
}

size_t LoginLimiter::Prune(std::deque<Failure>& failures,
                           absl::Time now) const {
  while (!failures.empty() && failures.front().at + limits_.window <= now) {
    failures.pop_front();
  }
  return failures.size();
}

absl::Duration LoginLimiter::RetryAfter(const std::deque<Failure>& failures,
                                        size_t limit, absl::Time now) const {
  // Until so many failures have left the window that fewer than `limit`
  // remain.
  const absl::Time decisive = failures[failures.size() - limit].at;
  return std::max(decisive + limits_.window - now, absl::Seconds(1));
}

absl::StatusOr<uint64_t> LoginLimiter::Attempt(absl::string_view account,
                                               absl::string_view address) {
  const absl::Time now = clock_();
  const std::string account_key = AccountKey(account);
  const std::string address_key = AddressKey(address);
  absl::MutexLock lock(&mu_);
  absl::Duration wait = absl::ZeroDuration();
  for (const auto& [key, limit] :
       {std::pair<const std::string&, size_t>{account_key, limits_.per_account},
        std::pair<const std::string&, size_t>{address_key,
                                              limits_.per_address}}) {
    auto it = failures_.find(key);
    if (it == failures_.end()) continue;
    if (limit > 0 && Prune(it->second, now) >= limit) {
      wait = std::max(wait, RetryAfter(it->second, limit, now));
    }
  }
  if (wait == absl::ZeroDuration()) {
    const uint64_t ticket = next_ticket_++;
    Add(account_key, now, ticket);
    Add(address_key, now, ticket);
    return ticket;
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      "too many failed logins; try again in ",
      absl::ToInt64Seconds(absl::Ceil(wait, absl::Seconds(1))), " s"));
}

void LoginLimiter::Add(const std::string& key, absl::Time now,
                       uint64_t ticket) {
  if (failures_.size() >= limits_.max_keys && !failures_.contains(key)) {
    // Forget the entry whose latest failure is oldest.
    auto stalest = failures_.begin();
    for (auto it = failures_.begin(); it != failures_.end(); ++it) {
      const absl::Time last =
          it->second.empty() ? absl::InfinitePast() : it->second.back().at;
      const absl::Time worst = stalest->second.empty()
                                   ? absl::InfinitePast()
                                   : stalest->second.back().at;
      if (last < worst) stalest = it;
    }
    failures_.erase(stalest);
  }
  std::deque<Failure>& failures = failures_[key];
  Prune(failures, now);
  failures.push_back({now, ticket});
  // More than the limit need not be kept: the oldest decides the wait.
  const size_t keep = std::max(limits_.per_account, limits_.per_address);
  while (failures.size() > keep) failures.pop_front();
}

void LoginLimiter::Remove(const std::string& key, uint64_t ticket) {
  auto it = failures_.find(key);
  if (it == failures_.end()) return;
  std::deque<Failure>& failures = it->second;
  failures.erase(std::remove_if(failures.begin(), failures.end(),
                                [&](const Failure& failure) {
                                  return failure.ticket == ticket;
                                }),
                 failures.end());
  if (failures.empty()) failures_.erase(it);
}

void LoginLimiter::Succeeded(absl::string_view account,
                             absl::string_view address, uint64_t ticket) {
  absl::MutexLock lock(&mu_);
  failures_.erase(AccountKey(account));
  Remove(AddressKey(address), ticket);
}

void LoginLimiter::Undecided(absl::string_view account,
                             absl::string_view address, uint64_t ticket) {
  absl::MutexLock lock(&mu_);
  Remove(AccountKey(account), ticket);
  Remove(AddressKey(address), ticket);
}

}  // namespace evidentia::collector::web
