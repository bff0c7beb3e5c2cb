// Bundle verification without a collector: the .tar.gz writer and its safe
// unpacking (hostile archives built here with libarchive), SHA256SUMS
// parsing, and VerifyBundle, `evidentia verify` and VERIFY.sh on bundles
// built here from scratch (keys, signed snapshot chains, an RFC 6962 log,
// the shipped policies), so that each corruption is made precisely.
#include "bundle/verify.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "bundle/archive.h"
#include "bundle/report.h"
#include "collector/ingest/ingest.h"
#include "collector/query/store_evidence.h"
#include "collector/store/keys.h"
#include "collector/store/rocksdb_store.h"
#include "collector/store/store.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/envelope.h"
#include "common/merkle.h"
#include "common/pae.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/snapshot_chain.h"
#include "evidentia/v1/bundle.pb.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "evidentia/v1/snapshot.pb.h"
#include "evidentia/v1/store.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "grading/fleet.h"
#include "grading/grading.h"
#include "grading/policy.h"
#include "gtest/gtest.h"
#include "tests/support/bundle_files.h"
#include "tests/support/temp_dir.h"

namespace evidentia::collector {
namespace {

namespace fs = std::filesystem;
using ::evidentia::testing::ScopedTempDir;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const fs::path kSource = EVIDENTIA_SOURCE_DIR;
using ::evidentia::testing::Read;
using ::evidentia::testing::ResealSums;
using ::evidentia::testing::RunVerifySh;
using ::evidentia::testing::Shell;
using ::evidentia::testing::Write;

std::string Msg(const absl::Status& status) {
  return std::string(status.message());
}

// RFC 6962 audit paths, built level by level (an odd node at the end of a
// level moves up unchanged, which is the same tree).
class FakeLog {
 public:
  explicit FakeLog(std::vector<std::string> leaves) {
    levels_.push_back(std::move(leaves));
    while (levels_.back().size() > 1) {
      const std::vector<std::string>& below = levels_.back();
      std::vector<std::string> up;
      for (size_t i = 0; i + 1 < below.size(); i += 2) {
        up.push_back(merkle::NodeHash(below[i], below[i + 1]));
      }
      if (below.size() % 2 == 1) up.push_back(below.back());
      levels_.push_back(std::move(up));
    }
  }
  std::string Root() const { return levels_.back()[0]; }
  std::vector<std::string> Path(uint64_t index) const {
    std::vector<std::string> path;
    for (size_t level = 0; level + 1 < levels_.size(); ++level) {
      const uint64_t sibling = index ^ 1;
      if (sibling < levels_[level].size()) {
        path.push_back(levels_[level][sibling]);
      }
      index >>= 1;
    }
    return path;
  }

 private:
  std::vector<std::vector<std::string>> levels_;
};

std::string Json(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  EXPECT_TRUE(
      google::protobuf::util::MessageToJsonString(message, &out, options).ok());
  return out;
}

struct FakeAgent {
  std::string id;
  PrivateKey key;
  std::string hostname;
};

// Builds a complete bundle: `agents` agents with snapshots 1..`snapshots`
// an hour apart (odd ones report a uid-0 account, so grades depend on
// which is latest), one piece of manual evidence, a log holding every
// snapshot, grades computed by ingesting everything into a store.
class FakeBundle {
 public:
  FakeBundle()
      : collector_(*PrivateKey::Generate()),
        operator_(*PrivateKey::Generate()) {}

  const PrivateKey& collector_key() const { return collector_; }
  const std::vector<FakeAgent>& agents() const { return agents_; }
  absl::Time to() const { return to_; }

