#include "common/checkpoint.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/sha256.h"
#include "common/status_macros.h"

namespace evidentia {
namespace {

constexpr char kCheckpointHeader[] = "evidentia checkpoint v1";
constexpr char kProofHeader[] = "evidentia inclusion proof v1";
constexpr char kRotationHeader[] = "evidentia key rotation v1";
constexpr char kTimeFormat[] = "%Y-%m-%dT%H:%M:%SZ";
// The audit path of a tree of at most 2^64 leaves.
constexpr size_t kMaxProofHashes = 64;

// Reads `text` one '\n'-terminated line at a time, counting lines for
// messages. `what` names the document ("checkpoint").
class LineReader {
 public:
  LineReader(std::string_view text, std::string_view what)
      : rest_(text), what_(what) {}

  bool AtEnd() const { return rest_.empty(); }
  int line_number() const { return line_; }

  // The next line without its '\n'. INVALID_ARGUMENT naming the line when
  // the text ends first (`expected` says what should be there) or the line
  // has no '\n'.
  absl::StatusOr<std::string_view> Next(std::string_view expected) {
    ++line_;
    if (rest_.empty()) {
      return Error(absl::StrCat("missing; expected ", std::string(expected)));
    }
    const size_t end = rest_.find('\n');
    if (end == std::string_view::npos) {
      return Error("does not end with a newline");
    }
    std::string_view line = rest_.substr(0, end);
    rest_.remove_prefix(end + 1);
    return line;
  }

  // INVALID_ARGUMENT naming the line after the last one read.
  absl::Status ErrorAtNextLine(std::string_view problem) {
    ++line_;
    return Error(problem);
  }

  // INVALID_ARGUMENT naming the last line read.
  absl::Status Error(std::string_view problem) const {
    return absl::InvalidArgumentError(absl::StrCat(
        std::string(what_), " line ", line_, ": ", std::string(problem)));
  }

 private:
  std::string_view rest_;
  std::string_view what_;
  int line_ = 0;
};

bool IsLowerHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// `hex` as raw bytes when it is exactly `bytes` bytes of lowercase hex.
std::optional<std::string> DecodeLowerHex(std::string_view hex, size_t bytes) {
  if (hex.size() != 2 * bytes) return std::nullopt;
  std::string out(bytes, '\0');
  for (size_t i = 0; i < hex.size(); ++i) {
    const char c = hex[i];
    if (!IsLowerHex(c)) return std::nullopt;
    const int nibble = c <= '9' ? c - '0' : c - 'a' + 10;
    out[i / 2] = static_cast<char>((out[i / 2] << 4) | nibble);
  }
  return out;
}

// A canonical decimal: digits only, no sign, no leading zero, no overflow.
std::optional<uint64_t> ParseDecimal(std::string_view digits) {
  if (digits.empty() || (digits.size() > 1 && digits[0] == '0')) {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - d) / 10) {
      return std::nullopt;
    }
    value = value * 10 + d;
  }
  return value;
}

// The value of a line "<label> <value>", or the error naming the line.
absl::StatusOr<std::string_view> Field(LineReader& reader,
                                       std::string_view label,
                                       std::string_view form) {
  const std::string expected =
      absl::StrCat("\"", std::string(label), " ", std::string(form), "\"");
  ASSIGN_OR_RETURN(std::string_view line, reader.Next(expected));
  if (line.size() <= label.size() || line.substr(0, label.size()) != label ||
      line[label.size()] != ' ') {
    return reader.Error(absl::StrCat("expected ", expected));
  }
  return line.substr(label.size() + 1);
}

absl::StatusOr<uint64_t> DecimalField(LineReader& reader,
                                      std::string_view label) {
  ASSIGN_OR_RETURN(std::string_view value, Field(reader, label, "<decimal>"));
  std::optional<uint64_t> number = ParseDecimal(value);
  if (!number.has_value()) {
    return reader.Error(absl::StrCat(
        std::string(label),
        " is not a decimal number without leading zeros below 2^64"));
  }
  return *number;
}

absl::StatusOr<std::string> HashLine(LineReader& reader, std::string_view hex,
                                     std::string_view what) {
  std::optional<std::string> raw = DecodeLowerHex(hex, kSha256Size);
  if (!raw.has_value()) {
    return reader.Error(
        absl::StrCat(std::string(what), " is not 64 lowercase hex digits"));
  }
  return *std::move(raw);
}

// A line "<label> <64 lowercase hex>" (a key id), as text.
absl::StatusOr<std::string> KeyIdField(LineReader& reader,
                                       std::string_view label) {
  ASSIGN_OR_RETURN(std::string_view id, Field(reader, label, "<64 hex>"));
  if (!DecodeLowerHex(id, kSha256Size).has_value()) {
    return reader.Error(absl::StrCat(std::string(label),
                                     " key id is not 64 lowercase hex digits"));
  }
  return std::string(id);
}

absl::Status ExpectHeader(LineReader& reader, std::string_view header) {
  const std::string expected = absl::StrCat("\"", std::string(header), "\"");
  ASSIGN_OR_RETURN(std::string_view line, reader.Next(expected));
  if (line != header) return reader.Error(absl::StrCat("expected ", expected));
  return absl::OkStatus();
}

// "YYYY-MM-DDTHH:MM:SSZ", a real calendar time.
std::optional<absl::Time> ParseTime(std::string_view text) {
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:ddZ";
  if (text.size() != kShape.size()) return std::nullopt;
  for (size_t i = 0; i < kShape.size(); ++i) {
    if (kShape[i] == 'd' ? (text[i] < '0' || text[i] > '9')
                         : text[i] != kShape[i]) {
      return std::nullopt;
    }
  }
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(kTimeFormat, std::string(text), absl::UTCTimeZone(),
                       &time, &error)) {
    return std::nullopt;
  }
  // Refuses what ParseTime normalizes (February 30th).
  if (absl::FormatTime(kTimeFormat, time, absl::UTCTimeZone()) != text) {
    return std::nullopt;
  }
  return time;
}

