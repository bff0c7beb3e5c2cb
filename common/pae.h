// DSSE Pre-Authentication Encoding: the exact bytes every Evidentia signature
// covers. Specified in proto/README.md ("Signing").
#ifndef EVIDENTIA_COMMON_PAE_H_
#define EVIDENTIA_COMMON_PAE_H_

#include <string>
#include <string_view>

namespace evidentia {

// "DSSEv1" SP len(type) SP type SP len(payload) SP payload, lengths in ASCII
// decimal bytes.
std::string Pae(std::string_view payload_type, std::string_view payload);

}  // namespace evidentia

#endif  // EVIDENTIA_COMMON_PAE_H_
