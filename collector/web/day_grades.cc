#include "collector/web/day_grades.h"

#include <algorithm>

#include "common/log.h"
#include "view/pages.h"

namespace evidentia::collector::web {

absl::Time DayGrades::DayEnd(absl::Time t) {
  const int64_t day = absl::ToUnixSeconds(t) / 86400 -
                      (absl::ToUnixSeconds(t) % 86400 < 0 ? 1 : 0);
  return absl::FromUnixSeconds((day + 1) * 86400) - absl::Microseconds(1);
}

DayGrades::DayGrades(OperatorApi& api, Clock clock, int days)
    : api_(api), clock_(std::move(clock)), days_(days) {
  thread_ = std::thread([this] { Run(); });
}

DayGrades::~DayGrades() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

std::vector<DayGrades::Day> DayGrades::Between(absl::Time from, absl::Time to,
                                               int* missing) {
  std::vector<Day> out;
  int absent = 0;
  const absl::Time now = clock_();
  // At most as many days as are kept: older ones would be forgotten again.
  from = std::max(from, to - absl::Hours(24) * (2 * days_ + 400));
  absl::MutexLock lock(&mu_);
  for (absl::Time end = DayEnd(from); end <= to; end += absl::Hours(24)) {
    if (end >= now) break;  // today is not over: not kept
    const int64_t key = absl::ToUnixMicros(end);
    auto it = days_by_end_.find(key);
    if (it != days_by_end_.end()) {
      out.push_back(it->second);
    } else {
      ++absent;
      wanted_.insert(key);
    }
  }
  if (missing != nullptr) *missing = absent;
  return out;
}

std::optional<DayGrades::Day> DayGrades::Ending(absl::Time at) const {
  absl::MutexLock lock(&mu_);
  auto it = days_by_end_.find(absl::ToUnixMicros(at));
  if (it == days_by_end_.end()) return std::nullopt;
  return it->second;
}

size_t DayGrades::size() const {
  absl::MutexLock lock(&mu_);
  return days_by_end_.size();
}

void DayGrades::WaitIdle() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](DayGrades* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
        return self->stopping_ ||
               (self->seeded_ && self->wanted_.empty() && !self->busy_);
      },
      this));
}

void DayGrades::Run() {
  const Caller caller{Role::kOperator, "web:day-grades", "collector"};
  absl::Time last_seeded = absl::InfinitePast();
  while (true) {
    int64_t key = 0;
    {
      absl::MutexLock lock(&mu_);
      // Once an hour: the last `days_` days are wanted (a new day ended).
      const absl::Time now = clock_();
      if (now - last_seeded >= absl::Hours(1)) {
        last_seeded = now;
        for (int back = 1; back <= days_; ++back) {
          const int64_t wanted =
              absl::ToUnixMicros(DayEnd(now) - absl::Hours(24) * back);
          if (days_by_end_.count(wanted) == 0) wanted_.insert(wanted);
        }
        seeded_ = true;
      }
      busy_ = false;
      mu_.AwaitWithTimeout(
          absl::Condition(
              +[](DayGrades* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
                return self->stopping_ || !self->wanted_.empty();
              },
              this),
          absl::Minutes(10));
      if (stopping_) return;
      if (wanted_.empty()) continue;
      // The newest day first: the overview's right end fills in first.
      auto newest = std::prev(wanted_.end());
      key = *newest;
      wanted_.erase(newest);
      busy_ = true;
    }
    v1::GradeRequest request;
    *request.mutable_as_of() = ToProto(absl::FromUnixMicros(key));
    absl::StatusOr<FleetSurvey> survey =
        api_.Survey(caller, request, kSilentHosts);
    if (!survey.ok()) {
      Log(LogLevel::kWarning,
          absl::StrCat("the dashboard cannot grade the day ending ",
                       absl::FormatTime(absl::FromUnixMicros(key)), ": ",
                       survey.status().message()));
      continue;
    }
    Day day;
    day.at = absl::FromUnixMicros(key);
    day.share = view::CompliantShare(survey->grades);
    for (const v1::ControlGrade& control : survey->grades.controls()) {
      day.grades[control.control_id()] = control.grade();
    }
    day.survey = std::make_shared<const FleetSurvey>(*std::move(survey));
    absl::MutexLock lock(&mu_);
    days_by_end_[key] = std::move(day);
    // Beyond twice the window: forget the oldest (as-of pages want more).
    while (days_by_end_.size() > static_cast<size_t>(2 * days_ + 400)) {
      days_by_end_.erase(days_by_end_.begin());
    }
  }
}

}  // namespace evidentia::collector::web
