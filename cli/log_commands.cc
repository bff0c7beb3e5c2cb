// evidentia log checkpoint, prove, consistency: checked with the collector key.
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "cli/cli_internal.h"
#include "cli/operator_cli.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/merkle.h"
#include "common/sha256.h"

namespace evidentia::collector::operator_cli {
namespace {

// The collector's key from its data dir, to check checkpoints with.
absl::StatusOr<PublicKey> CollectorKey(const FlagValues& args) {
  return PublicKey::LoadPemFile(DataDirFrom(args).signing_pub());
}

// The newest checkpoint, its signature checked with `key`. The collector's
// errors as it sent them (UNAVAILABLE: not reached); UNAUTHENTICATED or
// INVALID_ARGUMENT when what it sent does not verify or parse.
absl::StatusOr<Checkpoint> FetchCheckpoint(const Invocation& call,
                                           const PublicKey& key, bool sign_now,
                                           v1::GetCheckpointResponse* raw) {
  grpc::ClientContext context;
  Prepare(context, call.connection);
  v1::GetCheckpointRequest request;
  request.set_sign_now(sign_now);
  grpc::Status status =
      call.connection.stub->GetCheckpoint(&context, request, raw);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  if (absl::Status ok = key.Verify(raw->checkpoint(), raw->signature());
      !ok.ok()) {
    return absl::UnauthenticatedError(
        "the checkpoint's signature does not verify under the collector key");
  }
  return ParseCheckpoint(raw->checkpoint());
}

}  // namespace

int LogCheckpoint(const Invocation& call, std::ostream& out,
                  std::ostream& err) {
  absl::StatusOr<PublicKey> key = CollectorKey(call.args);
  if (!key.ok()) return LocalError(key.status(), err);
  v1::GetCheckpointResponse raw;
  absl::StatusOr<Checkpoint> checkpoint =
      FetchCheckpoint(call, *key, call.args.Has("new"), &raw);
  if (!checkpoint.ok()) return Report(checkpoint.status(), err);
  if (call.args.Has("json")) return PrintJson(raw, out, err);
  out << raw.checkpoint() << "signature " << ToHex(raw.signature())
      << " (verified with the collector key)\n";
  return kCliOk;
}

int LogProve(const Invocation& call, std::ostream& out, std::ostream& err) {
  uint64_t seq = 0;
  if (!absl::SimpleAtoi(call.operands[1], &seq)) {
    return Usage(absl::InvalidArgumentError("SEQ must be a number"), err);
  }
  absl::StatusOr<PublicKey> key = CollectorKey(call.args);
  if (!key.ok()) return LocalError(key.status(), err);
  v1::GetCheckpointResponse raw;
  absl::StatusOr<Checkpoint> checkpoint =
      FetchCheckpoint(call, *key, false, &raw);
  if (!checkpoint.ok()) return Report(checkpoint.status(), err);
  grpc::ClientContext context;
  Prepare(context, call.connection);
  v1::ProveInclusionRequest request;
  request.set_agent_id(call.operands[0]);
  request.set_seq(seq);
  request.set_tree_size(checkpoint->size);
  v1::ProveInclusionResponse response;
  grpc::Status status =
      call.connection.stub->ProveInclusion(&context, request, &response);
  if (!status.ok()) return Report(status, err);
  InclusionProof proof;
  proof.index = response.leaf_index();
  proof.size = response.tree_size();
  proof.hashes.assign(response.hashes().begin(), response.hashes().end());
  if (absl::Status ok =
          merkle::VerifyInclusion(proof.index, proof.size, response.leaf_hash(),
                                  proof.hashes, checkpoint->root);
      !ok.ok()) {
    err << "evidentia: the collector's proof does not verify: " << ok.message()
        << "\n";
    return kCliFailed;
  }
  if (call.args.Has("json")) return PrintJson(response, out, err);
  out << FormatInclusionProof(proof) << "verified against the checkpoint of "
      << checkpoint->size << " entries, root " << ToHex(checkpoint->root)
      << "\n";
  return kCliOk;
}

int LogConsistency(const Invocation& call, std::ostream& out,
                   std::ostream& err) {
  uint64_t first = 0;
  if (!absl::SimpleAtoi(call.operands[0], &first)) {
    return Usage(absl::InvalidArgumentError("SIZE must be a number"), err);
  }
  absl::StatusOr<PublicKey> key = CollectorKey(call.args);
  if (!key.ok()) return LocalError(key.status(), err);
  v1::GetCheckpointResponse raw;
  absl::StatusOr<Checkpoint> checkpoint =
      FetchCheckpoint(call, *key, false, &raw);
  if (!checkpoint.ok()) return Report(checkpoint.status(), err);
  grpc::ClientContext context;
  Prepare(context, call.connection);
  v1::ProveConsistencyRequest request;
  request.set_first_size(first);
  request.set_second_size(checkpoint->size);
  v1::ProveConsistencyResponse response;
  grpc::Status status =
      call.connection.stub->ProveConsistency(&context, request, &response);
  if (!status.ok()) return Report(status, err);
  const std::vector<std::string> hashes(response.hashes().begin(),
                                        response.hashes().end());
  if (absl::Status ok =
          merkle::VerifyConsistency(first, checkpoint->size, hashes,
                                    response.first_root(), checkpoint->root);
      !ok.ok()) {
    err << "evidentia: the collector's proof does not verify: " << ok.message()
        << "\n";
    return kCliFailed;
  }
  if (call.args.Has("json")) return PrintJson(response, out, err);
  out << "the log of " << first << " entries (root "
      << ToHex(response.first_root()) << ") is a prefix of the checkpoint of "
      << checkpoint->size << " entries (root " << ToHex(checkpoint->root)
      << "): verified, " << hashes.size() << " hashes\n";
  for (const std::string& hash : hashes) out << ToHex(hash) << "\n";
  return kCliOk;
}

}  // namespace evidentia::collector::operator_cli
