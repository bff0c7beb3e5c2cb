// The agent's spool against a real collector (TLS on loopback, RocksDB in a
// temp dir): a spooled snapshot is delivered at least once and stored
// exactly once, and a loss (spool quota during an outage) reaches the
// collector as a signed gap snapshot, never silently.
#include <atomic>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "agent/agent_state.h"
#include "agent/collect.h"
#include "agent/probe.h"
#include "agent/uploader.h"
#include "collector/server/server.h"
#include "common/ed25519.h"
#include "common/envelope.h"
#include "common/files.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "evidentia/v1/collector.pb.h"
#include "evidentia/v1/snapshot.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/live_collector.h"

namespace evidentia {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class SpoolDeliveryTest : public testing::LiveCollectorTest {
 protected:
  void SetUp() override {
    LiveCollectorTest::SetUp();
    state_dir_ = tmp_ / "agent";
    root_ = tmp_ / "root";  // empty: every probe reports an error, which is
                            // evidence too and keeps snapshots small
    fs::create_directories(root_);
    absl::StatusOr<std::string> id =
        EnrollAgent(state_dir_, CreateToken(), root_);
    ASSERT_TRUE(id.ok()) << id.status();
    agent_id_ = *id;
  }

  std::unique_ptr<agent::AgentState> OpenAgent() {
    absl::StatusOr<std::unique_ptr<agent::AgentState>> state =
        agent::AgentState::Open(state_dir_);
    EXPECT_TRUE(state.ok()) << state.status();
    return state.ok() ? *std::move(state) : nullptr;
  }

  // Flips one byte in the middle of spooled snapshot `seq`'s file.
  void DamageSpooled(uint64_t seq) {
    const fs::path file =
        state_dir_ / "spool" / absl::StrFormat("%020d.snapshot", seq);
    absl::StatusOr<std::string> bytes = ReadFile(file);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    (*bytes)[bytes->size() / 2] ^= 0x01;
    ASSERT_TRUE(WriteFileAtomic(file, *bytes, 0600).ok());
  }

  void MakeSnapshots(agent::AgentState& state, int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(state
                      .MakeSnapshot(agent::Collect(agent::BuildProbes(), root_),
                                    absl::Now())
                      .ok());
    }
  }

  absl::StatusOr<agent::DeliveryReport> Deliver(agent::AgentState& state) {
    return agent::DeliverSpool(state, *Stub(state_dir_));
  }

  // The spool's files, to put back later: as if the agent crashed after
  // the collector stored a snapshot but before the acknowledgement was
  // recorded.
  std::vector<std::pair<fs::path, std::string>> CopySpool() {
    std::vector<std::pair<fs::path, std::string>> files;
    for (const auto& entry : fs::directory_iterator(state_dir_ / "spool")) {
      if (entry.is_regular_file()) {
        files.emplace_back(entry.path(), *ReadFile(entry.path()));
      }
    }
    return files;
  }
  void RestoreSpool(
      const std::vector<std::pair<fs::path, std::string>>& files) {
    for (const auto& [path, bytes] : files) {
      ASSERT_TRUE(WriteFileAtomic(path, bytes, 0600).ok());
    }
  }

  std::string LastSeq() {
    const std::string agents = Cli({"agents", "--json"});
    const size_t at = agents.find("\"lastSeq\":\"");
    if (at == std::string::npos) return "";
    const size_t start = at + 11;
    return agents.substr(start, agents.find('"', start) - start);
  }

  // A gap snapshot signed with this agent's own key.
  v1::SubmitRequest SignedGap(uint64_t first, uint64_t last,
                              const std::string& prev) {
    v1::Snapshot snapshot;
    snapshot.set_agent_id(agent_id_);
    snapshot.set_seq(last);
    snapshot.set_prev_payload_sha256(prev);
    *snapshot.mutable_collected_at() = ToProto(absl::Now());
    snapshot.mutable_gap()->set_first_seq(first);
    snapshot.mutable_gap()->set_last_seq(last);
    snapshot.mutable_gap()->set_last_payload_sha256(Sha256("whatever"));
    absl::StatusOr<PrivateKey> key =
        PrivateKey::LoadPemFile(state_dir_ / "agent.key");
    EXPECT_TRUE(key.ok()) << key.status();
    v1::SubmitRequest request;
    absl::StatusOr<v1::SignedSnapshot> envelope =
        SignPayload(*key, snapshot.SerializeAsString());
    EXPECT_TRUE(envelope.ok()) << envelope.status();
    *request.mutable_envelope() = *envelope;
    return request;
  }

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
  std::string agent_id_;
};

