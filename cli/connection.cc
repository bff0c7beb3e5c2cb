// The CLI's connection to the collector: data dir, address, TLS credentials.
#include <chrono>
#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "cli/cli_internal.h"
#include "common/files.h"
#include "common/status_macros.h"

namespace evidentia::collector::operator_cli {

DataDirPaths DataDirFrom(const FlagValues& args) {
  const char* env = std::getenv("EVIDENTIA_DATA_DIR");
  return DataDirPaths(
      args.Get("data-dir", env != nullptr ? env : "/var/lib/evidentia"));
}

absl::StatusOr<Connection> Connect(const FlagValues& args) {
  const DataDirPaths paths = DataDirFrom(args);
  std::string address = args.Get("collector");
  if (address.empty()) {
    ASSIGN_OR_RETURN(address, ReadFile(paths.address(), 1024));
    absl::StripAsciiWhitespace(&address);
  }
  grpc::SslCredentialsOptions tls;
  ASSIGN_OR_RETURN(tls.pem_root_certs,
                   ReadFile(args.Get("ca", paths.ca_cert().string()), 1 << 20));
  const std::string key_file =
      args.Get("key", paths.operator_client_key().string());
  RETURN_IF_ERROR(CheckOwnerOnly(key_file));
  ASSIGN_OR_RETURN(tls.pem_private_key, ReadFile(key_file, 64 << 10));
  ASSIGN_OR_RETURN(
      tls.pem_cert_chain,
      ReadFile(args.Get("cert", paths.operator_client_cert().string()),
               64 << 10));
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(64 << 20);
  Connection connection;
  connection.stub = v1::Operator::NewStub(grpc::CreateCustomChannel(
      address, grpc::SslCredentials(tls), channel_args));
  return connection;
}

void Prepare(grpc::ClientContext& context, const Connection&) {
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
}

}  // namespace evidentia::collector::operator_cli
