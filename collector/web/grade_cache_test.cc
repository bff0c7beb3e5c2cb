// The grades kept between dashboard requests: when they are regraded, on
// the request or on the cache's own thread, over a real grader and policy
// set on an in-memory store, with a fake clock.
#include "collector/web/grade_cache.h"

#include <memory>
#include <optional>
#include <thread>

#include "collector/query/store_evidence.h"
#include "collector/store/keys.h"
#include "collector/store/memory_store.h"
#include "gtest/gtest.h"

namespace evidentia::collector::web {
namespace {

class GradeCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<policy::PolicySet> policy = policy::LoadPolicySet(
        EVIDENTIA_SOURCE_DIR "/policies",
        EVIDENTIA_SOURCE_DIR "/policies/soa.example.yaml");
    ASSERT_TRUE(policy.ok()) << policy.status();
    policy_ = std::make_unique<policy::PolicySet>(*std::move(policy));
    evidence_ = std::make_unique<StoreEvidence>(store_);
    grader_ = std::make_unique<Grader>(*policy_, *evidence_);
    absl::StatusOr<std::unique_ptr<FleetState>> fleet = LoadFleetState(store_);
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    fleet_ = *std::move(fleet);
    absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
    ASSERT_TRUE(key.ok());
    absl::StatusOr<std::unique_ptr<TransparencyLog>> log =
        TransparencyLog::Open(store_, *key, clock_);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
    api_ =
        std::make_unique<OperatorApi>(store_, registry_, *fleet_, grader_.get(),
                                      *log_, *key, key->public_key(), clock_);
  }

  // A snapshot's worth of change: one more host.
  void AddHost(const std::string& agent_id) {
    v1::AgentRecord agent;
    agent.set_agent_id(agent_id);
    *agent.mutable_enrolled_at() = ToProto(Time());
    fleet_->Update(agent, {});
  }

  // Every grading cheap, so regraded on the request whatever the machine's
  // load.
  static GradeCache::Options Cheap() {
    GradeCache::Options options;
    options.on_request = absl::InfiniteDuration();
    return options;
  }

  std::shared_ptr<const GradeCache::Graded> Now(GradeCache& cache) {
    absl::StatusOr<std::shared_ptr<const GradeCache::Graded>> graded =
        cache.Now(caller_);
    EXPECT_TRUE(graded.ok()) << graded.status();
    return graded.ok() ? *graded : nullptr;
  }

  // The fake clock, read by the cache's thread too.
  absl::Time Time() {
    absl::MutexLock lock(&clock_mu_);
    return now_;
  }
  void Advance(absl::Duration by) {
    absl::MutexLock lock(&clock_mu_);
    now_ += by;
  }

  const Caller caller_{Role::kOperator, "web:test", "test"};
  absl::Mutex clock_mu_;
  absl::Time now_ ABSL_GUARDED_BY(clock_mu_) =
      absl::FromUnixSeconds(1'800'000'000);
  Clock clock_ = [this] { return Time(); };
  MemoryStore store_;
  Registry registry_{store_, clock_};
  std::unique_ptr<policy::PolicySet> policy_;
  std::unique_ptr<StoreEvidence> evidence_;
  std::unique_ptr<Grader> grader_;
  std::unique_ptr<FleetState> fleet_;
  std::unique_ptr<TransparencyLog> log_;
  std::unique_ptr<OperatorApi> api_;
};

TEST_F(GradeCacheTest, CheapGradesAreKeptUntilAChangeThenRegradedAtOnce) {
  GradeCache cache(*api_, clock_, Cheap());
  const auto first = Now(cache);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->survey.grades.controls_size(),
            static_cast<int>(policy_->soa.size()));
  EXPECT_EQ(Now(cache), first);
  AddHost("a1");
  const auto second = Now(cache);
  EXPECT_NE(second, first);
  EXPECT_EQ(second->generation, api_->Generation());
  EXPECT_EQ(Now(cache), second);
}

