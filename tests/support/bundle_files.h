// Test support for auditor bundles: whole-file reads and writes, VERIFY.sh
// run as an auditor would, and SHA256SUMS resealed as an insider would.
#ifndef EVIDENTIA_TESTS_SUPPORT_BUNDLE_FILES_H_
#define EVIDENTIA_TESTS_SUPPORT_BUNDLE_FILES_H_

#include <stdio.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/ed25519.h"
#include "common/sha256.h"

namespace evidentia::testing {

inline std::string Read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Replaces (or creates, with its parent directories) the file.
inline void Write(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Runs a shell command line; returns its exit status and output (stdout
// and stderr together).
inline std::pair<int, std::string> Shell(const std::string& command) {
  FILE* pipe = ::popen(absl::StrCat(command, " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    output.append(buffer, n);
  }
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// VERIFY.sh as an auditor runs it: an empty environment, from another
// directory, with `shell` (found on /usr/bin:/bin). Returns its exit status
// and everything it printed.
inline std::pair<int, std::string> RunVerifySh(
    const std::filesystem::path& bundle, const std::string& shell = "sh") {
  return Shell(absl::StrCat("cd / && env -i PATH=/usr/bin:/bin ", shell, " '",
                            (bundle / "VERIFY.sh").string(), "'"));
}

// Rewrites SHA256SUMS of the bundle `dir` over every file in it and signs
// it with `key`: what an insider holding that key can do.
inline void ResealSums(const std::filesystem::path& dir,
                       const PrivateKey& key) {
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string rel =
        entry.path().lexically_relative(dir).generic_string();
    if (rel != "SHA256SUMS" && rel != "SHA256SUMS.sig") paths.push_back(rel);
  }
  std::sort(paths.begin(), paths.end());
  std::string sums;
  for (const std::string& rel : paths) {
    absl::StrAppend(&sums, Sha256Hex(Read(dir / rel)), "  ", rel, "\n");
  }
  Write(dir / "SHA256SUMS", sums);
  Write(dir / "SHA256SUMS.sig", *key.Sign(sums));
}

}  // namespace evidentia::testing

#endif  // EVIDENTIA_TESTS_SUPPORT_BUNDLE_FILES_H_
