#include "common/sha256.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

namespace evidentia {

namespace {

// Fetched once: EVP_sha256() looks the implementation up on every use in
// OpenSSL 3, which costs more than hashing a small input.
const EVP_MD* Sha256Md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

}  // namespace

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {}

Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(ctx_); }

bool Sha256Stream::Start() {
  ok_ = ctx_ != nullptr && Sha256Md() != nullptr &&
        EVP_DigestInit_ex2(ctx_, Sha256Md(), nullptr) == 1;
  return ok_;
}

void Sha256Stream::Update(std::string_view data) {
  ok_ = ok_ && EVP_DigestUpdate(ctx_, data.data(), data.size()) == 1;
}

std::string Sha256Stream::Finish() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  ok_ = ok_ && EVP_DigestFinal_ex(ctx_, digest, &digest_len) == 1 &&
        digest_len == kSha256Size;
  if (!ok_) {
    // Only reachable when OpenSSL itself is broken (e.g. out of memory). An
    // empty digest never equals a real one, so callers comparing digests
    // fail closed.
    ERR_clear_error();
    return std::string();
  }
  ok_ = false;
  return std::string(reinterpret_cast<const char*>(digest), digest_len);
}

std::string Sha256Of(std::initializer_list<std::string_view> parts) {
  thread_local Sha256Stream stream;
  stream.Start();
  for (std::string_view part : parts) stream.Update(part);
  return stream.Finish();
}

std::string Sha256(std::string_view data) { return Sha256Of({data}); }

std::string Sha256Hex(std::string_view data) { return ToHex(Sha256(data)); }

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.resize(bytes.size() * 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    const unsigned char b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 0x0f];
  }
  return out;
}

}  // namespace evidentia
