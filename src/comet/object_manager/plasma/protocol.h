// The plasma wire protocol: framing of FlatBuffers messages (proto/plasma.fbs),
// payload verification, and the mapping between the protocol's ErrorCode and
// absl::Status. Stateless functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "flatbuffers/flatbuffers.h"
#include "proto/plasma_generated.h"

namespace comet::plasma {

namespace fb = comet::plasma::flatbuf;

inline constexpr uint32_t kProtocolMagic = 0x504c534d;  // "PLSM"

// Fixed header before every payload. Little-endian, as written by the host.
struct MessageHeader {
  uint32_t magic;
  int32_t type;
  uint64_t length;
};
static_assert(sizeof(MessageHeader) == 16, "header must be 16 bytes");

// Header followed by the finished FlatBuffer of `builder`.
std::string FrameMessage(fb::MessageType type, const flatbuffers::FlatBufferBuilder& builder);

// Checks magic, type range and length limit of a received header.
absl::Status ValidateHeader(const MessageHeader& header, uint64_t max_length);

// Runs the FlatBuffers verifier for the root table that `type` names.
absl::Status VerifyPayload(fb::MessageType type, const uint8_t* data, size_t size);

// A status that carries a protocol error code (readable by ErrorCodeOf).
absl::Status PlasmaError(fb::ErrorCode code, absl::string_view message);

// The protocol error code for a status: the carried one, else by canonical code.
fb::ErrorCode ErrorCodeOf(const absl::Status& status);

// The status a client reports for an error code received from the store.
absl::Status StatusFromError(fb::ErrorCode code, absl::string_view message);

}  // namespace comet::plasma
