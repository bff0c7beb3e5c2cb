#include "collector/export/bundle_export.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "bundle/assets.h"
#include "bundle/oscal.h"
#include "bundle/paths.h"
#include "bundle/report.h"
#include "collector/query/queries.h"
#include "collector/store/keys.h"
#include "collector/store/records.h"
#include "common/checkpoint.h"
#include "common/json.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "evidentia/v1/bundle.pb.h"
#include "evidentia/v1/operator.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "evidentia/v1/snapshot.pb.h"
#include "evidentia/v1/store.pb.h"
#include "grading/fleet.h"
#include "grading/timeline.h"
#include "isms/register.h"
#include "view/pages.h"

namespace evidentia::collector {
namespace {

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// Every file goes through here: path checked, digest noted for SHA256SUMS.
class BundleWriter {
 public:
  explicit BundleWriter(BundleSink& sink) : sink_(sink) {}

  absl::Status Add(absl::string_view path, absl::string_view bytes) {
    if (!bundle::IsSafePath(path)) {
      return absl::InvalidArgumentError(
          absl::StrCat("refusing unsafe bundle path \"", path, "\""));
    }
    sums_.emplace_back(std::string(path),
                       Sha256Hex(std::string_view(bytes.data(), bytes.size())));
    bytes_ += bytes.size();
    return sink_.Add(path, bytes);
  }

  // SHA256SUMS (sorted by path) and its signature by `key`.
  absl::Status Seal(const PrivateKey& key) {
    std::sort(sums_.begin(), sums_.end());
    std::string sums;
    for (size_t i = 0; i < sums_.size(); ++i) {
      const auto& [path, hex] = sums_[i];
      if (i > 0 && sums_[i - 1].first == path) {
        return absl::InternalError(absl::StrCat(path, " written twice"));
      }
      absl::StrAppend(&sums, hex, "  ", path, "\n");
    }
    ASSIGN_OR_RETURN(std::string signature, key.Sign(sums));
    bytes_ += sums.size() + signature.size();
    RETURN_IF_ERROR(sink_.Add(bundle::kSums, sums));
    return sink_.Add(bundle::kSumsSig, signature);
  }

  uint64_t files() const { return sums_.size() + 2; }
  uint64_t bytes() const { return bytes_; }

