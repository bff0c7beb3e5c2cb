// SHA-256 digests. Raw digests are 32-byte std::strings (the type protobuf
// uses for `bytes`); hex is lowercase.
#ifndef EVIDENTIA_COMMON_SHA256_H_
#define EVIDENTIA_COMMON_SHA256_H_

#include <initializer_list>
#include <string>
#include <string_view>

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace evidentia {

inline constexpr size_t kSha256Size = 32;

// The 32-byte SHA-256 of `data`. (Only if OpenSSL itself fails, e.g. out
// of memory: an empty string, which equals no real digest.) Fast for small
// inputs: the algorithm is fetched once and each thread reuses a context.
std::string Sha256(std::string_view data);

// The SHA-256 of the concatenation of `parts`, without building it.
std::string Sha256Of(std::initializer_list<std::string_view> parts);

// SHA-256 of an input that arrives in pieces (a large file read in
// chunks). Not thread-safe; reusable: Start() begins a new digest.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;

  // False only when OpenSSL itself fails (then Finish() returns "").
  bool Start();
  void Update(std::string_view data);
  // The 32-byte digest; empty (equal to no real digest) if OpenSSL failed.
  std::string Finish();

 private:
  EVP_MD_CTX* ctx_;
  bool ok_ = false;
};

// Lowercase hex of the SHA-256 of `data` (64 characters).
std::string Sha256Hex(std::string_view data);

// Lowercase hex of arbitrary bytes.
std::string ToHex(std::string_view bytes);

}  // namespace evidentia

#endif  // EVIDENTIA_COMMON_SHA256_H_
