// Test support: child processes of the project's own binaries, started
// with posix_spawn, their output captured in a file, killed and waited
// for. For tests that need a real process boundary (SIGKILL, restarts).
#ifndef EVIDENTIA_TESTS_SUPPORT_PROCESS_H_
#define EVIDENTIA_TESTS_SUPPORT_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
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
  // Whether the child is still running (reaps it if it has ended).
  bool Running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return true;
    pid_ = -1;
    return false;
  }
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

// A collector process (`evidentia-collector serve`) and the address it
// bound, read from the file it writes in its data dir once it listens.
struct CollectorProcess {
  std::unique_ptr<Child> child;
  std::string address;  // "127.0.0.1:PORT"
  int port = 0;
};

// Starts `collector_bin serve --data-dir DATA --listen LISTEN EXTRA...`
// (its dashboard on 127.0.0.1:0 unless EXTRA names --web-listen) with its
// output appended to `log`, and waits (up to a minute) until it
// has written its address. Listen on port 0 to have the kernel choose a
// free port: nothing else can take it between choosing and binding. On
// failure `child` is null and `address` says why.
inline CollectorProcess StartCollectorProcess(
    const std::string& collector_bin, const std::filesystem::path& data_dir,
    const std::string& listen, const std::vector<std::string>& extra,
    const std::filesystem::path& log) {
  const std::filesystem::path address_file = data_dir / "collector.addr";
  std::error_code ignored;
  std::filesystem::remove(address_file, ignored);  // from an earlier start
  std::vector<std::string> argv = {collector_bin,     "serve",    "--data-dir",
                                   data_dir.string(), "--listen", listen};
  if (std::find(extra.begin(), extra.end(), "--web-listen") == extra.end()) {
    argv.insert(argv.end(), {"--web-listen", "127.0.0.1:0"});
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  CollectorProcess started;
  started.child = std::make_unique<Child>(argv, log);
  for (int waited_ms = 0; waited_ms < 60'000; waited_ms += 5) {
    if (!started.child->Running()) break;
    std::ifstream in(address_file);
    std::string line;
    if (std::getline(in, line) && !line.empty()) {
      const size_t colon = line.rfind(':');
      started.port =
          colon == std::string::npos ? 0 : std::atoi(line.c_str() + colon + 1);
      started.address = line;
      if (started.port > 0) return started;
    }
    ::usleep(5000);
  }
  started.child.reset();
  std::ifstream in(log);
  std::stringstream out;
  out << in.rdbuf();
  started.address = "collector did not start: " + out.str();
  return started;
}

}  // namespace evidentia::testing

#endif  // EVIDENTIA_TESTS_SUPPORT_PROCESS_H_
