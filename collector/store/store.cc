#include "collector/store/store.h"

#include <array>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace evidentia::collector {

absl::string_view TableName(Table table) {
  // The order is Table's. RocksDB must have "default": it serves as kMeta.
  static constexpr std::array<absl::string_view, kTableCount> kNames = {
      "default",   "tokens",    "agents",      "snapshots", "objects",
      "latest",    "events",    "history",     "manual",    "log_queue",
      "log_nodes", "log_index", "checkpoints", "isms"};
  return kNames[static_cast<int>(table)];
}

absl::StatusOr<std::optional<std::pair<std::string, std::string>>>
Store::LastAtOrBefore(Table table, absl::string_view prefix,
                      absl::string_view bound) const {
  std::optional<std::pair<std::string, std::string>> last;
  RETURN_IF_ERROR(
      ScanBackward(table, prefix, bound,
                   [&](absl::string_view key, absl::string_view value) {
                     last.emplace(std::string(key), std::string(value));
                     return false;
                   }));
  return last;
}

absl::Status CheckPreconditions(
    const Batch& batch,
    const std::function<absl::StatusOr<std::optional<std::string>>(
        Table, absl::string_view)>& get) {
  for (const Batch::Precondition& expected : batch.preconditions()) {
    ASSIGN_OR_RETURN(std::optional<std::string> value,
                     get(expected.table, expected.key));
    if (value != expected.value) {
      return absl::AbortedError(absl::StrCat(
          "not stored: ", TableName(expected.table), " key \"",
          absl::CHexEscape(expected.key), "\" changed since it was read; ",
          "nothing was written"));
    }
  }
  return absl::OkStatus();
}

}  // namespace evidentia::collector
