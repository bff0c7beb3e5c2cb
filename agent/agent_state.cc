#include "agent/agent_state.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <system_error>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/checkpoint.h"
#include "common/envelope.h"
#include "common/files.h"
#include "common/log.h"
#include "common/pae.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "google/protobuf/text_format.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;

// Room kept for the gap snapshot when the quota makes the agent drop some.
constexpr uint64_t kGapRecordBytes = 1024;

fs::path IdentityFile(const fs::path& dir) { return dir / "agent.conf"; }
fs::path KeyFile(const fs::path& dir) { return dir / "agent.key"; }
fs::path CaFile(const fs::path& dir) { return dir / "ca.pem"; }
fs::path TlsKeyFile(const fs::path& dir) { return dir / "tls.key"; }
fs::path TlsCertFile(const fs::path& dir) { return dir / "tls.pem"; }
fs::path ChainFile(const fs::path& dir) { return dir / "chain.pb"; }
fs::path SpoolDir(const fs::path& dir) { return dir / "spool"; }
fs::path NextKeyFile(const fs::path& dir) { return dir / "agent.key.next"; }
fs::path PendingRotationFile(const fs::path& dir) {
  return dir / "rotation.pending";
}

// The snapshot inside spooled record `seq`, and its payload.
struct SpooledSnapshot {
  v1::Snapshot snapshot;
  std::string payload;
};

absl::StatusOr<SpooledSnapshot> ReadSpooled(const Spool& spool, uint64_t seq) {
  ASSIGN_OR_RETURN(v1::SubmitRequest request, spool.Get(seq));
  SpooledSnapshot out;
  out.payload = std::move(*request.mutable_envelope()->mutable_payload());
  if (!out.snapshot.ParseFromString(out.payload)) {
    return absl::DataLossError(
        absl::StrCat("spooled snapshot ", seq, " holds no Snapshot payload"));
  }
  return out;
}

}  // namespace

absl::Status SaveClientTls(const fs::path& dir, const std::string& key_pem,
                           const std::string& cert_pem) {
  RETURN_IF_ERROR(EnsurePrivateDir(dir));
  RETURN_IF_ERROR(WriteFileAtomic(TlsKeyFile(dir), key_pem, 0600));
  return WriteFileAtomic(TlsCertFile(dir), cert_pem, 0644);
}

absl::StatusOr<ClientTls> LoadClientTls(const fs::path& dir) {
  RETURN_IF_ERROR(CheckOwnerOnly(dir));
  ClientTls tls;
  ASSIGN_OR_RETURN(tls.ca_pem, ReadFile(CaFile(dir), 1 << 20));
  std::error_code ec;
  if (!fs::exists(TlsKeyFile(dir), ec)) {
    return absl::NotFoundError(absl::StrCat(
        TlsKeyFile(dir).string(),
        " is missing: this agent was enrolled before mutual TLS; enrol it "
        "again"));
  }
  RETURN_IF_ERROR(CheckOwnerOnly(TlsKeyFile(dir)));
  ASSIGN_OR_RETURN(tls.key_pem, ReadFile(TlsKeyFile(dir), 64 << 10));
  ASSIGN_OR_RETURN(tls.cert_pem, ReadFile(TlsCertFile(dir), 64 << 10));
  return tls;
}

absl::Status AgentState::Create(const fs::path& dir,
                                const v1::AgentIdentity& identity,
                                const PrivateKey& key,
                                const std::string& ca_pem) {
  std::error_code ec;
  if (fs::exists(IdentityFile(dir), ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir.string(),
                     " already holds an enrolled agent; remove it to enrol "
                     "this host again"));
  }
  RETURN_IF_ERROR(EnsurePrivateDir(dir));
  // Snapshots of an earlier identity must never be sent as this one's.
  fs::remove_all(SpoolDir(dir), ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat(
        "cannot clear ", SpoolDir(dir).string(), ": ", ec.message()));
  }
  RETURN_IF_ERROR(EnsurePrivateDir(SpoolDir(dir)));
  RETURN_IF_ERROR(key.SavePemFile(KeyFile(dir)));
  RETURN_IF_ERROR(WriteFileAtomic(CaFile(dir), ca_pem, 0644));
  RETURN_IF_ERROR(WriteFileAtomic(
      ChainFile(dir), v1::AgentChainState().SerializeAsString(), 0600));
  std::string text;
  google::protobuf::TextFormat::PrintToString(identity, &text);
  // The identity is written last: its presence means "enrolled".
  return WriteFileAtomic(IdentityFile(dir), text, 0600);
}