  void Build(const fs::path& dir, int agent_count, int snapshots) {
    const absl::Time base = absl::FromUnixSeconds(1795000000);
    to_ = base + absl::Hours(snapshots);
    v1::BundleManifest manifest;
    manifest.set_format("evidentia-bundle-v1");
    *manifest.mutable_from() = ToProto(base);
    *manifest.mutable_to() = ToProto(to_);
    *manifest.mutable_generated_at() = ToProto(to_ + absl::Minutes(5));
    manifest.set_organisation("Example Ltd");
    manifest.set_collector_key_id(collector_.public_key().KeyId());
    manifest.set_operator_key_id(operator_.public_key().KeyId());

    // Policies and SoA, as the collector loaded them.
    fs::create_directories(dir / "policies/checks");
    fs::copy_file(kSource / "policies/iso27001-2022.yaml",
                  dir / "policies/iso27001-2022.yaml");
    fs::copy_file(kSource / "policies/checks/linux.yaml",
                  dir / "policies/checks/linux.yaml");
    Write(dir / "soa/soa.example.yaml",
          Read(kSource / "policies/soa.example.yaml"));
    // The risk register the SoA names ships beside it.
    Write(dir / "soa/risks.example.yaml",
          Read(kSource / "policies/risks.example.yaml"));
    manifest.set_soa_file("soa/soa.example.yaml");
    absl::StatusOr<policy::PolicySet> policy =
        policy::LoadPolicySet(dir / "policies", dir / "soa/soa.example.yaml");
    ASSERT_TRUE(policy.ok()) << policy.status();
    manifest.set_policy_sha256(policy->sha256);

    ScopedTempDir db_dir;
    absl::StatusOr<std::unique_ptr<Store>> store =
        OpenRocksDbStore(db_dir.path());
    ASSERT_TRUE(store.ok()) << store.status();
    Batch batch;

    // Facts bodies, stored once by digest.
    std::vector<std::string> bodies;
    for (int variant = 0; variant < 2; ++variant) {
      v1::Facts disk, malware, accounts;
      disk.mutable_disk_encryption();
      malware.mutable_anti_malware();
      accounts.mutable_local_accounts()->set_shadow_readable(true);
      if (variant == 1) {
        accounts.mutable_local_accounts()->add_uid0_non_root("toor");
      }
      bodies.push_back(disk.SerializeAsString());
      bodies.push_back(malware.SerializeAsString());
      bodies.push_back(accounts.SerializeAsString());
    }
    for (const std::string& body : bodies) {
      Write(dir / "objects" / Sha256Hex(body), body);
      batch.Put(Table::kObjects, Sha256(body), body);
    }

    struct Leaf {
      std::string agent;
      uint64_t seq;
      v1::BundleSnapshot* entry;
    };
    std::vector<std::string> leaves;
    std::vector<Leaf> order;
    std::string fingerprints_agents;
    for (int a = 0; a < agent_count; ++a) {
      FakeAgent agent{absl::StrCat(absl::Hex(0xa0000000 + a, absl::kZeroPad8),
                                   "000000000000000000000000"),
                      *PrivateKey::Generate(), absl::StrCat("host-", a)};
      v1::BundleAgent* entry = manifest.add_agents();
      entry->set_agent_id(agent.id);
      entry->set_key_id(agent.key.public_key().KeyId());
      entry->set_hostname(agent.hostname);
      (*entry->mutable_labels())["site"] = a % 2 == 0 ? "paris" : "lyon";
      *entry->mutable_enrolled_at() = ToProto(base - absl::Hours(1));
      const std::string pem = agent.key.public_key().ToPem();
      Write(dir / "keys/agents" / absl::StrCat(agent.id, ".pub.pem"), pem);

      v1::AgentRecord record;
      record.set_agent_id(agent.id);
      record.set_key_id(entry->key_id());
      record.set_public_key_pem(pem);
      *record.mutable_labels() = entry->labels();
      *record.mutable_enrolled_at() = entry->enrolled_at();
      ChainHead head;
      for (int k = 1; k <= snapshots; ++k) {
        const absl::Time received =
            base + absl::Hours(k - 1) + absl::Seconds(a);
        v1::Snapshot snapshot;
        snapshot.set_agent_id(agent.id);
        LinkAfter(head, snapshot);
        *snapshot.mutable_collected_at() = ToProto(received);
        snapshot.mutable_host()->set_hostname(agent.hostname);
        snapshot.set_agent_version("0.1.0");
        const int variant = k % 2;
        const char* probes[] = {"linux.anti_malware", "linux.disk_encryption",
                                "linux.local_accounts"};
        const int body_of[] = {1, 0, 2};
        for (int p = 0; p < 3; ++p) {
          v1::Observation* o = snapshot.add_observations();
          o->set_check_id(probes[p]);
          o->set_probe(probes[p]);
          o->set_facts_sha256(Sha256(bodies[variant * 3 + body_of[p]]));
        }
        const std::string payload = snapshot.SerializeAsString();
        absl::StatusOr<v1::SignedSnapshot> envelope =
            SignPayload(agent.key, payload);
        ASSERT_TRUE(envelope.ok());
        head = HeadAfter(snapshot.seq(), payload);
        const fs::path base_path =
            dir / "snapshots" / agent.id / absl::StrCat(k);
        Write(absl::StrCat(base_path.string(), ".payload"), payload);
        Write(absl::StrCat(base_path.string(), ".sig"), envelope->signature());

        v1::BundleSnapshot* s = entry->add_snapshots();
        s->set_seq(k);
        *s->mutable_received_at() = ToProto(received);
        s->set_payload_sha256(Sha256Hex(payload));
        leaves.push_back(
            merkle::SnapshotLeafHash(payload, envelope->signature()));
        order.push_back({agent.id, static_cast<uint64_t>(k), s});

        v1::StoredSnapshot stored;
        *stored.mutable_envelope() = *envelope;
        *stored.mutable_received_at() = s->received_at();
        AddSnapshotWrites(snapshot, stored, record, batch);
      }
      agents_.push_back(std::move(agent));
    }

    // The log: every snapshot, then a few leaves of agents out of scope.
    for (int extra = 0; extra < 3; ++extra) {
      leaves.push_back(merkle::LeafHash(absl::StrCat("other ", extra)));
    }
    FakeLog log(leaves);
    ASSERT_EQ(log.Root(), merkle::RootOf(leaves));
    for (size_t i = 0; i < order.size(); ++i) {
      order[i].entry->set_log_index(i);
      InclusionProof proof;
      proof.index = i;
      proof.size = leaves.size();
      proof.hashes = log.Path(i);
      Write(dir / "log/proofs" / order[i].agent /
                absl::StrCat(order[i].seq, ".proof"),
            FormatInclusionProof(proof));
    }
    Checkpoint checkpoint;
    checkpoint.collector_key_id = collector_.public_key().KeyId();
    checkpoint.size = leaves.size();
    checkpoint.root = log.Root();
    checkpoint.time = to_;
    const std::string checkpoint_text = FormatCheckpoint(checkpoint);
    Write(dir / "log/checkpoint", checkpoint_text);
    Write(dir / "log/checkpoint.sig", *collector_.Sign(checkpoint_text));
    manifest.set_log_size(leaves.size());

    // Manual evidence for a.5.1, valid for a year.
    const std::string document = "%PDF-1.4 information security policy\n";
    Write(dir / "objects" / Sha256Hex(document), document);
    v1::ManualEvidenceStatement statement;
    statement.set_control_id("a.5.1");
    statement.set_document_sha256(Sha256(document));
    statement.set_file_name("policy.pdf");
    statement.set_size(document.size());
    *statement.mutable_valid_until() = ToProto(base + absl::Hours(24 * 365));
    *statement.mutable_signed_at() = ToProto(base);
    const std::string statement_bytes = statement.SerializeAsString();
    const std::string statement_sig =
        *operator_.Sign(Pae(kManualEvidencePayloadType, statement_bytes));
    Write(dir / "manual/a.5.1/1.statement", statement_bytes);
    Write(dir / "manual/a.5.1/1.sig", statement_sig);
    v1::BundleManual* manual = manifest.add_manual();
    manual->set_control_id("a.5.1");
    manual->set_number(1);
    *manual->mutable_received_at() = ToProto(base + absl::Minutes(1));
    manual->set_document_sha256(Sha256Hex(document));
    v1::StoredManualEvidence stored_manual;
    stored_manual.set_statement(statement_bytes);
    stored_manual.set_signature(statement_sig);
    stored_manual.set_key_id(operator_.public_key().KeyId());
    *stored_manual.mutable_received_at() = manual->received_at();
    batch.Put(Table::kManual,
              keys::Manual("a.5.1", absl::ToUnixMicros(
                                        FromProto(manual->received_at()))),
              stored_manual.SerializeAsString());

    // Grades: everything ingested, graded as of `to`.
    ASSERT_TRUE((*store)->Commit(batch).ok());
    StoreEvidence evidence(**store);
    Grader grader(*policy, evidence);
    absl::StatusOr<std::vector<HostPtr>> hosts =
        FleetAsOf(evidence, to_, grader.ObservedIds());
    ASSERT_TRUE(hosts.ok()) << hosts.status();
    absl::StatusOr<v1::GradeControlsResponse> grades =
        grader.GradeAll(*hosts, to_);
    ASSERT_TRUE(grades.ok()) << grades.status();
    Write(dir / "report/summary.csv", SummaryCsv(*grades));
    Write(dir / "report/index.html", "<!doctype html><title>report</title>\n");
    Write(dir / "oscal/assessment-results.json", "{}\n");
    Write(dir / "manifest.json", Json(manifest));
    Write(dir / "README.txt", Read(kSource / "bundle/assets/README.txt"));
    Write(dir / "VERIFY.sh", Read(kSource / "bundle/assets/VERIFY.sh"));
    fs::permissions(dir / "VERIFY.sh", fs::perms::owner_exec,
                    fs::perm_options::add);

    Write(dir / "keys/collector.pub.pem", collector_.public_key().ToPem());
    Write(dir / "keys/operator.pub.pem", operator_.public_key().ToPem());
    std::vector<std::string> key_files;
    for (const auto& entry : fs::recursive_directory_iterator(dir / "keys")) {
      if (entry.is_regular_file()) {
        key_files.push_back(
            entry.path().lexically_relative(dir).generic_string());
      }
    }
    std::sort(key_files.begin(), key_files.end());
    std::string fingerprints;
    for (const std::string& file : key_files) {
      absl::StrAppend(&fingerprints,
                      PublicKey::FromPem(Read(dir / file))->KeyId(), "  ", file,
                      "\n");
    }
    Write(dir / "keys/FINGERPRINTS.txt", fingerprints);
    ResealSums(dir, collector_);
  }

