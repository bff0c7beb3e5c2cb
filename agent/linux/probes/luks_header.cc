#include "agent/linux/probes/luks_header.h"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "agent/linux/sys/text.h"
#include "nlohmann/json.hpp"

namespace evidentia::agent {
namespace {

// The binary layouts, from cryptsetup's "LUKS1 On-Disk Format" and "LUKS2
// On-Disk Format" specifications. Integers are big-endian.
constexpr std::string_view kMagic("LUKS\xba\xbe", 6);
constexpr size_t kVersionOffset = 6;
// LUKS1.
constexpr size_t kLuks1CipherNameOffset = 8;
constexpr size_t kLuks1CipherModeOffset = 40;
constexpr size_t kLuks1HashSpecOffset = 72;
constexpr size_t kLuks1StringBytes = 32;
constexpr size_t kLuks1KeyBytesOffset = 108;
constexpr size_t kLuks1KeyslotsOffset = 208;
constexpr size_t kLuks1KeyslotBytes = 48;
constexpr size_t kLuks1Keyslots = 8;
constexpr size_t kLuks1HeaderBytes =
    kLuks1KeyslotsOffset + kLuks1Keyslots * kLuks1KeyslotBytes;  // 592
constexpr uint32_t kLuks1KeyEnabled = 0x00AC71F3;
// LUKS2.
constexpr size_t kLuks2HeaderSizeOffset = 8;
constexpr size_t kMinLuks2HeaderBytes = 16 << 10;
// Bounds on what the JSON may make us keep.
constexpr size_t kMaxCipherChars = 64;
constexpr size_t kMaxKeyslots = 32;

uint64_t BigEndian(std::string_view bytes, size_t offset, size_t width) {
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[offset + i]);
  }
  return value;
}

// A NUL-padded string field, cut at its first NUL and kept printable.
std::string FixedString(std::string_view bytes, size_t offset, size_t width) {
  std::string_view field = bytes.substr(offset, width);
  field = field.substr(0, field.find('\0'));
  std::string out;
  for (char c : field) {
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  return out;
}

uint32_t Clamp32(uint64_t value) {
  return static_cast<uint32_t>(
      std::min<uint64_t>(value, std::numeric_limits<uint32_t>::max()));
}

absl::StatusOr<v1::LuksHeader> ParseLuks1(std::string_view bytes) {
  if (bytes.size() < kLuks1HeaderBytes) {
    return absl::InvalidArgumentError("LUKS1 header truncated");
  }
  v1::LuksHeader header;
  header.set_version(1);
  const std::string name =
      FixedString(bytes, kLuks1CipherNameOffset, kLuks1StringBytes);
  const std::string mode =
      FixedString(bytes, kLuks1CipherModeOffset, kLuks1StringBytes);
  header.set_cipher(mode.empty() ? name : Cat(name, "-", mode));
  header.set_key_bits(
      Clamp32(BigEndian(bytes, kLuks1KeyBytesOffset, 4) * uint64_t{8}));
  const std::string hash =
      FixedString(bytes, kLuks1HashSpecOffset, kLuks1StringBytes);
  for (size_t i = 0; i < kLuks1Keyslots; ++i) {
    const size_t slot = kLuks1KeyslotsOffset + i * kLuks1KeyslotBytes;
    if (BigEndian(bytes, slot, 4) != kLuks1KeyEnabled) continue;
    v1::LuksKeyslot* keyslot = header.add_keyslots();
    keyslot->set_index(static_cast<uint32_t>(i));
    keyslot->set_kdf(v1::KDF_TYPE_PBKDF2);  // the only KDF of LUKS1
    keyslot->set_pbkdf2_hash(hash);
    keyslot->set_iterations(Clamp32(BigEndian(bytes, slot + 4, 4)));
  }
  return header;
}

using Json = nlohmann::json;

// An unsigned number that LUKS2 writes as a JSON number (or, for 64-bit
// values, a decimal string); 0 when absent or malformed.
uint64_t JsonUnsigned(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return 0;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_number_integer()) {
    int64_t v = it->get<int64_t>();
    return v < 0 ? 0 : static_cast<uint64_t>(v);
  }
  if (it->is_string()) {
    return ParseDecimal<uint64_t>(it->get_ref<const std::string&>())
        .value_or(0);
  }
  return 0;
}

