#include "agent/linux/probes/disk_encryption_probe.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "agent/linux/probes/luks_header.h"
#include "agent/linux/sys/rooted_fs.h"
#include "agent/linux/sys/text.h"
#include "agent/linux/sys/utf8.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxMountTableBytes = 8 << 20;
constexpr size_t kMaxSysfsAttributeBytes = 4096;
constexpr int kMaxStackDepth = 32;
constexpr size_t kMaxStackDevices = 256;
constexpr size_t kMaxSubsystemChars = 32;

// A kernel block device name we are willing to use as one path component.
bool IsSafeDeviceName(std::string_view name) {
  return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

std::string Basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path
                                                     : path.substr(slash + 1));
}

std::string Dirname(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string()
                                         : std::string(path.substr(0, slash));
}

std::vector<std::string_view> Fields(std::string_view line) {
  return SplitAny(line, " \t");
}

// A block device as sysfs describes it, with its device-mapper uuid decoded.
struct DeviceInfo {
  v1::BlockDevice proto;
  DmUuidInfo dm;
};

// Read-only view of root/sys/class/block with a per-collection cache.
class SysfsBlockView {
 public:
  explicit SysfsBlockView(const fs::path& root) : root_(root) {}

  // Kernel name of the device a "/dev/..." source refers to; empty when it
  // cannot be found in sysfs.
  std::string NameForSource(std::string_view source) {
    if (!StartsWith(source, "/dev/")) return "";
    absl::StatusOr<std::string> rel = ResolveInRoot(root_, source);
    if (rel.ok()) {
      // A real device node: its major:minor names the sysfs entry.
      struct stat st;
      fs::path node = root_ / *rel;
      if (stat(node.c_str(), &st) == 0 && S_ISBLK(st.st_mode)) {
        absl::StatusOr<std::string> dev = ResolveInRoot(
            root_,
            Cat("sys/dev/block/", major(st.st_rdev), ":", minor(st.st_rdev)));
        if (dev.ok()) {
          std::string name = Basename(*dev);
          if (IsSafeDeviceName(name) && DeviceDir(name)) return name;
        }
      }
      // /dev/sda2, or a symlink such as /dev/mapper/x -> ../dm-0.
      std::string name = Basename(*rel);
      if (IsSafeDeviceName(name) && DeviceDir(name)) return name;
    }
    // /dev/mapper/NAME without a symlink: match dm/name.
    if (StartsWith(source, "/dev/mapper/")) {
      std::string_view wanted =
          source.substr(std::string_view("/dev/mapper/").size());
      for (const std::string& entry : ListRootedDir(root_, "sys/block")) {
        if (!StartsWith(entry, "dm-")) continue;
        absl::StatusOr<std::string> dm_name =
            ReadRootedFile(root_, Cat("sys/block/", entry, "/dm/name"),
                           kMaxSysfsAttributeBytes);
        if (dm_name.ok() && Trim(*dm_name) == wanted &&
            IsSafeDeviceName(entry)) {
          return entry;
        }
      }
    }
    return "";
  }

  // Kernel name of the device numbered "MAJ:MIN"; empty when sysfs does not
  // have it (e.g. btrfs's anonymous 0:N devices).
  std::string NameForNumber(std::string_view major_minor) {
    if (major_minor.empty() ||
        major_minor.find('/') != std::string_view::npos ||
        StartsWith(major_minor, "0:")) {
      return "";
    }
    absl::StatusOr<std::string> dev =
        ResolveInRoot(root_, Cat("sys/dev/block/", major_minor));
    if (!dev.ok()) return "";
    std::string name = Basename(*dev);
    return IsSafeDeviceName(name) && DeviceDir(name) ? name : "";
  }

  // The device named `name`, or nullptr when sysfs does not have it.
  const DeviceInfo* Device(const std::string& name) {
    auto it = cache_.find(name);
    if (it != cache_.end()) return it->second.get();
    std::unique_ptr<DeviceInfo> info = Load(name);
    const DeviceInfo* result = info.get();
    cache_.emplace(name, std::move(info));
    return result;
  }

 private:
  // The resolved sysfs directory of `name` relative to root, if it exists.
  std::optional<std::string> DeviceDir(const std::string& name) const {
    for (std::string_view base : {"sys/class/block/", "sys/block/"}) {
      absl::StatusOr<std::string> rel = ResolveInRoot(root_, Cat(base, name));
      std::error_code ec;
      if (rel.ok() && fs::is_directory(root_ / *rel, ec)) return *rel;
    }
    return std::nullopt;
  }

