// The Linux probes, in the fixed order the agent runs and reports them.
#include "agent/linux/probes/anti_malware_probe.h"
#include "agent/linux/probes/audit_logging_probe.h"
#include "agent/linux/probes/backup_probe.h"
#include "agent/linux/probes/boot_integrity_probe.h"
#include "agent/linux/probes/disk_encryption_probe.h"
#include "agent/linux/probes/firewall_probe.h"
#include "agent/linux/probes/local_accounts_probe.h"
#include "agent/linux/probes/os_patching_probe.h"
#include "agent/linux/probes/password_policy_probe.h"
#include "agent/linux/probes/screen_lock_probe.h"
#include "agent/linux/probes/ssh_server_probe.h"
#include "agent/linux/probes/time_sync_probe.h"
#include "agent/probe.h"

namespace evidentia::agent {

std::vector<std::unique_ptr<Probe>> BuildProbes() {
  std::vector<std::unique_ptr<Probe>> probes;
  probes.push_back(std::make_unique<DiskEncryptionProbe>());
  probes.push_back(std::make_unique<AntiMalwareProbe>());
  probes.push_back(std::make_unique<LocalAccountsProbe>());
  probes.push_back(std::make_unique<FirewallProbe>());
  probes.push_back(std::make_unique<OsPatchingProbe>());
  probes.push_back(std::make_unique<SshServerProbe>());
  probes.push_back(std::make_unique<TimeSyncProbe>());
  probes.push_back(std::make_unique<AuditLoggingProbe>());
  probes.push_back(std::make_unique<ScreenLockProbe>());
  probes.push_back(std::make_unique<PasswordPolicyProbe>());
  probes.push_back(std::make_unique<BackupProbe>());
  probes.push_back(std::make_unique<BootIntegrityProbe>());
  return probes;
}

}  // namespace evidentia::agent
