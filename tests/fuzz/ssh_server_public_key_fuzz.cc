// ParseSshPublicKey on any .pub file.
#include "agent/linux/probes/ssh_server_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  absl::StatusOr<SshPublicKey> key =
      ParseSshPublicKey(evidentia::fuzz::AsText(data, size));
  if (key.ok()) {
    evidentia::fuzz::Require(
        key->type != evidentia::v1::SSH_HOST_KEY_TYPE_UNSPECIFIED,
        "a decoded key has a type");
    evidentia::fuzz::Require(key->bits > 0 && key->bits <= size * 8,
                             "a key's size fits in its text");
    evidentia::fuzz::Require(!key->algorithm.empty(), "a key names its type");
  }
  return 0;
}
