// LogMonitor: streams what this node's workers write to their log files,
// <log_dir>/worker-<worker id hex>.out (stdout) and .err (stderr), to the
// GCS's LOG_CHANNEL, where the drivers of each worker's job read it and
// print it (Ray's log monitor, inside the raylet).
//
// inotify watches the log folder: a write to a worker's file marks it dirty
// and arms a short timer (flush_delay, so that a burst of writes is read in
// one go); when it fires, each dirty file is read from where the last read
// ended, cut into lines by its WorkerLogParser, and the lines are published
// as one LogBatch per job (keyed by the job's id), each at most
// max_batch_bytes. A worker not bound to a job yet (lookup says nil) has
// its lines skipped: they stay in the file only. OnWorkerExit() reads the
// worker's files one last time, unterminated last line included, and closes
// them. Nothing here ever writes or truncates a log file.
//
// Ownership: owns the inotify descriptor, the timer and the open files.
// Thread model: confined to the io_context given to Start(); lookup and
// publish are called there.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <array>
#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/gcs_service.pb.h"
#include "src/comet/common/id.h"
#include "src/comet/raylet/worker_log_parser.h"

namespace comet::raylet {

struct LogMonitorOptions {
  std::string log_dir;
  std::string ip;  // this node's, put on every line
  absl::Duration flush_delay = absl::Milliseconds(5);
  size_t max_batch_bytes = 1 << 20;
  // A file is read at most this much per flush (the rest at the next one,
  // which is armed at once), so one chatty worker cannot stall the thread.
  size_t max_read_bytes = 4 << 20;
};

// Who wrote a file: the worker's job (nil: none yet) and its pid.
struct WorkerLogSource {
  JobID job_id;
  int pid = 0;
};

class LogMonitor {
 public:
  using Lookup = std::function<std::optional<WorkerLogSource>(const WorkerID&)>;
  using Publish = std::function<void(rpc::PubMessage)>;

  // Starts watching options.log_dir (which must exist).
  static absl::StatusOr<std::unique_ptr<LogMonitor>> Start(
      boost::asio::io_context& io, LogMonitorOptions options, Lookup lookup,
      Publish publish);
  ~LogMonitor();

  // The worker's process is gone: its files are read to their end and
  // forgotten. `source` is what it was (the pool has dropped it already).
  void OnWorkerExit(const WorkerID& worker_id, const WorkerLogSource& source);

  // Reads every dirty file now (tests; the timer does this otherwise).
  void FlushNow();

  int64_t lines_published() const { return lines_published_; }

 private:
  struct File {
    WorkerID worker_id;
    bool is_err = false;
    int fd = -1;
    int64_t offset = 0;
    WorkerLogParser parser;
  };
  struct Batches;

  LogMonitor(boost::asio::io_context& io, LogMonitorOptions options,
             Lookup lookup, Publish publish, int inotify_fd);
  void WaitForEvents();
  void OnEvents(size_t bytes);
  void ArmFlush();
  // Reads `file` (to its end when `final`, else up to max_read_bytes) into
  // `out`; returns whether bytes were left unread.
  bool Drain(File& file, const std::optional<WorkerLogSource>& source,
             bool final, Batches* out);
  File* FileFor(const std::string& name);

  boost::asio::io_context& io_;
  const LogMonitorOptions options_;
  Lookup lookup_;
  Publish publish_;
  boost::asio::posix::stream_descriptor inotify_;
  std::array<char, 16 << 10> events_{};
  boost::asio::steady_timer timer_;
  bool flush_armed_ = false;
  // By file name (worker-<hex>.out/.err).
  absl::flat_hash_map<std::string, std::unique_ptr<File>> files_;
  absl::flat_hash_set<std::string> dirty_;
  // Workers whose files were read to the end: later events are ignored.
  absl::flat_hash_set<WorkerID> exited_;
  int64_t lines_published_ = 0;
  // Cleared in the destructor so that pending handlers do nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace comet::raylet
