#include "base/log.h"

#include "base/time_parse.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "base/strings.h"

namespace stackhouse {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<bool> g_json{true};
std::atomic<void (*)(const std::string&)> g_sink{nullptr};
std::mutex g_mu;

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

std::string Timestamp() {
  return FormatRfc3339(std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
}

void AppendLogfmtValue(std::string* out, std::string_view v) {
  bool plain = !v.empty();
  for (char c : v) plain &= c > ' ' && c != '"' && c != '=' && c != '\\';
  if (plain) {
    out->append(v);
    return;
  }
  out->push_back('"');
  AppendJsonEscaped(out, v);
  out->push_back('"');
}

}  // namespace

LogField::LogField(std::string k, double v) : key(std::move(k)), quote(false) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  value = buf;
}

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }
void SetLogFormat(bool json) { g_json = json; }
void SetLogSink(void (*sink)(const std::string&)) { g_sink = sink; }

bool ParseLogLevel(std::string_view name, LogLevel* level) {
  if (name == "debug") *level = LogLevel::kDebug;
  else if (name == "info") *level = LogLevel::kInfo;
  else if (name == "warn" || name == "warning") *level = LogLevel::kWarn;
  else if (name == "error") *level = LogLevel::kError;
  else return false;
  return true;
}

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (static_cast<int>(level) < g_level.load(std::memory_order_relaxed)) return;
  std::string line;
  if (g_json.load()) {
    line = "{\"ts\":\"" + Timestamp() + "\",\"level\":\"" + LevelName(level) + "\",\"msg\":\"";
    AppendJsonEscaped(&line, msg);
    line += '"';
    for (const LogField& f : fields) {
      line += ",\"";
      AppendJsonEscaped(&line, f.key);
      line += "\":";
      if (f.quote) {
        line += '"';
        AppendJsonEscaped(&line, f.value);
        line += '"';
      } else {
        line += f.value;
      }
    }
    line += "}";
  } else {
    line = "ts=" + Timestamp() + " level=" + LevelName(level) + " msg=";
    AppendLogfmtValue(&line, msg);
    for (const LogField& f : fields) {
      line += ' ';
      line += f.key;
      line += '=';
      AppendLogfmtValue(&line, f.value);
    }
  }
  line += '\n';
  if (auto sink = g_sink.load()) {
    sink(line);
    return;
  }
  std::lock_guard lock(g_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace stackhouse
