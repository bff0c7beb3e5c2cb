#include "common/envelope.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/pae.h"

namespace evidentia {

absl::StatusOr<v1::SignedSnapshot> SignPayload(const PrivateKey& key,
                                               std::string payload) {
  absl::StatusOr<std::string> signature =
      key.Sign(Pae(kSnapshotPayloadType, payload));
  if (!signature.ok()) return signature.status();
  v1::SignedSnapshot envelope;
  envelope.set_payload(std::move(payload));
  envelope.set_payload_type(std::string(kSnapshotPayloadType));
  envelope.set_signature(*std::move(signature));
  envelope.set_key_id(key.public_key().KeyId());
  return envelope;
}

absl::Status VerifyEnvelope(const PublicKey& key,
                            const v1::SignedSnapshot& envelope) {
  if (envelope.payload_type() != kSnapshotPayloadType) {
    return absl::InvalidArgumentError(
        absl::StrCat("envelope payload type \"",
                     absl::CHexEscape(envelope.payload_type().substr(0, 128)),
                     "\" is not \"", std::string(kSnapshotPayloadType), "\""));
  }
  if (envelope.signature().size() != kEd25519SignatureSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("envelope signature is ", envelope.signature().size(),
                     " bytes, want ", kEd25519SignatureSize));
  }
  const std::string expected_key_id = key.KeyId();
  if (envelope.key_id() != expected_key_id) {
    return absl::UnauthenticatedError(
        absl::StrCat("envelope key id \"",
                     absl::CHexEscape(envelope.key_id().substr(0, 128)),
                     "\" is not the expected key ", expected_key_id));
  }
  absl::Status verified = key.Verify(
      Pae(envelope.payload_type(), envelope.payload()), envelope.signature());
  if (!verified.ok()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "envelope signed by key ", expected_key_id, ": ", verified.message()));
  }
  return absl::OkStatus();
}

}  // namespace evidentia
