// The dashboard's signed-in sessions, in memory (a restart signs everyone
// out). A session is found by a random 256-bit token sent in a cookie; the
// table keys it by the token's SHA-256, so a lookup compares no secret.
// Sessions end after `idle` without a request and at most `lifetime` after
// sign-in. Thread-safe.
#ifndef EVIDENTIA_COLLECTOR_WEB_SESSIONS_H_
#define EVIDENTIA_COLLECTOR_WEB_SESSIONS_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/proto_time.h"
#include "evidentia/v1/users.pb.h"

namespace evidentia::collector::web {

struct Session {
  std::string user;
  v1::UserRole role = v1::USER_ROLE_UNSPECIFIED;
  std::vector<std::string> audits;  // an auditor's invitations
  // Sent with every form that changes anything, and checked.
  std::string csrf;
  bool must_change_password = false;
  absl::Time previous_login = absl::UnixEpoch();
  absl::Time created;
  absl::Time last_used;
};

// 32 random bytes, base64url without padding (43 characters).
std::string RandomToken();

// `a` and `b` equal, in time that depends only on their lengths.
bool SameSecret(absl::string_view a, absl::string_view b);

class Sessions {
 public:
  Sessions(Clock clock, absl::Duration idle, absl::Duration lifetime,
           size_t max_sessions)
      : clock_(std::move(clock)),
        idle_(idle),
        lifetime_(lifetime),
        max_sessions_(max_sessions) {}

  // Starts a session (a fresh CSRF token in it) and answers its token. At
  // max_sessions, the least recently used session ends first.
  std::string Start(Session session);
  // The session of `token`, marked used now; nullopt when there is none or
  // it expired (then it ends).
  std::optional<Session> Find(absl::string_view token);
  void End(absl::string_view token);
  // Ends every session of `user` but the one of `keep` (after a password
  // change).
  void EndOthers(absl::string_view user, absl::string_view keep);
  // The session of `token` no longer needs a password change.
  void PasswordChanged(absl::string_view token);
  size_t size() const;

 private:
  absl::Time Expiry(const Session& session) const;

  Clock clock_;
  absl::Duration idle_;
  absl::Duration lifetime_;
  size_t max_sessions_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Session> by_hash_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evidentia::collector::web

#endif  // EVIDENTIA_COLLECTOR_WEB_SESSIONS_H_
