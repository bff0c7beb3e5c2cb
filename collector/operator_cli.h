// The operator CLI (`evidentia`): asks a running collector over TLS with the
// operator credential. Kept in the library so `evidentia-collector token`
// and tests share it; main() only calls RunOperatorCli.
#ifndef EVIDENTIA_COLLECTOR_OPERATOR_CLI_H_
#define EVIDENTIA_COLLECTOR_OPERATOR_CLI_H_

#include <ostream>

namespace evidentia::collector {

// Exit codes scripts can rely on.
inline constexpr int kCliOk = 0;
inline constexpr int kCliFailed = 1;       // the collector refused or failed
inline constexpr int kCliUsage = 2;        // bad command line
inline constexpr int kCliUnreachable = 3;  // collector not reachable

// Runs `evidentia <argv[1]...>`, writing results to `out` and errors to
// `err`. Returns the exit code.
int RunOperatorCli(int argc, const char* const* argv, std::ostream& out,
                   std::ostream& err);

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_OPERATOR_CLI_H_
