// The machine's own Ed25519 verify rate, which the ingest and bundle
// targets are stated against: measured in the same run as the figure it is
// compared with, so that both see the same machine and the same load.
#ifndef EVIDENTIA_TESTS_BENCH_VERIFY_RATE_H_
#define EVIDENTIA_TESTS_BENCH_VERIFY_RATE_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "common/ed25519.h"

namespace evidentia::bench {

// Ed25519 verifications per second on `threads` threads for two seconds, of
// signatures over a message of `message_bytes` (as long as a snapshot's
// PAE): with OpenSSL 3 (EVP, as `openssl pkeyutl` verifies) when `openssl`,
// otherwise with PublicKey::Verify (libsodium, what the collector uses).
// 0 when no key can be made.
inline double Ed25519VerifyRate(int threads, size_t message_bytes,
                                bool openssl) {
  using Steady = std::chrono::steady_clock;
  absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
  if (!key.ok()) return 0;
  const std::string message(message_bytes, 'x');
  const std::string signature = *key->Sign(message);
  const PublicKey public_key = key->public_key();
  const std::string der = public_key.SpkiDer();
  const unsigned char* der_bytes =
      reinterpret_cast<const unsigned char*>(der.data());
  EVP_PKEY* evp = d2i_PUBKEY(nullptr, &der_bytes, der.size());
  auto openssl_verify = [&] {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool ok =
        EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, evp) == 1 &&
        EVP_DigestVerify(
            ctx, reinterpret_cast<const unsigned char*>(signature.data()),
            signature.size(),
            reinterpret_cast<const unsigned char*>(message.data()),
            message.size()) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
  };
  std::atomic<uint64_t> count(0);
  std::atomic<bool> stop(false);
  std::vector<std::thread> workers;
  const auto start = Steady::now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        if (openssl ? openssl_verify()
                    : public_key.Verify(message, signature).ok()) {
          ++n;
        }
      }
      count += n;
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  stop = true;
  for (std::thread& w : workers) w.join();
  EVP_PKEY_free(evp);
  return count.load() /
         std::chrono::duration<double>(Steady::now() - start).count();
}

}  // namespace evidentia::bench

#endif  // EVIDENTIA_TESTS_BENCH_VERIFY_RATE_H_
