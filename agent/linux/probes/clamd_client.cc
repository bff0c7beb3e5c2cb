#include "agent/linux/probes/clamd_client.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <optional>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "agent/linux/sys/rooted_fs.h"
#include "agent/linux/sys/text.h"
#include "common/files.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr size_t kMaxEngineVersionChars = 64;
constexpr size_t kMaxDateChars = 64;
constexpr size_t kMaxTimezoneFileBytes = 4096;

// Milliseconds until `deadline`, rounded up; 0 once it has passed.
int MillisLeft(Clock::time_point deadline) {
  const auto left = deadline - Clock::now();
  if (left <= Clock::duration::zero()) return 0;
  const auto millis =
      std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<int>(std::min<decltype(millis)>(millis, INT_MAX));
}

// Waits until `fd` is ready for `events` (or has an error or hang-up, which
// the next call on it reports). False when `deadline` passes first.
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const int left = MillisLeft(deadline);
    if (left == 0) return false;
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, left);
    if (n > 0) return true;
    if (n == 0) continue;  // the loop re-checks the deadline
    if (errno != EINTR) return true;
  }
}

absl::Status ConnectError(int err) {
  return ErrnoStatus(err, "connect", absl::StatusCode::kUnavailable);
}

// Connects the non-blocking socket `fd` to `address` by `deadline`.
absl::Status Connect(int fd, const sockaddr_un& address,
                     Clock::time_point deadline, absl::Duration timeout) {
  for (;;) {
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address),
                  sizeof(address)) == 0) {
      return absl::OkStatus();
    }
    const int err = errno;
    if (err == EISCONN) return absl::OkStatus();
    if (err == EAGAIN) {
      // An AF_UNIX listener's backlog is full: retry until the deadline.
      const int left = MillisLeft(deadline);
      if (left == 0) {
        return absl::DeadlineExceededError(
            Cat("clamd did not accept within ", absl::FormatDuration(timeout)));
      }
      ::poll(nullptr, 0, std::min(left, 10));
      continue;
    }
    if (err == EINPROGRESS || err == EINTR || err == EALREADY) {
      if (!WaitFor(fd, POLLOUT, deadline)) {
        return absl::DeadlineExceededError(
            Cat("clamd did not accept within ", absl::FormatDuration(timeout)));
      }
      int so_error = 0;
      socklen_t length = sizeof(so_error);
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &length) != 0) {
        so_error = errno;
      }
      if (so_error != 0) return ConnectError(so_error);
      return absl::OkStatus();
    }
    return ConnectError(err);
  }
}

// The first line of a zone name file, if it is a relative name without
// "..": absl must look it up below its zoneinfo directory.
std::optional<std::string> ZoneName(std::string_view text) {
  text = Trim(text.substr(0, text.find('\n')));
  if (text.empty() || text.front() == '/' ||
      text.find("..") != std::string_view::npos) {
    return std::nullopt;
  }
  return std::string(text);
}

}  // namespace

absl::StatusOr<ClamdVersion> ParseClamdVersionReply(
    std::string_view reply, const absl::TimeZone& zone) {
  constexpr std::string_view kPrefix = "ClamAV ";
  reply = reply.substr(0, reply.find('\0'));
  reply = TrimRight(reply);
  if (!StartsWith(reply, kPrefix)) {
    return absl::InvalidArgumentError("not a clamd VERSION reply");
  }
  std::string_view rest = reply.substr(kPrefix.size());
  const size_t slash = rest.find('/');
  const std::string_view engine = Trim(rest.substr(0, slash));
  if (engine.empty()) {
    return absl::InvalidArgumentError(
        "clamd VERSION reply has no engine version");
  }
  ClamdVersion out;
  out.engine_version = std::string(engine.substr(0, kMaxEngineVersionChars));
  if (slash == std::string_view::npos) return out;  // no database loaded

  rest = rest.substr(slash + 1);
  const size_t date_slash = rest.find('/');
  if (date_slash == std::string_view::npos) {
    return absl::InvalidArgumentError(
        "clamd VERSION reply has a database version but no date");
  }
  std::optional<uint64_t> version =
      ParseDecimal<uint64_t>(Trim(rest.substr(0, date_slash)));
  if (!version || *version == 0) {
    return absl::InvalidArgumentError(
        "clamd VERSION reply has a bad database version");
  }
  const std::string_view date =
      Trim(rest.substr(date_slash + 1)).substr(0, kMaxDateChars);
  if (date.empty()) {
    return absl::InvalidArgumentError(
        "clamd VERSION reply has a database version but no date");
  }
  out.database_version = *version;
  out.database_build_time_text = std::string(date);
  // ctime() format, e.g. "Tue Dec  1 09:31:02 2026", in clamd's local time.
  absl::Time parsed;
  std::string error;
  if (absl::ParseTime("%a %b %e %H:%M:%S %Y", out.database_build_time_text,
                      zone, &parsed, &error)) {
    out.database_build_time_unix = absl::ToUnixSeconds(parsed);
  }
  return out;
}

