// Which of an agent's device keys signs which of its snapshots, and key
// rotation (proto: Collector.RotateKey; docs/bundle.md, "Key rotation").
// An agent's keys follow one another: each retired key signed the seqs up
// to its rotation's last_seq (after the previous rotation's), and the
// current key signs every seq after the last rotation.
#ifndef EVIDENTIA_COLLECTOR_INGEST_AGENT_KEYS_H_
#define EVIDENTIA_COLLECTOR_INGEST_AGENT_KEYS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "evidentia/v1/reports.pb.h"

namespace evidentia::collector {

// The SPKI PEM of the agent's key with id `key_id`, current or retired;
// nullptr when the agent never had that key.
const std::string* AgentKeyPem(const v1::AgentRecord& agent,
                               absl::string_view key_id);

// The id of the key that signs snapshot `seq` of `agent`.
const std::string& KeyIdForSeq(const v1::AgentRecord& agent, uint64_t seq);

// OK when `key_id` is the key that signs snapshot `seq` of `agent`;
// PERMISSION_DENIED naming both otherwise (e.g. a retired key signing a new
// snapshot: the key may be in someone else's hands).
absl::Status CheckKeyForSeq(const v1::AgentRecord& agent,
                            absl::string_view key_id, uint64_t seq);

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_INGEST_AGENT_KEYS_H_
