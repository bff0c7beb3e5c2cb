// linux.disk_encryption: for every fixed volume (filesystems mounted from a
// block device, and swap) the stack of block devices beneath it, walked
// through sysfs (device-mapper, LVM, md, partitions), and whether a dm-crypt
// layer protects every path down to the disk; for each dm-crypt layer, the
// cipher and key size of the live mapping (device-mapper table) and the LUKS
// header of the device beneath it. Facts: DiskEncryptionFacts.
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_DISK_ENCRYPTION_PROBE_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_DISK_ENCRYPTION_PROBE_H_

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/linux/probes/device_mapper.h"
#include "agent/probe.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/facts/disk_encryption.pb.h"

namespace evidentia::agent {

// One line of /proc/self/mounts, octal escapes (\040 ...) decoded.
struct MountEntry {
  std::string source;
  std::string mount_point;
  std::string fs_type;
};

// What this probe needs from one line of /proc/self/mountinfo.
struct MountInfoEntry {
  std::string mount_point;  // field 5, escapes decoded
  std::string major_minor;  // field 3, e.g. "254:1"
};

// One line of /proc/swaps after the header.
struct SwapEntry {
  std::string source;  // device or file path, escapes decoded
  std::string type;    // "partition" or "file"
};

// One line of /etc/crypttab.
struct CrypttabEntry {
  std::string name;    // the dm name it creates
  std::string device;  // the underlying device, e.g. "UUID=..."
  std::string cipher;  // from the "cipher=" option; empty if none
};

// What a device-mapper uuid says about its layer.
struct DmUuidInfo {
  std::string subsystem;  // e.g. "CRYPT-LUKS2", "LVM", "CRYPT-PLAIN", "mpath"
  bool is_encryption = false;
  v1::EncryptionType type = v1::ENCRYPTION_TYPE_UNSPECIFIED;
};

// Lines of /proc/self/mounts (or /proc/mounts); lines with fewer than three
// fields are skipped.
std::vector<MountEntry> ParseMounts(std::string_view text);

// Lines of /proc/self/mountinfo; lines with fewer than five fields or no
// "MAJ:MIN" third field are skipped.
std::vector<MountInfoEntry> ParseMountInfo(std::string_view text);

// Entries of /proc/swaps; the header line and short lines are skipped.
std::vector<SwapEntry> ParseSwaps(std::string_view text);

// Entries of /etc/crypttab; comments, blank and short lines are skipped.
std::vector<CrypttabEntry> ParseCrypttab(std::string_view text);

// Decodes the kernel's octal escapes in a mount field ("\040" -> ' ').
std::string UnescapeMountField(std::string_view field);

// Classifies /sys/block/dm-N/dm/uuid content (trailing newline allowed).
// "CRYPT-VERITY-", "CRYPT-INTEGRITY-" and "CRYPT-SUBDEV-" are cryptsetup
// layers that do not encrypt.
DmUuidInfo ParseDmUuid(std::string_view uuid);

// Whether a mount counts as a fixed volume: its source is a block device
// under /dev/ (or a ZFS dataset) and it is not a read-only image filesystem
// (squashfs, iso9660, erofs, udf).
bool IsFixedMount(const MountEntry& mount);

class DiskEncryptionProbe : public Probe {
 public:
  // Live tables from the kernel's device mapper.
  DiskEncryptionProbe() : DiskEncryptionProbe(KernelDeviceMapper()) {}
  explicit DiskEncryptionProbe(std::shared_ptr<const DeviceMapper> mapper)
      : mapper_(std::move(mapper)) {}

  std::string_view id() const override { return "linux.disk_encryption"; }

  // Reads root/proc/self/mounts, root/proc/self/mountinfo (device numbers
  // for sources like "/dev/root"), root/proc/swaps, root/etc/crypttab,
  // root/sys and, for each LUKS layer, the header at the start of
  // root/dev/NAME of the device beneath it. NOT_FOUND/other errors only when
  // the mount table itself cannot be read; sources that cannot be found in
  // sysfs are reported unresolved, tables and headers that cannot be read
  // carry their error in the layer.
  absl::StatusOr<v1::Facts> Collect(
      const std::filesystem::path& root) const override;

 private:
  std::shared_ptr<const DeviceMapper> mapper_;
};

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_DISK_ENCRYPTION_PROBE_H_