TEST_F(SpoolDeliveryTest, OutageOverQuotaDeliversGapThenNewest) {
  const std::string address = Address();
  StopCollector();
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);
  state->set_spool_max_bytes(1);  // keeps only the newest, behind a gap
  MakeSnapshots(*state, 5);
  StartCollector(address);

  absl::StatusOr<agent::DeliveryReport> report = Deliver(*state);

  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->accepted, 2);  // gap 1..4, then snapshot 5
  EXPECT_EQ(report->remaining, 0);
  EXPECT_EQ(LastSeq(), "5");
}

TEST_F(SpoolDeliveryTest, GapIsRecordedAsALossEvent) {
  const std::string address = Address();
  StopCollector();
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);
  state->set_spool_max_bytes(1);
  MakeSnapshots(*state, 5);
  StartCollector(address);
  ASSERT_TRUE(Deliver(*state).ok());

  const std::string events = Cli({"events"});

  EXPECT_THAT(events, HasSubstr("snapshots_lost"));
  EXPECT_THAT(events, HasSubstr("lost snapshots 1..4"));
}

TEST_F(SpoolDeliveryTest, ChainContinuesAfterAGap) {
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);
  MakeSnapshots(*state, 1);
  ASSERT_TRUE(Deliver(*state).ok());
  const std::string address = Address();
  StopCollector();
  state->set_spool_max_bytes(1);
  MakeSnapshots(*state, 4);  // 2..4 lost, 5 kept
  StartCollector(address);
  ASSERT_TRUE(Deliver(*state).ok());

  MakeSnapshots(*state, 1);
  absl::StatusOr<agent::DeliveryReport> report = Deliver(*state);

  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->accepted, 1);
  EXPECT_EQ(LastSeq(), "6");
  EXPECT_THAT(Cli({"events"}), HasSubstr("lost snapshots 2..4"));
}

TEST_F(SpoolDeliveryTest, GapOverSnapshotsAlreadyStoredIsDroppedNotLooped) {
  std::vector<std::pair<fs::path, std::string>> unacknowledged;
  {
    auto state = OpenAgent();
    ASSERT_NE(state, nullptr);
    MakeSnapshots(*state, 2);
    unacknowledged = CopySpool();
    ASSERT_TRUE(Deliver(*state).ok());
  }
  RestoreSpool(unacknowledged);  // the acknowledgements were lost
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);
  state->set_spool_max_bytes(1);
  MakeSnapshots(*state, 1);  // 1..2 become gap snapshot 2, then 3

  absl::StatusOr<agent::DeliveryReport> report = Deliver(*state);

  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->rebased, 1);
  EXPECT_EQ(report->accepted, 1);
  EXPECT_EQ(report->remaining, 0);
  EXPECT_EQ(LastSeq(), "3");
  const std::string events = Cli({"events"});
  EXPECT_THAT(events, Not(HasSubstr("snapshots_lost")));
  EXPECT_THAT(events, Not(HasSubstr("equivocation")));
}

