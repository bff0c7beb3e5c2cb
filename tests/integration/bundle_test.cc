// Auditor bundles end to end: a real collector (TLS, RocksDB, transparency
// log) and real agents on fixture roots; `evidentia export` writes the
// bundle, and both verifiers (VERIFY.sh as an auditor runs it, with an empty
// environment, and `evidentia verify`) pass it and catch every kind of
// damage to every kind of file in it. Each test exports once and works on
// copies.
#include <stdio.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "agent/agent_state.h"
#include "agent/collect.h"
#include "agent/probe.h"
#include "agent/uploader.h"
#include "bundle/archive.h"
#include "bundle/verify.h"
#include "collector/identity/data_dir.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/envelope.h"
#include "common/files.h"
#include "common/pae.h"
#include "common/sha256.h"
#include "evidentia/v1/bundle.pb.h"
#include "evidentia/v1/cycle.pb.h"
#include "evidentia/v1/isms.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "isms/register.h"
#include "tests/support/bundle_files.h"
#include "tests/support/live_collector.h"

namespace evidentia {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const fs::path kSource = EVIDENTIA_SOURCE_DIR;
using ::evidentia::testing::Read;
using ::evidentia::testing::ResealSums;
using ::evidentia::testing::RunVerifySh;
using ::evidentia::testing::Write;

std::string Msg(const absl::Status& status) {
  return std::string(status.message());
}

// Reads manifest.json of a bundle directory.
v1::BundleManifest Manifest(const fs::path& dir) {
  v1::BundleManifest manifest;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(
                  Read(dir / "manifest.json"), &manifest)
                  .ok());
  return manifest;
}

// Writes `manifest` as manifest.json of a bundle directory.
void SetManifest(const fs::path& dir, const v1::BundleManifest& manifest) {
  std::string json;
  EXPECT_TRUE(
      google::protobuf::util::MessageToJsonString(manifest, &json).ok());
  Write(dir / "manifest.json", json);
}

class BundleTest : public testing::LiveCollectorTest {
 protected:
  void ConfigureServer(collector::ServerOptions& options) override {
    options.policies_dir = kSource / "policies";
    options.soa_file = kSource / "policies/soa.example.yaml";
    options.clock = [this] { return now_; };
  }

  // A host: a fixture disk layout, its name, a minimal account database.
  void Enroll(const std::string& host, const std::string& disk_fixture,
              std::map<std::string, std::string> labels) {
    const fs::path root = tmp_ / "roots" / host;
    fs::create_directories(root);
    fs::copy(kSource / "tests/fixtures/disk_encryption" / disk_fixture, root,
             fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    fs::create_directories(root / "proc/sys/kernel");
    ASSERT_TRUE(
        WriteFileAtomic(root / "proc/sys/kernel/hostname", host + "\n").ok());
    fs::create_directories(root / "etc");
    ASSERT_TRUE(
        WriteFileAtomic(root / "etc/passwd", "root:x:0:0::/root:/bin/bash\n")
            .ok());
    absl::StatusOr<std::string> id = EnrollAgent(
        tmp_ / "agents" / host, CreateToken(), root, std::move(labels));
    ASSERT_TRUE(id.ok()) << id.status();
    agent_ids_.push_back(*id);
  }

  // One collection cycle of `host` at the test's clock.
  void Report(const std::string& host) {
    ReportCycle(tmp_ / "agents" / host, tmp_ / "roots" / host, now_);
  }

  void AddManualEvidence(const std::string& control) {
    const fs::path file = tmp_ / absl::StrCat(control, ".pdf");
    ASSERT_TRUE(WriteFileAtomic(file, "%PDF-1.4 policy document\n").ok());
    int code = -1;
    Cli({"evidence", "add", "--control", control, "--file", file.string(),
         "--valid-until",
         absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", now_ + absl::Hours(24 * 365),
                          absl::UTCTimeZone())},
        &code);
    ASSERT_EQ(code, collector::kCliOk) << last_err_;
  }

  // `evidentia document add` of a version of `document` of `clause`.
  void AddDocument(const std::string& clause, const std::string& document,
                   const std::string& version) {
    const fs::path file = tmp_ / absl::StrCat(document, "-v", version, ".pdf");
    ASSERT_TRUE(
        WriteFileAtomic(file, absl::StrCat("%PDF-1.4 ", document, " ", version))
            .ok());
    int code = -1;
    Cli({"document", "add", "--clause", clause, "--document", document,
         "--file", file.string(), "--version", version, "--approved-by",
         "Jane Doe", "--approved-on", "2026-11-01", "--review-by",
         "2027-11-01"},
        &code);
    ASSERT_EQ(code, collector::kCliOk) << last_err_;
  }