absl::StatusOr<std::unique_ptr<AgentState>> AgentState::Open(
    const fs::path& dir, absl::Time now) {
  std::error_code ec;
  if (!fs::exists(IdentityFile(dir), ec)) {
    return absl::NotFoundError(
        absl::StrCat("no enrolled agent in ", dir.string(),
                     "; run `evidentia-agent enroll` first"));
  }
  RETURN_IF_ERROR(CheckOwnerOnly(dir));
  RETURN_IF_ERROR(CheckOwnerOnly(KeyFile(dir)));
  auto state = std::unique_ptr<AgentState>(new AgentState());
  state->dir_ = dir;
  const fs::path lock_path = dir / "lock";
  state->lock_fd_ =
      ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (state->lock_fd_ < 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "cannot open ", lock_path.string(), ": ", std::strerror(errno)));
  }
  if (::flock(state->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("another evidentia-agent is using ", dir.string()));
  }

  ASSIGN_OR_RETURN(std::string text, ReadFile(IdentityFile(dir), 64 << 10));
  if (!google::protobuf::TextFormat::ParseFromString(text, &state->identity_) ||
      state->identity_.agent_id().empty()) {
    return absl::DataLossError(
        absl::StrCat(IdentityFile(dir).string(), " is not a valid identity"));
  }
  ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::LoadPemFile(KeyFile(dir)));
  state->key_ = std::make_unique<PrivateKey>(std::move(key));
  RETURN_IF_ERROR(state->LoadPendingRotation());
  ASSIGN_OR_RETURN(state->ca_pem_, ReadFile(CaFile(dir), 1 << 20));

  ASSIGN_OR_RETURN(std::string chain, ReadFile(ChainFile(dir), 1 << 20));
  if (!state->chain_.ParseFromString(chain)) {
    return absl::DataLossError(
        absl::StrCat(ChainFile(dir).string(), " is corrupt"));
  }
  state->head_ = {state->chain_.seq(), state->chain_.payload_sha256()};

  ASSIGN_OR_RETURN(state->spool_, Spool::Open(SpoolDir(dir)));
  Spool& spool = *state->spool_;
  // A gap snapshot replaces the records it covers; a crash may have left
  // some of them behind.
  for (uint64_t seq : spool.Seqs()) {
    if (!spool.Has(seq)) continue;
    ASSIGN_OR_RETURN(SpooledSnapshot spooled, ReadSpooled(spool, seq));
    if (!spooled.snapshot.has_gap()) continue;
    for (uint64_t covered : spool.Seqs()) {
      if (covered >= spooled.snapshot.gap().first_seq() && covered < seq) {
        RETURN_IF_ERROR(spool.Remove(covered));
      }
    }
  }

  // A snapshot spooled just before a crash may be newer than chain.pb.
  const std::vector<uint64_t> seqs = spool.Seqs();
  if (!seqs.empty() && seqs.back() > state->head_.seq) {
    ASSIGN_OR_RETURN(SpooledSnapshot newest, ReadSpooled(spool, seqs.back()));
    state->head_ = HeadAfterSnapshot(newest.snapshot, newest.payload);
    state->chain_.set_seq(state->head_.seq);
    state->chain_.set_payload_sha256(state->head_.payload_sha256);
    RETURN_IF_ERROR(state->SaveChain());
  }

  // Damaged records: one the chain head never counted was never made (a
  // torn write before a crash); any other is lost evidence, reported to the
  // collector by a gap snapshot.
  uint64_t covered_to = 0;
  for (const SpoolDamage& damage : spool.damage()) {
    if (damage.seq > state->head_.seq) {
      Log(LogLevel::kWarning,
          absl::StrCat("spool: damaged snapshot ", damage.seq,
                       " was never counted as made; dropped"));
      continue;
    }
    if (damage.seq <= covered_to || spool.Has(damage.seq)) continue;
    ASSIGN_OR_RETURN(covered_to,
                     state->ReplaceWithGap(damage.seq, damage.seq, now));
  }
  return state;
}

AgentState::~AgentState() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

