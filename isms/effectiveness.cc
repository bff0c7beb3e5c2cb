#include "isms/effectiveness.h"

#include <map>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/status_macros.h"

namespace evidentia::isms {
namespace {

// One snapshot of a host as far as the control's checks go.
struct Outcome {
  absl::Time received_at;
  bool pass = true;
  std::string reason;  // why it did not pass
};

// Dated as grading dates evidence: the earlier of the agent's claim and
// the collector's receipt.
absl::Time EvidenceTime(const v1::LatestObservation& o) {
  return std::min(FromProto(o.collected_at()), FromProto(o.received_at()));
}

// Every snapshot of `agent` that observed one of `checks`, received within
// the scope's bounds, by seq.
absl::StatusOr<std::map<uint64_t, Outcome>> Outcomes(
    const policy::PolicySet& policy, const collector::Evidence& evidence,
    const std::vector<const policy::Check*>& checks, const std::string& agent,
    const ProofScope& scope) {
  std::map<uint64_t, Outcome> out;
  for (const policy::Check* check : checks) {
    absl::Status failed;
    RETURN_IF_ERROR(evidence.History(
        agent, check->probe, scope.until, [&](const v1::LatestObservation& o) {
          if (FromProto(o.received_at()) <= scope.opened_at) return false;
          Outcome& outcome = out[o.seq()];
          outcome.received_at = FromProto(o.received_at());
          if (!outcome.pass) return true;
          if (!o.error().empty() || o.facts_sha256().empty()) {
            outcome.pass = false;
            outcome.reason =
                absl::StrCat(check->probe, " could not observe: ", o.error());
            return true;
          }
          absl::StatusOr<std::optional<v1::Facts>> facts =
              evidence.FactsBody(o.facts_sha256());
          if (!facts.ok() || !facts->has_value()) {
            failed =
                facts.ok()
                    ? absl::DataLossError(absl::StrCat(
                          "facts ", ToHex(o.facts_sha256()), " of snapshot ",
                          o.seq(), " of ", agent, " are missing"))
                    : facts.status();
            return false;
          }
          const policy::CheckResult result = policy::Evaluate(
              *check, **facts, EvidenceTime(o), policy.settings);
          if (result.verdict == policy::Verdict::kFail) {
            outcome.pass = false;
            outcome.reason = absl::StrCat(
                check->id, ": ",
                result.reasons.empty() ? "fails" : result.reasons.front());
          }
          return true;
        }));
    RETURN_IF_ERROR(failed);
  }
  return out;
}

std::string Span(absl::Duration d) { return absl::FormatDuration(d); }

}  // namespace

std::vector<const policy::Check*> HostChecks(const policy::PolicySet& policy,
                                             absl::string_view control) {
  std::vector<const policy::Check*> out;
  const policy::SoaEntry* soa = policy.FindSoaEntry(std::string(control));
  if (soa == nullptr) return out;
  for (const policy::Check& check : policy.checks) {
    for (const std::string& id : soa->evidence) {
      if (id == check.id) {
        out.push_back(&check);
        break;
      }
    }
  }
  return out;
}

absl::StatusOr<std::vector<v1::SnapshotRef>> FindProof(
    const policy::PolicySet& policy, const collector::Evidence& evidence,
    const ProofScope& scope) {
  const std::vector<const policy::Check*> checks =
      HostChecks(policy, scope.control);
  const uint64_t passes = policy.grading.effective_after_passes;
  const absl::Duration period = policy.grading.effective_after_period;
  std::vector<v1::SnapshotRef> proof;
  for (const std::string& host : scope.hosts) {
    ASSIGN_OR_RETURN(auto outcomes,
                     Outcomes(policy, evidence, checks, host, scope));
    if (outcomes.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("host ", host, " has sent no evidence of ",
                       scope.control, " since the action was opened"));
    }
    // The latest run of consecutive passing snapshots, newest first.
    std::vector<uint64_t> run;
    absl::Time newest;
    bool enough = false;
    for (auto it = outcomes.rbegin(); it != outcomes.rend(); ++it) {
      const auto& [seq, outcome] = *it;
      if (!outcome.pass) {
        if (run.empty()) {
          return absl::FailedPreconditionError(absl::StrCat(
              "host ", host, " fails ", scope.control,
              " in its latest snapshot (", seq, "): ", outcome.reason));
        }
        break;
      }
      if (!run.empty() && seq + 1 != run.back()) break;
      if (run.empty()) newest = outcome.received_at;
      run.push_back(seq);
      if (run.size() >= passes && newest - outcome.received_at >= period) {
        enough = true;
        break;
      }
    }
    if (!enough) {
      return absl::FailedPreconditionError(absl::StrCat(
          "host ", host, " has passed ", scope.control, " in ", run.size(),
          " consecutive snapshot", run.size() == 1 ? "" : "s",
          " since the action was opened; the policy asks for ", passes,
          " at least ", Span(period), " apart from first to last"));
    }
    for (auto it = run.rbegin(); it != run.rend(); ++it) {
      v1::SnapshotRef& ref = proof.emplace_back();
      ref.set_agent_id(host);
      ref.set_seq(*it);
    }
  }
  return proof;
}

