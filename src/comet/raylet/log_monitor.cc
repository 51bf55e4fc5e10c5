#include "src/comet/raylet/log_monitor.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "src/comet/common/logging.h"

namespace comet::raylet {
namespace {

constexpr absl::string_view kPrefix = "worker-";
constexpr absl::string_view kOut = ".out";
constexpr absl::string_view kErr = ".err";

// Proto overhead of one chunk besides its lines, roughly.
constexpr size_t kChunkOverhead = 64;

}  // namespace

// The messages one flush publishes: per job, the batch being filled, and
// the full ones.
struct LogMonitor::Batches {
  struct Open {
    rpc::PubMessage message;
    size_t bytes = 0;
  };
  absl::flat_hash_map<JobID, Open> open;
  std::vector<rpc::PubMessage> full;

  void Add(const JobID& job, rpc::WorkerLogLines chunk, size_t bytes,
           size_t max_bytes) {
    auto [it, fresh] = open.try_emplace(job);
    Open& batch = it->second;
    if (fresh) {
      batch.message.set_channel(rpc::LOG_CHANNEL);
      batch.message.set_key(job.Binary());
    } else if (batch.bytes + bytes > max_bytes) {
      full.push_back(std::move(batch.message));
      batch = Open{};
      batch.message.set_channel(rpc::LOG_CHANNEL);
      batch.message.set_key(job.Binary());
    }
    *batch.message.mutable_log_batch()->add_chunks() = std::move(chunk);
    batch.bytes += bytes;
  }

  std::vector<rpc::PubMessage> Take() {
    for (auto& [job, batch] : open) full.push_back(std::move(batch.message));
    open.clear();
    return std::move(full);
  }
};

absl::StatusOr<std::unique_ptr<LogMonitor>> LogMonitor::Start(
    boost::asio::io_context& io, LogMonitorOptions options, Lookup lookup,
    Publish publish) {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("inotify_init1: ", std::strerror(errno)));
  }
  if (inotify_add_watch(fd, options.log_dir.c_str(), IN_MODIFY) < 0) {
    int err = errno;
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot watch the log folder ", options.log_dir, ": ", std::strerror(err)));
  }
  std::unique_ptr<LogMonitor> monitor(new LogMonitor(
      io, std::move(options), std::move(lookup), std::move(publish), fd));
  monitor->WaitForEvents();
  return monitor;
}

LogMonitor::LogMonitor(boost::asio::io_context& io, LogMonitorOptions options,
                       Lookup lookup, Publish publish, int inotify_fd)
    : io_(io),
      options_(std::move(options)),
      lookup_(std::move(lookup)),
      publish_(std::move(publish)),
      inotify_(io, inotify_fd),
      timer_(io) {}

LogMonitor::~LogMonitor() {
  *alive_ = false;
  boost::system::error_code ignored;
  inotify_.close(ignored);
  timer_.cancel();
  for (auto& [name, file] : files_) {
    if (file->fd >= 0) close(file->fd);
  }
}

void LogMonitor::WaitForEvents() {
  inotify_.async_read_some(
      boost::asio::buffer(events_),
      [this, alive = alive_](const boost::system::error_code& error, size_t bytes) {
        if (!*alive || error == boost::asio::error::operation_aborted) return;
        if (error) {
          COMET_LOG(WARNING) << "log monitor stops: inotify read: " << error.message();
          return;
        }
        OnEvents(bytes);
        WaitForEvents();
      });
}

void LogMonitor::OnEvents(size_t bytes) {
  size_t at = 0;
  while (at + sizeof(inotify_event) <= bytes) {
    const auto* event = reinterpret_cast<const inotify_event*>(events_.data() + at);
    at += sizeof(inotify_event) + event->len;
    if (event->mask & IN_Q_OVERFLOW) {
      for (const auto& [name, file] : files_) dirty_.insert(name);
      continue;
    }
    if (event->len == 0) continue;
    std::string name(event->name);  // NUL-padded
    if (FileFor(name) != nullptr) dirty_.insert(std::move(name));
  }
  if (!dirty_.empty()) ArmFlush();
}

void LogMonitor::ArmFlush() {
  if (flush_armed_) return;
  flush_armed_ = true;
  timer_.expires_after(absl::ToChronoNanoseconds(options_.flush_delay));
  timer_.async_wait([this, alive = alive_](const boost::system::error_code& error) {
    if (!*alive || error) return;
    flush_armed_ = false;
    FlushNow();
  });
}

