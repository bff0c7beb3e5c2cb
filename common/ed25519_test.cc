#include "common/ed25519.h"

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "common/files.h"
#include "common/pae.h"
#include "common/sha256.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace evidentia {
namespace {

namespace fs = std::filesystem;

using ::evidentia::testing::ScopedTempDir;

PrivateKey NewKey() {
  absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

std::string Flip(std::string s, size_t i) {
  s[i] = static_cast<char>(s[i] ^ 0x01);
  return s;
}

// PEM encodings of a fresh EC P-256 key: a key of the wrong type.
struct EcPems {
  std::string private_pem;
  std::string public_pem;
};
EcPems MakeEcPems() {
  EcPems out;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free);
  if (key == nullptr) return out;
  std::unique_ptr<BIO, decltype(&BIO_free)> priv(BIO_new(BIO_s_mem()),
                                                 BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> pub(BIO_new(BIO_s_mem()), BIO_free);
  if (PEM_write_bio_PrivateKey(priv.get(), key.get(), nullptr, nullptr, 0,
                               nullptr, nullptr) != 1 ||
      PEM_write_bio_PUBKEY(pub.get(), key.get()) != 1) {
    return out;
  }
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(priv.get(), &mem);
  out.private_pem.assign(mem->data, mem->length);
  BIO_get_mem_ptr(pub.get(), &mem);
  out.public_pem.assign(mem->data, mem->length);
  return out;
}

TEST(Ed25519Test, SignatureVerifies) {
  const PrivateKey key = NewKey();
  absl::StatusOr<std::string> sig = key.Sign("message");
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(sig->size(), kEd25519SignatureSize);
  EXPECT_TRUE(key.public_key().Verify("message", *sig).ok());
}

TEST(Ed25519Test, SignsEmptyMessage) {
  const PrivateKey key = NewKey();
  absl::StatusOr<std::string> sig = key.Sign("");
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_TRUE(key.public_key().Verify("", *sig).ok());
}

TEST(Ed25519Test, RejectsFlippedMessageByte) {
  const PrivateKey key = NewKey();
  const std::string sig = key.Sign("message").value_or("");
  EXPECT_EQ(key.public_key().Verify("messagf", sig).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(Ed25519Test, RejectsFlippedSignatureByte) {
  const PrivateKey key = NewKey();
  const std::string sig = key.Sign("message").value_or("");
  ASSERT_EQ(sig.size(), kEd25519SignatureSize);
  EXPECT_EQ(key.public_key().Verify("message", Flip(sig, 10)).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(Ed25519Test, RejectsTruncatedSignature) {
  const PrivateKey key = NewKey();
  const std::string sig = key.Sign("message").value_or("");
  ASSERT_EQ(sig.size(), kEd25519SignatureSize);
  EXPECT_EQ(key.public_key().Verify("message", sig.substr(0, 63)).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(Ed25519Test, RejectsEmptySignature) {
  const PrivateKey key = NewKey();
  EXPECT_EQ(key.public_key().Verify("message", "").code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(Ed25519Test, RejectsSignatureByAnotherKey) {
  const PrivateKey key = NewKey();
  const PrivateKey other = NewKey();
  const std::string sig = other.Sign("message").value_or("");
  EXPECT_EQ(key.public_key().Verify("message", sig).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(Ed25519Test, PrivateKeyPemRoundTrips) {
  const PrivateKey key = NewKey();
  const std::string pem = key.ToPem();
  EXPECT_TRUE(absl::StartsWith(pem, "-----BEGIN PRIVATE KEY-----\n")) << pem;
  absl::StatusOr<PrivateKey> parsed = PrivateKey::FromPem(pem);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->public_key().SpkiDer(), key.public_key().SpkiDer());
  const std::string sig = parsed->Sign("m").value_or("");
  EXPECT_TRUE(key.public_key().Verify("m", sig).ok());
}

TEST(Ed25519Test, PublicKeyPemRoundTrips) {
  const PublicKey pub = NewKey().public_key();
  const std::string pem = pub.ToPem();
  EXPECT_TRUE(absl::StartsWith(pem, "-----BEGIN PUBLIC KEY-----\n")) << pem;
  absl::StatusOr<PublicKey> parsed = PublicKey::FromPem(pem);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->SpkiDer(), pub.SpkiDer());
}

TEST(Ed25519Test, PemInAnotherLayoutGivesTheSameKey) {
  // The canonical PEM takes a fast path; any other valid layout (CRLF
  // line ends, text before the block) the general decoder: same key.
  const PublicKey key = PrivateKey::Generate()->public_key();
  std::string crlf = key.ToPem();
  for (size_t at = crlf.find('\n'); at != std::string::npos;
       at = crlf.find('\n', at + 2)) {
    crlf.replace(at, 1, "\r\n");
  }
  for (const std::string& pem : {key.ToPem(), crlf, "key:\n" + key.ToPem()}) {
    absl::StatusOr<PublicKey> parsed = PublicKey::FromPem(pem);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->KeyId(), key.KeyId());
    const PrivateKey signer = *PrivateKey::Generate();
    EXPECT_FALSE(parsed->Verify("m", *signer.Sign("m")).ok());
  }
}

TEST(Ed25519Test, CanonicalLookingPemOfAnotherAlgorithmIsRejected) {
  // An X25519 key has the same 44-byte SPKI shape with another OID.
  EVP_PKEY* x25519 = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519");
  ASSERT_NE(x25519, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PUBKEY(bio, x25519), 1);
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio, &mem);
  const std::string pem(mem->data, mem->length);
  BIO_free(bio);
  EVP_PKEY_free(x25519);
  EXPECT_EQ(PublicKey::FromPem(pem).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Ed25519Test, PublicKeyPemHoldsNoPrivateKey) {
  const std::string pem = NewKey().public_key().ToPem();
  EXPECT_EQ(PrivateKey::FromPem(pem).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Ed25519Test, SpkiDerIsEd25519SubjectPublicKeyInfo) {
  const std::string der = NewKey().public_key().SpkiDer();
  ASSERT_EQ(der.size(), 44u);
  // SEQUENCE { SEQUENCE { OID 1.3.101.112 } BIT STRING (32 bytes) }.
  EXPECT_EQ(ToHex(der.substr(0, 12)), "302a300506032b6570032100");
}

TEST(Ed25519Test, KeyIdIsHexSha256OfSpki) {
  const PublicKey pub = NewKey().public_key();
  EXPECT_EQ(pub.KeyId(), Sha256Hex(pub.SpkiDer()));
  EXPECT_EQ(pub.KeyId().size(), 64u);
}

TEST(Ed25519Test, DistinctKeysHaveDistinctKeyIds) {
  EXPECT_NE(NewKey().public_key().KeyId(), NewKey().public_key().KeyId());
}

TEST(Ed25519Test, SavePemFileWritesMode0600) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path path = dir.path() / "agent.key";
  ASSERT_TRUE(NewKey().SavePemFile(path).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST(Ed25519Test, PrivateKeyFileRoundTrips) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path path = dir.path() / "agent.key";
  const PrivateKey key = NewKey();
  ASSERT_TRUE(key.SavePemFile(path).ok());
  absl::StatusOr<PrivateKey> loaded = PrivateKey::LoadPemFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->public_key().KeyId(), key.public_key().KeyId());
}

TEST(Ed25519Test, PublicKeyFileRoundTrips) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path path = dir.path() / "agent.pub.pem";
  const PublicKey pub = NewKey().public_key();
  ASSERT_TRUE(WriteFileAtomic(path, pub.ToPem()).ok());
  absl::StatusOr<PublicKey> loaded = PublicKey::LoadPemFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->KeyId(), pub.KeyId());
}

TEST(Ed25519Test, LoadMissingPrivateKeyFileIsNotFound) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  EXPECT_EQ(PrivateKey::LoadPemFile(dir.path() / "missing.key").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(Ed25519Test, LoadGarbagePublicKeyFileIsInvalidArgument) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path path = dir.path() / "bad.pem";
  ASSERT_TRUE(WriteFileAtomic(path, "not a key").ok());
  const absl::Status status = PublicKey::LoadPemFile(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("bad.pem"), std::string::npos) << status;
}

TEST(Ed25519Test, RejectsEcPrivateKey) {
  const EcPems ec = MakeEcPems();
  ASSERT_FALSE(ec.private_pem.empty());
  EXPECT_EQ(PrivateKey::FromPem(ec.private_pem).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Ed25519Test, RejectsEcPublicKey) {
  const EcPems ec = MakeEcPems();
  ASSERT_FALSE(ec.public_pem.empty());
  EXPECT_EQ(PublicKey::FromPem(ec.public_pem).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Ed25519Test, RejectsGarbagePrivateKeyPem) {
  EXPECT_EQ(PrivateKey::FromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n"
                                "-----END PRIVATE KEY-----\n")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Ed25519Test, RejectsGarbagePublicKeyPem) {
  EXPECT_EQ(PublicKey::FromPem("garbage").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Ed25519Test, RejectsEmptyPem) {
  EXPECT_EQ(PrivateKey::FromPem("").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PublicKey::FromPem("").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Ed25519Test, RejectsEncryptedPrivateKeyWithoutPrompting) {
  const PrivateKey key = NewKey();
  // Re-encode the key encrypted, via its PEM.
  const std::string plain = key.ToPem();
  std::unique_ptr<BIO, decltype(&BIO_free)> in(
      BIO_new_mem_buf(plain.data(), static_cast<int>(plain.size())), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
      PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr),
      EVP_PKEY_free);
  ASSERT_NE(pkey, nullptr);
  std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), BIO_free);
  static const char kPass[] = "passphrase";
  ASSERT_EQ(
      PEM_write_bio_PrivateKey(out.get(), pkey.get(), EVP_aes_256_cbc(),
                               reinterpret_cast<const unsigned char*>(kPass),
                               sizeof(kPass) - 1, nullptr, nullptr),
      1);
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(out.get(), &mem);
  const std::string encrypted(mem->data, mem->length);
  ASSERT_TRUE(absl::StrContains(encrypted, "ENCRYPTED")) << encrypted;
  EXPECT_EQ(PrivateKey::FromPem(encrypted).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Runs `command` through the shell; true when it exits 0.
bool Succeeds(const std::string& command) {
  const int rc = std::system(command.c_str());
  return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

// What an auditor runs: `openssl pkeyutl -verify` over our PAE bytes and raw
// signature, with our SPKI PEM.
class OpensslInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    if (!Succeeds("openssl version >/dev/null 2>&1")) {
      GTEST_SKIP() << "openssl command-line tool not installed";
    }
    const PrivateKey key = NewKey();
    const std::string pae =
        Pae("application/vnd.evidentia.snapshot.v1+protobuf",
            std::string("payload\0bytes", 13));
    absl::StatusOr<std::string> sig = key.Sign(pae);
    ASSERT_TRUE(sig.ok()) << sig.status();
    sig_ = *sig;
    ASSERT_TRUE(
        WriteFileAtomic(dir_.path() / "key.pem", key.public_key().ToPem())
            .ok());
    ASSERT_TRUE(WriteFileAtomic(dir_.path() / "pae.bin", pae).ok());
  }

  bool OpensslVerifies(const std::string& sig) {
    const fs::path sig_path = dir_.path() / "sig.bin";
    if (!WriteFileAtomic(sig_path, sig).ok()) return false;
    const std::string d = dir_.path().string();
    return Succeeds("openssl pkeyutl -verify -pubin -inkey '" + d +
                    "/key.pem' -rawin -in '" + d + "/pae.bin' -sigfile '" + d +
                    "/sig.bin' >/dev/null 2>&1");
  }

  ScopedTempDir dir_;
  std::string sig_;
};

TEST_F(OpensslInteropTest, OpensslVerifiesOurSignature) {
  EXPECT_TRUE(OpensslVerifies(sig_));
}

TEST_F(OpensslInteropTest, OpensslRejectsFlippedSignature) {
  EXPECT_FALSE(OpensslVerifies(Flip(sig_, 0)));
}

}  // namespace
}  // namespace evidentia
