// Conversions between absl::Time and google.protobuf.Timestamp.
#ifndef EVIDENTIA_COMMON_PROTO_TIME_H_
#define EVIDENTIA_COMMON_PROTO_TIME_H_

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace evidentia {

// Where components read the time, so tests can move it.
using Clock = std::function<absl::Time()>;
inline Clock SystemClock() {
  return [] { return absl::Now(); };
}

inline google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp out;
  const int64_t nanos = absl::ToUnixNanos(t);
  int64_t seconds = nanos / 1000000000;
  int64_t rest = nanos % 1000000000;
  if (rest < 0) {
    rest += 1000000000;
    --seconds;
  }
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(rest));
  return out;
}

inline absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

}  // namespace evidentia

#endif  // EVIDENTIA_COMMON_PROTO_TIME_H_
