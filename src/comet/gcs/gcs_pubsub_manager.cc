#include "src/comet/gcs/gcs_pubsub_manager.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace comet::gcs {

GcsPubSubManager::GcsPubSubManager(boost::asio::io_context& io_context)
    : io_context_(io_context) {}

GcsPubSubManager::~GcsPubSubManager() = default;

rpc::PollReply GcsPubSubManager::ToReply(PollResult result) {
  rpc::PollReply reply;
  reply.set_latest_sequence(result.latest_sequence);
  reply.mutable_messages()->Reserve(static_cast<int>(result.messages.size()));
  for (rpc::PubMessage& message : result.messages) {
    *reply.add_messages() = std::move(message);
  }
  return reply;
}

absl::Status GcsPubSubManager::CheckRequest(const rpc::PollRequest& request) {
  int logs = 0;
  for (int channel : request.channels()) {
    logs += IsLogChannel(static_cast<rpc::ChannelType>(channel)) ? 1 : 0;
  }
  if (logs > 0 && logs != request.channels_size()) {
    return absl::InvalidArgumentError(
        "a poll names LOG_CHANNEL alone or only other channels");
  }
  return absl::OkStatus();
}

int64_t GcsPubSubManager::Publish(rpc::PubMessage message) {
  GcsPubSub& ring = RingFor(message.channel());
  GcsPubSub::Published published = ring.Publish(std::move(message));
  for (auto& [id, result] : published.completed) {
    Complete(id, std::move(result));
  }
  return published.sequence;
}

void GcsPubSubManager::Poll(PollerId id, const rpc::PollRequest& request,
                            PollCallback callback) {
  PollSpec spec;
  spec.after_sequence = request.after_sequence();
  for (int channel : request.channels()) {
    spec.channels.push_back(static_cast<rpc::ChannelType>(channel));
  }
  spec.keys.assign(request.keys().begin(), request.keys().end());
  GcsPubSub& ring = spec.channels.empty() ? pubsub_ : RingFor(spec.channels[0]);
  int64_t timeout_ms = std::min(request.timeout_ms(), kMaxPollTimeoutMs);
  bool may_wait = timeout_ms > 0 && !shut_down_ && !waiters_.contains(id);
  std::optional<PollResult> now = ring.Poll(id, std::move(spec), may_wait);
  if (now.has_value()) {
    callback(ToReply(*std::move(now)));
    return;
  }
  Waiter& waiter = waiters_[id];
  waiter.ring = &ring;
  waiter.callback = std::move(callback);
  waiter.timer = std::make_unique<boost::asio::steady_timer>(
      io_context_, std::chrono::milliseconds(timeout_ms));
  waiter.timer->async_wait([this, id](const boost::system::error_code& error) {
    if (!error) Cancel(id);
  });
}

void GcsPubSubManager::Cancel(PollerId id) {
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return;
  std::optional<PollResult> result = it->second.ring->Cancel(id);
  if (result.has_value()) Complete(id, *std::move(result));
}

void GcsPubSubManager::Shutdown() {
  shut_down_ = true;
  for (GcsPubSub* ring : {&pubsub_, &logs_}) {
    for (PollerId id : ring->WaitingPollers()) Cancel(id);
  }
}

void GcsPubSubManager::Complete(PollerId id, PollResult result) {
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return;
  Waiter waiter = std::move(it->second);
  waiters_.erase(it);
  waiter.timer->cancel();
  waiter.callback(ToReply(std::move(result)));
}

}  // namespace comet::gcs
