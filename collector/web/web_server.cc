#include "collector/web/web_server.h"

#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <exception>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "collector/web/access.h"
#include "collector/web/dashboard.h"
#include "collector/web/sessions.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "view/assets.h"
#include "view/pages.h"
#include "view/site.h"

namespace evidentia::collector::web {
namespace {

constexpr char kSessionCookie[] = "__Host-evidentia-session";
constexpr char kLoginCookie[] = "__Host-evidentia-login";
constexpr char kHtml[] = "text/html; charset=utf-8";
// No inline script or style, nothing from another origin, no framing.
constexpr char kContentSecurityPolicy[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' "
    "data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";
constexpr size_t kMaxHeaders = 64;
constexpr size_t kMaxBodyBytes = (6 << 20) + (64 << 10);

// The value of cookie `name` in the request, or "".
std::string CookieValue(const httplib::Request& req, absl::string_view name) {
  for (const auto& [key, value] : req.headers) {
    if (!absl::EqualsIgnoreCase(key, "Cookie")) continue;
    for (absl::string_view part : absl::StrSplit(value, ';')) {
      part = absl::StripAsciiWhitespace(part);
      if (absl::ConsumePrefix(&part, name) && absl::ConsumePrefix(&part, "=")) {
        return std::string(part);
      }
    }
  }
  return "";
}

std::string Cookie(absl::string_view name, absl::string_view value,
                   absl::Duration max_age) {
  return absl::StrCat(name, "=", value,
                      "; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=",
                      absl::ToInt64Seconds(max_age));
}

int HttpStatus(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

absl::Status UseTlsMaterial(SSL_CTX& ctx, const std::string& cert_pem,
                            const std::string& key_pem) {
  BIO* cert_bio =
      BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  BIO_free(cert_bio);
  BIO* key_bio =
      BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  const bool ok = cert != nullptr && key != nullptr &&
                  SSL_CTX_use_certificate(&ctx, cert) == 1 &&
                  SSL_CTX_use_PrivateKey(&ctx, key) == 1 &&
                  SSL_CTX_check_private_key(&ctx) == 1;
  X509_free(cert);
  EVP_PKEY_free(key);
  if (!ok) {
    return absl::InvalidArgumentError(
        "the dashboard cannot use the TLS server certificate and key");
  }
  SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(&ctx, SSL_OP_NO_RENEGOTIATION);
  return absl::OkStatus();
}

// A whole page as the response.
void SendPage(httplib::Response& res, int status, const view::Frame& frame,
              const view::Html& body, const std::string& at_day = "") {
  res.status = status;
  res.set_content(view::RenderPage(view::Site::Dashboard(at_day), frame, body),
                  kHtml);
}

void SendError(httplib::Response& res, const absl::Status& status,
               const Session* session) {
  view::Frame frame;
  frame.title = status.code() == absl::StatusCode::kPermissionDenied
                    ? "Not allowed"
                    : "Cannot show this";
  if (session != nullptr) {
    frame.user = session->user;
    frame.role = view::RoleName(session->role);
    frame.csrf = session->csrf;
    frame.can_admin = session->role == v1::USER_ROLE_ADMIN;
  }
  SendPage(res, HttpStatus(status.code()), frame,
           view::ErrorBody(std::string(status.message())));
}

// As whom the operator API is called for a dashboard user.
Role WebRole(v1::UserRole role) {
  switch (role) {
    case v1::USER_ROLE_ADMIN:
      return Role::kOperator;
    case v1::USER_ROLE_AUDITOR:
      return Role::kAuditor;
    default:
      return Role::kReader;
  }
}

// A day or a moment asked with ?at=: a day means its end. nullopt: now.
absl::StatusOr<std::optional<absl::Time>> ParseAt(const std::string& text,
                                                  absl::Time now) {
  if (text.empty()) return std::nullopt;
  absl::Time t;
  std::string error;
  if (absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &t, &error)) {
    t += absl::Hours(24) - absl::Microseconds(1);
  } else if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("at is a date (YYYY-MM-DD) or an RFC 3339 time: ", text));
  }
  if (t >= now) return std::nullopt;
  if (t < absl::FromUnixSeconds(0)) {
    return absl::InvalidArgumentError("at is before 1970");
  }
  return t;
}

// httplib's task queue with a bound: `threads` workers and at most
// `queued` connections waiting for one. A connection beyond is still
// handed to a worker (its socket must be closed by httplib), marked so
// that the guard closes it at its first handshake byte.
class BoundedQueue : public httplib::TaskQueue {
 public:
  BoundedQueue(int threads, size_t queued) : queued_(queued) {
    for (int i = 0; i < threads; ++i) {
      workers_.emplace_back([this] { Work(); });
    }
  }
  ~BoundedQueue() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    absl::MutexLock lock(&mu_);
    jobs_.push_back({std::move(fn), jobs_.size() >= queued_});
  }

