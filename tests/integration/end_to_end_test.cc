// End to end over loopback: a real collector (TLS, RocksDB in a temp dir)
// and a real agent (state dir, spool, real probes on a fixture root).
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/agent_state.h"
#include "agent/collect.h"
#include "agent/probe.h"
#include "agent/uploader.h"
#include "cli/operator_cli.h"
#include "collector/identity/data_dir.h"
#include "collector/server/server.h"
#include "collector/store/keys.h"
#include "collector/store/records.h"
#include "collector/store/rocksdb_store.h"
#include "common/envelope.h"
#include "common/files.h"
#include "common/sha256.h"
#include "common/snapshot_chain.h"
#include "evidentia/v1/collector.pb.h"
#include "evidentia/v1/snapshot.pb.h"
#include "evidentia/v1/store.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/live_collector.h"

namespace evidentia {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A fake host: just enough of a root tree for the probes to report on.
void WriteFixtureRoot(const fs::path& root, const std::string& extra_user) {
  fs::create_directories(root / "etc");
  fs::create_directories(root / "proc/self");
  std::string passwd =
      "root:x:0:0:root:/root:/bin/bash\n"
      "alice:x:1000:1000:Alice:/home/alice:/bin/bash\n";
  if (!extra_user.empty()) {
    absl::StrAppend(&passwd, extra_user, ":x:1001:1001::/home/", extra_user,
                    ":/bin/bash\n");
  }
  ASSERT_TRUE(WriteFileAtomic(root / "etc/passwd", passwd).ok());
  ASSERT_TRUE(
      WriteFileAtomic(root / "etc/group", "root:x:0:\nsudo:x:27:alice\n").ok());
  ASSERT_TRUE(WriteFileAtomic(root / "etc/hostname", "fixture-host\n").ok());
  ASSERT_TRUE(
      WriteFileAtomic(root / "proc/self/mounts", "proc /proc proc rw 0 0\n")
          .ok());
}

class EndToEndTest : public testing::LiveCollectorTest {
 protected:
  void SetUp() override {
    LiveCollectorTest::SetUp();
    state_dir_ = tmp_ / "agent";
    root_ = tmp_ / "root";
    WriteFixtureRoot(root_, "");
  }

  absl::StatusOr<std::string> EnrollAgent(const fs::path& state_dir,
                                          const std::string& token) {
    return LiveCollectorTest::EnrollAgent(state_dir, token, root_);
  }

  std::unique_ptr<agent::AgentState> OpenAgent() {
    absl::StatusOr<std::unique_ptr<agent::AgentState>> state =
        agent::AgentState::Open(state_dir_);
    EXPECT_TRUE(state.ok()) << state.status();
    return state.ok() ? *std::move(state) : nullptr;
  }

  // One cycle as `evidentia-agent run --once` does it.
  absl::StatusOr<agent::DeliveryReport> Cycle(agent::AgentState& state) {
    absl::StatusOr<uint64_t> seq = state.MakeSnapshot(
        agent::Collect(agent::BuildProbes(), root_), absl::Now());
    if (!seq.ok()) return seq.status();
    return agent::DeliverSpool(state, *Stub(state_dir_));
  }

  // Sends one request on a fresh stream and returns the answer.
  v1::SubmitResponse SubmitRaw(const v1::SubmitRequest& request) {
    auto stub = Stub(state_dir_);
    grpc::ClientContext context;
    auto stream = stub->Submit(&context);
    v1::SubmitResponse response;
    EXPECT_TRUE(stream->Write(request));
    EXPECT_TRUE(stream->Read(&response));
    stream->WritesDone();
    EXPECT_TRUE(stream->Finish().ok());
    return response;
  }

  fs::path state_dir_, root_;
};

TEST_F(EndToEndTest, EnrolSubmitAndRestartKeepsEveryAcknowledgedSnapshot) {
  absl::StatusOr<std::string> agent_id = EnrollAgent(state_dir_, CreateToken());
  ASSERT_TRUE(agent_id.ok()) << agent_id.status();
  {
    auto state = OpenAgent();
    ASSERT_NE(state, nullptr);
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<agent::DeliveryReport> report = Cycle(*state);
      ASSERT_TRUE(report.ok()) << report.status();
      EXPECT_EQ(report->accepted, 1);
      EXPECT_EQ(report->remaining, 0);
    }
  }
  const std::string address = Address();
  StopCollector();
  {
    // Every acknowledged snapshot is on disk, byte for byte as signed.
    absl::StatusOr<std::unique_ptr<collector::Store>> store =
        collector::OpenRocksDbStore(collector::DataDirPaths(data_dir_).db());
    ASSERT_TRUE(store.ok()) << store.status();
    absl::StatusOr<std::vector<v1::StoredSnapshot>> stored =
        collector::ScanRecords<v1::StoredSnapshot>(
            **store, collector::Table::kSnapshots,
            collector::keys::AgentPrefix(*agent_id), "snapshot");
    ASSERT_TRUE(stored.ok()) << stored.status();
    ASSERT_EQ(stored->size(), 3u);
    absl::StatusOr<PrivateKey> private_key =
        PrivateKey::LoadPemFile(state_dir_ / "agent.key");
    ASSERT_TRUE(private_key.ok());
    ChainHead head;
    for (const v1::StoredSnapshot& s : *stored) {
      EXPECT_TRUE(VerifyEnvelope(private_key->public_key(), s.envelope()).ok());
      v1::Snapshot snapshot;
      ASSERT_TRUE(snapshot.ParseFromString(s.envelope().payload()));
      EXPECT_TRUE(CheckNext(head, snapshot).ok());
      head = HeadAfter(snapshot.seq(), s.envelope().payload());
    }
    EXPECT_EQ(head.seq, 3u);
  }
  StartCollector(address);

