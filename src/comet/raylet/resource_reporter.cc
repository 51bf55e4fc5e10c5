#include "src/comet/raylet/resource_reporter.h"

namespace comet::raylet {
namespace {

std::chrono::steady_clock::duration ToChrono(absl::Duration d) {
  return std::chrono::microseconds(absl::ToInt64Microseconds(d));
}

}  // namespace

ResourceReporter::ResourceReporter(boost::asio::io_context& io,
                                   ResourceReporterOptions options, SendFn send)
    : io_(io),
      options_(options),
      send_(std::move(send)),
      timer_(io),
      self_(std::make_shared<ResourceReporter*>(this)) {}

ResourceReporter::~ResourceReporter() {
  *self_ = nullptr;
  Stop();
}

void ResourceReporter::Start() {
  if (running_) return;
  running_ = true;
  dirty_ = true;
  last_sent_ = Clock::time_point::min();
  Reschedule();
}

void ResourceReporter::MarkChanged() {
  dirty_ = true;
  Reschedule();
}

void ResourceReporter::Stop() {
  running_ = false;
  ++timer_generation_;
  timer_.cancel();
}

void ResourceReporter::Reschedule() {
  if (!running_ || in_flight_) return;  // Completion reschedules.
  Clock::duration wait =
      ToChrono(dirty_ ? options_.min_interval : options_.max_interval);
  Clock::time_point due =
      last_sent_ == Clock::time_point::min() ? Clock::now() : last_sent_ + wait;
  if (due <= Clock::now()) {
    Send();
    return;
  }
  uint64_t generation = ++timer_generation_;
  timer_.expires_at(due);
  std::weak_ptr<ResourceReporter*> weak = self_;
  timer_.async_wait([weak, generation](const boost::system::error_code& error) {
    auto self = weak.lock();
    if (error || !self || *self == nullptr) return;
    if ((*self)->timer_generation_ != generation) return;
    (*self)->Reschedule();
  });
}

void ResourceReporter::Send() {
  in_flight_ = true;
  dirty_ = false;
  last_sent_ = Clock::now();
  ++timer_generation_;
  timer_.cancel();
  ++num_sent_;
  std::weak_ptr<ResourceReporter*> weak = self_;
  send_([weak] {
    auto self = weak.lock();
    if (!self || *self == nullptr) return;
    (*self)->in_flight_ = false;
    (*self)->Reschedule();
  });
}

}  // namespace comet::raylet
