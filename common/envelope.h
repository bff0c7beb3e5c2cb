// Signing and verifying snapshot envelopes (SignedSnapshot): Ed25519 over
// PAE(payload_type, payload), as proto/README.md specifies.
#ifndef EVIDENTIA_COMMON_ENVELOPE_H_
#define EVIDENTIA_COMMON_ENVELOPE_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/ed25519.h"
#include "evidentia/v1/snapshot.pb.h"

namespace evidentia {

inline constexpr std::string_view kSnapshotPayloadType =
    "application/vnd.evidentia.snapshot.v1+protobuf";
// Manual evidence statements (ManualEvidenceStatement) signed by the
// operator key, with the same PAE and Ed25519 as snapshots.
inline constexpr std::string_view kManualEvidencePayloadType =
    "application/vnd.evidentia.manual-evidence.v1+protobuf";

// Device key rotation statements (common/checkpoint.h, KeyRotation), signed
// by the old and the new key with the same PAE and Ed25519.
inline constexpr std::string_view kKeyRotationPayloadType =
    "application/vnd.evidentia.key-rotation.v1+text";

// Wraps `payload` (a serialized Snapshot) in a signed envelope.
absl::StatusOr<v1::SignedSnapshot> SignPayload(const PrivateKey& key,
                                               std::string payload);

// OK when the envelope's type is kSnapshotPayloadType, its key id is `key`'s
// and the signature verifies. INVALID_ARGUMENT for a wrong payload type or a
// signature that is not 64 bytes; UNAUTHENTICATED for a key id mismatch or a
// signature that does not verify.
absl::Status VerifyEnvelope(const PublicKey& key,
                            const v1::SignedSnapshot& envelope);

}  // namespace evidentia

#endif  // EVIDENTIA_COMMON_ENVELOPE_H_