  std::string Attribute(const std::string& dir, std::string_view attribute) {
    absl::StatusOr<std::string> value = ReadRootedFile(
        root_, Cat(dir, "/", attribute), kMaxSysfsAttributeBytes);
    if (!value.ok()) return "";
    return std::string(Trim(*value));
  }

  std::unique_ptr<DeviceInfo> Load(const std::string& name) {
    if (!IsSafeDeviceName(name)) return nullptr;
    std::optional<std::string> dir = DeviceDir(name);
    if (!dir) return nullptr;
    auto info = std::make_unique<DeviceInfo>();
    v1::BlockDevice& proto = info->proto;
    proto.set_name(name);
    std::string removable_dir = *dir;
    if (RootedExists(root_, Cat(*dir, "/partition"))) {
      proto.set_kind("partition");
      // A partition lives in its disk's directory: .../block/sda/sda2.
      std::string parent_dir = Dirname(*dir);
      std::string parent = Basename(parent_dir);
      if (IsSafeDeviceName(parent) && DeviceDir(parent)) {
        proto.add_lower(parent);
        removable_dir = parent_dir;
      }
    } else {
      if (RootedExists(root_, Cat(*dir, "/dm"))) {
        proto.set_kind("dm");
        proto.set_dm_name(Attribute(*dir, "dm/name"));
        info->dm = ParseDmUuid(Attribute(*dir, "dm/uuid"));
        proto.set_dm_subsystem(info->dm.subsystem);
      } else if (StartsWith(name, "md")) {
        proto.set_kind("md");
      } else if (StartsWith(name, "loop")) {
        proto.set_kind("loop");
      } else if (StartsWith(name, "zram")) {
        proto.set_kind("zram");
      } else {
        proto.set_kind("disk");
      }
      for (const std::string& lower :
           ListRootedDir(root_, Cat(*dir, "/slaves"))) {
        if (IsSafeDeviceName(lower)) proto.add_lower(lower);
      }
    }
    proto.set_removable(Attribute(removable_dir, "removable") == "1");
    return info;
  }

  fs::path root_;
  std::map<std::string, std::unique_ptr<DeviceInfo>> cache_;
};

// Walks the stack under one volume, filling `volume`'s stack and encryption
// layers; returns whether every path down from `name` is encrypted.
class StackWalker {
 public:
  StackWalker(SysfsBlockView* sysfs,
              const std::map<std::string, CrypttabEntry>* crypttab,
              v1::Volume* volume)
      : sysfs_(sysfs), crypttab_(crypttab), volume_(volume) {}

  bool Walk(const std::string& name, int depth) {
    auto memo = encrypted_.find(name);
    if (memo != encrypted_.end()) return memo->second;
    const DeviceInfo* info = sysfs_->Device(name);
    if (info == nullptr) return false;
    if (listed_.insert(name).second &&
        static_cast<size_t>(volume_->stack_size()) < kMaxStackDevices) {
      *volume_->add_stack() = info->proto;
      if (info->dm.is_encryption) AddLayer(*info);
    }
    if (depth >= kMaxStackDepth || !on_path_.insert(name).second) {
      return info->dm.is_encryption;  // too deep or a cycle
    }
    bool all_lower_encrypted = info->proto.lower_size() > 0;
    for (const std::string& lower : info->proto.lower()) {
      // Walk every lower device even when the answer is known: the stack
      // lists all of them.
      bool lower_encrypted = Walk(lower, depth + 1);
      all_lower_encrypted = all_lower_encrypted && lower_encrypted;
    }
    on_path_.erase(name);
    bool result = info->dm.is_encryption || all_lower_encrypted;
    encrypted_[name] = result;
    return result;
  }

 private:
  void AddLayer(const DeviceInfo& info) {
    v1::EncryptionLayer* layer = volume_->add_encryption();
    layer->set_device(info.proto.name());
    layer->set_dm_name(info.proto.dm_name());
    layer->set_type(info.dm.type);
    auto it = crypttab_->find(info.proto.dm_name());
    if (it != crypttab_->end()) {
      layer->set_in_crypttab(true);
      layer->set_cipher(it->second.cipher);
    }
  }

  SysfsBlockView* sysfs_;
  const std::map<std::string, CrypttabEntry>* crypttab_;
  v1::Volume* volume_;
  std::set<std::string> listed_;
  std::set<std::string> on_path_;
  std::map<std::string, bool> encrypted_;
};

