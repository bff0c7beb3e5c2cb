// The per-agent snapshot chain: seq 1, 2, 3, ... each naming the SHA-256 of
// the previous payload, where a signed gap snapshot may stand for a range of
// lost seqs (proto/README.md, "The chain" and "Gaps"). Pure functions over
// the chain head; storage and signatures are elsewhere.
#ifndef EVIDENTIA_COMMON_SNAPSHOT_CHAIN_H_
#define EVIDENTIA_COMMON_SNAPSHOT_CHAIN_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "evidentia/v1/snapshot.pb.h"

namespace evidentia {

// The last snapshot accepted (collector) or made (agent).
struct ChainHead {
  uint64_t seq = 0;            // 0: nothing yet
  std::string payload_sha256;  // 32 bytes when seq > 0, else empty
};

// Sets `snapshot`'s seq and prev so that it follows `head`.
void LinkAfter(const ChainHead& head, v1::Snapshot& snapshot);

// The head after `payload` (a serialized Snapshot with seq `seq`, not a gap).
ChainHead HeadAfter(uint64_t seq, std::string_view payload);

// The head after `snapshot`, parsed from `payload`: for a gap snapshot the
// next one chains from gap.last_payload_sha256, otherwise from the payload.
ChainHead HeadAfterSnapshot(const v1::Snapshot& snapshot,
                            std::string_view payload);

// OK when a gap snapshot is well formed: first_seq >= 1, first_seq <=
// last_seq == seq, a 32-byte last_payload_sha256 and no observations.
// INVALID_ARGUMENT otherwise. OK for a snapshot without a gap.
absl::Status CheckGapShape(const v1::Snapshot& snapshot);

// OK when `snapshot` is the next one after `head`. ALREADY_EXISTS when its
// seq was already used (a replay or an equivocation; the caller tells them
// apart by comparing payload digests); FAILED_PRECONDITION when seq skips
// ahead (out of order) or prev does not name head's payload; INVALID_ARGUMENT
// for seq 0 or a prev that is not 32 bytes.
// A gap snapshot is next when gap.first_seq is head.seq + 1 and its prev
// names head's payload; one whose seq was used is ALREADY_EXISTS, one whose
// gap.first_seq is at or below head.seq (it would hide snapshots already
// held) FAILED_PRECONDITION, a malformed one INVALID_ARGUMENT.
absl::Status CheckNext(const ChainHead& head, const v1::Snapshot& snapshot);

}  // namespace evidentia

#endif  // EVIDENTIA_COMMON_SNAPSHOT_CHAIN_H_
