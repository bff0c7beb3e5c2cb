// The Linux probes, in the fixed order the agent runs and reports them.
#include "agent/linux/probes/anti_malware_probe.h"
#include "agent/linux/probes/disk_encryption_probe.h"
#include "agent/linux/probes/local_accounts_probe.h"
#include "agent/probe.h"

namespace evidentia::agent {

std::vector<std::unique_ptr<Probe>> BuildProbes() {
  std::vector<std::unique_ptr<Probe>> probes;
  probes.push_back(std::make_unique<DiskEncryptionProbe>());
  probes.push_back(std::make_unique<AntiMalwareProbe>());
  probes.push_back(std::make_unique<LocalAccountsProbe>());
  return probes;
}

}  // namespace evidentia::agent