absl::Status AgentState::LoadPendingRotation() {
  std::error_code ec;
  if (!fs::exists(PendingRotationFile(dir_), ec)) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string bytes,
                   ReadFile(PendingRotationFile(dir_), 64 << 10));
  v1::RotateKeyRequest request;
  absl::StatusOr<KeyRotation> statement =
      request.ParseFromString(bytes)
          ? ParseKeyRotation(request.statement())
          : absl::DataLossError("not a RotateKeyRequest");
  if (!statement.ok()) {
    return absl::DataLossError(
        absl::StrCat(PendingRotationFile(dir_).string(),
                     " is corrupt: ", statement.status().message()));
  }
  // A crash after the new key took its place, before the cleanup.
  if (key_->public_key().KeyId() == statement->new_key_id) {
    return FinishKeyRotation();
  }
  pending_rotation_ = std::move(request);
  return absl::OkStatus();
}

absl::StatusOr<v1::RotateKeyRequest> AgentState::BeginKeyRotation(
    absl::Time now) {
  if (pending_rotation_.has_value()) {
    return absl::FailedPreconditionError("a key rotation is already pending");
  }
  if (!spool_->Seqs().empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        spool_->Seqs().size(),
        " snapshots are not delivered yet; a key is rotated only when the "
        "collector holds everything it signed"));
  }
  if (head_.seq == 0) {
    return absl::FailedPreconditionError(
        "no snapshot was made yet; deliver one (run --once) before rotating "
        "the key");
  }
  ASSIGN_OR_RETURN(PrivateKey next, PrivateKey::Generate());
  KeyRotation statement;
  statement.agent_id = identity_.agent_id();
  statement.old_key_id = key_->public_key().KeyId();
  statement.new_key_id = next.public_key().KeyId();
  statement.seq = head_.seq;
  statement.head = head_.payload_sha256;
  statement.time = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
  v1::RotateKeyRequest request;
  request.set_statement(FormatKeyRotation(statement));
  const std::string signed_bytes =
      Pae(kKeyRotationPayloadType, request.statement());
  ASSIGN_OR_RETURN(*request.mutable_old_signature(), key_->Sign(signed_bytes));
  ASSIGN_OR_RETURN(*request.mutable_new_signature(), next.Sign(signed_bytes));
  request.set_new_public_key_pem(next.public_key().ToPem());
  // The key first: a pending request always has its key.
  RETURN_IF_ERROR(next.SavePemFile(NextKeyFile(dir_)));
  RETURN_IF_ERROR(WriteFileAtomic(PendingRotationFile(dir_),
                                  request.SerializeAsString(), 0600));
  pending_rotation_ = request;
  return request;
}

absl::Status AgentState::CompleteKeyRotation() {
  if (!pending_rotation_.has_value()) {
    return absl::FailedPreconditionError("no key rotation is pending");
  }
  ASSIGN_OR_RETURN(PrivateKey next, PrivateKey::LoadPemFile(NextKeyFile(dir_)));
  // The one step that switches keys: an atomic rename, then made durable.
  std::error_code ec;
  fs::rename(NextKeyFile(dir_), KeyFile(dir_), ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat(
        "cannot replace ", KeyFile(dir_).string(), ": ", ec.message()));
  }
  RETURN_IF_ERROR(SyncDir(dir_));
  key_ = std::make_unique<PrivateKey>(std::move(next));
  return FinishKeyRotation();
}

absl::Status AgentState::FinishKeyRotation() {
  identity_.set_key_id(key_->public_key().KeyId());
  std::string text;
  google::protobuf::TextFormat::PrintToString(identity_, &text);
  RETURN_IF_ERROR(WriteFileAtomic(IdentityFile(dir_), text, 0600));
  pending_rotation_.reset();
  return RemoveRotationFiles();
}

absl::Status AgentState::AbandonKeyRotation() {
  pending_rotation_.reset();
  return RemoveRotationFiles();
}

absl::Status AgentState::RemoveRotationFiles() {
  std::error_code ec;
  for (const fs::path& file : {PendingRotationFile(dir_), NextKeyFile(dir_)}) {
    fs::remove(file, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot remove ", file.string(), ": ", ec.message()));
    }
  }
  return SyncDir(dir_);
}

absl::Status AgentState::SaveChain() const {
  return WriteFileAtomic(ChainFile(dir_), chain_.SerializeAsString(), 0600);
}

