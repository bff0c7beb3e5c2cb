// ParseClamdVersionReply on any reply a socket could send to VERSION.
#include "absl/time/time.h"
#include "agent/linux/probes/clamd_client.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<evidentia::agent::ClamdVersion> version =
      evidentia::agent::ParseClamdVersionReply(
          evidentia::fuzz::AsText(data, size), absl::UTCTimeZone());
  if (!version.ok()) return 0;
  evidentia::fuzz::Require(
      !version->engine_version.empty() && version->engine_version.size() <= 64,
      "an accepted reply has an engine version");
  evidentia::fuzz::Require(version->database_version > 0 ||
                               (version->database_build_time_unix == 0 &&
                                version->database_build_time_text.empty()),
                           "no database version means no database date");
  evidentia::fuzz::Require(version->database_version == 0 ||
                               !version->database_build_time_text.empty(),
                           "a database version comes with its date");
  evidentia::fuzz::Require(version->database_build_time_text.size() <= 64,
                           "the date text is capped");
  return 0;
}
