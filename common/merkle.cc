#include "common/merkle.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/sha256.h"

namespace evidentia::merkle {
namespace {

constexpr char kLeafPrefix = 0x00;
constexpr char kNodePrefix = 0x01;

// An audit path or consistency proof longer than this cannot belong to a
// tree of at most 2^64 leaves.
constexpr size_t kMaxProofHashes = 64;

std::string DigestOf(std::initializer_list<std::string_view> parts) {
  return Sha256Of(parts);
}

bool IsPowerOfTwo(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

// The largest power of two smaller than `n` (n >= 2): RFC 6962's split.
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while (k < n - k) k <<= 1;
  return k;
}

absl::Status CheckProofHashes(const std::vector<std::string>& proof,
                              std::string_view what) {
  if (proof.size() > kMaxProofHashes) {
    return absl::UnauthenticatedError(
        absl::StrCat(std::string(what), " has ", proof.size(),
                     " hashes; no tree needs more than ", kMaxProofHashes));
  }
  for (size_t i = 0; i < proof.size(); ++i) {
    if (proof[i].size() != kSha256Size) {
      return absl::UnauthenticatedError(
          absl::StrCat(std::string(what), " hash ", i + 1, " is ",
                       proof[i].size(), " bytes, not ", kSha256Size));
    }
  }
  return absl::OkStatus();
}

// MTH over leaf_hashes[begin, end) (RFC 6962 section 2.1).
std::string SubtreeRoot(const std::vector<std::string>& leaf_hashes,
                        size_t begin, size_t end) {
  if (end - begin == 1) return leaf_hashes[begin];
  const size_t k = SplitPoint(end - begin);
  return NodeHash(SubtreeRoot(leaf_hashes, begin, begin + k),
                  SubtreeRoot(leaf_hashes, begin + k, end));
}

}  // namespace

std::string LeafHash(std::string_view leaf) {
  return DigestOf({std::string_view(&kLeafPrefix, 1), leaf});
}

std::string NodeHash(std::string_view left, std::string_view right) {
  return DigestOf({std::string_view(&kNodePrefix, 1), left, right});
}

std::string EmptyRoot() { return Sha256(std::string_view()); }

std::string SnapshotLeafHash(std::string_view payload,
                             std::string_view signature) {
  return DigestOf({std::string_view(&kLeafPrefix, 1), payload, signature});
}

// RFC 9162 section 2.1.3.2.
absl::Status VerifyInclusion(uint64_t index, uint64_t size,
                             std::string_view leaf_hash,
                             const std::vector<std::string>& proof,
                             std::string_view root) {
  if (index >= size) {
    return absl::UnauthenticatedError(absl::StrCat(
        "leaf index ", index, " is outside the tree of size ", size));
  }
  if (absl::Status hashes = CheckProofHashes(proof, "inclusion proof");
      !hashes.ok()) {
    return hashes;
  }
  uint64_t fn = index;
  uint64_t sn = size - 1;
  std::string r(leaf_hash);
  for (const std::string& p : proof) {
    if (sn == 0) {
      return absl::UnauthenticatedError(absl::StrCat(
          "inclusion proof is too long for leaf ", index, " of ", size));
    }
    if ((fn & 1) != 0 || fn == sn) {
      r = NodeHash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return absl::UnauthenticatedError(absl::StrCat(
        "inclusion proof is too short for leaf ", index, " of ", size));
  }
  if (r != root) {
    return absl::UnauthenticatedError(
        absl::StrCat("inclusion proof of leaf ", index,
                     " does not lead to "
                     "the root of the tree of size ",
                     size));
  }
  return absl::OkStatus();
}

// RFC 9162 section 2.1.4.2, with the trivial cases (size1 of 0 or equal
// sizes, whose proofs are empty) decided first.
absl::Status VerifyConsistency(uint64_t size1, uint64_t size2,
                               const std::vector<std::string>& proof,
                               std::string_view root1, std::string_view root2) {
  if (size1 > size2) {
    return absl::InvalidArgumentError(
        absl::StrCat("consistency from size ", size1, " to the smaller size ",
                     size2, " is meaningless"));
  }
  if (absl::Status hashes = CheckProofHashes(proof, "consistency proof");
      !hashes.ok()) {
    return hashes;
  }
  if (size1 == 0 || size1 == size2) {
    if (!proof.empty()) {
      return absl::UnauthenticatedError(
          absl::StrCat("consistency proof from size ", size1, " to ", size2,
                       " must be empty; it has ", proof.size(), " hashes"));
    }
    if (size1 == 0 ? root1 != EmptyRoot() : root1 != root2) {
      return absl::UnauthenticatedError(
          absl::StrCat("the roots of size ", size1, " and ", size2,
                       " are not those of one log"));
    }
    return absl::OkStatus();
  }
  if (proof.empty()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "consistency proof from size ", size1, " to ", size2, " is empty"));
  }

  // When size1 is a power of two its root is a node of the larger tree and
  // the proof starts above it.
  std::vector<std::string_view> path;
  path.reserve(proof.size() + 1);
  if (IsPowerOfTwo(size1)) path.push_back(root1);
  for (const std::string& p : proof) path.push_back(p);

  uint64_t fn = size1 - 1;
  uint64_t sn = size2 - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  std::string fr(path[0]);
  std::string sr(path[0]);
  for (size_t i = 1; i < path.size(); ++i) {
    const std::string_view c = path[i];
    if (sn == 0) {
      return absl::UnauthenticatedError(
          absl::StrCat("consistency proof from size ", size1, " to ", size2,
                       " is too long"));
    }
    if ((fn & 1) != 0 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return absl::UnauthenticatedError(absl::StrCat(
        "consistency proof from size ", size1, " to ", size2, " is too short"));
  }
  if (fr != root1) {
    return absl::UnauthenticatedError(
        absl::StrCat("consistency proof does not lead to the root of size ",
                     size1, ": the older tree is not a prefix of the newer"));
  }
  if (sr != root2) {
    return absl::UnauthenticatedError(absl::StrCat(
        "consistency proof does not lead to the root of size ", size2));
  }
  return absl::OkStatus();
}

std::string RootOf(const std::vector<std::string>& leaf_hashes) {
  if (leaf_hashes.empty()) return EmptyRoot();
  return SubtreeRoot(leaf_hashes, 0, leaf_hashes.size());
}

}  // namespace evidentia::merkle