absl::StatusOr<uint64_t> AgentState::MakeSnapshot(const Collection& collection,
                                                  absl::Time now) {
  if (pending_rotation_.has_value()) {
    return absl::FailedPreconditionError(
        "a device key rotation is waiting for the collector's answer; no "
        "snapshot is signed until it comes (run `evidentia-agent rotate-key` "
        "to ask again)");
  }
  v1::Snapshot snapshot;
  snapshot.set_agent_id(identity_.agent_id());
  LinkAfter(head_, snapshot);
  *snapshot.mutable_collected_at() = ToProto(now);
  *snapshot.mutable_host() = collection.host;
  snapshot.set_agent_version(kAgentVersion);
  v1::SubmitRequest request;
  std::set<std::string> bodies_added;
  for (size_t i = 0; i < collection.observations.size(); ++i) {
    *snapshot.add_observations() = collection.observations[i];
    const std::string& body = collection.bodies[i];
    if (!body.empty() && bodies_added.insert(body).second) {
      request.add_facts(body);
    }
  }
  std::string payload = snapshot.SerializeAsString();
  const ChainHead next = HeadAfter(snapshot.seq(), payload);
  ASSIGN_OR_RETURN(*request.mutable_envelope(),
                   SignPayload(*key_, std::move(payload)));

  RETURN_IF_ERROR(spool_->Put(next.seq, request));
  head_ = next;
  chain_.set_seq(head_.seq);
  chain_.set_payload_sha256(head_.payload_sha256);
  RETURN_IF_ERROR(SaveChain());
  RETURN_IF_ERROR(EnforceQuota(now));
  return head_.seq;
}

