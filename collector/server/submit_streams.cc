#include "collector/server/submit_streams.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"

namespace evidentia::collector {
namespace {

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

}  // namespace

SubmitStreams::Lease::Lease(SubmitStreams& owner, std::string source,
                            grpc::ServerContext* context)
    : owner_(owner),
      source_(std::move(source)),
      context_(context),
      last_active_micros_(NowMicros()) {}

SubmitStreams::Lease::~Lease() { owner_.Release(this); }

void SubmitStreams::Lease::Touch() {
  last_active_micros_.store(NowMicros(), std::memory_order_relaxed);
}

SubmitStreams::SubmitStreams(StreamLimits limits)
    : limits_(limits), watchdog_([this] { Watch(); }) {}

SubmitStreams::~SubmitStreams() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  watchdog_.join();
}

absl::StatusOr<std::unique_ptr<SubmitStreams::Lease>> SubmitStreams::Open(
    std::string source, grpc::ServerContext* context) {
  absl::MutexLock lock(&mu_);
  if (static_cast<int>(open_.size()) >= limits_.max_streams) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the collector has ", open_.size(), " ", limits_.what,
                     "s open, its limit; retry later"));
  }
  int& from_source = per_source_[source];
  if (from_source >= limits_.max_streams_per_source) {
    return absl::ResourceExhaustedError(
        absl::StrCat(source, " has ", from_source, " ", limits_.what,
                     "s open, its limit; close one first"));
  }
  ++from_source;
  auto lease =
      std::unique_ptr<Lease>(new Lease(*this, std::move(source), context));
  open_.insert(lease.get());
  return lease;
}

void SubmitStreams::Release(Lease* lease) {
  absl::MutexLock lock(&mu_);
  open_.erase(lease);
  auto it = per_source_.find(lease->source_);
  if (it != per_source_.end() && --it->second <= 0) per_source_.erase(it);
}

void SubmitStreams::Watch() {
  const absl::Duration tick = std::clamp(
      limits_.idle_timeout / 4, absl::Milliseconds(20), absl::Seconds(5));
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), tick);
    const int64_t cutoff =
        NowMicros() - absl::ToInt64Microseconds(limits_.idle_timeout);
    for (Lease* lease : open_) {
      if (lease->cancelled_ || lease->last_active_micros_.load(
                                   std::memory_order_relaxed) >= cutoff) {
        continue;
      }
      // The lease is alive while we hold mu_ (Release takes it), and so
      // is its context.
      lease->cancelled_ = true;
      lease->context_->TryCancel();
      ++idle_cancellations_;
      Log(LogLevel::kWarning,
          absl::StrCat("cancelled a ", limits_.what, " from ", lease->source_,
                       ": nothing received for ",
                       absl::FormatDuration(limits_.idle_timeout)));
    }
  }
}

}  // namespace evidentia::collector
