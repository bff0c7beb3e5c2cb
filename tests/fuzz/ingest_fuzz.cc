// The collector's decision on one submission (Ingestor::Submit) over a real
// RocksDB store in a temporary directory with one enrolled agent: the
// request as given, then with its payload rewritten to name the enrolled
// agent and re-signed by its key, so that inputs get past the signature to
// the shape, facts, chain and storage checks. The store lives for the whole
// run, so an accepted snapshot moves the chain head for later inputs.
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "collector/identity/registry.h"
#include "collector/ingest/ingest.h"
#include "collector/store/rocksdb_store.h"
#include "collector/store/store.h"
#include "common/ed25519.h"
#include "common/envelope.h"
#include "common/x509.h"
#include "evidentia/v1/collector.pb.h"
#include "evidentia/v1/operator.pb.h"
#include "evidentia/v1/snapshot.pb.h"
#include "tests/fuzz/fuzz_input.h"

namespace evidentia::collector {
namespace {

using fuzz::Require;

class Collector {
 public:
  Collector() {
    char dir[] = "/tmp/evidentia-ingest-fuzz-XXXXXX";
    Require(::mkdtemp(dir) != nullptr, "mkdtemp");
    dir_ = dir;
    absl::StatusOr<std::unique_ptr<Store>> store =
        OpenRocksDbStore(dir_ / "db");
    Require(store.ok(), "opening the store");
    store_ = *std::move(store);
    Clock clock = [] { return absl::Now(); };
    registry_ = std::make_unique<Registry>(*store_, clock);
    ingestor_ = std::make_unique<Ingestor>(*store_, *registry_, clock);
    absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
    Require(key.ok(), "key generation");
    key_ = std::make_unique<PrivateKey>(*std::move(key));
    absl::StatusOr<v1::CreateTokenResponse> token =
        registry_->CreateToken(absl::Hours(1), 1);
    Require(token.ok(), "token");
    // Enrolment issues a client certificate from a CA, for a request.
    absl::StatusOr<KeyAndCert> ca =
        CreateCertificateAuthority("fuzz CA", absl::Hours(24));
    Require(ca.ok(), "certificate authority");
    registry_->set_certificate_authority(*ca);
    absl::StatusOr<KeyAndCsr> csr = CreateCertificateRequest("fuzz");
    Require(csr.ok(), "certificate request");
    v1::EnrollRequest enroll;
    enroll.set_csr_pem(csr->csr_pem);
    enroll.set_token(token->token());
    enroll.set_public_key_pem(key_->public_key().ToPem());
    enroll.mutable_host()->set_hostname("fuzz");
    absl::StatusOr<v1::EnrollResponse> enrolled = registry_->Enroll(enroll);
    Require(enrolled.ok(), "enrolment");
    agent_id_ = enrolled->agent_id();
  }
  ~Collector() {
    ingestor_.reset();
    registry_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void Submit(const v1::SubmitRequest& request) {
    (void)ingestor_->Submit(request, "fuzz");
  }
  const PrivateKey& key() const { return *key_; }
  const std::string& agent_id() const { return agent_id_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<Ingestor> ingestor_;
  std::unique_ptr<PrivateKey> key_;
  std::string agent_id_;
};

Collector* collector = nullptr;

}  // namespace
}  // namespace evidentia::collector

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  using evidentia::collector::Collector;
  evidentia::collector::collector = new Collector;
  std::atexit([] { delete evidentia::collector::collector; });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia;
  collector::Collector& c = *collector::collector;
  v1::SubmitRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  c.Submit(request);

  v1::Snapshot snapshot;
  if (!snapshot.ParseFromString(request.envelope().payload())) return 0;
  snapshot.set_agent_id(c.agent_id());
  absl::StatusOr<v1::SignedSnapshot> envelope =
      SignPayload(c.key(), snapshot.SerializeAsString());
  fuzz::Require(envelope.ok(), "signing");
  *request.mutable_envelope() = *std::move(envelope);
  c.Submit(request);
  return 0;
}