  // Three hosts reporting every hour for four hours, manual evidence for
  // two controls, three ISMS records (and with `cycle`, a Stage 1 audit and
  // a minor finding on a.8.24: records 4 and 5), then `evidentia export
  // --tar` of the day.
  void ExportClean(bool cycle = false) {
    Enroll("alpha", "lvm_on_luks", {{"site", "paris"}});
    Enroll("beta", "luks_on_partition", {{"site", "paris"}});
    Enroll("gamma", "plain_disk", {{"site", "lyon"}});
    AddManualEvidence("a.8.24");
    AddManualEvidence("a.5.1");
    AddDocument("4.3", "scope", "1");
    AddDocument("5.2", "policy", "1");
    AddDocument("5.2", "policy", "2");
    if (cycle) {
      int code = -1;
      Cli({"audit", "open", "--kind", "stage1", "--body", "Cert Body Ltd",
           "--lead-auditor", "A. Auditor", "--from", "2026-11-17", "--to",
           "2026-11-17"},
          &code);
      ASSERT_EQ(code, collector::kCliOk) << last_err_;
      Cli({"finding", "add", "--audit", "stage1-2026-11-17", "--control",
           "a.8.24", "--grade", "minor", "--statement",
           "gamma's disk is not encrypted", "--by", "A. Auditor"},
          &code);
      ASSERT_EQ(code, collector::kCliOk) << last_err_;
    }
    for (int hour = 0; hour < 4; ++hour) {
      for (const char* host : {"alpha", "beta", "gamma"}) Report(host);
      now_ += absl::Hours(1);
    }
    clean_ = tmp_ / "clean";
    int code = -1;
    Cli({"export", "--from", "2026-11-17", "--to", "2026-11-18", "--out",
         clean_.string(), "--tar"},
        &code);
    ASSERT_EQ(code, collector::kCliOk) << last_err_;
    ASSERT_TRUE(fs::exists(clean_ / "SHA256SUMS"));
    collector_key_id_ = PrivateKey::LoadPemFile(
                            collector::DataDirPaths(data_dir_).signing_key())
                            ->public_key()
                            .KeyId();
  }

  // A fresh copy of the clean bundle to damage.
  fs::path Copy(const std::string& name) {
    const fs::path dir = tmp_ / "cases" / name;
    fs::create_directories(dir.parent_path());
    fs::copy(clean_, dir, fs::copy_options::recursive);
    return dir;
  }

  // One file of each kind the bundle holds, bundle-relative.
  std::vector<std::string> OneOfEachKind() const {
    std::vector<std::string> kinds = {"SHA256SUMS",
                                      "SHA256SUMS.sig",
                                      "manifest.json",
                                      "keys/collector.pub.pem",
                                      "keys/operator.pub.pem",
                                      "keys/FINGERPRINTS.txt",
                                      "log/checkpoint",
                                      "log/checkpoint.sig",
                                      "report/summary.csv",
                                      "report/index.html",
                                      "oscal/assessment-results.json",
                                      "README.txt",
                                      "VERIFY.sh"};
    auto first_under = [&](const std::string& dir, const std::string& suffix) {
      std::vector<std::string> found;
      for (const auto& e : fs::recursive_directory_iterator(clean_ / dir)) {
        const std::string rel =
            e.path().lexically_relative(clean_).generic_string();
        if (e.is_regular_file() && absl::EndsWith(rel, suffix)) {
          found.push_back(rel);
        }
      }
      std::sort(found.begin(), found.end());
      EXPECT_FALSE(found.empty()) << dir << " *" << suffix;
      return found.empty() ? dir : found[found.size() / 2];
    };
    kinds.push_back(first_under("keys/agents", ".pub.pem"));
    kinds.push_back(first_under("soa", ".yaml"));
    kinds.push_back(first_under("policies", ".yaml"));
    kinds.push_back(first_under("snapshots", ".payload"));
    kinds.push_back(first_under("snapshots", ".sig"));
    kinds.push_back(first_under("objects", ""));
    kinds.push_back(first_under("manual", ".statement"));
    kinds.push_back(first_under("manual", ".sig"));
    kinds.push_back(first_under("log/proofs", ".proof"));
    kinds.push_back(first_under("isms", ".statement"));
    kinds.push_back(first_under("isms", ".sig"));
    kinds.push_back(first_under("isms", ".proof"));
    return kinds;
  }

  // Both verifiers fail on `dir` naming `file` (VERIFY.sh only when it can
  // run at all).
  void ExpectBothFailNaming(const fs::path& dir,
                            const std::vector<std::string>& files,
                            bool run_script = true) {
    auto names_one = [&](const std::string& text) {
      for (const std::string& file : files) {
        if (text.find(file) != std::string::npos) return true;
      }
      return false;
    };
    if (run_script) {
      auto [code, output] = RunVerifySh(dir);
      EXPECT_EQ(code, 1) << output;
      EXPECT_THAT(output, HasSubstr("FAILED: "));
      EXPECT_TRUE(names_one(output)) << output;
    }
    absl::StatusOr<collector::BundleVerification> verified =
        collector::VerifyBundle(dir, 2);
    ASSERT_FALSE(verified.ok());
    EXPECT_TRUE(names_one(Msg(verified.status()))) << verified.status();
  }

  // Re-signs SHA256SUMS of `dir` with the collector's own key: what an
  // insider holding its data dir (and no agent key) can do.
  void ResealAsInsider(const fs::path& dir) {
    ResealSums(dir, *PrivateKey::LoadPemFile(
                        collector::DataDirPaths(data_dir_).signing_key()));
  }

