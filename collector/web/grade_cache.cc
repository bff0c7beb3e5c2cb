#include "collector/web/grade_cache.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace evidentia::collector::web {

GradeCache::GradeCache(OperatorApi& api, Clock clock, Options options)
    : api_(api), clock_(std::move(clock)), options_(options) {
  refresher_ = std::thread([this] { Refresh(); });
}

GradeCache::~GradeCache() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  refresher_.join();
}

bool GradeCache::Fresh(const Graded& graded, absl::Time now) const {
  if (graded.generation < floor_) return false;
  const absl::Duration age = now - graded.at;
  if (age < absl::ZeroDuration() || age >= options_.max_age) return false;
  if (graded.generation == api_.Generation()) return true;
  // Changed since: recomputed, unless that was dear and recent.
  return graded.took >= options_.on_request &&
         age < graded.took * options_.cost_factor;
}

absl::StatusOr<std::shared_ptr<const GradeCache::Graded>> GradeCache::Now(
    const Caller& caller) {
  {
    absl::MutexLock lock(&mu_);
    if (graded_ != nullptr) {
      const absl::Time now = clock_();
      if (Fresh(*graded_, now)) return graded_;
      const absl::Duration age = now - graded_->at;
      if (graded_->generation >= floor_ &&
          graded_->took >= options_.on_request && age >= absl::ZeroDuration() &&
          age < options_.max_stale) {
        wanted_ = true;
        return graded_;
      }
    }
  }
  return Compute(caller);
}

absl::StatusOr<std::shared_ptr<const GradeCache::Graded>> GradeCache::Compute(
    const Caller& caller) {
  absl::MutexLock computing(&compute_mu_);
  {
    // Another request may have computed them while this one waited.
    absl::MutexLock lock(&mu_);
    if (graded_ != nullptr && Fresh(*graded_, clock_())) return graded_;
  }
  auto graded = std::make_shared<Graded>();
  // Read before grading: a change during it makes the next request grade.
  graded->generation = api_.Generation();
  graded->at = clock_();
  const absl::Time started = absl::Now();
  ASSIGN_OR_RETURN(graded->survey,
                   api_.Survey(caller, v1::GradeRequest(), kSilentHosts));
  graded->took = absl::Now() - started;
  absl::MutexLock lock(&mu_);
  // Begun before an Invalidate: given to its caller, not kept.
  if (graded->generation < floor_) return graded;
  graded_ = std::move(graded);
  controls_.clear();
  return graded_;
}

void GradeCache::Refresh() {
  const Caller caller{Role::kOperator, "web:grades", "collector"};
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](GradeCache* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stopping_ || self->wanted_;
          },
          this));
      if (stopping_) return;
      wanted_ = false;
    }
    absl::StatusOr<std::shared_ptr<const Graded>> graded = Compute(caller);
    if (!graded.ok()) {
      Log(LogLevel::kWarning,
          absl::StrCat("the dashboard cannot grade the fleet: ",
                       graded.status().message()));
    }
  }
}

absl::StatusOr<v1::ControlGrade> GradeCache::Control(
    const Caller& caller, const std::string& control_id) {
  ASSIGN_OR_RETURN(std::shared_ptr<const Graded> graded, Now(caller));
  {
    absl::MutexLock lock(&mu_);
    auto it = controls_.find(control_id);
    if (graded_ == graded && it != controls_.end()) return it->second;
  }
  v1::GetControlRequest request;
  request.set_control_id(control_id);
  ASSIGN_OR_RETURN(v1::ControlGrade control, api_.GetControl(caller, request));
  absl::MutexLock lock(&mu_);
  if (graded_ == graded) controls_[control_id] = control;
  return control;
}

void GradeCache::Invalidate() {
  const uint64_t generation = api_.Generation();
  absl::MutexLock lock(&mu_);
  floor_ = std::max(floor_, generation);
  graded_ = nullptr;
  controls_.clear();
}

}  // namespace evidentia::collector::web
