#include "common/ed25519.h"

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include <climits>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/openssl_error.h"
#include "common/sha256.h"

namespace evidentia {
namespace {

// PEM key files are a few hundred bytes; anything much larger is not one.
constexpr size_t kMaxPemFileBytes = 64 * 1024;

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

std::shared_ptr<EVP_PKEY> Share(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

// A read-only memory BIO over `data`, or null if it is too large.
BioPtr MemBio(std::string_view data) {
  if (data.size() > static_cast<size_t>(INT_MAX)) return nullptr;
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// The contents of a memory BIO.
std::string BioContents(BIO* bio) {
  BUF_MEM* mem = nullptr;
  if (BIO_get_mem_ptr(bio, &mem) != 1 || mem == nullptr) return std::string();
  return std::string(mem->data, mem->length);
}

// Refuses passphrases, so an encrypted PEM fails instead of prompting on the
// terminal.
int NoPassphrase(char*, int, int, void*) { return -1; }

bool IsEd25519(const EVP_PKEY* key) { return EVP_PKEY_is_a(key, "ED25519"); }

absl::Status WithPath(const absl::Status& status,
                      const std::filesystem::path& path) {
  return absl::Status(status.code(),
                      absl::StrCat(path.string(), ": ", status.message()));
}

}  // namespace

// ---------------------------------------------------------------------------
// PublicKey

PublicKey::PublicKey(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {
  // Every key reaching here is Ed25519 (checked where it is parsed or made).
  size_t size = raw_.size();
  if (EVP_PKEY_get_raw_public_key(key_.get(), raw_.data(), &size) != 1 ||
      size != raw_.size()) {
    ERR_clear_error();
    raw_.fill(0);  // an all-zero key verifies nothing
  }
}

namespace {

// An Ed25519 SubjectPublicKeyInfo in DER is this, then the 32-byte key:
// SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (32 bytes) }.
constexpr std::string_view kSpkiPrefix(
    "\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00", 12);

// The raw key of `pem` when it is exactly the form ToPem writes: base64 of
// the 44-byte Ed25519 SubjectPublicKeyInfo. OpenSSL 3's general decoder
// takes about 0.4 ms a key here, which ingest would pay per snapshot.
std::optional<std::string> CanonicalEd25519Pem(std::string_view pem) {
  constexpr std::string_view kBegin = "-----BEGIN PUBLIC KEY-----\n";
  constexpr std::string_view kEnd = "\n-----END PUBLIC KEY-----\n";
  if (pem.size() != kBegin.size() + 60 + kEnd.size() ||
      pem.substr(0, kBegin.size()) != kBegin ||
      pem.substr(pem.size() - kEnd.size()) != kEnd) {
    return std::nullopt;
  }
  std::string der;
  if (!absl::Base64Unescape(absl::string_view(pem.data() + kBegin.size(), 60),
                            &der) ||
      der.size() != kSpkiPrefix.size() + 32 ||
      std::string_view(der).substr(0, kSpkiPrefix.size()) != kSpkiPrefix) {
    return std::nullopt;
  }
  return der.substr(kSpkiPrefix.size());
}

}  // namespace

absl::StatusOr<PublicKey> PublicKey::FromPem(std::string_view pem) {
  if (std::optional<std::string> raw_key = CanonicalEd25519Pem(pem)) {
    EVP_PKEY* raw = EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr,
        reinterpret_cast<const unsigned char*>(raw_key->data()),
        raw_key->size());
    if (raw != nullptr) return PublicKey(Share(raw));
    ERR_clear_error();  // fall through to the general decoder
  }
  BioPtr bio = MemBio(pem);
  if (bio == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "public key PEM: cannot read");
  }
  EVP_PKEY* raw =
      PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr);
  if (raw == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "not a SubjectPublicKeyInfo PEM public key");
  }
  std::shared_ptr<EVP_PKEY> key = Share(raw);
  if (!IsEd25519(key.get())) {
    return absl::InvalidArgumentError(
        absl::StrCat("public key is ",
                     EVP_PKEY_get0_type_name(key.get()) != nullptr
                         ? EVP_PKEY_get0_type_name(key.get())
                         : "of an unknown type",
                     ", not Ed25519"));
  }
  return PublicKey(std::move(key));
}

absl::StatusOr<PublicKey> PublicKey::LoadPemFile(
    const std::filesystem::path& path) {
  absl::StatusOr<std::string> pem = ReadFile(path, kMaxPemFileBytes);
  if (!pem.ok()) return pem.status();
  absl::StatusOr<PublicKey> key = FromPem(*pem);
  if (!key.ok()) return WithPath(key.status(), path);
  return key;
}

std::string PublicKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) {
    ERR_clear_error();
    return std::string();
  }
  return BioContents(bio.get());
}