  // Deletes snapshot `seq` of `agent` (payload, signature, proof) in `dir`.
  static void RemoveSnapshotFiles(const fs::path& dir, const std::string& agent,
                                  uint64_t seq) {
    for (const char* ext : {"payload", "sig"}) {
      fs::remove(dir / "snapshots" / agent / absl::StrCat(seq, ".", ext));
    }
    fs::remove(dir / "log/proofs" / agent / absl::StrCat(seq, ".proof"));
  }

  std::string FirstAgentSnapshot(int seq, const std::string& ext) const {
    return absl::StrCat("snapshots/", agent_ids_[0], "/", seq, ".", ext);
  }

  absl::Time now_ = absl::FromUnixSeconds(1795000000);  // 2026-11-18
  std::vector<std::string> agent_ids_;
  fs::path clean_;
  std::string collector_key_id_;
};

TEST_F(BundleTest, CleanBundlePassesBothVerifiers) {
  ASSERT_NO_FATAL_FAILURE(ExportClean());
  auto [code, output] = RunVerifySh(clean_);
  EXPECT_EQ(code, 0) << output;
  EXPECT_THAT(output, HasSubstr("12 snapshot signatures from 3 agents"));
  EXPECT_THAT(output, HasSubstr("2 manual evidence statements"));
  EXPECT_THAT(output, HasSubstr("3 ISMS records verified"));
  EXPECT_THAT(output, HasSubstr(collector_key_id_));

  absl::StatusOr<collector::BundleVerification> verified =
      collector::VerifyBundle(clean_, 2);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->agents, 3u);
  EXPECT_EQ(verified->snapshots, 12u);
  EXPECT_EQ(verified->chains, 3u);
  EXPECT_EQ(verified->manual, 2u);
  EXPECT_EQ(verified->isms_records, 3u);
  EXPECT_EQ(verified->controls, 93u);
  EXPECT_GE(verified->log_size, 12u);
  EXPECT_EQ(verified->collector_key_id, collector_key_id_);

  // The README names the period and the fingerprint, every blank filled.
  const std::string readme = Read(clean_ / "README.txt");
  EXPECT_THAT(readme, HasSubstr(collector_key_id_));
  EXPECT_THAT(readme, Not(HasSubstr("{{")));
}

TEST_F(BundleTest, TarGzPassesEvidentiaVerifyAndUnpacksForVerifySh) {
  ASSERT_NO_FATAL_FAILURE(ExportClean());
  const fs::path tar = clean_.string() + ".tar.gz";
  ASSERT_TRUE(fs::exists(tar));
  std::ostringstream out, err;
  EXPECT_EQ(collector::RunVerify(tar.string(), 2, false, out, err), 0)
      << err.str();
  EXPECT_THAT(out.str(), HasSubstr("12 snapshot signatures from 3 agents"));
  EXPECT_THAT(out.str(), HasSubstr(collector_key_id_));

  // An auditor unpacking it with tar gets the same verifiable directory.
  absl::StatusOr<fs::path> root = collector::UnpackTarGz(tar, tmp_ / "x");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(RunVerifySh(*root).first, 0);
}

TEST_F(BundleTest, OneChangedByteInAnyFileIsCaught) {
  ASSERT_NO_FATAL_FAILURE(ExportClean());
  for (const std::string& file : OneOfEachKind()) {
    SCOPED_TRACE(file);
    const fs::path dir = Copy(absl::StrCat("changed-", Sha256Hex(file)));
    std::string bytes = Read(dir / file);
    ASSERT_FALSE(bytes.empty());
    // In VERIFY.sh, a letter of its header comment, so it still runs.
    const size_t at =
        file == "VERIFY.sh" ? bytes.find("checks") : bytes.size() / 2;
    bytes[at] ^= 0x01;
    Write(dir / file, bytes);
    ExpectBothFailNaming(dir, {file});
  }
}

TEST_F(BundleTest, AnyFileDeletedIsCaught) {
  ASSERT_NO_FATAL_FAILURE(ExportClean());
  for (const std::string& file : OneOfEachKind()) {
    SCOPED_TRACE(file);
    const fs::path dir = Copy(absl::StrCat("deleted-", Sha256Hex(file)));
    ASSERT_TRUE(fs::remove(dir / file));
    ExpectBothFailNaming(dir, {file}, /*run_script=*/file != "VERIFY.sh");
  }
}

TEST_F(BundleTest, SwappedSnapshotsAreCaught) {
  ASSERT_NO_FATAL_FAILURE(ExportClean());
  const std::string other_agent =
      absl::StrCat("snapshots/", agent_ids_[1], "/2.payload");
  const std::vector<std::pair<std::string, std::string>> swaps = {
      {FirstAgentSnapshot(2, "payload"), FirstAgentSnapshot(3, "payload")},
      {FirstAgentSnapshot(2, "sig"), FirstAgentSnapshot(3, "sig")},
      {FirstAgentSnapshot(2, "payload"), other_agent},
  };
  for (const auto& [a, b] : swaps) {
    SCOPED_TRACE(a + " <-> " + b);
    const fs::path dir = Copy(absl::StrCat("swap-", Sha256Hex(a + b)));
    fs::rename(dir / a, dir / "swap.tmp");
    fs::rename(dir / b, dir / a);
    fs::rename(dir / "swap.tmp", dir / b);
    ExpectBothFailNaming(dir, {a, b});
  }
}

