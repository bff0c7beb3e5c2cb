#include "collector/web/sessions.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "absl/strings/escaping.h"
#include "common/sha256.h"

namespace evidentia::collector::web {
namespace {

std::string Key(absl::string_view token) {
  return Sha256(std::string_view(token.data(), token.size()));
}

}  // namespace

std::string RandomToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    // OpenSSL's generator failed: no session is better than a guessable one.
    std::abort();
  }
  return absl::WebSafeBase64Escape(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

bool SameSecret(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

absl::Time Sessions::Expiry(const Session& session) const {
  return std::min(session.last_used + idle_, session.created + lifetime_);
}

std::string Sessions::Start(Session session) {
  const std::string token = RandomToken();
  session.csrf = RandomToken();
  session.created = session.last_used = clock_();
  absl::MutexLock lock(&mu_);
  if (by_hash_.size() >= max_sessions_) {
    auto oldest = std::min_element(
        by_hash_.begin(), by_hash_.end(), [](const auto& a, const auto& b) {
          return a.second.last_used < b.second.last_used;
        });
    by_hash_.erase(oldest);
  }
  by_hash_[Key(token)] = std::move(session);
  return token;
}

std::optional<Session> Sessions::Find(absl::string_view token) {
  if (token.empty()) return std::nullopt;
  const absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  auto it = by_hash_.find(Key(token));
  if (it == by_hash_.end()) return std::nullopt;
  if (Expiry(it->second) <= now) {
    by_hash_.erase(it);
    return std::nullopt;
  }
  it->second.last_used = now;
  return it->second;
}

void Sessions::End(absl::string_view token) {
  absl::MutexLock lock(&mu_);
  by_hash_.erase(Key(token));
}

void Sessions::EndOthers(absl::string_view user, absl::string_view keep) {
  const std::string kept = Key(keep);
  absl::MutexLock lock(&mu_);
  for (auto it = by_hash_.begin(); it != by_hash_.end();) {
    if (it->second.user == user && it->first != kept) {
      by_hash_.erase(it++);
    } else {
      ++it;
    }
  }
}

void Sessions::PasswordChanged(absl::string_view token) {
  absl::MutexLock lock(&mu_);
  auto it = by_hash_.find(Key(token));
  if (it != by_hash_.end()) it->second.must_change_password = false;
}

size_t Sessions::size() const {
  absl::MutexLock lock(&mu_);
  return by_hash_.size();
}

}  // namespace evidentia::collector::web