  std::string agents = Cli({"agents", "--json"});
  EXPECT_THAT(agents, HasSubstr(*agent_id));
  EXPECT_THAT(agents, HasSubstr("\"lastSeq\":\"3\""));
  std::string evidence = Cli({"evidence", "--agent", *agent_id, "--json"});
  EXPECT_THAT(evidence, HasSubstr("linux.local_accounts"));
  EXPECT_THAT(evidence, HasSubstr("alice"));
}

TEST_F(EndToEndTest, UnchangedFactsTravelAsDigestsOnly) {
  ASSERT_TRUE(EnrollAgent(state_dir_, CreateToken()).ok());
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);
  ASSERT_TRUE(Cycle(*state).ok());
  ASSERT_TRUE(state
                  ->MakeSnapshot(agent::Collect(agent::BuildProbes(), root_),
                                 absl::Now())
                  .ok());
  absl::StatusOr<std::vector<v1::SubmitRequest>> spooled = state->Spooled();
  ASSERT_TRUE(spooled.ok());
  ASSERT_EQ(spooled->size(), 1u);
  EXPECT_GT((*spooled)[0].facts_size(), 0);
  EXPECT_EQ(state->WithoutKnownFacts((*spooled)[0]).facts_size(), 0);
  absl::StatusOr<agent::DeliveryReport> report =
      agent::DeliverSpool(*state, *Stub(state_dir_));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->accepted, 1);
}

TEST_F(EndToEndTest, ChangedFactsAreSentAndStored) {
  absl::StatusOr<std::string> agent_id = EnrollAgent(state_dir_, CreateToken());
  ASSERT_TRUE(agent_id.ok());
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);
  ASSERT_TRUE(Cycle(*state).ok());
  WriteFixtureRoot(root_, "mallory");
  absl::StatusOr<agent::DeliveryReport> report = Cycle(*state);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(Cli({"evidence", "--agent", *agent_id, "--check",
                   "linux.local_accounts", "--json"}),
              HasSubstr("mallory"));
}

TEST_F(EndToEndTest, AgentKeepsSnapshotWhileCollectorIsDownAndDeliversLater) {
  ASSERT_TRUE(EnrollAgent(state_dir_, CreateToken()).ok());
  const std::string address = Address();
  StopCollector();
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);
  absl::StatusOr<agent::DeliveryReport> down = Cycle(*state);
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable);
  ASSERT_EQ(state->Spooled()->size(), 1u);

  StartCollector(address);
  absl::StatusOr<agent::DeliveryReport> up =
      agent::DeliverSpool(*state, *Stub(state_dir_));
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->accepted, 1);
  EXPECT_EQ(state->Spooled()->size(), 0u);
  EXPECT_THAT(Cli({"agents", "--json"}), HasSubstr("\"lastSeq\":\"1\""));
}

TEST_F(EndToEndTest, ReplayIsAcknowledgedAndStoredOnce) {
  ASSERT_TRUE(EnrollAgent(state_dir_, CreateToken()).ok());
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);
  ASSERT_TRUE(state
                  ->MakeSnapshot(agent::Collect(agent::BuildProbes(), root_),
                                 absl::Now())
                  .ok());
  const v1::SubmitRequest request = (*state->Spooled())[0];
  EXPECT_EQ(SubmitRaw(request).result(), v1::SubmitResponse::ACCEPTED);
  EXPECT_EQ(SubmitRaw(request).result(), v1::SubmitResponse::DUPLICATE);
  EXPECT_THAT(Cli({"agents", "--json"}), HasSubstr("\"lastSeq\":\"1\""));
  EXPECT_THAT(Cli({"events", "--json"}), Not(HasSubstr("equivocation")));
}

