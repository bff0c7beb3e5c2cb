#include "common/sha256.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

namespace evidentia {

namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// Fetched once: EVP_sha256() looks the implementation up on every use in
// OpenSSL 3, which costs more than hashing a small input.
const EVP_MD* Sha256Md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

}  // namespace

std::string Sha256Of(std::initializer_list<std::string_view> parts) {
  thread_local std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  const EVP_MD* md = Sha256Md();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  bool ok = ctx != nullptr && md != nullptr &&
            EVP_DigestInit_ex2(ctx.get(), md, nullptr) == 1;
  for (std::string_view part : parts) {
    ok = ok && EVP_DigestUpdate(ctx.get(), part.data(), part.size()) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(ctx.get(), digest, &digest_len) == 1 &&
       digest_len == kSha256Size;
  if (!ok) {
    // Only reachable when OpenSSL itself is broken (e.g. out of memory). An
    // empty digest never equals a real one, so callers comparing digests
    // fail closed.
    ERR_clear_error();
    return std::string();
  }
  return std::string(reinterpret_cast<const char*>(digest), digest_len);
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
