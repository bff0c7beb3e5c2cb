// The ISMS register: the signed records of the documented information
// (and, later, of audits) as the collector accepted them, folded into what
// they say now. Records are statements the operator signs (a DSSE payload
// type per kind, PAE and Ed25519 as for snapshots); proto/README.md, "ISMS
// records", is the format. Pure: no store, no clock; the collector and the
// bundle verifier build the same Register from the same records.
#ifndef EVIDENTIA_ISMS_REGISTER_H_
#define EVIDENTIA_ISMS_REGISTER_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "evidentia/v1/isms.pb.h"
#include "grading/policy.h"

namespace evidentia::isms {

// One version of a document (DocumentStatement).
inline constexpr char kDocumentPayloadType[] =
    "application/vnd.evidentia.isms-document.v1+protobuf";

// The kind of a record as bundles name its files ("document"), from its
// payload type; "" for a type that is not an ISMS record's.
std::string KindOfPayloadType(absl::string_view payload_type);

// A calendar date written YYYY-MM-DD (four-digit year from 1970, a real
// month and day). INVALID_ARGUMENT naming `what` otherwise.
absl::StatusOr<absl::CivilDay> ParseDay(absl::string_view text,
                                        absl::string_view what);

// The day `moment` falls on, in UTC.
absl::CivilDay DayOf(absl::Time moment);

// One registered version of a document.
struct DocumentVersion {
  uint64_t record = 0;  // its record number
  absl::Time received_at;
  v1::DocumentStatement statement;
};

// A document's key: clause and document id.
using DocumentKey = std::pair<std::string, std::string>;

class Register {
 public:
  // Adds the next record (numbers ascending, from 1, without gaps).
  // DATA_LOSS when its number is out of order, its payload type is not an
  // ISMS record's, or its statement does not parse: stored records were
  // validated when accepted, so any of these is corruption. Signatures are
  // the caller's to check (the collector checked them on arrival, the
  // verifier checks the bundle's).
  absl::Status Add(const v1::StoredIsmsRecord& record);

  uint64_t size() const { return size_; }

  // Every version of every document, oldest first, by key.
  const std::map<DocumentKey, std::vector<DocumentVersion>>& documents() const {
    return documents_;
  }
  // The versions of one document, oldest first; null when none.
  const std::vector<DocumentVersion>* Versions(const DocumentKey& key) const;

 private:
  uint64_t size_ = 0;
  std::map<DocumentKey, std::vector<DocumentVersion>> documents_;
};

// Whether `statement` may be accepted as the next record, given the
// policies (the clause catalogue) and the register so far. INVALID_ARGUMENT
// with a sentence for a person: an unknown clause, a document id of another
// clause, a malformed or missing field, dates out of order, a version
// already registered. FAILED_PRECONDITION when the policies have no clause
// catalogue.
absl::Status ValidateDocument(const v1::DocumentStatement& statement,
                              const policy::PolicySet& policy,
                              const Register& register_so_far);

// Text a person typed (a name, a version, a note): at most `max_bytes`
// bytes of UTF-8 without control characters. INVALID_ARGUMENT naming
// `what` otherwise; `required` refuses an empty one.
absl::Status CheckText(absl::string_view text, absl::string_view what,
                       size_t max_bytes, bool required);

}  // namespace evidentia::isms

#endif  // EVIDENTIA_ISMS_REGISTER_H_