TEST_F(BundleTest, IsmsRecordRemovedByAnInsiderIsCaught) {
  ASSERT_NO_FATAL_FAILURE(ExportClean());
  // Record 2 (policy version 1) taken out, files and manifest entry, and
  // SHA256SUMS re-signed with the collector's key: the numbering shows it.
  const fs::path dir = Copy("isms-removed");
  for (const char* file :
       {"isms/2.document.statement", "isms/2.document.sig", "isms/2.proof"}) {
    ASSERT_TRUE(fs::remove(dir / file)) << file;
  }
  v1::BundleManifest manifest = Manifest(dir);
  ASSERT_EQ(manifest.isms_size(), 3);
  manifest.mutable_isms()->erase(manifest.mutable_isms()->begin() + 1);
  SetManifest(dir, manifest);
  ResealAsInsider(dir);
  auto [code, output] = RunVerifySh(dir);
  EXPECT_EQ(code, 1) << output;
  EXPECT_THAT(output, HasSubstr("record 2 is missing"));
  absl::Status status = collector::VerifyBundle(dir, 2).status();
  EXPECT_THAT(Msg(status), HasSubstr("manifest.json"));
  EXPECT_THAT(Msg(status), HasSubstr("ISMS record 2 is missing"));
}

TEST_F(BundleTest, IsmsRecordRewrittenWithTheOperatorKeyIsCaughtByTheLog) {
  ASSERT_NO_FATAL_FAILURE(ExportClean());
  // An insider holding both data-dir keys approves scope version 1 by
  // someone else: a valid operator signature, a matching manifest, a
  // resealed SHA256SUMS. Only the log remembers the statement it accepted.
  const fs::path dir = Copy("isms-rewritten");
  const std::string path = "isms/1.document.statement";
  v1::DocumentStatement statement;
  ASSERT_TRUE(statement.ParseFromString(Read(dir / path)));
  statement.set_approved_by("Someone Else");
  const std::string bytes = statement.SerializeAsString();
  Write(dir / path, bytes);
  absl::StatusOr<PrivateKey> operator_key = PrivateKey::LoadPemFile(
      collector::DataDirPaths(data_dir_).operator_key());
  ASSERT_TRUE(operator_key.ok()) << operator_key.status();
  Write(dir / "isms/1.document.sig",
        *operator_key->Sign(Pae(isms::kDocumentPayloadType, bytes)));
  v1::BundleManifest manifest = Manifest(dir);
  manifest.mutable_isms(0)->set_statement_sha256(Sha256Hex(bytes));
  SetManifest(dir, manifest);
  ResealAsInsider(dir);
  EXPECT_EQ(RunVerifySh(dir).first, 0);  // every signature holds
  absl::Status status = collector::VerifyBundle(dir, 2).status();
  EXPECT_THAT(Msg(status), HasSubstr("isms/1.proof"));
  EXPECT_THAT(Msg(status), HasSubstr("does not lead to the root"));
}

TEST_F(BundleTest, FindingRewrittenWithTheOperatorKeyIsCaughtByTheLog) {
  ASSERT_NO_FATAL_FAILURE(ExportClean(/*cycle=*/true));
  absl::StatusOr<collector::BundleVerification> clean =
      collector::VerifyBundle(clean_, 2);
  ASSERT_TRUE(clean.ok()) << clean.status();
  EXPECT_EQ(clean->isms_records, 5u);
  // The insider downgrades the auditor's minor nonconformity to compliant:
  // operator signature, manifest and SHA256SUMS all made to agree.
  const fs::path dir = Copy("finding-rewritten");
  const std::string path = "isms/5.finding.statement";
  v1::FindingStatement statement;
  ASSERT_TRUE(statement.ParseFromString(Read(dir / path)));
  ASSERT_EQ(statement.grade(), v1::GRADE_MINOR_NONCONFORMITY);
  statement.set_grade(v1::GRADE_COMPLIANT);
  const std::string bytes = statement.SerializeAsString();
  Write(dir / path, bytes);
  absl::StatusOr<PrivateKey> operator_key = PrivateKey::LoadPemFile(
      collector::DataDirPaths(data_dir_).operator_key());
  ASSERT_TRUE(operator_key.ok()) << operator_key.status();
  Write(dir / "isms/5.finding.sig",
        *operator_key->Sign(Pae(isms::kFindingPayloadType, bytes)));
  v1::BundleManifest manifest = Manifest(dir);
  manifest.mutable_isms(4)->set_statement_sha256(Sha256Hex(bytes));
  SetManifest(dir, manifest);
  ResealAsInsider(dir);
  EXPECT_EQ(RunVerifySh(dir).first, 0);  // every signature holds
  absl::Status status = collector::VerifyBundle(dir, 2).status();
  EXPECT_THAT(Msg(status), HasSubstr("isms/5.proof"));
  EXPECT_THAT(Msg(status), HasSubstr("does not lead to the root"));
}

