#include "agent/uploader.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <random>
#include <system_error>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/backoff.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "common/x509.h"

namespace evidentia::agent {
namespace {

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() +
         std::chrono::milliseconds(absl::ToInt64Milliseconds(kRpcDeadline));
}

absl::Status FromGrpc(const grpc::Status& status, absl::string_view what) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

// True when `response` refuses `request`, a gap snapshot, because it does
// not follow the collector's head (proto/README.md, "Gaps").
bool IsRefusedGap(const v1::SubmitRequest& request,
                  const v1::SubmitResponse& response) {
  if (response.result() != v1::SubmitResponse::REJECTED ||
      response.code() !=
          static_cast<int>(absl::StatusCode::kFailedPrecondition)) {
    return false;
  }
  v1::Snapshot snapshot;
  return snapshot.ParseFromString(request.envelope().payload()) &&
         snapshot.has_gap();
}

// How soon the collector asked to try an Enroll again that it refused
// while busy (trailing metadata "evidentia-retry-after-ms", named in
// proto/evidentia/v1/collector.proto); zero when it did not ask.
absl::Duration BusyRetryAfter(const grpc::ClientContext& context) {
  const auto& trailers = context.GetServerTrailingMetadata();
  auto it = trailers.find("evidentia-retry-after-ms");
  int64_t ms = 0;
  if (it == trailers.end() ||
      !absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()),
                        &ms) ||
      ms <= 0) {
    return absl::ZeroDuration();
  }
  return absl::Milliseconds(std::min<int64_t>(ms, 10'000));
}

}  // namespace

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target,
                                           const ClientTls& tls) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = tls.ca_pem;
  if (!tls.key_pem.empty()) {
    options.pem_private_key = tls.key_pem;
    options.pem_cert_chain = tls.cert_pem;
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(8 << 20);
  args.SetMaxSendMessageSize(8 << 20);
  return grpc::CreateCustomChannel(target, grpc::SslCredentials(options), args);
}

absl::StatusOr<std::string> Enroll(const EnrollOptions& options) {
  std::error_code ec;
  if (std::filesystem::exists(options.state_dir / "agent.conf", ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat(options.state_dir.string(),
                     " already holds an enrolled agent; remove it to enrol "
                     "this host again"));
  }
  ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate());
  // The subject is the collector's to choose; this name is a placeholder.
  ASSIGN_OR_RETURN(KeyAndCsr tls, CreateCertificateRequest("evidentia-agent"));
  v1::EnrollRequest request;
  request.set_token(options.token);
  request.set_public_key_pem(key.public_key().ToPem());
  request.set_csr_pem(tls.csr_pem);
  request.mutable_labels()->insert(options.labels.begin(),
                                   options.labels.end());
  absl::StatusOr<v1::HostFacts> host = CollectHostFacts(options.root);
  if (host.ok()) *request.mutable_host() = *std::move(host);

  auto stub = v1::Collector::NewStub(
      MakeChannel(options.collector, ClientTls{options.ca_pem, "", ""}));
  v1::EnrollResponse response;
  std::mt19937_64 random{std::random_device{}()};
  for (absl::Duration waited;;) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    grpc::Status status = stub->Enroll(&context, request, &response);
    if (status.ok()) break;
    // Busy with other enrolments (a fleet enrolling behind one address):
    // the collector says when to come back.
    const absl::Duration busy = BusyRetryAfter(context);
    if (status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED ||
        busy <= absl::ZeroDuration() || waited + busy > options.max_busy_wait) {
      return FromGrpc(status, absl::StrCat("enrolment at ", options.collector));
    }
    // Up to twice as long, so that agents refused together spread out.
    const absl::Duration wait =
        busy * (1.0 + std::uniform_real_distribution<double>(0, 1)(random));
    options.sleep(wait);
    waited += wait;
  }
  if (response.key_id() != key.public_key().KeyId()) {
    return absl::InternalError(
        "collector registered a different key than the one sent");
  }
  if (response.client_cert_pem().empty()) {
    return absl::InternalError(
        "collector issued no client certificate (a collector older than "
        "mutual TLS?)");
  }
  v1::AgentIdentity identity;
  identity.set_agent_id(response.agent_id());
  identity.set_collector(options.collector);
  identity.set_key_id(response.key_id());
  RETURN_IF_ERROR(SaveClientTls(options.state_dir, tls.key_pem,
                                response.client_cert_pem()));
  RETURN_IF_ERROR(
      AgentState::Create(options.state_dir, identity, key, options.ca_pem));
  return response.agent_id();
}

