#include "common/x509.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/files.h"
#include "common/openssl_error.h"

namespace evidentia {
namespace {

// Certificates are backdated this much to tolerate clock skew between peers.
constexpr long kBackdateSeconds = 5 * 60;
// X.509 upper bound for a commonName (RFC 5280 ub-common-name).
constexpr size_t kMaxCommonName = 64;
// Longest DNS name (RFC 1035).
constexpr size_t kMaxDnsName = 253;

struct OpenSslFree {
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(ASN1_OCTET_STRING* p) const { ASN1_OCTET_STRING_free(p); }
  void operator()(GENERAL_NAME* p) const { GENERAL_NAME_free(p); }
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
  void operator()(X509_REQ* p) const { X509_REQ_free(p); }
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};
template <typename T>
using Ptr = std::unique_ptr<T, OpenSslFree>;

absl::Status Internal(absl::string_view what) {
  return OpenSslError(absl::StatusCode::kInternal, what);
}

int NoPassphrase(char*, int, int, void*) { return -1; }

Ptr<BIO> MemBio(std::string_view data) {
  if (data.size() > static_cast<size_t>(INT_MAX)) return nullptr;
  return Ptr<BIO>(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string BioContents(BIO* bio) {
  BUF_MEM* mem = nullptr;
  if (BIO_get_mem_ptr(bio, &mem) != 1 || mem == nullptr) return std::string();
  return std::string(mem->data, mem->length);
}

absl::StatusOr<Ptr<EVP_PKEY>> GenerateP256Key() {
  Ptr<EVP_PKEY> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (key == nullptr) return Internal("cannot generate a P-256 key");
  return key;
}

absl::StatusOr<std::string> PrivateKeyPem(EVP_PKEY* key) {
  Ptr<BIO> bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                               nullptr) != 1) {
    return Internal("cannot encode the private key as PEM");
  }
  return BioContents(bio.get());
}

absl::StatusOr<std::string> CertificatePem(X509* cert) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return Internal("cannot encode the certificate as PEM");
  }
  return BioContents(bio.get());
}

absl::Status CheckCommonName(std::string_view common_name) {
  if (common_name.empty() || common_name.size() > kMaxCommonName) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate common name must be 1 to ", kMaxCommonName,
                     " bytes, got ", common_name.size()));
  }
  for (char c : common_name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          "certificate common name holds a control character");
    }
  }
  return absl::OkStatus();
}

// Seconds in `validity`, or INVALID_ARGUMENT when it is not positive or
// would run past what X.509 times can hold.
absl::StatusOr<long> ValiditySeconds(absl::Duration validity) {
  // Up to ~1000 years keeps notAfter well inside GeneralizedTime's range.
  const absl::Duration kMax = absl::Hours(24 * 366 * 1000);
  if (validity <= absl::ZeroDuration() || validity > kMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate validity ", absl::FormatDuration(validity),
                     " is not positive and finite"));
  }
  return static_cast<long>(absl::ToInt64Seconds(validity));
}

// A certificate for `key` with version 3, a random positive 128-bit serial,
// subject CN `common_name`, notBefore now - 5 min, notAfter now + validity.
absl::StatusOr<Ptr<X509>> NewCertificate(EVP_PKEY* key,
                                         std::string_view common_name,
                                         long validity_seconds) {
  Ptr<X509> cert(X509_new());
  if (cert == nullptr) return Internal("X509_new failed");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return Internal("cannot set the certificate version");
  }

  absl::StatusOr<std::string> serial_bytes = RandomBytes(16);
  if (!serial_bytes.ok()) return serial_bytes.status();
  // Positive (top bit clear) and never zero or short (second bit set).
  (*serial_bytes)[0] = static_cast<char>(
      (static_cast<unsigned char>((*serial_bytes)[0]) & 0x7f) | 0x40);
  Ptr<BIGNUM> serial(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(serial_bytes->data()),
                static_cast<int>(serial_bytes->size()), nullptr));
  if (serial == nullptr ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) ==
          nullptr) {
    return Internal("cannot set the certificate serial number");
  }

  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) ==
          nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), validity_seconds) ==
          nullptr) {
    return Internal("cannot set the certificate validity");
  }

  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (subject == nullptr ||
      X509_NAME_add_entry_by_txt(
          subject, "CN", MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(common_name.data()),
          static_cast<int>(common_name.size()), -1, 0) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        absl::StrCat("cannot use \"", std::string(common_name),
                                     "\" as the certificate common name"));
  }
  if (X509_set_pubkey(cert.get(), key) != 1) {
    return Internal("cannot set the certificate public key");
  }
  return cert;
}

