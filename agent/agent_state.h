// The agent's state directory: its identity, device key, the collector's CA,
// the chain head, and the spool of snapshots not yet acknowledged.
//
//   S/agent.key     Ed25519 device key (PKCS#8 PEM, 0600)
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

class AgentState {
 public:
  // Writes a fresh state directory for an enrolled agent. FAILED_PRECONDITION
  // if `dir` already holds an identity.
  static absl::Status Create(const std::filesystem::path& dir,
                             const v1::AgentIdentity& identity,
                             const PrivateKey& key, const std::string& ca_pem);

  // Opens and locks an existing state directory. NOT_FOUND when the agent
  // was never enrolled there; FAILED_PRECONDITION when another agent process
  // holds it; DATA_LOSS for a corrupt file (named).
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
