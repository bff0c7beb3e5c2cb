// The collector's HTTPS dashboard against a real collector with real TLS on
// 127.0.0.1 and agents delivering real snapshots: sign-in, sessions, the
// role of every user against every page and action, CSRF, rate-limited
// sign-in, escaping of what agents send, the headers, the bounds on
// hostile clients, /healthz and /metrics.
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "collector/server/server.h"
#include "common/data_dir_paths.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/live_collector.h"

namespace evidentia {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

const fs::path kSource = EVIDENTIA_SOURCE_DIR;
constexpr char kMarkup[] = "<script>alert(1)</script>";
constexpr char kEscapedMarkup[] = "&lt;script&gt;alert(1)&lt;/script&gt;";

// The value of `name` in the Set-Cookie headers of `response`, or "".
std::string SetCookie(const httplib::Result& response,
                      const std::string& name) {
  for (const auto& [key, value] : response->headers) {
    if (key == "Set-Cookie" && absl::StartsWith(value, name + "=")) {
      return value.substr(name.size() + 1, value.find(';') - name.size() - 1);
    }
  }
  return "";
}

std::string CsrfIn(const std::string& page) {
  std::smatch match;
  static const std::regex kCsrf(R"re(name="csrf" value="([^"]+)")re");
  return std::regex_search(page, match, kCsrf) ? match[1].str() : "";
}

// A browser without a browser: one cookie jar, the CA of the collector.
class WebClient {
 public:
  WebClient(int port, const fs::path& ca) : http_("127.0.0.1", port) {
    http_.set_ca_cert_path(ca.c_str());
    http_.enable_server_certificate_verification(true);
    http_.set_follow_location(false);
    http_.set_read_timeout(60, 0);
  }

  // Signs in; answers the status of the sign-in POST.
  int Login(const std::string& user, const std::string& password) {
    httplib::Result form = http_.Get("/login");
    if (!form) return -1;
    const std::string nonce = SetCookie(form, "__Host-evidentia-login");
    httplib::Params params = {
        {"user", user}, {"password", password}, {"csrf", CsrfIn(form->body)}};
    httplib::Result answer = http_.Post(
        "/login", {{"Cookie", "__Host-evidentia-login=" + nonce}}, params);
    if (!answer) return -1;
    last_body_ = answer->body;
    const std::string session = SetCookie(answer, "__Host-evidentia-session");
    if (!session.empty()) session_ = session;
    if (answer->status == 303) {
      httplib::Result home = Get("/");
      if (home) csrf_ = CsrfIn(home->body);
    }
    return answer->status;
  }

  httplib::Headers Cookies() const {
    if (session_.empty()) return {};
    return {{"Cookie", "__Host-evidentia-session=" + session_}};
  }
  httplib::Result Get(const std::string& path) {
    return http_.Get(path.c_str(), Cookies());
  }
  // A form POST carrying the session's CSRF token unless `csrf` is given.
  httplib::Result Post(const std::string& path, httplib::Params params,
                       const std::string* csrf = nullptr) {
    params.emplace("csrf", csrf == nullptr ? csrf_ : *csrf);
    return http_.Post(path.c_str(), Cookies(), params);
  }
  httplib::Result Upload(const std::string& path,
                         const httplib::MultipartFormDataItems& items) {
    return http_.Post(path.c_str(), Cookies(), items);
  }

  const std::string& csrf() const { return csrf_; }
  const std::string& last_body() const { return last_body_; }
  httplib::SSLClient& http() { return http_; }

 private:
  httplib::SSLClient http_;
  std::string session_;
  std::string csrf_;
  std::string last_body_;
};

class DashboardTest : public testing::LiveCollectorTest {
 protected:
  void ConfigureServer(collector::ServerOptions& options) override {
    options.policies_dir = kSource / "policies";
    options.soa_file = kSource / "policies/soa.example.yaml";
    options.password_cost = collector::MinimumPasswordCost();
    options.web = collector::web::WebOptions();
    options.web.listen = "127.0.0.1:0";
    options.web.connections.request_time = request_time_;
    options.web.connections.per_address = 6;
    options.web.compliance_days = 7;
    options.web.metrics_token = "a-scrape-token-of-some-length";
  }

  void SetUp() override {
    LiveCollectorTest::SetUp();
    ASSERT_GT(server_->web_port(), 0);
  }

  fs::path Ca() const { return collector::DataDirPaths(data_dir_).ca_cert(); }
  std::unique_ptr<WebClient> Client() {
    return std::make_unique<WebClient>(server_->web_port(), Ca());
  }

  void AddUser(const std::string& name, const std::string& role,
               const std::string& audit = "") {
    std::vector<std::string> words = {"user", "add", name, "--role", role};
    if (!audit.empty()) {
      words.push_back("--audit");
      words.push_back(audit);
    }
    int code = -1;
    const std::string out = Cli(words, &code);
    ASSERT_EQ(code, 0) << last_err_;
    passwords_[name] = std::string(absl::StripTrailingAsciiWhitespace(out));
  }

  // A signed-in client of `name`, its one-time password changed.
  std::unique_ptr<WebClient> SignedIn(const std::string& name) {
    auto client = Client();
    EXPECT_EQ(client->Login(name, passwords_[name]), 303);
    httplib::Result form = client->Get("/account/password");
    EXPECT_TRUE(form);
    const std::string csrf = CsrfIn(form->body);
    const std::string fresh = "a fresh password for " + name;
    httplib::Result changed = client->Post(
        "/account/password",
        {{"current", passwords_[name]}, {"password", fresh}}, &csrf);
    EXPECT_TRUE(changed);
    EXPECT_EQ(changed->status, 303) << changed->body;
    passwords_[name] = fresh;
    httplib::Result home = client->Get("/");
    EXPECT_TRUE(home);
    auto again = Client();
    EXPECT_EQ(again->Login(name, fresh), 303) << again->last_body();
    return again;
  }

  // An agent whose host name and account names are markup.
  std::string EnrollHostile() {
    const fs::path root = tmp_ / "roots/hostile";
    fs::create_directories(root);
    fs::copy(kSource / "tests/fixtures/disk_encryption/plain_disk", root,
             fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    fs::create_directories(root / "proc/sys/kernel");
    EXPECT_TRUE(WriteFileAtomic(root / "proc/sys/kernel/hostname",
                                std::string(kMarkup) + "\n")
                    .ok());
    fs::create_directories(root / "etc");
    EXPECT_TRUE(WriteFileAtomic(
                    root / "etc/passwd",
                    absl::StrCat("root:x:0:0::/root:/bin/bash\n", "x", kMarkup,
                                 ":x:1000:1000::/home/x:/bin/sh\n"))
                    .ok());
    absl::StatusOr<std::string> id =
        EnrollAgent(tmp_ / "agents/hostile", CreateToken(), root);
    EXPECT_TRUE(id.ok()) << id.status();
    ReportCycle(tmp_ / "agents/hostile", root, absl::Now());
    return id.ok() ? *id : "";
  }

  // Stage 1 audit open around today; its id.
  std::string OpenAudit() {
    const absl::Time now = absl::Now();
    const std::string from = absl::FormatTime("%Y-%m-%d", now - absl::Hours(24),
                                              absl::UTCTimeZone());
    const std::string to = absl::FormatTime("%Y-%m-%d", now + absl::Hours(48),
                                            absl::UTCTimeZone());
    int code = -1;
    Cli({"audit", "open", "--kind", "stage1", "--body", "Cert Body Ltd",
         "--lead-auditor", "A. Auditor", "--from", from, "--to", to},
        &code);
    EXPECT_EQ(code, 0) << last_err_;
    return "stage1-" + from;
  }

  std::map<std::string, std::string> passwords_;
  // Long here: a busy machine must not cut a test's own connections.
  absl::Duration request_time_ = absl::Seconds(60);
};

// A dashboard that gives a request 2 s: what a slow client meets.
class SlowClientTest : public DashboardTest {
 protected:
  SlowClientTest() { request_time_ = absl::Seconds(2); }
};

TEST_F(DashboardTest, SignsInWithASecureSessionCookie) {
  AddUser("alice", "admin");
  auto client = Client();
  httplib::Result form = client->http().Get("/login");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 200);
  const std::string nonce = SetCookie(form, "__Host-evidentia-login");
  httplib::Result answer = client->http().Post(
      "/login", {{"Cookie", "__Host-evidentia-login=" + nonce}},
      httplib::Params{{"user", "alice"},
                      {"password", passwords_["alice"]},
                      {"csrf", CsrfIn(form->body)}});
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 303);
  // A one-time password leads to the password form first.
  EXPECT_EQ(answer->get_header_value("Location"), "/account/password");
  std::string cookie;
  for (const auto& [key, value] : answer->headers) {
    if (key == "Set-Cookie" &&
        absl::StartsWith(value, "__Host-evidentia-session=")) {
      cookie = value;
    }
  }
  EXPECT_THAT(cookie, HasSubstr("; Secure"));
  EXPECT_THAT(cookie, HasSubstr("; HttpOnly"));
  EXPECT_THAT(cookie, HasSubstr("; SameSite=Strict"));
  EXPECT_THAT(cookie, HasSubstr("; Path=/"));
  EXPECT_THAT(cookie, HasSubstr("; Max-Age="));
}

TEST_F(DashboardTest, OneTimePasswordMustBeChangedBeforeAnyPage) {
  AddUser("alice", "admin");
  auto client = Client();
  ASSERT_EQ(client->Login("alice", passwords_["alice"]), 303);
  httplib::Result home = client->Get("/");
  ASSERT_TRUE(home);
  EXPECT_EQ(home->status, 303);
  EXPECT_EQ(home->get_header_value("Location"), "/account/password");
  auto admin = SignedIn("alice");
  home = admin->Get("/");
  ASSERT_TRUE(home);
  EXPECT_EQ(home->status, 200);
  EXPECT_THAT(home->body, HasSubstr("<h1>Overview</h1>"));
  EXPECT_THAT(home->body, HasSubstr("id=\"compliance-chart\""));
}

TEST_F(DashboardTest, WrongPasswordsAreRateLimitedAndRecorded) {
  AddUser("alice", "admin");
  auto client = Client();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(client->Login("alice", "not the password at all"), 401);
    EXPECT_THAT(client->last_body(), HasSubstr("wrong user name or password"));
  }
  // Now even the right password is refused for a while.
  EXPECT_EQ(client->Login("alice", passwords_["alice"]), 429);
  EXPECT_THAT(client->last_body(), HasSubstr("too many failed logins"));
  const std::string events = Cli({"events"});
  EXPECT_THAT(events, HasSubstr("login_failed"));
  EXPECT_THAT(events, HasSubstr("login_rate_limited"));
}

TEST_F(DashboardTest, SignInWithoutTheFormsTokenIsRefused) {
  AddUser("alice", "admin", "");
  auto client = Client();
  httplib::Result answer = client->http().Post(
      "/login", httplib::Params{{"user", "alice"},
                                {"password", passwords_["alice"]},
                                {"csrf", "forged"}});
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 403);
  EXPECT_EQ(SetCookie(answer, "__Host-evidentia-session"), "");
}

