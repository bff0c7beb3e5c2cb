#include "collector/identity/users.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "collector/store/rocksdb_store.h"
#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace evidentia::collector {
namespace {

using ::evidentia::testing::ScopedTempDir;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class UsersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Store>> store =
        OpenRocksDbStore(dir_.path() / "db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    users_ = std::make_unique<Users>(
        *store_, [this] { return now_; }, MinimumPasswordCost());
  }

  v1::AddUserRequest Request(const std::string& name, v1::UserRole role,
                             const std::string& password = "") {
    v1::AddUserRequest request;
    request.set_name(name);
    request.set_role(role);
    request.set_password(password);
    return request;
  }

  ScopedTempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Users> users_;
  absl::Time now_ = absl::FromUnixSeconds(1800000000);
};

TEST_F(UsersTest, StoresAnArgon2idHashNeverThePassword) {
  ASSERT_TRUE(
      users_
          ->Add(Request("alice", v1::USER_ROLE_ADMIN, "correct horse battery"))
          .ok());
  absl::StatusOr<v1::UserRecord> alice = users_->Get("alice");
  ASSERT_TRUE(alice.ok()) << alice.status();
  EXPECT_THAT(alice->password_hash(), StartsWith("$argon2id$"));
  EXPECT_THAT(alice->password_hash(),
              ::testing::Not(HasSubstr("correct horse")));
  EXPECT_FALSE(alice->must_change_password());
  EXPECT_EQ(alice->role(), v1::USER_ROLE_ADMIN);
}

TEST_F(UsersTest, SignsInWithTheRightPasswordOnly) {
  ASSERT_TRUE(
      users_->Add(Request("bob", v1::USER_ROLE_VIEWER, "a long password"))
          .ok());
  absl::StatusOr<v1::UserRecord> bob = users_->SignIn("bob", "a long password");
  ASSERT_TRUE(bob.ok()) << bob.status();
  EXPECT_EQ(bob->role(), v1::USER_ROLE_VIEWER);
  EXPECT_EQ(FromProto(bob->last_login_at()), now_);

  absl::Status wrong = users_->SignIn("bob", "a long passwore").status();
  EXPECT_EQ(wrong.code(), absl::StatusCode::kUnauthenticated);
  // An unknown name gets the same answer as a wrong password.
  absl::Status unknown = users_->SignIn("carol", "a long password").status();
  EXPECT_EQ(unknown.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(unknown.message(), wrong.message());
}

TEST_F(UsersTest, RemembersThePreviousSignIn) {
  ASSERT_TRUE(
      users_->Add(Request("bob", v1::USER_ROLE_VIEWER, "a long password"))
          .ok());
  ASSERT_TRUE(users_->SignIn("bob", "a long password").ok());
  const absl::Time first = now_;
  now_ += absl::Hours(3);
  absl::StatusOr<v1::UserRecord> bob = users_->SignIn("bob", "a long password");
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(FromProto(bob->previous_login_at()), first);
  EXPECT_EQ(FromProto(bob->last_login_at()), now_);
}

TEST_F(UsersTest, OneTimePasswordMustBeChanged) {
  absl::StatusOr<v1::AddUserResponse> added =
      users_->Add(Request("root", v1::USER_ROLE_ADMIN));
  ASSERT_TRUE(added.ok()) << added.status();
  const std::string once = added->one_time_password();
  EXPECT_EQ(once.size(), 20u);
  absl::StatusOr<v1::UserRecord> root = users_->SignIn("root", once);
  ASSERT_TRUE(root.ok());
  EXPECT_TRUE(root->must_change_password());

  EXPECT_EQ(
      users_->ChangePassword("root", "not it", "a new long password").code(),
      absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(users_->ChangePassword("root", once, "short").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(users_->ChangePassword("root", once, once).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(users_->ChangePassword("root", once, "a new long password").ok());
  EXPECT_EQ(users_->SignIn("root", once).status().code(),
            absl::StatusCode::kUnauthenticated);
  root = users_->SignIn("root", "a new long password");
  ASSERT_TRUE(root.ok());
  EXPECT_FALSE(root->must_change_password());
}

TEST_F(UsersTest, RefusesBadNamesRolesPasswordsAndAuditsOfNonAuditors) {
  EXPECT_EQ(users_->Add(Request("", v1::USER_ROLE_ADMIN)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(users_->Add(Request("Alice", v1::USER_ROLE_ADMIN)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(users_->Add(Request("a/b", v1::USER_ROLE_ADMIN)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(users_->Add(Request(std::string(65, 'a'), v1::USER_ROLE_ADMIN))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      users_->Add(Request("ann", v1::USER_ROLE_UNSPECIFIED)).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      users_->Add(Request("ann", static_cast<v1::UserRole>(9))).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      users_->Add(Request("ann", v1::USER_ROLE_ADMIN, "short")).status().code(),
      absl::StatusCode::kInvalidArgument);
  v1::AddUserRequest viewer = Request("ann", v1::USER_ROLE_VIEWER);
  viewer.add_audits("s2");
  EXPECT_EQ(users_->Add(viewer).status().code(),
            absl::StatusCode::kInvalidArgument);
  v1::AddUserRequest auditor = Request("ann", v1::USER_ROLE_AUDITOR);
  auditor.add_audits("s2");
  absl::StatusOr<v1::AddUserResponse> added = users_->Add(auditor);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_THAT(users_->Get("ann")->audits(), ::testing::ElementsAre("s2"));
}

TEST_F(UsersTest, ANameIsTakenOnce) {
  ASSERT_TRUE(users_->Add(Request("alice", v1::USER_ROLE_ADMIN)).ok());
  EXPECT_EQ(users_->Add(Request("alice", v1::USER_ROLE_VIEWER)).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(users_->Get("alice")->role(), v1::USER_ROLE_ADMIN);
  absl::StatusOr<std::vector<v1::UserRecord>> all = users_->List();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);
}

TEST_F(UsersTest, AnOverlongPasswordIsRefusedBeforeHashing) {
  ASSERT_TRUE(
      users_->Add(Request("alice", v1::USER_ROLE_ADMIN, "a long password"))
          .ok());
  EXPECT_EQ(users_->SignIn("alice", std::string(kMaxPasswordBytes + 1, 'x'))
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(PasswordTest, RandomPasswordsAreLongAndDiffer) {
  const std::string a = RandomPassword();
  const std::string b = RandomPassword();
  EXPECT_EQ(a.size(), 20u);
  EXPECT_NE(a, b);
  EXPECT_TRUE(ValidPassword(a).ok());
}

}  // namespace
}  // namespace evidentia::collector
