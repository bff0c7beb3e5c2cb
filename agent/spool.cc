#include "agent/spool.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/files.h"
#include "common/log.h"
#include "common/sha256.h"
#include "common/status_macros.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSuffix = ".snapshot";
constexpr size_t kMagicSize = 8;

void PutBigEndian64(uint64_t value, std::string& out) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

uint64_t GetBigEndian64(std::string_view bytes) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return value;
}

// The seq a file name names, or 0 for files that are not records (e.g. what
// an interrupted atomic write leaves: "<seq>.snapshot.tmp.<hex>").
uint64_t SeqOfName(const std::string& name) {
  if (name.size() <= kSuffix.size() ||
      name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) !=
          0) {
    return 0;
  }
  uint64_t seq = 0;
  if (!absl::SimpleAtoi(name.substr(0, name.size() - kSuffix.size()), &seq)) {
    return 0;
  }
  return seq;
}

}  // namespace

std::string EncodeSpoolRecord(std::string_view body) {
  std::string out(kSpoolMagic, kMagicSize);
  PutBigEndian64(body.size(), out);
  out += Sha256(body);
  out.append(body.data(), body.size());
  return out;
}

absl::StatusOr<std::string> DecodeSpoolRecord(std::string_view file) {
  if (file.size() < kSpoolHeaderSize) {
    return absl::DataLossError(absl::StrCat("truncated header (", file.size(),
                                            " of ", kSpoolHeaderSize,
                                            " bytes)"));
  }
  if (file.substr(0, kMagicSize) != std::string_view(kSpoolMagic, kMagicSize)) {
    return absl::DataLossError("bad magic");
  }
  const uint64_t length = GetBigEndian64(file.substr(kMagicSize, 8));
  if (length == 0) return absl::DataLossError("zero-length record");
  if (length > kMaxSpoolBody) {
    return absl::DataLossError(absl::StrCat(
        "length ", length, " is over the limit of ", kMaxSpoolBody));
  }
  const std::string_view body = file.substr(kSpoolHeaderSize);
  if (body.size() != length) {
    return absl::DataLossError(absl::StrCat("length ", length, " but ",
                                            body.size(),
                                            " body bytes (truncated or "
                                            "trailing garbage)"));
  }
  if (Sha256(body) != file.substr(16, kSha256Size)) {
    return absl::DataLossError("bad checksum");
  }
  return std::string(body);
}

absl::StatusOr<std::unique_ptr<Spool>> Spool::Open(const fs::path& dir) {
  RETURN_IF_ERROR(EnsurePrivateDir(dir));
  auto spool = std::unique_ptr<Spool>(new Spool(dir));
  std::error_code ec;
  std::map<uint64_t, fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file()) continue;
    const uint64_t seq = SeqOfName(entry.path().filename().string());
    if (seq != 0) files.emplace(seq, entry.path());
  }
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot list ", dir.string(), ": ", ec.message()));
  }
  for (const auto& [seq, path] : files) {
    absl::StatusOr<std::string> bytes = ReadFile(path, kMaxSpoolBody + 4096);
    absl::Status problem = bytes.status();
    if (bytes.ok()) {
      absl::StatusOr<std::string> body = DecodeSpoolRecord(*bytes);
      v1::SubmitRequest request;
      if (!body.ok()) {
        problem = body.status();
      } else if (!request.ParseFromString(*body)) {
        problem = absl::DataLossError("body is not a SubmitRequest");
      }
    }
    if (problem.ok()) {
      spool->sizes_[seq] = bytes->size();
      spool->bytes_ += bytes->size();
      continue;
    }
    if (problem.code() != absl::StatusCode::kDataLoss &&
        problem.code() != absl::StatusCode::kOutOfRange) {
      return problem;  // e.g. unreadable: not damage, do not move it
    }
    SpoolDamage& damage = spool->damage_.emplace_back();
    damage.seq = seq;
    damage.tail = seq == files.rbegin()->first;
    damage.reason = std::string(problem.message());
    const fs::path aside = dir / "damaged";
    RETURN_IF_ERROR(EnsurePrivateDir(aside));
    fs::rename(path, aside / path.filename(), ec);
    if (ec) {
      return absl::UnavailableError(absl::StrCat(
          "cannot move damaged ", path.string(), " aside: ", ec.message()));
    }
    Log(LogLevel::kWarning,
        absl::StrCat("spool: ", damage.tail ? "torn tail record " : "record ",
                     seq, " in ", dir.string(), " is damaged (", damage.reason,
                     "); moved to ", aside.string()));
  }
  if (!spool->damage_.empty()) RETURN_IF_ERROR(SyncDir(dir));
  return spool;
}

fs::path Spool::File(uint64_t seq) const {
  return dir_ / absl::StrFormat("%020d%s", seq, kSuffix);
}

absl::Status Spool::Put(uint64_t seq, const v1::SubmitRequest& request) {
  const std::string record = EncodeSpoolRecord(request.SerializeAsString());
  RETURN_IF_ERROR(WriteFileAtomic(File(seq), record, 0600));
  bytes_ -= RecordBytes(seq);
  sizes_[seq] = record.size();
  bytes_ += record.size();
  return absl::OkStatus();
}

absl::StatusOr<v1::SubmitRequest> Spool::Get(uint64_t seq) const {
  if (!Has(seq)) {
    return absl::NotFoundError(absl::StrCat("snapshot ", seq, " not spooled"));
  }
  ASSIGN_OR_RETURN(std::string bytes,
                   ReadFile(File(seq), kMaxSpoolBody + 4096));
  absl::StatusOr<std::string> body = DecodeSpoolRecord(bytes);
  v1::SubmitRequest request;
  if (!body.ok() || !request.ParseFromString(*body)) {
    return absl::DataLossError(absl::StrCat(
        "spooled snapshot ", File(seq).string(), " is damaged: ",
        body.ok() ? "not a SubmitRequest" : body.status().message()));
  }
  return request;
}

absl::Status Spool::Remove(uint64_t seq) {
  if (!Has(seq)) return absl::OkStatus();
  std::error_code ec;
  fs::remove(File(seq), ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot remove ", File(seq).string(), ": ", ec.message()));
  }
  bytes_ -= RecordBytes(seq);
  sizes_.erase(seq);
  return SyncDir(dir_);
}

std::vector<uint64_t> Spool::Seqs() const {
  std::vector<uint64_t> seqs;
  seqs.reserve(sizes_.size());
  for (const auto& entry : sizes_) seqs.push_back(entry.first);
  return seqs;
}

uint64_t Spool::RecordBytes(uint64_t seq) const {
  auto it = sizes_.find(seq);
  return it == sizes_.end() ? 0 : it->second;
}

}  // namespace evidentia::agent
