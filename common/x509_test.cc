#include "common/x509.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace evidentia {
namespace {

struct Free {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
  void operator()(X509_REQ* p) const { X509_REQ_free(p); }
};
template <typename T>
using Ptr = std::unique_ptr<T, Free>;

Ptr<X509> ParseCert(const std::string& pem) {
  Ptr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Ptr<X509>(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

Ptr<EVP_PKEY> ParseKey(const std::string& pem) {
  Ptr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Ptr<EVP_PKEY>(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

// X509_verify_cert of `cert` with `ca` as the only trust anchor, checked for
// the TLS server purpose: X509_V_OK or the verification error.
int VerifyAgainst(X509* ca, X509* cert) {
  Ptr<X509_STORE> store(X509_STORE_new());
  Ptr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (store == nullptr || ctx == nullptr ||
      X509_STORE_add_cert(store.get(), ca) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert, nullptr) != 1 ||
      X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER) != 1) {
    return -1;
  }
  if (X509_verify_cert(ctx.get()) == 1) return X509_V_OK;
  return X509_STORE_CTX_get_error(ctx.get());
}

class X509Test : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<KeyAndCert> ca =
        CreateCertificateAuthority("Evidentia test CA", absl::Hours(24));
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = *ca;
    ca_cert_ = ParseCert(ca_.cert_pem);
    ASSERT_NE(ca_cert_, nullptr);
    absl::StatusOr<KeyAndCert> server = IssueServerCertificate(
        ca_, "collector", {"127.0.0.1", "localhost"}, absl::Hours(1));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *server;
    server_cert_ = ParseCert(server_.cert_pem);
    ASSERT_NE(server_cert_, nullptr);
  }

  KeyAndCert ca_;
  KeyAndCert server_;
  Ptr<X509> ca_cert_;
  Ptr<X509> server_cert_;
};

TEST_F(X509Test, CaIsACertificateAuthority) {
  EXPECT_EQ(X509_check_ca(ca_cert_.get()), 1);
}

TEST_F(X509Test, CaIsSelfSignedAndVerifies) {
  EXPECT_EQ(X509_check_issued(ca_cert_.get(), ca_cert_.get()), X509_V_OK);
  Ptr<X509_STORE> store(X509_STORE_new());
  Ptr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  ASSERT_EQ(X509_STORE_add_cert(store.get(), ca_cert_.get()), 1);
  ASSERT_EQ(
      X509_STORE_CTX_init(ctx.get(), store.get(), ca_cert_.get(), nullptr), 1);
  EXPECT_EQ(X509_verify_cert(ctx.get()), 1)
      << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
}

TEST_F(X509Test, CaKeyMatchesCaCert) {
  Ptr<EVP_PKEY> key = ParseKey(ca_.key_pem);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(X509_check_private_key(ca_cert_.get(), key.get()), 1);
}

TEST_F(X509Test, KeysArePkcs8P256) {
  EXPECT_EQ(server_.key_pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
  Ptr<EVP_PKEY> key = ParseKey(server_.key_pem);
  ASSERT_NE(key, nullptr);
  EXPECT_TRUE(EVP_PKEY_is_a(key.get(), "EC"));
  char group[64] = {};
  size_t len = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(key.get(), group, sizeof(group), &len), 1);
  EXPECT_STREQ(group, "prime256v1");
}

TEST_F(X509Test, ServerCertVerifiesAgainstCa) {
  const int result = VerifyAgainst(ca_cert_.get(), server_cert_.get());
  EXPECT_EQ(result, X509_V_OK) << X509_verify_cert_error_string(result);
}

TEST_F(X509Test, ServerCertDoesNotVerifyAgainstAnotherCa) {
  absl::StatusOr<KeyAndCert> other =
      CreateCertificateAuthority("Evidentia test CA", absl::Hours(24));
  ASSERT_TRUE(other.ok()) << other.status();
  Ptr<X509> other_cert = ParseCert(other->cert_pem);
  ASSERT_NE(other_cert, nullptr);
  EXPECT_NE(VerifyAgainst(other_cert.get(), server_cert_.get()), X509_V_OK);
}

TEST_F(X509Test, ServerCertIsNotACa) {
  EXPECT_EQ(X509_check_ca(server_cert_.get()), 0);
}

TEST_F(X509Test, ServerCertHasIpSan) {
  EXPECT_EQ(X509_check_ip_asc(server_cert_.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(server_cert_.get(), "127.0.0.2", 0), 0);
}

TEST_F(X509Test, ServerCertHasDnsSan) {
  EXPECT_EQ(X509_check_host(server_cert_.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(server_cert_.get(), "example.com", 0, 0, nullptr),
            0);
}

TEST_F(X509Test, ServerCertAuthorityKeyIdNamesCa) {
  const ASN1_OCTET_STRING* ca_ski = X509_get0_subject_key_id(ca_cert_.get());
  const ASN1_OCTET_STRING* server_aki =
      X509_get0_authority_key_id(server_cert_.get());
  ASSERT_NE(ca_ski, nullptr);
  ASSERT_NE(server_aki, nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(ca_ski, server_aki), 0);
}

TEST_F(X509Test, ServerKeyMatchesServerCert) {
  Ptr<EVP_PKEY> key = ParseKey(server_.key_pem);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(X509_check_private_key(server_cert_.get(), key.get()), 1);
}

TEST_F(X509Test, ServerCertIsForServerAuth) {
  EXPECT_EQ(X509_check_purpose(server_cert_.get(), X509_PURPOSE_SSL_SERVER, 0),
            1);
}

TEST_F(X509Test, CertificatesAreVersion3WithDistinctSerials) {
  EXPECT_EQ(X509_get_version(ca_cert_.get()), X509_VERSION_3);
  EXPECT_EQ(X509_get_version(server_cert_.get()), X509_VERSION_3);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(ca_cert_.get()),
                             X509_get0_serialNumber(server_cert_.get())),
            0);
}

TEST_F(X509Test, ServerCertExpiresAfterValidity) {
  // notAfter is about an hour away: after 59 minutes, before 61.
  int days = 0, seconds = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, nullptr,
                           X509_get0_notAfter(server_cert_.get())),
            1);
  const int total = days * 86400 + seconds;
  EXPECT_GT(total, 59 * 60);
  EXPECT_LT(total, 61 * 60);
}

