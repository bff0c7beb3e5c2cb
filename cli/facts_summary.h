// A few lines a person can read for one probe's facts: what `evidentia
// evidence` prints without --json. The facts themselves stay the evidence;
// this is only their reading.
#ifndef EVIDENTIA_CLI_FACTS_SUMMARY_H_
#define EVIDENTIA_CLI_FACTS_SUMMARY_H_

#include <string>

#include "evidentia/v1/facts.pb.h"

namespace evidentia::collector {

// Lines indented by two spaces, each ending in '\n'.
std::string SummarizeFacts(const v1::Facts& facts);

}  // namespace evidentia::collector

#endif  // EVIDENTIA_CLI_FACTS_SUMMARY_H_
