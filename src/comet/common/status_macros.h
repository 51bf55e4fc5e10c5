// Status helpers missing from Debian's Abseil (20220623): RETURN_IF_ERROR and
// ASSIGN_OR_RETURN. Header-only, no state.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define COMET_CONCAT_INNER_(a, b) a##b
#define COMET_CONCAT_(a, b) COMET_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` yields a non-OK status.
#define RETURN_IF_ERROR(expr)                  \
  do {                                         \
    ::absl::Status _comet_status = (expr);     \
    if (!_comet_status.ok()) return _comet_status; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, Foo());` binds the value of a StatusOr or returns
// its error status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(COMET_CONCAT_(_comet_statusor_, __LINE__), lhs, expr)

#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(tmp).value()
