// X.509 material for the collector's TLS: a private CA, the server
// certificate and the client certificates it issues to agents and the
// operator (ECDSA P-256, SHA-256), certificate requests, and the check of a
// client certificate a peer presented. Built with OpenSSL 3; thread-safe.
#ifndef EVIDENTIA_COMMON_X509_H_
#define EVIDENTIA_COMMON_X509_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace evidentia {

// A private key (PKCS#8 PEM) and its certificate (PEM).
struct KeyAndCert {
  std::string key_pem;
  std::string cert_pem;
};

// A self-signed CA certificate (basicConstraints CA:TRUE, keyCertSign)
// with a fresh key, valid from now for `validity`.
absl::StatusOr<KeyAndCert> CreateCertificateAuthority(
    std::string_view common_name, absl::Duration validity);

// A TLS server certificate signed by `ca` with a fresh key: serverAuth,
// subjectAltName holding each entry of `names` as an IP address when it
// parses as one, else as a DNS name. INVALID_ARGUMENT for an unusable CA.
absl::StatusOr<KeyAndCert> IssueServerCertificate(
    const KeyAndCert& ca, std::string_view common_name,
    const std::vector<std::string>& names, absl::Duration validity);

// A private key (PKCS#8 PEM) and a PKCS#10 request for it (PEM).
struct KeyAndCsr {
  std::string key_pem;
  std::string csr_pem;
};

// A fresh P-256 key and a certificate request for it, self-signed
// (SHA-256), with subject CN `common_name`.
absl::StatusOr<KeyAndCsr> CreateCertificateRequest(
    std::string_view common_name);

// A TLS client certificate signed by `ca` for the public key of `csr_pem`:
// clientAuth, subject CN `common_name`, one subjectAltName URI `uri`. The
// request's own subject and extensions are ignored. INVALID_ARGUMENT when
// the request does not parse or its self-signature does not verify (so it
// was not made by the holder of the key it names), or for an unusable CA.
absl::StatusOr<std::string> IssueClientCertificate(const KeyAndCert& ca,
                                                   std::string_view csr_pem,
                                                   std::string_view common_name,
                                                   std::string_view uri,
                                                   absl::Duration validity);

// A fresh key and a client certificate for it, as IssueClientCertificate.
absl::StatusOr<KeyAndCert> CreateClientCertificate(const KeyAndCert& ca,
                                                   std::string_view common_name,
                                                   std::string_view uri,
                                                   absl::Duration validity);

// What a verified client certificate says.
struct ClientCertificate {
  std::string common_name;
  std::vector<std::string> uris;  // subjectAltName URIs, in order
};

// Verifies `cert_pem` against `ca_cert_pem` as the only trust anchor, for
// the TLS client purpose, at the current time. UNAUTHENTICATED when it does
// not verify (names the reason); INVALID_ARGUMENT for an unusable CA.
absl::StatusOr<ClientCertificate> VerifyClientCertificate(
    std::string_view cert_pem, std::string_view ca_cert_pem);

}  // namespace evidentia

#endif  // EVIDENTIA_COMMON_X509_H_
