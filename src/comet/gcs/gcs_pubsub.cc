#include "src/comet/gcs/gcs_pubsub.h"

#include <algorithm>

namespace comet::gcs {

GcsPubSub::GcsPubSub(size_t max_messages, size_t max_bytes)
    : max_messages_(std::max<size_t>(max_messages, 1)), max_bytes_(max_bytes) {}

bool GcsPubSub::Wants(const PollSpec& spec, const rpc::PubMessage& message) {
  auto listed = [](const auto& list, const auto& value) {
    return list.empty() ||
           std::find(list.begin(), list.end(), value) != list.end();
  };
  return listed(spec.channels, message.channel()) &&
         listed(spec.keys, message.key());
}

int64_t GcsPubSub::oldest_sequence() const {
  return ring_.empty() ? latest_sequence_ + 1
                       : ring_.front().message.sequence();
}

PollResult GcsPubSub::Collect(const PollSpec& spec) const {
  PollResult result;
  result.latest_sequence = latest_sequence_;
  if (spec.after_sequence < 0 || spec.after_sequence >= latest_sequence_) {
    return result;
  }
  // Sequences in the ring are consecutive, so the first newer message is at
  // a computable index.
  int64_t skip =
      std::max<int64_t>(spec.after_sequence + 1 - oldest_sequence(), 0);
  size_t bytes = 0;
  for (auto it = ring_.begin() + skip; it != ring_.end(); ++it) {
    if (!Wants(spec, it->message)) continue;
    if (!result.messages.empty() && bytes + it->bytes > kMaxReplyBytes) {
      result.latest_sequence = result.messages.back().sequence();
      break;
    }
    bytes += it->bytes;
    result.messages.push_back(it->message);
  }
  return result;
}

GcsPubSub::Published GcsPubSub::Publish(rpc::PubMessage message) {
  Published published;
  published.sequence = ++latest_sequence_;
  message.set_sequence(published.sequence);
  size_t bytes = message.ByteSizeLong();
  ring_.push_back(Stored{std::move(message), bytes});
  ring_bytes_ += bytes;
  const rpc::PubMessage& stored = ring_.back().message;

  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (Wants(it->second, stored)) {
      published.completed.emplace_back(it->first, Collect(it->second));
      waiting_.erase(it++);
    } else {
      ++it;
    }
  }
  Trim();  // After the waiters saw the new message, which Trim() keeps.
  return published;
}

void GcsPubSub::Trim() {
  // The newest message is kept even if it alone exceeds max_bytes_.
  while (ring_.size() > 1 &&
         (ring_.size() > max_messages_ || ring_bytes_ > max_bytes_)) {
    ring_bytes_ -= ring_.front().bytes;
    ring_.pop_front();
  }
}

std::optional<PollResult> GcsPubSub::Poll(PollerId id, PollSpec spec,
                                          bool may_wait) {
  PollResult result = Collect(spec);
  bool from_now_or_stale =
      spec.after_sequence < 0 || spec.after_sequence > latest_sequence_;
  if (!result.messages.empty() || from_now_or_stale || !may_wait) {
    return result;
  }
  waiting_.emplace(id, std::move(spec));
  return std::nullopt;
}

std::optional<PollResult> GcsPubSub::Cancel(PollerId id) {
  if (waiting_.erase(id) == 0) return std::nullopt;
  PollResult result;
  result.latest_sequence = latest_sequence_;
  return result;
}

std::vector<PollerId> GcsPubSub::WaitingPollers() const {
  std::vector<PollerId> ids;
  ids.reserve(waiting_.size());
  for (const auto& [id, spec] : waiting_) ids.push_back(id);
  return ids;
}

}  // namespace comet::gcs
