// The collector's data directory: its keys, TLS material, operator
// credential and RocksDB store. The first start creates what is missing;
// every start refuses a directory or secret others can read.
//
//   D/                    0700
//   D/collector.key       Ed25519 signing key (PKCS#8 PEM, 0600)
//   D/collector.pub.pem   its public key (SPKI PEM)
//   D/ca.key, D/ca.pem    the collector's private CA (agents trust ca.pem)
//   D/server.key, D/server.pem   TLS server certificate issued by the CA
//   D/operator.credential the operator CLI's bearer credential (0600)
//   D/operator.key        the operator's Ed25519 key, signs manual evidence
//   (0600) D/operator.pub.pem    its public key D/collector.addr      host:port
//   the running collector listens on D/db/                 RocksDB
#ifndef EVIDENTIA_COLLECTOR_DATA_DIR_H_
#define EVIDENTIA_COLLECTOR_DATA_DIR_H_

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ed25519.h"
#include "common/x509.h"

namespace evidentia::collector {

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
  std::filesystem::path operator_credential() const {
    return root / "operator.credential";
  }
  std::filesystem::path operator_key() const { return root / "operator.key"; }
  std::filesystem::path operator_pub() const {
    return root / "operator.pub.pem";
  }
  std::filesystem::path address() const { return root / "collector.addr"; }
  std::filesystem::path db() const { return root / "db"; }
};

// What a running collector needs from its data directory.
struct CollectorMaterial {
  PrivateKey signing_key;
  KeyAndCert server;
  std::string operator_credential;
  PublicKey operator_key;  // verifies manual evidence statements
};

// Creates whatever is missing in `dir` (the TLS server certificate names
// `tls_names`: IP addresses and DNS names) and loads it all.
// FAILED_PRECONDITION when the directory or a secret in it is accessible to
// group or others; the message names the file and the fix.
absl::StatusOr<CollectorMaterial> PrepareDataDir(
    const DataDirPaths& paths, const std::vector<std::string>& tls_names);

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_DATA_DIR_H_
