// Identity and access over loopback: a real collector with mutual TLS and
// real agents. The promise under test: nobody but an enrolled, unrevoked
// device can submit as that device, and only the operator can operate.
// Each test names one way of breaking it.
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/agent_state.h"
#include "agent/collect.h"
#include "agent/probe.h"
#include "agent/uploader.h"
#include "cli/operator_cli.h"
#include "collector/identity/data_dir.h"
#include "collector/server/server.h"
#include "common/files.h"
#include "common/x509.h"
#include "evidentia/v1/collector.grpc.pb.h"
#include "evidentia/v1/operator.grpc.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/live_collector.h"
#include "tests/support/raw_call.h"

namespace evidentia {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

void WriteFixtureRoot(const fs::path& root) {
  fs::create_directories(root / "etc");
  fs::create_directories(root / "proc/self");
  ASSERT_TRUE(
      WriteFileAtomic(root / "etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
          .ok());
  ASSERT_TRUE(WriteFileAtomic(root / "etc/group", "root:x:0:\n").ok());
  ASSERT_TRUE(WriteFileAtomic(root / "etc/hostname", "same-name\n").ok());
  ASSERT_TRUE(
      WriteFileAtomic(root / "proc/self/mounts", "proc /proc proc rw 0 0\n")
          .ok());
}

class IdentityTest : public testing::LiveCollectorTest {
 protected:
  void ConfigureServer(collector::ServerOptions& options) override {
    options.clock = [this] { return absl::FromUnixMicros(now_micros_.load()); };
  }

  void SetUp() override {
    LiveCollectorTest::SetUp();
    root_ = tmp_ / "root";
    WriteFixtureRoot(root_);
  }

  void Advance(absl::Duration d) {
    now_micros_ += absl::ToInt64Microseconds(d);
  }

  // Enrols a fresh agent in tmp_/name; returns its id.
  std::string Enrol(const std::string& name) {
    absl::StatusOr<std::string> id =
        EnrollAgent(tmp_ / name, CreateToken(), root_);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : "";
  }

  // The next snapshot of the agent in tmp_/name, signed by its device key.
  v1::SubmitRequest NextSnapshot(const std::string& name) {
    absl::StatusOr<std::unique_ptr<agent::AgentState>> state =
        agent::AgentState::Open(tmp_ / name);
    EXPECT_TRUE(state.ok()) << state.status();
    if (!state.ok()) return {};
    EXPECT_TRUE((*state)
                    ->MakeSnapshot(agent::Collect(agent::BuildProbes(), root_),
                                   absl::Now())
                    .ok());
    absl::StatusOr<std::vector<v1::SubmitRequest>> spooled =
        (*state)->Spooled();
    EXPECT_TRUE(spooled.ok() && !spooled->empty());
    return spooled.ok() && !spooled->empty() ? spooled->back()
                                             : v1::SubmitRequest();
  }

  // Delivers the spool of tmp_/name with its own certificate.
  absl::StatusOr<agent::DeliveryReport> Deliver(const std::string& name) {
    absl::StatusOr<std::unique_ptr<agent::AgentState>> state =
        agent::AgentState::Open(tmp_ / name);
    if (!state.ok()) return state.status();
    return agent::DeliverSpool(**state, *Stub(tmp_ / name));
  }

  // Sends `request` on a fresh stream of `stub`: the one answer (if any)
  // and the stream's final status.
  std::pair<std::optional<v1::SubmitResponse>, grpc::Status> SubmitOn(
      v1::Collector::Stub& stub, const v1::SubmitRequest& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    auto stream = stub.Submit(&context);
    std::optional<v1::SubmitResponse> answer;
    if (stream->Write(request)) {
      v1::SubmitResponse response;
      if (stream->Read(&response)) answer = response;
    }
    stream->WritesDone();
    return {answer, stream->Finish()};
  }

  std::string LastSeqOf(const std::string& agent_id) {
    const std::string json = Cli({"agents", "--json"});
    const size_t at = json.find(agent_id);
    if (at == std::string::npos) return "unknown agent";
    const size_t seq = json.find("\"lastSeq\":\"", at);
    return seq == std::string::npos
               ? "0"
               : json.substr(seq + 11, json.find('"', seq + 11) - seq - 11);
  }

  std::unique_ptr<v1::Operator::Stub> OperatorStubWith(
      const agent::ClientTls& tls) {
    return v1::Operator::NewStub(agent::MakeChannel(Address(), tls));
  }

  std::atomic<int64_t> now_micros_{absl::ToUnixMicros(absl::Now())};
  fs::path root_;
};

// --- Submit needs the agent's own certificate ---

TEST_F(IdentityTest, SubmitWithoutClientCertificateIsUnauthenticated) {
  const std::string id = Enrol("a");
  auto [answer, status] = SubmitOn(*AnonymousStub(), NextSnapshot("a"));
  EXPECT_FALSE(answer.has_value());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(LastSeqOf(id), "0");
}

TEST_F(IdentityTest, CertificateFromAnotherCaIsRefused) {
  // Same CN and role URI as the real agent, but self-made.
  const std::string id = Enrol("a");
  absl::StatusOr<KeyAndCert> rogue_ca =
      CreateCertificateAuthority("Evidentia collector CA", absl::Hours(1));
  ASSERT_TRUE(rogue_ca.ok());
  absl::StatusOr<KeyAndCert> forged = CreateClientCertificate(
      *rogue_ca, id, absl::StrCat("evidentia:agent:", id), absl::Hours(1));
  ASSERT_TRUE(forged.ok());

  auto stub = StubWith({CaPem(), forged->key_pem, forged->cert_pem});
  auto [answer, status] = SubmitOn(*stub, NextSnapshot("a"));

  EXPECT_FALSE(answer.has_value());
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(LastSeqOf(id), "0");
}

TEST_F(IdentityTest, SnapshotOfAnotherAgentIsRefusedAndRecorded) {
  // A's certificate, B's snapshot validly signed by B's device key.
  Enrol("a");
  const std::string b = Enrol("b");
  auto [answer, status] = SubmitOn(*Stub(tmp_ / "a"), NextSnapshot("b"));

  ASSERT_TRUE(answer.has_value()) << status.error_message();
  EXPECT_EQ(answer->result(), v1::SubmitResponse::REJECTED);
  EXPECT_EQ(answer->code(),
            static_cast<int>(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(LastSeqOf(b), "0");
  EXPECT_THAT(Cli({"events"}), HasSubstr("wrong_agent"));
}

TEST_F(IdentityTest, OwnSnapshotWithOwnCertificateIsAccepted) {
  const std::string id = Enrol("a");
  auto [answer, status] = SubmitOn(*Stub(tmp_ / "a"), NextSnapshot("a"));
  ASSERT_TRUE(answer.has_value()) << status.error_message();
  EXPECT_EQ(answer->result(), v1::SubmitResponse::ACCEPTED);
  EXPECT_EQ(LastSeqOf(id), "1");
}

TEST_F(IdentityTest, OperatorCertificateOnSubmitIsPermissionDenied) {
  const std::string id = Enrol("a");
  auto [answer, status] = SubmitOn(*StubWith(OperatorTls()), NextSnapshot("a"));
  EXPECT_FALSE(answer.has_value());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(LastSeqOf(id), "0");
}

// --- Operator calls need the operator's certificate ---

// Every Operator RPC, called with an empty request.
std::vector<
    std::pair<std::string, std::function<grpc::Status(v1::Operator::Stub&)>>>
EveryOperatorCall() {
  auto ctx = [] {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(10));
    return c;
  };
  return {
      {"RevokeAgent",
       [=](v1::Operator::Stub& s) {
         v1::RevokeAgentResponse r;
         return s.RevokeAgent(ctx().get(), {}, &r);
       }},
      {"CreateToken",
       [=](v1::Operator::Stub& s) {
         v1::CreateTokenResponse r;
         return s.CreateToken(ctx().get(), {}, &r);
       }},
      {"ListAgents",
       [=](v1::Operator::Stub& s) {
         v1::ListAgentsResponse r;
         return s.ListAgents(ctx().get(), {}, &r);
       }},
      {"GetEvidence",
       [=](v1::Operator::Stub& s) {
         v1::GetEvidenceResponse r;
         return s.GetEvidence(ctx().get(), {}, &r);
       }},
      {"ListEvents",
       [=](v1::Operator::Stub& s) {
         v1::ListEventsResponse r;
         return s.ListEvents(ctx().get(), {}, &r);
       }},
      {"GradeControls",
       [=](v1::Operator::Stub& s) {
         v1::GradeControlsResponse r;
         return s.GradeControls(ctx().get(), {}, &r);
       }},
      {"GetControl",
       [=](v1::Operator::Stub& s) {
         v1::ControlGrade r;
         return s.GetControl(ctx().get(), {}, &r);
       }},
      {"GetHost",
       [=](v1::Operator::Stub& s) {
         v1::GetHostResponse r;
         return s.GetHost(ctx().get(), {}, &r);
       }},
      {"GetHistory",
       [=](v1::Operator::Stub& s) {
         v1::GetHistoryResponse r;
         return s.GetHistory(ctx().get(), {}, &r);
       }},
      {"AddManualEvidence",
       [=](v1::Operator::Stub& s) {
         v1::AddManualEvidenceResponse r;
         return s.AddManualEvidence(ctx().get(), {}, &r);
       }},
      {"AddIsmsRecord",
       [=](v1::Operator::Stub& s) {
         v1::AddIsmsRecordResponse r;
         return s.AddIsmsRecord(ctx().get(), {}, &r);
       }},
      {"ListIsmsRecords",
       [=](v1::Operator::Stub& s) {
         v1::ListIsmsRecordsResponse r;
         return s.ListIsmsRecords(ctx().get(), {}, &r);
       }},
      {"GetReadiness",
       [=](v1::Operator::Stub& s) {
         v1::ReadinessReport r;
         return s.GetReadiness(ctx().get(), {}, &r);
       }},
      {"GetCycle",
       [=](v1::Operator::Stub& s) {
         v1::CycleReport r;
         return s.GetCycle(ctx().get(), {}, &r);
       }},
      {"DrawSample",
       [=](v1::Operator::Stub& s) {
         v1::SampleStatement r;
         return s.DrawSample(ctx().get(), {}, &r);
       }},
      {"ProveAction",
       [=](v1::Operator::Stub& s) {
         v1::ProveActionResponse r;
         return s.ProveAction(ctx().get(), {}, &r);
       }},
      {"Export",
       [=](v1::Operator::Stub& s) {
         auto c = ctx();
         auto reader = s.Export(c.get(), {});
         v1::ExportChunk chunk;
         while (reader->Read(&chunk)) {
         }
         return reader->Finish();
       }},
      {"GetCheckpoint",
       [=](v1::Operator::Stub& s) {
         v1::GetCheckpointResponse r;
         return s.GetCheckpoint(ctx().get(), {}, &r);
       }},
      {"ProveInclusion",
       [=](v1::Operator::Stub& s) {
         v1::ProveInclusionResponse r;
         return s.ProveInclusion(ctx().get(), {}, &r);
       }},
      {"ProveConsistency",
       [=](v1::Operator::Stub& s) {
         v1::ProveConsistencyResponse r;
         return s.ProveConsistency(ctx().get(), {}, &r);
       }},
      {"AddUser",
       [=](v1::Operator::Stub& s) {
         v1::AddUserResponse r;
         return s.AddUser(ctx().get(), {}, &r);
       }},
  };
}

TEST_F(IdentityTest, AgentCertificateOnEveryOperatorCallIsPermissionDenied) {
  Enrol("a");
  absl::StatusOr<agent::ClientTls> tls = agent::LoadClientTls(tmp_ / "a");
  ASSERT_TRUE(tls.ok());
  auto stub = OperatorStubWith(*tls);
  const auto calls = EveryOperatorCall();
  // The list is complete: one entry per method of the service.
  EXPECT_EQ(static_cast<int>(calls.size()), v1::RevokeAgentRequest::descriptor()
                                                ->file()
                                                ->FindServiceByName("Operator")
                                                ->method_count());
  for (const auto& [name, call] : calls) {
    EXPECT_EQ(call(*stub).error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << name;
  }
}

TEST_F(IdentityTest, OperatorCallWithoutCertificateIsUnauthenticated) {
  auto stub = OperatorStubWith({CaPem(), "", ""});
  for (const auto& [name, call] : EveryOperatorCall()) {
    EXPECT_EQ(call(*stub).error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << name;
  }
}

TEST_F(IdentityTest, OperatorCertificateMakesOperatorCalls) {
  int code = -1;
  Cli({"agents"}, &code);
  EXPECT_EQ(code, collector::kCliOk) << last_err_;
}

// --- Revocation ---

TEST_F(IdentityTest, RevokedAgentCannotSubmit) {
  const std::string id = Enrol("a");
  NextSnapshot("a");
  ASSERT_TRUE(Deliver("a").ok());
  int code = -1;
  Cli({"agents", "revoke", id}, &code);
  ASSERT_EQ(code, collector::kCliOk) << last_err_;

  NextSnapshot("a");
  absl::StatusOr<agent::DeliveryReport> report = Deliver("a");

  EXPECT_EQ(report.status().code(), absl::StatusCode::kPermissionDenied)
      << report.status();
  EXPECT_EQ(LastSeqOf(id), "1");
}

TEST_F(IdentityTest, RevocationRefusesTheNextSnapshotOnAnOpenStream) {
  const std::string id = Enrol("a");
  const v1::SubmitRequest first = NextSnapshot("a");
  const v1::SubmitRequest second = NextSnapshot("a");
  auto stub = Stub(tmp_ / "a");
  grpc::ClientContext context;
  auto stream = stub->Submit(&context);
  v1::SubmitResponse response;
  ASSERT_TRUE(stream->Write(first) && stream->Read(&response));
  ASSERT_EQ(response.result(), v1::SubmitResponse::ACCEPTED);

  Cli({"agents", "revoke", id});
  ASSERT_TRUE(stream->Write(second) && stream->Read(&response));

  EXPECT_EQ(response.result(), v1::SubmitResponse::REJECTED);
  EXPECT_EQ(response.code(),
            static_cast<int>(absl::StatusCode::kPermissionDenied));
  stream->WritesDone();
  stream->Finish();
  EXPECT_EQ(LastSeqOf(id), "1");
}

TEST_F(IdentityTest, RevocationSurvivesARestart) {
  const std::string id = Enrol("a");
  Cli({"agents", "revoke", id});
  const std::string address = Address();
  StopCollector();
  StartCollector(address);

  NextSnapshot("a");
  EXPECT_EQ(Deliver("a").status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(IdentityTest, RevokedAgentsEarlierEvidenceStaysAndIsMarked) {
  const std::string id = Enrol("a");
  NextSnapshot("a");
  ASSERT_TRUE(Deliver("a").ok());
  Cli({"agents", "revoke", id});

  EXPECT_THAT(Cli({"agents", "--json"}), HasSubstr("revokedAt"));
  EXPECT_THAT(Cli({"agents"}), HasSubstr("REVOKED"));
  const std::string evidence = Cli({"evidence", "--agent", id});
  EXPECT_THAT(evidence, HasSubstr("REVOKED at"));
  EXPECT_THAT(evidence, HasSubstr("linux.local_accounts"));
  EXPECT_THAT(Cli({"evidence", "--agent", id, "--json"}),
              HasSubstr("revokedAt"));
  EXPECT_THAT(Cli({"events"}), HasSubstr("revoked"));
}

TEST_F(IdentityTest, RevokingAnUnknownAgentFails) {
  int code = -1;
  Cli({"agents", "revoke", "0123456789abcdef"}, &code);
  EXPECT_EQ(code, collector::kCliFailed);
  EXPECT_THAT(last_err_, HasSubstr("NOT_FOUND"));
}

TEST_F(IdentityTest, OtherAgentsAreNotAffectedByARevocation) {
  const std::string a = Enrol("a");
  Enrol("b");
  Cli({"agents", "revoke", a});
  NextSnapshot("b");
  EXPECT_TRUE(Deliver("b").ok());
}

// With the shipped policy set, so that hosts and controls are graded.
class RevokedGradingTest : public IdentityTest {
 protected:
  void ConfigureServer(collector::ServerOptions& options) override {
    IdentityTest::ConfigureServer(options);
    const fs::path source = EVIDENTIA_SOURCE_DIR;
    options.policies_dir = source / "policies";
    options.soa_file = source / "policies/soa.example.yaml";
  }
};

TEST_F(RevokedGradingTest, HostOfARevokedAgentIsMarked) {
  const std::string id = Enrol("a");
  NextSnapshot("a");
  ASSERT_TRUE(Deliver("a").ok());
  Cli({"agents", "revoke", id});

  EXPECT_THAT(Cli({"host", id}), HasSubstr("REVOKED at"));
  EXPECT_THAT(Cli({"host", id, "--json"}), HasSubstr("\"agentRevoked\":true"));
}

TEST_F(RevokedGradingTest, FindingsOfARevokedAgentAreMarked) {
  // The fixture host has no encrypted disk: a finding for a.8.24.
  const std::string id = Enrol("a");
  NextSnapshot("a");
  ASSERT_TRUE(Deliver("a").ok());
  EXPECT_THAT(Cli({"control", "a.8.24"}), Not(HasSubstr("REVOKED")));
  Cli({"agents", "revoke", id});

  EXPECT_THAT(Cli({"control", "a.8.24"}), HasSubstr("(REVOKED)"));
}

TEST_F(RevokedGradingTest, BundleManifestMarksARevokedAgent) {
  const std::string id = Enrol("a");
  NextSnapshot("a");
  ASSERT_TRUE(Deliver("a").ok());
  Cli({"agents", "revoke", id});
  const std::string today =
      absl::FormatTime("%Y-%m-%d", absl::FromUnixMicros(now_micros_.load()),
                       absl::UTCTimeZone());
  int code = -1;
  Cli({"export", "--from", today, "--to", today, "--out",
       (tmp_ / "bundle").string()},
      &code);
  ASSERT_EQ(code, collector::kCliOk) << last_err_;

  absl::StatusOr<std::string> manifest =
      ReadFile(tmp_ / "bundle" / "manifest.json");
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_THAT(*manifest, HasSubstr("revokedAt"));
  // Its evidence stays valid: the bundle verifies.
  Cli({"verify", (tmp_ / "bundle").string()}, &code);
  EXPECT_EQ(code, collector::kCliOk) << last_err_;
}

// --- Enrolment tokens ---

TEST_F(IdentityTest, ReusedTokenIsRefusedAndRecorded) {
  const std::string token = CreateToken();
  ASSERT_TRUE(EnrollAgent(tmp_ / "a", token, root_).ok());

  absl::StatusOr<std::string> thief = EnrollAgent(tmp_ / "thief", token, root_);

  EXPECT_EQ(thief.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(Cli({"events"}), HasSubstr("token_reuse"));
}

TEST_F(IdentityTest, ExpiredTokenIsRefused) {
  std::string token = Cli({"token", "create", "--ttl", "1h"});
  while (!token.empty() && token.back() == '\n') token.pop_back();
  Advance(absl::Hours(1) + absl::Seconds(1));

  absl::StatusOr<std::string> late = EnrollAgent(tmp_ / "a", token, root_);

  EXPECT_EQ(late.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(late.status().message(), HasSubstr("expired"));
}

TEST_F(IdentityTest, FailedEnrolmentsAreRateLimitedPerAddress) {
  for (int i = 0; i < collector::kMaxEnrolFailures; ++i) {
    EXPECT_EQ(EnrollAgent(tmp_ / "x", "evt1_guess", root_).status().code(),
              absl::StatusCode::kUnauthenticated);
  }
  const std::string token = CreateToken();

  // Even a good token waits until the window is over.
  EXPECT_EQ(EnrollAgent(tmp_ / "a", token, root_).status().code(),
            absl::StatusCode::kResourceExhausted);
  Advance(collector::kEnrolFailureWindow);
  EXPECT_TRUE(EnrollAgent(tmp_ / "a", token, root_).ok());
}

TEST_F(IdentityTest, ConcurrentBadTokensAfterFourFailuresAreProcessedOnce) {
  for (int i = 0; i < collector::kMaxEnrolFailures - 1; ++i) {
    ASSERT_EQ(EnrollAgent(tmp_ / "x", "evt1_guess", root_).status().code(),
              absl::StatusCode::kUnauthenticated);
  }
  constexpr int kAtOnce = 50;
  std::vector<absl::StatusCode> codes(kAtOnce);
  std::vector<std::thread> threads;
  for (int i = 0; i < kAtOnce; ++i) {
    threads.emplace_back([&, i] {
      codes[i] = EnrollAgent(tmp_ / absl::StrCat("x", i), "evt1_guess", root_)
                     .status()
                     .code();
    });
  }
  for (std::thread& t : threads) t.join();

  // Each is refused: checked and found wrong (at most one of them), blocked
  // or busy, or, on a loaded machine, its connection not made at all
  // (UNAVAILABLE, seen once in 50 simultaneous TLS handshakes on two
  // cores). None may succeed.
  int processed = 0;
  for (absl::StatusCode code : codes) {
    EXPECT_THAT(code, ::testing::AnyOf(absl::StatusCode::kUnauthenticated,
                                       absl::StatusCode::kResourceExhausted,
                                       absl::StatusCode::kUnavailable));
    processed += code == absl::StatusCode::kUnauthenticated;
  }
  EXPECT_LE(processed, 1);
}

TEST_F(IdentityTest, EnrolmentRequestOfMoreThanKilobytesIsRefused) {
  absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
  ASSERT_TRUE(key.ok());
  v1::EnrollRequest request;
  request.set_token(CreateToken());
  request.set_public_key_pem(key->public_key().ToPem());
  request.set_csr_pem(std::string(collector::kMaxEnrollRequestBytes, 'A'));
  grpc::ClientContext context;
  v1::EnrollResponse response;

  grpc::Status status = AnonymousStub()->Enroll(&context, request, &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("at most"));
}

TEST_F(IdentityTest, SubmitMessageThatDoesNotDecodeIsInvalidArgument) {
  Enrol("a");
  absl::StatusOr<agent::ClientTls> tls = agent::LoadClientTls(tmp_ / "a");
  ASSERT_TRUE(tls.ok()) << tls.status();
  testing::RawCall call(agent::MakeChannel(Address(), *tls),
                        "/evidentia.v1.Collector/Submit");
  ASSERT_TRUE(call.AwaitHeaders(absl::Seconds(30)));  // admitted

  // Field 1, length-delimited, 5 bytes announced and 1 sent.
  call.Write(std::string("\x0a\x05\x01", 3));

  grpc::Status status = call.Finish(absl::Seconds(30));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("does not decode"));
}

// Without a certificate only Enroll gets as far as reading its request:
// every other call is refused when its headers arrive, so a half-sent
// request of another method holds nothing.
TEST_F(IdentityTest, CallWithoutCertificateIsRefusedBeforeItsRequest) {
  for (const char* method :
       {"/evidentia.v1.Collector/RotateKey", "/evidentia.v1.Collector/Submit",
        "/evidentia.v1.Operator/AddManualEvidence",
        "/evidentia.v1.Operator/GradeControls"}) {
    testing::RawCall call(
        agent::MakeChannel(Address(), agent::ClientTls{CaPem(), "", ""}),
        method);

    grpc::Status status = call.Finish(absl::Seconds(10));  // sent nothing

    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << method << ": " << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("needs one")) << method;
  }
}

// Enroll needs no certificate, so what a caller without one can hold is
// bounded: a few calls at once per address, each for a few seconds.
class EnrollCallLimitsTest : public IdentityTest {
 protected:
  void ConfigureServer(collector::ServerOptions& options) override {
    IdentityTest::ConfigureServer(options);
    options.enroll_limits.idle_timeout = enroll_timeout_;
  }
  std::unique_ptr<testing::RawCall> SilentEnroll() {
    return std::make_unique<testing::RawCall>(
        agent::MakeChannel(Address(), agent::ClientTls{CaPem(), "", ""}),
        "/evidentia.v1.Collector/Enroll");
  }
  // Silent Enroll calls from this address, each admitted, up to its limit.
  std::vector<std::unique_ptr<testing::RawCall>> FillEnrollSlots() {
    std::vector<std::unique_ptr<testing::RawCall>> held;
    for (int i = 0; i < collector::EnrollCallLimits().max_streams_per_source;
         ++i) {
      held.push_back(SilentEnroll());
      EXPECT_TRUE(held.back()->AwaitHeaders(absl::Seconds(30))) << i;
    }
    return held;
  }
  absl::Duration enroll_timeout_ = absl::Minutes(5);
};

TEST_F(EnrollCallLimitsTest, CallsBeyondTheLimitPerAddressAreRefused) {
  std::vector<std::unique_ptr<testing::RawCall>> held = FillEnrollSlots();
  ASSERT_FALSE(HasFailure());

  std::unique_ptr<testing::RawCall> one_more = SilentEnroll();
  grpc::Status status = one_more->Finish(absl::Seconds(30));

  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("Enroll call"));
}

// A burst from behind one address: calls refused as busy are not failed
// attempts, however many arrive at once, so they cannot block the address.
TEST_F(EnrollCallLimitsTest, CallsRefusedAsBusyDoNotBlockTheAddress) {
  std::vector<std::unique_ptr<testing::RawCall>> held = FillEnrollSlots();
  ASSERT_FALSE(HasFailure());
  // On one connection, so that they arrive together.
  const std::shared_ptr<grpc::Channel> channel =
      agent::MakeChannel(Address(), agent::ClientTls{CaPem(), "", ""});
  constexpr int kAtOnce = 10 * collector::kMaxEnrolFailures;
  std::vector<std::unique_ptr<testing::RawCall>> burst;
  for (int i = 0; i < kAtOnce; ++i) {
    burst.push_back(std::make_unique<testing::RawCall>(
        channel, "/evidentia.v1.Collector/Enroll"));
  }

  for (std::unique_ptr<testing::RawCall>& call : burst) {
    grpc::Status status = call->Finish(absl::Seconds(30));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(status.error_message(), HasSubstr("Enroll call"));
  }
  held.clear();

  absl::StatusOr<std::string> enrolled =
      EnrollAgent(tmp_ / "a", CreateToken(), root_);
  EXPECT_TRUE(enrolled.ok()) << enrolled.status();
}

// A fleet enrolling from behind one address: an agent refused because the
// collector is busy with others from there waits as told and gets in.
TEST_F(EnrollCallLimitsTest, AgentRefusedWhileBusyRetriesAndEnrols) {
  std::vector<std::unique_ptr<testing::RawCall>> held = FillEnrollSlots();
  ASSERT_FALSE(HasFailure());
  agent::EnrollOptions options;
  options.state_dir = tmp_ / "a";
  options.collector = Address();
  options.ca_pem = CaPem();
  options.token = CreateToken();
  options.root = root_;
  std::vector<absl::Duration> waits;
  options.sleep = [&](absl::Duration d) {
    waits.push_back(d);
    held.clear();  // the others finish (cancelled by their clients)
  };

  absl::StatusOr<std::string> enrolled = agent::Enroll(options);

  EXPECT_TRUE(enrolled.ok()) << enrolled.status();
  // At least once (again if it came back before the collector saw the
  // others go), each time as long as asked, spread out by up to 2x.
  ASSERT_GE(waits.size(), 1u);
  for (absl::Duration wait : waits) {
    EXPECT_GE(wait, absl::Milliseconds(100));
    EXPECT_LE(wait, absl::Milliseconds(200));
  }
}

class EnrollDeadlineTest : public EnrollCallLimitsTest {
 protected:
  EnrollDeadlineTest() { enroll_timeout_ = absl::Milliseconds(300); }
};

TEST_F(EnrollDeadlineTest, EnrollWhoseRequestNeverComesIsEndedByTheServer) {
  std::unique_ptr<testing::RawCall> call = SilentEnroll();
  ASSERT_TRUE(call->AwaitHeaders(absl::Seconds(30)));

  // 100 times the deadline: the server, not the client, ends the call.
  grpc::Status status = call->Finish(absl::Seconds(30));

  EXPECT_THAT(status.error_code(),
              ::testing::AnyOf(grpc::StatusCode::CANCELLED,
                               grpc::StatusCode::DEADLINE_EXCEEDED));
  EXPECT_NE(status.error_message(), "not ended by the server");
}

TEST_F(IdentityTest, SameHostnameEnrolsAsTwoAgentsThatSubmitSeparately) {
  const std::string a = Enrol("a");
  const std::string b = Enrol("b");
  ASSERT_NE(a, b);
  NextSnapshot("a");
  ASSERT_TRUE(Deliver("a").ok());
  NextSnapshot("b");
  ASSERT_TRUE(Deliver("b").ok());
  EXPECT_EQ(LastSeqOf(a), "1");
  EXPECT_EQ(LastSeqOf(b), "1");
}

TEST_F(IdentityTest, CsrWithBadSignatureIsRefusedAtEnrolment) {
  absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
  absl::StatusOr<KeyAndCsr> tls = CreateCertificateRequest("agent");
  ASSERT_TRUE(key.ok() && tls.ok());
  std::string csr = tls->csr_pem;
  const size_t end = csr.find("-----END");
  csr[end - 6] = csr[end - 6] == 'A' ? 'B' : 'A';
  v1::EnrollRequest request;
  request.set_token(CreateToken());
  request.set_public_key_pem(key->public_key().ToPem());
  request.set_csr_pem(csr);
  grpc::ClientContext context;
  v1::EnrollResponse response;

  grpc::Status status = AnonymousStub()->Enroll(&context, request, &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(response.client_cert_pem().empty());
}

TEST_F(IdentityTest, EnrolmentKeepsTheTlsKeyPrivateInTheStateDir) {
  Enrol("a");
  struct stat st;
  ASSERT_EQ(::stat((tmp_ / "a" / "tls.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  absl::StatusOr<agent::ClientTls> tls = agent::LoadClientTls(tmp_ / "a");
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_THAT(tls->cert_pem, HasSubstr("BEGIN CERTIFICATE"));
}

// --- Safe defaults ---

TEST_F(IdentityTest, CollectorRefusesAnOpenDataDirNamingIt) {
  StopCollector();
  ASSERT_EQ(::chmod(data_dir_.c_str(), 0755), 0);
  collector::ServerOptions options;
  options.data_dir = data_dir_;
  options.listen = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<collector::Server>> server =
      collector::Server::Start(options);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(server.status().message(), HasSubstr(data_dir_.string()));
}

TEST_F(IdentityTest, CollectorListensOnLoopbackByDefault) {
  EXPECT_EQ(collector::ServerOptions().listen, "127.0.0.1:7443");
}

TEST_F(IdentityTest, AgentRefusesAStateDirReadableByOthers) {
  Enrol("a");
  ASSERT_EQ(::chmod((tmp_ / "a").c_str(), 0755), 0);
  absl::StatusOr<std::unique_ptr<agent::AgentState>> state =
      agent::AgentState::Open(tmp_ / "a");
  EXPECT_EQ(state.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(state.status().message(), HasSubstr((tmp_ / "a").string()));
}

TEST_F(IdentityTest, AgentRefusesADeviceKeyReadableByOthers) {
  Enrol("a");
  ASSERT_EQ(::chmod((tmp_ / "a" / "agent.key").c_str(), 0644), 0);
  absl::StatusOr<std::unique_ptr<agent::AgentState>> state =
      agent::AgentState::Open(tmp_ / "a");
  EXPECT_EQ(state.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(state.status().message(), HasSubstr("agent.key"));
}

TEST_F(IdentityTest, AgentRefusesATlsKeyReadableByOthers) {
  Enrol("a");
  ASSERT_EQ(::chmod((tmp_ / "a" / "tls.key").c_str(), 0644), 0);
  absl::StatusOr<agent::ClientTls> tls = agent::LoadClientTls(tmp_ / "a");
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(tls.status().message(), HasSubstr("tls.key"));
}

// --- Device key rotation ---

class KeyRotationLiveTest : public IdentityTest {
 protected:
  // Enrols agent "a" and delivers its first snapshot.
  void SetUp() override {
    IdentityTest::SetUp();
    id_ = Enrol("a");
    ASSERT_TRUE(Deliver("a").ok());
    NextSnapshot("a");
    ASSERT_TRUE(Deliver("a").ok());
  }

  std::unique_ptr<agent::AgentState> Open() {
    absl::StatusOr<std::unique_ptr<agent::AgentState>> state =
        agent::AgentState::Open(tmp_ / "a");
    EXPECT_TRUE(state.ok()) << state.status();
    return state.ok() ? *std::move(state) : nullptr;
  }

  absl::StatusOr<std::string> Rotate() {
    std::unique_ptr<agent::AgentState> state = Open();
    if (state == nullptr) return absl::InternalError("cannot open");
    return agent::RotateDeviceKey(*state, *Stub(tmp_ / "a"));
  }

  // Begins a rotation and sends it; the collector takes it, but the answer
  // never reaches the agent (its state still holds the rotation pending).
  // Returns the new key id the collector answered, or "" on failure.
  std::string RotationWhoseAnswerIsLost() {
    std::unique_ptr<agent::AgentState> state = Open();
    if (state == nullptr) return "";
    absl::StatusOr<v1::RotateKeyRequest> request =
        state->BeginKeyRotation(absl::Now());
    EXPECT_TRUE(request.ok()) << request.status();
    if (!request.ok()) return "";
    grpc::ClientContext context;
    v1::RotateKeyResponse response;
    const grpc::Status sent =
        Stub(tmp_ / "a")->RotateKey(&context, *request, &response);
    EXPECT_TRUE(sent.ok()) << sent.error_message();
    return sent.ok() ? response.key_id() : "";
  }

  std::string DeviceKeyId() {
    absl::StatusOr<PrivateKey> key =
        PrivateKey::LoadPemFile(tmp_ / "a" / "agent.key");
    EXPECT_TRUE(key.ok()) << key.status();
    return key.ok() ? key->public_key().KeyId() : "";
  }

  std::string id_;
};

TEST_F(KeyRotationLiveTest, RotatedAgentsChainContinuesUnderTheNewKey) {
  const std::string old_key = DeviceKeyId();

  absl::StatusOr<std::string> rotated = Rotate();

  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_EQ(*rotated, DeviceKeyId());
  EXPECT_NE(*rotated, old_key);
  EXPECT_EQ(Open()->identity().key_id(), *rotated);
  NextSnapshot("a");
  absl::StatusOr<agent::DeliveryReport> report = Deliver("a");
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->accepted, 1);
  EXPECT_EQ(LastSeqOf(id_), "2");
  EXPECT_THAT(Cli({"events"}), HasSubstr("key_rotated"));
}

TEST_F(KeyRotationLiveTest, SpooledSnapshotsAreDeliveredBeforeTheRotation) {
  NextSnapshot("a");  // seq 2, signed by the old key, not delivered

  ASSERT_TRUE(Rotate().ok());

  EXPECT_EQ(LastSeqOf(id_), "2");
  NextSnapshot("a");
  ASSERT_TRUE(Deliver("a").ok());
  EXPECT_EQ(LastSeqOf(id_), "3");
}

TEST_F(KeyRotationLiveTest, RotationWhileTheCollectorIsDownStaysPending) {
  const std::string old_key = DeviceKeyId();
  StopCollector();

  absl::StatusOr<std::string> rotated = Rotate();

  EXPECT_EQ(rotated.status().code(), absl::StatusCode::kUnavailable);
  std::unique_ptr<agent::AgentState> state = Open();
  ASSERT_NE(state, nullptr);
  EXPECT_TRUE(state->pending_rotation().has_value());
  EXPECT_EQ(state
                ->MakeSnapshot(agent::Collect(agent::BuildProbes(), root_),
                               absl::Now())
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(DeviceKeyId(), old_key);
  state.reset();

  StartCollector(Address());
  ASSERT_TRUE(Rotate().ok());
  NextSnapshot("a");
  ASSERT_TRUE(Deliver("a").ok());
  EXPECT_EQ(LastSeqOf(id_), "2");
}

TEST_F(KeyRotationLiveTest, LostAnswerIsAskedForAgainWithTheSameStatement) {
  ASSERT_FALSE(RotationWhoseAnswerIsLost().empty());

  ASSERT_TRUE(Rotate().ok());

  NextSnapshot("a");
  ASSERT_TRUE(Deliver("a").ok());
  EXPECT_EQ(LastSeqOf(id_), "2");
}

TEST_F(KeyRotationLiveTest, CrashAfterTheKeySwapIsFinishedOnOpen) {
  const std::string new_key = RotationWhoseAnswerIsLost();
  ASSERT_FALSE(new_key.empty());
  // What CompleteKeyRotation does first, then a crash.
  fs::rename(tmp_ / "a" / "agent.key.next", tmp_ / "a" / "agent.key");

  std::unique_ptr<agent::AgentState> state = Open();

  ASSERT_NE(state, nullptr);
  EXPECT_FALSE(state->pending_rotation().has_value());
  EXPECT_EQ(state->identity().key_id(), new_key);
  EXPECT_FALSE(fs::exists(tmp_ / "a" / "rotation.pending"));
  state.reset();
  NextSnapshot("a");
  ASSERT_TRUE(Deliver("a").ok());
  EXPECT_EQ(LastSeqOf(id_), "2");
}

TEST_F(KeyRotationLiveTest, RefusedRotationKeepsTheOldKey) {
  const std::string old_key = DeviceKeyId();
  ASSERT_EQ(Cli({"agents", "revoke", id_}).empty(), false) << last_err_;

  absl::StatusOr<std::string> rotated = Rotate();

  EXPECT_EQ(rotated.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(DeviceKeyId(), old_key);
  EXPECT_FALSE(Open()->pending_rotation().has_value());
  EXPECT_FALSE(fs::exists(tmp_ / "a" / "agent.key.next"));
}

TEST_F(KeyRotationLiveTest, OnlyTheAgentsOwnCertificateMayRotate) {
  std::unique_ptr<agent::AgentState> state = Open();
  ASSERT_NE(state, nullptr);
  absl::StatusOr<v1::RotateKeyRequest> request =
      state->BeginKeyRotation(absl::Now());
  ASSERT_TRUE(request.ok()) << request.status();
  Enrol("b");

  auto rotate_with = [&](v1::Collector::Stub& stub) {
    grpc::ClientContext context;
    v1::RotateKeyResponse response;
    return stub.RotateKey(&context, *request, &response).error_code();
  };

  EXPECT_EQ(rotate_with(*AnonymousStub()), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(rotate_with(*StubWith(OperatorTls())),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(rotate_with(*Stub(tmp_ / "b")),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(Cli({"events"}), HasSubstr("wrong_agent"));
}

}  // namespace
}  // namespace evidentia