TEST_F(BundleTest, SnapshotRemovedFromTheMiddleByAnInsiderIsCaught) {
  ASSERT_NO_FATAL_FAILURE(ExportClean());
  // The insider holds the collector's key (from its data dir), not the
  // agents': they delete seq 2 of one agent and re-sign SHA256SUMS.
  const fs::path dir = Copy("insider");
  RemoveSnapshotFiles(dir, agent_ids_[0], 2);
  ResealAsInsider(dir);
  EXPECT_EQ(RunVerifySh(dir).first, 0);  // every remaining signature holds
  absl::Status status = collector::VerifyBundle(dir, 2).status();
  EXPECT_THAT(Msg(status), HasSubstr(FirstAgentSnapshot(2, "payload")));

  // Taking it out of the manifest too leaves a gap in the chain.
  v1::BundleManifest manifest = Manifest(dir);
  for (v1::BundleAgent& agent : *manifest.mutable_agents()) {
    if (agent.agent_id() != agent_ids_[0]) continue;
    auto* snapshots = agent.mutable_snapshots();
    for (int i = 0; i < snapshots->size(); ++i) {
      if (snapshots->Get(i).seq() == 2) {
        snapshots->erase(snapshots->begin() + i);
        break;
      }
    }
  }
  SetManifest(dir, manifest);
  ResealAsInsider(dir);
  EXPECT_EQ(RunVerifySh(dir).first, 0);
  status = collector::VerifyBundle(dir, 2).status();
  EXPECT_THAT(Msg(status), HasSubstr("manifest.json"));
  EXPECT_THAT(Msg(status), HasSubstr("seq 3 follows seq 1"));
}

TEST_F(BundleTest, BundleResignedWithAnotherKeyShowsAnotherFingerprint) {
  ASSERT_NO_FATAL_FAILURE(ExportClean());
  const PrivateKey other = *PrivateKey::Generate();
  const fs::path dir = Copy("other-key");
  Write(dir / "keys/collector.pub.pem", other.public_key().ToPem());
  Write(dir / "log/checkpoint.sig", *other.Sign(Read(dir / "log/checkpoint")));
  ResealSums(dir, other);
  auto [code, output] = RunVerifySh(dir);
  EXPECT_EQ(code, 0) << output;
  EXPECT_THAT(output, HasSubstr(other.public_key().KeyId()));
  EXPECT_THAT(output, Not(HasSubstr(collector_key_id_)));
  // evidentia verify sees that the manifest and log name the real key.
  EXPECT_FALSE(collector::VerifyBundle(dir, 2).ok());
}

TEST_F(BundleTest, ScopeExportsOnlyTheHostsWithTheLabel) {
  ASSERT_NO_FATAL_FAILURE(ExportClean());
  const fs::path dir = tmp_ / "lyon";
  int code = -1;
  Cli({"export", "--from", "2026-11-17", "--to", "2026-11-18", "--out",
       dir.string(), "--scope", "site=lyon"},
      &code);
  ASSERT_EQ(code, collector::kCliOk) << last_err_;
  const v1::BundleManifest manifest = Manifest(dir);
  ASSERT_EQ(manifest.agents_size(), 1);
  EXPECT_EQ(manifest.agents(0).hostname(), "gamma");
  EXPECT_EQ(manifest.scope(), "site=lyon");
  EXPECT_FALSE(fs::exists(dir / "snapshots" / agent_ids_[0]));
  EXPECT_EQ(RunVerifySh(dir).first, 0);
  absl::StatusOr<collector::BundleVerification> verified =
      collector::VerifyBundle(dir, 2);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->agents, 1u);
  EXPECT_EQ(verified->snapshots, 4u);
}

TEST_F(BundleTest, PeriodStartsWithTheLastSnapshotBeforeIt) {
  ASSERT_NO_FATAL_FAILURE(ExportClean());
  // The four reports were at now-4h .. now-1h; from now-2.5h, two are in
  // the period and the one before it is included too.
  const fs::path dir = tmp_ / "late";
  int code = -1;
  Cli({"export", "--from",
       absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", now_ - absl::Minutes(150),
                        absl::UTCTimeZone()),
       "--to", "2026-11-18", "--out", dir.string()},
      &code);
  ASSERT_EQ(code, collector::kCliOk) << last_err_;
  const v1::BundleManifest manifest = Manifest(dir);
  ASSERT_EQ(manifest.agents_size(), 3);
  for (const v1::BundleAgent& agent : manifest.agents()) {
    ASSERT_EQ(agent.snapshots_size(), 3) << agent.hostname();
    EXPECT_EQ(agent.snapshots(0).seq(), 2u);
    EXPECT_EQ(agent.snapshots(2).seq(), 4u);
  }
  EXPECT_FALSE(fs::exists(dir / FirstAgentSnapshot(1, "payload")));
  EXPECT_EQ(RunVerifySh(dir).first, 0);
  absl::StatusOr<collector::BundleVerification> verified =
      collector::VerifyBundle(dir, 2);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->snapshots, 9u);
}

