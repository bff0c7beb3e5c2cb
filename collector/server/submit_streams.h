// Admission and idleness of Submit streams (and of Enroll calls, with
// their own limits): how many may be open at once in
// all and per source, and how long one may stay silent. A client that opens
// streams and never sends cannot hold the collector's threads: its streams
// are cancelled after `idle_timeout`, and one source that floods is refused
// at its own limit while others go on. Thread-safe; one watchdog thread.
#ifndef EVIDENTIA_COLLECTOR_SERVER_SUBMIT_STREAMS_H_
#define EVIDENTIA_COLLECTOR_SERVER_SUBMIT_STREAMS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace evidentia::collector {

struct StreamLimits {
  // What is admitted, for messages ("Submit stream", "Enroll call").
  std::string what = "Submit stream";
  // Submit streams open at once, from everyone.
  int max_streams = 2000;
  // Submit streams open at once from one source (an agent identity). An
  // agent needs one.
  int max_streams_per_source = 4;
  // A stream that receives nothing for this long is cancelled.
  absl::Duration idle_timeout = absl::Seconds(60);
};

class SubmitStreams {
 public:
  explicit SubmitStreams(StreamLimits limits);
  ~SubmitStreams();  // stops the watchdog; no lease may outlive it

  // One admitted stream; releases its place when destroyed.
  class Lease {
   public:
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    // Something arrived: the stream is not idle.
    void Touch();

   private:
    friend class SubmitStreams;
    Lease(SubmitStreams& owner, std::string source,
          grpc::ServerContext* context);
    SubmitStreams& owner_;
    const std::string source_;
    grpc::ServerContext* const context_;
    std::atomic<int64_t> last_active_micros_;
    bool cancelled_ = false;  // guarded by owner_.mu_
  };

  // Admits a stream from `source` served in `context` (which must outlive
  // the lease). RESOURCE_EXHAUSTED, saying which limit, when full.
  absl::StatusOr<std::unique_ptr<Lease>> Open(std::string source,
                                              grpc::ServerContext* context);

  // Streams cancelled for idleness so far.
  int64_t idle_cancellations() const { return idle_cancellations_; }

 private:
  void Watch();
  void Release(Lease* lease);

  const StreamLimits limits_;
  absl::Mutex mu_;
  std::set<Lease*> open_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> per_source_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int64_t> idle_cancellations_{0};
  std::thread watchdog_;
};

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_SERVER_SUBMIT_STREAMS_H_
