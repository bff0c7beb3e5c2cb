// SHA-256 digests. Raw digests are 32-byte std::strings (the type protobuf
// uses for `bytes`); hex is lowercase.
#ifndef EVIDENTIA_COMMON_SHA256_H_
#define EVIDENTIA_COMMON_SHA256_H_

#include <string>
#include <string_view>

namespace evidentia {

inline constexpr size_t kSha256Size = 32;

// The 32-byte SHA-256 of `data`.
std::string Sha256(std::string_view data);

// Lowercase hex of the SHA-256 of `data` (64 characters).
std::string Sha256Hex(std::string_view data);

// Lowercase hex of arbitrary bytes.
std::string ToHex(std::string_view bytes);

}  // namespace evidentia

#endif  // EVIDENTIA_COMMON_SHA256_H_
