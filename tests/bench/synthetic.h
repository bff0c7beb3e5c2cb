// Synthetic but realistic evidence for benchmarks: the facts a typical
// Linux laptop reports, varied per host so bodies differ.
#ifndef EVIDENTIA_TESTS_BENCH_SYNTHETIC_H_
#define EVIDENTIA_TESTS_BENCH_SYNTHETIC_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/facts/anti_malware.pb.h"
#include "evidentia/v1/facts/disk_encryption.pb.h"
#include "evidentia/v1/facts/local_accounts.pb.h"

namespace evidentia::bench {

// Facts of a typical laptop; `i` makes every host's bodies distinct.
inline std::vector<std::pair<std::string, v1::Facts>> HostFacts(int i) {
  std::vector<std::pair<std::string, v1::Facts>> out;
  v1::Facts disk;
  v1::DiskEncryptionFacts* d = disk.mutable_disk_encryption();
  d->set_root_on_block_device(true);
  d->set_root_fs_type("ext4");
  for (const char* mount : {"/", "/home", "/boot"}) {
    v1::Volume* v = d->add_volumes();
    v->set_kind(v1::VOLUME_KIND_MOUNT);
    v->set_mount_point(mount);
    v->set_device(absl::StrCat("dm-", i % 7));
    v->set_source(absl::StrCat("/dev/mapper/host", i));
    v->set_resolved(true);
    // One host in fifty has an unencrypted /home.
    v->set_encrypted(std::string(mount) != "/home" || i % 50 != 0);
  }
  out.emplace_back("linux.disk_encryption", disk);

  v1::Facts av;
  v1::AntiMalwareProduct* p = av.mutable_anti_malware()->add_products();
  p->set_id("clamav");
  p->set_name("ClamAV");
  p->set_installed(true);
  p->set_running(i % 20 != 0);
  p->set_newest_signature_build_time_unix(1795000000 - (i % 10) * 86400);
  p->add_signature_databases()->set_version(27000 + i);
  av.mutable_anti_malware()->set_package_database_read(true);
  out.emplace_back("linux.anti_malware", av);

  v1::Facts accounts;
  v1::LocalAccountsFacts* a = accounts.mutable_local_accounts();
  a->set_shadow_readable(true);
  for (int u = 0; u < 25; ++u) {
    v1::Account* account = a->add_accounts();
    account->set_name(u == 0 ? "root" : absl::StrCat("user", u, "_", i));
    account->set_uid(u == 0 ? 0 : 1000 + u);
    account->set_shell(u < 3 ? "/bin/bash" : "/usr/sbin/nologin");
    account->set_interactive(u < 3);
    account->set_password_state(v1::PASSWORD_STATE_LOCKED);
  }
  v1::PrivilegedGroup* sudo = a->add_privileged_groups();
  sudo->set_name("sudo");
  sudo->add_members(i % 30 == 0 ? "intruder" : "itadmin");
  out.emplace_back("linux.local_accounts", accounts);
  return out;
}

}  // namespace evidentia::bench

#endif  // EVIDENTIA_TESTS_BENCH_SYNTHETIC_H_