// Adds the extension `nid` with OpenSSL config syntax `value` (e.g.
// "critical,CA:TRUE"), resolved against `ctx`.
absl::Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid,
                          const char* value) {
  Ptr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    return Internal(absl::StrCat("cannot add certificate extension ",
                                 OBJ_nid2sn(nid), " = ", value));
  }
  return absl::OkStatus();
}

// Whether `name` is a plausible DNS name (letters, digits, '-', '.', '_',
// and a leading "*." wildcard label).
bool IsDnsName(std::string_view name) {
  if (name.empty() || name.size() > kMaxDnsName) return false;
  if (name.substr(0, 2) == "*.") name.remove_prefix(2);
  if (name.empty() || name.front() == '.' || name.back() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return name.find("..") == std::string_view::npos;
}

// subjectAltName: each entry an iPAddress if it parses as one, else a dNSName.
absl::Status AddSubjectAltNames(X509* cert,
                                const std::vector<std::string>& names) {
  if (names.empty()) {
    return absl::InvalidArgumentError(
        "a server certificate needs at least one subjectAltName");
  }
  Ptr<GENERAL_NAMES> gens(sk_GENERAL_NAME_new_null());
  if (gens == nullptr) return Internal("cannot allocate subjectAltName");
  for (const std::string& name : names) {
    Ptr<GENERAL_NAME> gen(GENERAL_NAME_new());
    if (gen == nullptr) return Internal("cannot allocate subjectAltName");
    Ptr<ASN1_OCTET_STRING> ip(name.find('\0') == std::string::npos
                                  ? a2i_IPADDRESS(name.c_str())
                                  : nullptr);
    ERR_clear_error();  // a2i_IPADDRESS failing just means "not an IP".
    if (ip != nullptr) {
      GENERAL_NAME_set0_value(gen.get(), GEN_IPADD, ip.release());
    } else {
      if (!IsDnsName(name)) {
        return absl::InvalidArgumentError(
            absl::StrCat("subjectAltName \"", name.substr(0, 300),
                         "\" is neither an IP address nor a DNS name"));
      }
      ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
      if (dns == nullptr ||
          ASN1_STRING_set(dns, name.data(), static_cast<int>(name.size())) !=
              1) {
        ASN1_IA5STRING_free(dns);
        return Internal("cannot allocate a dNSName");
      }
      GENERAL_NAME_set0_value(gen.get(), GEN_DNS, dns);
    }
    if (sk_GENERAL_NAME_push(gens.get(), gen.get()) == 0) {
      return Internal("cannot add to subjectAltName");
    }
    gen.release();  // Owned by gens now.
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, gens.get(), 0,
                        X509V3_ADD_DEFAULT) != 1) {
    return Internal("cannot add subjectAltName");
  }
  return absl::OkStatus();
}

// The CA: a certificate that is a CA and the private key that matches it.
struct LoadedCa {
  Ptr<X509> cert;
  Ptr<EVP_PKEY> key;
};

Ptr<X509> ReadCertificate(std::string_view pem) {
  Ptr<BIO> bio = MemBio(pem);
  return Ptr<X509>(bio == nullptr ? nullptr
                                  : PEM_read_bio_X509(bio.get(), nullptr,
                                                      NoPassphrase, nullptr));
}

