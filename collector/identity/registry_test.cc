#include "collector/identity/registry.h"

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "collector/identity/peer_identity.h"
#include "collector/store/keys.h"
#include "collector/store/records.h"
#include "collector/store/rocksdb_store.h"
#include "collector/store/store.h"
#include "common/ed25519.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/x509.h"
#include "evidentia/v1/collector.pb.h"
#include "evidentia/v1/operator.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "evidentia/v1/store.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace evidentia::collector {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using ::evidentia::testing::ScopedTempDir;

bool IsLowerHex(absl::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// A registry over a real store in a temp dir, with a clock the test moves.
class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Store>> store =
        OpenRocksDbStore(dir_.path() / "db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    registry_ = std::make_unique<Registry>(*store_, [this] { return now_; });
    absl::StatusOr<KeyAndCert> ca =
        CreateCertificateAuthority("test CA", absl::Hours(24));
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = *ca;
    registry_->set_certificate_authority(ca_);
  }

  // A fresh token; fails the test if it cannot be made.
  std::string NewToken(absl::Duration ttl = absl::Hours(1), uint32_t uses = 1) {
    absl::StatusOr<v1::CreateTokenResponse> token =
        registry_->CreateToken(ttl, uses);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? token->token() : "";
  }

  // An enrolment request for a fresh key.
  v1::EnrollRequest Request(const std::string& token,
                            const std::string& hostname = "host-a") {
    absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
    EXPECT_TRUE(key.ok()) << key.status();
    v1::EnrollRequest request;
    request.set_token(token);
    if (key.ok()) request.set_public_key_pem(key->public_key().ToPem());
    request.mutable_host()->set_hostname(hostname);
    absl::StatusOr<KeyAndCsr> tls = CreateCertificateRequest("agent");
    EXPECT_TRUE(tls.ok()) << tls.status();
    if (tls.ok()) request.set_csr_pem(tls->csr_pem);
    return request;
  }

  ScopedTempDir dir_;
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  std::unique_ptr<Store> store_;
  std::unique_ptr<Registry> registry_;
  KeyAndCert ca_;
};

TEST_F(RegistryTest, EnrollReturnsHexAgentIdAndKeyId) {
  absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
  ASSERT_TRUE(key.ok());
  v1::EnrollRequest request = Request(NewToken());
  request.set_public_key_pem(key->public_key().ToPem());

  absl::StatusOr<v1::EnrollResponse> enrolled = registry_->Enroll(request);

  ASSERT_TRUE(enrolled.ok()) << enrolled.status();
  EXPECT_EQ(enrolled->agent_id().size(), 32u);
  EXPECT_TRUE(IsLowerHex(enrolled->agent_id())) << enrolled->agent_id();
  EXPECT_EQ(enrolled->key_id(), key->public_key().KeyId());
}

TEST_F(RegistryTest, EnrollStoresAgentRecord) {
  absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
  ASSERT_TRUE(key.ok());
  v1::EnrollRequest request = Request(NewToken());
  request.set_public_key_pem(key->public_key().ToPem());
  request.mutable_host()->set_hostname("laptop-7");

  absl::StatusOr<v1::EnrollResponse> enrolled = registry_->Enroll(request);
  ASSERT_TRUE(enrolled.ok()) << enrolled.status();
  absl::StatusOr<std::optional<v1::AgentRecord>> agent =
      registry_->GetAgent(enrolled->agent_id());

  ASSERT_TRUE(agent.ok()) << agent.status();
  ASSERT_TRUE(agent->has_value());
  EXPECT_EQ((*agent)->agent_id(), enrolled->agent_id());
  EXPECT_EQ((*agent)->key_id(), key->public_key().KeyId());
  EXPECT_EQ((*agent)->public_key_pem(), key->public_key().ToPem());
  EXPECT_EQ((*agent)->host().hostname(), "laptop-7");
  EXPECT_EQ(FromProto((*agent)->enrolled_at()), now_);
  EXPECT_EQ((*agent)->last_seq(), 0u);
}

TEST_F(RegistryTest, GetAgentOfUnknownIdIsNullopt) {
  absl::StatusOr<std::optional<v1::AgentRecord>> agent =
      registry_->GetAgent("00000000000000000000000000000000");

  ASSERT_TRUE(agent.ok()) << agent.status();
  EXPECT_FALSE(agent->has_value());
}