 private:
  PrivateKey collector_;
  PrivateKey operator_;
  std::vector<FakeAgent> agents_;
  absl::Time to_;
};

// ---------------------------------------------------------------------------
// The archive.

struct RawEntry {
  std::string name;
  unsigned type = AE_IFREG;
  std::string data;
  std::string link;  // symlink target or hard link source
};
RawEntry File(std::string name, std::string data) {
  return {std::move(name), AE_IFREG, std::move(data), ""};
}
RawEntry Dir(std::string name) { return {std::move(name), AE_IFDIR, "", ""}; }
RawEntry Symlink(std::string name, std::string target) {
  return {std::move(name), AE_IFLNK, "", std::move(target)};
}
RawEntry HardLink(std::string name, std::string source) {
  return {std::move(name), AE_IFREG, "", std::move(source)};
}
RawEntry CharDevice(std::string name) {
  return {std::move(name), AE_IFCHR, "", ""};
}

// A .tar.gz holding exactly `entries`, whatever they are.
void WriteHostileArchive(const fs::path& out,
                         const std::vector<RawEntry>& entries) {
  struct archive* a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_format_pax_restricted(a);
  ASSERT_EQ(archive_write_open_filename(a, out.c_str()), ARCHIVE_OK);
  for (const RawEntry& e : entries) {
    struct archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.name.c_str());
    archive_entry_set_filetype(entry, e.type);
    archive_entry_set_perm(entry, 0644);
    if (e.type == AE_IFLNK) archive_entry_set_symlink(entry, e.link.c_str());
    if (!e.link.empty() && e.type == AE_IFREG) {
      archive_entry_set_hardlink(entry, e.link.c_str());
    }
    archive_entry_set_size(entry, e.type == AE_IFREG && e.link.empty()
                                      ? static_cast<la_int64_t>(e.data.size())
                                      : 0);
    ASSERT_EQ(archive_write_header(a, entry), ARCHIVE_OK) << e.name;
    if (!e.data.empty()) archive_write_data(a, e.data.data(), e.data.size());
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
}

// A .tar.gz whose only member's header claims `size` bytes, with no data
// after it (a reader must refuse it before reading any).
void WriteArchiveClaimingSize(const fs::path& out, uint64_t size) {
  std::string header(512, '\0');
  auto put = [&](size_t offset, const std::string& field) {
    header.replace(offset, field.size(), field);
  };
  put(0, "big");
  put(100, "0000644");
  put(108, "0000000");
  put(116, "0000000");
  char octal[16];
  std::snprintf(octal, sizeof(octal), "%011llo",
                static_cast<unsigned long long>(size));
  put(124, octal);
  put(136, "00000000000");
  put(148, "        ");
  header[156] = '0';
  put(257, std::string("ustar\0", 6));
  put(263, "00");
  unsigned sum = 0;
  for (unsigned char c : header) sum += c;
  std::snprintf(octal, sizeof(octal), "%06o", sum);
  put(148, std::string(octal, 6) + std::string("\0 ", 2));
  struct archive* a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_format_raw(a);
  ASSERT_EQ(archive_write_open_filename(a, out.c_str()), ARCHIVE_OK);
  struct archive_entry* entry = archive_entry_new();
  archive_entry_set_pathname(entry, "raw");
  archive_entry_set_filetype(entry, AE_IFREG);
  archive_entry_set_size(entry, static_cast<la_int64_t>(header.size()));
  ASSERT_EQ(archive_write_header(a, entry), ARCHIVE_OK);
  archive_write_data(a, header.data(), header.size());
  archive_entry_free(entry);
  archive_write_close(a);
  archive_write_free(a);
}

class BundleArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(tmp_.path().empty()); }
  fs::path Tmp() const { return tmp_.path(); }

