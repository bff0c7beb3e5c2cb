#include "collector/identity/data_dir.h"

#include <sys/stat.h>

#include <functional>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "collector/identity/peer_identity.h"
#include "common/files.h"
#include "common/sha256.h"
#include "common/status_macros.h"

namespace evidentia::collector {
namespace {

namespace fs = std::filesystem;

constexpr absl::Duration kCaValidity = absl::Hours(24 * 365 * 10);
constexpr absl::Duration kServerValidity = absl::Hours(24 * 365 * 2);

constexpr absl::Duration kOperatorClientValidity = absl::Hours(24 * 365 * 2);

absl::Status CheckPrivate(const fs::path& path) { return CheckOwnerOnly(path); }

bool Exists(const fs::path& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

// An Ed25519 key pair at `key_path` (0600) and `pub_path`.
absl::StatusOr<PrivateKey> LoadOrCreateKey(const fs::path& key_path,
                                           const fs::path& pub_path) {
  if (!Exists(key_path)) {
    ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate());
    RETURN_IF_ERROR(key.SavePemFile(key_path));
    RETURN_IF_ERROR(WriteFileAtomic(pub_path, key.public_key().ToPem(), 0644));
    return key;
  }
  RETURN_IF_ERROR(CheckPrivate(key_path));
  return PrivateKey::LoadPemFile(key_path);
}

// A key (0600) and certificate pair: loaded, or made by `create` and saved.
absl::StatusOr<KeyAndCert> LoadOrCreateKeyAndCert(
    const fs::path& key_path, const fs::path& cert_path,
    const std::function<absl::StatusOr<KeyAndCert>()>& create) {
  if (!Exists(key_path)) {
    ASSIGN_OR_RETURN(KeyAndCert made, create());
    RETURN_IF_ERROR(WriteFileAtomic(key_path, made.key_pem, 0600));
    RETURN_IF_ERROR(WriteFileAtomic(cert_path, made.cert_pem, 0644));
    return made;
  }
  RETURN_IF_ERROR(CheckPrivate(key_path));
  KeyAndCert loaded;
  ASSIGN_OR_RETURN(loaded.key_pem, ReadFile(key_path));
  ASSIGN_OR_RETURN(loaded.cert_pem, ReadFile(cert_path));
  return loaded;
}

}  // namespace

absl::StatusOr<CollectorMaterial> PrepareDataDir(
    const DataDirPaths& paths, const std::vector<std::string>& tls_names) {
  if (!Exists(paths.root)) RETURN_IF_ERROR(EnsurePrivateDir(paths.root));
  RETURN_IF_ERROR(CheckPrivate(paths.root));
  ASSIGN_OR_RETURN(PrivateKey signing_key,
                   LoadOrCreateKey(paths.signing_key(), paths.signing_pub()));
  ASSIGN_OR_RETURN(PrivateKey operator_key,
                   LoadOrCreateKey(paths.operator_key(), paths.operator_pub()));
  ASSIGN_OR_RETURN(KeyAndCert ca,
                   LoadOrCreateKeyAndCert(paths.ca_key(), paths.ca_cert(), [] {
                     return CreateCertificateAuthority("Evidentia collector CA",
                                                       kCaValidity);
                   }));
  ASSIGN_OR_RETURN(
      KeyAndCert server,
      LoadOrCreateKeyAndCert(paths.server_key(), paths.server_cert(), [&] {
        return IssueServerCertificate(ca, "Evidentia collector", tls_names,
                                      kServerValidity);
      }));
  // The operator CLI's client certificate; `evidentia` reads it from here.
  RETURN_IF_ERROR(
      LoadOrCreateKeyAndCert(
          paths.operator_client_key(), paths.operator_client_cert(),
          [&] {
            return CreateClientCertificate(
                ca, "Evidentia operator",
                std::string_view(kOperatorUri.data(), kOperatorUri.size()),
                kOperatorClientValidity);
          })
          .status());
  // Enrolment token hashes live in the store: private like the keys.
  if (!Exists(paths.db())) RETURN_IF_ERROR(EnsurePrivateDir(paths.db()));
  RETURN_IF_ERROR(CheckPrivate(paths.db()));
  return CollectorMaterial{std::move(signing_key), std::move(ca),
                           std::move(server), operator_key.public_key()};
}

std::vector<fs::path> PrivateFiles(const DataDirPaths& paths) {
  return {paths.root,         paths.signing_key(),  paths.ca_key(),
          paths.server_key(), paths.operator_key(), paths.operator_client_key(),
          paths.db()};
}

}  // namespace evidentia::collector
