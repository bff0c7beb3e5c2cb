// ParseJournaldConf on any journald.conf (and journal-upload.conf: the same
// INI reader, then the upload URL parser on every value of [Upload]); the
// size and time span parsers on the whole input.
#include "agent/linux/probes/audit_logging_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  std::string_view text = evidentia::fuzz::AsText(data, size);
  JournaldSettings settings = ParseJournaldConf(text);
  if (settings.storage) {
    evidentia::fuzz::Require(
        *settings.storage == "auto" || *settings.storage == "persistent" ||
            *settings.storage == "volatile" || *settings.storage == "none",
        "Storage= is one of journald's values");
  }
  for (const auto& [key, value] : ParseSystemdSection(text, "Upload")) {
    evidentia::fuzz::Require(!key.empty(), "INI keys are not empty");
    if (std::optional<RemoteTarget> target = ParseJournalUploadUrl(value)) {
      evidentia::fuzz::Require(
          !target->host.empty() && target->port > 0 && target->port <= 65535,
          "upload target has a host and a port");
    }
  }
  ParseSystemdSize(text);
  ParseSystemdTimespanSeconds(text);
  ParseSystemdBoolean(text);
  return 0;
}
