// ParseSshdConfig and EvaluateSshdConfig on any sshd_config, every Include
// resolving to the same text again (include loops and bombs), then
// FillSshdSettings over the result.
#include <string>
#include <vector>

#include "agent/linux/probes/ssh_server_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  const std::string text(evidentia::fuzz::AsText(data, size));
  for (const SshdConfigLine& line : ParseSshdConfig(text)) {
    evidentia::fuzz::Require(line.line > 0, "line numbers start at 1");
    evidentia::fuzz::Require(line.error.empty() == !line.args.empty(),
                             "a line has arguments or an error");
  }
  SshdConfigSource source;
  source.read = [&](const std::string&) -> absl::StatusOr<std::string> {
    return text;
  };
  source.glob = [](const std::string& pattern) {
    return std::vector<std::string>{pattern, "/etc/ssh/other.conf"};
  };
  SshdConfig config = EvaluateSshdConfig("/etc/ssh/sshd_config", source);
  evidentia::fuzz::Require(config.files.size() <= kMaxSshdConfigFiles,
                           "files read are bounded");
  evidentia::fuzz::Require(config.errors.size() <= kMaxSshdConfigErrors,
                           "errors listed are bounded");
  evidentia::fuzz::Require(config.match_blocks.size() <= kMaxSshdMatchBlocks,
                           "Match blocks are bounded");
  for (const SshdMatch& block : config.match_blocks) {
    evidentia::fuzz::Require(
        block.criteria.size() <= kMaxSshdMatchCriteriaBytes,
        "Match criteria are bounded");
  }
  for (const SshdDirective& d : config.directives) {
    evidentia::fuzz::Require(
        d.scope == kGlobalScope ||
            (d.scope >= 0 &&
             static_cast<size_t>(d.scope) < config.match_blocks.size()),
        "a directive's scope is global or a Match block");
  }
  for (const char* version : {"8.4", "9.2", "10.0"}) {
    evidentia::v1::SshServerFacts facts;
    FillSshdSettings(config, DefaultsForVersion(version), &facts);
    evidentia::fuzz::Require(facts.match_blocks_size() ==
                                 static_cast<int>(config.match_blocks.size()),
                             "every Match block is reported");
    evidentia::fuzz::Require(static_cast<size_t>(facts.config_errors_size()) <=
                                 kMaxSshdConfigErrors + 1,
                             "config errors are bounded");
  }
  return 0;
}
