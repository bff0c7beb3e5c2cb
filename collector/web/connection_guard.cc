#include "collector/web/connection_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "collector/web/client_address.h"

namespace evidentia::collector::web {
namespace {

// The connection the calling worker thread serves: cpp-httplib handles a
// connection on one thread from accept to close.
thread_local void* current_connection = nullptr;
// Set by the task queue for a connection it has no room for.
thread_local bool shedding = false;

std::string PeerAddress(int fd) {
  sockaddr_storage peer{};
  socklen_t length = sizeof(peer);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) {
    return "?";
  }
  char text[INET6_ADDRSTRLEN] = {};
  if (peer.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&peer)->sin_addr, text,
                sizeof(text));
  } else if (peer.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&peer)->sin6_addr,
                text, sizeof(text));
  }
  return text;
}

}  // namespace

int ConnectionGuard::CtxIndex() {
  static const int index =
      SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int ConnectionGuard::SslIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr,
                                                &ConnectionGuard::OnFree);
  return index;
}

ConnectionGuard::ConnectionGuard(ConnectionLimits limits) : limits_(limits) {
  watcher_ = std::thread([this] { Watch(); });
}

ConnectionGuard::~ConnectionGuard() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  watcher_.join();
}

void ConnectionGuard::Install(SSL_CTX* ctx) {
  SSL_CTX_set_ex_data(ctx, CtxIndex(), this);
  SSL_CTX_set_info_callback(ctx, &ConnectionGuard::OnInfo);
  SSL_CTX_set_msg_callback(ctx, &ConnectionGuard::OnMessage);
}

void ConnectionGuard::SetShedding(bool on) { shedding = on; }

void ConnectionGuard::OnMessage(int write_p, int, int content_type,
                                const void* buf, size_t len, SSL* ssl, void*) {
  // Every TLS record received: its header gives its length.
  if (write_p != 0 || content_type != SSL3_RT_HEADER || len < 5) return;
  auto* connection = static_cast<Connection*>(SSL_get_ex_data(ssl, SslIndex()));
  if (connection == nullptr) return;
  const auto* header = static_cast<const unsigned char*>(buf);
  const size_t record = 5 + ((size_t{header[3]} << 8) | header[4]);
  ConnectionGuard* guard = connection->guard;
  absl::MutexLock lock(&guard->mu_);
  connection->received += record;
  if (connection->received > connection->budget && !connection->closed) {
    ::shutdown(connection->fd, SHUT_RDWR);
    connection->closed = true;
    ++guard->too_large_;
  }
}

void ConnectionGuard::OnInfo(const SSL* ssl, int where, int) {
  if ((where & SSL_CB_HANDSHAKE_START) == 0) return;
  auto* guard = static_cast<ConnectionGuard*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), CtxIndex()));
  // A renegotiation or a TLS 1.3 key update starts a handshake too: only
  // the first one opens a connection.
  if (guard == nullptr || SSL_get_ex_data(ssl, SslIndex()) != nullptr) return;
  guard->Open(const_cast<SSL*>(ssl));
}

void ConnectionGuard::Open(SSL* ssl) {
  auto connection = std::make_unique<Connection>();
  connection->guard = this;
  connection->fd = SSL_get_fd(ssl);
  connection->address = ClientGroup(PeerAddress(connection->fd));
  connection->deadline = absl::Now() + limits_.request_time;
  // The handshake and the first request's headers.
  connection->budget = limits_.header_bytes + (16 << 10);
  Connection* raw = connection.get();
  bool refuse = false;
  {
    absl::MutexLock lock(&mu_);
    int& from_address = per_address_[raw->address];
    ++from_address;
    refuse = shedding || from_address > limits_.per_address ||
             static_cast<int>(open_.size()) >= limits_.total;
    if (refuse) ++refused_;
    open_.emplace(raw, std::move(connection));
  }
  SSL_set_ex_data(ssl, SslIndex(), raw);
  current_connection = raw;
  // Refused: the handshake's next read fails at once.
  if (refuse) ::shutdown(raw->fd, SHUT_RDWR);
}

void ConnectionGuard::OnFree(void*, void* ptr, CRYPTO_EX_DATA*, int, long,
                             void*) {
  if (ptr == nullptr) return;
  auto* connection = static_cast<Connection*>(ptr);
  connection->guard->Close(connection);
}

void ConnectionGuard::Close(Connection* connection) {
  if (current_connection == connection) current_connection = nullptr;
  absl::MutexLock lock(&mu_);
  auto it = open_.find(connection);
  if (it == open_.end()) return;
  auto count = per_address_.find(connection->address);
  if (count != per_address_.end() && --count->second <= 0) {
    per_address_.erase(count);
  }
  open_.erase(it);
}

void ConnectionGuard::SetDeadline(absl::Time deadline) {
  auto* connection = static_cast<Connection*>(current_connection);
  if (connection == nullptr) return;
  absl::MutexLock lock(&mu_);
  if (open_.contains(connection)) connection->deadline = deadline;
}

void ConnectionGuard::HeadersRead(size_t body_bytes, absl::Duration body_time) {
  auto* connection = static_cast<Connection*>(current_connection);
  if (connection == nullptr) return;
  absl::MutexLock lock(&mu_);
  if (!open_.contains(connection)) return;
  connection->deadline = absl::Now() + limits_.request_time + body_time;
  // The body, with room for TLS framing, and the next request's headers
  // (a client may send it before it reads this response).
  connection->budget = connection->received + body_bytes + body_bytes / 8 +
                       2 * limits_.header_bytes;
}

void ConnectionGuard::NextRequest(absl::Duration extra) {
  auto* connection = static_cast<Connection*>(current_connection);
  if (connection == nullptr) return;
  absl::MutexLock lock(&mu_);
  if (!open_.contains(connection)) return;
  connection->deadline = absl::Now() + limits_.request_time + extra;
  connection->received = 0;
  connection->budget = limits_.header_bytes + (16 << 10);
}

void ConnectionGuard::Watch() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(250));
    const absl::Time now = absl::Now();
    for (auto& [raw, connection] : open_) {
      if (!connection->closed && connection->deadline < now) {
        // The socket stays open (its worker closes it): no other
        // connection can get its number meanwhile.
        ::shutdown(connection->fd, SHUT_RDWR);
        connection->closed = true;
        ++timed_out_;
      }
    }
  }
}

uint64_t ConnectionGuard::timed_out() const {
  absl::MutexLock lock(&mu_);
  return timed_out_;
}

uint64_t ConnectionGuard::refused() const {
  absl::MutexLock lock(&mu_);
  return refused_;
}

uint64_t ConnectionGuard::too_large() const {
  absl::MutexLock lock(&mu_);
  return too_large_;
}

int ConnectionGuard::open() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(open_.size());
}

}  // namespace evidentia::collector::web
