#include "server/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace quire::server {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::atomic<LogFormat> g_format{LogFormat::kLogfmt};

std::shared_ptr<spdlog::logger>& Logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = std::make_shared<spdlog::logger>(
        "quire", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_pattern("%v");  // The line is formatted here, structured.
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return logger;
}

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
    case LogLevel::kOff: return "off";
  }
  return "info";
}

spdlog::level::level_enum SpdLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
    case LogLevel::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}

std::string Timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  const std::time_t t = static_cast<std::time_t>(ms.count() / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms.count() % 1000));
  return buf;
}

void AppendEscaped(std::string& out, std::string_view value) {
  for (unsigned char c : value) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
}

bool LogfmtBare(std::string_view value) {
  if (value.empty()) return false;
  for (unsigned char c : value) {
    if (c <= ' ' || c == '=' || c == '"' || c == '\\' || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

Status InitLog(std::string_view format, std::string_view level) {
  LogFormat f;
  if (format == "logfmt") {
    f = LogFormat::kLogfmt;
  } else if (format == "json") {
    f = LogFormat::kJson;
  } else {
    return InvalidArgument("--log-format is logfmt or json, not '" + std::string(format) + "'");
  }
  static constexpr LogLevel kLevels[] = {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn,
                                         LogLevel::kError, LogLevel::kOff};
  for (LogLevel l : kLevels) {
    if (LevelName(l) == level) {
      g_format = f;
      g_level = l;
      Logger();  // Created before any thread logs.
      return Status::Ok();
    }
  }
  return InvalidArgument("--log-level is debug, info, warn, error or off, not '" +
                         std::string(level) + "'");
}

bool LogEnabled(LogLevel level) { return level >= g_level.load(std::memory_order_relaxed); }

std::string EncodeLogString(LogFormat format, std::string_view value) {
  std::string out;
  if (format == LogFormat::kLogfmt && LogfmtBare(value)) return std::string(value);
  out.push_back('"');
  AppendEscaped(out, value);
  out.push_back('"');
  return out;
}

std::string FormatLogLine(LogFormat format, std::string_view ts, LogLevel level,
                          std::string_view event,
                          const std::vector<std::pair<std::string, std::string>>& raw_fields) {
  std::string line;
  line.reserve(96);
  if (format == LogFormat::kJson) {
    line += "{\"ts\":\"";
    line += ts;
    line += "\",\"level\":\"";
    line += LevelName(level);
    line += "\",\"event\":";
    line += EncodeLogString(format, event);
    for (const auto& [key, value] : raw_fields) {
      line += ",\"";
      line += key;
      line += "\":";
      line += value;
    }
    line += "}";
  } else {
    line += "ts=";
    line += ts;
    line += " level=";
    line += LevelName(level);
    line += " event=";
    line += EncodeLogString(format, event);
    for (const auto& [key, value] : raw_fields) {
      line += ' ';
      line += key;
      line += '=';
      line += value;
    }
  }
  return line;
}

LogLine::LogLine(LogLevel level, std::string_view event)
    : enabled_(LogEnabled(level)), level_(level) {
  if (enabled_) event_ = event;
}

LogLine::~LogLine() {
  if (!enabled_) return;
  const std::string line = FormatLogLine(g_format.load(), Timestamp(), level_, event_, fields_);
  Logger()->log(SpdLevel(level_), spdlog::string_view_t(line.data(), line.size()));
}

LogLine& LogLine::Str(std::string_view key, std::string_view value) {
  if (enabled_) fields_.emplace_back(std::string(key), EncodeLogString(g_format.load(), value));
  return *this;
}

LogLine& LogLine::Int(std::string_view key, int64_t value) {
  if (enabled_) fields_.emplace_back(std::string(key), std::to_string(value));
  return *this;
}

}  // namespace quire::server