TEST_F(RegistryTest, ListAgentsHoldsEveryEnrolment) {
  const std::string token = NewToken(absl::Hours(1), 2);
  absl::StatusOr<v1::EnrollResponse> a = registry_->Enroll(Request(token));
  absl::StatusOr<v1::EnrollResponse> b = registry_->Enroll(Request(token));
  ASSERT_TRUE(a.ok() && b.ok());

  absl::StatusOr<std::vector<v1::AgentRecord>> agents = registry_->ListAgents();

  ASSERT_TRUE(agents.ok()) << agents.status();
  std::vector<std::string> ids;
  for (const v1::AgentRecord& agent : *agents) ids.push_back(agent.agent_id());
  EXPECT_THAT(ids,
              ::testing::UnorderedElementsAre(a->agent_id(), b->agent_id()));
}

TEST_F(RegistryTest, UnknownTokenIsUnauthenticated) {
  NewToken();  // a real token exists, but not this one

  absl::StatusOr<v1::EnrollResponse> enrolled =
      registry_->Enroll(Request("evt1_0000000000000000"));

  EXPECT_EQ(enrolled.status().code(), absl::StatusCode::kUnauthenticated)
      << enrolled.status();
}

TEST_F(RegistryTest, ExpiredTokenIsUnauthenticated) {
  const std::string token = NewToken(absl::Hours(1), 1);
  now_ += absl::Hours(1) + absl::Seconds(1);

  absl::StatusOr<v1::EnrollResponse> enrolled =
      registry_->Enroll(Request(token));

  EXPECT_EQ(enrolled.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(enrolled.status().message(), HasSubstr("expired"));
}

TEST_F(RegistryTest, TokenAtItsExpiryInstantIsExpired) {
  const std::string token = NewToken(absl::Hours(1), 1);
  now_ += absl::Hours(1);

  absl::StatusOr<v1::EnrollResponse> enrolled =
      registry_->Enroll(Request(token));

  EXPECT_EQ(enrolled.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(enrolled.status().message(), HasSubstr("expired"));
}

TEST_F(RegistryTest, TokenJustBeforeExpiryIsAccepted) {
  const std::string token = NewToken(absl::Hours(1), 1);
  now_ += absl::Hours(1) - absl::Seconds(1);

  absl::StatusOr<v1::EnrollResponse> enrolled =
      registry_->Enroll(Request(token));

  EXPECT_TRUE(enrolled.ok()) << enrolled.status();
}

TEST_F(RegistryTest, SingleUseTokenIsUsedUpAfterOneEnrolment) {
  const std::string token = NewToken(absl::Hours(1), 1);
  ASSERT_TRUE(registry_->Enroll(Request(token)).ok());

  absl::StatusOr<v1::EnrollResponse> second = registry_->Enroll(Request(token));

  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(second.status().message(), HasSubstr("used up"));
}

TEST_F(RegistryTest, TokenWithTwoUsesAllowsExactlyTwoEnrolments) {
  const std::string token = NewToken(absl::Hours(1), 2);

  EXPECT_TRUE(registry_->Enroll(Request(token)).ok());
  EXPECT_TRUE(registry_->Enroll(Request(token)).ok());
  absl::StatusOr<v1::EnrollResponse> third = registry_->Enroll(Request(token));

  EXPECT_EQ(third.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(third.status().message(), HasSubstr("used up"));
}

TEST_F(RegistryTest, ConcurrentEnrolmentsShareTokenUsesExactly) {
  const std::string token = NewToken(absl::Hours(1), 3);
  constexpr int kThreads = 8;
  std::vector<v1::EnrollRequest> requests;
  for (int i = 0; i < kThreads; ++i) requests.push_back(Request(token));
  std::vector<absl::Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back(
        [&, i] { results[i] = registry_->Enroll(requests[i]).status(); });
  }
  for (std::thread& t : threads) t.join();

  int ok = 0;
  for (const absl::Status& s : results) {
    if (s.ok()) {
      ++ok;
    } else {
      EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
    }
  }
  EXPECT_EQ(ok, 3);
  absl::StatusOr<std::vector<v1::AgentRecord>> agents = registry_->ListAgents();
  ASSERT_TRUE(agents.ok()) << agents.status();
  EXPECT_EQ(agents->size(), 3u);
}

TEST_F(RegistryTest, ZeroUsesMeansOneUse) {
  absl::StatusOr<v1::CreateTokenResponse> token =
      registry_->CreateToken(absl::Hours(1), 0);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->uses(), 1u);
  ASSERT_TRUE(registry_->Enroll(Request(token->token())).ok());

  absl::StatusOr<v1::EnrollResponse> second =
      registry_->Enroll(Request(token->token()));

  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(RegistryTest, ZeroTtlMeansDefaultTtl) {
  absl::StatusOr<v1::CreateTokenResponse> token =
      registry_->CreateToken(absl::ZeroDuration(), 1);

  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(FromProto(token->expires_at()), now_ + kDefaultTokenTtl);
}

TEST_F(RegistryTest, SameHostnameGetsDifferentAgentIds) {
  const std::string token = NewToken(absl::Hours(1), 2);

  absl::StatusOr<v1::EnrollResponse> a =
      registry_->Enroll(Request(token, "same-name"));
  absl::StatusOr<v1::EnrollResponse> b =
      registry_->Enroll(Request(token, "same-name"));

  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE(a->agent_id(), b->agent_id());
}

TEST_F(RegistryTest, GarbageKeyPemIsInvalidArgument) {
  v1::EnrollRequest request = Request(NewToken());
  request.set_public_key_pem("-----BEGIN PUBLIC KEY-----\nnot a key\n");

  absl::StatusOr<v1::EnrollResponse> enrolled = registry_->Enroll(request);

  EXPECT_EQ(enrolled.status().code(), absl::StatusCode::kInvalidArgument)
      << enrolled.status();
}

TEST_F(RegistryTest, PrivateKeyPemInsteadOfPublicIsInvalidArgument) {
  absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
  ASSERT_TRUE(key.ok());
  v1::EnrollRequest request = Request(NewToken());
  request.set_public_key_pem(key->ToPem());

  absl::StatusOr<v1::EnrollResponse> enrolled = registry_->Enroll(request);

  EXPECT_EQ(enrolled.status().code(), absl::StatusCode::kInvalidArgument)
      << enrolled.status();
}

TEST_F(RegistryTest, BadKeyDoesNotConsumeTokenUse) {
  const std::string token = NewToken(absl::Hours(1), 1);
  v1::EnrollRequest bad = Request(token);
  bad.set_public_key_pem("garbage");
  ASSERT_FALSE(registry_->Enroll(bad).ok());

  absl::StatusOr<v1::EnrollResponse> enrolled =
      registry_->Enroll(Request(token));

  EXPECT_TRUE(enrolled.ok()) << enrolled.status();
}

TEST_F(RegistryTest, TtlLongerThanMaximumIsInvalidArgument) {
  absl::StatusOr<v1::CreateTokenResponse> token =
      registry_->CreateToken(kMaxTokenTtl + absl::Seconds(1), 1);

  EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument)
      << token.status();
}

TEST_F(RegistryTest, NegativeTtlIsInvalidArgument) {
  absl::StatusOr<v1::CreateTokenResponse> token =
      registry_->CreateToken(-absl::Seconds(1), 1);

  EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument)
      << token.status();
}

