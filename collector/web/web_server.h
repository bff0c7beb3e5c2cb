// The collector's HTTPS dashboard (docs/dashboard.md): its own listener,
// the collector's TLS server certificate, and cpp-httplib for HTTP. It
// authenticates (users, sessions in cookies, CSRF tokens, rate-limited
// sign-in), asks the one access function (collector/web/access.h) and hands
// the rest to the Dashboard, which calls the operator API and renders.
// Every sign-in, refusal, export and change is a security event.
#ifndef EVIDENTIA_COLLECTOR_WEB_WEB_SERVER_H_
#define EVIDENTIA_COLLECTOR_WEB_WEB_SERVER_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collector/api/operator_api.h"
#include "collector/identity/registry.h"
#include "collector/identity/users.h"
#include "collector/web/connection_guard.h"
#include "collector/web/login_limiter.h"
#include "common/ed25519.h"
#include "common/proto_time.h"

namespace httplib {
class SSLServer;
}

namespace evidentia::collector::web {

class Dashboard;
class Sessions;

inline constexpr char kDefaultWebListen[] = "127.0.0.1:8443";

struct WebOptions {
  std::string listen = kDefaultWebListen;  // HOST:PORT; port 0 picks one
  ConnectionLimits connections;
  LoginLimits logins;
  absl::Duration session_idle = absl::Minutes(30);
  absl::Duration session_lifetime = absl::Hours(12);
  size_t max_sessions = 10000;
  int threads = 16;  // requests served at once
  // /metrics: a bearer token it asks for, and the addresses it answers
  // (both empty: whoever reaches the listener).
  std::string metrics_token;
  std::vector<std::string> metrics_addresses;
  int compliance_days = 90;  // the overview's chart
};

struct WebDeps {
  OperatorApi* api = nullptr;
  Users* users = nullptr;
  Registry* registry = nullptr;  // security events
  Clock clock = SystemClock();
  std::string tls_cert_pem;
  std::string tls_key_pem;
  // Signs what the browser records (manual evidence, findings); null: the
  // dashboard refuses those.
  const PrivateKey* operator_key = nullptr;
  // The collector's counters in the Prometheus text format.
  std::function<std::string()> metrics;
};

class WebServer {
 public:
  // Listens and serves on threads of its own. UNAVAILABLE when the
  // address cannot be bound; INVALID_ARGUMENT for a bad address or TLS
  // material.
  static absl::StatusOr<std::unique_ptr<WebServer>> Start(WebDeps deps,
                                                          WebOptions options);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  int port() const { return port_; }
  // Stops listening and waits for the requests being served.
  void Stop();

  const ConnectionGuard& connections() const { return *guard_; }

 private:
  WebServer() = default;
  void Route();

  WebDeps deps_;
  WebOptions options_;
  std::unique_ptr<ConnectionGuard> guard_;
  std::unique_ptr<Sessions> sessions_;
  std::unique_ptr<LoginLimiter> limiter_;
  std::unique_ptr<Dashboard> dashboard_;
  std::unique_ptr<httplib::SSLServer> http_;
  std::thread thread_;
  std::atomic<bool> listen_ended_{false};
  int port_ = 0;
};

}  // namespace evidentia::collector::web

#endif  // EVIDENTIA_COLLECTOR_WEB_WEB_SERVER_H_
