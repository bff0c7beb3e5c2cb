// Facts are proto3 messages, whose string fields must hold valid UTF-8 or
// the collector cannot parse them. Host files may hold anything, so every
// probe passes its facts through MakeStringsValidUtf8 before returning them.
#ifndef EVIDENTIA_AGENT_LINUX_SYS_UTF8_H_
#define EVIDENTIA_AGENT_LINUX_SYS_UTF8_H_

#include <string>
#include <string_view>

#include "google/protobuf/message.h"

namespace evidentia::agent {

// `text` with every byte that is not part of a well-formed UTF-8 sequence
// (RFC 3629: no overlongs, no surrogates, at most U+10FFFF) replaced by '?'.
std::string ToValidUtf8(std::string_view text);

// Applies ToValidUtf8 to every string field (not bytes) of `message` and its
// sub-messages, singular and repeated. Does not take ownership.
void MakeStringsValidUtf8(google::protobuf::Message* message);

}  // namespace evidentia::agent

#endif  // EVIDENTIA_AGENT_LINUX_SYS_UTF8_H_
