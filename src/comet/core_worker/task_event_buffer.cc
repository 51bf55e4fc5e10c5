#include "src/comet/core_worker/task_event_buffer.h"

#include <utility>

namespace comet::core {

TaskEventBuffer::TaskEventBuffer(gcs_client::GcsRpcClient* gcs,
                                 absl::Duration flush_period, size_t max_buffered,
                                 std::shared_ptr<const rpc::AuthStats> auth_stats)
    : gcs_(gcs),
      flush_period_(flush_period),
      max_buffered_(max_buffered),
      auth_stats_(std::move(auth_stats)) {
  thread_ = std::thread([this] { Run(); });
}

TaskEventBuffer::~TaskEventBuffer() { Stop(); }

void TaskEventBuffer::Record(rpc::TaskEvent event) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  if (events_.size() >= max_buffered_) {
    events_.pop_front();
    ++dropped_;
  }
  events_.push_back(std::move(event));
}

void TaskEventBuffer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  Flush(absl::Seconds(1));
}

void TaskEventBuffer::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, absl::ToChronoMilliseconds(flush_period_), [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    Flush(absl::Seconds(5));
    lock.lock();
  }
}

void TaskEventBuffer::Flush(absl::Duration deadline) {
  rpc::AddTaskEventDataRequest request;
  const int64_t refused = auth_stats_->refused.load(std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (events_.empty() && dropped_ == 0 && refused == refused_reported_) return;
    for (rpc::TaskEvent& event : events_) *request.add_events() = std::move(event);
    events_.clear();
    request.set_num_dropped(dropped_);
    dropped_ = 0;
    request.set_num_unauthenticated(refused - refused_reported_);
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  rpc::AddTaskEventDataReply reply;
  grpc::Status status = gcs_->tasks().AddTaskEventData(&ctx, request, &reply);
  std::lock_guard<std::mutex> lock(mu_);
  if (status.ok()) {
    refused_reported_ += request.num_unauthenticated();
    return;
  }
  dropped_ += request.num_dropped();
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
      status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
    dropped_ += request.events_size();  // refused: sending again would not help
    return;
  }
  // The GCS is away (restarting): the batch goes out with the next flush,
  // ahead of what was recorded since, within the bound.
  auto* batch = request.mutable_events();
  for (int i = batch->size() - 1; i >= 0; --i) {
    if (events_.size() >= max_buffered_) {
      dropped_ += i + 1;
      break;
    }
    events_.push_front(std::move(*batch->Mutable(i)));
  }
}

}  // namespace comet::core