absl::Status CheckProofShape(const std::vector<std::string>& hosts,
                             const std::vector<v1::SnapshotRef>& proof) {
  size_t next = 0;
  for (const std::string& host : hosts) {
    const size_t first = next;
    while (next < proof.size() && proof[next].agent_id() == host) {
      if (next > first && proof[next].seq() != proof[next - 1].seq() + 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the proof's snapshots of host ", host, " are not consecutive (",
            proof[next - 1].seq(), " then ", proof[next].seq(), ")"));
      }
      ++next;
    }
    if (next == first) {
      return absl::InvalidArgumentError(
          absl::StrCat("the proof has no snapshot of host ", host));
    }
  }
  if (next != proof.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the proof names host ", proof[next].agent_id(),
                     ", which the action does not (or out of its order)"));
  }
  return absl::OkStatus();
}

absl::Status CheckProof(const policy::PolicySet& policy,
                        const collector::Evidence& evidence,
                        const ProofScope& scope,
                        const std::vector<v1::SnapshotRef>& proof) {
  RETURN_IF_ERROR(CheckProofShape(scope.hosts, proof));
  const std::vector<const policy::Check*> checks =
      HostChecks(policy, scope.control);
  const uint64_t passes = policy.grading.effective_after_passes;
  const absl::Duration period = policy.grading.effective_after_period;
  size_t next = 0;
  for (const std::string& host : scope.hosts) {
    size_t end = next;
    while (end < proof.size() && proof[end].agent_id() == host) ++end;
    ASSIGN_OR_RETURN(auto outcomes,
                     Outcomes(policy, evidence, checks, host, scope));
    absl::Time first, last;
    for (size_t i = next; i < end; ++i) {
      const uint64_t seq = proof[i].seq();
      auto it = outcomes.find(seq);
      if (it == outcomes.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "snapshot ", seq, " of host ", host, " is not evidence of ",
            scope.control, " received after the action was opened"));
      }
      if (!it->second.pass) {
        return absl::InvalidArgumentError(
            absl::StrCat("snapshot ", seq, " of host ", host, " fails ",
                         scope.control, ": ", it->second.reason));
      }
      if (i == next) first = it->second.received_at;
      last = it->second.received_at;
    }
    if (end - next < passes || last - first < period) {
      return absl::InvalidArgumentError(
          absl::StrCat("the proof holds ", end - next, " passing snapshot",
                       end - next == 1 ? "" : "s", " of host ", host, " over ",
                       Span(last - first), "; the policy asks for ", passes,
                       " over ", Span(period)));
    }
    if (proof[end - 1].seq() != outcomes.rbegin()->first) {
      return absl::InvalidArgumentError(
          absl::StrCat("the proof of host ", host, " ends with snapshot ",
                       proof[end - 1].seq(), ", not with its latest (",
                       outcomes.rbegin()->first, ")"));
    }
    next = end;
  }
  return absl::OkStatus();
}

}  // namespace evidentia::isms
