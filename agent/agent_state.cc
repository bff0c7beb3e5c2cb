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
#include "common/envelope.h"
#include "common/files.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "google/protobuf/text_format.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;

constexpr char kSpoolSuffix[] = ".snapshot";

fs::path IdentityFile(const fs::path& dir) { return dir / "agent.conf"; }
fs::path KeyFile(const fs::path& dir) { return dir / "agent.key"; }
fs::path CaFile(const fs::path& dir) { return dir / "ca.pem"; }
fs::path TlsKeyFile(const fs::path& dir) { return dir / "tls.key"; }
fs::path TlsCertFile(const fs::path& dir) { return dir / "tls.pem"; }
fs::path ChainFile(const fs::path& dir) { return dir / "chain.pb"; }
fs::path SpoolDir(const fs::path& dir) { return dir / "spool"; }

absl::StatusOr<v1::SubmitRequest> ReadSpoolFile(const fs::path& path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  v1::SubmitRequest request;
  if (!request.ParseFromString(bytes)) {
    return absl::DataLossError(
        absl::StrCat("spooled snapshot ", path.string(), " is corrupt"));
  }
  return request;
}

// Seqs of the spooled snapshots, ascending.
absl::StatusOr<std::vector<uint64_t>> SpooledSeqs(const fs::path& dir) {
  std::vector<uint64_t> seqs;
  std::error_code ec;
  for (const fs::directory_entry& entry :
       fs::directory_iterator(SpoolDir(dir), ec)) {
    const std::string name = entry.path().filename().string();
    uint64_t seq = 0;
    if (name.size() > sizeof(kSpoolSuffix) - 1 &&
        name.substr(name.size() - (sizeof(kSpoolSuffix) - 1)) == kSpoolSuffix &&
        absl::SimpleAtoi(
            name.substr(0, name.size() - (sizeof(kSpoolSuffix) - 1)), &seq)) {
      seqs.push_back(seq);
    }
  }
  if (ec) {
    return absl::UnavailableError(absl::StrCat(
        "cannot list ", SpoolDir(dir).string(), ": ", ec.message()));
  }
  std::sort(seqs.begin(), seqs.end());
  return seqs;
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
    const fs::path& dir) {
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
  ASSIGN_OR_RETURN(state->ca_pem_, ReadFile(CaFile(dir), 1 << 20));

  ASSIGN_OR_RETURN(std::string chain, ReadFile(ChainFile(dir), 1 << 20));
  if (!state->chain_.ParseFromString(chain)) {
    return absl::DataLossError(
        absl::StrCat(ChainFile(dir).string(), " is corrupt"));
  }
  state->head_ = {state->chain_.seq(), state->chain_.payload_sha256()};

  // A snapshot spooled just before a crash may be newer than chain.pb.
  ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, SpooledSeqs(dir));
  if (!seqs.empty() && seqs.back() > state->head_.seq) {
    ASSIGN_OR_RETURN(v1::SubmitRequest newest,
                     ReadSpoolFile(state->SpoolFile(seqs.back())));
    state->head_ = HeadAfter(seqs.back(), newest.envelope().payload());
    state->chain_.set_seq(state->head_.seq);
    state->chain_.set_payload_sha256(state->head_.payload_sha256);
    RETURN_IF_ERROR(state->SaveChain());
  }
  return state;
}

AgentState::~AgentState() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

fs::path AgentState::SpoolFile(uint64_t seq) const {
  return SpoolDir(dir_) / absl::StrFormat("%020d%s", seq, kSpoolSuffix);
}

absl::Status AgentState::SaveChain() const {
  return WriteFileAtomic(ChainFile(dir_), chain_.SerializeAsString(), 0600);
}

absl::StatusOr<uint64_t> AgentState::MakeSnapshot(const Collection& collection,
                                                  absl::Time now) {
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

  RETURN_IF_ERROR(
      WriteFileAtomic(SpoolFile(next.seq), request.SerializeAsString(), 0600));
  head_ = next;
  chain_.set_seq(head_.seq);
  chain_.set_payload_sha256(head_.payload_sha256);
  RETURN_IF_ERROR(SaveChain());
  return head_.seq;
}

absl::StatusOr<std::vector<v1::SubmitRequest>> AgentState::Spooled() const {
  ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, SpooledSeqs(dir_));
  std::vector<v1::SubmitRequest> out;
  for (uint64_t seq : seqs) {
    ASSIGN_OR_RETURN(v1::SubmitRequest request, ReadSpoolFile(SpoolFile(seq)));
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
  std::error_code ec;
  fs::remove(SpoolFile(seq), ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat(
        "cannot remove ", SpoolFile(seq).string(), ": ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace evidentia::agent
