// Test support for auditor bundles: whole-file reads and writes, and
// VERIFY.sh run as an auditor would.
#ifndef EVIDENTIA_TESTS_SUPPORT_BUNDLE_FILES_H_
#define EVIDENTIA_TESTS_SUPPORT_BUNDLE_FILES_H_

#include <stdio.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

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
// directory. Returns its exit status and everything it printed.
inline std::pair<int, std::string> RunVerifySh(
    const std::filesystem::path& bundle) {
  return Shell(absl::StrCat("cd / && env -i PATH=/usr/bin:/bin sh '",
                            (bundle / "VERIFY.sh").string(), "'"));
}

}  // namespace evidentia::testing

#endif  // EVIDENTIA_TESTS_SUPPORT_BUNDLE_FILES_H_
