// Turning OpenSSL's thread-local error queue into an absl::Status.
#ifndef EVIDENTIA_COMMON_OPENSSL_ERROR_H_
#define EVIDENTIA_COMMON_OPENSSL_ERROR_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace evidentia {

// A status with `code` and "`what`: <OpenSSL's reasons>", emptying the
// queue so the next failure reports only its own reasons.
absl::Status OpenSslError(absl::StatusCode code, absl::string_view what);

}  // namespace evidentia

#endif  // EVIDENTIA_COMMON_OPENSSL_ERROR_H_
