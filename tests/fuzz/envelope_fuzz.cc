// A snapshot envelope as the collector receives it (a SubmitRequest off the
// wire): VerifyEnvelope under the expected key, with the key id the
// envelope names and with the expected one (so a fuzzed signature reaches
// Ed25519), the payload parsed as a Snapshot and checked against chain
// heads; and the payload re-signed, which must then verify.
#include <cstdlib>
#include <string>

#include "common/ed25519.h"
#include "common/envelope.h"
#include "common/sha256.h"
#include "common/snapshot_chain.h"
#include "evidentia/v1/collector.pb.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/snapshot.pb.h"
#include "tests/fuzz/fuzz_input.h"

namespace evidentia {
namespace {

// A key made for this process: no input can hold a valid signature by it
// unless Ed25519 verification is broken.
const PrivateKey& Key() {
  static const PrivateKey* key = [] {
    absl::StatusOr<PrivateKey> made = PrivateKey::Generate();
    fuzz::Require(made.ok(), "key generation");
    return new PrivateKey(*std::move(made));
  }();
  return *key;
}

}  // namespace
}  // namespace evidentia

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia;
  using fuzz::Require;
  v1::SubmitRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  const PublicKey key = Key().public_key();
  v1::SignedSnapshot envelope = request.envelope();

  (void)VerifyEnvelope(key, envelope);
  envelope.set_key_id(key.KeyId());
  Require(!VerifyEnvelope(key, envelope).ok(),
          "no input carries a signature by this process's key");

  absl::StatusOr<v1::SignedSnapshot> resigned =
      SignPayload(Key(), envelope.payload());
  Require(resigned.ok(), "signing any payload works");
  Require(VerifyEnvelope(key, *resigned).ok(), "a re-signed payload verifies");
  v1::SignedSnapshot flipped = *resigned;
  flipped.mutable_signature()->at(0) ^= 1;
  Require(!VerifyEnvelope(key, flipped).ok(), "a flipped signature fails");

  v1::Snapshot snapshot;
  if (!snapshot.ParseFromString(envelope.payload())) return 0;
  (void)CheckNext(ChainHead{}, snapshot);
  (void)CheckNext(ChainHead{snapshot.seq(), snapshot.prev_payload_sha256()},
                  snapshot);
  if (snapshot.seq() > 0) {
    const ChainHead before{snapshot.seq() - 1, snapshot.prev_payload_sha256()};
    (void)CheckNext(before, snapshot);
  }
  const ChainHead after = HeadAfter(snapshot.seq(), envelope.payload());
  Require(after.payload_sha256 == Sha256(envelope.payload()),
          "the head after a payload names its digest");
  for (const std::string& body : request.facts()) {
    v1::Facts facts;
    (void)facts.ParseFromString(body);
  }
  return 0;
}