 private:
  BundleSink& sink_;
  // (path, hex digest); sorted bytewise by path when sealed.
  std::vector<std::pair<std::string, std::string>> sums_;
  uint64_t bytes_ = 0;
};

// The first stored snapshot of `agent_id` with seq >= `seq`, as (seq,
// record); nullopt if none. Seqs are sparse where a gap snapshot stands for
// lost ones (proto/README.md, "Gaps").
absl::StatusOr<std::optional<std::pair<uint64_t, v1::StoredSnapshot>>>
StoredAtOrAfter(const Store& store, const std::string& agent_id, uint64_t seq) {
  std::optional<std::pair<uint64_t, v1::StoredSnapshot>> found;
  absl::Status status;
  RETURN_IF_ERROR(store.Scan(
      Table::kSnapshots, keys::AgentPrefix(agent_id),
      [&](absl::string_view key, absl::string_view value) {
        absl::StatusOr<v1::StoredSnapshot> stored =
            DecodeRecord<v1::StoredSnapshot>(value, "snapshot");
        if (!stored.ok()) {
          status = stored.status();
        } else {
          found.emplace(keys::ReadBigEndian64(key.substr(key.size() - 8)),
                        *std::move(stored));
        }
        return false;
      },
      keys::Snapshot(agent_id, seq)));
  RETURN_IF_ERROR(status);
  return found;
}

// The last stored seq of `agent_id` below `seq`, or 0 if none.
absl::StatusOr<uint64_t> StoredBefore(const Store& store,
                                      const std::string& agent_id,
                                      uint64_t seq) {
  if (seq <= 1) return 0;
  ASSIGN_OR_RETURN(
      auto found,
      store.LastAtOrBefore(Table::kSnapshots, keys::AgentPrefix(agent_id),
                           keys::Snapshot(agent_id, seq - 1)));
  if (!found.has_value()) return 0;
  return keys::ReadBigEndian64(
      absl::string_view(found->first).substr(found->first.size() - 8));
}

// The largest stored seq in [1, last] received at or before `at` (0 if
// none); `last` is 0 or a stored seq. The collector stamps receive times in
// acceptance order, so they rise with seq and a binary search finds it.
// Seqs lost behind a gap snapshot (proto/README.md, "Gaps") were never
// stored and count as received with that gap: the search steps over them,
// so both of its bounds are always stored seqs (or 0).
absl::StatusOr<uint64_t> LastSeqAtOrBefore(const Store& store,
                                           const std::string& agent_id,
                                           uint64_t last, absl::Time at) {
  uint64_t lo = 0, hi = last;  // answer in [lo, hi]
  while (lo < hi) {
    // In (lo, hi], rounded up; hi - lo + 1 would overflow at 2^64 - 1.
    const uint64_t mid = lo + (hi - lo - 1) / 2 + 1;
    ASSIGN_OR_RETURN(auto stored, StoredAtOrAfter(store, agent_id, mid));
    if (!stored.has_value() || stored->first > hi) {
      return absl::DataLossError(
          absl::StrCat("snapshot ", hi, " of agent ", agent_id, " is missing"));
    }
    if (FromProto(stored->second.received_at()) <= at) {
      lo = stored->first;
    } else {
      // Received too late, and so was every seq in [mid, stored->first)
      // (lost behind it when it is a gap snapshot): the answer is stored
      // before mid, at or above lo.
      ASSIGN_OR_RETURN(hi, StoredBefore(store, agent_id, mid));
    }
  }
  return lo;
}

// One agent's part of the bundle, planned before anything is written.
struct AgentPlan {
  HostPtr host;
  uint64_t first = 0;  // 0: no snapshots
  uint64_t last = 0;
  // The stored seqs in [first, last], ascending (sparse after a gap
  // snapshot), and the leaf index of each.
  std::vector<uint64_t> seqs;
  std::vector<uint64_t> leaf_indexes;
};

// Plans every agent against the checkpoint of `log_size`. FAILED_PRECONDITION
// (retryable) when a snapshot received by `to` is not in that checkpoint yet.
absl::StatusOr<std::vector<AgentPlan>> Plan(const ExportSources& sources,
                                            const std::vector<HostPtr>& hosts,
                                            absl::Time from, absl::Time to,
                                            uint64_t log_size) {
  std::vector<AgentPlan> plans;
  for (const HostPtr& host : hosts) {
    const std::string& agent_id = host->agent.agent_id();
    if (!bundle::IsAgentId(agent_id)) {
      return absl::DataLossError(
          absl::StrCat("stored agent id \"", absl::CHexEscape(agent_id),
                       "\" is not an agent id; refusing to export it"));
    }
    AgentPlan& plan = plans.emplace_back();
    plan.host = host;
    ASSIGN_OR_RETURN(std::optional<v1::AgentRecord> current,
                     GetRecord<v1::AgentRecord>(*sources.store, Table::kAgents,
                                                agent_id, "agent record"));
    const uint64_t newest = current.has_value() ? current->last_seq() : 0;
    ASSIGN_OR_RETURN(plan.last,
                     LastSeqAtOrBefore(*sources.store, agent_id, newest, to));
    if (plan.last == 0) continue;
    ASSIGN_OR_RETURN(uint64_t before,
                     LastSeqAtOrBefore(*sources.store, agent_id, plan.last,
                                       from - absl::Nanoseconds(1)));
    plan.first = std::max<uint64_t>(before, 1);
    RETURN_IF_ERROR(sources.store->Scan(
        Table::kSnapshots, keys::AgentPrefix(agent_id),
        [&](absl::string_view key, absl::string_view) {
          const uint64_t seq =
              keys::ReadBigEndian64(key.substr(key.size() - 8));
          if (seq > plan.last) return false;
          plan.seqs.push_back(seq);
          return true;
        },
        keys::Snapshot(agent_id, plan.first)));
    for (uint64_t seq : plan.seqs) {
      ASSIGN_OR_RETURN(std::optional<uint64_t> index,
                       sources.log->LeafIndex(agent_id, seq));
      if (!index.has_value() || *index >= log_size) {
        return absl::FailedPreconditionError(
            absl::StrCat("snapshot ", seq, " of agent ", agent_id,
                         " is not in the checkpoint yet"));
      }
      plan.leaf_indexes.push_back(*index);
    }
  }
  return plans;
}

// The ISMS records received by `to` and their leaf indexes in the
// checkpoint of `log_size`; FAILED_PRECONDITION (retryable) when one is
// not in it yet.
struct IsmsPlan {
  std::vector<v1::StoredIsmsRecord> records;
  std::vector<uint64_t> leaf_indexes;
};

absl::StatusOr<IsmsPlan> PlanIsms(const ExportSources& sources, absl::Time to,
                                  uint64_t log_size) {
  IsmsPlan plan;
  ASSIGN_OR_RETURN(plan.records, IsmsRecords(*sources.store, to));
  for (const v1::StoredIsmsRecord& record : plan.records) {
    ASSIGN_OR_RETURN(std::optional<uint64_t> index,
                     sources.log->LeafIndex(keys::kIsmsLogId, record.number()));
    if (!index.has_value() || *index >= log_size) {
      return absl::FailedPreconditionError(absl::StrCat(
          "ISMS record ", record.number(), " is not in the checkpoint yet"));
    }
    plan.leaf_indexes.push_back(*index);
  }
  return plan;
}

absl::Status AddObject(const Store& store, BundleWriter& writer,
                       std::set<std::string>& written,
                       const std::string& digest) {
  if (!written.insert(digest).second) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::optional<std::string> body,
                   store.Get(Table::kObjects, digest));
  if (!body.has_value()) {
    return absl::DataLossError(
        absl::StrCat("object ", ToHex(digest), " is missing from the store"));
  }
  ASSIGN_OR_RETURN(std::string path, bundle::ObjectPath(digest));
  return writer.Add(path, *body);
}

// Snapshots, proofs and facts bodies of one agent; fills its manifest entry.
absl::Status ExportAgent(const ExportSources& sources, const AgentPlan& plan,
                         const Checkpoint& checkpoint, BundleWriter& writer,
                         std::set<std::string>& objects,
                         v1::BundleAgent& entry) {
  const v1::AgentRecord& agent = plan.host->agent;
  const std::string& agent_id = agent.agent_id();
  entry.set_agent_id(agent_id);
  entry.set_key_id(agent.key_id());
  entry.set_hostname(agent.host().hostname());
  entry.mutable_labels()->insert(agent.labels().begin(), agent.labels().end());
  *entry.mutable_enrolled_at() = agent.enrolled_at();
  ASSIGN_OR_RETURN(std::optional<v1::AgentRevocation> revocation,
                   GetRecord<v1::AgentRevocation>(*sources.store, Table::kMeta,
                                                  keys::Revocation(agent_id),
                                                  "agent revocation"));
  if (revocation.has_value()) {
    *entry.mutable_revoked_at() = revocation->revoked_at();
  }
  ASSIGN_OR_RETURN(std::string key_path, bundle::AgentKeyPath(agent_id));
  RETURN_IF_ERROR(writer.Add(key_path, agent.public_key_pem()));
  // Every key the agent retired, with the statement that retired it.
  for (int r = 0; r < agent.rotations_size(); ++r) {
    const v1::KeyRotationRecord& rotation = agent.rotations(r);
    const uint64_t last_seq = rotation.last_seq();
    for (const auto& [extension, bytes] :
         {std::pair{bundle::kRetiredKeyExtension,
                    &rotation.old_public_key_pem()},
          {bundle::kRotationExtension, &rotation.statement()},
          {bundle::kRotationSigExtension, &rotation.old_signature()},
          {bundle::kRotationNewSigExtension, &rotation.new_signature()}}) {
      ASSIGN_OR_RETURN(std::string path, bundle::AgentRotationPath(
                                             agent_id, last_seq, extension));
      RETURN_IF_ERROR(writer.Add(path, *bytes));
    }
    v1::BundleKeyRotation& listed = *entry.add_rotations();
    listed.set_last_seq(last_seq);
    listed.set_old_key_id(rotation.old_key_id());
    listed.set_new_key_id(r + 1 < agent.rotations_size()
                              ? agent.rotations(r + 1).old_key_id()
                              : agent.key_id());
    *listed.mutable_received_at() = rotation.received_at();
  }
  if (plan.seqs.empty()) return absl::OkStatus();

  absl::Status status;
  size_t next = 0;  // into plan.seqs
  uint64_t seq = plan.seqs.empty() ? 0 : plan.seqs[0];
  RETURN_IF_ERROR(sources.store->Scan(
      Table::kSnapshots, keys::AgentPrefix(agent_id),
      [&](absl::string_view key, absl::string_view value) {
        if (keys::ReadBigEndian64(key.substr(key.size() - 8)) != seq) {
          status = absl::DataLossError(absl::StrCat(
              "snapshot ", seq, " of agent ", agent_id, " is missing"));
          return false;
        }
        status = [&]() -> absl::Status {
          ASSIGN_OR_RETURN(v1::StoredSnapshot stored,
                           DecodeRecord<v1::StoredSnapshot>(value, "snapshot"));
          const std::string& payload = stored.envelope().payload();
          v1::Snapshot snapshot;
          if (!snapshot.ParseFromString(payload)) {
            return absl::DataLossError(absl::StrCat("stored snapshot ", seq,
                                                    " of agent ", agent_id,
                                                    " is corrupt"));
          }
          ASSIGN_OR_RETURN(std::string payload_path,
                           bundle::SnapshotPath(agent_id, seq, "payload"));
          ASSIGN_OR_RETURN(std::string sig_path,
                           bundle::SnapshotPath(agent_id, seq, "sig"));
          RETURN_IF_ERROR(writer.Add(payload_path, payload));
          RETURN_IF_ERROR(writer.Add(sig_path, stored.envelope().signature()));
          for (const v1::Observation& o : snapshot.observations()) {
            if (o.facts_sha256().empty()) continue;
            RETURN_IF_ERROR(
                AddObject(*sources.store, writer, objects, o.facts_sha256()));
          }
          const uint64_t index = plan.leaf_indexes[next];
          InclusionProof proof;
          proof.index = index;
          proof.size = checkpoint.size;
          ASSIGN_OR_RETURN(proof.hashes,
                           sources.log->InclusionProof(index, checkpoint.size));
          ASSIGN_OR_RETURN(std::string proof_path,
                           bundle::ProofPath(agent_id, seq));
          RETURN_IF_ERROR(writer.Add(proof_path, FormatInclusionProof(proof)));

          v1::BundleSnapshot& s = *entry.add_snapshots();
          s.set_seq(seq);
          *s.mutable_received_at() = stored.received_at();
          s.set_log_index(index);
          s.set_payload_sha256(Sha256Hex(payload));
          if (snapshot.has_gap()) {
            s.set_gap_first_seq(snapshot.gap().first_seq());
            s.set_gap_last_payload_sha256(
                ToHex(snapshot.gap().last_payload_sha256()));
          }
          return absl::OkStatus();
        }();
        if (!status.ok() || ++next >= plan.seqs.size()) return false;
        seq = plan.seqs[next];
        return true;
      },
      keys::Snapshot(agent_id, plan.seqs.empty() ? 0 : plan.seqs[0])));
  RETURN_IF_ERROR(status);
  if (next < plan.seqs.size()) {
    return absl::DataLossError(
        absl::StrCat("snapshot ", seq, " of agent ", agent_id, " is missing"));
  }
  return absl::OkStatus();
}

// Manual evidence recorded by `to`, numbered per control in time order.
absl::Status ExportManual(const ExportSources& sources, absl::Time to,
                          BundleWriter& writer, std::set<std::string>& objects,
                          v1::BundleManifest& manifest) {
  std::map<std::string, uint32_t> numbers;
  absl::Status status;
  RETURN_IF_ERROR(sources.store->Scan(
      Table::kManual, "", [&](absl::string_view, absl::string_view value) {
        status = [&]() -> absl::Status {
          ASSIGN_OR_RETURN(
              v1::StoredManualEvidence stored,
              DecodeRecord<v1::StoredManualEvidence>(value, "manual evidence"));
          if (FromProto(stored.received_at()) > to) return absl::OkStatus();
          v1::ManualEvidenceStatement statement;
          if (!statement.ParseFromString(stored.statement())) {
            return absl::DataLossError("stored manual evidence is corrupt");
          }
          const uint32_t number = ++numbers[statement.control_id()];
          ASSIGN_OR_RETURN(
              std::string statement_path,
              bundle::ManualPath(statement.control_id(), number, "statement"));
          ASSIGN_OR_RETURN(
              std::string sig_path,
              bundle::ManualPath(statement.control_id(), number, "sig"));
          RETURN_IF_ERROR(writer.Add(statement_path, stored.statement()));
          RETURN_IF_ERROR(writer.Add(sig_path, stored.signature()));
          RETURN_IF_ERROR(AddObject(*sources.store, writer, objects,
                                    statement.document_sha256()));
          v1::BundleManual& m = *manifest.add_manual();
          m.set_control_id(statement.control_id());
          m.set_number(number);
          *m.mutable_received_at() = stored.received_at();
          m.set_document_sha256(ToHex(statement.document_sha256()));
          return absl::OkStatus();
        }();
        return status.ok();
      }));
  return status;
}

// The ISMS records of `plan`: statements, signatures, inclusion proofs and
// the documents they name.
absl::Status ExportIsms(const ExportSources& sources, const IsmsPlan& plan,
                        const Checkpoint& checkpoint, BundleWriter& writer,
                        std::set<std::string>& objects,
                        v1::BundleManifest& manifest) {
  for (size_t i = 0; i < plan.records.size(); ++i) {
    const v1::StoredIsmsRecord& record = plan.records[i];
    const std::string kind(isms::KindOfPayloadType(record.payload_type()));
    v1::DocumentStatement document;
    if (kind.empty() ||
        (kind == "document" && !document.ParseFromString(record.statement()))) {
      return absl::DataLossError(
          absl::StrCat("stored ISMS record ", record.number(), " is corrupt"));
    }
    ASSIGN_OR_RETURN(
        std::string statement_path,
        bundle::IsmsRecordPath(record.number(), kind, "statement"));
    ASSIGN_OR_RETURN(std::string sig_path,
                     bundle::IsmsRecordPath(record.number(), kind, "sig"));
    RETURN_IF_ERROR(writer.Add(statement_path, record.statement()));
    RETURN_IF_ERROR(writer.Add(sig_path, record.signature()));
    if (kind == "document") {
      RETURN_IF_ERROR(
          AddObject(*sources.store, writer, objects, document.sha256()));
    }
    InclusionProof proof;
    proof.index = plan.leaf_indexes[i];
    proof.size = checkpoint.size;
    ASSIGN_OR_RETURN(proof.hashes,
                     sources.log->InclusionProof(proof.index, checkpoint.size));
    RETURN_IF_ERROR(writer.Add(bundle::IsmsProofPath(record.number()),
                               FormatInclusionProof(proof)));
    v1::BundleIsmsRecord& listed = *manifest.add_isms();
    listed.set_number(record.number());
    listed.set_kind(kind);
    *listed.mutable_received_at() = record.received_at();
    listed.set_log_index(proof.index);
    listed.set_statement_sha256(Sha256Hex(record.statement()));
    if (kind == "document") {
      listed.set_document_sha256(ToHex(document.sha256()));
    }
  }
  return absl::OkStatus();
}

absl::Status ExportKeysAndPolicies(const ExportSources& sources,
                                   const v1::BundleManifest& manifest,
                                   BundleWriter& writer) {
  const PublicKey collector = sources.collector_key->public_key();
  RETURN_IF_ERROR(writer.Add(bundle::kCollectorKey, collector.ToPem()));
  RETURN_IF_ERROR(
      writer.Add(bundle::kOperatorKey, sources.operator_key->ToPem()));
  std::map<std::string, std::string> fingerprints = {
      {bundle::kCollectorKey, collector.KeyId()},
      {bundle::kOperatorKey, sources.operator_key->KeyId()}};
  for (const v1::BundleAgent& agent : manifest.agents()) {
    ASSIGN_OR_RETURN(std::string path, bundle::AgentKeyPath(agent.agent_id()));
    fingerprints[path] = agent.key_id();
    for (const v1::BundleKeyRotation& rotation : agent.rotations()) {
      ASSIGN_OR_RETURN(
          std::string retired,
          bundle::AgentRotationPath(agent.agent_id(), rotation.last_seq(),
                                    bundle::kRetiredKeyExtension));
      fingerprints[retired] = rotation.old_key_id();
    }
  }
  std::string text;
  for (const auto& [path, id] : fingerprints) {
    absl::StrAppend(&text, id, "  ", path, "\n");
  }
  RETURN_IF_ERROR(writer.Add(bundle::kFingerprints, text));

  for (const policy::PolicySet::SourceFile& file :
       sources.grader->policy().sources) {
    const std::string path = file.soa ? absl::StrCat("soa/", file.path)
                                      : absl::StrCat("policies/", file.path);
    RETURN_IF_ERROR(writer.Add(path, file.bytes));
  }
  return absl::OkStatus();
}

std::string Readme(const v1::BundleManifest& manifest,
                   const v1::ExportSummary& summary) {
  return absl::StrReplaceAll(
      kReadmeTxt,
      {{"{{ORGANISATION}}", manifest.organisation()},
       {"{{FROM}}", Rfc3339(FromProto(summary.from()))},
       {"{{TO}}", Rfc3339(FromProto(summary.to()))},
       {"{{SCOPE}}",
        manifest.scope().empty() ? std::string("all hosts") : manifest.scope()},
       {"{{GENERATED_AT}}", Rfc3339(FromProto(manifest.generated_at()))},
       {"{{AGENTS}}", absl::StrCat(summary.agents())},
       {"{{SNAPSHOTS}}", absl::StrCat(summary.snapshots())},
       {"{{COLLECTOR_FINGERPRINT}}", manifest.collector_key_id()}});
}

// The static report's points over the period, and its timelines' hosts.
constexpr int kReportPoints = 31;
constexpr size_t kReportTimelineHosts = 20;

// What the static report shows (bundle/report.h), from the grader over the
// exported hosts: each control as GetControl answers it, each host's page,
// the compliant share at up to 31 moments of the period, the controls worse
// at its end than at its start, and each control's host timelines.
absl::StatusOr<ReportInput> ReportData(
    Grader& grader, const std::vector<HostPtr>& hosts, const std::string& scope,
    absl::Time from, absl::Time to, const v1::GradeControlsResponse& grades,
    const std::map<std::string, std::vector<v1::HostCheck>>& host_checks) {
  ReportInput in;
  in.from = from;
  in.to = to;
  in.grades = &grades;
  for (const v1::ControlGrade& control : grades.controls()) {
    if (control.checks_size() == 0) {
      in.controls.push_back(control);
      continue;
    }
    ASSIGN_OR_RETURN(v1::ControlGrade detailed,
                     grader.GradeControl(control.control_id(), hosts, to,
                                         /*findings=*/true));
    in.controls.push_back(std::move(detailed));
  }
  for (const HostPtr& host : hosts) {
    const std::string& id = host->agent.agent_id();
    view::HostRow row;
    row.agent = host->agent;
    row.silent = grader.IsSilent(*host, to);
    v1::GetHostResponse page;
    *page.mutable_agent() = host->agent;
    page.set_silent(row.silent);
    auto checks = host_checks.find(id);
    if (checks != host_checks.end()) {
      for (const v1::HostCheck& check : checks->second) {
        if (check.state() == v1::CHECK_STATE_FAIL) ++row.failing;
        if (check.state() == v1::CHECK_STATE_STALE ||
            check.state() == v1::CHECK_STATE_MISSING) {
          ++row.stale;
        }
        *page.add_checks() = check;
      }
    }
    in.hosts.push_back(std::move(row));
    in.host_pages.emplace(id, std::move(page));
  }
  std::sort(in.hosts.begin(), in.hosts.end(),
            [](const view::HostRow& a, const view::HostRow& b) {
              return std::tie(a.agent.host().hostname(), a.agent.agent_id()) <
                     std::tie(b.agent.host().hostname(), b.agent.agent_id());
            });

  // The compliant share: one point a day, at most kReportPoints.
  const int days =
      static_cast<int>(std::ceil(absl::ToDoubleHours(to - from) / 24.0));
  const int points = std::clamp(days + 1, 2, kReportPoints);
  std::map<std::string, v1::Grade> at_start;
  for (int i = 0; i < points && to > from; ++i) {
    const absl::Time at = from + (to - from) * i / (points - 1);
    v1::GradeControlsResponse then = grades;
    if (i + 1 < points) {
      ASSIGN_OR_RETURN(std::vector<HostPtr> all,
                       FleetAsOf(grader.evidence(), at, grader.ObservedIds()));
      ASSIGN_OR_RETURN(std::vector<HostPtr> scoped, InScope(all, scope));
      ASSIGN_OR_RETURN(then, grader.GradeAll(scoped, at));
    }
    if (i == 0) {
      for (const v1::ControlGrade& control : then.controls()) {
        at_start[control.control_id()] = control.grade();
      }
    }
    in.compliance.push_back({at, view::CompliantShare(then)});
  }
  for (const v1::ControlGrade& control : grades.controls()) {
    auto before = at_start.find(control.control_id());
    if (before != at_start.end() &&
        view::GotWorse(before->second, control.grade())) {
      in.worse.push_back({control.control_id(), control.title(), before->second,
                          control.grade()});
    }
  }

  // Timelines: the hosts not passing a control first, then others.
  if (to - from >= absl::Minutes(1)) {
    for (const v1::ControlGrade& control : in.controls) {
      if (control.checks_size() == 0) continue;
      std::vector<const HostEvidence*> chosen;
      auto choose = [&](const std::string& agent_id) {
        if (chosen.size() >= kReportTimelineHosts) return;
        for (const HostEvidence* c : chosen) {
          if (c->agent.agent_id() == agent_id) return;
        }
        for (const HostPtr& host : hosts) {
          if (host->agent.agent_id() == agent_id) chosen.push_back(host.get());
        }
      };
      for (const v1::HostCheck& check : control.findings()) {
        choose(check.agent_id());
      }
      for (const HostPtr& host : hosts) choose(host->agent.agent_id());
      const std::vector<std::string> checks(control.checks().begin(),
                                            control.checks().end());
      std::vector<view::HostTimeline>& rows =
          in.timelines[control.control_id()];
      for (const HostEvidence* host : chosen) {
        const std::string& id = host->agent.agent_id();
        ASSIGN_OR_RETURN(auto states, HostTimeline(grader, host->agent, checks,
                                                   from, to, kReportPoints));
        const std::string& name = host->agent.host().hostname();
        rows.push_back(
            {id, name.empty() ? id : name, view::Segments(states, to)});
      }
    }
  }
  return in;
}

}  // namespace