TEST_F(BundleTest, ExportStreamedIntoOneTarGzVerifies) {
  ASSERT_NO_FATAL_FAILURE(ExportClean());
  const fs::path archive = tmp_ / "streamed.tar.gz";
  int code = -1;
  Cli({"export", "--from", "2026-11-17", "--to", "2026-11-18", "--out",
       archive.string()},
      &code);
  ASSERT_EQ(code, collector::kCliOk) << last_err_;
  EXPECT_FALSE(fs::exists(tmp_ / "streamed"));
  std::ostringstream out, err;
  EXPECT_EQ(collector::RunVerify(archive.string(), 0, false, out, err), 0)
      << err.str();
  EXPECT_THAT(out.str(), HasSubstr("12 snapshot signatures from 3 agents"));
  absl::StatusOr<fs::path> root =
      collector::UnpackTarGz(archive, tmp_ / "unpacked");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(root->filename(), "streamed");
  EXPECT_EQ(RunVerifySh(*root).first, 0);
}

TEST_F(BundleTest, ExportRefusesAnEmptyPeriodAndAnExistingTarget) {
  ASSERT_NO_FATAL_FAILURE(ExportClean());
  int code = -1;
  Cli({"export", "--from", "2026-11-18", "--to", "2026-11-10", "--out",
       (tmp_ / "inverted").string()},
      &code);
  EXPECT_EQ(code, collector::kCliFailed);
  EXPECT_THAT(last_err_, HasSubstr("is empty"));
  EXPECT_FALSE(fs::exists(tmp_ / "inverted"));
  Cli({"export", "--from", "2026-11-17", "--to", "2026-11-18", "--out",
       clean_.string()},
      &code);
  EXPECT_EQ(code, collector::kCliFailed);
  EXPECT_THAT(last_err_, HasSubstr("already exists"));
  Cli({"export", "--from", "2026-11-17", "--to", "2026-11-18", "--out",
       (tmp_ / "bad-scope").string(), "--scope", "nolabel"},
      &code);
  EXPECT_EQ(code, collector::kCliFailed);
  EXPECT_THAT(last_err_, HasSubstr("KEY=VALUE"));
}

TEST_F(BundleTest, LogCommandsProveInclusionAndConsistency) {
  ASSERT_NO_FATAL_FAILURE(ExportClean());
  int code = -1;
  const std::string checkpoint = Cli({"log", "checkpoint", "--new"}, &code);
  ASSERT_EQ(code, collector::kCliOk) << last_err_;
  EXPECT_THAT(checkpoint, HasSubstr("evidentia checkpoint v1\n"));
  // 12 snapshots and 3 ISMS records.
  EXPECT_THAT(checkpoint, HasSubstr("size 15\n"));
  EXPECT_THAT(checkpoint, HasSubstr("verified with the collector key"));

  const std::string proof = Cli({"log", "prove", agent_ids_[1], "3"}, &code);
  ASSERT_EQ(code, collector::kCliOk) << last_err_;
  EXPECT_THAT(proof, HasSubstr("evidentia inclusion proof v1\n"));
  EXPECT_THAT(proof, HasSubstr("verified against the checkpoint of 15"));

  const std::string consistency = Cli({"log", "consistency", "5"}, &code);
  ASSERT_EQ(code, collector::kCliOk) << last_err_;
  EXPECT_THAT(consistency, HasSubstr("is a prefix of the checkpoint of 15"));

  Cli({"log", "prove", agent_ids_[1], "99"}, &code);
  EXPECT_EQ(code, collector::kCliFailed);
  EXPECT_THAT(last_err_, HasSubstr("not in the log"));
  Cli({"log", "consistency", "16"}, &code);
  EXPECT_EQ(code, collector::kCliFailed);
}

// An agent that lost snapshots 2..3 during an outage (spool quota) and
// reported it with a signed gap snapshot; exported to `gap_`.
class GapBundleTest : public BundleTest {
 protected:
  void ExportWithGap() {
    Enroll("alpha", "lvm_on_luks", {{"site", "paris"}});
    Report("alpha");
    now_ += absl::Hours(1);
    {
      absl::StatusOr<std::unique_ptr<agent::AgentState>> state =
          agent::AgentState::Open(tmp_ / "agents" / "alpha");
      ASSERT_TRUE(state.ok()) << state.status();
      (*state)->set_spool_max_bytes(1);  // keeps only the newest
      for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE((*state)
                        ->MakeSnapshot(agent::Collect(agent::BuildProbes(),
                                                      tmp_ / "roots" / "alpha"),
                                       now_)
                        .ok());
        now_ += absl::Hours(1);
      }
      absl::StatusOr<agent::DeliveryReport> report =
          agent::DeliverSpool(**state, *Stub(tmp_ / "agents" / "alpha"));
      ASSERT_TRUE(report.ok()) << report.status();
      ASSERT_EQ(report->accepted, 2);  // gap 2..3, snapshot 4
    }
    Report("alpha");  // 5 chains on after the gap
    gap_ = tmp_ / "gap";
    int code = -1;
    Cli({"export", "--from", "2026-11-17", "--to", "2026-11-18", "--out",
         gap_.string()},
        &code);
    ASSERT_EQ(code, collector::kCliOk) << last_err_;
  }

  fs::path gap_;
};

