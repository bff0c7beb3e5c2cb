#include "bundle/paths.h"

#include <string>

#include "gtest/gtest.h"

namespace evidentia::collector::bundle {
namespace {

constexpr char kAgent[] = "0123456789abcdef0123456789abcdef";

TEST(BundlePathsTest, BuildsThePathsOfTheLayout) {
  EXPECT_EQ(*AgentKeyPath(kAgent),
            "keys/agents/0123456789abcdef0123456789abcdef.pub.pem");
  EXPECT_EQ(*SnapshotPath(kAgent, 17, "payload"),
            "snapshots/0123456789abcdef0123456789abcdef/17.payload");
  EXPECT_EQ(*ProofPath(kAgent, 3),
            "log/proofs/0123456789abcdef0123456789abcdef/3.proof");
  std::string hex;
  for (int i = 0; i < 32; ++i) hex += "ab";
  EXPECT_EQ(*ObjectPath(std::string(32, '\xab')), "objects/" + hex);
  EXPECT_EQ(*ManualPath("a.8.24", 2, "sig"), "manual/a.8.24/2.sig");
}

TEST(BundlePathsTest, RefusesAgentIdsThatCouldEscape) {
  for (const char* id :
       {"../../etc", "..", ".", "", "a/b", "0123456789ABCDEF0123456789ABCDEF",
        "0123456789abcdef0123456789abcde",
        "0123456789abcdef0123456789abcdef0"}) {
    SCOPED_TRACE(id);
    EXPECT_FALSE(AgentKeyPath(id).ok());
    EXPECT_FALSE(SnapshotPath(id, 1, "payload").ok());
    EXPECT_FALSE(ProofPath(id, 1).ok());
  }
}

TEST(BundlePathsTest, RefusesControlIdsThatCouldEscape) {
  for (const char* id : {"../a.5.1", "a.5.1/..", "a..", "a.5", "a.5.1.2",
                         "b.5.1", "a.5.x", "a.12345.1", ""}) {
    SCOPED_TRACE(id);
    EXPECT_FALSE(ManualPath(id, 1, "statement").ok());
  }
  EXPECT_TRUE(IsControlId("a.8.34"));
}

TEST(BundlePathsTest, RefusesDigestsOfTheWrongLength) {
  EXPECT_FALSE(ObjectPath("").ok());
  EXPECT_FALSE(ObjectPath(std::string(31, 'x')).ok());
  EXPECT_FALSE(ObjectPath("../../../../etc/passwd/../../../../../..").ok());
}

TEST(BundlePathsTest, IsmsKindsAreWordsJoinedByDashes) {
  EXPECT_EQ(*IsmsRecordPath(7, "action-close", "sig"),
            "isms/7.action-close.sig");
  EXPECT_EQ(*IsmsRecordPath(1, "document", "statement"),
            "isms/1.document.statement");
  for (const char* kind :
       {"", "-action", "action-", "Action", "a/b", "..", "a.b", "a b"}) {
    SCOPED_TRACE(kind);
    EXPECT_FALSE(IsmsRecordPath(1, kind, "sig").ok());
  }
  EXPECT_FALSE(IsmsRecordPath(1, std::string(33, 'a'), "sig").ok());
}

TEST(BundlePathsTest, SafePathsAreRelativeAndPlain) {
  EXPECT_TRUE(IsSafePath("SHA256SUMS"));
  EXPECT_TRUE(IsSafePath("policies/checks/linux.yaml"));
  EXPECT_TRUE(IsSafePath("manual/a.5.1/1.statement"));
  for (const char* path :
       {"", "/etc/passwd", "../x", "a/../b", "a/./b", "a//b", "a/", ".hidden",
        "a/.b", "a\\b", "a b", "a/b/c/d/e/f/g", "caf\xc3\xa9"}) {
    SCOPED_TRACE(path);
    EXPECT_FALSE(IsSafePath(path));
  }
  EXPECT_FALSE(IsSafePath(std::string(256, 'a')));
  EXPECT_FALSE(IsSafePath(std::string("a\0b", 3)));
}

}  // namespace
}  // namespace evidentia::collector::bundle
