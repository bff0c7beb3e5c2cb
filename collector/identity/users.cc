#include "collector/identity/users.h"

#include <sodium.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace evidentia::collector {
namespace {

constexpr absl::string_view kUserPrefix("user\0", 5);

std::string UserKey(absl::string_view name) {
  return absl::StrCat(kUserPrefix, name);
}

absl::Status Unauthenticated() {
  return absl::UnauthenticatedError("wrong user name or password");
}

}  // namespace

PasswordCost InteractivePasswordCost() {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE,
          crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

PasswordCost MinimumPasswordCost() {
  return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

absl::Status ValidUserName(absl::string_view name) {
  auto lower_or_digit = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  bool ok = !name.empty() && name.size() <= 64 && lower_or_digit(name[0]);
  for (char c : name) {
    ok = ok && (lower_or_digit(c) || c == '.' || c == '_' || c == '-');
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      "a user name is 1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a "
      "letter or digit");
}

absl::Status ValidPassword(absl::string_view password) {
  if (password.size() < kMinPasswordBytes ||
      password.size() > kMaxPasswordBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a password is ", kMinPasswordBytes, " to ",
                     kMaxPasswordBytes, " bytes long"));
  }
  return absl::OkStatus();
}

std::string RandomPassword() {
  static constexpr absl::string_view kAlphabet =
      "abcdefghijkmnpqrstuvwxyz23456789";
  std::string out;
  for (int i = 0; i < 20; ++i) {
    out += kAlphabet[randombytes_uniform(kAlphabet.size())];
  }
  return out;
}

absl::StatusOr<std::string> Users::Hash(absl::string_view password) {
  char out[crypto_pwhash_STRBYTES];
  {
    absl::MutexLock lock(&hashing_mu_);
    hashing_mu_.Await(absl::Condition(
        +[](int* slots) { return *slots > 0; }, &hashing_slots_));
    --hashing_slots_;
  }
  const int rc =
      crypto_pwhash_str_alg(out, password.data(), password.size(), cost_.ops,
                            cost_.memory_bytes, crypto_pwhash_ALG_ARGON2ID13);
  {
    absl::MutexLock lock(&hashing_mu_);
    ++hashing_slots_;
  }
  if (rc != 0) {
    return absl::ResourceExhaustedError(
        "cannot hash the password: out of memory");
  }
  return std::string(out);
}

bool Users::Verify(const std::string& hash, absl::string_view password) {
  {
    absl::MutexLock lock(&hashing_mu_);
    hashing_mu_.Await(absl::Condition(
        +[](int* slots) { return *slots > 0; }, &hashing_slots_));
    --hashing_slots_;
  }
  const bool ok = crypto_pwhash_str_verify(hash.c_str(), password.data(),
                                           password.size()) == 0;
  absl::MutexLock lock(&hashing_mu_);
  ++hashing_slots_;
  return ok;
}

absl::Status Users::Put(const v1::UserRecord& user,
                        const std::string* previous) {
  Batch batch;
  const std::string key = UserKey(user.name());
  batch.Expect(Table::kMeta, key,
               previous == nullptr
                   ? std::nullopt
                   : std::optional<absl::string_view>(*previous));
  batch.Put(Table::kMeta, key, user.SerializeAsString());
  return store_.Commit(batch);
}

absl::StatusOr<v1::AddUserResponse> Users::Add(
    const v1::AddUserRequest& request) {
  RETURN_IF_ERROR(ValidUserName(request.name()));
  if (request.role() != v1::USER_ROLE_ADMIN &&
      request.role() != v1::USER_ROLE_VIEWER &&
      request.role() != v1::USER_ROLE_AUDITOR) {
    return absl::InvalidArgumentError(
        "a user's role is admin, viewer or auditor");
  }
  if (request.role() != v1::USER_ROLE_AUDITOR && request.audits_size() > 0) {
    return absl::InvalidArgumentError("only an auditor is invited to audits");
  }
  if (request.audits_size() > 100) {
    return absl::InvalidArgumentError("at most 100 audits per auditor");
  }
  for (const std::string& audit : request.audits()) {
    if (audit.empty() || audit.size() > 128) {
      return absl::InvalidArgumentError("an audit id is 1 to 128 bytes");
    }
  }
  v1::AddUserResponse response;
  std::string password = request.password();
  if (password.empty()) {
    password = RandomPassword();
    response.set_one_time_password(password);
  }
  RETURN_IF_ERROR(ValidPassword(password));
  ASSIGN_OR_RETURN(std::optional<std::string> existing,
                   store_.Get(Table::kMeta, UserKey(request.name())));
  if (existing.has_value()) {
    return absl::AlreadyExistsError(
        absl::StrCat("user ", request.name(), " already exists"));
  }
  v1::UserRecord user;
  user.set_name(request.name());
  user.set_role(request.role());
  *user.mutable_audits() = request.audits();
  ASSIGN_OR_RETURN(*user.mutable_password_hash(), Hash(password));
  user.set_must_change_password(request.password().empty());
  *user.mutable_created_at() = ToProto(clock_());
  absl::Status put = Put(user, nullptr);
  if (absl::IsAborted(put)) {
    return absl::AlreadyExistsError(
        absl::StrCat("user ", request.name(), " already exists"));
  }
  RETURN_IF_ERROR(put);
  return response;
}

