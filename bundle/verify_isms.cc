// Step 10b of verifying a bundle: the ISMS records, signed by the operator
// and included in the log, numbered 1..N, each valid against the bundle's
// own policies and the records before it; proofs of effectiveness and
// samples recomputed from the bundle's snapshots when the bundle's period
// holds their evidence.
#include <string>

#include "absl/strings/str_cat.h"
#include "bundle/paths.h"
#include "bundle/verify_internal.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/limits.h"
#include "common/merkle.h"
#include "common/pae.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "evidentia/v1/snapshot.pb.h"
#include "isms/register.h"

namespace evidentia::collector::verify_internal {
namespace {

constexpr size_t kMaxStatementBytes = 1 << 20;
constexpr size_t kMaxProofBytes = 1 << 16;

}  // namespace

absl::StatusOr<const MemoryEvidence*> Verifier::CycleEvidence() {
  if (cycle_evidence_ != nullptr) return cycle_evidence_.get();
  auto evidence = std::make_unique<MemoryEvidence>();
  absl::flat_hash_set<std::string> facts_added;
  for (const AgentInfo& agent : agents_) {
    const v1::BundleAgent& entry = *agent.manifest;
    v1::AgentRecord record;
    record.set_agent_id(entry.agent_id());
    record.set_key_id(entry.key_id());
    *record.mutable_enrolled_at() = entry.enrolled_at();
    if (entry.has_revoked_at()) {
      *record.mutable_revoked_at() = entry.revoked_at();
    }
    for (const v1::BundleSnapshot& s : entry.snapshots()) {
      const std::string path = absl::StrCat(kSnapshotsDir, entry.agent_id(),
                                            "/", s.seq(), ".payload");
      v1::StoredSnapshot stored;
      ASSIGN_OR_RETURN(*stored.mutable_envelope()->mutable_payload(),
                       ReadListed(path, kMaxPayloadBytes, "manifest.json"));
      *stored.mutable_received_at() = s.received_at();
      v1::Snapshot snapshot;
      if (!snapshot.ParseFromString(stored.envelope().payload())) {
        return Bad(path, "not a Snapshot message");
      }
      for (const v1::Observation& o : snapshot.observations()) {
        if (o.facts_sha256().empty() ||
            !facts_added.insert(o.facts_sha256()).second) {
          continue;
        }
        const std::string object =
            absl::StrCat(kObjectsDir, ToHex(o.facts_sha256()));
        ASSIGN_OR_RETURN(const std::string bytes,
                         ReadListed(object, kMaxFactsBytes, "a snapshot"));
        v1::Facts facts;
        if (!facts.ParseFromString(bytes)) {
          return Bad(object, "not a Facts message");
        }
        evidence->AddFacts(o.facts_sha256(), std::move(facts));
      }
      for (v1::LatestObservation& o : IndexSnapshot(snapshot, stored, record)) {
        evidence->AddObservation(record.agent_id(), std::move(o));
      }
    }
    evidence->AddAgent(std::move(record));
  }
  cycle_evidence_ = std::move(evidence);
  return cycle_evidence_.get();
}

absl::Status Verifier::CheckIsms() {
  isms::Register so_far;
  const MemoryEvidence no_evidence;
  uint64_t expected = 1;
  for (const v1::BundleIsmsRecord& m : manifest_.isms()) {
    if (m.number() != expected) {
      return Bad(bundle::kManifest,
                 absl::StrCat("ISMS record ", expected,
                              " is missing (the records must be numbered 1, "
                              "2, ... without gaps; found ",
                              m.number(), ")"));
    }
    ++expected;
    const std::string type = absl::StrCat("application/vnd.evidentia.isms-",
                                          m.kind(), ".v1+protobuf");
    if (isms::KindOfPayloadType(type) != m.kind()) {
      return Bad(bundle::kManifest,
                 absl::StrCat("ISMS record ", m.number(),
                              " is of unknown kind ", Quoted(m.kind())));
    }
    ASSIGN_OR_RETURN(const std::string statement_path,
                     bundle::IsmsRecordPath(m.number(), m.kind(), "statement"));
    ASSIGN_OR_RETURN(const std::string sig_path,
                     bundle::IsmsRecordPath(m.number(), m.kind(), "sig"));
    const std::string proof_path = bundle::IsmsProofPath(m.number());
    ASSIGN_OR_RETURN(
        const std::string statement,
        ReadListed(statement_path, kMaxStatementBytes, "manifest.json"));
    ASSIGN_OR_RETURN(const std::string signature,
                     ReadListed(sig_path, 64, "manifest.json"));
    ASSIGN_OR_RETURN(const std::string proof_text,
                     ReadListed(proof_path, kMaxProofBytes, "manifest.json"));
    if (Sha256Hex(statement) != m.statement_sha256()) {
      return Bad(statement_path,
                 "is not the statement manifest.json's statement_sha256 names");
    }
    if (!operator_key_->Verify(Pae(type, statement), signature).ok()) {
      return Forged(sig_path,
                    absl::StrCat("not a valid signature of ", statement_path,
                                 " under ", bundle::kOperatorKey));
    }
    absl::StatusOr<InclusionProof> proof = ParseInclusionProof(proof_text);
    if (!proof.ok()) return Bad(proof_path, proof.status().message());
    if (proof->size != checkpoint_.size) {
      return Bad(proof_path, absl::StrCat("is for a tree of size ", proof->size,
                                          ", log/checkpoint is of size ",
                                          checkpoint_.size));
    }
    if (proof->index != m.log_index()) {
      return Bad(proof_path, absl::StrCat("is for leaf ", proof->index,
                                          ", manifest.json says log_index ",
                                          m.log_index()));
    }
    if (absl::Status included = merkle::VerifyInclusion(
            proof->index, proof->size,
            merkle::LeafHash(Pae(type, statement) + signature), proof->hashes,
            checkpoint_.root);
        !included.ok()) {
      return Forged(
          proof_path,
          absl::StrCat("does not lead to the root of log/checkpoint: ",
                       included.message()));
    }
    if (m.kind() == "document") {
      v1::DocumentStatement document;
      if (!document.ParseFromString(statement)) {
        return Bad(statement_path, "not a DocumentStatement message");
      }
      if (ToHex(document.sha256()) != m.document_sha256()) {
        return Bad(statement_path,
                   "names another document than manifest.json's "
                   "document_sha256");
      }
      if (!objects_.contains(document.sha256())) {
        return Bad(statement_path,
                   absl::StrCat("names document ", m.document_sha256(), " but ",
                                kObjectsDir, m.document_sha256(),
                                " is not in the bundle"));
      }
    } else if (!m.document_sha256().empty()) {
      return Bad(bundle::kManifest,
                 absl::StrCat("ISMS record ", m.number(), " (", m.kind(),
                              ") names a document; only documents do"));
    }
    if (FromProto(m.received_at()) > to_) {
      return Bad(bundle::kManifest,
                 absl::StrCat("ISMS record ", m.number(),
                              " was received after the period's end"));
    }
    // Valid when the collector accepted it: against the bundle's own
    // policies, the records before it and, for proofs of effectiveness and
    // samples, the bundle's own snapshots.
    const bool needs_evidence =
        m.kind() == "action-close" || m.kind() == "sample";
    const MemoryEvidence* evidence = &no_evidence;
    if (needs_evidence) {
      ASSIGN_OR_RETURN(evidence, CycleEvidence());
    }
    isms::Context context;
    context.policy = &*policy_;
    context.so_far = &so_far;
    context.evidence = evidence;
    context.at = FromProto(m.received_at());
    // A scoped bundle holds only some hosts' evidence: its proofs and
    // samples may need the others', so none is recomputed.
    context.evidence_from = manifest_.scope().empty()
                                ? FromProto(manifest_.from())
                                : absl::InfiniteFuture();
    absl::StatusOr<isms::Checked> valid =
        isms::ValidateRecord(type, statement, context);
    if (!valid.ok()) return Bad(statement_path, valid.status().message());
    if (*valid == isms::Checked::kRecomputed) ++result_.isms_recomputed;
    if (*valid == isms::Checked::kNotRecomputed) {
      ++result_.isms_not_recomputed;
    }
    v1::StoredIsmsRecord record;
    record.set_number(m.number());
    record.set_payload_type(type);
    record.set_statement(statement);
    *record.mutable_received_at() = m.received_at();
    RETURN_IF_ERROR(so_far.Add(record));
    ++result_.isms_records;
  }
  return absl::OkStatus();
}

}  // namespace evidentia::collector::verify_internal
