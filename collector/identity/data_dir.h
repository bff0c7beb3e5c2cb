// The collector's data directory: its keys, TLS material, the operator's
// client certificate and the RocksDB store. The first start creates what is
// missing; every start refuses a directory or secret others can read.
//
//   D/                          0700
//   D/collector.key             Ed25519 signing key (PKCS#8 PEM, 0600)
//   D/collector.pub.pem         its public key (SPKI PEM)
//   D/ca.key (0600), D/ca.pem   the collector's private CA: agents trust
//                               ca.pem; it issues every TLS certificate
//   D/server.key (0600), D/server.pem   TLS server certificate
//   D/operator-client.key (0600), D/operator-client.pem
//                               the operator CLI's TLS client certificate
//                               (SAN URI "evidentia:operator")
//   D/operator.key (0600)       the operator's Ed25519 key, signs manual
//   D/operator.pub.pem          evidence; and its public key
//   D/collector.addr            host:port the running collector listens on
//   D/db/ (0700)                RocksDB (enrolment token hashes, records)
#ifndef EVIDENTIA_COLLECTOR_IDENTITY_DATA_DIR_H_
#define EVIDENTIA_COLLECTOR_IDENTITY_DATA_DIR_H_

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/data_dir_paths.h"
#include "common/ed25519.h"
#include "common/x509.h"

namespace evidentia::collector {

using ::evidentia::DataDirPaths;

// What a running collector needs from its data directory.
struct CollectorMaterial {
  PrivateKey signing_key;
  KeyAndCert ca;  // issues agents' client certificates at enrolment
  KeyAndCert server;
  PublicKey operator_key;  // verifies manual evidence statements
};

// Every file that must be readable by the owner only.
std::vector<std::filesystem::path> PrivateFiles(const DataDirPaths& paths);

// Creates whatever is missing in `dir` (the TLS server certificate names
// `tls_names`: IP addresses and DNS names) and loads it all.
// FAILED_PRECONDITION when the directory or a secret in it is accessible to
// group or others; the message names the file and the fix.
absl::StatusOr<CollectorMaterial> PrepareDataDir(
    const DataDirPaths& paths, const std::vector<std::string>& tls_names);

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_IDENTITY_DATA_DIR_H_