absl::StatusOr<v1::ExportSummary> ExportBundle(const ExportSources& sources,
                                               const ExportPeriod& period,
                                               BundleSink& sink) {
  if (sources.store == nullptr || sources.log == nullptr ||
      sources.collector_key == nullptr || sources.operator_key == nullptr) {
    return absl::InternalError("export without a store, log or keys");
  }
  if (sources.grader == nullptr) {
    return absl::FailedPreconditionError(
        "the collector runs without a policy set (--policies, --soa); "
        "a bundle needs its grades");
  }
  const policy::PolicySet& policy = sources.grader->policy();
  const absl::Time to = std::min(period.to, sources.clock());
  if (period.from > to) {
    return absl::InvalidArgumentError(
        absl::StrCat("the period from ", Rfc3339(period.from), " to ",
                     Rfc3339(period.to), " is empty"));
  }

  // The hosts in scope as of `to`, and a checkpoint covering every snapshot
  // received by then (a snapshot acknowledged just before `to` may still be
  // queued: sign again).
  ASSIGN_OR_RETURN(
      std::vector<HostPtr> all,
      FleetAsOf(sources.grader->evidence(), to, sources.grader->ObservedIds()));
  ASSIGN_OR_RETURN(std::vector<HostPtr> hosts, InScope(all, period.scope));
  v1::StoredCheckpoint stored_checkpoint;
  Checkpoint checkpoint;
  std::vector<AgentPlan> plans;
  IsmsPlan isms_plan;
  for (int attempt = 1;; ++attempt) {
    ASSIGN_OR_RETURN(stored_checkpoint, sources.log->SignCheckpoint());
    ASSIGN_OR_RETURN(checkpoint, ParseCheckpoint(stored_checkpoint.text()));
    absl::StatusOr<std::vector<AgentPlan>> planned =
        Plan(sources, hosts, period.from, to, checkpoint.size);
    absl::StatusOr<IsmsPlan> isms_planned =
        planned.ok() ? PlanIsms(sources, to, checkpoint.size)
                     : absl::StatusOr<IsmsPlan>(planned.status());
    if (isms_planned.ok()) {
      plans = *std::move(planned);
      isms_plan = *std::move(isms_planned);
      break;
    }
    if (isms_planned.status().code() != absl::StatusCode::kFailedPrecondition ||
        attempt == 3) {
      return isms_planned.status();
    }
  }

  BundleWriter writer(sink);
  std::set<std::string> objects;
  v1::BundleManifest manifest;
  manifest.set_format(bundle::kFormat);
  *manifest.mutable_from() = ToProto(period.from);
  *manifest.mutable_to() = ToProto(to);
  manifest.set_scope(period.scope);
  manifest.set_audit(period.audit);
  *manifest.mutable_generated_at() = ToProto(sources.clock());
  manifest.set_organisation(policy.organisation);
  manifest.set_collector_key_id(sources.collector_key->public_key().KeyId());
  manifest.set_operator_key_id(sources.operator_key->KeyId());
  manifest.set_policy_sha256(policy.sha256);
  manifest.set_log_size(checkpoint.size);
  for (const policy::PolicySet::SourceFile& file : policy.sources) {
    if (file.soa && !file.risk_register) {
      manifest.set_soa_file(absl::StrCat("soa/", file.path));
    }
  }

  v1::ExportSummary summary;
  *summary.mutable_from() = manifest.from();
  *summary.mutable_to() = manifest.to();
  summary.set_log_size(checkpoint.size);
  summary.set_collector_key_id(manifest.collector_key_id());
  for (const AgentPlan& plan : plans) {
    RETURN_IF_ERROR(ExportAgent(sources, plan, checkpoint, writer, objects,
                                *manifest.add_agents()));
    summary.set_snapshots(summary.snapshots() + plan.seqs.size());
  }
  summary.set_agents(plans.size());
  RETURN_IF_ERROR(ExportManual(sources, to, writer, objects, manifest));
  RETURN_IF_ERROR(
      ExportIsms(sources, isms_plan, checkpoint, writer, objects, manifest));
  summary.set_objects(objects.size());
  RETURN_IF_ERROR(ExportKeysAndPolicies(sources, manifest, writer));
  RETURN_IF_ERROR(writer.Add(bundle::kCheckpoint, stored_checkpoint.text()));
  RETURN_IF_ERROR(
      writer.Add(bundle::kCheckpointSig, stored_checkpoint.signature()));

  // Grades as of `to`, over exactly the hosts exported.
  ASSIGN_OR_RETURN(v1::GradeControlsResponse grades,
                   sources.grader->GradeAll(hosts, to));
  grades.set_scope(period.scope);
  std::map<std::string, std::vector<v1::HostCheck>> host_checks;
  for (const HostPtr& host : hosts) {
    ASSIGN_OR_RETURN(host_checks[host->agent.agent_id()],
                     sources.grader->CheckHost(*host, to));
  }
  ASSIGN_OR_RETURN(const std::string manifest_json, ToJson(manifest));
  RETURN_IF_ERROR(writer.Add(bundle::kManifest, manifest_json));
  RETURN_IF_ERROR(writer.Add(bundle::kSummaryCsv, SummaryCsv(grades)));
  // The certification cycle as of `to`, from the records in the bundle:
  // the auditors' findings join the report and the assessment results, and
  // their corrective actions make the POA&M (none when no finding calls for
  // one).
  ASSIGN_OR_RETURN(const isms::Register isms_register,
                   IsmsRegister(isms_plan.records));
  ASSIGN_OR_RETURN(
      const v1::CycleReport cycle,
      AssessCycleWithGrades(isms_register, to, FleetGrades(*sources.grader)));
  ASSIGN_OR_RETURN(ReportInput report,
                   ReportData(*sources.grader, hosts, period.scope, period.from,
                              to, grades, host_checks));
  report.manifest = &manifest;
  report.cycle = &cycle;
  for (const auto& [path, bytes] : ReportFiles(report)) {
    RETURN_IF_ERROR(writer.Add(path, bytes));
  }
  const OscalInput oscal_input{&manifest, &policy, &grades, &host_checks,
                               &cycle};
  ASSIGN_OR_RETURN(std::string oscal, AssessmentResultsJson(oscal_input));
  RETURN_IF_ERROR(writer.Add(bundle::kOscal, oscal));
  absl::StatusOr<std::string> poam = PoamJson(oscal_input);
  if (poam.ok()) {
    RETURN_IF_ERROR(writer.Add(bundle::kOscalPoam, *poam));
  } else if (!absl::IsNotFound(poam.status())) {
    return poam.status();
  }
  RETURN_IF_ERROR(writer.Add(bundle::kReadmePath, Readme(manifest, summary)));
  RETURN_IF_ERROR(writer.Add(bundle::kVerifyScriptPath, kVerifySh));
  RETURN_IF_ERROR(writer.Seal(*sources.collector_key));
  summary.set_files(writer.files());
  summary.set_bytes(writer.bytes());
  return summary;
}

}  // namespace evidentia::collector