bool IsTransient(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded ||
         status.code() == absl::StatusCode::kResourceExhausted ||
         status.code() == absl::StatusCode::kCancelled;
}

absl::Duration RetryAfter(const absl::Status& status) {
  auto payload = status.GetPayload(kRetryAfterPayload);
  int64_t ms = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &ms)) {
    return absl::ZeroDuration();
  }
  return absl::Milliseconds(ms);
}

absl::StatusOr<DeliveryReport> DeliverSpool(AgentState& state,
                                            v1::Collector::StubInterface& stub,
                                            const DeliveryOptions& options) {
  // One record in memory at a time: a full spool is far larger than the
  // agent's memory budget.
  const std::vector<uint64_t> spooled = state.SpooledSeqs();
  DeliveryReport report;
  report.remaining = static_cast<int>(spooled.size());
  if (spooled.empty()) return report;

  SendPacer pacer(options.max_per_second);
  absl::Duration waited;  // for the collector's retry_after, all snapshots
  // Time for the paced backlog and the waits the collector may ask for.
  absl::Duration budget = kRpcDeadline + options.max_retry_wait;
  if (options.max_per_second > 0) {
    budget += absl::Seconds(spooled.size() / options.max_per_second);
  }
  grpc::ClientContext context;
  context.set_deadline(
      std::chrono::system_clock::now() +
      std::chrono::milliseconds(absl::ToInt64Milliseconds(budget)));
  std::unique_ptr<
      grpc::ClientReaderWriterInterface<v1::SubmitRequest, v1::SubmitResponse>>
      stream = stub.Submit(&context);
  auto broken = [&](absl::string_view what) {
    stream->WritesDone();
    grpc::Status status = stream->Finish();
    return status.ok() ? absl::UnavailableError(absl::StrCat(
                             what, ": collector closed the stream"))
                       : FromGrpc(status, what);
  };

  for (uint64_t seq : spooled) {
    absl::StatusOr<v1::SubmitRequest> loaded = state.SpooledAt(seq);
    if (absl::IsNotFound(loaded.status())) {  // replaced by a gap meanwhile
      --report.remaining;
      continue;
    }
    if (!loaded.ok()) return loaded.status();
    v1::SubmitRequest full = *std::move(loaded);
    v1::SubmitResponse response;
    // A gap snapshot the collector refuses is rebased on the collector's
    // head at most once per delivery, so a confused collector cannot make
    // the agent loop.
    bool rebased = false;
    bool settled = false;  // removed by the rebase: nothing left to send
    while (true) {
      const std::string payload_sha256 = Sha256(full.envelope().payload());
      v1::SubmitRequest request = state.WithoutKnownFacts(full);
      options.sleep(pacer.Reserve(options.now()));
      bool resent_facts = false;  // at most once: then it carries every body
      while (true) {
        if (!stream->Write(request) || !stream->Read(&response)) {
          return broken("sending snapshots");
        }
        if (response.result() == v1::SubmitResponse::NEED_FACTS &&
            !resent_facts) {
          resent_facts = true;
          request = full;
          continue;
        }
        // The collector asks this agent to slow down: wait as told, within
        // this delivery's budget, and send the same request again.
        const absl::Duration retry_after =
            absl::Milliseconds(response.retry_after_ms());
        if (response.result() == v1::SubmitResponse::REJECTED &&
            response.code() ==
                static_cast<int>(absl::StatusCode::kResourceExhausted) &&
            retry_after > absl::ZeroDuration()) {
          ++report.throttled;
          if (waited + retry_after > options.max_retry_wait) {
            stream->WritesDone();
            (void)stream->Finish();
            absl::Status status = absl::ResourceExhaustedError(
                absl::StrCat("collector asks to slow down: retry in ",
                             absl::FormatDuration(retry_after)));
            status.SetPayload(
                kRetryAfterPayload,
                absl::Cord(absl::StrCat(response.retry_after_ms())));
            return status;
          }
          waited += retry_after;
          options.sleep(retry_after);
          continue;
        }
        break;
      }
      if (response.payload_sha256() != payload_sha256) {
        return absl::InternalError(
            "collector answered for a different snapshot than the one sent");
      }
      if (rebased || !IsRefusedGap(full, response)) break;
      rebased = true;
      ASSIGN_OR_RETURN(
          std::optional<v1::SubmitRequest> again,
          state.RebaseGap(response.seq(), response.head_seq(),
                          response.head_payload_sha256(), options.now()));
      if (!again.has_value()) {
        settled = true;
        break;
      }
      full = *std::move(again);
    }
    if (settled) {
      ++report.rebased;
      --report.remaining;
      continue;
    }
    switch (response.result()) {
      case v1::SubmitResponse::ACCEPTED:
        ++report.accepted;
        break;
      case v1::SubmitResponse::DUPLICATE:
        ++report.duplicates;
        break;
      case v1::SubmitResponse::REJECTED:
        stream->WritesDone();
        (void)stream->Finish();
        return absl::Status(
            static_cast<absl::StatusCode>(response.code()),
            absl::StrCat("collector refused snapshot ", response.seq(), ": ",
                         response.message()));
      default:
        return broken("collector still lacks facts after a full resend");
    }
    if (rebased) ++report.rebased;
    report.heartbeat = absl::Seconds(response.heartbeat_seconds());
    RETURN_IF_ERROR(state.Acknowledge(full, response.seq()));
    --report.remaining;
  }
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  if (!status.ok()) return FromGrpc(status, "closing the stream");
  return report;
}

