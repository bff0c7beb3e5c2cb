// The live device-mapper table of a dm-crypt mapping: which cipher and key
// size the kernel is actually using, whatever /etc/crypttab says. Read
// through an interface so fixture trees can stand in for the kernel.
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_DEVICE_MAPPER_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_DEVICE_MAPPER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace evidentia::agent {

// One "crypt" target of a device-mapper table, without its key.
struct CryptTarget {
  std::string cipher;     // e.g. "aes-xts-plain64" or "capi:xts(aes)-plain64"
  uint32_t key_bits = 0;  // length of the key, in bits
  std::string device;     // the device beneath, as the table names it ("8:2")
};

// Parses the parameters of one dm-crypt table line, after "START LENGTH
// crypt": "<cipher> <key> <iv_offset> <device> <offset> [<#opt> <opts>...]".
// The key is a hex string (its length gives the size) or a kernel keyring
// reference ":<bytes>:<type>:<description>"; its value is never copied.
// INVALID_ARGUMENT when the line does not have that shape.
absl::StatusOr<CryptTarget> ParseCryptParams(std::string_view params);

// The DM_TABLE_STATUS request for `dm_name` (shorter than DM_NAME_LEN) in
// `buffer`, zero-filled, of at least sizeof(struct dm_ioctl) bytes: the
// table rather than the status, and DM_SECURE_DATA_FLAG so that the kernel
// wipes its own copy of the reply, which holds the key. Exposed for tests.
void PrepareTableRequest(std::string_view dm_name, char* buffer, size_t bytes);

// The crypt targets of a DM_TABLE_STATUS reply (the whole buffer: struct
// dm_ioctl, then target specs from its data_start, each `next` counted from
// data_start), in table order. Exposed for tests and fuzzing: a malformed
// reply is an error, never a read outside `reply`.
absl::StatusOr<std::vector<CryptTarget>> ParseTableReply(
    std::string_view reply);

class DeviceMapper {
 public:
  virtual ~DeviceMapper() = default;

  // The crypt targets of the live table of the device-mapper device named
  // `dm_name` (e.g. "cryptroot"), in table order; other target types are
  // left out. NOT_FOUND for no such device; other errors as the kernel
  // reports them (PERMISSION_DENIED without CAP_SYS_ADMIN).
  virtual absl::StatusOr<std::vector<CryptTarget>> CryptTargets(
      std::string_view dm_name) const = 0;
};

// The kernel's: DM_TABLE_STATUS on /dev/mapper/control. The table text the
// kernel returns may hold the key in hex; it is parsed in place and wiped.
std::shared_ptr<const DeviceMapper> KernelDeviceMapper();

// For fixtures: fixed tables by dm name (the parameters after "crypt", one
// entry per target); a name not in the map is NOT_FOUND.
class FakeDeviceMapper : public DeviceMapper {
 public:
  explicit FakeDeviceMapper(
      std::map<std::string, std::vector<std::string>> crypt_params)
      : crypt_params_(std::move(crypt_params)) {}

  absl::StatusOr<std::vector<CryptTarget>> CryptTargets(
      std::string_view dm_name) const override;

 private:
  std::map<std::string, std::vector<std::string>> crypt_params_;
};

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_DEVICE_MAPPER_H_