TEST_F(DashboardTest, ChangesWithoutTheCsrfTokenAreRefused) {
  AddUser("alice", "admin");
  auto admin = SignedIn("alice");
  const std::string wrong = "not-the-token";
  const std::string none;
  for (const std::string* csrf : {&wrong, &none}) {
    httplib::Result answer = admin->Post(
        "/controls/a.5.1/findings",
        {{"audit", "x"}, {"grade", "minor"}, {"statement", "s"}}, csrf);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 403);
    EXPECT_THAT(answer->body, HasSubstr("token"));
    httplib::Result out = admin->Post("/logout", {}, csrf);
    ASSERT_TRUE(out);
    EXPECT_EQ(out->status, 403);
  }
  // Still signed in.
  httplib::Result home = admin->Get("/");
  ASSERT_TRUE(home);
  EXPECT_EQ(home->status, 200);
  EXPECT_THAT(Cli({"events"}), HasSubstr("csrf_refused"));
  // With the token, signing out ends the session.
  httplib::Result out = admin->Post("/logout", {});
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 303);
  home = admin->Get("/");
  ASSERT_TRUE(home);
  EXPECT_EQ(home->status, 303);
}

// Every role against every page and action it must not have; the refusals
// change nothing.
TEST_F(DashboardTest, EachRoleIsRefusedWhatItMustNotDo) {
  const std::string audit = OpenAudit();
  AddUser("alice", "admin");
  AddUser("victor", "viewer");
  AddUser("audrey", "auditor", audit);
  AddUser("oscar", "auditor", "another-audit");
  auto admin = SignedIn("alice");
  auto viewer = SignedIn("victor");
  auto auditor = SignedIn("audrey");
  auto outsider = SignedIn("oscar");
  auto nobody = Client();

  const std::string yesterday = absl::FormatTime(
      "%Y-%m-%d", absl::Now() - absl::Hours(24), absl::UTCTimeZone());
  const std::string long_ago = absl::FormatTime(
      "%Y-%m-%d", absl::Now() - absl::Hours(24 * 30), absl::UTCTimeZone());
  struct Case {
    std::string what;
    std::function<httplib::Result(WebClient&)> call;
    int admin, viewer, auditor, outsider;
  };
  const httplib::MultipartFormDataItems upload = {
      {"document", "policy text", "policy.txt", "text/plain"},
      {"valid_until", "2099-01-01", "", ""},
      {"note", "uploaded", "", ""}};
  const std::vector<Case> cases = {
      {"overview", [](WebClient& c) { return c.Get("/"); }, 200, 200, 200, 403},
      {"controls", [](WebClient& c) { return c.Get("/controls"); }, 200, 200,
       200, 403},
      {"a control", [](WebClient& c) { return c.Get("/controls/a.8.24"); }, 200,
       200, 200, 403},
      {"hosts", [](WebClient& c) { return c.Get("/hosts"); }, 200, 200, 200,
       403},
      {"the cycle", [](WebClient& c) { return c.Get("/cycle"); }, 200, 200, 200,
       403},
      {"a month ago",
       [&](WebClient& c) { return c.Get("/controls?at=" + long_ago); }, 200,
       200, 403, 403},
      {"users", [](WebClient& c) { return c.Get("/admin/users"); }, 200, 403,
       403, 403},
      {"manual evidence",
       [&](WebClient& c) {
         httplib::MultipartFormDataItems items = upload;
         items.push_back({"csrf", c.csrf(), "", ""});
         return c.Upload("/controls/a.5.1/evidence", items);
       },
       303, 403, 403, 403},
      {"a document",
       [&](WebClient& c) {
         return c.Upload("/documents",
                         {{"which", "5.2 policy", "", ""},
                          {"version", "1", "", ""},
                          {"review_by", "2099-01-01", "", ""},
                          {"document", "the policy", "p.txt", "text/plain"},
                          {"csrf", c.csrf(), "", ""}});
       },
       303, 403, 403, 403},
      {"a finding",
       [&](WebClient& c) {
         return c.Post("/controls/a.5.1/findings",
                       {{"audit", audit},
                        {"grade", "ofi"},
                        {"statement", "Could be clearer"}});
       },
       303, 403, 303, 403},
      {"a period's bundle",
       [&](WebClient& c) {
         return c.Get("/export?from=" + yesterday + "&to=" + yesterday);
       },
       200, 200, 403, 403},
      {"the audit's bundle",
       [&](WebClient& c) { return c.Get("/export?audit=" + audit); }, 200, 200,
       200, 403},
  };
  for (const Case& c : cases) {
    for (auto [client, expected, who] :
         {std::make_tuple(admin.get(), c.admin, "admin"),
          std::make_tuple(viewer.get(), c.viewer, "viewer"),
          std::make_tuple(auditor.get(), c.auditor, "auditor"),
          std::make_tuple(outsider.get(), c.outsider, "uninvited auditor")}) {
      httplib::Result answer = c.call(*client);
      ASSERT_TRUE(answer) << c.what << " as " << who;
      EXPECT_EQ(answer->status, expected)
          << c.what << " as " << who << ": " << answer->body.substr(0, 2000);
    }
    // Without a session: to the sign-in page, or refused.
    httplib::Result answer = c.call(*nobody);
    ASSERT_TRUE(answer) << c.what;
    EXPECT_TRUE(answer->status == 303 || answer->status == 401)
        << c.what << " without a session: " << answer->status;
  }
  // Only the admin's evidence, document and the two allowed findings were
  // recorded.
  EXPECT_THAT(Cli({"documents"}), HasSubstr("p.txt"));
  const std::string findings = Cli({"findings", "--json"});
  EXPECT_THAT(findings, HasSubstr("alice (admin, dashboard)"));
  EXPECT_THAT(findings, HasSubstr("audrey (auditor, dashboard)"));
  EXPECT_THAT(findings, Not(HasSubstr("victor")));
  EXPECT_THAT(findings, Not(HasSubstr("oscar")));
  EXPECT_THAT(Cli({"events"}), HasSubstr("access_denied"));
}

