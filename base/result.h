// Result<T> holds either a value or a non-OK Status. It stands in for
// std::expected, which clang 14 (our fuzzing compiler) lacks.
//
//   Result<TextOp> op = Decode(bytes);
//   if (!op.ok()) return op.status();
//   Use(*op);
//
// Thread safety: a value type, like the T it holds.
#ifndef QUIRE_BASE_RESULT_H_
#define QUIRE_BASE_RESULT_H_

#include <cassert>
#include <optional>
#include <utility>

#include "base/status.h"

namespace quire {

template <typename T>
class [[nodiscard]] Result {
 public:
  // Implicit on purpose, so a function can `return value;` or `return status;`.
  Result(T value) : value_(std::move(value)) {}  // NOLINT
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    assert(!status_.ok() && "a Result built from a Status must hold an error");
    if (status_.ok()) status_ = Status(StatusCode::kInternal, "Result from OK status");
  }

  bool ok() const { return value_.has_value(); }
  // OK when a value is held.
  const Status& status() const { return status_; }

  // REQUIRES: ok().
  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace quire

// Evaluates `rexpr` (a Result); on error returns its Status, else moves the
// value into `lhs` (a declaration or an lvalue).
#define QUIRE_ASSIGN_OR_RETURN(lhs, rexpr) \
  QUIRE_ASSIGN_OR_RETURN_IMPL_(QUIRE_CONCAT_(quire_result_, __LINE__), lhs, rexpr)
#define QUIRE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                 \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()
#define QUIRE_CONCAT_(a, b) QUIRE_CONCAT_INNER_(a, b)
#define QUIRE_CONCAT_INNER_(a, b) a##b

#endif  // QUIRE_BASE_RESULT_H_
