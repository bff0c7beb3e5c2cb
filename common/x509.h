// X.509 material for the collector's TLS: a private CA and certificates it
// issues (ECDSA P-256, SHA-256), built with OpenSSL 3.
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

}  // namespace evidentia

#endif  // EVIDENTIA_COMMON_X509_H_