absl::Status AgentState::EnforceQuota(absl::Time now) {
  while (spool_->bytes() > spool_max_bytes_) {
    const std::vector<uint64_t> seqs = spool_->Seqs();
    if (seqs.size() < 2) break;  // the newest is always kept
    // The oldest records, never the newest, whose loss brings the spool
    // (with the gap snapshot replacing them) within the quota.
    uint64_t freed = 0;
    size_t count = 0;
    while (count + 1 < seqs.size() &&
           spool_->bytes() - freed + kGapRecordBytes > spool_max_bytes_) {
      freed += spool_->RecordBytes(seqs[count]);
      ++count;
    }
    if (count == 1) {
      // Replacing a gap snapshot by itself would free nothing.
      ASSIGN_OR_RETURN(SpooledSnapshot oldest, ReadSpooled(*spool_, seqs[0]));
      if (oldest.snapshot.has_gap()) {
        if (seqs.size() < 3) break;
        count = 2;
      }
    }
    const uint64_t before = spool_->bytes();
    RETURN_IF_ERROR(ReplaceWithGap(seqs[0], seqs[count - 1], now).status());
    Log(LogLevel::kWarning,
        absl::StrCat("spool over its quota of ", spool_max_bytes_,
                     " bytes: the oldest snapshots up to ", seqs[count - 1],
                     " were dropped and replaced by a signed gap snapshot"));
    if (spool_->bytes() >= before) break;
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> AgentState::ReplaceWithGap(uint64_t first,
                                                    uint64_t last,
                                                    absl::Time now) {
  // prev: the chain digest the first lost snapshot followed.
  std::string prev(kSha256Size, '\0');
  if (spool_->Has(first)) {
    ASSIGN_OR_RETURN(SpooledSnapshot s, ReadSpooled(*spool_, first));
    prev = s.snapshot.prev_payload_sha256();
    if (s.snapshot.has_gap()) first = s.snapshot.gap().first_seq();
  } else if (first > 1 && spool_->Has(first - 1)) {
    ASSIGN_OR_RETURN(SpooledSnapshot s, ReadSpooled(*spool_, first - 1));
    prev = HeadAfterSnapshot(s.snapshot, s.payload).payload_sha256;
  }
  // Otherwise unknown (first - 1 was delivered, or lost too): zeros, and the
  // collector's refusal names its head for RebaseGap.

  // The chain digest of the last lost snapshot, which the next one names;
  // when it cannot be known, the next snapshot is lost too.
  std::string last_sha256;
  while (true) {
    if (spool_->Has(last)) {
      ASSIGN_OR_RETURN(SpooledSnapshot s, ReadSpooled(*spool_, last));
      last_sha256 = HeadAfterSnapshot(s.snapshot, s.payload).payload_sha256;
      break;
    }
    if (spool_->Has(last + 1)) {
      ASSIGN_OR_RETURN(SpooledSnapshot s, ReadSpooled(*spool_, last + 1));
      last_sha256 = s.snapshot.prev_payload_sha256();
      break;
    }
    if (last >= head_.seq) {
      last_sha256 = head_.payload_sha256;
      break;
    }
    ++last;
  }
  RETURN_IF_ERROR(
      PutGap(first, last, std::move(prev), std::move(last_sha256), now));
  return last;
}

absl::Status AgentState::PutGap(uint64_t first, uint64_t last, std::string prev,
                                std::string last_sha256, absl::Time now) {
  v1::Snapshot snapshot;
  snapshot.set_agent_id(identity_.agent_id());
  snapshot.set_seq(last);
  snapshot.set_prev_payload_sha256(std::move(prev));
  *snapshot.mutable_collected_at() = ToProto(now);
  snapshot.set_agent_version(kAgentVersion);
  snapshot.mutable_gap()->set_first_seq(first);
  snapshot.mutable_gap()->set_last_seq(last);
  snapshot.mutable_gap()->set_last_payload_sha256(std::move(last_sha256));
  v1::SubmitRequest request;
  ASSIGN_OR_RETURN(*request.mutable_envelope(),
                   SignPayload(*key_, snapshot.SerializeAsString()));
  // The gap first, then the records it covers: a crash in between leaves
  // records that Open removes.
  RETURN_IF_ERROR(spool_->Put(last, request));
  for (uint64_t seq : spool_->Seqs()) {
    if (seq >= first && seq < last) RETURN_IF_ERROR(spool_->Remove(seq));
  }
  Log(LogLevel::kWarning,
      absl::StrCat("snapshots ", first, "..", last,
                   " are lost; spooled gap snapshot ", last, " reports it"));
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::SubmitRequest>> AgentState::RebaseGap(
    uint64_t seq, uint64_t held_seq, const std::string& held_sha256,
    absl::Time now) {
  ASSIGN_OR_RETURN(SpooledSnapshot spooled, ReadSpooled(*spool_, seq));
  const v1::Snapshot& gap = spooled.snapshot;
  if (!gap.has_gap()) {
    return absl::FailedPreconditionError(
        absl::StrCat("spooled snapshot ", seq, " is not a gap snapshot"));
  }
  if (held_seq >= seq) {
    // Everything the gap declared lost had in fact arrived.
    if (held_seq == seq && held_sha256 != gap.gap().last_payload_sha256()) {
      Log(LogLevel::kError,
          absl::StrCat("collector holds a snapshot ", seq,
                       " whose digest is not the one this agent made"));
    }
    RETURN_IF_ERROR(spool_->Remove(seq));
    return std::nullopt;
  }
  const std::string prev =
      held_seq == 0 ? std::string(kSha256Size, '\0') : held_sha256;
  if (held_seq + 1 == gap.gap().first_seq() &&
      prev == gap.prev_payload_sha256()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "collector refused gap snapshot ", seq, " that follows its head"));
  }
  if (prev.size() != kSha256Size) {
    return absl::FailedPreconditionError(
        "collector named a head digest that is not 32 bytes");
  }
  RETURN_IF_ERROR(
      PutGap(held_seq + 1, seq, prev, gap.gap().last_payload_sha256(), now));
  ASSIGN_OR_RETURN(v1::SubmitRequest request, spool_->Get(seq));
  return request;
}

absl::StatusOr<std::vector<v1::SubmitRequest>> AgentState::Spooled() const {
  std::vector<v1::SubmitRequest> out;
  for (uint64_t seq : spool_->Seqs()) {
    ASSIGN_OR_RETURN(v1::SubmitRequest request, spool_->Get(seq));
    out.push_back(std::move(request));
  }
  return out;
}

v1::SubmitRequest AgentState::WithoutKnownFacts(
    const v1::SubmitRequest& full) const {
  std::set<std::string> known(chain_.acknowledged_facts().begin(),
                              chain_.acknowledged_facts().end());
  v1::SubmitRequest out;
  *out.mutable_envelope() = full.envelope();
  for (const std::string& body : full.facts()) {
    if (known.count(Sha256(body)) == 0) out.add_facts(body);
  }
  return out;
}

absl::Status AgentState::Acknowledge(const v1::SubmitRequest& request,
                                     uint64_t seq) {
  chain_.clear_acknowledged_facts();
  for (const std::string& body : request.facts()) {
    chain_.add_acknowledged_facts(Sha256(body));
  }
  RETURN_IF_ERROR(SaveChain());
  return spool_->Remove(seq);
}

}  // namespace evidentia::agent
