// The baseline of agent_bench: a process linking what evidentia-agent links
// (evidentia_agent_lib and the same shared libraries) that does nothing but
// wait for a signal. Its resident set is what loading those libraries costs
// before the agent does anything.
#include <unistd.h>

#include "agent/agent_state.h"
#include "agent/collect.h"
#include "agent/probe.h"
#include "agent/uploader.h"

int main(int argc, char** argv) {
  // Never true: keeps what the agent calls linked in, and so the same
  // shared libraries loaded.
  if (argc > 1000) {
    namespace agent = evidentia::agent;
    const agent::Collection collection =
        agent::Collect(agent::BuildProbes(), argv[1]);
    absl::StatusOr<std::unique_ptr<agent::AgentState>> state =
        agent::AgentState::Open(argv[2]);
    if (!state.ok()) return 1;
    auto stub = evidentia::v1::Collector::NewStub(
        agent::MakeChannel(argv[3], agent::ClientTls{}));
    return agent::DeliverSpool(**state, *stub).ok() &&
           (*state)->MakeSnapshot(collection, absl::Now()).ok();
  }
  ::pause();
  return 0;
}
