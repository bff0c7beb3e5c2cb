// RFC 6962 Merkle trees (as restated in RFC 9162 section 2.1): the hashes,
// and verification of inclusion and consistency proofs. Pure functions; the
// collector's stored log is collector/log/transparency_log.h. Hashes are raw
// 32-byte strings.
#ifndef EVIDENTIA_COMMON_MERKLE_H_
#define EVIDENTIA_COMMON_MERKLE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace evidentia::merkle {

// SHA-256(0x00 || leaf).
std::string LeafHash(std::string_view leaf);
// SHA-256(0x01 || left || right).
std::string NodeHash(std::string_view left, std::string_view right);
// The root of the empty tree: SHA-256 of nothing.
std::string EmptyRoot();

// The leaf of one accepted snapshot: its payload then its 64-byte signature.
std::string SnapshotLeafHash(std::string_view payload,
                             std::string_view signature);

// OK when `proof` (the audit path, leaf's sibling first) shows the leaf with
// hash `leaf_hash` at `index` is in the tree of `size` with `root`.
// UNAUTHENTICATED (saying what does not hold) otherwise, including an index
// outside the tree or a proof of the wrong length.
absl::Status VerifyInclusion(uint64_t index, uint64_t size,
                             std::string_view leaf_hash,
                             const std::vector<std::string>& proof,
                             std::string_view root);

// OK when `proof` shows the tree of `size1` with `root1` is a prefix of the
// tree of `size2` with `root2` (RFC 9162 2.1.4.2). UNAUTHENTICATED
// otherwise; INVALID_ARGUMENT when size1 > size2.
absl::Status VerifyConsistency(uint64_t size1, uint64_t size2,
                               const std::vector<std::string>& proof,
                               std::string_view root1, std::string_view root2);

// The root of the tree over `leaf_hashes`, computed directly (MTH of RFC
// 6962). For tests and small trees; the collector's log never holds all
// leaves in memory.
std::string RootOf(const std::vector<std::string>& leaf_hashes);

}  // namespace evidentia::merkle

#endif  // EVIDENTIA_COMMON_MERKLE_H_
