// Steps 8 and 11 of verifying a bundle: re-grading it in memory.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "bundle/paths.h"
#include "bundle/report.h"
#include "bundle/verify_internal.h"
#include "common/envelope.h"
#include "common/limits.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "evidentia/v1/collector.pb.h"
#include "evidentia/v1/snapshot.pb.h"
#include "evidentia/v1/store.pb.h"
#include "grading/evidence.h"
#include "grading/fleet.h"
#include "grading/grading.h"
#include "grading/policy.h"

namespace evidentia::collector::verify_internal {

// 8. The bundle's own SoA and policies, as manifest.json names them, and a
// private store to grade in.
absl::Status Verifier::LoadPolicies() {
  const fs::path soa = dir_ / manifest_.soa_file();
  absl::StatusOr<policy::PolicySet> set =
      policy::LoadPolicySet(dir_ / "policies", soa);
  if (!set.ok()) {
    const std::string message(set.status().message());
    if (absl::StartsWith(message, soa.string())) {
      return absl::DataLossError(absl::StrCat(
          manifest_.soa_file(), message.substr(soa.string().size())));
    }
    if (absl::StartsWith(message, "checks/") ||
        absl::StartsWith(message, "iso27001")) {
      return absl::DataLossError(absl::StrCat("policies/", message));
    }
    return Bad("policies", message);
  }
  policy_ = *std::move(set);
  if (policy_->sha256 != manifest_.policy_sha256()) {
    return Bad(bundle::kManifest,
               absl::StrCat("policy_sha256 ", Quoted(manifest_.policy_sha256()),
                            " is not that of ", manifest_.soa_file(),
                            " and policies/ (", policy_->sha256, ")"));
  }
  // Re-grading reads the bundle's evidence from memory: nothing is written.
  evidence_ = std::make_unique<MemoryEvidence>();
  grader_ = std::make_unique<Grader>(*policy_, *evidence_);
  observed_ids_ = grader_->ObservedIds();
  return absl::OkStatus();
}

// 11. Grade the bundle's own evidence as of `to` and compare with
// report/summary.csv. Only what grading reads is stored: per agent and
// observed id, the snapshot holding its latest observation received by
// `to`, the facts those name, and the manual evidence.
absl::Status Verifier::Regrade() {
  const int64_t to_micros = absl::ToUnixMicros(to_);
  // Interned check id -> its bit among the ids grading observes, or -1.
  const size_t words = std::max<size_t>(1, (observed_ids_.size() + 63) / 64);
  std::vector<int> bit_of;
  {
    absl::MutexLock lock(&intern_mu_);
    bit_of.assign(interned_.size(), -1);
    for (size_t b = 0; b < observed_ids_.size(); ++b) {
      auto it = interned_.find(observed_ids_[b]);
      if (it != interned_.end()) bit_of[it->second] = static_cast<int>(b);
    }
  }
  absl::flat_hash_set<std::string> objects_written;
  size_t task = 0;
  for (const AgentInfo& agent : agents_) {
    const v1::BundleAgent& entry = *agent.manifest;
    const size_t first = task;
    task += entry.snapshots_size();
    // The observed ids of each snapshot received by `to`, as bits.
    std::vector<size_t> order;
    std::vector<uint64_t> masks;  // `words` per entry of `order`
    std::vector<uint64_t> all(words, 0);
    for (size_t t = first; t < task; ++t) {
      const int j = static_cast<int>(tasks_[t].index);
      if (absl::ToUnixMicros(FromProto(entry.snapshots(j).received_at())) >
          to_micros) {
        continue;
      }
      order.push_back(t);
      masks.resize(order.size() * words, 0);
      uint64_t* mask = &masks[(order.size() - 1) * words];
      for (uint16_t check : task_ids_[t]) {
        if (check == kUngradedCheck) continue;
        const int bit = bit_of[check];
        if (bit >= 0) mask[bit / 64] |= uint64_t{1} << (bit % 64);
      }
      for (size_t w = 0; w < words; ++w) all[w] |= mask[w];
    }
    // Latest first, by (receive time, seq): the order in which the
    // collector's history index answers "latest as of". A snapshot is
    // needed when it is the latest for some observed id.
    std::vector<size_t> by_time(order.size());
    for (size_t k = 0; k < order.size(); ++k) by_time[k] = k;
    auto micros = [&](size_t k) {
      return absl::ToUnixMicros(
          FromProto(entry.snapshots(tasks_[order[k]].index).received_at()));
    };
    std::sort(by_time.begin(), by_time.end(), [&](size_t a, size_t b) {
      const int64_t ma = micros(a), mb = micros(b);
      return ma != mb ? ma > mb : a > b;
    });
    std::vector<size_t> chosen;
    std::vector<uint64_t> covered(words, 0);
    for (size_t k : by_time) {
      if (covered == all && !chosen.empty()) break;
      bool adds = chosen.empty();  // the latest one always
      for (size_t w = 0; w < words; ++w) {
        const uint64_t m = masks[k * words + w];
        if ((m & ~covered[w]) != 0) adds = true;
        covered[w] |= m;
      }
      if (adds) chosen.push_back(order[k]);
    }
    std::sort(chosen.begin(), chosen.end());  // seq order

    v1::AgentRecord record;
    record.set_agent_id(entry.agent_id());
    record.set_key_id(entry.key_id());
    record.set_public_key_pem(agent.pem);
    *record.mutable_labels() = entry.labels();
    *record.mutable_enrolled_at() = entry.enrolled_at();
    for (size_t t : chosen) {
      const v1::BundleSnapshot& s = entry.snapshots(tasks_[t].index);
      const std::string base =
          absl::StrCat(kSnapshotsDir, entry.agent_id(), "/", s.seq());
      v1::StoredSnapshot stored;
      v1::SignedSnapshot* envelope = stored.mutable_envelope();
      ASSIGN_OR_RETURN(*envelope->mutable_payload(),
                       ReadListed(absl::StrCat(base, ".payload"),
                                  kMaxPayloadBytes, "manifest.json"));
      ASSIGN_OR_RETURN(*envelope->mutable_signature(),
                       ReadListed(absl::StrCat(base, ".sig"),
                                  kMaxSignatureBytes, "manifest.json"));
      envelope->set_payload_type(std::string(kSnapshotPayloadType));
      envelope->set_key_id(entry.key_id());
      *stored.mutable_received_at() = s.received_at();
      v1::Snapshot snapshot;
      if (!snapshot.ParseFromString(envelope->payload())) {
        return Bad(absl::StrCat(base, ".payload"), "not a Snapshot message");
      }
      for (const v1::Observation& o : snapshot.observations()) {
        if (o.facts_sha256().empty() ||
            !objects_written.insert(o.facts_sha256()).second) {
          continue;
        }
        const std::string path =
            absl::StrCat(kObjectsDir, ToHex(o.facts_sha256()));
        // Read again: only the few bodies grading needs, rather than
        // keeping every object in memory.
        ASSIGN_OR_RETURN(const std::string bytes,
                         ReadListed(path, kMaxFactsBytes, "a snapshot"));
        v1::Facts facts;
        if (!facts.ParseFromString(bytes)) {
          return Bad(path, "not a Facts message");
        }
        evidence_->AddFacts(o.facts_sha256(), std::move(facts));
      }
      for (v1::LatestObservation& o : IndexSnapshot(snapshot, stored, record)) {
        evidence_->AddObservation(record.agent_id(), std::move(o));
      }
    }
    // The name the exporter graded under.
    if (!entry.hostname().empty()) {
      record.mutable_host()->set_hostname(entry.hostname());
    }
    evidence_->AddAgent(std::move(record));
  }
  for (const v1::BundleManual& m : manifest_.manual()) {
    ASSIGN_OR_RETURN(
        const std::string statement_path,
        bundle::ManualPath(m.control_id(), m.number(), "statement"));
    ASSIGN_OR_RETURN(const std::string sig_path,
                     bundle::ManualPath(m.control_id(), m.number(), "sig"));
    ASSIGN_OR_RETURN(const std::string* statement, Kept(statement_path));
    ASSIGN_OR_RETURN(const std::string* signature, Kept(sig_path));
    v1::StoredManualEvidence stored;
    stored.set_statement(*statement);
    stored.set_signature(*signature);
    stored.set_key_id(operator_key_->KeyId());
    *stored.mutable_received_at() = m.received_at();
    evidence_->AddManual(m.control_id(), std::move(stored));
  }

  absl::StatusOr<std::vector<HostPtr>> hosts =
      FleetAsOf(*evidence_, to_, grader_->ObservedIds());
  if (hosts.ok()) hosts = InScope(*std::move(hosts), manifest_.scope());
  if (!hosts.ok()) {
    return Bad(bundle::kManifest, absl::StrCat("cannot rebuild the fleet: ",
                                               hosts.status().message()));
  }
  absl::StatusOr<v1::GradeControlsResponse> grades =
      grader_->GradeAll(*hosts, to_);
  if (!grades.ok()) {
    return Bad(bundle::kSummaryCsv,
               absl::StrCat("cannot re-grade: ", grades.status().message()));
  }
  const std::string csv = SummaryCsv(*grades);
  ASSIGN_OR_RETURN(const std::string* report, Kept(bundle::kSummaryCsv));
  if (csv != *report) {
    const std::vector<absl::string_view> want = absl::StrSplit(csv, '\n');
    const std::vector<absl::string_view> have = absl::StrSplit(*report, '\n');
    size_t line = 0;
    while (line < want.size() && line < have.size() &&
           want[line] == have[line]) {
      ++line;
    }
    const absl::string_view row = line < want.size() ? want[line] : "";
    const absl::string_view control = row.substr(0, row.find(','));
    return Bad(
        bundle::kSummaryCsv,
        absl::StrCat(
            line == 0 ? "the header line"
                      : absl::StrCat("the row of ",
                                     control.empty() ? "(none)" : control),
            " differs from re-grading the bundle's snapshots as of ",
            absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", to_, absl::UTCTimeZone()),
            ": the report says ", Quoted(line < have.size() ? have[line] : ""),
            ", the re-grade gives ", Quoted(row)));
  }
  result_.controls = grades->controls_size();
  return absl::OkStatus();
}

}  // namespace evidentia::collector::verify_internal
