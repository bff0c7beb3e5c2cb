#include "common/merkle.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "common/sha256.h"
#include "gtest/gtest.h"

namespace evidentia::merkle {
namespace {

// Trees up to this many leaves are checked exhaustively.
constexpr uint64_t kMaxLeaves = 32;

std::string Unhex(std::string_view hex) {
  return absl::HexStringToBytes(std::string(hex));
}

// --- A naive RFC 6962 reference, straight from section 2.1 ---------------
// Written without reuse of the code under test (other than SHA-256), so the
// two must agree for the tests to pass.

std::string RefLeaf(std::string_view data) {
  return Sha256(std::string(1, '\0') + std::string(data));
}

std::string RefNode(const std::string& left, const std::string& right) {
  return Sha256(std::string(1, '\1') + left + right);
}

// The largest power of two smaller than n.
uint64_t RefSplit(uint64_t n) {
  uint64_t k = 1;
  while (2 * k < n) k *= 2;
  return k;
}

std::vector<std::string> Slice(const std::vector<std::string>& d, uint64_t a,
                               uint64_t b) {
  return std::vector<std::string>(d.begin() + a, d.begin() + b);
}

std::string RefMth(const std::vector<std::string>& d) {
  if (d.empty()) return Sha256("");
  if (d.size() == 1) return d[0];
  const uint64_t k = RefSplit(d.size());
  return RefNode(RefMth(Slice(d, 0, k)), RefMth(Slice(d, k, d.size())));
}

// PATH(m, D[n]).
std::vector<std::string> RefPath(uint64_t m,
                                 const std::vector<std::string>& d) {
  if (d.size() <= 1) return {};
  const uint64_t k = RefSplit(d.size());
  std::vector<std::string> out;
  if (m < k) {
    out = RefPath(m, Slice(d, 0, k));
    out.push_back(RefMth(Slice(d, k, d.size())));
  } else {
    out = RefPath(m - k, Slice(d, k, d.size()));
    out.push_back(RefMth(Slice(d, 0, k)));
  }
  return out;
}

// SUBPROOF(m, D[n], b).
std::vector<std::string> RefSubproof(uint64_t m,
                                     const std::vector<std::string>& d,
                                     bool b) {
  if (m == d.size()) {
    if (b) return {};
    return {RefMth(d)};
  }
  const uint64_t k = RefSplit(d.size());
  std::vector<std::string> out;
  if (m <= k) {
    out = RefSubproof(m, Slice(d, 0, k), b);
    out.push_back(RefMth(Slice(d, k, d.size())));
  } else {
    out = RefSubproof(m - k, Slice(d, k, d.size()), false);
    out.push_back(RefMth(Slice(d, 0, k)));
  }
  return out;
}

// PROOF(m, D[n]) for 0 < m < n, and the empty proof otherwise.
std::vector<std::string> RefConsistency(uint64_t m,
                                        const std::vector<std::string>& d) {
  if (m == 0 || m == d.size()) return {};
  return RefSubproof(m, d, true);
}

// -------------------------------------------------------------------------

// The certificate-transparency reference inputs.
std::vector<std::string> CtLeafHashes() {
  std::vector<std::string> hashes;
  for (std::string_view hex :
       {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
        "606162636465666768696a6b6c6d6e6f"}) {
    hashes.push_back(LeafHash(Unhex(hex)));
  }
  return hashes;
}

// The published roots of the trees over the first 1..8 CT inputs.
const std::vector<std::string>& CtRoots() {
  static const auto* roots = new std::vector<std::string>{
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
  };
  return *roots;
}

// `n` distinct leaf hashes.
std::vector<std::string> Leaves(uint64_t n) {
  std::vector<std::string> hashes;
  for (uint64_t i = 0; i < n; ++i) {
    hashes.push_back(LeafHash("leaf " + std::to_string(i)));
  }
  return hashes;
}

std::string Flipped(std::string hash, size_t byte) {
  hash[byte] ^= 0x01;
  return hash;
}

// --- Hashes ---------------------------------------------------------------

TEST(MerkleTest, EmptyRootIsSha256OfNothing) {
  EXPECT_EQ(ToHex(EmptyRoot()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(RootOf({}), EmptyRoot());
}

TEST(MerkleTest, LeafHashPrefixesZeroByte) {
  EXPECT_EQ(ToHex(LeafHash("")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  EXPECT_EQ(LeafHash("abc"), RefLeaf("abc"));
}

TEST(MerkleTest, NodeHashPrefixesOneByte) {
  const std::string a = LeafHash("a");
  const std::string b = LeafHash("b");
  EXPECT_EQ(NodeHash(a, b), Sha256("\1" + a + b));
  EXPECT_NE(NodeHash(a, b), NodeHash(b, a));
}

TEST(MerkleTest, SnapshotLeafIsPayloadThenSignature) {
  const std::string payload = "serialized snapshot";
  const std::string signature(64, '\x5a');
  EXPECT_EQ(SnapshotLeafHash(payload, signature),
            Sha256(std::string(1, '\0') + payload + signature));
  EXPECT_NE(SnapshotLeafHash(payload, signature),
            SnapshotLeafHash(signature, payload));
}

TEST(MerkleTest, ReferenceAgreesWithPublishedCtRoots) {
  const std::vector<std::string> leaves = CtLeafHashes();
  for (size_t n = 1; n <= leaves.size(); ++n) {
    EXPECT_EQ(ToHex(RefMth(Slice(leaves, 0, n))), CtRoots()[n - 1])
        << "size " << n;
  }
}

TEST(MerkleTest, RootOfMatchesPublishedCtRoots) {
  const std::vector<std::string> leaves = CtLeafHashes();
  for (size_t n = 1; n <= leaves.size(); ++n) {
    EXPECT_EQ(ToHex(RootOf(Slice(leaves, 0, n))), CtRoots()[n - 1])
        << "size " << n;
  }
}

TEST(MerkleTest, RootOfSplitsAtLargestPowerOfTwoNotMidpoint) {
  const std::vector<std::string> d = Leaves(kMaxLeaves);
  for (uint64_t n = 1; n <= kMaxLeaves; ++n) {
    EXPECT_EQ(RootOf(Slice(d, 0, n)), RefMth(Slice(d, 0, n))) << "size " << n;
  }
  // Size 5 is ((0 1)(2 3)) 4, not (0 1 2)(3 4).
  EXPECT_EQ(
      RootOf(Slice(d, 0, 5)),
      NodeHash(NodeHash(NodeHash(d[0], d[1]), NodeHash(d[2], d[3])), d[4]));
}

// --- Inclusion ------------------------------------------------------------

TEST(MerkleInclusionTest, PublishedCtProofsVerify) {
  const std::vector<std::string> leaves = CtLeafHashes();
  const std::string root8 = Unhex(CtRoots()[7]);
  const std::vector<std::string> proof0 = {
      Unhex("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
      Unhex("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
      Unhex(
          "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")};
  const std::vector<std::string> proof5 = {
      Unhex("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
      Unhex("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
      Unhex(
          "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")};

  EXPECT_EQ(RefPath(0, leaves), proof0);
  EXPECT_EQ(RefPath(5, leaves), proof5);
  EXPECT_TRUE(VerifyInclusion(0, 8, leaves[0], proof0, root8).ok());
  EXPECT_TRUE(VerifyInclusion(5, 8, leaves[5], proof5, root8).ok());
}

TEST(MerkleInclusionTest, SingleLeafTreeNeedsEmptyProof) {
  const std::string leaf = LeafHash("");
  EXPECT_TRUE(VerifyInclusion(0, 1, leaf, {}, leaf).ok());
  EXPECT_EQ(VerifyInclusion(0, 1, leaf, {leaf}, leaf).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(MerkleInclusionTest, EveryLeafOfEveryTreeVerifies) {
  const std::vector<std::string> d = Leaves(kMaxLeaves);
  for (uint64_t n = 1; n <= kMaxLeaves; ++n) {
    const std::vector<std::string> tree = Slice(d, 0, n);
    const std::string root = RootOf(tree);
    for (uint64_t i = 0; i < n; ++i) {
      EXPECT_TRUE(VerifyInclusion(i, n, d[i], RefPath(i, tree), root).ok())
          << "leaf " << i << " of " << n;
    }
  }
}

TEST(MerkleInclusionTest, FailsForFlippedByteInAnyProofHash) {
  const std::vector<std::string> d = Leaves(kMaxLeaves);
  for (uint64_t n = 2; n <= kMaxLeaves; ++n) {
    const std::vector<std::string> tree = Slice(d, 0, n);
    const std::string root = RootOf(tree);
    for (uint64_t i = 0; i < n; ++i) {
      const std::vector<std::string> proof = RefPath(i, tree);
      for (size_t h = 0; h < proof.size(); ++h) {
        for (size_t byte : {size_t{0}, size_t{17}, size_t{31}}) {
          std::vector<std::string> bad = proof;
          bad[h] = Flipped(bad[h], byte);
          EXPECT_EQ(VerifyInclusion(i, n, d[i], bad, root).code(),
                    absl::StatusCode::kUnauthenticated)
              << "leaf " << i << " of " << n << ", hash " << h;
        }
      }
    }
  }
}

TEST(MerkleInclusionTest, FailsForWrongIndex) {
  const std::vector<std::string> d = Leaves(kMaxLeaves);
  for (uint64_t n = 2; n <= kMaxLeaves; ++n) {
    const std::vector<std::string> tree = Slice(d, 0, n);
    const std::string root = RootOf(tree);
    for (uint64_t i = 0; i < n; ++i) {
      const std::vector<std::string> proof = RefPath(i, tree);
      for (uint64_t j = 0; j <= n; ++j) {
        if (j == i) continue;
        EXPECT_FALSE(VerifyInclusion(j, n, d[i], proof, root).ok())
            << "leaf " << i << " claimed at " << j << " of " << n;
      }
    }
  }
}

// A proof alone does not fix the tree size (leaf 0 has the same path in
// trees of 3 and 4 leaves); the size comes with its signed root. So a wrong
// size is checked together with that size's root.
TEST(MerkleInclusionTest, FailsForWrongSize) {
  const std::vector<std::string> d = Leaves(kMaxLeaves + 1);
  for (uint64_t n = 1; n <= kMaxLeaves; ++n) {
    const std::vector<std::string> proof_tree = Slice(d, 0, n);
    for (uint64_t i = 0; i < n; ++i) {
      const std::vector<std::string> proof = RefPath(i, proof_tree);
      for (uint64_t m = 1; m <= kMaxLeaves + 1; ++m) {
        if (m == n || i >= m) continue;
        EXPECT_EQ(
            VerifyInclusion(i, m, d[i], proof, RootOf(Slice(d, 0, m))).code(),
            absl::StatusCode::kUnauthenticated)
            << "leaf " << i << " of " << n << " claimed in size " << m;
      }
    }
  }
}

TEST(MerkleInclusionTest, FailsForTruncatedProof) {
  const std::vector<std::string> d = Leaves(kMaxLeaves);
  for (uint64_t n = 2; n <= kMaxLeaves; ++n) {
    const std::vector<std::string> tree = Slice(d, 0, n);
    const std::string root = RootOf(tree);
    for (uint64_t i = 0; i < n; ++i) {
      std::vector<std::string> proof = RefPath(i, tree);
      ASSERT_FALSE(proof.empty());
      proof.pop_back();
      EXPECT_EQ(VerifyInclusion(i, n, d[i], proof, root).code(),
                absl::StatusCode::kUnauthenticated)
          << "leaf " << i << " of " << n;
    }
  }
}

TEST(MerkleInclusionTest, FailsForExtendedProof) {
  const std::vector<std::string> d = Leaves(kMaxLeaves);
  for (uint64_t n = 1; n <= kMaxLeaves; ++n) {
    const std::vector<std::string> tree = Slice(d, 0, n);
    const std::string root = RootOf(tree);
    for (uint64_t i = 0; i < n; ++i) {
      std::vector<std::string> appended = RefPath(i, tree);
      appended.push_back(d[0]);
      EXPECT_EQ(VerifyInclusion(i, n, d[i], appended, root).code(),
                absl::StatusCode::kUnauthenticated)
          << "leaf " << i << " of " << n;
      std::vector<std::string> prepended = RefPath(i, tree);
      prepended.insert(prepended.begin(), d[i]);
      EXPECT_EQ(VerifyInclusion(i, n, d[i], prepended, root).code(),
                absl::StatusCode::kUnauthenticated)
          << "leaf " << i << " of " << n;
    }
  }
}

TEST(MerkleInclusionTest, FailsForWrongLeaf) {
  const std::vector<std::string> d = Leaves(kMaxLeaves);
  for (uint64_t n = 1; n <= kMaxLeaves; ++n) {
    const std::vector<std::string> tree = Slice(d, 0, n);
    const std::string root = RootOf(tree);
    for (uint64_t i = 0; i < n; ++i) {
      const std::vector<std::string> proof = RefPath(i, tree);
      EXPECT_EQ(VerifyInclusion(i, n, Flipped(d[i], 5), proof, root).code(),
                absl::StatusCode::kUnauthenticated);
      // The leaf's data instead of its hash.
      EXPECT_FALSE(
          VerifyInclusion(i, n, "leaf " + std::to_string(i), proof, root).ok());
    }
  }
}

TEST(MerkleInclusionTest, FailsForWrongRoot) {
  const std::vector<std::string> d = Leaves(7);
  EXPECT_EQ(
      VerifyInclusion(3, 7, d[3], RefPath(3, d), RootOf(Slice(d, 0, 6))).code(),
      absl::StatusCode::kUnauthenticated);
}

TEST(MerkleInclusionTest, FailsForIndexOutsideTree) {
  const std::vector<std::string> d = Leaves(4);
  EXPECT_EQ(VerifyInclusion(4, 4, d[3], RefPath(3, d), RootOf(d)).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(VerifyInclusion(0, 0, d[0], {}, EmptyRoot()).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(MerkleInclusionTest, FailsForProofHashOfWrongLength) {
  const std::vector<std::string> d = Leaves(4);
  std::vector<std::string> proof = RefPath(1, d);
  proof[0] += "x";
  EXPECT_EQ(VerifyInclusion(1, 4, d[1], proof, RootOf(d)).code(),
            absl::StatusCode::kUnauthenticated);
}

// --- Consistency ----------------------------------------------------------

TEST(MerkleConsistencyTest, PublishedCtProofsVerify) {
  const std::vector<std::string> leaves = CtLeafHashes();
  auto root = [&](uint64_t n) { return Unhex(CtRoots()[n - 1]); };
  const std::vector<std::string> proof_2_8 = {
      Unhex("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
      Unhex(
          "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")};
  const std::vector<std::string> proof_6_8 = {
      Unhex("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
      Unhex("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
      Unhex(
          "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")};
  const std::vector<std::string> proof_2_5 = {
      Unhex("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
      Unhex(
          "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")};

  EXPECT_EQ(RefConsistency(2, leaves), proof_2_8);
  EXPECT_EQ(RefConsistency(6, leaves), proof_6_8);
  EXPECT_EQ(RefConsistency(2, Slice(leaves, 0, 5)), proof_2_5);
  EXPECT_TRUE(VerifyConsistency(2, 8, proof_2_8, root(2), root(8)).ok());
  EXPECT_TRUE(VerifyConsistency(6, 8, proof_6_8, root(6), root(8)).ok());
  EXPECT_TRUE(VerifyConsistency(2, 5, proof_2_5, root(2), root(5)).ok());
}

TEST(MerkleConsistencyTest, EverySizePairVerifies) {
  const std::vector<std::string> d = Leaves(kMaxLeaves);
  for (uint64_t n2 = 0; n2 <= kMaxLeaves; ++n2) {
    const std::vector<std::string> tree = Slice(d, 0, n2);
    for (uint64_t n1 = 0; n1 <= n2; ++n1) {
      EXPECT_TRUE(VerifyConsistency(n1, n2, RefConsistency(n1, tree),
                                    RootOf(Slice(d, 0, n1)), RootOf(tree))
                      .ok())
          << n1 << " to " << n2;
    }
  }
}

TEST(MerkleConsistencyTest, FailsForFlippedByteInAnyProofHash) {
  const std::vector<std::string> d = Leaves(kMaxLeaves);
  for (uint64_t n2 = 2; n2 <= kMaxLeaves; ++n2) {
    const std::vector<std::string> tree = Slice(d, 0, n2);
    const std::string root2 = RootOf(tree);
    for (uint64_t n1 = 1; n1 < n2; ++n1) {
      const std::string root1 = RootOf(Slice(d, 0, n1));
      const std::vector<std::string> proof = RefConsistency(n1, tree);
      for (size_t h = 0; h < proof.size(); ++h) {
        std::vector<std::string> bad = proof;
        bad[h] = Flipped(bad[h], h % kSha256Size);
        EXPECT_EQ(VerifyConsistency(n1, n2, bad, root1, root2).code(),
                  absl::StatusCode::kUnauthenticated)
            << n1 << " to " << n2 << ", hash " << h;
      }
    }
  }
}

TEST(MerkleConsistencyTest, FailsForWrongOldRoot) {
  const std::vector<std::string> d = Leaves(kMaxLeaves);
  for (uint64_t n2 = 1; n2 <= kMaxLeaves; ++n2) {
    const std::vector<std::string> tree = Slice(d, 0, n2);
    for (uint64_t n1 = 0; n1 <= n2; ++n1) {
      const std::string bad_root1 = Flipped(RootOf(Slice(d, 0, n1)), 3);
      EXPECT_EQ(VerifyConsistency(n1, n2, RefConsistency(n1, tree), bad_root1,
                                  RootOf(tree))
                    .code(),
                absl::StatusCode::kUnauthenticated)
          << n1 << " to " << n2;
    }
  }
}

TEST(MerkleConsistencyTest, FailsForWrongNewRoot) {
  const std::vector<std::string> d = Leaves(kMaxLeaves);
  for (uint64_t n2 = 2; n2 <= kMaxLeaves; ++n2) {
    const std::vector<std::string> tree = Slice(d, 0, n2);
    for (uint64_t n1 = 1; n1 < n2; ++n1) {
      EXPECT_EQ(
          VerifyConsistency(n1, n2, RefConsistency(n1, tree),
                            RootOf(Slice(d, 0, n1)), Flipped(RootOf(tree), 30))
              .code(),
          absl::StatusCode::kUnauthenticated)
          << n1 << " to " << n2;
    }
  }
}

TEST(MerkleConsistencyTest, FailsForHistoryRewrittenUnderOldRoot) {
  // The new tree changes one leaf the old tree already held.
  const std::vector<std::string> d = Leaves(kMaxLeaves);
  for (uint64_t n2 = 2; n2 <= kMaxLeaves; ++n2) {
    for (uint64_t n1 = 1; n1 < n2; ++n1) {
      std::vector<std::string> rewritten = Slice(d, 0, n2);
      rewritten[n1 - 1] = LeafHash("rewritten");
      EXPECT_FALSE(VerifyConsistency(n1, n2, RefConsistency(n1, rewritten),
                                     RootOf(Slice(d, 0, n1)), RootOf(rewritten))
                       .ok())
          << n1 << " to " << n2;
    }
  }
}

TEST(MerkleConsistencyTest, FailsForTruncatedOrExtendedProof) {
  const std::vector<std::string> d = Leaves(kMaxLeaves);
  for (uint64_t n2 = 2; n2 <= kMaxLeaves; ++n2) {
    const std::vector<std::string> tree = Slice(d, 0, n2);
    const std::string root2 = RootOf(tree);
    for (uint64_t n1 = 1; n1 < n2; ++n1) {
      const std::string root1 = RootOf(Slice(d, 0, n1));
      std::vector<std::string> truncated = RefConsistency(n1, tree);
      truncated.pop_back();
      EXPECT_EQ(VerifyConsistency(n1, n2, truncated, root1, root2).code(),
                absl::StatusCode::kUnauthenticated)
          << n1 << " to " << n2;
      std::vector<std::string> extended = RefConsistency(n1, tree);
      extended.push_back(d[0]);
      EXPECT_EQ(VerifyConsistency(n1, n2, extended, root1, root2).code(),
                absl::StatusCode::kUnauthenticated)
          << n1 << " to " << n2;
    }
  }
}

// As for inclusion, a claimed size is checked together with its root.
TEST(MerkleConsistencyTest, FailsForWrongSizes) {
  const std::vector<std::string> d = Leaves(kMaxLeaves + 1);
  auto root = [&](uint64_t n) { return RootOf(Slice(d, 0, n)); };
  for (uint64_t n2 = 2; n2 <= kMaxLeaves; ++n2) {
    for (uint64_t n1 = 1; n1 < n2; ++n1) {
      const std::vector<std::string> proof =
          RefConsistency(n1, Slice(d, 0, n2));
      EXPECT_EQ(
          VerifyConsistency(n1, n2 + 1, proof, root(n1), root(n2 + 1)).code(),
          absl::StatusCode::kUnauthenticated)
          << n1 << " to " << n2 << " claimed to " << n2 + 1;
      if (n1 + 1 < n2) {
        EXPECT_EQ(
            VerifyConsistency(n1 + 1, n2, proof, root(n1 + 1), root(n2)).code(),
            absl::StatusCode::kUnauthenticated)
            << n1 << " to " << n2 << " claimed from " << n1 + 1;
      }
      if (n1 > 1) {
        EXPECT_EQ(
            VerifyConsistency(n1 - 1, n2, proof, root(n1 - 1), root(n2)).code(),
            absl::StatusCode::kUnauthenticated)
            << n1 << " to " << n2 << " claimed from " << n1 - 1;
      }
    }
  }
}

TEST(MerkleConsistencyTest, EqualSizesNeedEqualRootsAndEmptyProof) {
  const std::vector<std::string> d = Leaves(5);
  const std::string root = RootOf(d);
  EXPECT_TRUE(VerifyConsistency(5, 5, {}, root, root).ok());
  EXPECT_EQ(VerifyConsistency(5, 5, {}, root, Flipped(root, 0)).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(VerifyConsistency(5, 5, {d[0]}, root, root).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(MerkleConsistencyTest, FromEmptyTreeNeedsEmptyRootAndEmptyProof) {
  const std::vector<std::string> d = Leaves(5);
  EXPECT_TRUE(VerifyConsistency(0, 5, {}, EmptyRoot(), RootOf(d)).ok());
  EXPECT_EQ(VerifyConsistency(0, 5, {d[0]}, EmptyRoot(), RootOf(d)).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(MerkleConsistencyTest, ShrinkingIsInvalidArgument) {
  const std::vector<std::string> d = Leaves(5);
  EXPECT_EQ(
      VerifyConsistency(5, 4, {}, RootOf(d), RootOf(Slice(d, 0, 4))).code(),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace evidentia::merkle
