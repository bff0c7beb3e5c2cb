#include "collector/identity/data_dir.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "collector/identity/peer_identity.h"
#include "common/ed25519.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace evidentia::collector {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using ::evidentia::testing::ScopedTempDir;

mode_t ModeOf(const fs::path& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

const std::vector<std::string> kTlsNames = {"127.0.0.1", "collector.test"};

absl::StatusOr<CollectorMaterial> Prepare(const fs::path& root) {
  return PrepareDataDir(DataDirPaths(root), kTlsNames);
}

TEST(DataDirTest, FreshDirGetsEveryFile) {
  ScopedTempDir tmp;
  const DataDirPaths paths(tmp.path() / "data");

  absl::StatusOr<CollectorMaterial> material = Prepare(paths.root);

  ASSERT_TRUE(material.ok()) << material.status();
  for (const fs::path& file :
       {paths.signing_key(), paths.signing_pub(), paths.ca_key(),
        paths.ca_cert(), paths.server_key(), paths.server_cert(),
        paths.operator_client_key(), paths.operator_client_cert(),
        paths.operator_key(), paths.operator_pub()}) {
    EXPECT_TRUE(fs::is_regular_file(file)) << file;
  }
}

TEST(DataDirTest, FreshDirIsPrivate) {
  ScopedTempDir tmp;
  const DataDirPaths paths(tmp.path() / "data");

  ASSERT_TRUE(Prepare(paths.root).ok());

  EXPECT_EQ(ModeOf(paths.root), 0700u);
}

TEST(DataDirTest, SecretsAreOwnerOnly) {
  ScopedTempDir tmp;
  const DataDirPaths paths(tmp.path() / "data");

  ASSERT_TRUE(Prepare(paths.root).ok());

  for (const fs::path& secret :
       {paths.signing_key(), paths.ca_key(), paths.server_key(),
        paths.operator_key(), paths.operator_client_key()}) {
    EXPECT_EQ(ModeOf(secret), 0600u) << secret;
  }
}

TEST(DataDirTest, CreatedMaterialMatchesFiles) {
  ScopedTempDir tmp;
  const DataDirPaths paths(tmp.path() / "data");

  absl::StatusOr<CollectorMaterial> material = Prepare(paths.root);

  ASSERT_TRUE(material.ok()) << material.status();
  absl::StatusOr<PublicKey> pub = PublicKey::LoadPemFile(paths.signing_pub());
  ASSERT_TRUE(pub.ok()) << pub.status();
  EXPECT_EQ(pub->ToPem(), material->signing_key.public_key().ToPem());
  EXPECT_EQ(*ReadFile(paths.server_key()), material->server.key_pem);
  EXPECT_EQ(*ReadFile(paths.server_cert()), material->server.cert_pem);
  EXPECT_EQ(*ReadFile(paths.ca_cert()), material->ca.cert_pem);
}

TEST(DataDirTest, SecondPrepareLoadsSameMaterial) {
  ScopedTempDir tmp;
  const DataDirPaths paths(tmp.path() / "data");
  absl::StatusOr<CollectorMaterial> first = Prepare(paths.root);
  ASSERT_TRUE(first.ok()) << first.status();

  absl::StatusOr<CollectorMaterial> second = Prepare(paths.root);

  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->signing_key.public_key().ToPem(),
            first->signing_key.public_key().ToPem());
  EXPECT_EQ(second->ca.cert_pem, first->ca.cert_pem);
  EXPECT_EQ(second->server.key_pem, first->server.key_pem);
  EXPECT_EQ(second->server.cert_pem, first->server.cert_pem);
}

TEST(DataDirTest, ExistingEmptyPrivateDirIsFilled) {
  ScopedTempDir tmp;
  const DataDirPaths paths(tmp.path() / "data");
  ASSERT_TRUE(fs::create_directory(paths.root));
  ASSERT_EQ(::chmod(paths.root.c_str(), 0700), 0);

  absl::StatusOr<CollectorMaterial> material = Prepare(paths.root);

  ASSERT_TRUE(material.ok()) << material.status();
  EXPECT_TRUE(fs::is_regular_file(paths.signing_key()));
}

TEST(DataDirTest, GroupReadableDirIsRefusedNamingPath) {
  ScopedTempDir tmp;
  const DataDirPaths paths(tmp.path() / "data");
  ASSERT_TRUE(Prepare(paths.root).ok());
  ASSERT_EQ(::chmod(paths.root.c_str(), 0755), 0);

  absl::StatusOr<CollectorMaterial> again = Prepare(paths.root);

  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition)
      << again.status();
  EXPECT_THAT(again.status().message(), HasSubstr(paths.root.string()));
}

TEST(DataDirTest, FreshButOpenDirIsRefused) {
  ScopedTempDir tmp;
  const DataDirPaths paths(tmp.path() / "data");
  ASSERT_TRUE(fs::create_directory(paths.root));
  ASSERT_EQ(::chmod(paths.root.c_str(), 0755), 0);

  absl::StatusOr<CollectorMaterial> material = Prepare(paths.root);

  EXPECT_EQ(material.status().code(), absl::StatusCode::kFailedPrecondition)
      << material.status();
  EXPECT_FALSE(fs::exists(paths.signing_key()));
}

TEST(DataDirTest, ReadableSigningKeyIsRefusedNamingPath) {
  ScopedTempDir tmp;
  const DataDirPaths paths(tmp.path() / "data");
  ASSERT_TRUE(Prepare(paths.root).ok());
  ASSERT_EQ(::chmod(paths.signing_key().c_str(), 0644), 0);

  absl::StatusOr<CollectorMaterial> again = Prepare(paths.root);

  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition)
      << again.status();
  EXPECT_THAT(again.status().message(),
              HasSubstr(paths.signing_key().string()));
}

