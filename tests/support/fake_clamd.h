// Test support: a fake clamd on a real AF_UNIX socket, served by its own
// thread until the object goes (the socket file is removed then). It
// answers every command with a fixed reply, accepts and never answers, or
// closes without answering.
#ifndef EVIDENTIA_TESTS_SUPPORT_FAKE_CLAMD_H_
#define EVIDENTIA_TESTS_SUPPORT_FAKE_CLAMD_H_

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace evidentia::testing {

class FakeClamd {
 public:
  enum class Mode {
    kAnswer,  // reads one command, sends `reply` with clamd's terminator
    kSilent,  // accepts, reads, never answers nor closes
    kClose,   // accepts, reads, closes without answering
  };

  // Listens on `socket_path` (its directory must exist). ok() says whether
  // it does.
  FakeClamd(const std::filesystem::path& socket_path, Mode mode,
            std::string reply = "")
      : path_(socket_path), mode_(mode), reply_(std::move(reply)) {
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string& path = path_.native();
    if (listener_ < 0 || path.size() >= sizeof(address.sun_path)) return;
    std::memcpy(address.sun_path, path.data(), path.size());
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address),
               sizeof(address)) != 0 ||
        ::listen(listener_, 8) != 0 || ::pipe(stop_) != 0) {
      return;
    }
    ok_ = true;
    thread_ = std::thread([this] { Serve(); });
  }

  ~FakeClamd() {
    if (ok_) {
      char byte = 0;
      (void)!::write(stop_[1], &byte, 1);
      thread_.join();
    }
    for (int fd : held_) ::close(fd);
    for (int fd : {listener_, stop_[0], stop_[1]}) {
      if (fd >= 0) ::close(fd);
    }
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }

  FakeClamd(const FakeClamd&) = delete;
  FakeClamd& operator=(const FakeClamd&) = delete;

  bool ok() const { return ok_; }

  // The commands received so far, as sent ("zVERSION" without its NUL).
  std::vector<std::string> commands() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return commands_;
  }

 private:
  void Serve() {
    for (;;) {
      pollfd fds[2] = {{listener_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents != 0) return;
      if ((fds[0].revents & POLLIN) == 0) continue;
      const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      std::string command = ReadCommand(client);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        commands_.push_back(command);
      }
      if (mode_ == Mode::kSilent) {
        held_.push_back(client);  // closed by the destructor
        continue;
      }
      if (mode_ == Mode::kClose) {
        ::close(client);
        continue;
      }
      // z-commands end in NUL and are answered with NUL; n-commands with
      // newlines.
      std::string answer = reply_;
      answer.push_back(!command.empty() && command[0] == 'n' ? '\n' : '\0');
      (void)!::send(client, answer.data(), answer.size(), MSG_NOSIGNAL);
      ::close(client);
    }
  }

  // Bytes up to the command's terminator (NUL or newline), at most 64.
  static std::string ReadCommand(int client) {
    std::string command;
    char c = 0;
    while (command.size() < 64 && ::recv(client, &c, 1, 0) == 1) {
      if (c == '\0' || c == '\n') break;
      command.push_back(c);
    }
    return command;
  }

  const std::filesystem::path path_;
  const Mode mode_;
  const std::string reply_;
  int listener_ = -1;
  int stop_[2] = {-1, -1};
  bool ok_ = false;
  std::thread thread_;
  std::vector<int> held_;  // silent connections, owned by the thread
  mutable std::mutex mutex_;
  std::vector<std::string> commands_;
};

}  // namespace evidentia::testing

#endif  // EVIDENTIA_TESTS_SUPPORT_FAKE_CLAMD_H_
