// The per-agent snapshot chain: seq 1, 2, 3, ... each naming the SHA-256 of
// the previous payload. Pure functions over the chain head; storage and
// signatures are elsewhere.
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

// The head after `payload` (a serialized Snapshot with seq `seq`).
ChainHead HeadAfter(uint64_t seq, std::string_view payload);

// OK when `snapshot` is the next one after `head`. ALREADY_EXISTS when its
// seq was already used (a replay or an equivocation; the caller tells them
// apart by comparing payload digests); FAILED_PRECONDITION when seq skips
// ahead (out of order) or prev does not name head's payload; INVALID_ARGUMENT
// for seq 0 or a prev that is not 32 bytes.
absl::Status CheckNext(const ChainHead& head, const v1::Snapshot& snapshot);

}  // namespace evidentia

#endif  // EVIDENTIA_COMMON_SNAPSHOT_CHAIN_H_
