// ProcessNameFromCmdline on any /proc/PID/cmdline.
#include "agent/linux/sys/processes.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string name = evidentia::agent::ProcessNameFromCmdline(
      evidentia::fuzz::AsText(data, size));
  evidentia::fuzz::Require(name.find('/') == std::string::npos,
                           "a process name is a basename");
  return 0;
}
