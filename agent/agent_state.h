// The agent's state directory: its identity, device key, the collector's CA,
// the chain head, and the spool of snapshots not yet acknowledged.
//
//   S/              0700; Open refuses it, or agent.key, readable by others
//   S/agent.key     Ed25519 device key (PKCS#8 PEM, 0600)
//   S/tls.key       TLS client key, ECDSA P-256 (PKCS#8 PEM, 0600)
//   S/tls.pem       TLS client certificate the collector's CA issued at
//                   enrolment (SAN URI evidentia:agent:<agent id>)
//   S/agent.conf    AgentIdentity, protobuf text format
//   S/ca.pem        the collector's CA certificate
//   S/chain.pb      AgentChainState: last seq made, digests acknowledged
//   S/spool/        snapshots not yet acknowledged, checksummed (spool.h)
//   S/lock          held (flock) while an agent uses the directory
//   S/agent.key.next, S/rotation.pending
//                   during a key rotation: the new device key (0600) and the
//                   RotateKeyRequest sent for it, until the collector answers
//
// A snapshot is written to the spool (fsynced) before the chain head moves,
// so a crash between the two is repaired on the next Open from the spool.
// Loss is never silent: snapshots dropped because the spool is over its byte
// quota, or found damaged on Open, are replaced by one signed gap snapshot
// naming the lost seqs (proto/README.md, "Gaps").
// Not thread-safe; one process at a time (the lock enforces it).
#ifndef EVIDENTIA_AGENT_AGENT_STATE_H_
#define EVIDENTIA_AGENT_AGENT_STATE_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/collect.h"
#include "agent/spool.h"
#include "common/ed25519.h"
#include "common/snapshot_chain.h"
#include "evidentia/v1/collector.pb.h"
#include "evidentia/v1/store.pb.h"

namespace evidentia::agent {

inline constexpr char kAgentVersion[] = "0.1.0";
// Default byte quota of the spool (--spool-max-bytes).
inline constexpr uint64_t kDefaultSpoolMaxBytes = 64 << 20;

// What the agent needs to open a mutual-TLS channel to its collector.
struct ClientTls {
  std::string ca_pem;    // the collector's CA, the only one trusted
  std::string key_pem;   // the agent's TLS key; empty: no client certificate
  std::string cert_pem;  // its client certificate
};

// Writes the agent's TLS key (0600) and client certificate into `dir`
// (created 0700 if missing). Enrolment does this before AgentState::Create.
absl::Status SaveClientTls(const std::filesystem::path& dir,
                           const std::string& key_pem,
                           const std::string& cert_pem);

// Reads ca.pem, tls.key and tls.pem of `dir` (without taking its lock: the
// files never change after enrolment). NOT_FOUND naming the file for an
// agent enrolled before mutual TLS (enrol it again); FAILED_PRECONDITION
// when the directory or tls.key is accessible to other users.
absl::StatusOr<ClientTls> LoadClientTls(const std::filesystem::path& dir);

class AgentState {
 public:
  // Writes a fresh state directory for an enrolled agent. FAILED_PRECONDITION
  // if `dir` already holds an identity.
  static absl::Status Create(const std::filesystem::path& dir,
                             const v1::AgentIdentity& identity,
                             const PrivateKey& key, const std::string& ca_pem);

  // Opens and locks an existing state directory. NOT_FOUND when the agent
  // was never enrolled there; FAILED_PRECONDITION when another agent process
  // holds it, or the directory or the device key is accessible to other
  // users (named, with the chmod that fixes it); DATA_LOSS for a corrupt
  // identity or chain file (named). A damaged spool record is moved aside
  // and, if it had been counted as made, replaced by a gap snapshot signed
  // at `now`.
  static absl::StatusOr<std::unique_ptr<AgentState>> Open(
      const std::filesystem::path& dir, absl::Time now = absl::Now());
  ~AgentState();

  const v1::AgentIdentity& identity() const { return identity_; }
  const std::string& ca_pem() const { return ca_pem_; }
  const ChainHead& head() const { return head_; }