TEST_F(GapBundleTest, GapSnapshotVerifiesAndIsReported) {
  ASSERT_NO_FATAL_FAILURE(ExportWithGap());

  absl::StatusOr<collector::BundleVerification> verified =
      collector::VerifyBundle(gap_, 2);

  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->snapshots, 4u);  // 1, gap 3, 4, 5
  ASSERT_EQ(verified->gaps.size(), 1u);
  EXPECT_THAT(verified->gaps[0], HasSubstr("lost snapshots 2..3"));
  EXPECT_EQ(RunVerifySh(gap_).first, 0);
}

TEST_F(GapBundleTest, VerifyCommandNamesTheGap) {
  ASSERT_NO_FATAL_FAILURE(ExportWithGap());
  std::ostringstream out, err;
  ASSERT_EQ(collector::RunVerify(gap_.string(), 0, false, out, err), 0)
      << err.str();
  EXPECT_THAT(out.str(), HasSubstr("1 signed gap snapshots"));
  EXPECT_THAT(out.str(), HasSubstr("lost snapshots 2..3"));
}

TEST_F(GapBundleTest, GapTheManifestInventsIsCaught) {
  ASSERT_NO_FATAL_FAILURE(ExportWithGap());
  // An insider with the collector's key hides snapshot 4 by deleting it and
  // claiming, in the manifest, that snapshot 5 declares it lost.
  const std::string agent = agent_ids_[0];
  v1::BundleManifest manifest = Manifest(gap_);
  auto* snapshots = manifest.mutable_agents(0)->mutable_snapshots();
  ASSERT_EQ(snapshots->size(), 4);
  const std::string digest_of_4 = snapshots->Get(2).payload_sha256();
  snapshots->erase(snapshots->begin() + 2);
  snapshots->Mutable(2)->set_gap_first_seq(4);
  snapshots->Mutable(2)->set_gap_last_payload_sha256(digest_of_4);
  SetManifest(gap_, manifest);
  RemoveSnapshotFiles(gap_, agent, 4);
  ResealAsInsider(gap_);

  absl::Status status = collector::VerifyBundle(gap_, 2).status();

  EXPECT_THAT(Msg(status), HasSubstr(absl::StrCat(agent, "/5.payload")));
  EXPECT_THAT(Msg(status), HasSubstr("gap"));
}

TEST_F(GapBundleTest, GapSnapshotRemovedByAnInsiderBreaksTheChain) {
  ASSERT_NO_FATAL_FAILURE(ExportWithGap());
  const std::string agent = agent_ids_[0];
  v1::BundleManifest manifest = Manifest(gap_);
  auto* snapshots = manifest.mutable_agents(0)->mutable_snapshots();
  snapshots->erase(snapshots->begin() + 1);  // the gap snapshot, seq 3
  SetManifest(gap_, manifest);
  RemoveSnapshotFiles(gap_, agent, 3);
  ResealAsInsider(gap_);

  absl::Status status = collector::VerifyBundle(gap_, 2).status();

  EXPECT_THAT(Msg(status), HasSubstr("seq 4 follows seq 1"));
}

// An agent that rotated its device key twice: snapshots 1-2 under its
// enrolled key, 3 under the second, 4 under the third; exported to `rot_`.
class RotationBundleTest : public BundleTest {
 protected:
  void ExportWithRotations() {
    Enroll("alpha", "lvm_on_luks", {{"site", "paris"}});
    for (int seq = 1; seq <= 4; ++seq) {
      Report("alpha");
      now_ += absl::Hours(1);
      if (seq == 2 || seq == 3) {
        absl::StatusOr<std::unique_ptr<agent::AgentState>> state =
            agent::AgentState::Open(tmp_ / "agents" / "alpha");
        ASSERT_TRUE(state.ok()) << state.status();
        absl::StatusOr<std::string> key_id =
            agent::RotateDeviceKey(**state, *Stub(tmp_ / "agents" / "alpha"));
        ASSERT_TRUE(key_id.ok()) << key_id.status();
        key_ids_.push_back(*key_id);
      }
    }
    rot_ = tmp_ / "rotated";
    int code = -1;
    Cli({"export", "--from", "2026-11-17", "--to", "2026-11-18", "--out",
         rot_.string()},
        &code);
    ASSERT_EQ(code, collector::kCliOk) << last_err_;
  }

  // keys/agents/<agent>/<last_seq>.<extension>, bundle-relative.
  std::string RotationFile(int last_seq, const std::string& extension) const {
    return absl::StrCat("keys/agents/", agent_ids_[0], "/", last_seq, ".",
                        extension);
  }

  // Replaces every `from` with `to` in the bundle file `rel`.
  void ReplaceIn(const std::string& rel, const std::string& from,
                 const std::string& to) {
    std::string text = Read(rot_ / rel);
    for (size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at + to.size())) {
      text.replace(at, from.size(), to);
    }
    Write(rot_ / rel, text);
  }

  fs::path rot_;
  std::vector<std::string> key_ids_;  // after each rotation
};