absl::StatusOr<std::string> RotateDeviceKey(AgentState& state,
                                            v1::Collector::StubInterface& stub,
                                            const DeliveryOptions& options) {
  std::optional<v1::RotateKeyRequest> request = state.pending_rotation();
  if (!request.has_value()) {
    RETURN_IF_ERROR(DeliverSpool(state, stub, options).status());
    ASSIGN_OR_RETURN(request, state.BeginKeyRotation(options.now()));
  }
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  v1::RotateKeyResponse response;
  const grpc::Status status = stub.RotateKey(&context, *request, &response);
  if (!status.ok()) {
    const absl::Status refused = FromGrpc(status, "key rotation");
    if (IsTransient(refused)) {
      return absl::Status(
          refused.code(),
          absl::StrCat(refused.message(),
                       "; the rotation stays pending: no snapshot is signed "
                       "until `evidentia-agent rotate-key` gets an answer"));
    }
    RETURN_IF_ERROR(state.AbandonKeyRotation());
    return absl::Status(
        refused.code(),
        absl::StrCat(refused.message(), "; the device key is unchanged"));
  }
  absl::StatusOr<KeyRotation> statement =
      ParseKeyRotation(request->statement());
  if (!statement.ok()) return statement.status();
  if (response.key_id() != statement->new_key_id) {
    return absl::InternalError(
        absl::StrCat("the collector answered with key ", response.key_id(),
                     ", not the new key ", statement->new_key_id,
                     "; the rotation stays pending"));
  }
  RETURN_IF_ERROR(state.CompleteKeyRotation());
  return response.key_id();
}

}  // namespace evidentia::agent