// `major_minor` is the mount's device number from mountinfo, if known; it
// resolves sources such as "/dev/root" that name no device node.
v1::Volume DescribeDevice(SysfsBlockView* sysfs,
                          const std::map<std::string, CrypttabEntry>& crypttab,
                          std::string_view source,
                          std::string_view major_minor = "") {
  v1::Volume volume;
  volume.set_source(std::string(source));
  std::string name = sysfs->NameForSource(source);
  if (name.empty()) name = sysfs->NameForNumber(major_minor);
  if (name.empty()) return volume;
  volume.set_resolved(true);
  volume.set_device(name);
  StackWalker walker(sysfs, &crypttab, &volume);
  volume.set_encrypted(walker.Walk(name, 0));
  return volume;
}

// Whether `path` lies on the filesystem mounted at `mount_point`.
bool IsBelow(std::string_view path, std::string_view mount_point) {
  if (mount_point == "/") return StartsWith(path, "/");
  return path == mount_point ||
         (StartsWith(path, mount_point) && path.size() > mount_point.size() &&
          path[mount_point.size()] == '/');
}

absl::StatusOr<std::string> ReadOptional(const fs::path& root,
                                         std::string_view path) {
  absl::StatusOr<std::string> text =
      ReadRootedFile(root, path, kMaxMountTableBytes);
  if (absl::IsNotFound(text.status())) return std::string();
  return text;
}

// The device directly beneath dm-crypt device `device` in `volume`'s stack
// (where its header is), or "" when there is not exactly one.
std::string DeviceBeneath(const v1::Volume& volume, std::string_view device) {
  for (const v1::BlockDevice& block : volume.stack()) {
    if (block.name() == device) {
      return block.lower_size() == 1 ? block.lower(0) : "";
    }
  }
  return "";
}

// Fills in what the live mapping and the LUKS header say about `layer`,
// whose lower device is `beneath` (may be empty).
void DescribeLayer(const fs::path& root, const DeviceMapper& mapper,
                   const std::string& beneath, v1::EncryptionLayer* layer) {
  absl::StatusOr<std::vector<CryptTarget>> targets =
      mapper.CryptTargets(layer->dm_name());
  if (!targets.ok()) {
    layer->set_table_error(std::string(targets.status().message()));
  } else if (targets->empty()) {
    layer->set_table_error("the live table has no crypt target");
  } else {
    layer->set_table_cipher(targets->front().cipher);
    layer->set_table_key_bits(targets->front().key_bits);
  }

  const bool luks = layer->type() == v1::ENCRYPTION_TYPE_LUKS1 ||
                    layer->type() == v1::ENCRYPTION_TYPE_LUKS2;
  if (!luks || beneath.empty()) return;
  layer->set_header_device(beneath);
  const std::string path = Cat("dev/", beneath);
  absl::StatusOr<std::string> header =
      ReadRootedDevicePrefix(root, path, kLuks2BinaryHeaderBytes);
  absl::StatusOr<size_t> needed =
      header.ok() ? LuksHeaderBytes(*header) : header.status();
  if (header.ok() && needed.ok() && *needed > header->size()) {
    header = ReadRootedDevicePrefix(root, path, *needed);
  }
  if (!header.ok()) {
    layer->set_header_error(
        Cat("cannot read /", path, " (",
            absl::StatusCodeToString(header.status().code()), ")"));
    return;
  }
  absl::StatusOr<v1::LuksHeader> parsed = ParseLuksHeader(*header);
  if (!parsed.ok()) {
    // E.g. a detached header (crypttab header=): the device holds none.
    layer->set_header_error(
        Cat("/", path, ": ", std::string(parsed.status().message())));
    return;
  }
  *layer->mutable_luks() = std::move(*parsed);
}

}  // namespace

