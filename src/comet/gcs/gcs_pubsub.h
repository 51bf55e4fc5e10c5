// GcsPubSub: the pubsub's state, with no I/O and no timers.
//
// Published messages get increasing sequence numbers (1, 2, ...) and are kept
// in a bounded ring: the oldest are dropped beyond kMaxMessages messages or
// kMaxBytes bytes. A poller asks for the messages on some channels newer
// than `after_sequence`; when there are none it may be recorded as waiting,
// and a later Publish on one of its channels completes it. Timers, RPCs and
// replies are the owner's (GcsPubSubManager); this class only says which
// poller gets which messages, so it is tested by feeding calls.
//
// Reply contract (PollResult): `messages` are in sequence order and
// `latest_sequence` is where the reply is complete up to, for the requested
// channels — a subscriber always polls next with after_sequence =
// latest_sequence. Normally it is the newest sequence published; when a
// reply is cut at kMaxReplyBytes it is the last returned message's.
//
// Special positions: after_sequence < 0 means "from now" (no messages, just
// the current latest_sequence, never waits). after_sequence above the latest
// published sequence (a subscriber of a previous GCS instance) also returns
// at once with no messages and a latest_sequence below what the subscriber
// sent, which tells it to resynchronise.
//
// Thread model: thread-compatible; the GCS confines it to its thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "proto/gcs_service.pb.h"

namespace comet::gcs {

using PollerId = uint64_t;

struct PollResult {
  std::vector<rpc::PubMessage> messages;
  int64_t latest_sequence = 0;
};

// Which messages a poller wants. Empty `channels` means every channel,
// empty `keys` every key.
struct PollSpec {
  std::vector<rpc::ChannelType> channels;
  std::vector<std::string> keys;
  int64_t after_sequence = 0;
};

class GcsPubSub {
 public:
  static constexpr size_t kMaxMessages = 10000;
  static constexpr size_t kMaxBytes = 64u << 20;
  // A reply stops growing past this many bytes (it always holds at least one
  // message); gRPC's default client limit is 4 MiB.
  static constexpr size_t kMaxReplyBytes = 2u << 20;

  explicit GcsPubSub(size_t max_messages = kMaxMessages,
                     size_t max_bytes = kMaxBytes);

  struct Published {
    int64_t sequence = 0;
    // Pollers this message completed; they are no longer waiting.
    std::vector<std::pair<PollerId, PollResult>> completed;
  };

  // Stores `message` under the next sequence number (replacing the one it
  // carries) and completes every waiting poller it matches.
  Published Publish(rpc::PubMessage message);

  // What `spec` gets now. If that is nothing and `may_wait`, records `id` as
  // waiting and returns nullopt; otherwise returns the (possibly empty)
  // result. `id` must not already be waiting.
  std::optional<PollResult> Poll(PollerId id, PollSpec spec, bool may_wait);

  // Stops `id` waiting. Returns its (empty) result if it was waiting, nullopt
  // if it was not (already completed or unknown).
  std::optional<PollResult> Cancel(PollerId id);

  // Every waiting poller's id.
  std::vector<PollerId> WaitingPollers() const;

  int64_t latest_sequence() const { return latest_sequence_; }
  // Sequence of the oldest stored message; latest_sequence() + 1 when empty.
  int64_t oldest_sequence() const;
  size_t num_stored() const { return ring_.size(); }
  size_t stored_bytes() const { return ring_bytes_; }
  size_t num_waiting() const { return waiting_.size(); }

 private:
  struct Stored {
    rpc::PubMessage message;
    size_t bytes = 0;
  };

  static bool Wants(const PollSpec& spec, const rpc::PubMessage& message);
  PollResult Collect(const PollSpec& spec) const;
  void Trim();

  const size_t max_messages_;
  const size_t max_bytes_;
  std::deque<Stored> ring_;
  size_t ring_bytes_ = 0;
  int64_t latest_sequence_ = 0;
  absl::flat_hash_map<PollerId, PollSpec> waiting_;
};

}  // namespace comet::gcs
