// The baseline of agent_bench: a process linking exactly what evidentia-agent
// links (evidentia_agent_lib and its shared libraries) that does nothing but
// wait for a signal. Its resident set is what loading those libraries costs,
// before the agent does anything.
#include <signal.h>
#include <unistd.h>

#include "agent/probe.h"

int main(int argc, char** argv) {
  // Never true; keeps the probes (and so the agent library) linked in.
  if (argc > 1000)
    return static_cast<int>(evidentia::agent::BuildProbes().size());
  (void)argv;
  ::pause();
  return 0;
}