absl::StatusOr<LoadedCa> LoadCa(const KeyAndCert& ca) {
  LoadedCa loaded;
  loaded.cert = ReadCertificate(ca.cert_pem);
  if (loaded.cert == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "CA certificate is not a PEM certificate");
  }
  Ptr<BIO> ca_key_bio = MemBio(ca.key_pem);
  loaded.key.reset(ca_key_bio == nullptr
                       ? nullptr
                       : PEM_read_bio_PrivateKey(ca_key_bio.get(), nullptr,
                                                 NoPassphrase, nullptr));
  if (loaded.key == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "CA key is not an unencrypted PEM private key");
  }
  if (X509_check_ca(loaded.cert.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("CA certificate is not a CA");
  }
  if (X509_check_private_key(loaded.cert.get(), loaded.key.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "CA key does not match the CA certificate");
  }
  return loaded;
}

// subjectAltName holding the one URI `uri`.
absl::Status AddUriSubjectAltName(X509* cert, std::string_view uri) {
  if (uri.empty() || uri.size() > 256) {
    return absl::InvalidArgumentError("certificate URI must be 1-256 bytes");
  }
  Ptr<GENERAL_NAMES> gens(sk_GENERAL_NAME_new_null());
  Ptr<GENERAL_NAME> gen(GENERAL_NAME_new());
  ASN1_IA5STRING* value = ASN1_IA5STRING_new();
  if (gens == nullptr || gen == nullptr || value == nullptr ||
      ASN1_STRING_set(value, uri.data(), static_cast<int>(uri.size())) != 1) {
    ASN1_IA5STRING_free(value);
    return Internal("cannot allocate a URI subjectAltName");
  }
  GENERAL_NAME_set0_value(gen.get(), GEN_URI, value);
  if (sk_GENERAL_NAME_push(gens.get(), gen.get()) == 0) {
    return Internal("cannot add to subjectAltName");
  }
  gen.release();  // Owned by gens now.
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, gens.get(), 0,
                        X509V3_ADD_DEFAULT) != 1) {
    return Internal("cannot add subjectAltName");
  }
  return absl::OkStatus();
}

absl::Status Sign(X509* cert, EVP_PKEY* key) {
  if (X509_sign(cert, key, EVP_sha256()) <= 0) {
    return Internal("cannot sign the certificate");
  }
  return absl::OkStatus();
}

absl::StatusOr<KeyAndCert> Encode(EVP_PKEY* key, X509* cert) {
  KeyAndCert out;
  absl::StatusOr<std::string> key_pem = PrivateKeyPem(key);
  if (!key_pem.ok()) return key_pem.status();
  absl::StatusOr<std::string> cert_pem = CertificatePem(cert);
  if (!cert_pem.ok()) return cert_pem.status();
  out.key_pem = *std::move(key_pem);
  out.cert_pem = *std::move(cert_pem);
  return out;
}

}  // namespace

