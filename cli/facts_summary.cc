#include "cli/facts_summary.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"

namespace evidentia::collector {
namespace {

std::string EncryptionName(v1::EncryptionType type) {
  switch (type) {
    case v1::ENCRYPTION_TYPE_LUKS1:
      return "LUKS1";
    case v1::ENCRYPTION_TYPE_LUKS2:
      return "LUKS2";
    case v1::ENCRYPTION_TYPE_PLAIN:
      return "plain dm-crypt";
    case v1::ENCRYPTION_TYPE_BITLK:
      return "BitLocker";
    case v1::ENCRYPTION_TYPE_TCRYPT:
      return "TrueCrypt/VeraCrypt";
    default:
      return "dm-crypt";
  }
}

std::string Day(int64_t unix_seconds) {
  return absl::FormatTime("%Y-%m-%d", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

void DiskEncryption(const v1::DiskEncryptionFacts& f, std::string& out) {
  if (f.volumes().empty()) {
    absl::StrAppend(
        &out, "  no fixed volumes (root is ",
        f.root_fs_type().empty() ? "not on a block device" : f.root_fs_type(),
        ")\n");
    return;
  }
  absl::StrAppend(&out, "  ",
                  f.all_volumes_encrypted()
                      ? "every fixed volume is encrypted"
                      : "NOT every fixed volume is encrypted",
                  "\n");
  for (const v1::Volume& v : f.volumes()) {
    const std::string where = v.kind() == v1::VOLUME_KIND_SWAP
                                  ? absl::StrCat("swap ", v.source())
                                  : v.mount_point();
    std::string how;
    if (!v.resolved()) {
      how = "device not found in /sys";
    } else if (v.encrypted()) {
      std::vector<std::string> layers;
      for (const v1::EncryptionLayer& e : v.encryption()) {
        layers.push_back(absl::StrCat(
            EncryptionName(e.type()), " on ", e.device(),
            e.cipher().empty() ? "" : absl::StrCat(", ", e.cipher())));
      }
      how = absl::StrCat("encrypted (", absl::StrJoin(layers, "; "), ")");
    } else {
      how = "NOT encrypted";
    }
    absl::StrAppend(
        &out, "  ", where, " on ", v.device().empty() ? v.source() : v.device(),
        v.fs_type().empty() ? "" : absl::StrCat(" (", v.fs_type(), ")"), ": ",
        how, "\n");
  }
}

void AntiMalware(const v1::AntiMalwareFacts& f, std::string& out) {
  if (f.products().empty()) {
    absl::StrAppend(&out, "  no known anti-malware product found\n");
    return;
  }
  for (const v1::AntiMalwareProduct& p : f.products()) {
    std::vector<std::string> parts;
    parts.push_back(p.installed() ? "installed" : "not installed");
    for (const v1::InstalledPackage& pkg : p.packages()) {
      parts.push_back(absl::StrCat(pkg.name(), " ", pkg.version()));
    }
    // Protection is the scanning engine running, not an updater alone.
    parts.push_back(p.engine_running() ? "engine running"
                                       : "engine NOT running");
    if (!p.engine_running() && p.updater_running()) {
      parts.push_back("only its updater running");
    }
    switch (p.realtime()) {
      case v1::REALTIME_PROTECTION_ENABLED:
        parts.push_back("real-time scanning on");
        break;
      case v1::REALTIME_PROTECTION_DISABLED:
        parts.push_back("real-time scanning OFF");
        break;
      default:
        break;
    }
    if (p.signature_source() == v1::SIGNATURE_SOURCE_ENGINE) {
      parts.push_back(absl::StrCat("signatures built ",
                                   Day(p.signature_build_time_unix()),
                                   " (loaded by the engine)"));
    } else if (p.newest_signature_build_time_unix() > 0) {
      parts.push_back(absl::StrCat("signatures on disk built ",
                                   Day(p.newest_signature_build_time_unix()),
                                   " (not confirmed loaded by the engine)"));
    }
    absl::StrAppend(&out, "  ", p.name(), ": ", absl::StrJoin(parts, ", "),
                    "\n");
  }
}

std::string PasswordName(v1::PasswordState state) {
  switch (state) {
    case v1::PASSWORD_STATE_SET:
      return "password set";
    case v1::PASSWORD_STATE_EMPTY:
      return "EMPTY password";
    case v1::PASSWORD_STATE_LOCKED:
      return "locked";
    case v1::PASSWORD_STATE_NONE:
      return "no password login";
    default:
      return "password state unknown";
  }
}

void LocalAccounts(const v1::LocalAccountsFacts& f, std::string& out) {
  int interactive = 0;
  std::vector<std::string> empty;
  for (const v1::Account& a : f.accounts()) {
    if (a.interactive()) ++interactive;
    if (a.password_state() == v1::PASSWORD_STATE_EMPTY)
      empty.push_back(a.name());
  }
  absl::StrAppend(&out, "  ", f.accounts_size(), " accounts, ", interactive,
                  " with a login shell",
                  f.shadow_readable() ? "" : " (shadow not readable)", "\n");
  absl::StrAppend(&out, "  uid 0 besides root: ",
                  f.uid0_non_root().empty()
                      ? "none"
                      : absl::StrJoin(f.uid0_non_root(), ", "),
                  "\n");
  absl::StrAppend(&out, "  empty passwords: ",
                  empty.empty() ? "none" : absl::StrJoin(empty, ", "), "\n");
  for (const v1::PrivilegedGroup& g : f.privileged_groups()) {
    absl::StrAppend(
        &out, "  group ", g.name(), ": ",
        g.members().empty() ? "no members" : absl::StrJoin(g.members(), ", "),
        "\n");
  }
  for (const v1::SudoRule& r : f.sudo_rules()) {
    absl::StrAppend(
        &out, "  sudoers ", r.is_group() ? "%" : "", r.principal(), ": ",
        r.all_commands() ? "ALL commands" : absl::StrJoin(r.commands(), ", "),
        r.nopasswd() ? " (NOPASSWD)" : "", "  [", r.file(), "]\n");
  }
  for (const v1::Account& a : f.accounts()) {
    if (!a.interactive()) continue;
    absl::StrAppend(
        &out, "  login account ", a.name(), " (uid ", a.uid(), ", ", a.shell(),
        "): ", PasswordName(a.password_state()),
        a.has_last_login_unix()
            ? absl::StrCat(", last login ", Day(a.last_login_unix()))
            : "",
        "\n");
  }
}

}  // namespace

std::string SummarizeFacts(const v1::Facts& facts) {
  std::string out;
  switch (facts.kind_case()) {
    case v1::Facts::kDiskEncryption:
      DiskEncryption(facts.disk_encryption(), out);
      break;
    case v1::Facts::kAntiMalware:
      AntiMalware(facts.anti_malware(), out);
      break;
    case v1::Facts::kLocalAccounts:
      LocalAccounts(facts.local_accounts(), out);
      break;
    default:
      out = "  (facts of a kind this CLI does not know; see --json)\n";
  }
  return out;
}

}  // namespace evidentia::collector
