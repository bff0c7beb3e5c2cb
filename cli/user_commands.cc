// user add: a user of the collector's web dashboard (docs/dashboard.md).
#include <iostream>
#include <iterator>
#include <string>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cli/cli_internal.h"
#include "cli/operator_cli.h"
#include "evidentia/v1/users.pb.h"

namespace evidentia::collector::operator_cli {

int UserAdd(const Invocation& call, std::ostream& out, std::ostream& err) {
  const FlagValues& args = call.args;
  v1::AddUserRequest request;
  request.set_name(call.operands.at(0));
  const std::string role = args.Get("role");
  if (role == "admin") {
    request.set_role(v1::USER_ROLE_ADMIN);
  } else if (role == "viewer") {
    request.set_role(v1::USER_ROLE_VIEWER);
  } else if (role == "auditor") {
    request.set_role(v1::USER_ROLE_AUDITOR);
  } else {
    return Usage(
        absl::InvalidArgumentError("--role is admin, viewer or auditor"), err);
  }
  if (args.Has("audit")) {
    for (absl::string_view audit :
         absl::StrSplit(args.Get("audit"), ',', absl::SkipEmpty())) {
      request.add_audits(std::string(audit));
    }
  }
  if (args.Has("password-stdin")) {
    // At most one line more than a password may be.
    std::string password;
    char c;
    while (password.size() <= 1025 && std::cin.get(c) && c != '\n') {
      password += c;
    }
    if (!password.empty() && password.back() == '\r') password.pop_back();
    if (password.empty()) {
      return Usage(absl::InvalidArgumentError(
                       "--password-stdin: no password on standard input"),
                   err);
    }
    request.set_password(password);
  }
  grpc::ClientContext context;
  Prepare(context, call.connection);
  v1::AddUserResponse response;
  grpc::Status status =
      call.connection.stub->AddUser(&context, request, &response);
  if (!status.ok()) return Report(status, err);
  if (args.Has("json")) return PrintJson(response, out, err);
  if (response.one_time_password().empty()) {
    err << "user " << request.name() << " added (" << role << ")\n";
  } else {
    out << response.one_time_password() << "\n";
    err << "user " << request.name() << " added (" << role
        << "); the one-time password above must be changed at the first "
           "sign-in\n";
  }
  return kCliOk;
}

}  // namespace evidentia::collector::operator_cli
