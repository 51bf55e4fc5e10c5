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

int64_t GcsPubSubManager::Publish(rpc::PubMessage message) {
  GcsPubSub::Published published = pubsub_.Publish(std::move(message));
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
  int64_t timeout_ms = std::min(request.timeout_ms(), kMaxPollTimeoutMs);
  bool may_wait = timeout_ms > 0 && !shut_down_ && !waiters_.contains(id);
  std::optional<PollResult> now = pubsub_.Poll(id, std::move(spec), may_wait);
  if (now.has_value()) {
    callback(ToReply(*std::move(now)));
    return;
  }
  Waiter& waiter = waiters_[id];
  waiter.callback = std::move(callback);
  waiter.timer = std::make_unique<boost::asio::steady_timer>(
      io_context_, std::chrono::milliseconds(timeout_ms));
  waiter.timer->async_wait([this, id](const boost::system::error_code& error) {
    if (!error) Cancel(id);
  });
}

void GcsPubSubManager::Cancel(PollerId id) {
  std::optional<PollResult> result = pubsub_.Cancel(id);
  if (result.has_value()) Complete(id, *std::move(result));
}

void GcsPubSubManager::Shutdown() {
  shut_down_ = true;
  for (PollerId id : pubsub_.WaitingPollers()) Cancel(id);
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
