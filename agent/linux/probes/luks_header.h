// LUKS headers as cryptsetup writes them at the start of an encrypted
// device: the LUKS1 binary header (592 bytes: cipher, key size, eight key
// slots), and the LUKS2 binary header (4096 bytes) followed by its JSON
// metadata (segments, key slots with their KDF). Only what an auditor asks
// about is kept: version, cipher, key size, and how each active slot
// stretches its passphrase. Salts, digests and key material are never read
// into facts.
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_LUKS_HEADER_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_LUKS_HEADER_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "evidentia/v1/facts/disk_encryption.pb.h"

namespace evidentia::agent {

// The LUKS2 binary header; its JSON area follows up to the header size.
inline constexpr size_t kLuks2BinaryHeaderBytes = 4096;
// The largest LUKS2 header size (binary header and JSON area) the format
// allows; cryptsetup's default is 16 KiB.
inline constexpr size_t kMaxLuks2HeaderBytes = 4 << 20;

// How many bytes from the start of the device ParseLuksHeader needs, judged
// from its first kLuks2BinaryHeaderBytes (fewer is fine): 592 for LUKS1, the
// header size for LUKS2. INVALID_ARGUMENT without the LUKS magic or with a
// header size the format does not allow.
absl::StatusOr<size_t> LuksHeaderBytes(std::string_view first_block);

// Parses a LUKS1 or LUKS2 header from the first bytes of a device (at least
// LuksHeaderBytes of them). INVALID_ARGUMENT for a missing magic, an unknown
// version, a truncated header or malformed LUKS2 JSON.
absl::StatusOr<v1::LuksHeader> ParseLuksHeader(std::string_view bytes);

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_LUKS_HEADER_H_
