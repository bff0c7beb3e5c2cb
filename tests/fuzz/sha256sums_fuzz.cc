// ParseSha256Sums (the first thing `evidentia verify` trusts) on any
// SHA256SUMS: whatever it accepts is sorted, unique, safe and 64 hex.
#include <string>
#include <vector>

#include "bundle/paths.h"
#include "bundle/verify.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::collector;
  using evidentia::fuzz::Require;
  absl::StatusOr<std::vector<Sha256SumsEntry>> entries = ParseSha256Sums(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  if (!entries.ok()) {
    Require(entries.status().code() == absl::StatusCode::kDataLoss,
            "a bad SHA256SUMS is DATA_LOSS");
    return 0;
  }
  for (size_t i = 0; i < entries->size(); ++i) {
    const Sha256SumsEntry& entry = (*entries)[i];
    Require(bundle::IsSafePath(entry.path), "listed paths are safe");
    Require(entry.sha256.size() == 64, "digests are 64 hex digits");
    Require(i == 0 || (*entries)[i - 1].path < entry.path,
            "paths sorted and unique");
  }
  return 0;
}