TEST_F(SpoolDeliveryTest, GapPartlyOverStoredSnapshotsIsRebasedOnTheHead) {
  std::vector<std::pair<fs::path, std::string>> unacknowledged;
  {
    auto state = OpenAgent();
    ASSERT_NE(state, nullptr);
    MakeSnapshots(*state, 1);
    unacknowledged = CopySpool();
    ASSERT_TRUE(Deliver(*state).ok());
  }
  RestoreSpool(unacknowledged);
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);
  MakeSnapshots(*state, 2);
  state->set_spool_max_bytes(1);
  MakeSnapshots(*state, 1);  // 1..3 become gap snapshot 3, then 4

  absl::StatusOr<agent::DeliveryReport> report = Deliver(*state);

  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->rebased, 1);
  EXPECT_EQ(report->accepted, 2);  // gap 2..3, snapshot 4
  EXPECT_EQ(LastSeq(), "4");
  EXPECT_THAT(Cli({"events"}), HasSubstr("lost snapshots 2..3"));
}

TEST_F(SpoolDeliveryTest, GapHidingStoredSnapshotsIsRefusedWithTheHead) {
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);
  MakeSnapshots(*state, 2);
  ASSERT_TRUE(Deliver(*state).ok());

  v1::SubmitResponse response =
      SubmitRaw(SignedGap(2, 3, state->head().payload_sha256));

  EXPECT_EQ(response.result(), v1::SubmitResponse::REJECTED);
  EXPECT_EQ(response.code(),
            static_cast<int>(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(response.head_seq(), 2u);
  EXPECT_EQ(response.head_payload_sha256(), state->head().payload_sha256);
  EXPECT_EQ(LastSeq(), "2");
  EXPECT_THAT(Cli({"events"}), Not(HasSubstr("snapshots_lost")));
}

TEST_F(SpoolDeliveryTest, GapAtAStoredSeqIsRefusedNotAnEquivocation) {
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);
  MakeSnapshots(*state, 2);
  ASSERT_TRUE(Deliver(*state).ok());

  v1::SubmitResponse response =
      SubmitRaw(SignedGap(1, 2, std::string(kSha256Size, '\0')));

  EXPECT_EQ(response.result(), v1::SubmitResponse::REJECTED);
  EXPECT_EQ(response.code(),
            static_cast<int>(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(response.head_seq(), 2u);
  EXPECT_THAT(Cli({"events"}), Not(HasSubstr("equivocation")));
}

TEST_F(SpoolDeliveryTest, GapThatDoesNotChainIsRefused) {
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);
  MakeSnapshots(*state, 1);
  ASSERT_TRUE(Deliver(*state).ok());

  v1::SubmitResponse response = SubmitRaw(SignedGap(2, 5, Sha256("not 1")));

  EXPECT_EQ(response.result(), v1::SubmitResponse::REJECTED);
  EXPECT_EQ(LastSeq(), "1");
}

TEST_F(SpoolDeliveryTest, DamagedSpooledSnapshotReachesCollectorAsGap) {
  {
    auto state = OpenAgent();
    ASSERT_NE(state, nullptr);
    MakeSnapshots(*state, 3);
  }
  ASSERT_NO_FATAL_FAILURE(DamageSpooled(2));
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);

  absl::StatusOr<agent::DeliveryReport> report = Deliver(*state);

  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->accepted, 3);  // 1, gap 2..2, 3
  EXPECT_EQ(LastSeq(), "3");
  EXPECT_THAT(Cli({"events"}), HasSubstr("lost snapshots 2..2"));
}

TEST_F(SpoolDeliveryTest,
       DamagedSnapshotAfterADeliveredOneIsRebasedAndReported) {
  {
    auto state = OpenAgent();
    ASSERT_NE(state, nullptr);
    MakeSnapshots(*state, 1);
    ASSERT_TRUE(Deliver(*state).ok());  // 1 leaves the spool
    MakeSnapshots(*state, 2);
  }
  // Snapshot 2 is damaged, and the digest it followed (snapshot 1's) is no
  // longer in the spool: the gap names the collector's head once refused.
  ASSERT_NO_FATAL_FAILURE(DamageSpooled(2));
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);

  absl::StatusOr<agent::DeliveryReport> report = Deliver(*state);

  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->rebased, 1);
  EXPECT_EQ(report->accepted, 2);  // gap 2..2, snapshot 3
  EXPECT_EQ(LastSeq(), "3");
  EXPECT_THAT(Cli({"events"}), HasSubstr("lost snapshots 2..2"));
}

