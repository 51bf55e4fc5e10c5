// ResourceReporter: decides when the node reports its resources to the GCS.
// A change is reported at most `min_interval` after the previous report
// (changes in between coalesce into one report), and a report goes out at
// least every `max_interval` even without changes. At most one report is in
// flight; the snapshot is taken by `send` when a report starts, so it is
// always current.
//
// Ownership: owns its timer; the io_context must outlive it. Thread model:
// confined to the io_context's thread; `send`'s completion must be called
// there too. Completions that arrive after destruction are ignored.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "absl/time/time.h"

namespace comet::raylet {

struct ResourceReporterOptions {
  absl::Duration min_interval = absl::Milliseconds(100);
  absl::Duration max_interval = absl::Seconds(1);
};

class ResourceReporter {
 public:
  // Starts one report; calls `done` on the io thread when it has finished
  // (successfully or not).
  using SendFn = std::function<void(std::function<void()> done)>;

  ResourceReporter(boost::asio::io_context& io, ResourceReporterOptions options,
                   SendFn send);
  ~ResourceReporter();

  // Sends the first report now and keeps reporting until Stop().
  void Start();
  // Availability or demand changed: report soon.
  void MarkChanged();
  // No more reports (one in flight still completes).
  void Stop();

  int64_t num_sent() const { return num_sent_; }

 private:
  using Clock = std::chrono::steady_clock;

  void Reschedule();
  void Send();

  boost::asio::io_context& io_;
  const ResourceReporterOptions options_;
  const SendFn send_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<ResourceReporter*> self_;  // Reset on destruction.
  bool running_ = false;
  bool dirty_ = false;
  bool in_flight_ = false;
  Clock::time_point last_sent_;
  uint64_t timer_generation_ = 0;
  int64_t num_sent_ = 0;
};

}  // namespace comet::raylet
