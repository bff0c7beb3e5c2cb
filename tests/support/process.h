// Test support: child processes of the project's own binaries, started
// with posix_spawn, their output captured in a file, killed and waited
// for. For tests that need a real process boundary (SIGKILL, restarts).
#ifndef EVIDENTIA_TESTS_SUPPORT_PROCESS_H_
#define EVIDENTIA_TESTS_SUPPORT_PROCESS_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

extern char** environ;

namespace evidentia::testing {

// A started child; killed (SIGKILL) and reaped on destruction if running.
class Child {
 public:
  // Starts `argv` (argv[0] a path) with stdout and stderr appended to
  // `output`. pid() is -1 when it could not be started.
  Child(const std::vector<std::string>& argv,
        const std::filesystem::path& output) {
    std::vector<char*> args;
    for (const std::string& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, output.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) !=
        0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ > 0) {
      Signal(SIGKILL);
      Wait();
    }
  }

  pid_t pid() const { return pid_; }
  void Signal(int signal) const {
    if (pid_ > 0) ::kill(pid_, signal);
  }
  // Waits for the child; returns its exit code, or 128 + the signal that
  // ended it, or -1 if it was never started.
  int Wait() {
    if (pid_ <= 0) return -1;
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
  }

 private:
  pid_t pid_ = -1;
};

// Runs `argv` to completion; returns its exit code (as Child::Wait) and
// everything it printed.
inline std::pair<int, std::string> RunProcess(
    const std::vector<std::string>& argv,
    const std::filesystem::path& scratch) {
  std::filesystem::remove(scratch);
  int code;
  {
    Child child(argv, scratch);
    code = child.Wait();
  }
  std::ifstream in(scratch);
  std::stringstream out;
  out << in.rdbuf();
  return {code, out.str()};
}

// A TCP port on 127.0.0.1 that was free a moment ago.
inline int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// Whether something accepts TCP connections on 127.0.0.1:`port`.
inline bool LoopbackPortAccepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok =
      ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

}  // namespace evidentia::testing

#endif  // EVIDENTIA_TESTS_SUPPORT_PROCESS_H_
