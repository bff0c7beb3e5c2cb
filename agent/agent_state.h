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
//   S/spool/<seq>.snapshot   a SubmitRequest with every facts body
//   S/lock          held (flock) while an agent uses the directory
//
// A snapshot is written to the spool (fsynced) before the chain head moves,
// so a crash between the two is repaired on the next Open from the spool.
// Not thread-safe; one process at a time (the lock enforces it).
#ifndef EVIDENTIA_AGENT_AGENT_STATE_H_
#define EVIDENTIA_AGENT_AGENT_STATE_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/collect.h"
#include "common/ed25519.h"
#include "common/snapshot_chain.h"
#include "evidentia/v1/collector.pb.h"
#include "evidentia/v1/store.pb.h"

namespace evidentia::agent {

inline constexpr char kAgentVersion[] = "0.1.0";

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
  // file (named).
  static absl::StatusOr<std::unique_ptr<AgentState>> Open(
      const std::filesystem::path& dir);
  ~AgentState();

  const v1::AgentIdentity& identity() const { return identity_; }
  const std::string& ca_pem() const { return ca_pem_; }
  const ChainHead& head() const { return head_; }

  // Makes, signs and durably spools the next snapshot from `collection`,
  // collected at `now`. Returns its seq.
  absl::StatusOr<uint64_t> MakeSnapshot(const Collection& collection,
                                        absl::Time now);

  // Every spooled snapshot, oldest first, with all facts bodies.
  absl::StatusOr<std::vector<v1::SubmitRequest>> Spooled() const;

  // The request to send for `full`: bodies the collector acknowledged
  // before are left out.
  v1::SubmitRequest WithoutKnownFacts(const v1::SubmitRequest& full) const;

  // Records the collector's acknowledgement of spooled snapshot `seq`:
  // removes it from the spool and remembers its facts as held.
  absl::Status Acknowledge(const v1::SubmitRequest& request, uint64_t seq);

 private:
  AgentState() = default;
  std::filesystem::path SpoolFile(uint64_t seq) const;
  absl::Status SaveChain() const;

  std::filesystem::path dir_;
  int lock_fd_ = -1;
  v1::AgentIdentity identity_;
  std::unique_ptr<PrivateKey> key_;
  std::string ca_pem_;
  ChainHead head_;
  v1::AgentChainState chain_;
};

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_AGENT_STATE_H_
