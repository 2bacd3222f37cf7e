// Structured logs: one line per event on stderr, through spdlog, as logfmt
// (the default) or JSON (--log-format), filtered by --log-level.
//
//   ts=2024-05-01T12:00:00.123Z level=info event=session_closed session=7 user=alice close=1000
//   {"ts":"2024-05-01T12:00:00.123Z","level":"info","event":"session_closed","session":7,...}
//
// Fields are what an operator filters on: event, doc, user, session, ip,
// code (a protocol error or close code), reason. Callers never pass a
// token or document text; values are escaped, so a user id with quotes or
// newlines stays on its line.
//
//   Log(LogLevel::kWarn, "auth_refused").Ip(ip).Code(300).Reason(check.reason);
//
// The line is written when the temporary is destroyed, at the end of the
// statement; a line below the level costs one atomic load.
//
// Thread safety: InitLog once at start (before threads); Log from any thread.
#ifndef QUIRE_SERVER_LOG_H_
#define QUIRE_SERVER_LOG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace quire::server {

enum class LogLevel : uint8_t { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };
enum class LogFormat : uint8_t { kLogfmt, kJson };

// `format`: "logfmt" or "json"; `level`: debug, info, warn, error, off.
// InvalidArgument for anything else.
Status InitLog(std::string_view format, std::string_view level);
bool LogEnabled(LogLevel level);

class LogLine {
 public:
  LogLine(LogLevel level, std::string_view event);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  LogLine& Str(std::string_view key, std::string_view value);
  LogLine& Int(std::string_view key, int64_t value);
  LogLine& Doc(std::string_view doc) { return Str("doc", doc); }
  LogLine& User(std::string_view user) { return Str("user", user); }
  LogLine& Session(uint64_t id) { return Int("session", static_cast<int64_t>(id)); }
  LogLine& Ip(std::string_view ip) { return Str("ip", ip); }
  LogLine& Code(int code) { return Int("code", code); }
  LogLine& Reason(std::string_view reason) { return Str("reason", reason); }

 private:
  bool enabled_;
  LogLevel level_;
  std::string event_;
  // Values already encoded for the format (quoted strings, bare numbers).
  std::vector<std::pair<std::string, std::string>> fields_;
};

inline LogLine Log(LogLevel level, std::string_view event) { return LogLine(level, event); }

// One line without the timestamp's variability: for tests.
std::string FormatLogLine(LogFormat format, std::string_view ts, LogLevel level,
                          std::string_view event,
                          const std::vector<std::pair<std::string, std::string>>& raw_fields);
// Encodes a string value for `format` (quoted and escaped as needed).
std::string EncodeLogString(LogFormat format, std::string_view value);

}  // namespace quire::server

#endif  // QUIRE_SERVER_LOG_H_
