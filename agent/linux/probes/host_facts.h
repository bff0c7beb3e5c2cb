// Facts about the host itself (name, OS, kernel, architecture, machine id)
// sent with every snapshot; see HostFacts in proto/evidentia/v1/snapshot.proto.
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_HOST_FACTS_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_HOST_FACTS_H_

#include <map>
#include <string>
#include <string_view>

#include "agent/probe.h"

namespace evidentia::agent {

// CollectHostFacts (declared in agent/probe.h) reads root/proc/sys/kernel/
// hostname and osrelease, root/etc/os-release (falling back to
// root/usr/lib/os-release) and root/etc/machine-id; the architecture comes
// from uname(2) of the running kernel.

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_HOST_FACTS_H_
