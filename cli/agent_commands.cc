// evidentia token create, agents, agents revoke and events.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/cli_internal.h"
#include "cli/operator_cli.h"

namespace evidentia::collector::operator_cli {

int TokenCreate(const Invocation& call, std::ostream& out, std::ostream& err) {
  const FlagValues& args = call.args;
  const Connection& connection = call.connection;
  v1::CreateTokenRequest request;
  if (call.ttl.has_value()) {
    request.set_ttl_seconds(absl::ToInt64Seconds(*call.ttl));
  }
  if (call.uses.has_value()) {
    request.set_uses(static_cast<uint32_t>(*call.uses));
  }
  grpc::ClientContext context;
  Prepare(context, connection);
  v1::CreateTokenResponse response;
  grpc::Status status =
      connection.stub->CreateToken(&context, request, &response);
  if (!status.ok()) return Report(status, err);
  if (args.Has("json")) return PrintJson(response, out, err);
  out << response.token() << "\n";
  err << "token valid until " << When(response.expires_at()) << " for "
      << response.uses() << " enrolment(s); only its hash is stored\n";
  return kCliOk;
}

int Agents(const Invocation& call, std::ostream& out, std::ostream& err) {
  const FlagValues& args = call.args;
  const Connection& connection = call.connection;
  grpc::ClientContext context;
  Prepare(context, connection);
  v1::ListAgentsResponse response;
  grpc::Status status =
      connection.stub->ListAgents(&context, v1::ListAgentsRequest(), &response);
  if (!status.ok()) return Report(status, err);
  if (args.Has("json")) return PrintJson(response, out, err);
  std::vector<std::vector<std::string>> rows = {{"AGENT", "HOSTNAME", "OS",
                                                 "FIRST SEEN", "LAST SEEN",
                                                 "LAST SEQ", "REVOKED"}};
  for (const v1::AgentRecord& a : response.agents()) {
    rows.push_back({a.agent_id(), a.host().hostname(),
                    a.host().os_pretty_name().empty()
                        ? a.host().os_id()
                        : a.host().os_pretty_name(),
                    When(a.first_seen()), When(a.last_seen()),
                    absl::StrCat(a.last_seq()), When(a.revoked_at())});
  }
  out << Table(rows);
  return kCliOk;
}

int AgentsRevoke(const Invocation& call, std::ostream& out, std::ostream& err) {
  v1::RevokeAgentRequest request;
  request.set_agent_id(call.operands.at(0));
  grpc::ClientContext context;
  Prepare(context, call.connection);
  v1::RevokeAgentResponse response;
  grpc::Status status =
      call.connection.stub->RevokeAgent(&context, request, &response);
  if (!status.ok()) return Report(status, err);
  if (call.args.Has("json")) return PrintJson(response, out, err);
  out << "agent " << response.agent().agent_id() << " ("
      << response.agent().host().hostname() << ") revoked at "
      << When(response.agent().revoked_at()) << "; its snapshots up to seq "
      << response.agent().last_seq() << " stay as evidence, marked revoked\n";
  return kCliOk;
}

int Events(const Invocation& call, std::ostream& out, std::ostream& err) {
  const FlagValues& args = call.args;
  const Connection& connection = call.connection;
  grpc::ClientContext context;
  Prepare(context, connection);
  v1::ListEventsResponse response;
  grpc::Status status =
      connection.stub->ListEvents(&context, v1::ListEventsRequest(), &response);
  if (!status.ok()) return Report(status, err);
  if (args.Has("json")) return PrintJson(response, out, err);
  std::vector<std::vector<std::string>> rows = {
      {"TIME", "KIND", "AGENT", "SEQ", "PEER", "DETAIL"}};
  for (const v1::SecurityEvent& e : response.events()) {
    rows.push_back({When(e.at()), e.kind(), e.agent_id(), absl::StrCat(e.seq()),
                    e.peer(), e.detail()});
  }
  out << Table(rows);
  return kCliOk;
}

}  // namespace evidentia::collector::operator_cli
