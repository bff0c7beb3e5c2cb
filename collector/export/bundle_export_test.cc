#include "collector/export/bundle_export.h"

#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "collector/log/transparency_log.h"
#include "collector/query/store_evidence.h"
#include "collector/store/rocksdb_store.h"
#include "collector/store/store.h"
#include "common/ed25519.h"
#include "common/proto_time.h"
#include "evidentia/v1/operator.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "gmock/gmock.h"
#include "grading/grading.h"
#include "grading/policy.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace evidentia::collector {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kSource = EVIDENTIA_SOURCE_DIR;
const absl::Time kNow = absl::FromUnixSeconds(1795000000);

// The exporter over a store holding one agent record with `agent_id`, as
// a damaged or hostile store could.
class ExportBundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = *OpenRocksDbStore(tmp_.path() / "db");
    policy_ = std::make_unique<policy::PolicySet>(*policy::LoadPolicySet(
        kSource / "policies", kSource / "policies/soa.example.yaml"));
    evidence_ = std::make_unique<StoreEvidence>(*store_);
    grader_ = std::make_unique<Grader>(*policy_, *evidence_);
    log_ = *TransparencyLog::Open(*store_, collector_key_, [] { return kNow; });
  }

  void PutAgent(const std::string& agent_id) {
    v1::AgentRecord agent;
    agent.set_agent_id(agent_id);
    agent.set_public_key_pem(collector_key_.public_key().ToPem());
    *agent.mutable_enrolled_at() = ToProto(kNow - absl::Hours(2));
    Batch batch;
    batch.Put(Table::kAgents, agent_id, agent.SerializeAsString());
    ASSERT_TRUE(store_->Commit(batch).ok());
  }

  absl::StatusOr<v1::ExportSummary> Export(const fs::path& out) {
    ExportSources sources;
    sources.store = store_.get();
    sources.log = log_.get();
    sources.grader = grader_.get();
    sources.collector_key = &collector_key_;
    const PublicKey operator_key = operator_key_.public_key();
    sources.operator_key = &operator_key;
    sources.clock = [] { return kNow; };
    absl::StatusOr<std::unique_ptr<DirectorySink>> sink =
        DirectorySink::Create(out);
    if (!sink.ok()) return sink.status();
    return ExportBundle(sources, {kNow - absl::Hours(24), kNow, "", ""},
                        **sink);
  }

  testing::ScopedTempDir tmp_;
  PrivateKey collector_key_ = *PrivateKey::Generate();
  PrivateKey operator_key_ = *PrivateKey::Generate();
  std::unique_ptr<Store> store_;
  std::unique_ptr<policy::PolicySet> policy_;
  std::unique_ptr<StoreEvidence> evidence_;
  std::unique_ptr<Grader> grader_;
  std::unique_ptr<TransparencyLog> log_;
};

TEST_F(ExportBundleTest, AnEnrolledAgentWithoutSnapshotsIsExported) {
  PutAgent("0123456789abcdef0123456789abcdef");
  absl::StatusOr<v1::ExportSummary> summary = Export(tmp_.path() / "out");
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->agents(), 1u);
  EXPECT_EQ(summary->snapshots(), 0u);
  EXPECT_TRUE(fs::exists(tmp_.path() /
                         "out/keys/agents/0123456789abcdef0123456789abcdef"
                         ".pub.pem"));
}

TEST_F(ExportBundleTest, StoredAgentIdThatWouldEscapeIsRefused) {
  PutAgent("../../escaped");
  fs::create_directories(tmp_.path() / "a" / "b");
  absl::StatusOr<v1::ExportSummary> summary =
      Export(tmp_.path() / "a" / "b" / "out");
  ASSERT_FALSE(summary.ok());
  EXPECT_THAT(std::string(summary.status().message()),
              HasSubstr("refusing to export"));
  EXPECT_FALSE(fs::exists(tmp_.path() / "a" / "escaped"));
  EXPECT_FALSE(fs::exists(tmp_.path() / "escaped"));
}

TEST_F(ExportBundleTest, SinkRefusesUnsafePaths) {
  absl::StatusOr<std::unique_ptr<DirectorySink>> sink =
      DirectorySink::Create(tmp_.path() / "sink");
  ASSERT_TRUE(sink.ok());
  EXPECT_FALSE((*sink)->Add("../outside", "x").ok());
  EXPECT_FALSE((*sink)->Add("/etc/evil", "x").ok());
  EXPECT_TRUE((*sink)->Add("keys/inside", "x").ok());
  EXPECT_FALSE((*sink)->Add("keys/inside", "again").ok());  // never replaced
  EXPECT_FALSE(fs::exists(tmp_.path() / "outside"));
}

TEST_F(ExportBundleTest, DirectoryThatExistsIsRefused) {
  fs::create_directories(tmp_.path() / "taken");
  EXPECT_EQ(DirectorySink::Create(tmp_.path() / "taken").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace evidentia::collector