  void shutdown() override {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    for (std::thread& worker : workers_) worker.join();
  }

 private:
  struct Job {
    std::function<void()> fn;
    bool shed;
  };
  void Work() {
    while (true) {
      Job job;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](BoundedQueue* q) ABSL_EXCLUSIVE_LOCKS_REQUIRED(q->mu_) {
              return q->stopping_ || !q->jobs_.empty();
            },
            this));
        if (jobs_.empty()) return;  // stopping, and nothing left
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      ConnectionGuard::SetShedding(job.shed);
      job.fn();
      ConnectionGuard::SetShedding(false);
    }
  }

  const size_t queued_;
  absl::Mutex mu_;
  std::deque<Job> jobs_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<WebServer>> WebServer::Start(
    WebDeps deps, WebOptions options) {
  const size_t colon = options.listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(options.listen.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--web-listen is HOST:PORT, not ", options.listen));
  }
  std::string host = options.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  auto server = std::unique_ptr<WebServer>(new WebServer());
  server->deps_ = std::move(deps);
  server->options_ = std::move(options);
  server->guard_ =
      std::make_unique<ConnectionGuard>(server->options_.connections);
  server->sessions_ = std::make_unique<Sessions>(
      server->deps_.clock, server->options_.session_idle,
      server->options_.session_lifetime, server->options_.max_sessions);
  server->limiter_ = std::make_unique<LoginLimiter>(server->deps_.clock,
                                                    server->options_.logins);
  server->dashboard_ = std::make_unique<Dashboard>(
      *server->deps_.api, *server->deps_.registry, server->deps_.operator_key,
      server->options_.compliance_days, server->deps_.clock);

  absl::Status tls;
  WebServer* self = server.get();
  server->http_ =
      std::make_unique<httplib::SSLServer>([self, &tls](SSL_CTX& ctx) {
        tls = UseTlsMaterial(ctx, self->deps_.tls_cert_pem,
                             self->deps_.tls_key_pem);
        if (!tls.ok()) return false;
        self->guard_->Install(&ctx);
        return true;
      });
  if (!tls.ok()) return tls;
  if (!server->http_->is_valid()) {
    return absl::InternalError("cannot set up the dashboard's TLS");
  }
  httplib::SSLServer& http = *server->http_;
  const int threads = std::max(1, server->options_.threads);
  http.new_task_queue = [threads] {
    return new BoundedQueue(threads, static_cast<size_t>(4 * threads));
  };
  http.set_read_timeout(5, 0);
  http.set_write_timeout(5, 0);
  http.set_keep_alive_max_count(20);
  http.set_keep_alive_timeout(5);
  http.set_payload_max_length(kMaxBodyBytes);
  // cpp-httplib's default also sets SO_REUSEPORT, with which a second
  // collector would bind the same port and take a share of the requests.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  http.set_default_headers({
      {"Content-Security-Policy", kContentSecurityPolicy},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"X-Frame-Options", "DENY"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Strict-Transport-Security", "max-age=31536000"},
  });
  server->Route();

  if (port == 0) {
    server->port_ = http.bind_to_any_port(host);
  } else if (http.bind_to_port(host, port)) {
    server->port_ = port;
  }
  if (server->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat(
        "the dashboard cannot listen on ", server->options_.listen,
        ": the address is in use or is not an address of this host"));
  }
  server->thread_ = std::thread([self] {
    self->http_->listen_after_bind();
    self->listen_ended_ = true;
  });
  // httplib's stop() does nothing before its accept loop runs: wait for it.
  for (int waited_ms = 0; !server->http_->is_running() &&
                          !server->listen_ended_ && waited_ms < 60'000;
       waited_ms += 2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (!server->http_->is_running()) {
    return absl::InternalError("the dashboard's listener did not start");
  }
  return server;
}