// The agent signs a rebased gap at its delivery clock's time, as it dates
// everything else it does while delivering: a clock a day ahead shows in
// the gap's claimed time, which the collector records as clock skew.
TEST_F(SpoolDeliveryTest, RebasedGapIsDatedByTheDeliveryClock) {
  {
    auto state = OpenAgent();
    ASSERT_NE(state, nullptr);
    MakeSnapshots(*state, 1);
    ASSERT_TRUE(Deliver(*state).ok());
    MakeSnapshots(*state, 2);
  }
  ASSERT_NO_FATAL_FAILURE(DamageSpooled(2));
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);
  agent::DeliveryOptions options;
  const absl::Time ahead = absl::Now() + absl::Hours(24);
  options.now = [ahead] { return ahead; };

  absl::StatusOr<agent::DeliveryReport> report =
      agent::DeliverSpool(*state, *Stub(state_dir_), options);

  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->rebased, 1);
  const std::string events = Cli({"events"});
  EXPECT_THAT(events, HasSubstr("clock_skew"));
  EXPECT_THAT(events, HasSubstr("lost snapshots 2..2"));
}

TEST_F(SpoolDeliveryTest, UnreadableHostFactsReachTheCollectorAsAFailure) {
  fs::create_directories(root_ / "proc/sys/kernel/hostname");  // EISDIR
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);
  MakeSnapshots(*state, 1);

  ASSERT_TRUE(Deliver(*state).ok());

  const std::string evidence = Cli({"evidence", "--agent", agent_id_});
  EXPECT_THAT(evidence, HasSubstr(agent::kHostFactsCheckId));
  EXPECT_THAT(evidence, HasSubstr("hostname"));
}

// --- Pacing: backoff, rate and the collector's retry_after ---

// A collector that lets each agent store 5 snapshots a second, one at a
// time. Its buckets refill by a clock that only the agent's sleeps move, so
// no slow RPC on a busy machine refills one.
class ThrottledDeliveryTest : public SpoolDeliveryTest {
 protected:
  void ConfigureServer(collector::ServerOptions& options) override {
    options.agent_submit_rate = 5;
    options.agent_submit_burst = 1;
    options.rate_limit_clock = [this] {
      return absl::FromUnixMicros(now_micros_.load());
    };
  }
  void Sleep(absl::Duration d) { now_micros_ += absl::ToInt64Microseconds(d); }
  std::atomic<int64_t> now_micros_{absl::ToUnixMicros(absl::Now())};
};

TEST_F(ThrottledDeliveryTest,
       AgentHonoursRetryAfterAndEverySnapshotArrivesOnce) {
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);
  MakeSnapshots(*state, 6);
  agent::DeliveryOptions options;
  absl::Duration slept;
  options.sleep = [&](absl::Duration d) {
    slept += d;
    Sleep(d);
  };

  absl::StatusOr<agent::DeliveryReport> report =
      agent::DeliverSpool(*state, *Stub(state_dir_), options);

  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->accepted, 6);
  EXPECT_EQ(report->duplicates, 0);
  EXPECT_EQ(report->remaining, 0);
  EXPECT_EQ(report->throttled, 5);     // each after the first waits its token
  EXPECT_GE(slept, absl::Seconds(1));  // 5 more tokens at 5/s
  EXPECT_LE(slept, absl::Milliseconds(1010));
  EXPECT_EQ(LastSeq(), "6");
}

TEST_F(ThrottledDeliveryTest, WaitBeyondTheBudgetIsResourceExhaustedAndKept) {
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);
  MakeSnapshots(*state, 2);
  agent::DeliveryOptions options;
  options.max_retry_wait = absl::ZeroDuration();

  absl::StatusOr<agent::DeliveryReport> report =
      agent::DeliverSpool(*state, *Stub(state_dir_), options);

  EXPECT_EQ(report.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_GT(agent::RetryAfter(report.status()), absl::ZeroDuration());
  EXPECT_LE(agent::RetryAfter(report.status()), absl::Milliseconds(201));
  EXPECT_EQ(state->Spooled()->size(), 1u);  // the second waits its turn
  EXPECT_EQ(LastSeq(), "1");
}

