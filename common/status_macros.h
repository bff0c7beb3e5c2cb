// Early-return helpers for absl::Status and absl::StatusOr<T>, the error
// vocabulary of every Evidentia API.
#ifndef EVIDENTIA_COMMON_STATUS_MACROS_H_
#define EVIDENTIA_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define EVIDENTIA_CONCAT_INNER(a, b) a##b
#define EVIDENTIA_CONCAT(a, b) EVIDENTIA_CONCAT_INNER(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define RETURN_IF_ERROR(expr)                              \
  do {                                                     \
    ::absl::Status evidentia_status_ = (expr);             \
    if (!evidentia_status_.ok()) return evidentia_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, F());` binds the value or returns the error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(EVIDENTIA_CONCAT(evidentia_or_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()

#endif  // EVIDENTIA_COMMON_STATUS_MACROS_H_
