#include "collector/server/rate_limiter.h"

#include <algorithm>

#include "absl/strings/strip.h"

namespace evidentia::collector {

std::string PeerAddress(absl::string_view peer) {
  if (absl::ConsumePrefix(&peer, "ipv4:")) {
    return std::string(peer.substr(0, peer.rfind(':')));
  }
  if (absl::ConsumePrefix(&peer, "ipv6:")) {
    if (absl::ConsumePrefix(&peer, "[")) {
      return std::string(peer.substr(0, peer.find(']')));
    }
    return std::string(peer.substr(0, peer.rfind(':')));
  }
  return std::string(peer);
}

FailureLimiter::FailureLimiter(int max_failures, absl::Duration window,
                               size_t max_addresses)
    : max_failures_(max_failures),
      window_(window),
      max_addresses_(std::max<size_t>(max_addresses, 1)) {}

bool FailureLimiter::Blocked(absl::string_view address, absl::Time now) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(address);
  return it != entries_.end() && now < it->second.window_start + window_ &&
         it->second.failures >= max_failures_;
}

bool FailureLimiter::TryAttempt(absl::string_view address, absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(address);
  if (it != entries_.end() && now < it->second.window_start + window_ &&
      it->second.failures >= max_failures_) {
    return false;
  }
  if (it == entries_.end()) {
    if (entries_.size() >= max_addresses_) MakeRoom(now);
    it = entries_.emplace(std::string(address), Entry{now, 0}).first;
  } else if (now >= it->second.window_start + window_) {
    it->second = Entry{now, 0};
  }
  ++it->second.failures;
  return true;
}

void FailureLimiter::Forgive(absl::string_view address, absl::Time started) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(address);
  if (it == entries_.end() || started < it->second.window_start ||
      it->second.failures <= 0) {
    return;
  }
  --it->second.failures;
}

size_t FailureLimiter::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

void FailureLimiter::MakeRoom(absl::Time now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = now >= it->second.window_start + window_ ? entries_.erase(it)
                                                  : std::next(it);
  }
  if (entries_.size() < max_addresses_) return;
  auto oldest = std::min_element(
      entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
        return a.second.window_start < b.second.window_start;
      });
  entries_.erase(oldest);
}

}  // namespace evidentia::collector
