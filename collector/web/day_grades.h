// The grade of every SoA control at the end of each day, computed in the
// background and kept: the overview's chart, "worse than a week before" and
// every control's history read them without grading on the request. A
// past day's grades never change (grading as of a moment reads only what
// had been received by then). Grading a day over 10,000 hosts takes about
// a second, so a request never waits for one: it gets the days computed so
// far, and the days it wanted are computed next. Thread-safe.
#ifndef EVIDENTIA_COLLECTOR_WEB_DAY_GRADES_H_
#define EVIDENTIA_COLLECTOR_WEB_DAY_GRADES_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/api/operator_api.h"
#include "common/proto_time.h"

namespace evidentia::collector::web {

class DayGrades {
 public:
  // The silent hosts kept of each day (as many as the overview lists).
  static constexpr size_t kSilentHosts = 50;

  struct Day {
    absl::Time at;     // the day's last microsecond (UTC)
    double share = 0;  // applicable controls compliant (view::CompliantShare)
    std::map<std::string, v1::Grade> grades;
    // As graded, with the silent hosts: what the as-of pages of that day's
    // end show.
    std::shared_ptr<const FleetSurvey> survey;
  };

  // Keeps the last `days` days; starts computing them (newest first) on a
  // thread of its own. `api` must outlive it.
  DayGrades(OperatorApi& api, Clock clock, int days);
  ~DayGrades();
  DayGrades(const DayGrades&) = delete;
  DayGrades& operator=(const DayGrades&) = delete;

  // The end of the day `t` falls in.
  static absl::Time DayEnd(absl::Time t);

  // The computed days whose ends are in [from, to], oldest first; the
  // others in that range are computed next. `missing` (when given) is set
  // to how many are not computed yet.
  std::vector<Day> Between(absl::Time from, absl::Time to,
                           int* missing = nullptr);

  // The day ending exactly at `at`, when it is computed.
  std::optional<Day> Ending(absl::Time at) const;

  // Days computed in all (for tests and metrics).
  size_t size() const;
  // Blocks until every day wanted so far is computed (tests).
  void WaitIdle();

 private:
  void Run();

  OperatorApi& api_;
  Clock clock_;
  int days_;
  mutable absl::Mutex mu_;
  std::map<int64_t, Day> days_by_end_ ABSL_GUARDED_BY(mu_);
  std::set<int64_t> wanted_ ABSL_GUARDED_BY(mu_);  // newest first: reversed
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool seeded_ ABSL_GUARDED_BY(mu_) = false;  // the first days are wanted
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace evidentia::collector::web

#endif  // EVIDENTIA_COLLECTOR_WEB_DAY_GRADES_H_
