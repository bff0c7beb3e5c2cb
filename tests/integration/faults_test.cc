// The collector under faults and hostile clients: a full disk stops
// acknowledging but not reading and heals by itself; silent streams are
// cancelled; one agent flooding streams is refused at its own limit while
// others go on. Real TLS on 127.0.0.1, real RocksDB (its disk fault
// injected at the OS boundary).
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/agent_state.h"
#include "agent/collect.h"
#include "agent/probe.h"
#include "agent/uploader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/full_disk.h"
#include "tests/support/live_collector.h"
#include "tests/support/raw_call.h"

namespace evidentia {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr char kRoot[] =
    EVIDENTIA_SOURCE_DIR "/tests/fixtures/host_facts/debian12";

class FaultsTest : public testing::LiveCollectorTest {
 protected:
  void ConfigureServer(collector::ServerOptions& options) override {
    options.store.env = disk_.env();
    options.stream_limits.max_streams = 6;
    options.stream_limits.max_streams_per_source = 3;
    options.stream_limits.idle_timeout = idle_timeout_;
  }

  // An enrolled agent with one snapshot made and spooled.
  std::unique_ptr<agent::AgentState> AgentWithSnapshot(const fs::path& dir) {
    absl::StatusOr<std::string> id = EnrollAgent(dir, CreateToken(), kRoot);
    EXPECT_TRUE(id.ok()) << id.status();
    absl::StatusOr<std::unique_ptr<agent::AgentState>> state =
        agent::AgentState::Open(dir);
    EXPECT_TRUE(state.ok()) << state.status();
    if (!state.ok()) return nullptr;
    EXPECT_TRUE((*state)
                    ->MakeSnapshot(agent::Collect(agent::BuildProbes(), kRoot),
                                   absl::Now())
                    .ok());
    return *std::move(state);
  }

  // A Submit stream the collector has admitted, on `stub`, that sends
  // nothing.
  struct SilentStream {
    ~SilentStream() {
      if (finished) return;
      context.TryCancel();
      stream->Finish().IgnoreError();
    }
    grpc::Status Finish() {
      finished = true;
      return stream->Finish();
    }
    bool finished = false;
    grpc::ClientContext context;
    std::unique_ptr<
        grpc::ClientReaderWriter<v1::SubmitRequest, v1::SubmitResponse>>
        stream;
  };
  std::unique_ptr<SilentStream> OpenSilent(v1::Collector::Stub& stub) {
    auto silent = std::make_unique<SilentStream>();
    silent->context.set_deadline(std::chrono::system_clock::now() +
                                 std::chrono::seconds(30));
    silent->stream = stub.Submit(&silent->context);
    silent->stream->WaitForInitialMetadata();
    return silent;
  }

  // The state dir of a newly enrolled agent (no snapshot made).
  fs::path Enrolled(const std::string& name) {
    const fs::path dir = tmp_ / name;
    absl::StatusOr<std::string> id = EnrollAgent(dir, CreateToken(), kRoot);
    EXPECT_TRUE(id.ok()) << id.status();
    return dir;
  }

  testing::FullDisk disk_;
  // Long enough that no stream of a test goes idle unless it means to.
  absl::Duration idle_timeout_ = absl::Seconds(60);
};

class SilentStreamTest : public FaultsTest {
 protected:
  SilentStreamTest() { idle_timeout_ = absl::Milliseconds(300); }
};

// gRPC turns SO_REUSEPORT on by default; with it a second collector on the
// same address would start and the kernel would split agents between two.
TEST_F(FaultsTest, SecondCollectorOnTheSameAddressRefusesToStart) {
  collector::ServerOptions options;
  options.data_dir = tmp_ / "second";
  options.listen = Address();

  absl::StatusOr<std::unique_ptr<collector::Server>> second =
      collector::Server::Start(options);

  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr("in use"));
  EXPECT_THAT(second.status().message(), HasSubstr(Address()));
}

TEST_F(FaultsTest, FullDiskRefusesWithUnavailableAndKeepsTheSnapshot) {
  std::unique_ptr<agent::AgentState> state = AgentWithSnapshot(tmp_ / "a");
  ASSERT_NE(state, nullptr);
  disk_.Fill();

  absl::StatusOr<agent::DeliveryReport> report =
      agent::DeliverSpool(*state, *Stub(tmp_ / "a"));

  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kUnavailable)
      << report.status();
  absl::StatusOr<std::vector<v1::SubmitRequest>> spooled = state->Spooled();
  ASSERT_TRUE(spooled.ok()) << spooled.status();
  EXPECT_EQ(spooled->size(), 1u);
}

