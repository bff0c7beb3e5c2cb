#include "agent/linux/probes/device_mapper.h"

#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <string.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "agent/linux/sys/text.h"
#include "common/files.h"

namespace evidentia::agent {
namespace {

constexpr size_t kInitialTableBytes = 16 << 10;
constexpr size_t kMaxTableBytes = 1 << 20;
constexpr size_t kMaxTargets = 256;

bool IsHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return IsAsciiDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

class KernelMapper : public DeviceMapper {
 public:
  absl::StatusOr<std::vector<CryptTarget>> CryptTargets(
      std::string_view dm_name) const override {
    if (dm_name.empty() || dm_name.size() >= DM_NAME_LEN) {
      return absl::InvalidArgumentError(Cat("bad dm name \"", dm_name, "\""));
    }
    int raw = OpenRetrying("/dev/mapper/control", O_RDWR | O_CLOEXEC);
    if (raw < 0) {
      return ErrnoStatus(errno, "opening /dev/mapper/control",
                         absl::StatusCode::kInternal);
    }
    ScopedFd control(raw);
    for (size_t bytes = kInitialTableBytes; bytes <= kMaxTableBytes;
         bytes *= 4) {
      // The buffer may receive key material: wiped on every way out.
      std::vector<char> buffer(bytes, 0);
      struct Wipe {
        std::vector<char>* b;
        ~Wipe() { explicit_bzero(b->data(), b->size()); }
      } wipe{&buffer};
      PrepareTableRequest(dm_name, buffer.data(), buffer.size());
      auto* io = reinterpret_cast<struct dm_ioctl*>(buffer.data());
      if (ioctl(control.get(), DM_TABLE_STATUS, io) != 0) {
        const int err = errno;
        if (err == ENXIO) {
          return absl::NotFoundError(Cat("no device-mapper device ", dm_name));
        }
        return ErrnoStatus(err, Cat("DM_TABLE_STATUS ", dm_name),
                           absl::StatusCode::kInternal);
      }
      if (io->flags & DM_BUFFER_FULL_FLAG) continue;
      return ParseTableReply(std::string_view(buffer.data(), buffer.size()));
    }
    return absl::ResourceExhaustedError(Cat("device-mapper table of ", dm_name,
                                            " is over ", kMaxTableBytes,
                                            " bytes"));
  }
};

}  // namespace

void PrepareTableRequest(std::string_view dm_name, char* buffer, size_t bytes) {
  struct dm_ioctl io;
  std::memset(&io, 0, sizeof(io));
  io.version[0] = DM_VERSION_MAJOR;
  io.data_size = static_cast<uint32_t>(bytes);
  io.data_start = sizeof(struct dm_ioctl);
  // The table (keys included), not the status; and the kernel wipes the
  // copy it makes of this buffer, as cryptsetup asks for the same query.
  io.flags = DM_STATUS_TABLE_FLAG | DM_SECURE_DATA_FLAG;
  std::memcpy(io.name, dm_name.data(),
              std::min(dm_name.size(), sizeof(io.name) - 1));
  std::memcpy(buffer, &io, sizeof(io));
}

absl::StatusOr<std::vector<CryptTarget>> ParseTableReply(
    std::string_view reply) {
  struct dm_ioctl io;
  if (reply.size() < sizeof(io)) {
    return absl::DataLossError("device-mapper reply truncated");
  }
  std::memcpy(&io, reply.data(), sizeof(io));
  std::vector<CryptTarget> targets;
  const size_t end = std::min<size_t>(io.data_size, reply.size());
  size_t spec_at = io.data_start;
  for (uint32_t i = 0; i < io.target_count && i < kMaxTargets; ++i) {
    if (spec_at > end || end - spec_at < sizeof(struct dm_target_spec)) {
      return absl::DataLossError("device-mapper table truncated");
    }
    struct dm_target_spec spec;
    std::memcpy(&spec, reply.data() + spec_at, sizeof(spec));
    const char* params = reply.data() + spec_at + sizeof(spec);
    const size_t room = end - spec_at - sizeof(spec);
    const size_t length = strnlen(params, room);
    std::string_view type(spec.target_type,
                          strnlen(spec.target_type, sizeof(spec.target_type)));
    if (type == "crypt") {
      absl::StatusOr<CryptTarget> target =
          ParseCryptParams(std::string_view(params, length));
      if (!target.ok()) return target.status();
      targets.push_back(std::move(*target));
    }
    // `next` is the offset of the following record from data_start.
    const size_t next = io.data_start + static_cast<size_t>(spec.next);
    if (next <= spec_at) break;
    spec_at = next;
  }
  return targets;
}

absl::StatusOr<CryptTarget> ParseCryptParams(std::string_view params) {
  std::vector<std::string_view> words = Words(params);
  if (words.size() < 5) {
    return absl::InvalidArgumentError(
        "a crypt table line needs cipher, key, iv offset, device and offset");
  }
  CryptTarget target;
  target.cipher = std::string(words[0].substr(0, 128));
  const std::string_view key = words[1];
  if (!key.empty() && key[0] == ':') {
    // ":<key_bytes>:<key_type>:<key_description>"
    std::vector<std::string_view> parts = Split(key.substr(1), ':');
    std::optional<uint32_t> key_bytes =
        parts.size() >= 3 ? ParseDecimal<uint32_t>(parts[0]) : std::nullopt;
    if (!key_bytes || *key_bytes > (1u << 16)) {
      return absl::InvalidArgumentError("malformed keyring key reference");
    }
    target.key_bits = *key_bytes * 8;
  } else if (key == "-") {
    target.key_bits = 0;  // an empty key (cipher_null)
  } else if (IsHex(key) && key.size() % 2 == 0 && key.size() <= (1u << 17)) {
    target.key_bits = static_cast<uint32_t>(key.size() * 4);
  } else {
    return absl::InvalidArgumentError("malformed crypt key field");
  }
  target.device = std::string(words[3].substr(0, 64));
  return target;
}

absl::StatusOr<std::vector<CryptTarget>> FakeDeviceMapper::CryptTargets(
    std::string_view dm_name) const {
  auto it = crypt_params_.find(std::string(dm_name));
  if (it == crypt_params_.end()) {
    return absl::NotFoundError(Cat("no device-mapper device ", dm_name));
  }
  std::vector<CryptTarget> targets;
  for (const std::string& params : it->second) {
    absl::StatusOr<CryptTarget> target = ParseCryptParams(params);
    if (!target.ok()) return target.status();
    targets.push_back(std::move(*target));
  }
  return targets;
}

std::shared_ptr<const DeviceMapper> KernelDeviceMapper() {
  static const auto* const kMapper =
      new std::shared_ptr<const DeviceMapper>(std::make_shared<KernelMapper>());
  return *kMapper;
}

}  // namespace evidentia::agent