std::string UnescapeMountField(std::string_view field) {
  auto is_octal = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && field.size() - i > 3 && is_octal(field[i + 1]) &&
        is_octal(field[i + 2]) && is_octal(field[i + 3])) {
      int value = (field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                  (field[i + 3] - '0');
      if (value <= 0xff) {
        out.push_back(static_cast<char>(value));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

std::vector<MountEntry> ParseMounts(std::string_view text) {
  std::vector<MountEntry> mounts;
  for (std::string_view line : SplitLines(text)) {
    std::vector<std::string_view> fields = Fields(line);
    if (fields.size() < 3) continue;
    mounts.push_back({UnescapeMountField(fields[0]),
                      UnescapeMountField(fields[1]),
                      UnescapeMountField(fields[2])});
  }
  return mounts;
}

std::vector<MountInfoEntry> ParseMountInfo(std::string_view text) {
  std::vector<MountInfoEntry> entries;
  for (std::string_view line : SplitLines(text)) {
    std::vector<std::string_view> fields = Words(line);
    if (fields.size() < 5 || fields[2].find(':') == std::string_view::npos) {
      continue;
    }
    entries.push_back({UnescapeMountField(fields[4]), std::string(fields[2])});
  }
  return entries;
}

std::vector<SwapEntry> ParseSwaps(std::string_view text) {
  std::vector<SwapEntry> swaps;
  for (std::string_view line : SplitLines(text)) {
    std::vector<std::string_view> fields = Fields(line);
    if (fields.size() < 2 || fields[0] == "Filename") continue;
    swaps.push_back({UnescapeMountField(fields[0]), std::string(fields[1])});
  }
  return swaps;
}

std::vector<CrypttabEntry> ParseCrypttab(std::string_view text) {
  std::vector<CrypttabEntry> entries;
  for (std::string_view line : SplitLines(text)) {
    std::string_view trimmed = Trim(line);
    if (trimmed.empty() || trimmed[0] == '#') continue;
    std::vector<std::string_view> fields = Fields(trimmed);
    if (fields.size() < 2) continue;
    CrypttabEntry entry;
    entry.name = std::string(fields[0]);
    entry.device = std::string(fields[1]);
    if (fields.size() >= 4) {
      for (std::string_view option : Split(fields[3], ',')) {
        if (StartsWith(option, "cipher=")) {
          entry.cipher = std::string(option.substr(7));
        }
      }
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

DmUuidInfo ParseDmUuid(std::string_view uuid) {
  DmUuidInfo info;
  uuid = Trim(uuid);
  if (uuid.empty()) return info;
  if (StartsWith(uuid, "CRYPT-")) {
    std::string_view rest = uuid.substr(6);
    std::string_view type = rest.substr(0, rest.find('-'));
    info.subsystem = Cat("CRYPT-", type.substr(0, kMaxSubsystemChars));
    if (type == "VERITY" || type == "INTEGRITY" || type == "SUBDEV") {
      return info;  // cryptsetup-managed, but not encryption
    }
    info.is_encryption = true;
    if (type == "LUKS1") {
      info.type = v1::ENCRYPTION_TYPE_LUKS1;
    } else if (type == "LUKS2") {
      info.type = v1::ENCRYPTION_TYPE_LUKS2;
    } else if (type == "PLAIN") {
      info.type = v1::ENCRYPTION_TYPE_PLAIN;
    } else if (type == "BITLK") {
      info.type = v1::ENCRYPTION_TYPE_BITLK;
    } else if (type == "TCRYPT") {
      info.type = v1::ENCRYPTION_TYPE_TCRYPT;
    } else {
      info.type = v1::ENCRYPTION_TYPE_OTHER;
    }
    return info;
  }
  info.subsystem =
      std::string(uuid.substr(0, std::min(uuid.find('-'), kMaxSubsystemChars)));
  return info;
}

bool IsFixedMount(const MountEntry& mount) {
  static const auto* const kNotFixedTypes = new std::set<std::string_view>{
      "squashfs", "iso9660", "erofs",   "udf",     "tmpfs",      "devtmpfs",
      "ramfs",    "proc",    "sysfs",   "overlay", "cgroup",     "cgroup2",
      "devpts",   "mqueue",  "debugfs", "tracefs", "securityfs", "autofs"};
  if (mount.fs_type == "zfs") return true;
  return StartsWith(mount.source, "/dev/") &&
         kNotFixedTypes->count(mount.fs_type) == 0;
}

absl::StatusOr<v1::Facts> DiskEncryptionProbe::Collect(
    const fs::path& root) const {
  absl::StatusOr<std::string> mounts_text =
      ReadRootedFile(root, "proc/self/mounts", kMaxMountTableBytes);
  if (!mounts_text.ok()) return mounts_text.status();
  absl::StatusOr<std::string> swaps_text = ReadOptional(root, "proc/swaps");
  if (!swaps_text.ok()) return swaps_text.status();

  v1::Facts facts;
  v1::DiskEncryptionFacts* out = facts.mutable_disk_encryption();

  std::map<std::string, CrypttabEntry> crypttab;
  absl::StatusOr<std::string> crypttab_text =
      ReadRootedFile(root, "etc/crypttab", kMaxConfigFileBytes);
  if (crypttab_text.ok()) {
    out->set_crypttab_present(true);
    for (CrypttabEntry& entry : ParseCrypttab(*crypttab_text)) {
      crypttab.emplace(entry.name, std::move(entry));  // first entry wins
    }
  }

  // The visible mount at each mount point is the last one mounted there.
  std::map<std::string, MountEntry> visible;
  for (MountEntry& mount : ParseMounts(*mounts_text)) {
    visible[mount.mount_point] = std::move(mount);
  }
  auto root_mount = visible.find("/");
  if (root_mount != visible.end()) {
    out->set_root_fs_type(root_mount->second.fs_type);
    out->set_root_on_block_device(
        StartsWith(root_mount->second.source, "/dev/") &&
        IsFixedMount(root_mount->second));
  }

  // Device numbers by mount point, for sources sysfs cannot name.
  std::map<std::string, std::string> numbers;
  absl::StatusOr<std::string> mountinfo_text =
      ReadRootedFile(root, "proc/self/mountinfo", kMaxMountTableBytes);
  if (mountinfo_text.ok()) {
    for (MountInfoEntry& entry : ParseMountInfo(*mountinfo_text)) {
      numbers[entry.mount_point] = std::move(entry.major_minor);
    }
  }

  SysfsBlockView sysfs(root);
  std::map<std::string, v1::Volume> by_mount_point;
  for (const auto& [mount_point, mount] : visible) {
    if (!IsFixedMount(mount)) continue;
    auto number = numbers.find(mount_point);
    v1::Volume volume = DescribeDevice(
        &sysfs, crypttab, mount.source,
        number == numbers.end() ? std::string_view() : number->second);
    volume.set_kind(v1::VOLUME_KIND_MOUNT);
    volume.set_mount_point(mount_point);
    volume.set_fs_type(mount.fs_type);
    by_mount_point.emplace(mount_point, std::move(volume));
  }

  std::map<std::string, v1::Volume> swaps;
  for (const SwapEntry& swap : ParseSwaps(*swaps_text)) {
    v1::Volume volume;
    if (swap.type == "file") {
      // A swap file is as protected as the filesystem holding it.
      const v1::Volume* holder = nullptr;
      for (const auto& [mount_point, candidate] : by_mount_point) {
        if (IsBelow(swap.source, mount_point) &&
            (holder == nullptr ||
             mount_point.size() > holder->mount_point().size())) {
          holder = &candidate;
        }
      }
      if (holder != nullptr) {
        volume = *holder;
        volume.clear_mount_point();
      }
      volume.set_source(swap.source);
    } else {
      volume = DescribeDevice(&sysfs, crypttab, swap.source);
      // Swap on zram is compressed RAM: nothing reaches a disk.
      if (volume.stack_size() > 0 && volume.stack(0).kind() == "zram") continue;
    }
    volume.set_kind(v1::VOLUME_KIND_SWAP);
    volume.set_fs_type(swap.type);
    swaps[swap.source] = std::move(volume);
  }

  // Each dm-crypt layer is looked at once, however many volumes share it.
  std::map<std::string, v1::EncryptionLayer> layers;
  for (auto* group : {&by_mount_point, &swaps}) {
    for (auto& [key, volume] : *group) {
      for (v1::EncryptionLayer& layer : *volume.mutable_encryption()) {
        auto [it, fresh] = layers.emplace(layer.device(), layer);
        if (fresh) {
          DescribeLayer(root, *mapper_, DeviceBeneath(volume, layer.device()),
                        &it->second);
        }
        layer = it->second;
      }
    }
  }

  for (auto& [device, layer] : layers) *out->add_layers() = std::move(layer);

  std::set<std::string> unencrypted;
  for (auto* group : {&by_mount_point, &swaps}) {
    for (auto& [key, volume] : *group) {
      if (!volume.encrypted()) {
        unencrypted.insert(volume.resolved() ? volume.device()
                                             : volume.source());
      }
      *out->add_volumes() = std::move(volume);
    }
  }
  for (const std::string& name : unencrypted)
    out->add_unencrypted_devices(name);
  out->set_all_volumes_encrypted(out->volumes_size() > 0 &&
                                 unencrypted.empty());
  MakeStringsValidUtf8(&facts);
  return facts;
}

}  // namespace evidentia::agent