absl::StatusOr<KeyAndCert> CreateCertificateAuthority(
    std::string_view common_name, absl::Duration validity) {
  if (absl::Status s = CheckCommonName(common_name); !s.ok()) return s;
  absl::StatusOr<long> seconds = ValiditySeconds(validity);
  if (!seconds.ok()) return seconds.status();
  absl::StatusOr<Ptr<EVP_PKEY>> key = GenerateP256Key();
  if (!key.ok()) return key.status();
  absl::StatusOr<Ptr<X509>> cert =
      NewCertificate(key->get(), common_name, *seconds);
  if (!cert.ok()) return cert.status();
  X509* x = cert->get();

  if (X509_set_issuer_name(x, X509_get_subject_name(x)) != 1) {
    return Internal("cannot set the CA issuer name");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  X509V3_set_ctx_nodb(&ctx);
  for (const auto& [nid, value] : std::vector<std::pair<int, const char*>>{
           {NID_basic_constraints, "critical,CA:TRUE"},
           {NID_key_usage, "critical,keyCertSign,cRLSign"},
           {NID_subject_key_identifier, "hash"},
           {NID_authority_key_identifier, "keyid:always"},
       }) {
    if (absl::Status s = AddExtension(x, &ctx, nid, value); !s.ok()) return s;
  }
  if (absl::Status s = Sign(x, key->get()); !s.ok()) return s;
  return Encode(key->get(), x);
}

absl::StatusOr<KeyAndCert> IssueServerCertificate(
    const KeyAndCert& ca, std::string_view common_name,
    const std::vector<std::string>& names, absl::Duration validity) {
  absl::StatusOr<LoadedCa> loaded = LoadCa(ca);
  if (!loaded.ok()) return loaded.status();
  X509* ca_cert = loaded->cert.get();
  EVP_PKEY* ca_key = loaded->key.get();
  if (absl::Status s = CheckCommonName(common_name); !s.ok()) return s;
  absl::StatusOr<long> seconds = ValiditySeconds(validity);
  if (!seconds.ok()) return seconds.status();
  absl::StatusOr<Ptr<EVP_PKEY>> key = GenerateP256Key();
  if (!key.ok()) return key.status();
  absl::StatusOr<Ptr<X509>> cert =
      NewCertificate(key->get(), common_name, *seconds);
  if (!cert.ok()) return cert.status();
  X509* x = cert->get();

  if (X509_set_issuer_name(x, X509_get_subject_name(ca_cert)) != 1) {
    return Internal("cannot set the issuer name");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca_cert, x, nullptr, nullptr, 0);
  X509V3_set_ctx_nodb(&ctx);
  for (const auto& [nid, value] : std::vector<std::pair<int, const char*>>{
           {NID_basic_constraints, "critical,CA:FALSE"},
           {NID_key_usage, "critical,digitalSignature"},
           {NID_ext_key_usage, "serverAuth"},
           {NID_subject_key_identifier, "hash"},
           {NID_authority_key_identifier, "keyid:always"},
       }) {
    if (absl::Status s = AddExtension(x, &ctx, nid, value); !s.ok()) return s;
  }
  if (absl::Status s = AddSubjectAltNames(x, names); !s.ok()) return s;
  if (absl::Status s = Sign(x, ca_key); !s.ok()) return s;
  return Encode(key->get(), x);
}

absl::StatusOr<KeyAndCsr> CreateCertificateRequest(
    std::string_view common_name) {
  if (absl::Status s = CheckCommonName(common_name); !s.ok()) return s;
  absl::StatusOr<Ptr<EVP_PKEY>> key = GenerateP256Key();
  if (!key.ok()) return key.status();
  Ptr<X509_REQ> req(X509_REQ_new());
  if (req == nullptr ||
      X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1) {
    return Internal("cannot make a certificate request");
  }
  X509_NAME* subject = X509_REQ_get_subject_name(req.get());
  if (subject == nullptr ||
      X509_NAME_add_entry_by_txt(
          subject, "CN", MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(common_name.data()),
          static_cast<int>(common_name.size()), -1, 0) != 1 ||
      X509_REQ_set_pubkey(req.get(), key->get()) != 1 ||
      X509_REQ_sign(req.get(), key->get(), EVP_sha256()) <= 0) {
    return Internal("cannot sign the certificate request");
  }
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) {
    return Internal("cannot encode the certificate request as PEM");
  }
  KeyAndCsr out;
  out.csr_pem = BioContents(bio.get());
  absl::StatusOr<std::string> key_pem = PrivateKeyPem(key->get());
  if (!key_pem.ok()) return key_pem.status();
  out.key_pem = *std::move(key_pem);
  return out;
}

