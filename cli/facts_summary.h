// A few lines a person can read for one probe's facts: what `evidentia
// evidence` prints without --json. The facts themselves stay the evidence;
// this is only their reading.
#ifndef EVIDENTIA_CLI_FACTS_SUMMARY_H_
#define EVIDENTIA_CLI_FACTS_SUMMARY_H_

#include <string>
#include <string_view>

#include "evidentia/v1/facts.pb.h"

namespace evidentia::collector {

// Lines indented by two spaces, each ending in '\n'.
std::string SummarizeFacts(const v1::Facts& facts);

// `text` safe to print on a terminal: control characters (C0, DEL, and
// with `keep_newlines` false also '\n'), C1 controls (U+0080-U+009F, e.g.
// CSI), bidirectional overrides and bytes that are not UTF-8 become "\xNN"
// or "\u{NNNN}". What agents send (hostnames, facts, probe errors) reaches
// every command's text output, so the CLI passes all of it through this.
std::string TerminalSafe(std::string_view text, bool keep_newlines = true);

}  // namespace evidentia::collector

#endif  // EVIDENTIA_CLI_FACTS_SUMMARY_H_
