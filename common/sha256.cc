#include "common/sha256.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace evidentia {

std::string Sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &digest_len, EVP_sha256(),
                 nullptr) != 1 ||
      digest_len != kSha256Size) {
    // Only reachable when OpenSSL itself is broken (e.g. out of memory). An
    // empty digest never equals a real one, so callers comparing digests
    // fail closed.
    ERR_clear_error();
    return std::string();
  }
  return std::string(reinterpret_cast<const char*>(digest), digest_len);
}

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
