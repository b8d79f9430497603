// Structured logging: one JSON object per line on stderr (or logfmt), with
// a timestamp, level, message and key/value fields:
//   {"ts":"2026-11-26T10:00:00.123Z","level":"info","msg":"listening","addr":":4040"}
// Thread-safe; lines are written whole.
#ifndef STACKHOUSE_BASE_LOG_H_
#define STACKHOUSE_BASE_LOG_H_

#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace stackhouse {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

struct LogField {
  std::string key;
  std::string value;
  bool quote = true;  // false for numbers and booleans in JSON
  LogField(std::string k, std::string v) : key(std::move(k)), value(std::move(v)) {}
  LogField(std::string k, const char* v) : key(std::move(k)), value(v) {}
  LogField(std::string k, std::string_view v) : key(std::move(k)), value(v) {}
  template <typename T>
    requires std::is_integral_v<T>
  LogField(std::string k, T v) : key(std::move(k)), value(std::to_string(v)), quote(false) {}
  LogField(std::string k, double v);
};

// Global settings (set once at startup).
void SetLogLevel(LogLevel level);
bool ParseLogLevel(std::string_view name, LogLevel* level);
void SetLogFormat(bool json);  // false = logfmt
// Redirects output, for tests; nullptr restores stderr.
void SetLogSink(void (*sink)(const std::string& line));

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});
inline void LogInfo(std::string_view msg, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kInfo, msg, f);
}
inline void LogWarn(std::string_view msg, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kWarn, msg, f);
}
inline void LogError(std::string_view msg, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kError, msg, f);
}

}  // namespace stackhouse

#endif  // STACKHOUSE_BASE_LOG_H_
