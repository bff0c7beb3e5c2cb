// Asking a running clamd what it has loaded: one command on its local
// (AF_UNIX) socket within a deadline, and the pure parser of its reply to
// VERSION. Used by linux.anti_malware; thread-compatible, no shared state.
#ifndef EVIDENTIA_AGENT_LINUX_PROBES_CLAMD_CLIENT_H_
#define EVIDENTIA_AGENT_LINUX_PROBES_CLAMD_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace evidentia::agent {

// How long the probe waits for clamd in total (connect, send, answer).
inline constexpr absl::Duration kClamdTimeout = absl::Seconds(2);

// Longest reply read; VERSION's is under 100 bytes.
inline constexpr size_t kMaxClamdReplyBytes = 1024;

// clamd's reply to VERSION, parsed.
struct ClamdVersion {
  std::string engine_version;  // e.g. "1.0.7"
  // Database version; 0 when the reply names none (no database loaded).
  uint64_t database_version = 0;
  // The database date, unix seconds; 0 when there is none or it does not
  // read as a date.
  int64_t database_build_time_unix = 0;
  // The date as printed, e.g. "Tue Dec  1 09:31:02 2026"; empty if none.
  std::string database_build_time_text;
};

// Parses "ClamAV <engine>[/<database version>/<database date>]", with or
// without the terminating NUL or newline. The date is ctime() output in
// clamd's local time and is read in `zone`. INVALID_ARGUMENT when the reply
// does not start with "ClamAV ", the engine version is empty, or a database
// part is present but its version is not a positive number or its date is
// missing. A date that does not parse leaves database_build_time_unix 0.
absl::StatusOr<ClamdVersion> ParseClamdVersionReply(std::string_view reply,
                                                    const absl::TimeZone& zone);

// Sends "z<command>\0" to the clamd listening on the AF_UNIX socket
// `socket_path` (a real path; the caller roots it) and returns its reply
// without the terminating NUL. Never waits longer than `timeout` in all.
// Errors, whose messages are stable facts: NOT_FOUND (no such socket),
// UNAVAILABLE (connection refused, reset or closed without an answer),
// DEADLINE_EXCEEDED ("no answer within N s"), OUT_OF_RANGE (reply longer
// than kMaxClamdReplyBytes), INVALID_ARGUMENT (path too long for a socket
// address), INTERNAL (socket() failed).
absl::StatusOr<std::string> AskClamd(const std::filesystem::path& socket_path,
                                     std::string_view command,
                                     absl::Duration timeout);

// The zone clamd prints dates in: the host's, named by the target of
// `root`/etc/localtime (".../zoneinfo/Europe/Paris") or else by
// `root`/etc/timezone; UTC when neither names a zone that loads.
absl::TimeZone HostTimeZone(const std::filesystem::path& root);

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_PROBES_CLAMD_CLIENT_H_