absl::StatusOr<std::string> IssueClientCertificate(const KeyAndCert& ca,
                                                   std::string_view csr_pem,
                                                   std::string_view common_name,
                                                   std::string_view uri,
                                                   absl::Duration validity) {
  absl::StatusOr<LoadedCa> loaded = LoadCa(ca);
  if (!loaded.ok()) return loaded.status();
  Ptr<BIO> csr_bio = MemBio(csr_pem);
  Ptr<X509_REQ> req(csr_bio == nullptr
                        ? nullptr
                        : PEM_read_bio_X509_REQ(csr_bio.get(), nullptr,
                                                NoPassphrase, nullptr));
  if (req == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "certificate request is not a PEM PKCS#10 request");
  }
  EVP_PKEY* requested_key = X509_REQ_get0_pubkey(req.get());
  // Proof of possession: the request is signed by the key it names.
  if (requested_key == nullptr ||
      X509_REQ_verify(req.get(), requested_key) != 1) {
    return OpenSslError(
        absl::StatusCode::kInvalidArgument,
        "certificate request signature does not verify under its own key");
  }
  if (EVP_PKEY_get_base_id(requested_key) != EVP_PKEY_EC ||
      EVP_PKEY_get_bits(requested_key) != 256) {
    return absl::InvalidArgumentError(
        "certificate request must be for an ECDSA P-256 key");
  }
  if (absl::Status s = CheckCommonName(common_name); !s.ok()) return s;
  absl::StatusOr<long> seconds = ValiditySeconds(validity);
  if (!seconds.ok()) return seconds.status();
  absl::StatusOr<Ptr<X509>> cert =
      NewCertificate(requested_key, common_name, *seconds);
  if (!cert.ok()) return cert.status();
  X509* x = cert->get();
  if (X509_set_issuer_name(x, X509_get_subject_name(loaded->cert.get())) != 1) {
    return Internal("cannot set the issuer name");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, loaded->cert.get(), x, nullptr, nullptr, 0);
  X509V3_set_ctx_nodb(&ctx);
  for (const auto& [nid, value] : std::vector<std::pair<int, const char*>>{
           {NID_basic_constraints, "critical,CA:FALSE"},
           {NID_key_usage, "critical,digitalSignature"},
           {NID_ext_key_usage, "clientAuth"},
           {NID_subject_key_identifier, "hash"},
           {NID_authority_key_identifier, "keyid:always"},
       }) {
    if (absl::Status s = AddExtension(x, &ctx, nid, value); !s.ok()) return s;
  }
  if (absl::Status s = AddUriSubjectAltName(x, uri); !s.ok()) return s;
  if (absl::Status s = Sign(x, loaded->key.get()); !s.ok()) return s;
  return CertificatePem(x);
}

absl::StatusOr<KeyAndCert> CreateClientCertificate(const KeyAndCert& ca,
                                                   std::string_view common_name,
                                                   std::string_view uri,
                                                   absl::Duration validity) {
  absl::StatusOr<KeyAndCsr> request = CreateCertificateRequest(common_name);
  if (!request.ok()) return request.status();
  absl::StatusOr<std::string> cert =
      IssueClientCertificate(ca, request->csr_pem, common_name, uri, validity);
  if (!cert.ok()) return cert.status();
  return KeyAndCert{std::move(request->key_pem), *std::move(cert)};
}

absl::StatusOr<ClientCertificate> VerifyClientCertificate(
    std::string_view cert_pem, std::string_view ca_cert_pem) {
  Ptr<X509> ca = ReadCertificate(ca_cert_pem);
  if (ca == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "CA certificate is not a PEM certificate");
  }
  Ptr<X509> cert = ReadCertificate(cert_pem);
  if (cert == nullptr) {
    ERR_clear_error();
    return absl::UnauthenticatedError(
        "client certificate is not a PEM certificate");
  }
  Ptr<X509_STORE> store(X509_STORE_new());
  Ptr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (store == nullptr || ctx == nullptr ||
      X509_STORE_add_cert(store.get(), ca.get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1 ||
      X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT) != 1) {
    return Internal("cannot set up certificate verification");
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    const int error = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return absl::UnauthenticatedError(
        absl::StrCat("client certificate does not verify against the "
                     "collector's CA: ",
                     X509_verify_cert_error_string(error)));
  }
  ClientCertificate out;
  X509_NAME* subject = X509_get_subject_name(cert.get());
  const int cn_index = subject == nullptr ? -1
                                          : X509_NAME_get_index_by_NID(
                                                subject, NID_commonName, -1);
  if (cn_index >= 0) {
    const ASN1_STRING* cn =
        X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, cn_index));
    out.common_name.assign(
        reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)),
        static_cast<size_t>(ASN1_STRING_length(cn)));
  }
  Ptr<GENERAL_NAMES> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names.get());
       ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_URI) continue;
    const ASN1_STRING* uri = name->d.uniformResourceIdentifier;
    out.uris.emplace_back(
        reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
        static_cast<size_t>(ASN1_STRING_length(uri)));
  }
  ERR_clear_error();
  return out;
}

}  // namespace evidentia
