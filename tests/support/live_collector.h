// Test support: a real collector (mutual TLS on 127.0.0.1, RocksDB in a
// temp dir) in-process, with the operator CLI (the operator's client
// certificate from the data dir) and agent enrolment against it.
// Derive a fixture from LiveCollectorTest; override ConfigureServer to give
// it a policy set or a clock.
#ifndef EVIDENTIA_TESTS_SUPPORT_LIVE_COLLECTOR_H_
#define EVIDENTIA_TESTS_SUPPORT_LIVE_COLLECTOR_H_

#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "agent/agent_state.h"
#include "agent/collect.h"
#include "agent/probe.h"
#include "agent/uploader.h"
#include "cli/operator_cli.h"
#include "collector/identity/data_dir.h"
#include "collector/server/server.h"
#include "common/files.h"
#include "evidentia/v1/collector.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace evidentia::testing {

class LiveCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_dir_.path().empty());
    tmp_ = tmp_dir_.path();
    data_dir_ = tmp_ / "collector";
    StartCollector("127.0.0.1:0");
  }
  void TearDown() override { server_.reset(); }

  // Adjusts the options of every start (policies, clock, ...).
  virtual void ConfigureServer(collector::ServerOptions&) {}

  void StartCollector(const std::string& listen) {
    collector::ServerOptions options;
    options.data_dir = data_dir_;
    options.listen = listen;
    ConfigureServer(options);
    absl::StatusOr<std::unique_ptr<collector::Server>> server =
        collector::Server::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    port_ = server_->port();
  }
  void StopCollector() { server_.reset(); }

  std::string Address() const { return absl::StrCat("127.0.0.1:", port_); }
  std::string CaPem() const {
    return *ReadFile(collector::DataDirPaths(data_dir_).ca_cert());
  }

  // Runs the operator CLI in-process against this collector; returns its
  // stdout, sets `*code` and last_err_.
  std::string Cli(std::vector<std::string> words, int* code = nullptr) {
    words.insert(words.begin(), "evidentia");
    words.push_back("--data-dir");
    words.push_back(data_dir_.string());
    std::vector<const char*> argv;
    for (const std::string& w : words) argv.push_back(w.c_str());
    std::ostringstream out, err;
    const int rc = collector::RunOperatorCli(static_cast<int>(argv.size()),
                                             argv.data(), out, err);
    if (code != nullptr) *code = rc;
    last_err_ = err.str();
    return out.str();
  }

  std::string CreateToken(const std::string& uses = "1") {
    std::string token = Cli({"token", "create", "--uses", uses});
    while (!token.empty() && token.back() == '\n') token.pop_back();
    return token;
  }

  absl::StatusOr<std::string> EnrollAgent(
      const std::filesystem::path& state_dir, const std::string& token,
      const std::filesystem::path& root,
      std::map<std::string, std::string> labels = {}) {
    agent::EnrollOptions options;
    options.state_dir = state_dir;
    options.collector = Address();
    options.ca_pem = CaPem();
    options.token = token;
    options.root = root;
    options.labels = std::move(labels);
    return agent::Enroll(options);
  }

  // A Collector stub presenting the client certificate of the agent
  // enrolled in `state_dir` (as `evidentia-agent run` does).
  std::unique_ptr<v1::Collector::Stub> Stub(
      const std::filesystem::path& state_dir) {
    absl::StatusOr<agent::ClientTls> tls = agent::LoadClientTls(state_dir);
    EXPECT_TRUE(tls.ok()) << tls.status();
    return StubWith(tls.ok() ? *tls : agent::ClientTls{CaPem(), "", ""});
  }
  // A Collector stub with no client certificate (as at enrolment).
  std::unique_ptr<v1::Collector::Stub> AnonymousStub() {
    return StubWith(agent::ClientTls{CaPem(), "", ""});
  }
  std::unique_ptr<v1::Collector::Stub> StubWith(const agent::ClientTls& tls) {
    return v1::Collector::NewStub(agent::MakeChannel(Address(), tls));
  }
  // The operator CLI's TLS identity from the collector's data dir.
  agent::ClientTls OperatorTls() const {
    const collector::DataDirPaths paths(data_dir_);
    return agent::ClientTls{CaPem(), *ReadFile(paths.operator_client_key()),
                            *ReadFile(paths.operator_client_cert())};
  }

  // One collection cycle of the agent in `state_dir` on the fixture tree
  // `root`, collected at `at` and delivered to this collector.
  void ReportCycle(const std::filesystem::path& state_dir,
                   const std::filesystem::path& root, absl::Time at) {
    absl::StatusOr<std::unique_ptr<agent::AgentState>> state =
        agent::AgentState::Open(state_dir);
    ASSERT_TRUE(state.ok()) << state.status();
    ASSERT_TRUE(
        (*state)
            ->MakeSnapshot(agent::Collect(agent::BuildProbes(), root), at)
            .ok());
    absl::StatusOr<agent::DeliveryReport> report =
        agent::DeliverSpool(**state, *Stub(state_dir));
    ASSERT_TRUE(report.ok()) << report.status();
  }

  ScopedTempDir tmp_dir_;
  std::filesystem::path tmp_, data_dir_;
  std::unique_ptr<collector::Server> server_;
  int port_ = 0;
  std::string last_err_;
};

}  // namespace evidentia::testing

#endif  // EVIDENTIA_TESTS_SUPPORT_LIVE_COLLECTOR_H_