std::string PublicKey::SpkiDer() const {
  // Built from the raw key: OpenSSL 3's encoder (i2d_PUBKEY) took longer
  // than the signature check, and ingest needs the key id per snapshot.
  if (raw_ != std::array<unsigned char, 32>{}) {
    std::string der(kSpkiPrefix);
    der.append(reinterpret_cast<const char*>(raw_.data()), raw_.size());
    return der;
  }
  const int len = i2d_PUBKEY(key_.get(), nullptr);
  if (len <= 0) {
    ERR_clear_error();
    return std::string();
  }
  std::string der(static_cast<size_t>(len), '\0');
  unsigned char* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_PUBKEY(key_.get(), &out) != len) {
    ERR_clear_error();
    return std::string();
  }
  return der;
}

std::string PublicKey::KeyId() const { return Sha256Hex(SpkiDer()); }

absl::Status PublicKey::Verify(std::string_view message,
                               std::string_view signature) const {
  if (signature.size() != kEd25519SignatureSize) {
    return absl::UnauthenticatedError(
        absl::StrCat("Ed25519 signature is ", signature.size(), " bytes, want ",
                     kEd25519SignatureSize));
  }
  static const bool sodium_ready = sodium_init() >= 0;
  if (!sodium_ready) {
    return absl::InternalError("Ed25519 verify: libsodium cannot start");
  }
  if (crypto_sign_verify_detached(
          reinterpret_cast<const unsigned char*>(signature.data()),
          reinterpret_cast<const unsigned char*>(message.data()),
          message.size(), raw_.data()) != 0) {
    return absl::UnauthenticatedError("Ed25519 signature does not verify");
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// PrivateKey

absl::StatusOr<PrivateKey> PrivateKey::Generate() {
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (raw == nullptr) {
    return OpenSslError(absl::StatusCode::kInternal,
                        "cannot generate an Ed25519 key");
  }
  return PrivateKey(Share(raw));
}

absl::StatusOr<PrivateKey> PrivateKey::FromPem(std::string_view pem) {
  BioPtr bio = MemBio(pem);
  if (bio == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "private key PEM: cannot read");
  }
  EVP_PKEY* raw =
      PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr);
  if (raw == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "not an unencrypted PEM private key");
  }
  std::shared_ptr<EVP_PKEY> key = Share(raw);
  if (!IsEd25519(key.get())) {
    return absl::InvalidArgumentError(
        absl::StrCat("private key is ",
                     EVP_PKEY_get0_type_name(key.get()) != nullptr
                         ? EVP_PKEY_get0_type_name(key.get())
                         : "of an unknown type",
                     ", not Ed25519"));
  }
  return PrivateKey(std::move(key));
}

absl::StatusOr<PrivateKey> PrivateKey::LoadPemFile(
    const std::filesystem::path& path) {
  absl::StatusOr<std::string> pem = ReadFile(path, kMaxPemFileBytes);
  if (!pem.ok()) return pem.status();
  absl::StatusOr<PrivateKey> key = FromPem(*pem);
  OPENSSL_cleanse(pem->data(), pem->size());
  if (!key.ok()) return WithPath(key.status(), path);
  return key;
}

std::string PrivateKey::ToPem() const {
  // Secure-heap memory BIO: the PEM is cleansed when the BIO is freed.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0,
                               nullptr, nullptr) != 1) {
    ERR_clear_error();
    return std::string();
  }
  return BioContents(bio.get());
}

absl::Status PrivateKey::SavePemFile(const std::filesystem::path& path) const {
  std::string pem = ToPem();
  if (pem.empty()) {
    return OpenSslError(
        absl::StatusCode::kInternal,
        absl::StrCat(path.string(), ": cannot encode the private key"));
  }
  absl::Status status = WriteFileAtomic(path, pem, 0600);
  OPENSSL_cleanse(pem.data(), pem.size());
  return status;
}

PublicKey PrivateKey::public_key() const {
  // A public-only copy, so a PublicKey never carries private material.
  unsigned char raw[32];
  size_t raw_len = sizeof(raw);
  if (EVP_PKEY_get_raw_public_key(key_.get(), raw, &raw_len) == 1 &&
      raw_len == sizeof(raw)) {
    EVP_PKEY* pub =
        EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw, raw_len);
    if (pub != nullptr) return PublicKey(Share(pub));
  }
  // Out of memory only: the private handle serves public operations too.
  ERR_clear_error();
  return PublicKey(key_);
}

absl::StatusOr<std::string> PrivateKey::Sign(std::string_view message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr,
                                           key_.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal,
                        "Ed25519 sign: cannot initialise");
  }
  std::string signature(kEd25519SignatureSize, '\0');
  size_t signature_len = signature.size();
  if (EVP_DigestSign(ctx.get(),
                     reinterpret_cast<unsigned char*>(signature.data()),
                     &signature_len,
                     reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      signature_len != kEd25519SignatureSize) {
    return OpenSslError(absl::StatusCode::kInternal, "Ed25519 sign failed");
  }
  return signature;
}

}  // namespace evidentia