LogMonitor::File* LogMonitor::FileFor(const std::string& name) {
  auto it = files_.find(name);
  if (it != files_.end()) return it->second.get();
  absl::string_view view(name);
  if (!absl::ConsumePrefix(&view, kPrefix)) return nullptr;
  bool is_err = absl::ConsumeSuffix(&view, kErr);
  if (!is_err && !absl::ConsumeSuffix(&view, kOut)) return nullptr;
  absl::StatusOr<WorkerID> worker_id = WorkerID::FromHex(view);
  if (!worker_id.ok() || exited_.contains(*worker_id)) return nullptr;
  auto file = std::make_unique<File>();
  file->worker_id = *worker_id;
  file->is_err = is_err;
  return files_.emplace(name, std::move(file)).first->second.get();
}

bool LogMonitor::Drain(File& file, const std::optional<WorkerLogSource>& source,
                       bool final, Batches* out) {
  if (file.fd < 0) {
    std::string path = absl::StrCat(options_.log_dir, "/", kPrefix,
                                    file.worker_id.Hex(), file.is_err ? kErr : kOut);
    file.fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (file.fd < 0) return false;  // not there (yet, or any more)
  }
  std::vector<NamedLines> lines;
  auto keep = [&lines](std::vector<NamedLines> more) {
    for (NamedLines& run : more) lines.push_back(std::move(run));
  };
  char buffer[64 << 10];
  size_t read_total = 0;
  bool more = false;
  while (true) {
    if (!final && read_total >= options_.max_read_bytes) {
      more = true;
      break;
    }
    ssize_t n = pread(file.fd, buffer, sizeof(buffer), file.offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    file.offset += n;
    read_total += static_cast<size_t>(n);
    keep(file.parser.Feed(absl::string_view(buffer, static_cast<size_t>(n))));
  }
  if (final) keep(file.parser.Flush());
  if (!source.has_value() || source->job_id.IsNil()) return more;
  for (NamedLines& run : lines) {
    rpc::WorkerLogLines chunk;
    chunk.set_ip(options_.ip);
    chunk.set_pid(source->pid);
    chunk.set_worker_id(file.worker_id.Binary());
    chunk.set_name(std::move(run.name));
    chunk.set_is_actor(run.is_actor);
    chunk.set_is_err(file.is_err);
    size_t bytes = kChunkOverhead;
    for (std::string& line : run.lines) {
      if (chunk.lines_size() > 0 && bytes + line.size() > options_.max_batch_bytes) {
        out->Add(source->job_id, chunk, bytes, options_.max_batch_bytes);
        chunk.clear_lines();
        bytes = kChunkOverhead;
      }
      bytes += line.size() + 4;
      *chunk.add_lines() = std::move(line);
      ++lines_published_;
    }
    out->Add(source->job_id, std::move(chunk), bytes, options_.max_batch_bytes);
  }
  return more;
}

void LogMonitor::FlushNow() {
  Batches batches;
  absl::flat_hash_set<std::string> dirty = std::move(dirty_);
  dirty_.clear();
  for (const std::string& name : dirty) {
    File* file = FileFor(name);
    if (file == nullptr) continue;
    if (Drain(*file, lookup_(file->worker_id), /*final=*/false, &batches)) {
      dirty_.insert(name);
    }
  }
  for (rpc::PubMessage& message : batches.Take()) publish_(std::move(message));
  if (!dirty_.empty()) ArmFlush();
}

void LogMonitor::OnWorkerExit(const WorkerID& worker_id,
                              const WorkerLogSource& source) {
  Batches batches;
  exited_.insert(worker_id);
  for (absl::string_view suffix : {kOut, kErr}) {
    std::string name = absl::StrCat(kPrefix, worker_id.Hex(), suffix);
    auto it = files_.find(name);
    File* file = it != files_.end() ? it->second.get() : nullptr;
    std::unique_ptr<File> unseen;  // a file no event announced yet
    if (file == nullptr) {
      unseen = std::make_unique<File>();
      unseen->worker_id = worker_id;
      unseen->is_err = suffix == kErr;
      file = unseen.get();
    }
    Drain(*file, source, /*final=*/true, &batches);
    if (file->fd >= 0) close(file->fd);
    files_.erase(name);
    dirty_.erase(name);
  }
  for (rpc::PubMessage& message : batches.Take()) publish_(std::move(message));
}

}  // namespace comet::raylet
