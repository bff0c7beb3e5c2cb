// `evidentia verify` (VerifyBundle) on a bundle directory whose files come
// from the input, re-sealed as an insider holding the collector key could,
// so that mutations reach the checks behind the collector's signature (the
// manifest, keys and fingerprints, the checkpoint, proofs, snapshots,
// policies and the re-grade).
//
// Input: files, each "=== PATH\n" then its bytes, separated by "\n". When
// one is fuzz/collector.key (the collector's PKCS#8 PEM) it is not written;
// instead keys/collector.pub.pem is written from it, log/checkpoint signed
// into log/checkpoint.sig, and SHA256SUMS written over every other file and
// signed into SHA256SUMS.sig. Paths that are not safe bundle paths are
// skipped. With EVIDENTIA_FUZZ_VERBOSE set, prints what VerifyBundle
// answered (a seed should verify).
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "bundle/paths.h"
#include "bundle/verify.h"
#include "common/ed25519.h"
#include "common/sha256.h"
#include "tests/fuzz/fuzz_input.h"

namespace evidentia::collector {
namespace {

namespace fs = std::filesystem;
using fuzz::Require;

constexpr std::string_view kMarker = "=== ";
constexpr std::string_view kNextMarker = "\n=== ";
constexpr char kKeyFile[] = "fuzz/collector.key";

std::map<std::string, std::string> SplitFiles(std::string_view input) {
  std::map<std::string, std::string> files;
  if (input.substr(0, kMarker.size()) != kMarker) return files;
  size_t at = 0;
  while (at < input.size()) {
    const size_t start = at + kMarker.size();
    size_t next = input.find(kNextMarker, start);
    std::string_view record = input.substr(start, next == std::string_view::npos
                                                      ? std::string_view::npos
                                                      : next - start);
    const size_t newline = record.find('\n');
    if (newline != std::string_view::npos) {
      files[std::string(record.substr(0, newline))] =
          std::string(record.substr(newline + 1));
    }
    if (next == std::string_view::npos) break;
    at = next + 1;
  }
  return files;
}

bool WriteFile(const fs::path& path, std::string_view bytes) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return false;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return out.good();
}

void Reseal(const fs::path& dir, std::map<std::string, std::string>& files,
            const PrivateKey& key) {
  files[bundle::kCollectorKey] = key.public_key().ToPem();
  WriteFile(dir / bundle::kCollectorKey, files[bundle::kCollectorKey]);
  auto checkpoint = files.find(bundle::kCheckpoint);
  if (checkpoint != files.end()) {
    absl::StatusOr<std::string> signature = key.Sign(checkpoint->second);
    Require(signature.ok(), "signing the checkpoint");
    files[bundle::kCheckpointSig] = *signature;
    WriteFile(dir / bundle::kCheckpointSig, *signature);
  }
  std::string sums;
  for (const auto& [path, bytes] : files) {  // std::map: bytewise order
    if (path == bundle::kSums || path == bundle::kSumsSig) continue;
    absl::StrAppend(&sums, Sha256Hex(bytes), "  ", path, "\n");
  }
  absl::StatusOr<std::string> signature = key.Sign(sums);
  Require(signature.ok(), "signing SHA256SUMS");
  WriteFile(dir / bundle::kSums, sums);
  WriteFile(dir / bundle::kSumsSig, *signature);
}

}  // namespace
}  // namespace evidentia::collector

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::collector;
  std::map<std::string, std::string> files =
      SplitFiles(evidentia::fuzz::AsText(data, size));
  std::optional<evidentia::PrivateKey> key;
  if (auto it = files.find(kKeyFile); it != files.end()) {
    absl::StatusOr<evidentia::PrivateKey> parsed =
        evidentia::PrivateKey::FromPem(it->second);
    if (parsed.ok()) key = *std::move(parsed);
    files.erase(it);
  }
  char made[] = "/tmp/evidentia-verify-fuzz-XXXXXX";
  evidentia::fuzz::Require(::mkdtemp(made) != nullptr, "mkdtemp");
  const fs::path dir = fs::path(made) / "bundle";
  for (auto it = files.begin(); it != files.end();) {
    if (!bundle::IsSafePath(it->first) ||
        !WriteFile(dir / it->first, it->second)) {
      it = files.erase(it);
    } else {
      ++it;
    }
  }
  if (key.has_value()) Reseal(dir, files, *key);
  absl::StatusOr<BundleVerification> verified = VerifyBundle(dir, 1);
  if (std::getenv("EVIDENTIA_FUZZ_VERBOSE") != nullptr) {
    std::fprintf(stderr, "VerifyBundle: %s\n",
                 verified.ok() ? "OK" : verified.status().ToString().c_str());
  }
  std::error_code ec;
  fs::remove_all(made, ec);
  return 0;
}