TEST_F(X509Test, CertsAreBackdatedForClockSkew) {
  int days = 0, seconds = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, nullptr,
                           X509_get0_notBefore(server_cert_.get())),
            1);
  EXPECT_LE(days * 86400 + seconds, -4 * 60);
}

TEST_F(X509Test, RejectsInvalidCaPem) {
  KeyAndCert bad = ca_;
  bad.cert_pem =
      "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  EXPECT_EQ(
      IssueServerCertificate(bad, "collector", {"localhost"}, absl::Hours(1))
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
}

TEST_F(X509Test, RejectsGarbageCaKey) {
  KeyAndCert bad = ca_;
  bad.key_pem = "garbage";
  EXPECT_EQ(
      IssueServerCertificate(bad, "collector", {"localhost"}, absl::Hours(1))
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
}

TEST_F(X509Test, RejectsCaKeyNotMatchingCaCert) {
  absl::StatusOr<KeyAndCert> other =
      CreateCertificateAuthority("Other CA", absl::Hours(24));
  ASSERT_TRUE(other.ok()) << other.status();
  KeyAndCert mixed = ca_;
  mixed.key_pem = other->key_pem;
  EXPECT_EQ(
      IssueServerCertificate(mixed, "collector", {"localhost"}, absl::Hours(1))
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
}

TEST_F(X509Test, RejectsServerCertAsCa) {
  EXPECT_EQ(IssueServerCertificate(server_, "collector", {"localhost"},
                                   absl::Hours(1))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(X509Test, RejectsNameThatIsNeitherIpNorDns) {
  EXPECT_EQ(IssueServerCertificate(ca_, "collector", {"bad name,DNS:evil"},
                                   absl::Hours(1))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(X509Test, RejectsEmptyNames) {
  EXPECT_EQ(IssueServerCertificate(ca_, "collector", {}, absl::Hours(1))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(X509Test, AcceptsIpv6San) {
  absl::StatusOr<KeyAndCert> server =
      IssueServerCertificate(ca_, "collector", {"::1"}, absl::Hours(1));
  ASSERT_TRUE(server.ok()) << server.status();
  Ptr<X509> cert = ParseCert(server->cert_pem);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
}

TEST(X509ValidityTest, RejectsNonPositiveValidity) {
  EXPECT_EQ(
      CreateCertificateAuthority("CA", absl::ZeroDuration()).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(X509ValidityTest, RejectsInfiniteValidity) {
  EXPECT_EQ(CreateCertificateAuthority("CA", absl::InfiniteDuration())
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(X509ValidityTest, RejectsEmptyCommonName) {
  EXPECT_EQ(CreateCertificateAuthority("", absl::Hours(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(X509ValidityTest, AcceptsTenYearCa) {
  EXPECT_TRUE(CreateCertificateAuthority("CA", absl::Hours(24 * 3653)).ok());
}

// Client certificates: issued from a request, verified against the CA.
class ClientCertificateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<KeyAndCert> ca =
        CreateCertificateAuthority("Evidentia test CA", absl::Hours(24));
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = *ca;
    absl::StatusOr<KeyAndCsr> request = CreateCertificateRequest("agent");
    ASSERT_TRUE(request.ok()) << request.status();
    request_ = *request;
  }

  absl::StatusOr<std::string> Issue(const std::string& csr_pem) {
    return IssueClientCertificate(ca_, csr_pem, "a1b2", "evidentia:agent:a1b2",
                                  absl::Hours(1));
  }

  KeyAndCert ca_;
  KeyAndCsr request_;
};

Ptr<X509_REQ> ParseRequest(const std::string& pem) {
  Ptr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Ptr<X509_REQ>(
      PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
}

std::string RequestPem(X509_REQ* req) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

TEST_F(ClientCertificateTest, IssuedCertificateVerifiesWithCnAndUri) {
  absl::StatusOr<std::string> cert = Issue(request_.csr_pem);
  ASSERT_TRUE(cert.ok()) << cert.status();

  absl::StatusOr<ClientCertificate> verified =
      VerifyClientCertificate(*cert, ca_.cert_pem);

  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->common_name, "a1b2");
  EXPECT_EQ(verified->uris, std::vector<std::string>{"evidentia:agent:a1b2"});
}

TEST_F(ClientCertificateTest, IssuedCertificateIsForTheRequestedKey) {
  absl::StatusOr<std::string> cert = Issue(request_.csr_pem);
  ASSERT_TRUE(cert.ok()) << cert.status();
  Ptr<X509> x = ParseCert(*cert);
  Ptr<EVP_PKEY> key = ParseKey(request_.key_pem);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(X509_check_private_key(x.get(), key.get()), 1);
}

TEST_F(ClientCertificateTest, RequestWithFlippedSignatureIsRefused) {
  Ptr<X509_REQ> req = ParseRequest(request_.csr_pem);
  ASSERT_NE(req, nullptr);
  const ASN1_BIT_STRING* signature = nullptr;
  X509_REQ_get0_signature(req.get(), &signature, nullptr);
  ASSERT_NE(signature, nullptr);
  unsigned char* bytes = const_cast<unsigned char*>(
      ASN1_STRING_get0_data(const_cast<ASN1_BIT_STRING*>(signature)));
  bytes[ASN1_STRING_length(signature) - 1] ^= 0x01;

  EXPECT_EQ(Issue(RequestPem(req.get())).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ClientCertificateTest, RequestNamingAnotherKeyThanItsSignerIsRefused) {
  // Someone else's public key put into our signed request: the request no
  // longer proves possession of the key it names.
  absl::StatusOr<KeyAndCsr> other = CreateCertificateRequest("other");
  ASSERT_TRUE(other.ok());
  Ptr<X509_REQ> req = ParseRequest(request_.csr_pem);
  Ptr<X509_REQ> other_req = ParseRequest(other->csr_pem);
  ASSERT_EQ(
      X509_REQ_set_pubkey(req.get(), X509_REQ_get0_pubkey(other_req.get())), 1);

  EXPECT_EQ(Issue(RequestPem(req.get())).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ClientCertificateTest, GarbageRequestIsRefused) {
  EXPECT_EQ(Issue("not a request").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ClientCertificateTest, CertificateOfAnotherCaDoesNotVerify) {
  absl::StatusOr<KeyAndCert> other_ca =
      CreateCertificateAuthority("Evidentia test CA", absl::Hours(24));
  ASSERT_TRUE(other_ca.ok());
  absl::StatusOr<KeyAndCert> foreign = CreateClientCertificate(
      *other_ca, "a1b2", "evidentia:agent:a1b2", absl::Hours(1));
  ASSERT_TRUE(foreign.ok());

  EXPECT_EQ(
      VerifyClientCertificate(foreign->cert_pem, ca_.cert_pem).status().code(),
      absl::StatusCode::kUnauthenticated);
}

TEST_F(ClientCertificateTest, ServerCertificateIsNotAClientCertificate) {
  absl::StatusOr<KeyAndCert> server =
      IssueServerCertificate(ca_, "collector", {"127.0.0.1"}, absl::Hours(1));
  ASSERT_TRUE(server.ok());

  EXPECT_EQ(
      VerifyClientCertificate(server->cert_pem, ca_.cert_pem).status().code(),
      absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace evidentia
