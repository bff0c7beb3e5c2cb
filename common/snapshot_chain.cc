#include "common/snapshot_chain.h"

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/sha256.h"

namespace evidentia {
namespace {

// The prev digest a snapshot following `head` must carry.
std::string ExpectedPrev(const ChainHead& head) {
  if (head.seq == 0) return std::string(kSha256Size, '\0');
  return head.payload_sha256;
}

}  // namespace

void LinkAfter(const ChainHead& head, v1::Snapshot& snapshot) {
  snapshot.set_seq(head.seq + 1);
  snapshot.set_prev_payload_sha256(ExpectedPrev(head));
}

ChainHead HeadAfter(uint64_t seq, std::string_view payload) {
  ChainHead head;
  head.seq = seq;
  head.payload_sha256 = Sha256(payload);
  return head;
}

ChainHead HeadAfterSnapshot(const v1::Snapshot& snapshot,
                            std::string_view payload) {
  if (!snapshot.has_gap()) return HeadAfter(snapshot.seq(), payload);
  return ChainHead{snapshot.seq(), snapshot.gap().last_payload_sha256()};
}

absl::Status CheckGapShape(const v1::Snapshot& snapshot) {
  if (!snapshot.has_gap()) return absl::OkStatus();
  const v1::Gap& gap = snapshot.gap();
  const std::string what = absl::StrCat("gap snapshot ", snapshot.seq());
  if (gap.first_seq() == 0 || gap.first_seq() > gap.last_seq() ||
      gap.last_seq() != snapshot.seq()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": gap ", gap.first_seq(), "..", gap.last_seq(),
        " must be a range from 1 ending at the snapshot's own seq"));
  }
  if (gap.last_payload_sha256().size() != kSha256Size) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": last_payload_sha256 is not 32 bytes"));
  }
  if (snapshot.observations_size() > 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": a gap snapshot carries no observations"));
  }
  return absl::OkStatus();
}

absl::Status CheckNext(const ChainHead& head, const v1::Snapshot& snapshot) {
  const uint64_t seq = snapshot.seq();
  if (seq == 0) {
    return absl::InvalidArgumentError("snapshot seq is 0; chains start at 1");
  }
  if (absl::Status shape = CheckGapShape(snapshot); !shape.ok()) return shape;
  if (snapshot.prev_payload_sha256().size() != kSha256Size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "snapshot ", seq, ": prev_payload_sha256 is ",
        snapshot.prev_payload_sha256().size(), " bytes, want ", kSha256Size));
  }
  if (seq <= head.seq) {
    return absl::AlreadyExistsError(absl::StrCat(
        "snapshot ", seq, ": seq already used (chain head is ", head.seq, ")"));
  }
  // head.seq < seq here, so head.seq + 1 cannot overflow.
  if (snapshot.has_gap() && snapshot.gap().first_seq() <= head.seq) {
    return absl::FailedPreconditionError(absl::StrCat(
        "gap snapshot ", seq, ": declares ", snapshot.gap().first_seq(), "..",
        seq, " lost but snapshots up to ", head.seq, " are held"));
  }
  const uint64_t first = snapshot.has_gap() ? snapshot.gap().first_seq() : seq;
  if (first != head.seq + 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "snapshot ", seq, ": out of order, expected seq ", head.seq + 1));
  }
  if (snapshot.prev_payload_sha256() != ExpectedPrev(head)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "snapshot ", seq, ": prev_payload_sha256 ",
        ToHex(snapshot.prev_payload_sha256()), " does not name snapshot ",
        head.seq, " (", ToHex(ExpectedPrev(head)), ")"));
  }
  return absl::OkStatus();
}

}  // namespace evidentia
