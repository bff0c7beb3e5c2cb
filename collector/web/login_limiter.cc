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

size_t LoginLimiter::Prune(std::deque<absl::Time>& failures,
                           absl::Time now) const {
  while (!failures.empty() && failures.front() + limits_.window <= now) {
    failures.pop_front();
  }
  return failures.size();
}

absl::Duration LoginLimiter::RetryAfter(const std::deque<absl::Time>& failures,
                                        size_t limit, absl::Time now) const {
  // Until so many failures have left the window that fewer than `limit`
  // remain.
  const absl::Time decisive = failures[failures.size() - limit];
  return std::max(decisive + limits_.window - now, absl::Seconds(1));
}

absl::Status LoginLimiter::Attempt(absl::string_view account,
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
    Add(account_key, now);
    Add(address_key, now);
    return absl::OkStatus();
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      "too many failed logins; try again in ",
      absl::ToInt64Seconds(absl::Ceil(wait, absl::Seconds(1))), " s"));
}

void LoginLimiter::Add(const std::string& key, absl::Time now) {
  if (failures_.size() >= limits_.max_keys && !failures_.contains(key)) {
    // Forget the entry whose latest failure is oldest.
    auto stalest = failures_.begin();
    for (auto it = failures_.begin(); it != failures_.end(); ++it) {
      const absl::Time last =
          it->second.empty() ? absl::InfinitePast() : it->second.back();
      const absl::Time worst = stalest->second.empty() ? absl::InfinitePast()
                                                       : stalest->second.back();
      if (last < worst) stalest = it;
    }
    failures_.erase(stalest);
  }
  std::deque<absl::Time>& failures = failures_[key];
  Prune(failures, now);
  failures.push_back(now);
  // More than the limit need not be kept: the oldest decides the wait.
  const size_t keep = std::max(limits_.per_account, limits_.per_address);
  while (failures.size() > keep) failures.pop_front();
}

void LoginLimiter::Remove(const std::string& key) {
  auto it = failures_.find(key);
  if (it == failures_.end()) return;
  if (!it->second.empty()) it->second.pop_back();
  if (it->second.empty()) failures_.erase(it);
}

void LoginLimiter::Succeeded(absl::string_view account,
                             absl::string_view address) {
  absl::MutexLock lock(&mu_);
  failures_.erase(AccountKey(account));
  Remove(AddressKey(address));
}

void LoginLimiter::Undecided(absl::string_view account,
                             absl::string_view address) {
  absl::MutexLock lock(&mu_);
  Remove(AccountKey(account));
  Remove(AddressKey(address));
}

}  // namespace evidentia::collector::web