  absl::StatusOr<fs::path> Unpack(const std::vector<RawEntry>& entries) {
    WriteHostileArchive(Tmp() / "hostile.tar.gz", entries);
    return UnpackTarGz(Tmp() / "hostile.tar.gz", Tmp() / "out");
  }

  ScopedTempDir tmp_;
};

TEST_F(BundleArchiveTest, RoundTripKeepsEveryFileUnderTheBundleName) {
  const fs::path dir = Tmp() / "bundle-2026-11";
  Write(dir / "README.txt", "read me\n");
  Write(dir / "VERIFY.sh", "#!/bin/sh\nexit 0\n");
  Write(dir / "snapshots/ab/1.payload", std::string("\0\1\2", 3));
  fs::create_directories(dir / "empty");
  ASSERT_TRUE(WriteTarGz(dir, Tmp() / "b.tar.gz").ok());

  absl::StatusOr<fs::path> root =
      UnpackTarGz(Tmp() / "b.tar.gz", Tmp() / "out");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(*root, Tmp() / "out" / "bundle-2026-11");
  EXPECT_EQ(Read(*root / "README.txt"), "read me\n");
  EXPECT_EQ(Read(*root / "snapshots/ab/1.payload"), std::string("\0\1\2", 3));
  EXPECT_TRUE(fs::is_directory(*root / "empty"));
}

TEST_F(BundleArchiveTest, EntriesAreSortedWithFixedModesAndTimes) {
  const fs::path dir = Tmp() / "b";
  Write(dir / "z.txt", "z");
  Write(dir / "VERIFY.sh", "#!/bin/sh\n");
  Write(dir / "a/b.txt", "b");
  ASSERT_TRUE(WriteTarGz(dir, Tmp() / "b.tar.gz").ok());
  struct archive* a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_format_tar(a);
  ASSERT_EQ(archive_read_open_filename(a, (Tmp() / "b.tar.gz").c_str(), 4096),
            ARCHIVE_OK);
  std::vector<std::string> names;
  std::map<std::string, int> modes;
  struct archive_entry* entry;
  while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
    names.push_back(archive_entry_pathname(entry));
    modes[names.back()] = archive_entry_perm(entry);
    EXPECT_EQ(archive_entry_mtime(entry), 0);
    EXPECT_EQ(archive_entry_uid(entry), 0);
  }
  archive_read_free(a);
  EXPECT_EQ(names, (std::vector<std::string>{"b/", "b/VERIFY.sh", "b/a/",
                                             "b/a/b.txt", "b/z.txt"}));
  EXPECT_EQ(modes["b/VERIFY.sh"], 0755);
  EXPECT_EQ(modes["b/a/"], 0755);
  EXPECT_EQ(modes["b/z.txt"], 0644);
}

TEST_F(BundleArchiveTest, SameDirectoryGivesSameBytes) {
  const fs::path dir = Tmp() / "b";
  Write(dir / "x.txt", "x");
  ASSERT_TRUE(WriteTarGz(dir, Tmp() / "1.tar.gz").ok());
  fs::last_write_time(dir / "x.txt",
                      fs::file_time_type::clock::now() - std::chrono::hours(5));
  ASSERT_TRUE(WriteTarGz(dir, Tmp() / "2.tar.gz").ok());
  EXPECT_EQ(Read(Tmp() / "1.tar.gz"), Read(Tmp() / "2.tar.gz"));
}

TEST_F(BundleArchiveTest, WriteRefusesSymlinkInTheDirectory) {
  const fs::path dir = Tmp() / "b";
  Write(dir / "x.txt", "x");
  fs::create_symlink("/etc/passwd", dir / "link");
  absl::Status status = WriteTarGz(dir, Tmp() / "b.tar.gz");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(status), HasSubstr("link"));
  EXPECT_FALSE(fs::exists(Tmp() / "b.tar.gz"));
}

TEST_F(BundleArchiveTest, RefusesSymlinkEntry) {
  absl::StatusOr<fs::path> root =
      Unpack({Dir("b/"), Symlink("b/evil", "/etc/passwd")});
  EXPECT_EQ(root.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(root.status()), HasSubstr("b/evil"));
  EXPECT_THAT(Msg(root.status()), HasSubstr("symbolic link"));
  EXPECT_FALSE(fs::exists(Tmp() / "out/b/evil"));
}

TEST_F(BundleArchiveTest, RefusesHardLinkEntry) {
  absl::StatusOr<fs::path> root =
      Unpack({File("b/a", "x"), HardLink("b/evil", "/etc/passwd")});
  EXPECT_EQ(root.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(root.status()), HasSubstr("b/evil"));
  EXPECT_THAT(Msg(root.status()), HasSubstr("hard link"));
}

TEST_F(BundleArchiveTest, RefusesDotDotComponent) {
  absl::StatusOr<fs::path> root = Unpack({File("../x", "escaped")});
  EXPECT_EQ(root.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(root.status()), HasSubstr("\"../x\""));
  EXPECT_FALSE(fs::exists(Tmp() / "x"));
}

TEST_F(BundleArchiveTest, RefusesDotDotInsideThePath) {
  absl::StatusOr<fs::path> root = Unpack({File("b/a/../../../x", "e")});
  EXPECT_EQ(root.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(root.status()), HasSubstr(".."));
  EXPECT_FALSE(fs::exists(Tmp() / "x"));
}