TEST_F(EndToEndTest, ForgedSignatureIsRefusedAndRecorded) {
  ASSERT_TRUE(EnrollAgent(state_dir_, CreateToken()).ok());
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);
  ASSERT_TRUE(state
                  ->MakeSnapshot(agent::Collect(agent::BuildProbes(), root_),
                                 absl::Now())
                  .ok());
  v1::SubmitRequest forged = (*state->Spooled())[0];
  std::string* signature = forged.mutable_envelope()->mutable_signature();
  (*signature)[10] ^= 0x01;
  v1::SubmitResponse response = SubmitRaw(forged);
  EXPECT_EQ(response.result(), v1::SubmitResponse::REJECTED);
  EXPECT_EQ(response.code(),
            static_cast<int>(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Cli({"events"}), HasSubstr("bad_signature"));
  EXPECT_THAT(Cli({"agents", "--json"}), HasSubstr("\"lastSeq\":\"0\""));
}

TEST_F(EndToEndTest, EquivocationIsRefusedAndRecorded) {
  ASSERT_TRUE(EnrollAgent(state_dir_, CreateToken()).ok());
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);
  ASSERT_TRUE(Cycle(*state).ok());

  // A second, different payload for seq 1, properly signed by the agent.
  const v1::SubmitRequest first = [&] {
    // The accepted one is gone from the spool; rebuild from the collector's
    // view: sign a new snapshot claiming seq 1.
    v1::Snapshot snapshot;
    snapshot.set_agent_id(state->identity().agent_id());
    LinkAfter(ChainHead{}, snapshot);
    snapshot.mutable_host()->set_hostname("someone-else");
    absl::StatusOr<PrivateKey> key =
        PrivateKey::LoadPemFile(state_dir_ / "agent.key");
    EXPECT_TRUE(key.ok());
    v1::SubmitRequest request;
    *request.mutable_envelope() =
        *SignPayload(*key, snapshot.SerializeAsString());
    return request;
  }();
  v1::SubmitResponse response = SubmitRaw(first);
  EXPECT_EQ(response.result(), v1::SubmitResponse::REJECTED);
  EXPECT_EQ(response.code(),
            static_cast<int>(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(Cli({"events", "--json"}), HasSubstr("equivocation"));
}

TEST_F(EndToEndTest, BadTokensAreRefused) {
  absl::StatusOr<std::string> unknown = EnrollAgent(state_dir_, "evt1_nope");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(unknown.status().message(), HasSubstr("not known"));

  const std::string token = CreateToken();
  ASSERT_TRUE(EnrollAgent(tmp_ / "first", token).ok());
  absl::StatusOr<std::string> reused = EnrollAgent(tmp_ / "second", token);
  EXPECT_EQ(reused.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(reused.status().message(), HasSubstr("used up"));
  EXPECT_FALSE(fs::exists(tmp_ / "second" / "agent.conf"));
}

TEST_F(EndToEndTest, SameHostnameEnrolsAsTwoAgents) {
  const std::string token = CreateToken("2");
  absl::StatusOr<std::string> a = EnrollAgent(tmp_ / "a", token);
  absl::StatusOr<std::string> b = EnrollAgent(tmp_ / "b", token);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

TEST_F(EndToEndTest, OversizedPayloadIsRefusedAsInvalidArgument) {
  ASSERT_TRUE(EnrollAgent(state_dir_, CreateToken()).ok());
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);
  v1::Snapshot snapshot;
  snapshot.set_agent_id(state->identity().agent_id());
  LinkAfter(ChainHead{}, snapshot);
  snapshot.set_agent_version(std::string(kMaxPayloadBytes, 'x'));
  absl::StatusOr<PrivateKey> key =
      PrivateKey::LoadPemFile(state_dir_ / "agent.key");
  ASSERT_TRUE(key.ok());
  v1::SubmitRequest request;
  *request.mutable_envelope() =
      *SignPayload(*key, snapshot.SerializeAsString());
  v1::SubmitResponse response = SubmitRaw(request);
  EXPECT_EQ(response.result(), v1::SubmitResponse::REJECTED);
  EXPECT_EQ(response.code(),
            static_cast<int>(absl::StatusCode::kInvalidArgument));
}

TEST_F(EndToEndTest, MessageOverTheTransportLimitFailsTheStreamOnly) {
  v1::SubmitRequest huge;
  huge.add_facts(std::string(collector::kMaxMessageBytes + 1, 'x'));
  ASSERT_TRUE(EnrollAgent(state_dir_, CreateToken()).ok());
  auto stub = Stub(state_dir_);
  grpc::ClientContext context;
  auto stream = stub->Submit(&context);
  stream->Write(huge);
  v1::SubmitResponse response;
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_EQ(stream->Finish().error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  // The collector is still serving.
  int code = -1;
  Cli({"agents"}, &code);
  EXPECT_EQ(code, collector::kCliOk);
}

TEST_F(EndToEndTest, CollectorRefusesDataDirReadableByOthers) {
  StopCollector();
  fs::permissions(data_dir_ / "operator-client.key",
                  fs::perms::group_read | fs::perms::others_read,
                  fs::perm_options::add);
  collector::ServerOptions options;
  options.data_dir = data_dir_;
  options.listen = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<collector::Server>> server =
      collector::Server::Start(options);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(server.status().message(), HasSubstr("operator-client.key"));
}

}  // namespace
}  // namespace evidentia
