// The CLI's output: times, tables, JSON, and errors as exit codes.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/cli_internal.h"
#include "cli/operator_cli.h"
#include "common/json.h"
#include "common/proto_time.h"

namespace evidentia::collector::operator_cli {

std::string When(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%SZ", FromProto(t),
                          absl::UTCTimeZone());
}

std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&line, row[i]);
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

int Report(const absl::Status& status, std::ostream& err) {
  err << "evidentia: " << status.message() << " ("
      << absl::StatusCodeToString(status.code()) << ")\n";
  return status.code() == absl::StatusCode::kUnavailable ? kCliUnreachable
                                                         : kCliFailed;
}
int Report(const grpc::Status& status, std::ostream& err) {
  return Report(absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                             status.error_message()),
                err);
}

int LocalError(const absl::Status& status, std::ostream& err) {
  err << "evidentia: " << status.message() << "\n";
  return kCliFailed;
}

int Usage(const absl::Status& status, std::ostream& err) {
  err << "evidentia: " << status.message() << "\n";
  return kCliUsage;
}

int PrintJson(const google::protobuf::Message& message, std::ostream& out,
              std::ostream& err) {
  absl::StatusOr<std::string> json = ToJson(message);
  if (!json.ok()) return LocalError(json.status(), err);
  out << *json;
  return kCliOk;
}

std::string RevokedNote(const v1::AgentRecord& agent) {
  if (!agent.has_revoked_at()) return "";
  return absl::StrCat("REVOKED at ", When(agent.revoked_at()),
                      ": evidence below is from a device no longer trusted\n");
}

}  // namespace evidentia::collector::operator_cli