TEST_F(BundleArchiveTest, RefusesAbsolutePath) {
  const fs::path target = Tmp() / "absolute-target";
  absl::StatusOr<fs::path> root = Unpack({File(target.string(), "e")});
  EXPECT_EQ(root.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(root.status()), HasSubstr("absolute"));
  EXPECT_FALSE(fs::exists(target));
}

TEST_F(BundleArchiveTest, RefusesDeviceEntry) {
  absl::StatusOr<fs::path> root = Unpack({CharDevice("b/null")});
  EXPECT_EQ(root.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(root.status()), HasSubstr("b/null"));
}

TEST_F(BundleArchiveTest, RefusesDuplicateFile) {
  absl::StatusOr<fs::path> root =
      Unpack({File("b/a", "first"), File("b/a", "second")});
  EXPECT_EQ(root.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(root.status()), HasSubstr("twice"));
}

TEST_F(BundleArchiveTest, RefusesFileOverOneGibibyteBeforeReadingIt) {
  WriteArchiveClaimingSize(Tmp() / "big.tar.gz", uint64_t{2} << 30);
  absl::StatusOr<fs::path> root =
      UnpackTarGz(Tmp() / "big.tar.gz", Tmp() / "out");
  EXPECT_EQ(root.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(root.status()), HasSubstr("\"big\""));
  EXPECT_THAT(Msg(root.status()), HasSubstr("bytes"));
}

TEST_F(BundleArchiveTest, RefusesWhatIsNotATarGz) {
  Write(Tmp() / "junk.tar.gz", "this is not an archive");
  absl::StatusOr<fs::path> root =
      UnpackTarGz(Tmp() / "junk.tar.gz", Tmp() / "out");
  EXPECT_FALSE(root.ok());
}

TEST_F(BundleArchiveTest, WithoutOneTopDirectoryTheTargetIsTheRoot) {
  absl::StatusOr<fs::path> root =
      Unpack({File("./README.txt", "r"), File("./keys/a", "k")});
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(*root, Tmp() / "out");
  EXPECT_EQ(Read(Tmp() / "out/keys/a"), "k");
}

// ---------------------------------------------------------------------------
// SHA256SUMS.

const std::string kDigest(64, 'a');

TEST(Sha256SumsTest, ParsesSortedLines) {
  absl::StatusOr<std::vector<Sha256SumsEntry>> entries = ParseSha256Sums(
      absl::StrCat(kDigest, "  README.txt\n", kDigest, "  keys/a.pub.pem\n"));
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[1].path, "keys/a.pub.pem");
  EXPECT_EQ((*entries)[1].sha256, kDigest);
}

TEST(Sha256SumsTest, RefusesDotDotPath) {
  absl::StatusOr<std::vector<Sha256SumsEntry>> entries =
      ParseSha256Sums(absl::StrCat(kDigest, "  ../../etc/passwd\n"));
  EXPECT_THAT(Msg(entries.status()), StartsWith("SHA256SUMS: line 1"));
  EXPECT_THAT(Msg(entries.status()), HasSubstr("unsafe path"));
}

TEST(Sha256SumsTest, RefusesDotDotInTheMiddle) {
  EXPECT_FALSE(ParseSha256Sums(absl::StrCat(kDigest, "  keys/../../x\n")).ok());
}

TEST(Sha256SumsTest, RefusesAbsolutePath) {
  absl::StatusOr<std::vector<Sha256SumsEntry>> entries =
      ParseSha256Sums(absl::StrCat(kDigest, "  /etc/passwd\n"));
  EXPECT_THAT(Msg(entries.status()), HasSubstr("unsafe path"));
}

TEST(Sha256SumsTest, RefusesUnexpectedCharacters) {
  EXPECT_FALSE(ParseSha256Sums(absl::StrCat(kDigest, "  a b\n")).ok());
  EXPECT_FALSE(ParseSha256Sums(absl::StrCat(kDigest, "  a\\b\n")).ok());
  EXPECT_FALSE(ParseSha256Sums(absl::StrCat(kDigest, "  a//b\n")).ok());
  EXPECT_FALSE(ParseSha256Sums(absl::StrCat(kDigest, "  .hidden\n")).ok());
}

TEST(Sha256SumsTest, RefusesUnsortedLines) {
  absl::StatusOr<std::vector<Sha256SumsEntry>> entries =
      ParseSha256Sums(absl::StrCat(kDigest, "  b\n", kDigest, "  a\n"));
  EXPECT_THAT(Msg(entries.status()), HasSubstr("line 2"));
  EXPECT_THAT(Msg(entries.status()), HasSubstr("out of order"));
}

TEST(Sha256SumsTest, RefusesDuplicatePath) {
  absl::StatusOr<std::vector<Sha256SumsEntry>> entries =
      ParseSha256Sums(absl::StrCat(kDigest, "  a\n", kDigest, "  a\n"));
  EXPECT_THAT(Msg(entries.status()), HasSubstr("twice"));
}

TEST(Sha256SumsTest, RefusesMalformedDigests) {
  EXPECT_FALSE(
      ParseSha256Sums(absl::StrCat(std::string(64, 'A'), "  a\n")).ok());
  EXPECT_FALSE(
      ParseSha256Sums(absl::StrCat(std::string(63, 'a'), "  a\n")).ok());
  EXPECT_FALSE(ParseSha256Sums(absl::StrCat(kDigest, " *a\n")).ok());
  EXPECT_FALSE(ParseSha256Sums(absl::StrCat(kDigest, "\ta\n")).ok());
}

TEST(Sha256SumsTest, RefusesMissingFinalLineFeed) {
  EXPECT_FALSE(ParseSha256Sums(absl::StrCat(kDigest, "  a")).ok());
  EXPECT_FALSE(ParseSha256Sums("").ok());
}

TEST(Sha256SumsTest, RefusesListingItself) {
  EXPECT_FALSE(ParseSha256Sums(absl::StrCat(kDigest, "  SHA256SUMS\n")).ok());
}

// ---------------------------------------------------------------------------
// VerifyBundle and VERIFY.sh on built bundles.

class VerifyBundleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    clean_dir_ = new ScopedTempDir;
    bundle_ = new FakeBundle;
    bundle_->Build(clean_dir_->path() / "bundle", 3, 5);
  }
  static void TearDownTestSuite() {
    delete bundle_;
    delete clean_dir_;
  }
  void SetUp() override {
    ASSERT_FALSE(HasFatalFailure());
    dir_ = tmp_.path() / "bundle";
    fs::copy(clean_dir_->path() / "bundle", dir_, fs::copy_options::recursive);
  }

  const FakeAgent& Agent(int i) const { return bundle_->agents()[i]; }
  fs::path Snapshot(int agent, int seq, const std::string& ext) const {
    return dir_ / "snapshots" / Agent(agent).id / absl::StrCat(seq, ".", ext);
  }
  absl::Status Verify() { return VerifyBundle(dir_, 2).status(); }
  void Resign() { ResealSums(dir_, bundle_->collector_key()); }

  v1::BundleManifest Manifest() {
    v1::BundleManifest manifest;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(
                    Read(dir_ / "manifest.json"), &manifest)
                    .ok());
    return manifest;
  }
  void SetManifest(const v1::BundleManifest& manifest) {
    Write(dir_ / "manifest.json", Json(manifest));
  }

  static ScopedTempDir* clean_dir_;
  static FakeBundle* bundle_;
  ScopedTempDir tmp_;
  fs::path dir_;
};
ScopedTempDir* VerifyBundleTest::clean_dir_ = nullptr;
FakeBundle* VerifyBundleTest::bundle_ = nullptr;

TEST_F(VerifyBundleTest, CleanBundleVerifiesWithEveryCount) {
  absl::StatusOr<BundleVerification> v = VerifyBundle(dir_, 2);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->agents, 3u);
  EXPECT_EQ(v->snapshots, 15u);
  EXPECT_EQ(v->chains, 3u);
  EXPECT_EQ(v->manual, 1u);
  EXPECT_EQ(v->log_size, 18u);
  EXPECT_EQ(v->controls, 93u);
  EXPECT_EQ(v->collector_key_id, bundle_->collector_key().public_key().KeyId());
  // Every file but SHA256SUMS and its signature.
  const std::string sums = Read(dir_ / "SHA256SUMS");
  EXPECT_EQ(v->files,
            static_cast<uint64_t>(std::count(sums.begin(), sums.end(), '\n')));
}

TEST_F(VerifyBundleTest, OneThreadGivesTheSameAnswer) {
  EXPECT_TRUE(VerifyBundle(dir_, 1).ok());
}

TEST_F(VerifyBundleTest, VerifyShPassesFromAnyDirectoryWithAnEmptyEnvironment) {
  auto [code, output] = RunVerifySh(dir_);
  EXPECT_EQ(code, 0) << output;
  EXPECT_THAT(output, HasSubstr("15 snapshot signatures from 3 agents"));
  EXPECT_THAT(output, HasSubstr("1 manual evidence statements"));
  EXPECT_THAT(output, HasSubstr("tree size 18"));
  EXPECT_THAT(output, HasSubstr(bundle_->collector_key().public_key().KeyId()));
}

TEST_F(VerifyBundleTest, VerifyShLeavesNoTemporaryFile) {
  const fs::path tmp = tmp_.path() / "shtmp";
  fs::create_directories(tmp);
  auto [code, output] =
      Shell(absl::StrCat("env -i PATH=/usr/bin:/bin TMPDIR='", tmp.string(),
                         "' sh '", (dir_ / "VERIFY.sh").string(), "'"));
  EXPECT_EQ(code, 0) << output;
  EXPECT_TRUE(fs::is_empty(tmp));
}

TEST_F(VerifyBundleTest, TarGzVerifies) {
  ASSERT_TRUE(WriteTarGz(dir_, tmp_.path() / "bundle.tar.gz").ok());
  absl::StatusOr<BundleVerification> v =
      VerifyBundlePath(tmp_.path() / "bundle.tar.gz", 2);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->snapshots, 15u);
}

TEST_F(VerifyBundleTest, FlippedPayloadByteNamesThePayload) {
  std::string payload = Read(Snapshot(1, 3, "payload"));
  payload[payload.size() / 2] ^= 0x01;
  Write(Snapshot(1, 3, "payload"), payload);
  absl::Status status = Verify();
  EXPECT_THAT(Msg(status), StartsWith(absl::StrCat("snapshots/", Agent(1).id,
                                                   "/3.payload")));
  auto [code, output] = RunVerifySh(dir_);
  EXPECT_EQ(code, 1);
  EXPECT_THAT(output, HasSubstr(absl::StrCat("FAILED: snapshots/", Agent(1).id,
                                             "/3.payload")));
}

TEST_F(VerifyBundleTest, UnlistedFileIsRefused) {
  Write(dir_ / "objects/extra", "x");
  EXPECT_THAT(Msg(Verify()), StartsWith("objects/extra: not listed"));
}

TEST_F(VerifyBundleTest, SymlinkInTheBundleIsRefused) {
  fs::remove(dir_ / "README.txt");
  fs::create_symlink("/etc/passwd", dir_ / "README.txt");
  EXPECT_THAT(Msg(Verify()), StartsWith("README.txt: a symbolic link"));
}

TEST_F(VerifyBundleTest, SumsSignedByAnotherKeyAreRefused) {
  ResealSums(dir_, *PrivateKey::Generate());
  EXPECT_THAT(Msg(Verify()), StartsWith("SHA256SUMS.sig: not a valid"));
  auto [code, output] = RunVerifySh(dir_);
  EXPECT_EQ(code, 1);
  EXPECT_THAT(output, HasSubstr("FAILED: SHA256SUMS.sig"));
}