TEST(DataDirTest, ReadableCaKeyIsRefused) {
  ScopedTempDir tmp;
  const DataDirPaths paths(tmp.path() / "data");
  ASSERT_TRUE(Prepare(paths.root).ok());
  ASSERT_EQ(::chmod(paths.ca_key().c_str(), 0640), 0);

  absl::StatusOr<CollectorMaterial> again = Prepare(paths.root);

  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition)
      << again.status();
  EXPECT_THAT(again.status().message(), HasSubstr(paths.ca_key().string()));
}

TEST(DataDirTest, ReadableServerKeyIsRefused) {
  ScopedTempDir tmp;
  const DataDirPaths paths(tmp.path() / "data");
  ASSERT_TRUE(Prepare(paths.root).ok());
  ASSERT_EQ(::chmod(paths.server_key().c_str(), 0604), 0);

  absl::StatusOr<CollectorMaterial> again = Prepare(paths.root);

  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition)
      << again.status();
  EXPECT_THAT(again.status().message(), HasSubstr(paths.server_key().string()));
}

// Every file and directory that must be private, each made readable by
// others in turn: the start is refused, naming it.
class PrivateFileTest : public ::testing::TestWithParam<int> {};

TEST_P(PrivateFileTest, ReadableByOthersIsRefusedNamingTheFile) {
  ScopedTempDir tmp;
  const DataDirPaths paths(tmp.path() / "data");
  ASSERT_TRUE(Prepare(paths.root).ok());
  const std::vector<fs::path> files = PrivateFiles(paths);
  ASSERT_LT(static_cast<size_t>(GetParam()), files.size());
  const fs::path& file = files[GetParam()];
  ASSERT_EQ(::chmod(file.c_str(), fs::is_directory(file) ? 0755 : 0644), 0);

  absl::StatusOr<CollectorMaterial> again = Prepare(paths.root);

  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition)
      << file;
  EXPECT_THAT(again.status().message(), HasSubstr(file.string()));
}

INSTANTIATE_TEST_SUITE_P(EveryPrivateFile, PrivateFileTest,
                         ::testing::Range(0, 7));

TEST(DataDirTest, PrivateFilesCoverEveryKey) {
  ScopedTempDir tmp;
  const DataDirPaths paths(tmp.path() / "data");
  ASSERT_TRUE(Prepare(paths.root).ok());
  const std::vector<fs::path> files = PrivateFiles(paths);
  EXPECT_EQ(files.size(), 7u);  // PrivateFileTest's range
  for (const fs::directory_entry& entry : fs::directory_iterator(paths.root)) {
    if (entry.path().extension() == ".key") {
      EXPECT_NE(std::find(files.begin(), files.end(), entry.path()),
                files.end())
          << entry.path();
    }
  }
}

TEST(DataDirTest, OperatorClientCertificateHasTheOperatorRole) {
  ScopedTempDir tmp;
  const DataDirPaths paths(tmp.path() / "data");
  absl::StatusOr<CollectorMaterial> material = Prepare(paths.root);
  ASSERT_TRUE(material.ok());

  absl::StatusOr<PeerIdentity> identity = IdentityOfCertificate(
      *ReadFile(paths.operator_client_cert()), material->ca.cert_pem);

  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(identity->role, PeerRole::kOperator);
}

TEST(DataDirTest, NoPasswordOrBearerCredentialIsCreated) {
  ScopedTempDir tmp;
  const DataDirPaths paths(tmp.path() / "data");
  ASSERT_TRUE(Prepare(paths.root).ok());
  EXPECT_FALSE(fs::exists(paths.root / "operator.credential"));
}

TEST(DataDirTest, RefusalMessageSaysHowToFix) {
  ScopedTempDir tmp;
  const DataDirPaths paths(tmp.path() / "data");
  ASSERT_TRUE(Prepare(paths.root).ok());
  ASSERT_EQ(::chmod(paths.signing_key().c_str(), 0644), 0);

  absl::StatusOr<CollectorMaterial> again = Prepare(paths.root);

  EXPECT_THAT(again.status().message(),
              HasSubstr("chmod 600 " + paths.signing_key().string()));
}

TEST(DataDirTest, PublicFilesMayBeWorldReadable) {
  ScopedTempDir tmp;
  const DataDirPaths paths(tmp.path() / "data");
  ASSERT_TRUE(Prepare(paths.root).ok());
  ASSERT_EQ(::chmod(paths.ca_cert().c_str(), 0644), 0);
  ASSERT_EQ(::chmod(paths.signing_pub().c_str(), 0644), 0);

  absl::StatusOr<CollectorMaterial> again = Prepare(paths.root);

  EXPECT_TRUE(again.ok()) << again.status();
}

TEST(DataDirTest, MissingServerKeyIsRecreatedUnderSameCa) {
  ScopedTempDir tmp;
  const DataDirPaths paths(tmp.path() / "data");
  absl::StatusOr<CollectorMaterial> first = Prepare(paths.root);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string ca_before = *ReadFile(paths.ca_cert());
  ASSERT_TRUE(fs::remove(paths.server_key()));

  absl::StatusOr<CollectorMaterial> second = Prepare(paths.root);

  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(second->server.key_pem, first->server.key_pem);
  EXPECT_EQ(*ReadFile(paths.ca_cert()), ca_before);
  EXPECT_EQ(second->signing_key.public_key().ToPem(),
            first->signing_key.public_key().ToPem());
}

}  // namespace
}  // namespace evidentia::collector
