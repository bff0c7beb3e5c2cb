// The fleet's grades now, kept between requests: grading 10,000 hosts takes
// a few hundred milliseconds, and a page must render in a hundred. They are
// out of date when:
//  - something that changes grades happened since (a snapshot, a
//    revocation, manual evidence, an ISMS record: OperatorApi::Generation),
//    and, for a computation that took 20 ms or more, ten times as long as
//    it took has passed since it (so under a stream of snapshots, grading
//    takes at most a tenth of the time, and what is shown is at most that
//    old);
//  - or they are 10 s old by the clock: staleness and silence move with
//    time alone.
// Out-of-date grades that took less than 20 ms are recomputed by the
// request that finds them (one at a time: the others wait for its result),
// so a small fleet always shows the latest. Dearer ones are recomputed on a
// thread of the cache's own while requests are answered with the last ones,
// up to a minute old. A control's findings are kept beside them once a page
// asked for them. Thread-safe.
#ifndef EVIDENTIA_COLLECTOR_WEB_GRADE_CACHE_H_
#define EVIDENTIA_COLLECTOR_WEB_GRADE_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/api/operator_api.h"
#include "common/proto_time.h"

namespace evidentia::collector::web {

class GradeCache {
 public:
  // The overview lists this many silent hosts at most.
  static constexpr size_t kSilentHosts = 50;

  // The grades of one moment.
  struct Graded {
    absl::Time at;
    uint64_t generation = 0;
    absl::Duration took;
    FleetSurvey survey;  // every SoA row, and the silent hosts
  };

  // The rules above, as figures (tests change them).
  struct Options {
    absl::Duration max_age = absl::Seconds(10);
    int cost_factor = 10;
    absl::Duration on_request = absl::Milliseconds(20);
    absl::Duration max_stale = absl::Minutes(1);
  };

  // `api` must outlive the cache.
  GradeCache(OperatorApi& api, Clock clock) : GradeCache(api, clock, {}) {}
  GradeCache(OperatorApi& api, Clock clock, Options options);
  ~GradeCache();
  GradeCache(const GradeCache&) = delete;
  GradeCache& operator=(const GradeCache&) = delete;

  // Every SoA row and the silent hosts now (no scope).
  absl::StatusOr<std::shared_ptr<const Graded>> Now(const Caller& caller);
  // One control now, with its findings (OperatorApi::GetControl).
  absl::StatusOr<v1::ControlGrade> Control(const Caller& caller,
                                           const std::string& control_id);
  // The next call recomputes: after a change made through the dashboard,
  // whose author expects to see it at once.
  void Invalidate();

 private:
  // Whether `graded` is up to date at `now`.
  bool Fresh(const Graded& graded, absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Grades the fleet unless another computation made them fresh meanwhile.
  absl::StatusOr<std::shared_ptr<const Graded>> Compute(const Caller& caller);
  void Refresh();

  OperatorApi& api_;
  Clock clock_;
  const Options options_;
  absl::Mutex compute_mu_;  // one computation at a time
  mutable absl::Mutex mu_;
  std::shared_ptr<const Graded> graded_ ABSL_GUARDED_BY(mu_);
  bool wanted_ ABSL_GUARDED_BY(mu_) = false;  // the thread should recompute
  // Grades of an older generation are not kept (Invalidate): a grading
  // begun before a dashboard change must not bring back what it replaced.
  uint64_t floor_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread refresher_;
  // Findings per control, of the moment of `graded_`.
  std::map<std::string, v1::ControlGrade> controls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace evidentia::collector::web

#endif  // EVIDENTIA_COLLECTOR_WEB_GRADE_CACHE_H_