TEST_F(VerifyBundleTest, UnsafePathInResignedSumsIsRefusedBeforeReading) {
  Resign();
  const std::string sums =
      absl::StrCat(Sha256Hex(""), "  ../outside\n", Read(dir_ / "SHA256SUMS"));
  Write(dir_ / "SHA256SUMS", sums);
  Write(dir_ / "SHA256SUMS.sig", *bundle_->collector_key().Sign(sums));
  EXPECT_THAT(Msg(Verify()), HasSubstr("unsafe path"));
  auto [code, output] = RunVerifySh(dir_);
  EXPECT_EQ(code, 1);
  EXPECT_THAT(output, HasSubstr("FAILED: SHA256SUMS: lists an unsafe path"));
}

// What an insider holding the collector key, but no agent key, can try.

TEST_F(VerifyBundleTest, ResignedForgedSnapshotSignatureIsCaught) {
  std::string sig = Read(Snapshot(0, 2, "sig"));
  sig[5] ^= 0x01;
  Write(Snapshot(0, 2, "sig"), sig);
  Resign();
  EXPECT_EQ(RunVerifySh(dir_).first, 1);
  absl::Status status = Verify();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(Msg(status),
              StartsWith(absl::StrCat("snapshots/", Agent(0).id, "/2.sig")));
}

TEST_F(VerifyBundleTest, SnapshotRemovedFromTheMiddleOfAChainIsCaught) {
  fs::remove(Snapshot(2, 3, "payload"));
  fs::remove(Snapshot(2, 3, "sig"));
  fs::remove(dir_ / "log/proofs" / Agent(2).id / "3.proof");
  v1::BundleManifest manifest = Manifest();
  auto* snapshots = manifest.mutable_agents(2)->mutable_snapshots();
  snapshots->erase(snapshots->begin() + 2);
  SetManifest(manifest);
  Resign();
  EXPECT_EQ(RunVerifySh(dir_).first, 0);  // not VERIFY.sh's to see
  absl::Status status = Verify();
  EXPECT_THAT(Msg(status), StartsWith("manifest.json"));
  EXPECT_THAT(Msg(status), HasSubstr("seq 4 follows seq 2"));
}

TEST_F(VerifyBundleTest, SnapshotRemovedButStillInTheManifestIsCaught) {
  fs::remove(Snapshot(2, 3, "payload"));
  fs::remove(Snapshot(2, 3, "sig"));
  Resign();
  EXPECT_THAT(Msg(Verify()), StartsWith(absl::StrCat("snapshots/", Agent(2).id,
                                                     "/3.payload: missing")));
}

TEST_F(VerifyBundleTest, SnapshotsSwappedBetweenSeqsBreakTheChain) {
  // Seq 2 and 3 of one agent exchanged, manifest and SHA256SUMS adjusted.
  for (const char* ext : {"payload", "sig"}) {
    fs::rename(Snapshot(0, 2, ext), tmp_.path() / "t");
    fs::rename(Snapshot(0, 3, ext), Snapshot(0, 2, ext));
    fs::rename(tmp_.path() / "t", Snapshot(0, 3, ext));
  }
  v1::BundleManifest manifest = Manifest();
  auto* s = manifest.mutable_agents(0)->mutable_snapshots();
  std::string second = s->Get(1).payload_sha256();
  s->Mutable(1)->set_payload_sha256(s->Get(2).payload_sha256());
  s->Mutable(2)->set_payload_sha256(second);
  SetManifest(manifest);
  Resign();
  EXPECT_THAT(Msg(Verify()), StartsWith(absl::StrCat("snapshots/", Agent(0).id,
                                                     "/2.payload: has seq 3")));
}

TEST_F(VerifyBundleTest, SnapshotFileTheManifestDoesNotListIsCaught) {
  Write(Snapshot(0, 9, "payload"), "x");
  Resign();
  EXPECT_THAT(Msg(Verify()),
              StartsWith(absl::StrCat("snapshots/", Agent(0).id,
                                      "/9.payload: a snapshot file")));
}

TEST_F(VerifyBundleTest, MissingFactsObjectIsCaught) {
  std::vector<fs::path> objects;
  for (const auto& e : fs::directory_iterator(dir_ / "objects")) {
    if (Read(e.path()).rfind("%PDF", 0) != 0) objects.push_back(e.path());
  }
  ASSERT_FALSE(objects.empty());
  fs::remove(objects[0]);
  Resign();
  absl::Status status = Verify();
  EXPECT_THAT(Msg(status), StartsWith("snapshots/"));
  EXPECT_THAT(Msg(status), HasSubstr(absl::StrCat(
                               "objects/", objects[0].filename().string())));
}

TEST_F(VerifyBundleTest, ObjectWhoseNameIsNotItsDigestIsCaught) {
  for (const auto& e : fs::directory_iterator(dir_ / "objects")) {
    if (Read(e.path()).rfind("%PDF", 0) == 0) {
      Write(e.path(), "%PDF-1.4 another document\n");
      Resign();
      EXPECT_THAT(Msg(Verify()), StartsWith(absl::StrCat(
                                     "objects/", e.path().filename().string(),
                                     ": its name is not its SHA-256")));
      return;
    }
  }
  FAIL() << "no document in the bundle";
}

TEST_F(VerifyBundleTest, ProofOfAnotherLeafIsCaught) {
  const fs::path a = dir_ / "log/proofs" / Agent(0).id / "1.proof";
  const fs::path b = dir_ / "log/proofs" / Agent(0).id / "2.proof";
  Write(a, Read(b));
  Resign();
  EXPECT_THAT(Msg(Verify()),
              StartsWith(absl::StrCat("log/proofs/", Agent(0).id, "/1.proof")));
}

TEST_F(VerifyBundleTest, ProofWithAFlippedHashIsCaught) {
  const fs::path proof = dir_ / "log/proofs" / Agent(1).id / "4.proof";
  std::string text = Read(proof);
  const size_t last = text.size() - 2;  // a hex digit of the last hash
  text[last] = text[last] == '0' ? '1' : '0';
  Write(proof, text);
  Resign();
  absl::Status status = Verify();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(Msg(status),
              StartsWith(absl::StrCat("log/proofs/", Agent(1).id, "/4.proof")));
}