TEST_F(SpoolDeliveryTest, BacklogIsSentAtTheMaxRate) {
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);
  MakeSnapshots(*state, 5);
  agent::DeliveryOptions options;
  options.max_per_second = 4;
  std::vector<absl::Duration> waits;
  options.sleep = [&](absl::Duration d) { waits.push_back(d); };
  options.now = [] { return absl::FromUnixSeconds(1000); };  // frozen

  absl::StatusOr<agent::DeliveryReport> report =
      agent::DeliverSpool(*state, *Stub(state_dir_), options);

  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->accepted, 5);
  ASSERT_EQ(waits.size(), 5u);
  EXPECT_EQ(waits[0], absl::ZeroDuration());
  EXPECT_EQ(waits[4], absl::Seconds(1));  // the fifth is due 4 x 250 ms on
}

// --- Heartbeats ---

// A collector grading with the example policy set (stale_after 48h,
// max_silence 26h).
class HeartbeatTest : public SpoolDeliveryTest {
 protected:
  void ConfigureServer(collector::ServerOptions& options) override {
    const fs::path source = EVIDENTIA_SOURCE_DIR;
    options.policies_dir = source / "policies";
    options.soa_file = source / "policies/soa.example.yaml";
  }
};

TEST_F(HeartbeatTest, CollectorNamesThePolicysHeartbeat) {
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);
  MakeSnapshots(*state, 1);
  absl::StatusOr<agent::DeliveryReport> report = Deliver(*state);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->heartbeat, absl::Hours(1));  // min(48h, 26h) / 4, capped
}

TEST_F(SpoolDeliveryTest, CollectorWithoutPoliciesNamesNoHeartbeat) {
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);
  MakeSnapshots(*state, 1);
  absl::StatusOr<agent::DeliveryReport> report = Deliver(*state);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->heartbeat, absl::ZeroDuration());
}

// Whether a host silent past max_silence, or evidence past stale_after,
// grades as stale is the grader's, tested in collector/query/grading_test.cc:
//   GraderTest.HostSilentOneSecondPastMaxSilenceIsStaleAndMinor
//   GraderTest.EvidenceOneSecondPastStaleAfterIsStaleAndMinor
// Here: the heartbeat of an unchanged host costs about a hundred bytes per
// probe.
TEST_F(SpoolDeliveryTest, UnchangedHostHeartbeatSendsDigestsOnly) {
  fs::create_directories(root_ / "etc");
  ASSERT_TRUE(WriteFileAtomic(root_ / "etc/passwd",
                              "root:x:0:0:root:/root:/bin/bash\n"
                              "alice:x:1000:1000::/home/alice:/bin/bash\n")
                  .ok());
  auto state = OpenAgent();
  ASSERT_NE(state, nullptr);
  MakeSnapshots(*state, 1);
  ASSERT_TRUE(Deliver(*state).ok());
  MakeSnapshots(*state, 1);  // nothing changed on the host

  const v1::SubmitRequest heartbeat =
      state->WithoutKnownFacts(state->Spooled()->at(0));

  EXPECT_EQ(heartbeat.facts_size(), 0);
  const size_t bytes = heartbeat.ByteSizeLong();
  RecordProperty("heartbeat_request_bytes", static_cast<int>(bytes));
  std::cout << "heartbeat of an unchanged host: " << bytes
            << " bytes on the wire, payload "
            << heartbeat.envelope().payload().size() << " bytes\n";
  // The envelope (signature, key id, host facts: about 400 bytes) and, per
  // probe, a check id, a probe id and a 32-byte digest (about 85 bytes):
  // no facts bodies, whatever their size.
  EXPECT_LT(bytes, 400u + 96u * agent::BuildProbes().size());
  absl::StatusOr<agent::DeliveryReport> report = Deliver(*state);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->accepted, 1);
}

}  // namespace
}  // namespace evidentia
