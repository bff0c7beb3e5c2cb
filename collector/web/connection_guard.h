// Bounds on the dashboard's connections that cpp-httplib does not keep
// itself: how many one address may hold, and how long a connection may
// take to send its request (a client that sends slowly holds nothing for
// long). It watches each TLS connection from its first handshake byte,
// through OpenSSL callbacks on the server's SSL_CTX, and shuts down the
// socket of one past its deadline, which ends the worker's blocking read.
//
// Thread-safe. Handlers adjust the deadline of the connection their thread
// serves (SetDeadline); the guard must outlive the server that uses it.
#ifndef EVIDENTIA_COLLECTOR_WEB_CONNECTION_GUARD_H_
#define EVIDENTIA_COLLECTOR_WEB_CONNECTION_GUARD_H_

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace evidentia::collector::web {

struct ConnectionLimits {
  // From the first handshake byte until the request is read (and again
  // from the end of one response to the end of reading the next request).
  absl::Duration request_time = absl::Seconds(15);
  // Connections open at once from one address (an IPv6 /64:
  // client_address.h); more are closed at once.
  // Below the server's threads, so that one address cannot hold them all.
  int per_address = 8;
  // Connections open at once in all.
  int total = 256;
  // Bytes a client may send before its request's headers are read (the
  // body then gets its Content-Length more).
  size_t header_bytes = 64 << 10;
};

class ConnectionGuard {
 public:
  explicit ConnectionGuard(ConnectionLimits limits);
  ~ConnectionGuard();
  ConnectionGuard(const ConnectionGuard&) = delete;
  ConnectionGuard& operator=(const ConnectionGuard&) = delete;

  // Watches every connection made with `ctx` from now on.
  void Install(SSL_CTX* ctx);

  // The connection this thread serves may take until `deadline` (infinite:
  // while a handler of ours runs).
  void SetDeadline(absl::Time deadline);
  // The headers of the request on this thread's connection are read; its
  // body of `body_bytes` may take `body_time` more.
  void HeadersRead(size_t body_bytes, absl::Duration body_time);
  // The connection this thread serves gets a fresh request_time from now
  // plus `extra` (for writing a large response), and a fresh byte budget.
  void NextRequest(absl::Duration extra = absl::ZeroDuration());

  // Connections accepted while every worker is busy and the queue is full
  // are handed to a worker with this set: the guard closes them at once.
  static void SetShedding(bool shedding);

  // Connections closed for being slow, refused for too many, and closed for
  // sending too much before their request's headers ended.
  uint64_t timed_out() const;
  uint64_t refused() const;
  uint64_t too_large() const;
  int open() const;

 private:
  struct Connection {
    ConnectionGuard* guard = nullptr;
    int fd = -1;
    std::string address;
    absl::Time deadline;
    size_t received = 0;  // bytes of TLS records since the request began
    size_t budget = 0;    // bytes it may receive until the next reset
    bool closed = false;
  };
  // The ex_data slots: the guard on an SSL_CTX, the Connection on an SSL.
  static int CtxIndex();
  static int SslIndex();
  static void OnInfo(const SSL* ssl, int where, int ret);
  static void OnFree(void* parent, void* ptr, CRYPTO_EX_DATA* data, int index,
                     long argl, void* argp);
  static void OnMessage(int write_p, int version, int content_type,
                        const void* buf, size_t len, SSL* ssl, void* arg);
  void Open(SSL* ssl);
  void Close(Connection* connection);
  void Watch();

  ConnectionLimits limits_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<Connection*, std::unique_ptr<Connection>> open_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int> per_address_ ABSL_GUARDED_BY(mu_);
  uint64_t timed_out_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t refused_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t too_large_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread watcher_;
};

}  // namespace evidentia::collector::web

#endif  // EVIDENTIA_COLLECTOR_WEB_CONNECTION_GUARD_H_