TEST_F(DashboardTest, AgentValuesAreShownAsText) {
  const std::string agent_id = EnrollHostile();
  AddUser("alice", "admin");
  auto admin = SignedIn("alice");
  for (const std::string& path :
       {std::string("/hosts"), "/hosts/" + agent_id,
        std::string("/controls/a.8.24"), std::string("/")}) {
    httplib::Result page = admin->Get(path);
    ASSERT_TRUE(page) << path;
    EXPECT_EQ(page->status, 200) << path;
    EXPECT_THAT(page->body, Not(HasSubstr(kMarkup))) << path;
  }
  httplib::Result host = admin->Get("/hosts/" + agent_id);
  ASSERT_TRUE(host);
  EXPECT_THAT(host->body, HasSubstr(kEscapedMarkup));
}

TEST_F(DashboardTest, EveryPageCarriesTheSecurityHeaders) {
  AddUser("alice", "admin");
  auto admin = SignedIn("alice");
  for (const std::string& path :
       {std::string("/"), std::string("/login"), std::string("/controls"),
        std::string("/no-such-page"), std::string("/static/app.js")}) {
    httplib::Result page = admin->Get(path);
    ASSERT_TRUE(page) << path;
    const std::string csp = page->get_header_value("Content-Security-Policy");
    EXPECT_THAT(csp, HasSubstr("default-src 'self'")) << path;
    EXPECT_THAT(csp, HasSubstr("script-src 'self'")) << path;
    EXPECT_THAT(csp, HasSubstr("frame-ancestors 'none'")) << path;
    EXPECT_THAT(csp, Not(HasSubstr("unsafe-inline"))) << path;
    EXPECT_EQ(page->get_header_value("X-Content-Type-Options"), "nosniff")
        << path;
    EXPECT_EQ(page->get_header_value("Referrer-Policy"), "no-referrer") << path;
  }
  httplib::Result home = admin->Get("/");
  ASSERT_TRUE(home);
  // No inline script: every <script> has a src of our own.
  EXPECT_THAT(home->body, Not(HasSubstr("<script>")));
  EXPECT_THAT(home->body, Not(HasSubstr(" style=")));
}

