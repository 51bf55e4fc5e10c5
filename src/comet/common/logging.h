// Process-wide logging: COMET_LOG(level) << ...; and COMET_CHECK(cond).
//
// Every line is "YYYY-MM-DD HH:MM:SS.uuuuuu L pid tid file:line] message",
// written with one write() to <log_dir>/<component>.<pid>.log, or to stderr
// when no log file is open. FATAL lines also go to stderr, then abort().
//
// Ownership and threads: the sink (open fd and path) is process state owned
// by logging.cc behind one mutex; every call here is thread-safe. The
// minimum level is an atomic read before a message is built, so a disabled
// COMET_LOG(DEBUG) << Expensive(); never evaluates its stream operands.
// COMET_CHECK is for broken invariants only, never for peer or user input.
#pragma once

#include <atomic>
#include <sstream>
#include <string>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace comet {

enum class LogLevel : int {
  kDebug = 0,
  kInfo = 1,
  kWarning = 2,
  kError = 3,
  kFatal = 4,
};

// "debug", "info", "warning"/"warn", "error", "fatal" in any case.
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);

// Sets the minimum level and opens <log_dir>/<component>.<pid>.log (creating
// log_dir) in append mode, replacing any previous file. Empty log_dir logs to
// stderr only. On error (bad level, unwritable directory) returns it and
// leaves the previous sink and level in place.
absl::Status InitLogging(absl::string_view component, absl::string_view log_dir,
                         absl::string_view level);

// Closes the log file; later messages go to stderr. Idempotent.
void ShutdownLogging();

// Path of the open log file, or "" when logging to stderr.
std::string LogFilePath();

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();

namespace log_internal {

extern std::atomic<int> min_level;

// Collects one message; its destructor writes the line.
class LogMessage {
 public:
  LogMessage(const char* file, int line, LogLevel level);
  ~LogMessage();
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;

  std::ostream& stream() { return stream_; }

 protected:
  void Flush();

 private:
  const char* file_;
  int line_;
  LogLevel level_;
  bool flushed_ = false;
  std::ostringstream stream_;
};

// A FATAL message: writes, then aborts. Its destructor does not return, so
// the compiler knows code after COMET_LOG(FATAL) / a failed check is dead.
class LogMessageFatal : public LogMessage {
 public:
  LogMessageFatal(const char* file, int line);
  [[noreturn]] ~LogMessageFatal();
};

// Lets the macros below be expressions of type void.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace log_internal

inline bool IsLogLevelEnabled(LogLevel level) {
  return static_cast<int>(level) >=
         log_internal::min_level.load(std::memory_order_relaxed);
}

}  // namespace comet

// COMET_LOG(DEBUG|INFO|WARNING|ERROR|FATAL) << ...;
#define COMET_LOG(level) COMET_LOG_##level

// Logs at a runtime comet::LogLevel (not FATAL-aware; use COMET_LOG(FATAL)).
#define COMET_LOG_AT_LEVEL(level)                                          \
  !::comet::IsLogLevelEnabled(level)                                       \
      ? (void)0                                                            \
      : ::comet::log_internal::Voidify() &                                 \
            ::comet::log_internal::LogMessage(__FILE__, __LINE__, (level)) \
                .stream()

#define COMET_LOG_DEBUG COMET_LOG_AT_LEVEL(::comet::LogLevel::kDebug)
#define COMET_LOG_INFO COMET_LOG_AT_LEVEL(::comet::LogLevel::kInfo)
#define COMET_LOG_WARNING COMET_LOG_AT_LEVEL(::comet::LogLevel::kWarning)
#define COMET_LOG_ERROR COMET_LOG_AT_LEVEL(::comet::LogLevel::kError)
#define COMET_LOG_FATAL \
  ::comet::log_internal::LogMessageFatal(__FILE__, __LINE__).stream()

// COMET_CHECK(invariant) << "context"; logs FATAL with the condition's text.
#define COMET_CHECK(condition)                                                \
  ABSL_PREDICT_TRUE(condition)                                                \
  ? (void)0                                                                   \
  : ::comet::log_internal::Voidify() &                                        \
          ::comet::log_internal::LogMessageFatal(__FILE__, __LINE__).stream() \
              << "Check failed: " #condition " "

// COMET_CHECK_OK(status_expr) << "context"; for statuses that cannot fail
// unless the program is broken.
#define COMET_CHECK_OK(expr)                                          \
  for (const ::absl::Status _comet_check_status = (expr);             \
       ABSL_PREDICT_FALSE(!_comet_check_status.ok());)                \
  ::comet::log_internal::LogMessageFatal(__FILE__, __LINE__).stream() \
      << "Check failed: " #expr " is OK (" << _comet_check_status << ") "
