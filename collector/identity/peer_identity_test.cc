#include "collector/identity/peer_identity.h"

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/x509.h"
#include "gtest/gtest.h"

namespace evidentia::collector {
namespace {

class PeerIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<KeyAndCert> ca =
        CreateCertificateAuthority("test CA", absl::Hours(1));
    ASSERT_TRUE(ca.ok());
    ca_ = *ca;
  }

  std::string Cert(const std::string& cn, const std::string& uri) {
    absl::StatusOr<KeyAndCert> cert =
        CreateClientCertificate(ca_, cn, uri, absl::Hours(1));
    EXPECT_TRUE(cert.ok()) << cert.status();
    return cert.ok() ? cert->cert_pem : "";
  }

  KeyAndCert ca_;
};

TEST_F(PeerIdentityTest, AgentCertificateNamesItsAgent) {
  absl::StatusOr<PeerIdentity> identity =
      IdentityOfCertificate(Cert("a1b2", AgentUri("a1b2")), ca_.cert_pem);
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(identity->role, PeerRole::kAgent);
  EXPECT_EQ(identity->agent_id, "a1b2");
}

TEST_F(PeerIdentityTest, OperatorCertificateHasTheOperatorRole) {
  absl::StatusOr<PeerIdentity> identity = IdentityOfCertificate(
      Cert("Evidentia operator", std::string(kOperatorUri)), ca_.cert_pem);
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(identity->role, PeerRole::kOperator);
}

TEST_F(PeerIdentityTest, AgentUriDisagreeingWithCnIsRefused) {
  EXPECT_EQ(IdentityOfCertificate(Cert("a1b2", AgentUri("c3d4")), ca_.cert_pem)
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(PeerIdentityTest, EmptyAgentIdIsRefused) {
  EXPECT_EQ(IdentityOfCertificate(Cert("x", AgentUri("")), ca_.cert_pem)
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(PeerIdentityTest, UnknownRoleIsRefused) {
  EXPECT_EQ(IdentityOfCertificate(Cert("x", "evidentia:admin"), ca_.cert_pem)
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(PeerIdentityTest, CertificateWithoutRoleIsRefused) {
  EXPECT_EQ(IdentityOfCertificate(Cert("a1b2", "https://example.org/a1b2"),
                                  ca_.cert_pem)
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(PeerIdentityTest, CertificateOfAnotherCaIsRefused) {
  absl::StatusOr<KeyAndCert> other =
      CreateCertificateAuthority("test CA", absl::Hours(1));
  ASSERT_TRUE(other.ok());
  absl::StatusOr<KeyAndCert> cert =
      CreateClientCertificate(*other, "a1b2", AgentUri("a1b2"), absl::Hours(1));
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(IdentityOfCertificate(cert->cert_pem, ca_.cert_pem).status().code(),
            absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace evidentia::collector