TEST_F(RotationBundleTest, RotatedChainPassesBothVerifiers) {
  ASSERT_NO_FATAL_FAILURE(ExportWithRotations());

  auto [code, output] = RunVerifySh(rot_);
  EXPECT_EQ(code, 0) << output;
  EXPECT_THAT(output, HasSubstr("4 snapshot signatures from 1 agents"));
  EXPECT_THAT(output, HasSubstr("2 device key rotations verified"));
  absl::StatusOr<collector::BundleVerification> verified =
      collector::VerifyBundle(rot_, 2);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->snapshots, 4u);
  EXPECT_EQ(verified->key_rotations, 2u);
  EXPECT_EQ(verified->chains, 1u);
  // The retired keys are fingerprinted like every other key.
  const std::string fingerprints = Read(rot_ / "keys/FINGERPRINTS.txt");
  EXPECT_THAT(fingerprints, HasSubstr(RotationFile(2, "pub.pem")));
  EXPECT_THAT(fingerprints, HasSubstr(RotationFile(3, "pub.pem")));
  EXPECT_THAT(fingerprints, HasSubstr(key_ids_.back()));
}

TEST_F(RotationBundleTest, ChangedOrDeletedRotationFileIsCaught) {
  ASSERT_NO_FATAL_FAILURE(ExportWithRotations());
  const fs::path clean = tmp_ / "rotated-clean";
  fs::copy(rot_, clean, fs::copy_options::recursive);
  for (const char* extension :
       {"pub.pem", "rotation", "rotation.sig", "rotation.new.sig"}) {
    const std::string file = RotationFile(2, extension);
    SCOPED_TRACE(file);
    for (bool remove : {false, true}) {
      fs::remove_all(rot_);
      fs::copy(clean, rot_, fs::copy_options::recursive);
      if (remove) {
        ASSERT_TRUE(fs::remove(rot_ / file));
      } else {
        std::string bytes = Read(rot_ / file);
        bytes[bytes.size() / 2] ^= 0x01;
        Write(rot_ / file, bytes);
      }
      ExpectBothFailNaming(rot_, {file});
    }
  }
}

TEST_F(RotationBundleTest, NewKeySubstitutedByAnInsiderIsCaught) {
  ASSERT_NO_FATAL_FAILURE(ExportWithRotations());
  // An insider with the collector's key claims the agent's last rotation
  // went to a key of theirs: the statement rewritten to name it, signed by
  // it, fingerprints and manifest to match. Only the retired key's
  // signature cannot be made.
  const PrivateKey thief = *PrivateKey::Generate();
  const std::string statement_file = RotationFile(3, "rotation");
  ReplaceIn(statement_file, key_ids_.back(), thief.public_key().KeyId());
  Write(rot_ / RotationFile(3, "rotation.new.sig"),
        *thief.Sign(Pae(kKeyRotationPayloadType, Read(rot_ / statement_file))));
  Write(rot_ / "keys/agents" / absl::StrCat(agent_ids_[0], ".pub.pem"),
        thief.public_key().ToPem());
  ReplaceIn("keys/FINGERPRINTS.txt", key_ids_.back(),
            thief.public_key().KeyId());
  ReplaceIn("manifest.json", key_ids_.back(), thief.public_key().KeyId());
  ResealAsInsider(rot_);

  ExpectBothFailNaming(rot_, {RotationFile(3, "rotation.sig")});
}

TEST_F(RotationBundleTest, RetiredKeySubstitutedByAnInsiderIsCaught) {
  ASSERT_NO_FATAL_FAILURE(ExportWithRotations());
  // The first key swapped for the insider's, everywhere it is named but in
  // the statements the agent signed.
  const PrivateKey thief = *PrivateKey::Generate();
  const std::string enrolled =
      PublicKey::FromPem(Read(rot_ / RotationFile(2, "pub.pem")))->KeyId();
  Write(rot_ / RotationFile(2, "pub.pem"), thief.public_key().ToPem());
  ReplaceIn("keys/FINGERPRINTS.txt", enrolled, thief.public_key().KeyId());
  ReplaceIn("manifest.json", enrolled, thief.public_key().KeyId());
  ResealAsInsider(rot_);

  ExpectBothFailNaming(rot_, {RotationFile(2, "rotation")});
}

TEST_F(RotationBundleTest, RotationTheManifestHidesIsCaught) {
  ASSERT_NO_FATAL_FAILURE(ExportWithRotations());
  v1::BundleManifest manifest = Manifest(rot_);
  manifest.mutable_agents(0)->mutable_rotations()->RemoveLast();
  SetManifest(rot_, manifest);
  ResealAsInsider(rot_);

  absl::Status status = collector::VerifyBundle(rot_, 2).status();

  EXPECT_THAT(Msg(status), StartsWith("manifest.json"));
  EXPECT_THAT(Msg(status), HasSubstr("key chain broken"));
}

}  // namespace
}  // namespace evidentia
