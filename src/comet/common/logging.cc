#include "src/comet/common/logging.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace comet {
namespace log_internal {

std::atomic<int> min_level{static_cast<int>(LogLevel::kInfo)};

}  // namespace log_internal

namespace {

// Where lines go. Leaked on purpose so that logging from static destructors
// and other threads at exit stays valid.
struct Sink {
  absl::Mutex mu;
  int fd ABSL_GUARDED_BY(mu) = -1;
  std::string path ABSL_GUARDED_BY(mu);
};

Sink& GetSink() {
  static Sink* sink = new Sink;
  return *sink;
}

void WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // Nowhere left to report a logging failure.
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void WriteLine(LogLevel level, absl::string_view line) {
  Sink& sink = GetSink();
  absl::MutexLock lock(&sink.mu);
  if (sink.fd < 0) {
    WriteAll(STDERR_FILENO, line);
    return;
  }
  WriteAll(sink.fd, line);
  if (level == LogLevel::kFatal) WriteAll(STDERR_FILENO, line);
}

char LevelLetter(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return 'D';
    case LogLevel::kInfo:
      return 'I';
    case LogLevel::kWarning:
      return 'W';
    case LogLevel::kError:
      return 'E';
    case LogLevel::kFatal:
      return 'F';
  }
  return '?';
}

long ThreadId() {
  thread_local long tid = syscall(SYS_gettid);
  return tid;
}

absl::string_view Basename(absl::string_view path) {
  size_t slash = path.rfind('/');
  return slash == absl::string_view::npos ? path : path.substr(slash + 1);
}

// Opens <log_dir>/<component>.<pid>.log for appending, creating log_dir.
absl::StatusOr<int> OpenLogFile(absl::string_view component,
                                absl::string_view log_dir, std::string* path) {
  std::error_code error;
  std::filesystem::create_directories(std::string(log_dir), error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot create log directory ",
                                            log_dir, ": ", error.message()));
  }
  *path = absl::StrCat(log_dir, "/", component, ".", getpid(), ".log");
  int fd =
      ::open(path->c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot open log file ", *path,
                                            ": ", std::strerror(errno)));
  }
  return fd;
}

// Installs `fd` (may be -1 for stderr) as the sink, closing the old file.
void ReplaceSink(int fd, std::string path) {
  Sink& sink = GetSink();
  int old_fd;
  {
    absl::MutexLock lock(&sink.mu);
    old_fd = sink.fd;
    sink.fd = fd;
    sink.path = std::move(path);
  }
  if (old_fd >= 0) ::close(old_fd);
}

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name) {
  std::string lower = absl::AsciiStrToLower(name);
  if (lower == "debug") return LogLevel::kDebug;
  if (lower == "info") return LogLevel::kInfo;
  if (lower == "warning" || lower == "warn") return LogLevel::kWarning;
  if (lower == "error") return LogLevel::kError;
  if (lower == "fatal") return LogLevel::kFatal;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log level \"", name,
                   "\" (expected debug, info, warning, error or fatal)"));
}

absl::Status InitLogging(absl::string_view component, absl::string_view log_dir,
                         absl::string_view level) {
  absl::StatusOr<LogLevel> parsed = ParseLogLevel(level);
  if (!parsed.ok()) return parsed.status();
  int fd = -1;
  std::string path;
  if (!log_dir.empty()) {
    absl::StatusOr<int> opened = OpenLogFile(component, log_dir, &path);
    if (!opened.ok()) return opened.status();
    fd = *opened;
  }
  ReplaceSink(fd, std::move(path));
  SetLogLevel(*parsed);
  return absl::OkStatus();
}

void ShutdownLogging() { ReplaceSink(-1, ""); }

std::string LogFilePath() {
  Sink& sink = GetSink();
  absl::MutexLock lock(&sink.mu);
  return sink.path;
}

void SetLogLevel(LogLevel level) {
  log_internal::min_level.store(static_cast<int>(level),
                                std::memory_order_relaxed);
}

LogLevel GetLogLevel() {
  return static_cast<LogLevel>(
      log_internal::min_level.load(std::memory_order_relaxed));
}

namespace log_internal {

LogMessage::LogMessage(const char* file, int line, LogLevel level)
    : file_(file), line_(line), level_(level) {}

LogMessage::~LogMessage() { Flush(); }

void LogMessage::Flush() {
  if (flushed_) return;
  flushed_ = true;
  std::string line = absl::StrCat(
      absl::FormatTime("%Y-%m-%d %H:%M:%E6S", absl::Now(),
                       absl::LocalTimeZone()),
      " ", std::string(1, LevelLetter(level_)), " ", getpid(), " ", ThreadId(),
      " ", Basename(file_), ":", line_, "] ", stream_.str(), "\n");
  WriteLine(level_, line);
}

LogMessageFatal::LogMessageFatal(const char* file, int line)
    : LogMessage(file, line, LogLevel::kFatal) {}

LogMessageFatal::~LogMessageFatal() {
  Flush();
  std::abort();
}

}  // namespace log_internal
}  // namespace comet