TEST_F(DashboardTest, AsOfDateShowsThePastAndRefusesNonsense) {
  AddUser("alice", "admin");
  auto admin = SignedIn("alice");
  httplib::Result past = admin->Get("/controls?at=2020-01-01");
  ASSERT_TRUE(past);
  EXPECT_EQ(past->status, 200);
  EXPECT_THAT(past->body, HasSubstr("as it stood at 2020-01-01 23:59Z"));
  EXPECT_THAT(past->body, HasSubstr("href=\"/controls/a.5.1?at=2020-01-01\""));
  httplib::Result bad = admin->Get("/controls?at=yesterday");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
}

TEST_F(DashboardTest, HealthzAndMetricsNeedNoSessionButTheToken) {
  auto client = Client();
  httplib::Result health = client->http().Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  httplib::Result refused = client->http().Get("/metrics");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  httplib::Result wrong = client->http().Get(
      "/metrics", {{"Authorization", "Bearer wrong-token-of-some-length"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EnrollHostile();
  httplib::Result metrics = client->http().Get(
      "/metrics", {{"Authorization", "Bearer a-scrape-token-of-some-length"}});
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  for (const char* line :
       {"evidentia_snapshots_accepted_total 1",
        "evidentia_ack_latency_seconds_count 1", "evidentia_log_size ",
        "evidentia_agents{state=\"reporting\"} 1",
        "evidentia_agents{state=\"revoked\"} 0", "evidentia_store_bytes ",
        "evidentia_controls{grade=\"compliant\"} ",
        "evidentia_web_connections "}) {
    EXPECT_THAT(metrics->body, HasSubstr(line));
  }
}

// A raw TLS connection to the dashboard: connected and handshaken, or
// null when the server refused it.
struct RawTls {
  int fd = -1;
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  ~RawTls() {
    if (ssl != nullptr) SSL_free(ssl);
    if (ctx != nullptr) SSL_CTX_free(ctx);
    if (fd >= 0) ::close(fd);
  }
};
std::unique_ptr<RawTls> ConnectRaw(int port) {
  auto raw = std::make_unique<RawTls>();
  raw->fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(raw->fd, reinterpret_cast<sockaddr*>(&address),
                sizeof(address)) != 0) {
    return nullptr;
  }
  raw->ctx = SSL_CTX_new(TLS_client_method());
  raw->ssl = SSL_new(raw->ctx);
  SSL_set_fd(raw->ssl, raw->fd);
  if (SSL_connect(raw->ssl) != 1) return nullptr;
  return raw;
}
// Whether the server closed the connection within `limit`.
bool ClosedWithin(RawTls& raw, absl::Duration limit) {
  pollfd p{raw.fd, POLLIN, 0};
  const absl::Time deadline = absl::Now() + limit;
  while (absl::Now() < deadline) {
    if (::poll(&p, 1, 200) > 0) {
      char byte;
      const int n = SSL_read(raw.ssl, &byte, 1);
      if (n <= 0) return true;
    }
  }
  return false;
}

TEST_F(SlowClientTest, ASlowClientIsCutOffAndOthersAreServed) {
  std::unique_ptr<RawTls> slow = ConnectRaw(server_->web_port());
  ASSERT_NE(slow, nullptr);
  const std::string start = "GET / HTTP/1.1\r\nHost: x\r\n";
  ASSERT_GT(SSL_write(slow->ssl, start.data(), static_cast<int>(start.size())),
            0);
  // Meanwhile another client is answered.
  auto client = Client();
  httplib::Result health = client->http().Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  // The slow one never finishes its headers: the collector hangs up (its
  // limit is 2 s here; two minutes are only this test's patience).
  EXPECT_TRUE(ClosedWithin(*slow, absl::Minutes(2)));
  EXPECT_THAT(server_->Metrics(),
              HasSubstr("evidentia_web_connections_closed_total{reason="
                        "\"slow\"} 1"));
}

TEST_F(SlowClientTest, ABodyThatNeverComesIsCutOff) {
  std::unique_ptr<RawTls> slow = ConnectRaw(server_->web_port());
  ASSERT_NE(slow, nullptr);
  const std::string headers =
      "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nuser=";
  ASSERT_GT(
      SSL_write(slow->ssl, headers.data(), static_cast<int>(headers.size())),
      0);
  EXPECT_TRUE(ClosedWithin(*slow, absl::Minutes(2)));
}

TEST_F(DashboardTest, EndlessHeadersAreCutOffBeforeTheyFillMemory) {
  std::unique_ptr<RawTls> flood = ConnectRaw(server_->web_port());
  ASSERT_NE(flood, nullptr);
  std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  const std::string line = "X-Filler: " + std::string(1000, 'y') + "\r\n";
  // A megabyte of header lines, far past the 64 KiB allowed: the
  // connection is closed for its size, well before its 60 s to send a
  // request run out.
  ASSERT_GT(
      SSL_write(flood->ssl, request.data(), static_cast<int>(request.size())),
      0);
  bool refused = false;
  for (int i = 0; i < 1000 && !refused; ++i) {
    refused =
        SSL_write(flood->ssl, line.data(), static_cast<int>(line.size())) <= 0;
  }
  EXPECT_TRUE(refused || ClosedWithin(*flood, absl::Seconds(30)));
  // By the connection guard's byte budget, not by anything of httplib's.
  auto client = Client();
  httplib::Result metrics = client->http().Get(
      "/metrics", {{"Authorization", "Bearer a-scrape-token-of-some-length"}});
  ASSERT_TRUE(metrics);
  EXPECT_THAT(
      metrics->body,
      HasSubstr(
          "evidentia_web_connections_closed_total{reason=\"too_large\"} 1\n"));
}

TEST_F(DashboardTest, OneAddressCannotHoldEveryConnection) {
  std::vector<std::unique_ptr<RawTls>> held;
  for (int i = 0; i < 6; ++i) {
    held.push_back(ConnectRaw(server_->web_port()));
    ASSERT_NE(held.back(), nullptr) << i;
  }
  // The seventh from the same address is closed at once: its handshake
  // fails or the connection ends before any answer.
  std::unique_ptr<RawTls> extra = ConnectRaw(server_->web_port());
  if (extra != nullptr) {
    const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    SSL_write(extra->ssl, request.data(), static_cast<int>(request.size()));
    char buffer[64];
    EXPECT_LE(SSL_read(extra->ssl, buffer, sizeof(buffer)), 0);
  }
  EXPECT_THAT(server_->Metrics(),
              HasSubstr("evidentia_web_connections_closed_total{reason="
                        "\"too_many\"} 1"));
  held.clear();
}

TEST_F(DashboardTest, ASecondCollectorCannotTakeTheSamePort) {
  collector::ServerOptions options;
  options.data_dir = tmp_ / "second";
  options.listen = "127.0.0.1:0";
  options.web = collector::web::WebOptions();
  options.web.listen = absl::StrCat("127.0.0.1:", server_->web_port());
  absl::StatusOr<std::unique_ptr<collector::Server>> second =
      collector::Server::Start(options);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr("dashboard cannot listen"));
}

TEST_F(DashboardTest, TooManyHeadersOrTooLargeABodyAreRefused) {
  auto client = Client();
  httplib::Headers headers;
  for (int i = 0; i < 100; ++i) {
    headers.emplace(absl::StrCat("X-Filler-", i), "x");
  }
  httplib::Result many = client->http().Get("/healthz", headers);
  ASSERT_TRUE(many);
  EXPECT_EQ(many->status, 431);
  httplib::Result large = client->http().Post(
      "/login", std::string(8 << 20, 'x'), "application/octet-stream");
  ASSERT_TRUE(large) << httplib::to_string(large.error());
  EXPECT_EQ(large->status, 413);
}

TEST_F(DashboardTest, UploadedEvidenceChangesTheGrade) {
  AddUser("alice", "admin");
  auto admin = SignedIn("alice");
  httplib::Result before = admin->Get("/controls/a.5.1");
  ASSERT_TRUE(before);
  EXPECT_THAT(before->body, HasSubstr("None recorded."));
  httplib::Result added =
      admin->Upload("/controls/a.5.1/evidence",
                    {{"document", "our information security policy",
                      "../../policy.txt", "text/plain"},
                     {"valid_until", "2099-01-01", "", ""},
                     {"note", "approved", "", ""},
                     {"csrf", admin->csrf(), "", ""}});
  ASSERT_TRUE(added);
  EXPECT_EQ(added->status, 303) << added->body;
  httplib::Result after = admin->Get("/controls/a.5.1");
  ASSERT_TRUE(after);
  // The base name only; the document is the operator-signed evidence.
  EXPECT_THAT(after->body, HasSubstr("<p>policy.txt"));
  EXPECT_THAT(Cli({"control", "a.5.1"}), HasSubstr("policy.txt"));
}

TEST_F(DashboardTest, AHostLinksEachCheckToItsSignedSnapshot) {
  const std::string agent_id = EnrollHostile();
  AddUser("alice", "admin");
  auto admin = SignedIn("alice");
  const std::string path = "/hosts/" + agent_id + "/snapshots/1";
  httplib::Result host = admin->Get("/hosts/" + agent_id);
  ASSERT_TRUE(host);
  EXPECT_THAT(host->body, HasSubstr("href=\"" + path + "\""));

  httplib::Result snapshot = admin->Get(path);
  ASSERT_TRUE(snapshot);
  ASSERT_EQ(snapshot->status, 200) << snapshot->body;
  EXPECT_THAT(snapshot->body, HasSubstr(">verifies</span>"));
  EXPECT_THAT(snapshot->body, HasSubstr("linux.disk_encryption"));
  EXPECT_THAT(snapshot->body, HasSubstr("id=\"facts-linux.local_accounts\""));
  // The agent's values, as text.
  EXPECT_THAT(snapshot->body, Not(HasSubstr(kMarkup)));
  EXPECT_THAT(snapshot->body, HasSubstr(kEscapedMarkup));

  for (const std::string& missing :
       {"/hosts/" + agent_id + "/snapshots/2",
        "/hosts/" + agent_id + "/snapshots/0",
        std::string("/hosts/nobody/snapshots/1"),
        "/hosts/" + agent_id + "/snapshots/99999999999999999999"}) {
    httplib::Result answer = admin->Get(missing);
    ASSERT_TRUE(answer) << missing;
    EXPECT_TRUE(answer->status == 404 || answer->status == 400)
        << missing << ": " << answer->status;
  }
  // Not before it was received (two days back: yesterday may have ended
  // a moment ago).
  const std::string before_day = absl::FormatTime(
      "%Y-%m-%d", absl::Now() - absl::Hours(48), absl::UTCTimeZone());
  httplib::Result before = admin->Get(path + "?at=" + before_day);
  ASSERT_TRUE(before);
  EXPECT_EQ(before->status, 404);
  EXPECT_THAT(before->body, HasSubstr("received after the moment shown"));
}

TEST_F(DashboardTest, ADocumentVersionIsRegisteredFromTheBrowser) {
  AddUser("alice", "admin");
  AddUser("victor", "viewer");
  auto admin = SignedIn("alice");
  auto viewer = SignedIn("victor");
  httplib::Result cycle = admin->Get("/cycle");
  ASSERT_TRUE(cycle);
  EXPECT_THAT(cycle->body, HasSubstr("id=\"document-upload\""));
  EXPECT_THAT(cycle->body,
              HasSubstr("value=\"6.1.2 risk-assessment-process\""));
  httplib::Result seen = viewer->Get("/cycle");
  ASSERT_TRUE(seen);
  EXPECT_THAT(seen->body, Not(HasSubstr("id=\"document-upload\"")));

  auto upload = [&](const std::string& which, const std::string& review_by) {
    return admin->Upload("/documents", {{"which", which, "", ""},
                                        {"version", "2026-1", "", ""},
                                        {"approved_by", "The Board", "", ""},
                                        {"approved_on", "2026-01-15", "", ""},
                                        {"review_by", review_by, "", ""},
                                        {"note", "<b>annual</b>", "", ""},
                                        {"document", "how we assess risk",
                                         "C:\\risk.pdf", "application/pdf"},
                                        {"csrf", admin->csrf(), "", ""}});
  };
  httplib::Result added = upload("6.1.2 risk-assessment-process", "2099-01-01");
  ASSERT_TRUE(added);
  ASSERT_EQ(added->status, 303) << added->body;
  httplib::Result after = admin->Get("/cycle");
  ASSERT_TRUE(after);
  EXPECT_THAT(after->body, HasSubstr("2026-1 <small>(risk.pdf)</small>"));
  EXPECT_THAT(after->body, HasSubstr("The Board, 2026-01-15"));
  const std::string documents = Cli({"documents"});
  EXPECT_THAT(documents, HasSubstr("risk-assessment-process"));
  EXPECT_THAT(documents, HasSubstr("risk.pdf"));
  EXPECT_THAT(Cli({"events"}), HasSubstr("document_added"));

  // What the collector refuses comes back as a clear error, recording
  // nothing.
  for (const auto& [which, review_by] :
       std::vector<std::pair<std::string, std::string>>{
           {"99.9 nothing", "2099-01-01"},
           {"6.1.2", "2099-01-01"},
           {"6.1.2 risk-assessment-process", "next year"}}) {
    httplib::Result refused = upload(which, review_by);
    ASSERT_TRUE(refused) << which;
    EXPECT_EQ(refused->status, 400) << which << ": " << refused->body;
  }
  EXPECT_EQ(Cli({"documents"}), documents);
}

TEST_F(DashboardTest, TheBundleDownloadsAsATarGz) {
  AddUser("victor", "viewer");
  auto viewer = SignedIn("victor");
  const std::string today =
      absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone());
  httplib::Result bundle =
      viewer->Get("/export?from=" + today + "&to=" + today);
  ASSERT_TRUE(bundle);
  EXPECT_EQ(bundle->status, 200);
  EXPECT_EQ(bundle->get_header_value("Content-Type"), "application/gzip");
  EXPECT_THAT(bundle->get_header_value("Content-Disposition"),
              HasSubstr(".tar.gz\""));
  ASSERT_GT(bundle->body.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(bundle->body[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(bundle->body[1]), 0x8b);
  const fs::path file = tmp_ / "download.tar.gz";
  ASSERT_TRUE(WriteFileAtomic(file, bundle->body).ok());
  int code = -1;
  Cli({"verify", file.string()}, &code);
  EXPECT_EQ(code, 0) << last_err_;
  EXPECT_THAT(Cli({"events"}), HasSubstr("export"));
}

}  // namespace
}  // namespace evidentia
