// One collection cycle: the host's facts and one observation per probe, with
// each probe's facts serialized once and addressed by their SHA-256.
#ifndef EVIDENTIA_AGENT_COLLECT_H_
#define EVIDENTIA_AGENT_COLLECT_H_

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/probe.h"
#include "evidentia/v1/snapshot.pb.h"

namespace evidentia::agent {

// The check id (and probe) of the observation that reports a failure to
// read the host's own facts: the snapshot still goes out, and the collector
// shows the failure beside the checks (`evidentia host`).
inline constexpr char kHostFactsCheckId[] = "host_facts";

struct Collection {
  // Empty fields when they could not be read (then an observation
  // kHostFactsCheckId carries the error).
  v1::HostFacts host;
  // One per probe, and one kHostFactsCheckId if the host facts failed,
  // ordered by check id; a probe that failed carries its error.
  std::vector<v1::Observation> observations;
  // Serialized Facts bodies, parallel to `observations` (empty on error).
  std::vector<std::string> bodies;
};

// Runs every probe against `root`. Never fails: a probe's error becomes its
// observation's `error`, and so does an error reading the host facts.
Collection Collect(const std::vector<std::unique_ptr<Probe>>& probes,
                   const std::filesystem::path& root);

// The collection as JSON, in the shape of GetEvidenceResponse (the same as
// `evidentia evidence --json`): {"agent": {"host": ...}, "items": [...]}.
// INTERNAL when a fact has no JSON form (common/json.h).
absl::StatusOr<std::string> CollectionToJson(const Collection& collection);

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_COLLECT_H_
