// Step 10 of verifying a bundle: manual evidence signed by the operator.
#include <string>

#include "absl/strings/str_cat.h"
#include "bundle/paths.h"
#include "bundle/verify_internal.h"
#include "common/ed25519.h"
#include "common/envelope.h"
#include "common/pae.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "evidentia/v1/collector.pb.h"

namespace evidentia::collector::verify_internal {
namespace {

constexpr size_t kMaxStatementBytes = 1 << 20;

}  // namespace

// 10. Manual evidence: signed by the operator, naming a document present.
absl::Status Verifier::CheckManual() {
  for (const v1::BundleManual& m : manifest_.manual()) {
    ASSIGN_OR_RETURN(
        const std::string statement_path,
        bundle::ManualPath(m.control_id(), m.number(), "statement"));
    ASSIGN_OR_RETURN(const std::string sig_path,
                     bundle::ManualPath(m.control_id(), m.number(), "sig"));
    if (Find(statement_path) < 0) {
      return Bad(statement_path, "missing (manifest.json lists it)");
    }
    if (Find(sig_path) < 0) {
      return Bad(sig_path, "missing (manifest.json lists it)");
    }
    ASSIGN_OR_RETURN(const std::string* statement, Kept(statement_path));
    ASSIGN_OR_RETURN(const std::string* signature, Kept(sig_path));
    if (statement->size() > kMaxStatementBytes) {
      return Bad(statement_path, "too large for a statement");
    }
    if (!operator_key_
             ->Verify(Pae(kManualEvidencePayloadType, *statement), *signature)
             .ok()) {
      return Forged(sig_path,
                    absl::StrCat("not a valid signature of ", statement_path,
                                 " under ", bundle::kOperatorKey));
    }
    v1::ManualEvidenceStatement parsed;
    if (!parsed.ParseFromString(*statement)) {
      return Bad(statement_path, "not a ManualEvidenceStatement message");
    }
    if (parsed.control_id() != m.control_id()) {
      return Bad(statement_path,
                 absl::StrCat("is for control ", Quoted(parsed.control_id()),
                              ", not the control of its path"));
    }
    if (ToHex(parsed.document_sha256()) != m.document_sha256()) {
      return Bad(statement_path,
                 "names another document than manifest.json's document_sha256");
    }
    if (!objects_.contains(parsed.document_sha256())) {
      return Bad(statement_path,
                 absl::StrCat("names document ", m.document_sha256(), " but ",
                              kObjectsDir, m.document_sha256(),
                              " is not in the bundle"));
    }
    ++result_.manual;
  }
  return absl::OkStatus();
}

}  // namespace evidentia::collector::verify_internal