absl::StatusOr<v1::UserRecord> Users::Get(absl::string_view name) const {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_.Get(Table::kMeta, UserKey(name)));
  v1::UserRecord user;
  if (!bytes.has_value()) {
    return absl::NotFoundError(absl::StrCat("no user ", name));
  }
  if (!user.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("user ", name, " is unreadable"));
  }
  return user;
}

absl::StatusOr<std::vector<v1::UserRecord>> Users::List() const {
  std::vector<v1::UserRecord> users;
  absl::Status bad;
  RETURN_IF_ERROR(store_.Scan(
      Table::kMeta, kUserPrefix,
      [&](absl::string_view key, absl::string_view value) {
        v1::UserRecord user;
        if (!user.ParseFromArray(value.data(),
                                 static_cast<int>(value.size()))) {
          bad = absl::DataLossError(absl::StrCat(
              "user ", key.substr(kUserPrefix.size()), " is unreadable"));
          return false;
        }
        users.push_back(std::move(user));
        return true;
      }));
  RETURN_IF_ERROR(bad);
  return users;
}

absl::StatusOr<v1::UserRecord> Users::SignIn(absl::string_view name,
                                             absl::string_view password) {
  if (!ValidUserName(name).ok() || password.size() > kMaxPasswordBytes) {
    return Unauthenticated();
  }
  const std::string key = UserKey(name);
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_.Get(Table::kMeta, key));
  v1::UserRecord user;
  if (!bytes.has_value()) {
    // The same work as for a known name, so that timing does not tell.
    std::string dummy;
    {
      absl::MutexLock lock(&dummy_mu_);
      if (dummy_hash_.empty()) {
        ASSIGN_OR_RETURN(dummy_hash_, Hash(RandomPassword()));
      }
      dummy = dummy_hash_;
    }
    Verify(dummy, password);
    return Unauthenticated();
  }
  if (!user.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("user ", name, " is unreadable"));
  }
  if (!Verify(user.password_hash(), password)) return Unauthenticated();
  v1::UserRecord updated = user;
  if (user.has_last_login_at()) {
    *updated.mutable_previous_login_at() = user.last_login_at();
  }
  *updated.mutable_last_login_at() = ToProto(clock_());
  // Two sign-ins at once: one of the records wins, both sign in.
  absl::Status put = Put(updated, &*bytes);
  if (!put.ok() && !absl::IsAborted(put)) return put;
  return updated;
}

absl::Status Users::ChangePassword(absl::string_view name,
                                   absl::string_view current,
                                   absl::string_view replacement) {
  RETURN_IF_ERROR(ValidPassword(replacement));
  if (current == replacement) {
    return absl::InvalidArgumentError(
        "the new password must differ from the current one");
  }
  const std::string key = UserKey(name);
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_.Get(Table::kMeta, key));
  v1::UserRecord user;
  if (!bytes.has_value() || !user.ParseFromString(*bytes) ||
      !Verify(user.password_hash(), current)) {
    return absl::UnauthenticatedError("the current password is wrong");
  }
  ASSIGN_OR_RETURN(*user.mutable_password_hash(), Hash(replacement));
  user.set_must_change_password(false);
  *user.mutable_password_changed_at() = ToProto(clock_());
  absl::Status put = Put(user, &*bytes);
  if (absl::IsAborted(put)) {
    return absl::AbortedError(
        "the account changed meanwhile; sign in again and retry");
  }
  return put;
}

}  // namespace evidentia::collector