std::string JsonText(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return "";
  std::string out;
  for (char c : it->get_ref<const std::string&>()) {
    if (out.size() == kMaxCipherChars) break;
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  return out;
}

// The members of a LUKS2 object keyed by decimal index ("0", "1", ...), in
// numeric order; other keys are ignored.
std::map<uint32_t, const Json*> Indexed(const Json& metadata, const char* key) {
  std::map<uint32_t, const Json*> out;
  auto it = metadata.find(key);
  if (it == metadata.end() || !it->is_object()) return out;
  for (auto member = it->begin(); member != it->end(); ++member) {
    std::optional<uint32_t> index = ParseDecimal<uint32_t>(member.key());
    if (index && member->is_object()) out.emplace(*index, &*member);
  }
  return out;
}

v1::KdfType KdfTypeOf(const std::string& name) {
  if (name == "pbkdf2") return v1::KDF_TYPE_PBKDF2;
  if (name == "argon2i") return v1::KDF_TYPE_ARGON2I;
  if (name == "argon2id") return v1::KDF_TYPE_ARGON2ID;
  return v1::KDF_TYPE_UNSPECIFIED;
}

absl::StatusOr<v1::LuksHeader> ParseLuks2(std::string_view bytes) {
  absl::StatusOr<size_t> size = LuksHeaderBytes(bytes);
  if (!size.ok()) return size.status();
  if (bytes.size() < *size) {
    return absl::InvalidArgumentError("LUKS2 header truncated");
  }
  std::string_view area =
      bytes.substr(kLuks2BinaryHeaderBytes, *size - kLuks2BinaryHeaderBytes);
  area = area.substr(0, area.find('\0'));
  const Json metadata = Json::parse(area.begin(), area.end(), nullptr,
                                    /*allow_exceptions=*/false);
  if (metadata.is_discarded() || !metadata.is_object()) {
    return absl::InvalidArgumentError("LUKS2 metadata is not a JSON object");
  }

  v1::LuksHeader header;
  header.set_version(2);
  for (const auto& [index, segment] : Indexed(metadata, "segments")) {
    if (JsonText(*segment, "type") != "crypt") continue;
    header.set_cipher(JsonText(*segment, "encryption"));
    break;
  }
  for (const auto& [index, slot] : Indexed(metadata, "keyslots")) {
    if (static_cast<size_t>(header.keyslots_size()) == kMaxKeyslots) break;
    if (JsonText(*slot, "type") != "luks2") continue;
    if (header.key_bits() == 0) {
      header.set_key_bits(Clamp32(JsonUnsigned(*slot, "key_size") * 8));
    }
    v1::LuksKeyslot* keyslot = header.add_keyslots();
    keyslot->set_index(index);
    auto kdf = slot->find("kdf");
    if (kdf == slot->end() || !kdf->is_object()) continue;
    keyslot->set_kdf(KdfTypeOf(JsonText(*kdf, "type")));
    if (keyslot->kdf() == v1::KDF_TYPE_PBKDF2) {
      keyslot->set_pbkdf2_hash(JsonText(*kdf, "hash"));
      keyslot->set_iterations(Clamp32(JsonUnsigned(*kdf, "iterations")));
    } else {
      keyslot->set_iterations(Clamp32(JsonUnsigned(*kdf, "time")));
      keyslot->set_memory_kib(Clamp32(JsonUnsigned(*kdf, "memory")));
    }
  }
  return header;
}

}  // namespace

absl::StatusOr<size_t> LuksHeaderBytes(std::string_view first_block) {
  if (first_block.size() < kVersionOffset + 2 ||
      first_block.substr(0, kMagic.size()) != kMagic) {
    return absl::InvalidArgumentError("no LUKS magic");
  }
  const uint64_t version = BigEndian(first_block, kVersionOffset, 2);
  if (version == 1) return kLuks1HeaderBytes;
  if (version != 2) {
    return absl::InvalidArgumentError(Cat("unknown LUKS version ", version));
  }
  if (first_block.size() < kLuks2HeaderSizeOffset + 8) {
    return absl::InvalidArgumentError("LUKS2 header truncated");
  }
  const uint64_t size = BigEndian(first_block, kLuks2HeaderSizeOffset, 8);
  // 16 KiB to 4 MiB, a power of two.
  if (size < kMinLuks2HeaderBytes || size > kMaxLuks2HeaderBytes ||
      (size & (size - 1)) != 0) {
    return absl::InvalidArgumentError(
        Cat("LUKS2 header size ", size, " is not one the format allows"));
  }
  return static_cast<size_t>(size);
}

absl::StatusOr<v1::LuksHeader> ParseLuksHeader(std::string_view bytes) {
  absl::StatusOr<size_t> needed = LuksHeaderBytes(bytes);
  if (!needed.ok()) return needed.status();
  return BigEndian(bytes, kVersionOffset, 2) == 1 ? ParseLuks1(bytes)
                                                  : ParseLuks2(bytes);
}

}  // namespace evidentia::agent
