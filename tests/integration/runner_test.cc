// The agent's daemon loop (agent/runner.h) under a fake clock, against a
// real collector (TLS on loopback): a snapshot every interval, delivered;
// with the collector down, snapshots still every interval and retries in
// between with a growing backoff that never passes the next snapshot.
#include "agent/runner.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "agent/agent_state.h"
#include "agent/collect.h"
#include "agent/probe.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/live_collector.h"

namespace evidentia {
namespace {

namespace fs = std::filesystem;

class RunnerTest : public testing::LiveCollectorTest {
 protected:
  void SetUp() override {
    LiveCollectorTest::SetUp();
    state_dir_ = tmp_ / "agent";
    root_ = tmp_ / "root";  // empty: small snapshots of probe errors
    fs::create_directories(root_);
    absl::StatusOr<std::string> id =
        EnrollAgent(state_dir_, CreateToken(), root_);
    ASSERT_TRUE(id.ok()) << id.status();
    absl::StatusOr<std::unique_ptr<agent::AgentState>> state =
        agent::AgentState::Open(state_dir_);
    ASSERT_TRUE(state.ok()) << state.status();
    state_ = *std::move(state);
    stub_ = Stub(state_dir_);
  }

  // Options on the fake clock: sleeping moves it and is recorded (but for
  // the zero waits of the uploader's pacing, shared with the loop).
  agent::RunnerOptions FakeClock(absl::Duration interval) {
    agent::RunnerOptions options;
    options.interval = interval;
    options.collect = [this] {
      return agent::Collect(agent::BuildProbes(), root_.string());
    };
    options.now = [this] { return now_; };
    options.sleep = [this](absl::Duration d) {
      if (d <= absl::ZeroDuration()) return;
      sleeps_.push_back(d);
      now_ += d;
    };
    options.jitter = [] { return 0.5; };
    return options;
  }

  fs::path state_dir_, root_;
  std::unique_ptr<agent::AgentState> state_;
  std::unique_ptr<v1::Collector::Stub> stub_;
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  std::vector<absl::Duration> sleeps_;
};

TEST_F(RunnerTest, SnapshotEveryIntervalIsDelivered) {
  agent::RunnerOptions options = FakeClock(absl::Minutes(15));
  options.stopped = [this] { return state_->head().seq >= 4; };

  agent::RunAgent(*state_, *stub_, std::move(options));

  EXPECT_EQ(state_->head().seq, 4u);
  EXPECT_TRUE(state_->SpooledSeqs().empty());  // all acknowledged
  EXPECT_THAT(sleeps_, ::testing::Each(absl::Minutes(15)));
  EXPECT_EQ(sleeps_.size(), 4u);
}

TEST_F(RunnerTest, CollectorDownSnapshotsGoOnAndRetriesBackOff) {
  StopCollector();
  const absl::Time start = now_;
  agent::RunnerOptions options = FakeClock(absl::Minutes(15));
  options.stopped = [&] { return now_ >= start + absl::Minutes(31); };

  agent::RunAgent(*state_, *stub_, std::move(options));

  // Snapshots at 0, 15 and 30 minutes, all kept.
  EXPECT_EQ(state_->head().seq, 3u);
  EXPECT_EQ(state_->SpooledSeqs().size(), 3u);
  // Retries in between: half of 1 s, 2 s, 4 s ... (jitter 0.5), at most
  // half the 5 minute cap, each cut short by the next snapshot; the sleeps
  // of one interval add up to it exactly.
  ASSERT_GE(sleeps_.size(), 4u);
  EXPECT_EQ(sleeps_[0], absl::Milliseconds(500));
  EXPECT_EQ(sleeps_[1], absl::Seconds(1));
  EXPECT_EQ(sleeps_[2], absl::Seconds(2));
  absl::Duration slept;
  size_t i = 0;
  for (; i < sleeps_.size() && slept < absl::Minutes(15); ++i) {
    EXPECT_LE(sleeps_[i], absl::Seconds(150)) << i;
    slept += sleeps_[i];
  }
  EXPECT_EQ(slept, absl::Minutes(15));
}

TEST_F(RunnerTest, StoppedBeforeTheFirstPassMakesNothing) {
  agent::RunnerOptions options = FakeClock(absl::Minutes(15));
  options.stopped = [] { return true; };

  agent::RunAgent(*state_, *stub_, std::move(options));

  EXPECT_EQ(state_->head().seq, 0u);
  EXPECT_TRUE(sleeps_.empty());
}

}  // namespace
}  // namespace evidentia
