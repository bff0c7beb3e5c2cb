// Sizes every part agrees on: what the collector accepts from an agent or
// the operator, and so what an auditor's verifier may find in a bundle.
#ifndef EVIDENTIA_COMMON_LIMITS_H_
#define EVIDENTIA_COMMON_LIMITS_H_

#include <cstddef>

namespace evidentia {

// A signed snapshot's payload (the Snapshot message).
inline constexpr size_t kMaxPayloadBytes = 1 << 20;
// One facts body (a Facts message).
inline constexpr size_t kMaxFactsBytes = 4 << 20;
// Observations in one snapshot.
inline constexpr int kMaxObservations = 256;
// A manual evidence document (one gRPC message carries it).
inline constexpr size_t kMaxDocumentBytes = 6 << 20;

}  // namespace evidentia

#endif  // EVIDENTIA_COMMON_LIMITS_H_