TEST_F(VerifyBundleTest, CheckpointOfAnotherLogIsCaught) {
  Checkpoint other;
  other.collector_key_id = bundle_->collector_key().public_key().KeyId();
  other.size = 18;
  other.root = Sha256("another root");
  other.time = bundle_->to();
  const std::string text = FormatCheckpoint(other);
  Write(dir_ / "log/checkpoint", text);
  Write(dir_ / "log/checkpoint.sig", *bundle_->collector_key().Sign(text));
  Resign();
  EXPECT_EQ(RunVerifySh(dir_).first, 0);
  EXPECT_THAT(Msg(Verify()), StartsWith("log/proofs/"));
}

TEST_F(VerifyBundleTest, ManifestDigestThatIsNotThePayloadsIsCaught) {
  v1::BundleManifest manifest = Manifest();
  manifest.mutable_agents(1)->mutable_snapshots(0)->set_payload_sha256(
      std::string(64, '0'));
  SetManifest(manifest);
  Resign();
  EXPECT_THAT(Msg(Verify()),
              StartsWith(absl::StrCat("snapshots/", Agent(1).id,
                                      "/1.payload: its SHA-256 is not")));
}

TEST_F(VerifyBundleTest, ManifestOfAnotherFormatIsRefused) {
  v1::BundleManifest manifest = Manifest();
  manifest.set_format("evidentia-bundle-v2");
  SetManifest(manifest);
  Resign();
  EXPECT_THAT(Msg(Verify()), StartsWith("manifest.json: format"));
}

TEST_F(VerifyBundleTest, FingerprintsThatDoNotMatchTheKeysAreCaught) {
  std::string text = Read(dir_ / "keys/FINGERPRINTS.txt");
  text[0] = text[0] == 'a' ? 'b' : 'a';
  Write(dir_ / "keys/FINGERPRINTS.txt", text);
  Resign();
  EXPECT_THAT(Msg(Verify()), StartsWith("keys/FINGERPRINTS.txt: line 1"));
}

TEST_F(VerifyBundleTest, AgentKeyReplacedByTheInsiderIsCaught) {
  Write(dir_ / "keys/agents" / absl::StrCat(Agent(1).id, ".pub.pem"),
        PrivateKey::Generate()->public_key().ToPem());
  Resign();
  EXPECT_THAT(Msg(Verify()),
              StartsWith(absl::StrCat("keys/agents/", Agent(1).id,
                                      ".pub.pem: fingerprint")));
}

TEST_F(VerifyBundleTest, ForgedManualStatementIsCaught) {
  std::string statement = Read(dir_ / "manual/a.5.1/1.statement");
  statement.back() ^= 0x01;
  Write(dir_ / "manual/a.5.1/1.statement", statement);
  Resign();
  EXPECT_EQ(RunVerifySh(dir_).first, 1);
  EXPECT_THAT(Msg(Verify()), StartsWith("manual/a.5.1/1.sig"));
}

TEST_F(VerifyBundleTest, EditedGradeIsCaughtByRegrading) {
  std::string csv = Read(dir_ / "report/summary.csv");
  const size_t row = csv.find("\na.5.1,");
  ASSERT_NE(row, std::string::npos);
  const size_t compliant = csv.find("compliant", row);
  ASSERT_NE(compliant, std::string::npos);
  csv.replace(compliant, 9, "noncompliant");
  Write(dir_ / "report/summary.csv", csv);
  Resign();
  EXPECT_EQ(RunVerifySh(dir_).first, 0);
  absl::Status status = Verify();
  EXPECT_THAT(Msg(status), StartsWith("report/summary.csv"));
  EXPECT_THAT(Msg(status), HasSubstr("a.5.1"));
}

TEST_F(VerifyBundleTest, EditedPolicyIsCaught) {
  std::string checks = Read(dir_ / "policies/checks/linux.yaml");
  checks += "\n# edited\n";
  Write(dir_ / "policies/checks/linux.yaml", checks);
  Resign();
  EXPECT_THAT(Msg(Verify()), StartsWith("manifest.json: policy_sha256"));
}

// `evidentia verify`.

TEST_F(VerifyBundleTest, CommandPrintsWhatItVerified) {
  std::ostringstream out, err;
  EXPECT_EQ(RunVerify(dir_.string(), 2, false, out, err), 0) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("15 snapshot signatures from 3 agents"));
  EXPECT_THAT(out.str(), HasSubstr("3 chains"));
  EXPECT_THAT(out.str(), HasSubstr("log checkpoint of size 18"));
  EXPECT_THAT(out.str(), HasSubstr("93 controls re-graded"));
  EXPECT_THAT(out.str(),
              HasSubstr(bundle_->collector_key().public_key().KeyId()));
}

TEST_F(VerifyBundleTest, CommandWithJsonSaysOkAndCounts) {
  std::ostringstream out, err;
  EXPECT_EQ(RunVerify(dir_.string(), 0, true, out, err), 0);
  EXPECT_THAT(out.str(), HasSubstr("\"ok\":true"));
  EXPECT_THAT(out.str(), HasSubstr("\"snapshots\":15"));
}

TEST_F(VerifyBundleTest, CommandFailureExitsOneNamingTheFile) {
  fs::remove(dir_ / "report/index.html");
  std::ostringstream out, err;
  EXPECT_EQ(RunVerify(dir_.string(), 0, false, out, err), 1);
  EXPECT_THAT(err.str(), HasSubstr("report/index.html: missing"));
}

TEST(VerifyCommandTest, MissingBundleExitsOne) {
  std::ostringstream out, err;
  EXPECT_EQ(RunVerify("/nonexistent/bundle", 0, false, out, err), 1);
  EXPECT_THAT(err.str(), HasSubstr("/nonexistent/bundle"));
}

}  // namespace
}  // namespace evidentia::collector
