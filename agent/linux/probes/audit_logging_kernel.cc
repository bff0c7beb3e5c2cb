#include "agent/linux/probes/audit_logging_kernel.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "agent/linux/sys/text.h"

namespace evidentia::agent {
namespace {

constexpr uint32_t kRequestSeq = 1;
constexpr size_t kReceiveBufferBytes = 8192;

std::string ErrnoName(int error) {
  const char* name = strerrorname_np(error);
  return name != nullptr ? std::string(name) : Cat("errno ", error);
}

absl::Status ErrnoStatus(int error) {
  std::string name = ErrnoName(error);
  switch (error) {
    case EPERM:
    case EACCES:
      return absl::PermissionDeniedError(name);
    case EPROTONOSUPPORT:
    case EAFNOSUPPORT:
    case ECONNREFUSED:
      return absl::UnimplementedError(name);
    default:
      return absl::InternalError(name);
  }
}

// Closes a file descriptor when it goes out of scope.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

absl::StatusOr<AuditNetlinkDatagram> ParseAuditNetlinkDatagram(
    std::string_view datagram, uint32_t seq) {
  AuditNetlinkDatagram out;
  size_t offset = 0;
  while (offset < datagram.size()) {
    if (datagram.size() - offset < sizeof(nlmsghdr)) {
      return absl::InvalidArgumentError("truncated netlink header");
    }
    nlmsghdr header;
    std::memcpy(&header, datagram.data() + offset, sizeof(header));
    if (header.nlmsg_len < sizeof(nlmsghdr) ||
        header.nlmsg_len > datagram.size() - offset) {
      return absl::InvalidArgumentError("netlink length out of range");
    }
    std::string_view payload = datagram.substr(
        offset + NLMSG_HDRLEN,
        header.nlmsg_len - std::min<size_t>(header.nlmsg_len, NLMSG_HDRLEN));
    if (header.nlmsg_seq == seq) {
      if (header.nlmsg_type == NLMSG_ERROR) {
        if (payload.size() < sizeof(int32_t)) {
          return absl::InvalidArgumentError("truncated netlink error");
        }
        int32_t error = 0;
        std::memcpy(&error, payload.data(), sizeof(error));
        // The kernel sends 0 (an acknowledgement) or -errno.
        if (error > 0 || error < -4095) {
          return absl::InvalidArgumentError("netlink error out of range");
        }
        out.error = -error;
      } else if (header.nlmsg_type == AUDIT_GET) {
        if (payload.size() < kMinAuditStatusBytes) {
          return absl::InvalidArgumentError("truncated audit_status");
        }
        uint32_t words[8];
        std::memcpy(words, payload.data(), sizeof(words));
        KernelAuditReading reading;
        // words[0] is the mask, meaningful only in requests.
        reading.enabled = words[1];
        reading.failure = words[2];
        reading.pid = words[3];
        reading.rate_limit = words[4];
        reading.backlog_limit = words[5];
        reading.lost = words[6];
        reading.backlog = words[7];
        out.status = reading;
      }
    }
    size_t aligned = NLMSG_ALIGN(header.nlmsg_len);
    if (aligned > datagram.size() - offset) break;  // last, unpadded
    offset += aligned;
  }
  return out;
}

absl::StatusOr<KernelAuditReading> NetlinkKernelAuditSource::GetStatus() const {
  ScopedFd fd(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT));
  if (fd.get() < 0) return ErrnoStatus(errno);

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;  // nl_pid 0: the kernel
  nlmsghdr request{};
  request.nlmsg_len = NLMSG_LENGTH(0);
  request.nlmsg_type = AUDIT_GET;
  request.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  request.nlmsg_seq = kRequestSeq;
  ssize_t sent;
  do {
    sent = sendto(fd.get(), &request, request.nlmsg_len, 0,
                  reinterpret_cast<const sockaddr*>(&kernel), sizeof(kernel));
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) return ErrnoStatus(errno);

  const absl::Time deadline = absl::Now() + timeout_;
  std::string buffer(kReceiveBufferBytes, '\0');
  while (true) {
    int64_t wait_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (wait_ms <= 0) {
      return absl::DeadlineExceededError(
          Cat("no answer within ", absl::ToInt64Milliseconds(timeout_), " ms"));
    }
    pollfd watch{fd.get(), POLLIN, 0};
    int ready = poll(&watch, 1, static_cast<int>(wait_ms));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return ErrnoStatus(errno);
    if (ready == 0) continue;  // the deadline check above ends the loop
    sockaddr_nl from{};
    socklen_t from_len = sizeof(from);
    ssize_t got = recvfrom(fd.get(), buffer.data(), buffer.size(), 0,
                           reinterpret_cast<sockaddr*>(&from), &from_len);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return ErrnoStatus(errno);
    if (from.nl_pid != 0) continue;  // not from the kernel
    absl::StatusOr<AuditNetlinkDatagram> parsed = ParseAuditNetlinkDatagram(
        std::string_view(buffer.data(), static_cast<size_t>(got)), kRequestSeq);
    if (!parsed.ok()) return parsed.status();
    if (parsed->status) return *parsed->status;
    if (parsed->error && *parsed->error != 0) {
      return ErrnoStatus(*parsed->error);
    }
    // A bare acknowledgement: older kernels send the reply after it.
  }
}

}  // namespace evidentia::agent
