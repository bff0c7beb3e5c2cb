// ParsePamFile on any PAM service file, and BuildPamService over a small
// tree cut from the input: the bytes are split at NUL into the files
// /etc/pam.d/login, a, b, c and other, so includes between them (loops,
// missing files, deep chains) are explored too.
#include <map>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "agent/linux/probes/password_policy_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  std::string_view text = evidentia::fuzz::AsText(data, size);
  for (const PamLine& line : ParsePamFile(text)) {
    evidentia::fuzz::Require(!line.module.empty(), "PAM line has a module");
    if (line.kind != PamLine::Kind::kIncludeAll) {
      evidentia::fuzz::Require(!line.type.empty(), "PAM line has a type");
    }
  }
  static const char* const kNames[] = {"login", "a", "b", "c", "other"};
  std::map<std::string, std::string> files;
  size_t start = 0;
  for (const char* name : kNames) {
    if (start > text.size()) break;
    size_t end = text.find('\0', start);
    if (end == std::string_view::npos) end = text.size();
    files[std::string("/etc/pam.d/") + name] =
        std::string(text.substr(start, end - start));
    start = end + 1;
  }
  int reads = 0;
  evidentia::v1::PamService service = BuildPamService(
      "login",
      [&files, &reads](const std::string& path) -> absl::StatusOr<std::string> {
        ++reads;
        auto it = files.find(path);
        if (it == files.end()) return absl::NotFoundError(path);
        return it->second;
      });
  evidentia::fuzz::Require(service.auth_size() <= 4096 &&
                               service.account_size() <= 4096 &&
                               service.password_size() <= 4096,
                           "PAM stacks are bounded");
  evidentia::fuzz::Require(reads <= kMaxPamFilesPerService + 1,
                           "files read per service are bounded");
  return 0;
}
