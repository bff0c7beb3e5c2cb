// Typed access to protobuf records in the collector's store.
#ifndef EVIDENTIA_COLLECTOR_STORE_RECORDS_H_
#define EVIDENTIA_COLLECTOR_STORE_RECORDS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "collector/store/store.h"
#include "common/status_macros.h"

namespace evidentia::collector {

// Parses a stored record. DATA_LOSS naming `what` when it does not parse.
template <typename Message>
absl::StatusOr<Message> DecodeRecord(absl::string_view bytes,
                                     absl::string_view what) {
  Message message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat("stored ", what, " is corrupt"));
  }
  return message;
}

// The record at `key`, or nullopt when absent.
template <typename Message>
absl::StatusOr<std::optional<Message>> GetRecord(const Store& store,
                                                 Table table,
                                                 absl::string_view key,
                                                 absl::string_view what) {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, store.Get(table, key));
  if (!bytes.has_value()) return std::nullopt;
  ASSIGN_OR_RETURN(Message message, DecodeRecord<Message>(*bytes, what));
  return message;
}

// Every record whose key starts with `prefix`, in key order.
template <typename Message>
absl::StatusOr<std::vector<Message>> ScanRecords(const Store& store,
                                                 Table table,
                                                 absl::string_view prefix,
                                                 absl::string_view what) {
  std::vector<Message> out;
  absl::Status decode_status;
  RETURN_IF_ERROR(store.Scan(
      table, prefix, [&](absl::string_view, absl::string_view value) {
        absl::StatusOr<Message> message = DecodeRecord<Message>(value, what);
        if (!message.ok()) {
          decode_status = message.status();
          return false;
        }
        out.push_back(*std::move(message));
        return true;
      }));
  RETURN_IF_ERROR(decode_status);
  return out;
}

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_STORE_RECORDS_H_