TEST_F(RegistryTest, MaximumTtlIsAccepted) {
  absl::StatusOr<v1::CreateTokenResponse> token =
      registry_->CreateToken(kMaxTokenTtl, 1);

  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(FromProto(token->expires_at()), now_ + kMaxTokenTtl);
}

TEST_F(RegistryTest, StoresOnlyTokenDigest) {
  const std::string token = NewToken();

  std::vector<std::pair<std::string, std::string>> rows;
  ASSERT_TRUE(store_
                  ->Scan(Table::kTokens, "",
                         [&](absl::string_view k, absl::string_view v) {
                           rows.emplace_back(std::string(k), std::string(v));
                           return true;
                         })
                  .ok());

  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].first, Sha256(token));
  // Neither the token nor its secret part (after the "evt1_" prefix)
  // appears anywhere at rest.
  const std::string secret = token.substr(token.find('_') + 1);
  ASSERT_GE(secret.size(), 32u);
  for (const auto& [key, value] : rows) {
    EXPECT_EQ(key.find(secret), std::string::npos);
    EXPECT_EQ(value.find(secret), std::string::npos);
  }
}

TEST_F(RegistryTest, TokensAreDistinct) { EXPECT_NE(NewToken(), NewToken()); }

TEST_F(RegistryTest, StoredDigestIsComparedNotJustLookedUp) {
  // A record found under the presented token's digest whose own digest
  // differs is refused: the constant-time compare is on the path.
  const std::string token = NewToken();
  absl::StatusOr<std::optional<v1::TokenRecord>> record =
      GetRecord<v1::TokenRecord>(*store_, Table::kTokens, Sha256(token),
                                 "token");
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_EQ((*record)->token_sha256(), Sha256(token));
  (*record)->set_token_sha256(Sha256("evt1_someone_else"));
  Batch batch;
  batch.Put(Table::kTokens, Sha256(token), (*record)->SerializeAsString());
  ASSERT_TRUE(store_->Commit(batch).ok());

  EXPECT_EQ(registry_->Enroll(Request(token)).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(RegistryTest, UsedUpTokenIsRecordedAsSecurityEvent) {
  const std::string token = NewToken();
  ASSERT_TRUE(registry_->Enroll(Request(token), "ipv4:10.0.0.1:1").ok());

  ASSERT_FALSE(registry_->Enroll(Request(token), "ipv4:10.6.6.6:1").ok());

  absl::StatusOr<std::vector<v1::SecurityEvent>> events =
      registry_->ListEvents();
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].kind(), "token_reuse");
  EXPECT_EQ((*events)[0].peer(), "ipv4:10.6.6.6:1");
}

