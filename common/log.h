// Line-oriented logging to stderr: one line per call, timestamped, written
// with a single stdio call so lines from threads do not interleave.
#ifndef EVIDENTIA_COMMON_LOG_H_
#define EVIDENTIA_COMMON_LOG_H_

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace evidentia {

enum class LogLevel { kInfo, kWarning, kError };

inline void Log(LogLevel level, absl::string_view message) {
  static constexpr const char* kNames[] = {"INFO", "WARN", "ERROR"};
  const std::string line = absl::StrCat(
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()),
      " ", kNames[static_cast<int>(level)], " ", message, "\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace evidentia

#endif  // EVIDENTIA_COMMON_LOG_H_
