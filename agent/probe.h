// A probe observes one kind of fact on a host. Every path it reads is below
// an injectable root ("/" in production, a fixture tree in tests), parsing is
// done by pure functions beside it, and the facts it returns are stable for
// an unchanged host (they are content-addressed; see proto/README.md).
#ifndef EVIDENTIA_AGENT_PROBE_H_
#define EVIDENTIA_AGENT_PROBE_H_

#include <filesystem>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/snapshot.pb.h"

namespace evidentia::agent {

class Probe {
 public:
  virtual ~Probe() = default;

  // Stable id, e.g. "linux.disk_encryption"; also the default check id.
  virtual std::string_view id() const = 0;

  // Observes the host below `root`. A missing product or file that simply is
  // not there is a fact, not an error; errors are for what could not be
  // observed (e.g. PERMISSION_DENIED reading a file that exists).
  virtual absl::StatusOr<v1::Facts> Collect(
      const std::filesystem::path& root) const = 0;
};

// The probes of the OS this agent was built for, in a fixed order. Defined
// once per OS folder (agent/linux/probes/probes.cc).
std::vector<std::unique_ptr<Probe>> BuildProbes();

// Facts about the host itself (name, OS, kernel, architecture, machine id)
// below `root`, sent with every snapshot. A missing file leaves its fields
// empty; other read errors (e.g. PERMISSION_DENIED) are returned. Defined
// once per OS folder (agent/linux/probes/host_facts.cc).
absl::StatusOr<v1::HostFacts> CollectHostFacts(
    const std::filesystem::path& root);

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_PROBE_H_