TEST_F(RegistryTest, EnrollIssuesClientCertificateForTheNewAgentId) {
  absl::StatusOr<v1::EnrollResponse> enrolled =
      registry_->Enroll(Request(NewToken()));
  ASSERT_TRUE(enrolled.ok()) << enrolled.status();

  absl::StatusOr<PeerIdentity> identity =
      IdentityOfCertificate(enrolled->client_cert_pem(), ca_.cert_pem);

  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(identity->role, PeerRole::kAgent);
  EXPECT_EQ(identity->agent_id, enrolled->agent_id());
}

TEST_F(RegistryTest, MissingCsrIsInvalidArgumentAndKeepsTheToken) {
  const std::string token = NewToken();
  v1::EnrollRequest request = Request(token);
  request.clear_csr_pem();
  EXPECT_EQ(registry_->Enroll(request).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(registry_->Enroll(Request(token)).ok());
}

TEST_F(RegistryTest, CsrWithBadSignatureIsInvalidArgumentAndKeepsTheToken) {
  const std::string token = NewToken();
  v1::EnrollRequest request = Request(token);
  // Flip a base64 character inside the signature, near the PEM's end.
  std::string csr = request.csr_pem();
  const size_t end = csr.find("-----END");
  ASSERT_NE(end, std::string::npos);
  csr[end - 6] = csr[end - 6] == 'A' ? 'B' : 'A';
  request.set_csr_pem(csr);

  EXPECT_EQ(registry_->Enroll(request).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(registry_->Enroll(Request(token)).ok());
}

TEST_F(RegistryTest, RevokedAgentIsListedWithRevokedAt) {
  absl::StatusOr<v1::EnrollResponse> enrolled =
      registry_->Enroll(Request(NewToken()));
  ASSERT_TRUE(enrolled.ok());
  now_ += absl::Minutes(5);

  ASSERT_TRUE(registry_->Revoke(enrolled->agent_id(), "ipv4:127.0.0.1:1").ok());

  absl::StatusOr<std::vector<v1::AgentRecord>> agents = registry_->ListAgents();
  ASSERT_TRUE(agents.ok());
  ASSERT_EQ(agents->size(), 1u);
  EXPECT_EQ(FromProto((*agents)[0].revoked_at()), now_);
  absl::StatusOr<std::optional<absl::Time>> at =
      registry_->RevokedAt(enrolled->agent_id());
  ASSERT_TRUE(at.ok() && at->has_value());
  EXPECT_EQ(**at, now_);
}

TEST_F(RegistryTest, RevocationSurvivesARewriteOfTheAgentRecord) {
  // Ingest rewrites the agent record; that must not lose a revocation.
  absl::StatusOr<v1::EnrollResponse> enrolled =
      registry_->Enroll(Request(NewToken()));
  ASSERT_TRUE(enrolled.ok());
  absl::StatusOr<std::optional<v1::AgentRecord>> before =
      registry_->GetAgent(enrolled->agent_id());
  ASSERT_TRUE(before.ok() && before->has_value());
  ASSERT_TRUE(registry_->Revoke(enrolled->agent_id(), "").ok());
  Batch batch;
  batch.Put(Table::kAgents, enrolled->agent_id(),
            (*before)->SerializeAsString());
  ASSERT_TRUE(store_->Commit(batch).ok());

  absl::StatusOr<std::optional<v1::AgentRecord>> after =
      registry_->GetAgent(enrolled->agent_id());
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_TRUE((*after)->has_revoked_at());
}

TEST_F(RegistryTest, RevokingAgainKeepsTheFirstTime) {
  absl::StatusOr<v1::EnrollResponse> enrolled =
      registry_->Enroll(Request(NewToken()));
  ASSERT_TRUE(enrolled.ok());
  const absl::Time first = now_;
  ASSERT_TRUE(registry_->Revoke(enrolled->agent_id(), "").ok());
  now_ += absl::Hours(1);

  absl::StatusOr<v1::AgentRecord> again =
      registry_->Revoke(enrolled->agent_id(), "");

  ASSERT_TRUE(again.ok());
  EXPECT_EQ(FromProto(again->revoked_at()), first);
}

TEST_F(RegistryTest, RevokingAnUnknownAgentIsNotFound) {
  EXPECT_EQ(registry_->Revoke("0123", "").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RegistryTest, ListEventsReturnsEventsInTimeOrder) {
  ASSERT_TRUE(registry_->RecordEvent("first", "a1", 1, "d1", "peer1").ok());
  now_ += absl::Seconds(1);
  ASSERT_TRUE(registry_->RecordEvent("second", "a2", 2, "d2", "peer2").ok());
  now_ += absl::Seconds(1);
  ASSERT_TRUE(registry_->RecordEvent("third", "a3", 3, "d3", "peer3").ok());

  absl::StatusOr<std::vector<v1::SecurityEvent>> events =
      registry_->ListEvents();

  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].kind(), "first");
  EXPECT_EQ((*events)[1].kind(), "second");
  EXPECT_EQ((*events)[2].kind(), "third");
}

TEST_F(RegistryTest, EventsAtTheSameInstantAreAllKeptInOrder) {
  for (const char* kind : {"e0", "e1", "e2"}) {
    ASSERT_TRUE(registry_->RecordEvent(kind, "a", 0, "", "").ok());
  }

  absl::StatusOr<std::vector<v1::SecurityEvent>> events =
      registry_->ListEvents();

  ASSERT_TRUE(events.ok()) << events.status();
  std::vector<std::string> kinds;
  for (const v1::SecurityEvent& e : *events) kinds.push_back(e.kind());
  EXPECT_THAT(kinds, ::testing::ElementsAre("e0", "e1", "e2"));
}

TEST_F(RegistryTest, RecordEventKeepsEveryField) {
  ASSERT_TRUE(registry_
                  ->RecordEvent("equivocation", "agent-x", 17, "the detail",
                                "ipv4:10.0.0.1:5555")
                  .ok());

  absl::StatusOr<std::vector<v1::SecurityEvent>> events =
      registry_->ListEvents();

  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 1u);
  const v1::SecurityEvent& event = (*events)[0];
  EXPECT_EQ(FromProto(event.at()), now_);
  EXPECT_EQ(event.kind(), "equivocation");
  EXPECT_EQ(event.agent_id(), "agent-x");
  EXPECT_EQ(event.seq(), 17u);
  EXPECT_EQ(event.detail(), "the detail");
  EXPECT_EQ(event.peer(), "ipv4:10.0.0.1:5555");
}

}  // namespace
}  // namespace evidentia::collector
