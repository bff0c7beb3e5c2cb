// The operator CLI (`evidentia`): asks a running collector over TLS with the
// operator credential. Kept in the library so `evidentia-collector token`
// and tests share it; main() only calls RunOperatorCli.
#ifndef EVIDENTIA_CLI_OPERATOR_CLI_H_
#define EVIDENTIA_CLI_OPERATOR_CLI_H_

#include <ostream>

namespace evidentia::collector {

// Exit codes scripts can rely on.
inline constexpr int kCliOk = 0;
// Refused or failed: by the collector, or here (a CA, certificate, key,
// collector.addr or --file that cannot be read, a key others can read).
inline constexpr int kCliFailed = 1;
inline constexpr int kCliUsage = 2;        // bad command line
inline constexpr int kCliUnreachable = 3;  // the collector was not reached

// Runs `evidentia <argv[1]...>`, writing results to `out` and errors to
// `err`. Each command takes only its own flags (besides --json, --help and
// the connection flags); any other is a usage error. Returns the exit code.
int RunOperatorCli(int argc, const char* const* argv, std::ostream& out,
                   std::ostream& err);

}  // namespace evidentia::collector

#endif  // EVIDENTIA_CLI_OPERATOR_CLI_H_
