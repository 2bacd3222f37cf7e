// Status is the error channel of Quire's core and storage layers: an error
// code plus a human-readable message, or OK. It is cheap to copy when OK.
//
// Thread safety: a Status is a value; distinct objects may be used
// concurrently.
#ifndef QUIRE_BASE_STATUS_H_
#define QUIRE_BASE_STATUS_H_

#include <string>
#include <string_view>
#include <utility>

namespace quire {

// Stable numeric codes: they travel in protocol error messages and CLI exit
// paths, so never renumber them.
enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,  // Malformed input from outside.
  kOutOfRange = 2,  // Input that is well-formed but does not fit (e.g. an op longer than the text).
  kCorruption = 3,  // Stored or encoded bytes that do not decode.
  kNotFound = 4,
  kUnimplemented = 5,
  kResourceExhausted = 6,  // A limit was hit.
  kIoError = 7,            // The disk or file system failed (or a file is missing).
  kInternal = 8,           // Quire misused from inside (e.g. a call from the wrong thread).
  kFailedPrecondition = 9,  // Well-formed, but contradicts what it claims to build on
                            // (e.g. a change whose origins were not adjacent in its causal past).
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "InvalidArgument: <message>", or "OK".
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}
inline Status OutOfRange(std::string message) {
  return Status(StatusCode::kOutOfRange, std::move(message));
}
inline Status Corruption(std::string message) {
  return Status(StatusCode::kCorruption, std::move(message));
}
inline Status NotFound(std::string message) {
  return Status(StatusCode::kNotFound, std::move(message));
}
inline Status ResourceExhausted(std::string message) {
  return Status(StatusCode::kResourceExhausted, std::move(message));
}
inline Status IoError(std::string message) {
  return Status(StatusCode::kIoError, std::move(message));
}
inline Status FailedPrecondition(std::string message) {
  return Status(StatusCode::kFailedPrecondition, std::move(message));
}
inline Status Internal(std::string message) {
  return Status(StatusCode::kInternal, std::move(message));
}

}  // namespace quire

// Returns early from the enclosing function when `expr` is not OK.
#define QUIRE_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::quire::Status quire_status_ = (expr);        \
    if (!quire_status_.ok()) return quire_status_; \
  } while (0)

#endif  // QUIRE_BASE_STATUS_H_
