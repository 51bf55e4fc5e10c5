// GcsPubSubManager: the pubsub service's behaviour around GcsPubSub — it owns
// the state, the reply callbacks of waiting polls and their timeout timers.
// It is the GcsPublisher the table managers publish through; the gRPC glue
// (gcs_grpc_services.h) turns Poll/Publish RPCs into calls here.
//
// Two rings: LOG_CHANNEL messages (workers' output, which can be heavy) have
// a ring and a sequence of their own, so that they never push node, actor or
// job events out; a poll reads one ring or the other (CheckRequest).
//
// A Poll that finds messages, asks for no wait (timeout_ms <= 0), or arrives
// after Shutdown() is answered at once; otherwise its callback runs when a
// matching Publish arrives, when timeout_ms passes (empty reply), or when
// Cancel()/Shutdown() is called (empty reply). Each callback runs exactly
// once, on the GCS thread.
//
// Thread model: thread-confined to the io_context given at construction;
// every method is called there and every callback runs there. The
// io_context must outlive this object; destroy it only when the io_context
// no longer runs (pending timer handlers then never run).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "proto/gcs_service.pb.h"
#include "src/comet/gcs/gcs_publisher_interface.h"
#include "src/comet/gcs/gcs_pubsub.h"

namespace comet::gcs {

class GcsPubSubManager : public GcsPublisher {
 public:
  using PollCallback = std::function<void(rpc::PollReply reply)>;

  // Longest wait honoured; larger timeout_ms values are clamped to it.
  static constexpr int64_t kMaxPollTimeoutMs = 24LL * 3600 * 1000;

  explicit GcsPubSubManager(boost::asio::io_context& io_context);
  ~GcsPubSubManager() override;

  int64_t Publish(rpc::PubMessage message) override;

  // Log ring bounds (the event ring's are GcsPubSub's defaults).
  static constexpr size_t kMaxLogMessages = 4096;
  static constexpr size_t kMaxLogBytes = 32u << 20;

  // InvalidArgument for a poll that mixes LOG_CHANNEL with other channels.
  static absl::Status CheckRequest(const rpc::PollRequest& request);

  // Answers `request` (which passed CheckRequest) through `callback`, now or
  // later (see above). `id` names the poll for Cancel(); the caller picks
  // unique ids.
  void Poll(PollerId id, const rpc::PollRequest& request,
            PollCallback callback);

  // Answers poll `id` with an empty reply now if it is still waiting.
  void Cancel(PollerId id);

  // Answers every waiting poll; later polls never wait.
  void Shutdown();

  size_t num_waiting() const { return waiters_.size(); }
  const GcsPubSub& state() const { return pubsub_; }
  const GcsPubSub& log_state() const { return logs_; }

 private:
  struct Waiter {
    GcsPubSub* ring = nullptr;
    PollCallback callback;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };

  // Removes waiter `id` and runs its callback with `result`.
  void Complete(PollerId id, PollResult result);
  static rpc::PollReply ToReply(PollResult result);

  boost::asio::io_context& io_context_;
  static bool IsLogChannel(rpc::ChannelType channel) {
    return channel == rpc::LOG_CHANNEL;
  }
  GcsPubSub& RingFor(rpc::ChannelType channel) {
    return IsLogChannel(channel) ? logs_ : pubsub_;
  }

  GcsPubSub pubsub_;
  GcsPubSub logs_{kMaxLogMessages, kMaxLogBytes};
  absl::flat_hash_map<PollerId, Waiter> waiters_;
  bool shut_down_ = false;
};

}  // namespace comet::gcs
