#include "common/envelope.h"

#include <cctype>
#include <string>

#include "absl/status/status.h"
#include "common/ed25519.h"
#include "common/pae.h"
#include "gtest/gtest.h"

namespace evidentia {
namespace {

PrivateKey NewKey() {
  absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

std::string SnapshotPayload() {
  v1::Snapshot snapshot;
  snapshot.set_agent_id("a1b2c3");
  snapshot.set_seq(17);
  snapshot.set_prev_payload_sha256(std::string(32, '\x5a'));
  snapshot.set_agent_version("0.1.0");
  return snapshot.SerializeAsString();
}

class EnvelopeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<v1::SignedSnapshot> envelope =
        SignPayload(key_, SnapshotPayload());
    ASSERT_TRUE(envelope.ok()) << envelope.status();
    envelope_ = *envelope;
  }

  absl::StatusCode Verify(const v1::SignedSnapshot& envelope) {
    return VerifyEnvelope(key_.public_key(), envelope).code();
  }

  const PrivateKey key_ = NewKey();
  v1::SignedSnapshot envelope_;
};

TEST_F(EnvelopeTest, AcceptsSignedEnvelope) {
  EXPECT_EQ(Verify(envelope_), absl::StatusCode::kOk);
}

TEST_F(EnvelopeTest, SignPayloadFillsEveryField) {
  EXPECT_EQ(envelope_.payload(), SnapshotPayload());
  EXPECT_EQ(envelope_.payload_type(), kSnapshotPayloadType);
  EXPECT_EQ(envelope_.signature().size(), kEd25519SignatureSize);
  EXPECT_EQ(envelope_.key_id(), key_.public_key().KeyId());
}

TEST_F(EnvelopeTest, SignatureCoversPaeOfTypeAndPayload) {
  EXPECT_TRUE(key_.public_key()
                  .Verify(Pae(kSnapshotPayloadType, envelope_.payload()),
                          envelope_.signature())
                  .ok());
}

TEST_F(EnvelopeTest, RejectsFlippedPayloadByte) {
  v1::SignedSnapshot envelope = envelope_;
  (*envelope.mutable_payload())[3] ^= 0x01;
  EXPECT_EQ(Verify(envelope), absl::StatusCode::kUnauthenticated);
}

TEST_F(EnvelopeTest, RejectsAppendedPayloadByte) {
  v1::SignedSnapshot envelope = envelope_;
  envelope.mutable_payload()->push_back('\0');
  EXPECT_EQ(Verify(envelope), absl::StatusCode::kUnauthenticated);
}

TEST_F(EnvelopeTest, RejectsFlippedSignatureByte) {
  v1::SignedSnapshot envelope = envelope_;
  (*envelope.mutable_signature())[40] ^= 0x01;
  EXPECT_EQ(Verify(envelope), absl::StatusCode::kUnauthenticated);
}

TEST_F(EnvelopeTest, RejectsTruncatedSignature) {
  v1::SignedSnapshot envelope = envelope_;
  envelope.mutable_signature()->pop_back();
  EXPECT_EQ(Verify(envelope), absl::StatusCode::kInvalidArgument);
}

TEST_F(EnvelopeTest, RejectsMissingSignature) {
  v1::SignedSnapshot envelope = envelope_;
  envelope.clear_signature();
  EXPECT_EQ(Verify(envelope), absl::StatusCode::kInvalidArgument);
}

TEST_F(EnvelopeTest, RejectsWrongKey) {
  const PrivateKey other = NewKey();
  EXPECT_EQ(VerifyEnvelope(other.public_key(), envelope_).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(EnvelopeTest, RejectsSignatureByAnotherKeyUnderOurKeyId) {
  const PrivateKey other = NewKey();
  absl::StatusOr<v1::SignedSnapshot> forged =
      SignPayload(other, SnapshotPayload());
  ASSERT_TRUE(forged.ok()) << forged.status();
  forged->set_key_id(key_.public_key().KeyId());
  EXPECT_EQ(Verify(*forged), absl::StatusCode::kUnauthenticated);
}

TEST_F(EnvelopeTest, RejectsWrongPayloadType) {
  v1::SignedSnapshot envelope = envelope_;
  envelope.set_payload_type("application/vnd.in-toto+json");
  EXPECT_EQ(Verify(envelope), absl::StatusCode::kInvalidArgument);
}

TEST_F(EnvelopeTest, RejectsPayloadTypeSignedAsAnotherType) {
  // A signature over PAE with another type must not pass under ours.
  v1::SignedSnapshot envelope = envelope_;
  envelope.set_signature(
      key_.Sign(Pae("text/plain", envelope.payload())).value_or(""));
  EXPECT_EQ(Verify(envelope), absl::StatusCode::kUnauthenticated);
}

TEST_F(EnvelopeTest, RejectsWrongKeyId) {
  v1::SignedSnapshot envelope = envelope_;
  envelope.set_key_id(NewKey().public_key().KeyId());
  EXPECT_EQ(Verify(envelope), absl::StatusCode::kUnauthenticated);
}

TEST_F(EnvelopeTest, RejectsUppercaseKeyId) {
  v1::SignedSnapshot envelope = envelope_;
  std::string upper = envelope.key_id();
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  ASSERT_NE(upper, envelope.key_id());
  envelope.set_key_id(upper);
  EXPECT_EQ(Verify(envelope), absl::StatusCode::kUnauthenticated);
}

TEST_F(EnvelopeTest, RejectsEmptyEnvelope) {
  EXPECT_NE(Verify(v1::SignedSnapshot()), absl::StatusCode::kOk);
}

}  // namespace
}  // namespace evidentia