TEST_F(FaultsTest, FullDiskStillAnswersReads) {
  std::unique_ptr<agent::AgentState> state = AgentWithSnapshot(tmp_ / "a");
  ASSERT_NE(state, nullptr);
  ASSERT_TRUE(agent::DeliverSpool(*state, *Stub(tmp_ / "a")).ok());
  disk_.Fill();

  int code = -1;
  std::string agents = Cli({"agents", "--json"}, &code);

  EXPECT_EQ(code, 0) << last_err_;
  EXPECT_THAT(agents, HasSubstr("\"lastSeq\":\"1\""));
}

TEST_F(FaultsTest, DeliveryResumesByItselfWhenSpaceReturns) {
  std::unique_ptr<agent::AgentState> state = AgentWithSnapshot(tmp_ / "a");
  ASSERT_NE(state, nullptr);
  disk_.Fill();
  ASSERT_FALSE(agent::DeliverSpool(*state, *Stub(tmp_ / "a")).ok());
  disk_.Free();

  absl::StatusOr<agent::DeliveryReport> report =
      agent::DeliverSpool(*state, *Stub(tmp_ / "a"));

  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->accepted, 1);
  EXPECT_EQ(report->remaining, 0);
}

TEST_F(SilentStreamTest, SilentStreamIsCancelled) {
  std::unique_ptr<v1::Collector::Stub> stub = Stub(Enrolled("a"));
  std::unique_ptr<SilentStream> silent = OpenSilent(*stub);

  v1::SubmitResponse response;
  EXPECT_FALSE(silent->stream->Read(&response));
  grpc::Status status = silent->Finish();

  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED)
      << status.error_message();
}

// A key rotation whose request never comes is an agent's stream like any
// other: counted against its limit and cancelled when silent.
TEST_F(SilentStreamTest, SilentKeyRotationIsCancelled) {
  const fs::path dir = tmp_ / "agent";
  ASSERT_NE(AgentWithSnapshot(dir), nullptr);
  absl::StatusOr<agent::ClientTls> tls = agent::LoadClientTls(dir);
  ASSERT_TRUE(tls.ok()) << tls.status();
  testing::RawCall call(agent::MakeChannel(Address(), *tls),
                        "/evidentia.v1.Collector/RotateKey");

  // 100 times the idle timeout: the server, not the client, ends it.
  grpc::Status status = call.Finish(absl::Seconds(30));

  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_NE(status.error_message(), "not ended by the server");
}

TEST_F(FaultsTest, StreamsBeyondOneAgentsLimitAreRefused) {
  std::unique_ptr<v1::Collector::Stub> stub = Stub(Enrolled("flooder"));
  std::vector<std::unique_ptr<SilentStream>> flood;
  for (int i = 0; i < 3; ++i) flood.push_back(OpenSilent(*stub));

  std::unique_ptr<SilentStream> extra = OpenSilent(*stub);
  grpc::Status status = extra->Finish();

  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
}

TEST_F(FaultsTest, FloodFromOneAgentLeavesOthersServed) {
  std::unique_ptr<agent::AgentState> state = AgentWithSnapshot(tmp_ / "a");
  ASSERT_NE(state, nullptr);
  std::unique_ptr<v1::Collector::Stub> flooder = Stub(Enrolled("flooder"));
  std::vector<std::unique_ptr<SilentStream>> flood;
  for (int i = 0; i < 3; ++i) flood.push_back(OpenSilent(*flooder));

  absl::StatusOr<agent::DeliveryReport> report =
      agent::DeliverSpool(*state, *Stub(tmp_ / "a"));

  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->accepted, 1);
}

TEST_F(FaultsTest, StreamsBeyondTheTotalLimitAreRefused) {
  std::vector<std::unique_ptr<v1::Collector::Stub>> stubs;
  std::vector<std::unique_ptr<SilentStream>> open;
  for (int source = 0; source < 2; ++source) {
    stubs.push_back(Stub(Enrolled(absl::StrCat("agent", source))));
    for (int i = 0; i < 3; ++i) open.push_back(OpenSilent(*stubs.back()));
  }
  std::unique_ptr<v1::Collector::Stub> late = Stub(Enrolled("late"));

  std::unique_ptr<SilentStream> extra = OpenSilent(*late);
  grpc::Status status = extra->Finish();

  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
}

}  // namespace
}  // namespace evidentia