absl::StatusOr<std::string> AskClamd(const fs::path& socket_path,
                                     std::string_view command,
                                     absl::Duration timeout) {
  const Clock::time_point deadline =
      Clock::now() + absl::ToChronoNanoseconds(timeout);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string& path = socket_path.native();
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(
        "socket path is too long for a socket address");
  }
  std::memcpy(address.sun_path, path.data(), path.size());

  ScopedFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    return absl::InternalError(Cat("socket: ", std::strerror(errno)));
  }
  if (absl::Status connected = Connect(fd.get(), address, deadline, timeout);
      !connected.ok()) {
    return connected;
  }

  const absl::Status no_answer = absl::DeadlineExceededError(
      Cat("no answer within ", absl::FormatDuration(timeout)));
  std::string request = Cat("z", command);
  request.push_back('\0');
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd.get(), request.data() + sent,
                             request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!WaitFor(fd.get(), POLLOUT, deadline)) return no_answer;
    } else if (n < 0 && errno != EINTR) {
      return absl::UnavailableError(Cat("send: ", std::strerror(errno)));
    }
  }

  std::string reply;
  char buffer[256];
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buffer, sizeof(buffer), 0);
    if (n > 0) {
      reply.append(buffer, static_cast<size_t>(n));
      const size_t end = reply.find('\0');
      if (end != std::string::npos) {
        reply.resize(end);
        return reply;
      }
      if (reply.size() > kMaxClamdReplyBytes) {
        return absl::OutOfRangeError(
            Cat("reply longer than ", kMaxClamdReplyBytes, " bytes"));
      }
    } else if (n == 0) {
      if (reply.empty()) {
        return absl::UnavailableError(
            "clamd closed the connection without answering");
      }
      return reply;  // closed without the terminating NUL
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!WaitFor(fd.get(), POLLIN, deadline)) return no_answer;
    } else if (errno != EINTR) {
      return absl::UnavailableError(Cat("recv: ", std::strerror(errno)));
    }
  }
}

absl::TimeZone HostTimeZone(const fs::path& root) {
  std::vector<std::string> names;
  std::error_code error;
  const std::string target = fs::read_symlink(root / "etc/localtime", error);
  if (!error) {
    constexpr std::string_view kZoneinfo = "zoneinfo/";
    const size_t at = target.find(kZoneinfo);
    if (at != std::string::npos) {
      if (std::optional<std::string> name = ZoneName(
              std::string_view(target).substr(at + kZoneinfo.size()))) {
        names.push_back(*std::move(name));
      }
    }
  }
  absl::StatusOr<std::string> text =
      ReadRootedFile(root, "etc/timezone", kMaxTimezoneFileBytes);
  if (text.ok()) {
    if (std::optional<std::string> name = ZoneName(*text)) {
      names.push_back(*std::move(name));
    }
  }
  for (const std::string& name : names) {
    absl::TimeZone zone;
    if (absl::LoadTimeZone(name, &zone)) return zone;
  }
  return absl::UTCTimeZone();
}

}  // namespace evidentia::agent
