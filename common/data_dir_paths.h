// The names of the files in a collector's data directory, which the
// collector (collector/identity/data_dir.h: what they hold, and their modes)
// and the operator CLI (where it finds the collector and its credentials) agree
// on.
#ifndef EVIDENTIA_COMMON_DATA_DIR_PATHS_H_
#define EVIDENTIA_COMMON_DATA_DIR_PATHS_H_

#include <filesystem>
#include <utility>

namespace evidentia {

struct DataDirPaths {
  explicit DataDirPaths(std::filesystem::path dir) : root(std::move(dir)) {}
  std::filesystem::path root;
  std::filesystem::path signing_key() const { return root / "collector.key"; }
  std::filesystem::path signing_pub() const {
    return root / "collector.pub.pem";
  }
  std::filesystem::path ca_key() const { return root / "ca.key"; }
  std::filesystem::path ca_cert() const { return root / "ca.pem"; }
  std::filesystem::path server_key() const { return root / "server.key"; }
  std::filesystem::path server_cert() const { return root / "server.pem"; }
  std::filesystem::path operator_client_key() const {
    return root / "operator-client.key";
  }
  std::filesystem::path operator_client_cert() const {
    return root / "operator-client.pem";
  }
  std::filesystem::path operator_key() const { return root / "operator.key"; }
  std::filesystem::path operator_pub() const {
    return root / "operator.pub.pem";
  }
  std::filesystem::path address() const { return root / "collector.addr"; }
  // https://HOST:PORT of the running collector's dashboard.
  std::filesystem::path web_address() const { return root / "web.addr"; }
  std::filesystem::path db() const { return root / "db"; }
};

}  // namespace evidentia

#endif  // EVIDENTIA_COMMON_DATA_DIR_PATHS_H_
