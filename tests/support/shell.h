// Test support for comparing probes with the real tools on the machine that
// runs the tests: a shell command's standard output and exit status.
#ifndef EVIDENTIA_TESTS_SUPPORT_SHELL_H_
#define EVIDENTIA_TESTS_SUPPORT_SHELL_H_

#include <stdio.h>
#include <sys/wait.h>

#include <string>

namespace evidentia::testing {

struct ShellResult {
  std::string out;  // standard output (standard error is discarded)
  int status = -1;  // exit status; -1 if it could not run or was killed
};

// Runs `command` with /bin/sh, standard error discarded.
inline ShellResult Shell(const std::string& command) {
  ShellResult result;
  FILE* pipe = popen((command + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) result.out.append(buf, n);
  const int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace evidentia::testing

#endif  // EVIDENTIA_TESTS_SUPPORT_SHELL_H_
