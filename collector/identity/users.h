// The web dashboard's user accounts (docs/dashboard.md), in the store's meta
// table: name, role, an Argon2id password hash (libsodium), the audits an
// auditor is invited to. Passwords are checked here and nowhere else.
#ifndef EVIDENTIA_COLLECTOR_IDENTITY_USERS_H_
#define EVIDENTIA_COLLECTOR_IDENTITY_USERS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "collector/store/store.h"
#include "common/proto_time.h"
#include "evidentia/v1/users.pb.h"

namespace evidentia::collector {

// What one Argon2id hash costs. The default is libsodium's "interactive"
// level (2 passes over 64 MiB); tests use the minimum.
struct PasswordCost {
  unsigned long long ops;
  size_t memory_bytes;
};
PasswordCost InteractivePasswordCost();
PasswordCost MinimumPasswordCost();

inline constexpr size_t kMinPasswordBytes = 12;
inline constexpr size_t kMaxPasswordBytes = 1024;

// OK for 1 to 64 of [a-z0-9._-] starting with a letter or digit.
absl::Status ValidUserName(absl::string_view name);
// OK for 12 to 1024 bytes.
absl::Status ValidPassword(absl::string_view password);
// Twenty random characters of [a-km-z2-9] (no 0/o, 1/l): about 100 bits.
std::string RandomPassword();

class Users {
 public:
  // At most `max_hashing` Argon2id computations run at once (each holds
  // cost.memory_bytes); more sign-ins wait their turn.
  Users(Store& store, Clock clock, PasswordCost cost, int max_hashing = 2)
      : store_(store),
        clock_(std::move(clock)),
        cost_(cost),
        hashing_slots_(max_hashing) {}

  // Adds a user; ALREADY_EXISTS for a name taken, INVALID_ARGUMENT for a
  // bad request. Without a password, makes a one-time one and answers it.
  absl::StatusOr<v1::AddUserResponse> Add(const v1::AddUserRequest& request);

  // The user when `password` is theirs; UNAUTHENTICATED (one message for an
  // unknown name and a wrong password, and about the same time) otherwise.
  // Records the sign-in (last and previous login times).
  absl::StatusOr<v1::UserRecord> SignIn(absl::string_view name,
                                        absl::string_view password);

  // Sets a new password (12 to 1024 bytes, not the old one) after checking
  // the current one; clears must_change_password.
  absl::Status ChangePassword(absl::string_view name, absl::string_view current,
                              absl::string_view replacement);

  // NOT_FOUND for an unknown name.
  absl::StatusOr<v1::UserRecord> Get(absl::string_view name) const;
  // Every user, by name.
  absl::StatusOr<std::vector<v1::UserRecord>> List() const;

 private:
  absl::StatusOr<std::string> Hash(absl::string_view password);
  bool Verify(const std::string& hash, absl::string_view password);
  absl::Status Put(const v1::UserRecord& user, const std::string* previous);

  Store& store_;
  Clock clock_;
  PasswordCost cost_;
  absl::Mutex hashing_mu_;
  int hashing_slots_ ABSL_GUARDED_BY(hashing_mu_);
  std::string dummy_hash_;  // verified for unknown names (made on first use)
  absl::Mutex dummy_mu_;
};

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_IDENTITY_USERS_H_