absl::StatusOr<absl::Time> TimeField(LineReader& reader) {
  ASSIGN_OR_RETURN(std::string_view time,
                   Field(reader, "time", "<YYYY-MM-DDTHH:MM:SSZ>"));
  std::optional<absl::Time> parsed = ParseTime(time);
  if (!parsed.has_value()) {
    return reader.Error("time is not a UTC time YYYY-MM-DDTHH:MM:SSZ");
  }
  return *parsed;
}

}  // namespace

std::string FormatCheckpoint(const Checkpoint& checkpoint) {
  return absl::StrCat(
      kCheckpointHeader, "\n", "collector ", checkpoint.collector_key_id, "\n",
      "size ", checkpoint.size, "\n", "root ", ToHex(checkpoint.root), "\n",
      "time ",
      absl::FormatTime(kTimeFormat, checkpoint.time, absl::UTCTimeZone()),
      "\n");
}

absl::StatusOr<Checkpoint> ParseCheckpoint(std::string_view text) {
  LineReader reader(text, "checkpoint");
  Checkpoint checkpoint;
  RETURN_IF_ERROR(ExpectHeader(reader, kCheckpointHeader));

  ASSIGN_OR_RETURN(checkpoint.collector_key_id,
                   KeyIdField(reader, "collector"));

  ASSIGN_OR_RETURN(checkpoint.size, DecimalField(reader, "size"));

  ASSIGN_OR_RETURN(std::string_view root, Field(reader, "root", "<64 hex>"));
  ASSIGN_OR_RETURN(checkpoint.root, HashLine(reader, root, "root"));

  ASSIGN_OR_RETURN(checkpoint.time, TimeField(reader));

  if (!reader.AtEnd()) {
    return reader.ErrorAtNextLine(
        "unexpected; the checkpoint ends after its time");
  }
  return checkpoint;
}

std::string FormatInclusionProof(const InclusionProof& proof) {
  std::string text = absl::StrCat(kProofHeader, "\n", "index ", proof.index,
                                  "\n", "size ", proof.size, "\n");
  for (const std::string& hash : proof.hashes) {
    absl::StrAppend(&text, ToHex(hash), "\n");
  }
  return text;
}

absl::StatusOr<InclusionProof> ParseInclusionProof(std::string_view text) {
  LineReader reader(text, "inclusion proof");
  InclusionProof proof;
  RETURN_IF_ERROR(ExpectHeader(reader, kProofHeader));
  ASSIGN_OR_RETURN(proof.index, DecimalField(reader, "index"));
  ASSIGN_OR_RETURN(proof.size, DecimalField(reader, "size"));
  if (proof.index >= proof.size) {
    return reader.Error(absl::StrCat("leaf index ", proof.index,
                                     " is not below the tree size ",
                                     proof.size));
  }
  while (!reader.AtEnd()) {
    ASSIGN_OR_RETURN(std::string_view line, reader.Next("<64 hex>"));
    if (proof.hashes.size() == kMaxProofHashes) {
      return reader.Error(
          absl::StrCat("more than ", kMaxProofHashes, " hashes"));
    }
    ASSIGN_OR_RETURN(std::string hash, HashLine(reader, line, "hash"));
    proof.hashes.push_back(std::move(hash));
  }
  return proof;
}

std::string FormatKeyRotation(const KeyRotation& rotation) {
  return absl::StrCat(
      kRotationHeader, "\n", "agent ", rotation.agent_id, "\n", "old ",
      rotation.old_key_id, "\n", "new ", rotation.new_key_id, "\n", "seq ",
      rotation.seq, "\n", "head ", ToHex(rotation.head), "\n", "time ",
      absl::FormatTime(kTimeFormat, rotation.time, absl::UTCTimeZone()), "\n");
}

absl::StatusOr<KeyRotation> ParseKeyRotation(std::string_view text) {
  if (text.size() > kMaxKeyRotationBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("key rotation statement is ", text.size(),
                     " bytes; at most ", kMaxKeyRotationBytes));
  }
  LineReader reader(text, "key rotation statement");
  KeyRotation rotation;
  RETURN_IF_ERROR(ExpectHeader(reader, kRotationHeader));
  ASSIGN_OR_RETURN(std::string_view agent, Field(reader, "agent", "<32 hex>"));
  if (!DecodeLowerHex(agent, kSha256Size / 2).has_value()) {
    return reader.Error("agent id is not 32 lowercase hex digits");
  }
  rotation.agent_id = std::string(agent);
  ASSIGN_OR_RETURN(rotation.old_key_id, KeyIdField(reader, "old"));
  ASSIGN_OR_RETURN(rotation.new_key_id, KeyIdField(reader, "new"));
  if (rotation.new_key_id == rotation.old_key_id) {
    return reader.Error("the new key is the old key");
  }
  ASSIGN_OR_RETURN(rotation.seq, DecimalField(reader, "seq"));
  if (rotation.seq == 0) {
    return reader.Error("seq 0: a key is rotated after its first snapshot");
  }
  ASSIGN_OR_RETURN(std::string_view head, Field(reader, "head", "<64 hex>"));
  ASSIGN_OR_RETURN(rotation.head, HashLine(reader, head, "head"));
  ASSIGN_OR_RETURN(rotation.time, TimeField(reader));
  if (!reader.AtEnd()) {
    return reader.ErrorAtNextLine(
        "unexpected; the statement ends after its time");
  }
  return rotation;
}

}  // namespace evidentia
