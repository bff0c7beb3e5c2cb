// Key encodings of the collector's tables (see collector/store/store.h). Agent
// ids are lowercase hex, so a NUL separator keeps prefixes unambiguous;
// integers are big-endian so keys sort numerically.
#ifndef EVIDENTIA_COLLECTOR_STORE_KEYS_H_
#define EVIDENTIA_COLLECTOR_STORE_KEYS_H_

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace evidentia::collector::keys {

inline std::string BigEndian64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

inline uint64_t ReadBigEndian64(absl::string_view bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < bytes.size(); ++i) {
    v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return v;
}

// Table::kSnapshots and Table::kLatest: everything of one agent.
inline std::string AgentPrefix(absl::string_view agent_id) {
  return absl::StrCat(agent_id, absl::string_view("\0", 1));
}
inline std::string Snapshot(absl::string_view agent_id, uint64_t seq) {
  return absl::StrCat(AgentPrefix(agent_id), BigEndian64(seq));
}
inline std::string Latest(absl::string_view agent_id,
                          absl::string_view check_id) {
  return absl::StrCat(AgentPrefix(agent_id), check_id);
}
// Table::kHistory: one agent's observations of one check, by receive time.
inline std::string HistoryPrefix(absl::string_view agent_id,
                                 absl::string_view check_id) {
  return absl::StrCat(AgentPrefix(agent_id), check_id,
                      absl::string_view("\0", 1));
}
inline std::string History(absl::string_view agent_id,
                           absl::string_view check_id, int64_t unix_micros) {
  return absl::StrCat(HistoryPrefix(agent_id, check_id),
                      BigEndian64(static_cast<uint64_t>(unix_micros)));
}
// Table::kManual: one control's manual evidence, by time added.
inline std::string ManualPrefix(absl::string_view control_id) {
  return absl::StrCat(control_id, absl::string_view("\0", 1));
}
inline std::string Manual(absl::string_view control_id, int64_t unix_micros) {
  return absl::StrCat(ManualPrefix(control_id),
                      BigEndian64(static_cast<uint64_t>(unix_micros)));
}
// Table::kEvents: collector time in microseconds, then a tie-breaker.
inline std::string Event(int64_t unix_micros, uint64_t counter) {
  return absl::StrCat(BigEndian64(static_cast<uint64_t>(unix_micros)),
                      BigEndian64(counter));
}
// Table::kLogNodes: the complete subtree at `level` (0 = leaves) whose
// leftmost leaf is `index` << `level`.
inline std::string LogNode(int level, uint64_t index) {
  return absl::StrCat(std::string(1, static_cast<char>(level)),
                      BigEndian64(index));
}
// Table::kCheckpoints: by tree size.
inline std::string Checkpoint(uint64_t size) { return BigEndian64(size); }
// Table::kLogQueue and Table::kLogIndex are keyed like Table::kSnapshots.
// ISMS records are log leaves too, under this id in place of an agent's
// (agent ids are lower-case hex, so it is never one), with their number as
// seq.
inline constexpr absl::string_view kIsmsLogId = "isms";
// Table::kIsms: by record number.
inline std::string IsmsRecord(uint64_t number) { return BigEndian64(number); }

// Table::kMeta.
// An agent's AgentRevocation: "revoked", 0x00, agent id.
inline constexpr absl::string_view kRevocationPrefix =
    absl::string_view("revoked\0", 8);
inline std::string Revocation(absl::string_view agent_id) {
  return absl::StrCat(kRevocationPrefix, agent_id);
}
// The number of leaves in the transparency log, big-endian.
inline constexpr absl::string_view kLogSize = "log_size";

}  // namespace evidentia::collector::keys

#endif  // EVIDENTIA_COLLECTOR_STORE_KEYS_H_