WebServer::~WebServer() { Stop(); }

void WebServer::Stop() {
  if (http_ != nullptr) http_->stop();
  if (thread_.joinable()) thread_.join();
}

void WebServer::Route() {
  httplib::SSLServer& http = *http_;

  // Bounds before any handler: headers, and the deadline of the request
  // (a handler of ours runs without one; ConnectionGuard).
  http.set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) {
        // The body is read after this: it gets time by its length (64 KiB/s
        // at least), and a handler of ours then runs with no deadline.
        size_t body = 0;
        if (!absl::SimpleAtoi(req.get_header_value("Content-Length"), &body)) {
          body = 0;
        }
        // A larger body is refused (413) as httplib reads it past: allowed
        // up to twice the largest accepted, then cut off.
        body = std::min(body, 2 * kMaxBodyBytes);
        guard_->HeadersRead(
            body, absl::Seconds(static_cast<int64_t>(body / (64 << 10))));
        if (req.headers.size() > kMaxHeaders) {
          res.status = 431;
          res.set_content("too many request header fields\n", "text/plain");
          return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
      });
  http.set_post_routing_handler([this](const httplib::Request&,
                                       httplib::Response& res) {
    // Writing the response at 64 KiB/s at least, then the next request.
    const size_t size = std::max(res.body.size(), res.content_length_);
    guard_->NextRequest(absl::Seconds(static_cast<int64_t>(size / (64 << 10))));
    if (!res.has_header("Cache-Control")) {
      res.set_header("Cache-Control", "no-store");
    }
  });
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      view::Frame frame;
      frame.title = res.status == 404 ? "Not found" : "Cannot serve this";
      res.set_content(
          view::RenderPage(
              view::Site::Dashboard(""), frame,
              view::ErrorBody(res.status == 404 ? "There is no such page."
                                                : "The request was refused.")),
          kHtml);
    }
  });
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content("internal error\n", "text/plain");
      });

  // --- Without a session ---

  http.Get("/static/app.css",
           [](const httplib::Request&, httplib::Response& res) {
             res.set_header("Cache-Control", "max-age=300");
             res.set_content(view::kAppCss, "text/css; charset=utf-8");
           });
  http.Get("/static/app.js",
           [](const httplib::Request&, httplib::Response& res) {
             res.set_header("Cache-Control", "max-age=300");
             res.set_content(view::kAppJs, "text/javascript; charset=utf-8");
           });
  http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  http.Get(
      "/metrics", [this](const httplib::Request& req, httplib::Response& res) {
        guard_->SetDeadline(absl::InfiniteFuture());
        const auto& allowed = options_.metrics_addresses;
        if (!allowed.empty() && std::find(allowed.begin(), allowed.end(),
                                          req.remote_addr) == allowed.end()) {
          res.status = 403;
          res.set_content("not from this address\n", "text/plain");
          return;
        }
        if (!options_.metrics_token.empty() &&
            !SameSecret(req.get_header_value("Authorization"),
                        absl::StrCat("Bearer ", options_.metrics_token))) {
          res.status = 401;
          res.set_header("WWW-Authenticate", "Bearer");
          res.set_content("a bearer token is needed\n", "text/plain");
          return;
        }
        res.set_content(deps_.metrics ? deps_.metrics() : "",
                        "text/plain; version=0.0.4; charset=utf-8");
      });

  // --- Signing in and out ---

  auto login_page = [](httplib::Response& res, int status,
                       const std::string& error) {
    const std::string nonce = RandomToken();
    res.set_header("Set-Cookie", Cookie(kLoginCookie, nonce, absl::Hours(1)));
    view::Frame frame;
    frame.title = "Sign in";
    SendPage(res, status, frame, view::LoginBody(nonce, error));
  };
  http.Get("/login",
           [login_page](const httplib::Request&, httplib::Response& res) {
             login_page(res, 200, "");
           });
  http.Post("/login", [this, login_page](const httplib::Request& req,
                                         httplib::Response& res) {
    guard_->SetDeadline(absl::InfiniteFuture());
    const std::string nonce = CookieValue(req, kLoginCookie);
    if (nonce.empty() || !SameSecret(nonce, req.get_param_value("csrf"))) {
      deps_.registry
          ->RecordEvent("csrf_refused", "", 0,
                        "a sign-in without the form's token was refused",
                        req.remote_addr)
          .IgnoreError();
      login_page(res, 403, "The sign-in form expired: sign in again.");
      return;
    }
    const std::string user = req.get_param_value("user");
    const std::string password = req.get_param_value("password");
    // A name no user can have is counted against the address only.
    const std::string account =
        ValidUserName(user).ok() ? user : std::string("(invalid)");
    absl::StatusOr<uint64_t> ticket =
        limiter_->Attempt(account, req.remote_addr);
    if (!ticket.ok()) {
      const absl::Status& allowed = ticket.status();
      deps_.registry
          ->RecordEvent("login_rate_limited", "", 0,
                        absl::StrCat("sign-in of user ", account,
                                     " refused: ", allowed.message()),
                        req.remote_addr)
          .IgnoreError();
      res.set_header("Retry-After", "60");
      login_page(res, 429, std::string(allowed.message()));
      return;
    }
    absl::StatusOr<v1::UserRecord> record = deps_.users->SignIn(user, password);
    if (!record.ok()) {
      if (absl::IsUnauthenticated(record.status())) {
        deps_.registry
            ->RecordEvent("login_failed", "", 0,
                          absl::StrCat("wrong password for user ", account),
                          req.remote_addr)
            .IgnoreError();
        login_page(res, 401, "wrong user name or password");
      } else {
        limiter_->Undecided(account, req.remote_addr, *ticket);
        Log(LogLevel::kWarning,
            absl::StrCat("dashboard sign-in: ", record.status().ToString()));
        login_page(res, HttpStatus(record.status().code()),
                   "The collector cannot check passwords now; try again.");
      }
      return;
    }
    limiter_->Succeeded(account, req.remote_addr, *ticket);
    Session session;
    session.user = record->name();
    session.role = record->role();
    session.audits.assign(record->audits().begin(), record->audits().end());
    session.must_change_password = record->must_change_password();
    if (record->has_previous_login_at()) {
      session.previous_login = FromProto(record->previous_login_at());
    }
    const std::string token = sessions_->Start(std::move(session));
    res.set_header("Set-Cookie",
                   Cookie(kSessionCookie, token, options_.session_lifetime));
    deps_.registry
        ->RecordEvent("login", "", 0,
                      absl::StrCat("user ", record->name(), " signed in (",
                                   view::RoleName(record->role()), ")"),
                      req.remote_addr)
        .IgnoreError();
    res.set_redirect(record->must_change_password() ? "/account/password" : "/",
                     303);
  });

  // --- With a session: one wrapper checks it, the CSRF token and the
  // permission, then calls the handler ---

  using Handler = std::function<absl::StatusOr<PageReply>(PageRequest&)>;
  auto serve = [this](Permission permission, bool is_post, Handler handler) {
    return [this, permission, is_post, handler](const httplib::Request& req,
                                                httplib::Response& res) {
      guard_->SetDeadline(absl::InfiniteFuture());
      const absl::Time now = deps_.clock();
      const std::string token = CookieValue(req, kSessionCookie);
      std::optional<Session> session = sessions_->Find(token);
      if (!session.has_value()) {
        if (is_post) {
          SendError(
              res,
              absl::UnauthenticatedError("your session ended: sign in again"),
              nullptr);
        } else {
          res.set_redirect("/login", 303);
        }
        return;
      }
      PageRequest request;
      for (const auto& [key, value] : req.params) {
        request.params.emplace(key, value);
      }
      if (req.is_multipart_form_data()) {
        for (const auto& [name, part] : req.files) {
          if (part.filename.empty()) {
            request.params[name] = part.content;
          } else if (name == "document") {
            request.file_name = part.filename;
            request.file_content = part.content;
          }
        }
      }
      if (is_post) {
        auto csrf = request.params.find("csrf");
        if (csrf == request.params.end() ||
            !SameSecret(csrf->second, session->csrf)) {
          deps_.registry
              ->RecordEvent("csrf_refused", "", 0,
                            absl::StrCat("a change by user ", session->user,
                                         " without the form's token was "
                                         "refused: ",
                                         req.path),
                            req.remote_addr)
              .IgnoreError();
          SendError(res,
                    absl::PermissionDeniedError(
                        "the form's token is missing or wrong: reload the "
                        "page and try again"),
                    &*session);
          return;
        }
      }
      if (session->must_change_password &&
          permission != Permission::kChangePassword) {
        res.set_redirect("/account/password", 303);
        return;
      }
      request.session = *session;
      request.caller =
          Caller{WebRole(session->role), absl::StrCat("web:", session->user),
                 req.remote_addr};
      request.now = now;
      for (size_t i = 1; i < req.matches.size(); ++i) {
        request.path.push_back(req.matches[i].str());
      }
      absl::StatusOr<std::optional<absl::Time>> at =
          ParseAt(req.get_param_value("at"), now);
      if (!at.ok()) {
        SendError(res, at.status(), &*session);
        return;
      }
      if (session->role == v1::USER_ROLE_AUDITOR &&
          permission != Permission::kChangePassword) {
        absl::StatusOr<v1::CycleReport> cycle =
            dashboard_->CycleNow(request.caller);
        if (!cycle.ok()) {
          SendError(res, cycle.status(), &*session);
          return;
        }
        request.invited = InvitedWindows(*session, *cycle);
        if (!at->has_value()) {
          std::optional<absl::Time> moment =
              AuditorDefaultMoment(request.invited, now);
          if (moment.has_value() && *moment < now) *at = moment;
        }
      }
      request.at_is_now = !at->has_value();
      request.at = at->value_or(now);
      if (!request.at_is_now) {
        request.at_day =
            absl::FormatTime("%Y-%m-%d", request.at, absl::UTCTimeZone());
      }
      Target target;
      target.at = request.at;
      if (auto audit = request.params.find("audit");
          audit != request.params.end()) {
        target.audit = audit->second;
      }
      if (absl::Status allowed =
              Allow(*session, permission, target, request.invited);
          !allowed.ok()) {
        deps_.registry
            ->RecordEvent("access_denied", "", 0,
                          absl::StrCat("user ", session->user, " (",
                                       view::RoleName(session->role),
                                       ") was refused ", req.method, " ",
                                       req.path, ": ", allowed.message()),
                          req.remote_addr)
            .IgnoreError();
        SendError(res, allowed, &*session);
        return;
      }
      absl::StatusOr<PageReply> reply = handler(request);
      if (!reply.ok()) {
        SendError(res, reply.status(), &*session);
        return;
      }
      if (!reply->redirect.empty()) {
        res.set_redirect(reply->redirect, 303);
        return;
      }
      if (reply->download_dir != nullptr) {
        std::FILE* file = std::fopen(reply->download.c_str(), "rb");
        if (file == nullptr) {
          SendError(res, absl::InternalError("the bundle cannot be read"),
                    &*session);
          return;
        }
        std::error_code ec;
        const uintmax_t size = std::filesystem::file_size(reply->download, ec);
        std::shared_ptr<std::FILE> owned(file, &std::fclose);
        std::shared_ptr<TempDir> dir = reply->download_dir;
        res.set_header("Content-Disposition",
                       absl::StrCat("attachment; filename=\"",
                                    reply->download_name, "\""));
        guard_->NextRequest(
            absl::Seconds(static_cast<int64_t>(size / (64 << 10))));
        res.set_content_provider(
            static_cast<size_t>(size), "application/gzip",
            [owned](size_t offset, size_t length, httplib::DataSink& sink) {
              char buffer[64 << 10];
              if (std::fseek(owned.get(), static_cast<long>(offset),
                             SEEK_SET) != 0) {
                return false;
              }
              const size_t n = std::fread(
                  buffer, 1, std::min(length, sizeof(buffer)), owned.get());
              return n > 0 && sink.write(buffer, n);
            },
            [dir](bool) {});
        return;
      }
      view::Frame frame;
      frame.title = reply->title;
      frame.section = reply->section;
      frame.user = session->user;
      frame.role = view::RoleName(session->role);
      frame.csrf = session->csrf;
      frame.can_admin = session->role == v1::USER_ROLE_ADMIN;
      frame.at = request.at;
      frame.at_is_now = request.at_is_now;
      frame.path = reply->as_of_path;
      const std::string notice = req.get_param_value("notice");
      if (!reply->notice.empty()) {
        frame.notice = reply->notice;
      } else if (notice == "evidence-added") {
        frame.notice = "The evidence was signed and recorded.";
      } else if (notice == "document-added") {
        frame.notice = "The document version was signed and registered.";
      } else if (notice == "finding-recorded") {
        frame.notice = "The finding was signed and recorded.";
      } else if (notice == "password-changed") {
        frame.notice = "Your password was changed.";
      }
      SendPage(res, reply->status, frame, reply->body, request.at_day);
    };
  };
  auto page = [this](absl::StatusOr<PageReply> (Dashboard::*method)(
                  const PageRequest&)) {
    return [this, method](PageRequest& request) {
      return (dashboard_.get()->*method)(request);
    };
  };

  // Signing out needs the session's token like any change; the wrapper
  // checks it, then the session ends.
  {
    auto logout = serve(Permission::kChangePassword, true,
                        [](PageRequest&) -> absl::StatusOr<PageReply> {
                          PageReply reply;
                          reply.redirect = "/login";
                          return reply;
                        });
    http.Post("/logout", [this, logout](const httplib::Request& req,
                                        httplib::Response& res) {
      logout(req, res);
      if (res.status == 303) {
        const std::string token = CookieValue(req, kSessionCookie);
        sessions_->End(token);
        res.set_header("Set-Cookie",
                       Cookie(kSessionCookie, "", absl::ZeroDuration()));
        deps_.registry
            ->RecordEvent("logout", "", 0, "a user signed out", req.remote_addr)
            .IgnoreError();
      }
    });
  }

  http.Get("/account/password",
           serve(Permission::kChangePassword, false,
                 [](PageRequest& request) -> absl::StatusOr<PageReply> {
                   PageReply reply;
                   reply.title = "Your password";
                   reply.body =
                       view::PasswordBody(request.session.csrf, "",
                                          request.session.must_change_password);
                   return reply;
                 }));
  {
    auto change = serve(
        Permission::kChangePassword, true,
        [this](PageRequest& request) -> absl::StatusOr<PageReply> {
          ASSIGN_OR_RETURN(
              const uint64_t ticket,
              limiter_->Attempt(request.session.user, request.caller.address));
          absl::Status changed = deps_.users->ChangePassword(
              request.session.user, request.params["current"],
              request.params["password"]);
          // Only a wrong current password counts as a failure.
          if (changed.ok()) {
            limiter_->Succeeded(request.session.user, request.caller.address,
                                ticket);
          } else if (!absl::IsUnauthenticated(changed)) {
            limiter_->Undecided(request.session.user, request.caller.address,
                                ticket);
          }
          PageReply reply;
          if (!changed.ok()) {
            reply.status = HttpStatus(changed.code());
            reply.title = "Your password";
            reply.body = view::PasswordBody(
                request.session.csrf, std::string(changed.message()),
                request.session.must_change_password);
            return reply;
          }
          deps_.registry
              ->RecordEvent("password_changed", "", 0,
                            absl::StrCat("user ", request.session.user,
                                         " changed their password"),
                            request.caller.address)
              .IgnoreError();
          reply.redirect = "/?notice=password-changed";
          return reply;
        });
    http.Post("/account/password", [this, change](const httplib::Request& req,
                                                  httplib::Response& res) {
      change(req, res);
      if (res.status == 303) {
        const std::string token = CookieValue(req, kSessionCookie);
        sessions_->PasswordChanged(token);
        std::optional<Session> session = sessions_->Find(token);
        if (session.has_value()) sessions_->EndOthers(session->user, token);
      }
    });
  }

  http.Get("/", serve(Permission::kRead, false, page(&Dashboard::Overview)));
  http.Get("/controls",
           serve(Permission::kRead, false, page(&Dashboard::Controls)));
  http.Get(R"(/controls/([A-Za-z0-9._-]{1,32}))",
           serve(Permission::kRead, false, page(&Dashboard::Control)));
  http.Get(R"(/controls/([A-Za-z0-9._-]{1,32})/history)",
           serve(Permission::kRead, false, page(&Dashboard::History)));
  http.Post(
      R"(/controls/([A-Za-z0-9._-]{1,32})/evidence)",
      serve(Permission::kAddEvidence, true, page(&Dashboard::AddEvidence)));
  http.Post(
      R"(/controls/([A-Za-z0-9._-]{1,32})/findings)",
      serve(Permission::kRecordFinding, true, page(&Dashboard::RecordFinding)));
  http.Post("/documents", serve(Permission::kAddEvidence, true,
                                page(&Dashboard::AddDocument)));
  http.Get("/hosts", serve(Permission::kRead, false, page(&Dashboard::Hosts)));
  http.Get(R"(/hosts/([A-Za-z0-9._-]{1,255}))",
           serve(Permission::kRead, false, page(&Dashboard::Host)));
  http.Get(R"(/hosts/([A-Za-z0-9._-]{1,255})/snapshots/([0-9]{1,19}))",
           serve(Permission::kRead, false, page(&Dashboard::Snapshot)));
  http.Get("/cycle", serve(Permission::kRead, false, page(&Dashboard::Cycle)));
  http.Get("/export",
           serve(Permission::kExport, false, page(&Dashboard::Export)));
  http.Get("/admin/users",
           serve(Permission::kManageUsers, false,
                 [this](PageRequest&) -> absl::StatusOr<PageReply> {
                   ASSIGN_OR_RETURN(std::vector<v1::UserRecord> users,
                                    deps_.users->List());
                   PageReply reply;
                   reply.title = "Users";
                   reply.section = view::Section::kAdmin;
                   reply.body = view::UsersBody(users);
                   return reply;
                 }));
}

}  // namespace evidentia::collector::web
