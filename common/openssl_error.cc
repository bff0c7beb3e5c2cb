#include "common/openssl_error.h"

#include <openssl/err.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace evidentia {

absl::Status OpenSslError(absl::StatusCode code, absl::string_view what) {
  std::string detail;
  while (unsigned long err = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    absl::StrAppend(&detail, detail.empty() ? "" : "; ", buf);
  }
  return absl::Status(code, detail.empty() ? std::string(what)
                                           : absl::StrCat(what, ": ", detail));
}

}  // namespace evidentia