  // The spool's byte quota; at least one snapshot, the newest, is always
  // kept whatever its size.
  void set_spool_max_bytes(uint64_t bytes) { spool_max_bytes_ = bytes; }
  uint64_t spool_bytes() const { return spool_->bytes(); }

  // Makes, signs and durably spools the next snapshot from `collection`,
  // collected at `now`. Returns its seq. When the spool is then over its
  // quota, the oldest spooled snapshots are replaced by a gap snapshot.
  // FAILED_PRECONDITION while a key rotation is pending: which key signs
  // is not known until the collector answers.
  absl::StatusOr<uint64_t> MakeSnapshot(const Collection& collection,
                                        absl::Time now);

  // Every spooled snapshot, oldest first, with all facts bodies.
  absl::StatusOr<std::vector<v1::SubmitRequest>> Spooled() const;
  // The seqs of the spooled snapshots, oldest first, and one of them
  // (NOT_FOUND if not spooled, DATA_LOSS if damaged since Open).
  std::vector<uint64_t> SpooledSeqs() const { return spool_->Seqs(); }
  absl::StatusOr<v1::SubmitRequest> SpooledAt(uint64_t seq) const {
    return spool_->Get(seq);
  }

  // The request to send for `full`: bodies the collector acknowledged
  // before are left out.
  v1::SubmitRequest WithoutKnownFacts(const v1::SubmitRequest& full) const;

  // Records the collector's acknowledgement of spooled snapshot `seq`:
  // removes it from the spool and remembers its facts as held.
  absl::Status Acknowledge(const v1::SubmitRequest& request, uint64_t seq);

  // The collector refused spooled gap snapshot `seq` because it holds
  // snapshots up to `held_seq` (whose chain digest is `held_sha256`). Makes
  // the gap start at held_seq + 1, signed at `now`, and returns the request
  // to send; or, when the collector holds everything the gap covered,
  // removes it and returns nullopt. FAILED_PRECONDITION if `seq` is not a
  // spooled gap snapshot.
  absl::StatusOr<std::optional<v1::SubmitRequest>> RebaseGap(
      uint64_t seq, uint64_t held_seq, const std::string& held_sha256,
      absl::Time now);

  // Device key rotation (Collector.RotateKey). BeginKeyRotation makes a new
  // key and the statement handing the chain head over to it, signed by both
  // keys, and saves both durably before anything is sent; the request stays
  // pending until CompleteKeyRotation (the collector took it: the new key
  // signs from now on) or AbandonKeyRotation (it refused). A pending
  // rotation survives a crash, so a lost answer is asked for again with the
  // same statement. FAILED_PRECONDITION when snapshots are still spooled
  // (deliver them first), none was ever made, or a rotation is pending.
  const std::optional<v1::RotateKeyRequest>& pending_rotation() const {
    return pending_rotation_;
  }
  absl::StatusOr<v1::RotateKeyRequest> BeginKeyRotation(absl::Time now);
  absl::Status CompleteKeyRotation();
  absl::Status AbandonKeyRotation();

 private:
  AgentState() = default;
  absl::Status SaveChain() const;
  absl::Status LoadPendingRotation();
  // The new key is in place: record it in agent.conf, drop the rotation files.
  absl::Status FinishKeyRotation();
  absl::Status RemoveRotationFiles();
  // Replaces spooled snapshots first..last (and any lost ones around them
  // whose digests cannot be known) by one gap snapshot signed at `now`.
  // Returns the last seq the gap covers.
  absl::StatusOr<uint64_t> ReplaceWithGap(uint64_t first, uint64_t last,
                                          absl::Time now);
  absl::Status PutGap(uint64_t first, uint64_t last, std::string prev,
                      std::string last_sha256, absl::Time now);
  absl::Status EnforceQuota(absl::Time now);

  std::filesystem::path dir_;
  int lock_fd_ = -1;
  v1::AgentIdentity identity_;
  std::unique_ptr<PrivateKey> key_;
  std::string ca_pem_;
  ChainHead head_;
  v1::AgentChainState chain_;
  std::unique_ptr<Spool> spool_;
  uint64_t spool_max_bytes_ = kDefaultSpoolMaxBytes;
  std::optional<v1::RotateKeyRequest> pending_rotation_;
};

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_AGENT_STATE_H_
