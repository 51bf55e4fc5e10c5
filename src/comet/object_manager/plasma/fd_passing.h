// Sending and receiving framed plasma messages over a unix stream socket, with
// file descriptors passed as SCM_RIGHTS ancillary data. Stateless functions;
// the caller owns the socket and serialises its use.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "src/comet/object_manager/plasma/protocol.h"

namespace comet::plasma {

// Most descriptors one message may carry.
inline constexpr int kMaxFdsPerMessage = 64;

// A whole message as received: type, payload, and the descriptors that came
// with it (owned by the receiver from now on).
struct ReceivedMessage {
  fb::MessageType type;
  std::string payload;
  std::vector<int> fds;
};

// Sends as much of `data` as the socket takes without blocking; `fds` go with
// the first byte and must be empty on later calls for the same message.
// Returns the bytes sent (0 when the socket would block).
absl::StatusOr<size_t> SendSome(int sock, absl::string_view data, absl::Span<const int> fds);

// Blocking: sends all of `data`, with `fds` attached.
absl::Status SendAll(int sock, absl::string_view data, absl::Span<const int> fds);

// Blocking: receives one framed message, verifying header and payload.
absl::StatusOr<ReceivedMessage> ReceiveMessage(int sock, uint64_t max_length);

// Connects a blocking unix stream socket to `path`.
absl::StatusOr<int> ConnectUnixSocket(const std::string& path);

}  // namespace comet::plasma
