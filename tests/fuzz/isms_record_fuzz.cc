// ISMS records as a bundle or the store hands them over: the input is a
// serialized StoredIsmsRecord (payload type, statement, number), added to a
// register and validated against the shipped clause catalogue, then
// assessed for readiness. Nothing may crash; a record the register takes
// must be a known kind, and a statement that validates must name a clause
// of the catalogue.
#include <filesystem>
#include <string>

#include "absl/time/time.h"
#include "evidentia/v1/isms.pb.h"
#include "grading/policy.h"
#include "isms/readiness.h"
#include "isms/register.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

const evidentia::policy::PolicySet& Shipped() {
  static const evidentia::policy::PolicySet* set = [] {
    const std::filesystem::path dir =
        std::filesystem::path(EVIDENTIA_SOURCE_DIR) / "policies";
    absl::StatusOr<evidentia::policy::PolicySet> loaded =
        evidentia::policy::LoadPolicySet(dir, dir / "soa.example.yaml");
    evidentia::fuzz::Require(loaded.ok(), "loading the shipped policies");
    return new evidentia::policy::PolicySet(*std::move(loaded));
  }();
  return *set;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using evidentia::fuzz::Require;
  namespace isms = evidentia::isms;
  evidentia::v1::StoredIsmsRecord record;
  if (!record.ParseFromArray(data, static_cast<int>(size))) return 0;
  isms::Register so_far;
  const bool added = so_far.Add(record).ok();
  if (added) {
    Require(!isms::KindOfPayloadType(record.payload_type()).empty(),
            "the register takes known kinds only");
  }
  evidentia::v1::DocumentStatement statement;
  if (statement.ParseFromString(record.statement()) &&
      isms::ValidateDocument(statement, Shipped(), isms::Register()).ok()) {
    Require(Shipped().FindClause(statement.clause()) != nullptr,
            "a valid document names a clause of the catalogue");
    Require(statement.sha256().size() == 32, "a valid document has a digest");
  }
  const evidentia::v1::ReadinessReport report = isms::AssessReadiness(
      Shipped(), so_far, absl::FromUnixSeconds(1800000000));
  Require(report.clauses_size() == static_cast<int>(Shipped().clauses.size()),
          "one readiness row per clause");
  return 0;
}