TEST_F(GradeCacheTest, TimeAloneMakesThemOutOfDate) {
  GradeCache cache(*api_, clock_, Cheap());
  const auto first = Now(cache);
  Advance(absl::Seconds(9));
  EXPECT_EQ(Now(cache), first);
  Advance(absl::Seconds(1));
  const auto second = Now(cache);
  EXPECT_NE(second, first);
  EXPECT_EQ(second->at, Time());
  // A clock set back is no reason to trust them either.
  Advance(-absl::Seconds(1));
  EXPECT_NE(Now(cache), second);
}

TEST_F(GradeCacheTest, DearGradesAreShownWhileTheThreadRegradesThem) {
  GradeCache::Options options;
  options.on_request = absl::ZeroDuration();  // every grading is dear
  options.cost_factor = 0;
  GradeCache cache(*api_, clock_, options);
  const auto first = Now(cache);
  AddHost("a1");
  // The last grades at once; the new ones come from the thread.
  EXPECT_EQ(Now(cache), first);
  std::shared_ptr<const GradeCache::Graded> next = first;
  for (int i = 0; i < 30000 && next == first; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    next = Now(cache);
  }
  ASSERT_NE(next, first);
  EXPECT_EQ(next->generation, api_->Generation());
  // Beyond a minute they are not shown any more: graded on the request.
  AddHost("a2");
  Advance(absl::Minutes(1));
  const auto late = Now(cache);
  EXPECT_NE(late, next);
  EXPECT_EQ(late->at, Time());
}

TEST_F(GradeCacheTest, InvalidateMakesTheNextRequestRegrade) {
  GradeCache::Options options;
  options.on_request = absl::ZeroDuration();
  options.cost_factor = 1000000;  // a change would not count for long
  GradeCache cache(*api_, clock_, options);
  const auto first = Now(cache);
  AddHost("a1");
  EXPECT_EQ(Now(cache), first);
  cache.Invalidate();
  const auto second = Now(cache);
  EXPECT_NE(second, first);
  EXPECT_EQ(second->generation, api_->Generation());
}

TEST_F(GradeCacheTest, AControlsFindingsAreKeptWithTheGrades) {
  GradeCache cache(*api_, clock_, Cheap());
  auto manual_file = [&] {
    absl::StatusOr<v1::ControlGrade> control = cache.Control(caller_, "a.5.1");
    EXPECT_TRUE(control.ok()) << control.status();
    return control.ok() ? control->manual().file_name() : "(error)";
  };
  EXPECT_EQ(manual_file(), "");
  // Manual evidence written behind the API's back, which no generation
  // counts: the kept control is answered until the cache is invalidated.
  v1::ManualEvidenceStatement statement;
  statement.set_control_id("a.5.1");
  statement.set_file_name("policy.pdf");
  *statement.mutable_valid_until() = ToProto(Time() + absl::Hours(24 * 365));
  v1::StoredManualEvidence stored;
  stored.set_statement(statement.SerializeAsString());
  *stored.mutable_received_at() = ToProto(Time() - absl::Hours(1));
  Batch batch;
  batch.Put(Table::kManual,
            keys::Manual("a.5.1", absl::ToUnixMicros(Time() - absl::Hours(1))),
            stored.SerializeAsString());
  ASSERT_TRUE(store_.Commit(batch).ok());
  EXPECT_EQ(manual_file(), "");
  cache.Invalidate();
  EXPECT_EQ(manual_file(), "policy.pdf");

  // A change the generation counts regrades the control.
  AddHost("a1");
  absl::StatusOr<v1::ControlGrade> disk = cache.Control(caller_, "a.8.24");
  ASSERT_TRUE(disk.ok()) << disk.status();
  ASSERT_GT(disk->findings_size(), 0);  // a1 reported nothing: missing
  EXPECT_EQ(disk->findings(0).agent_id(), "a1");
  EXPECT_TRUE(absl::IsNotFound(cache.Control(caller_, "a.99.99").status()));
}

}  // namespace
}  // namespace evidentia::collector::web
