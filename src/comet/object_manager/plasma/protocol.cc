#include "src/comet/object_manager/plasma/protocol.h"

#include <cstring>
#include <optional>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace comet::plasma {
namespace {

constexpr char kErrorPayloadUrl[] = "comet.plasma.ErrorCode";

template <typename T>
bool Verify(const uint8_t* data, size_t size) {
  flatbuffers::Verifier verifier(data, size);
  return verifier.VerifyBuffer<T>(nullptr);
}

absl::StatusCode CanonicalCode(fb::ErrorCode code) {
  switch (code) {
    case fb::ErrorCode::OK:
      return absl::StatusCode::kOk;
    case fb::ErrorCode::ObjectExists:
      return absl::StatusCode::kAlreadyExists;
    case fb::ErrorCode::ObjectNotFound:
      return absl::StatusCode::kNotFound;
    case fb::ErrorCode::OutOfMemory:
      return absl::StatusCode::kResourceExhausted;
    case fb::ErrorCode::ObjectTooLarge:
      return absl::StatusCode::kOutOfRange;
    case fb::ErrorCode::InvalidRequest:
      return absl::StatusCode::kInvalidArgument;
    default:
      return absl::StatusCode::kFailedPrecondition;
  }
}

}  // namespace

std::string FrameMessage(fb::MessageType type, const flatbuffers::FlatBufferBuilder& builder) {
  MessageHeader header{kProtocolMagic, static_cast<int32_t>(type), builder.GetSize()};
  std::string out(sizeof(header) + builder.GetSize(), '\0');
  std::memcpy(out.data(), &header, sizeof(header));
  std::memcpy(out.data() + sizeof(header), builder.GetBufferPointer(), builder.GetSize());
  return out;
}

absl::Status ValidateHeader(const MessageHeader& header, uint64_t max_length) {
  if (header.magic != kProtocolMagic) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad message magic 0x", absl::Hex(header.magic),
                     "; this socket speaks the plasma protocol only"));
  }
  if (header.type < static_cast<int32_t>(fb::MessageType::MIN) ||
      header.type > static_cast<int32_t>(fb::MessageType::MAX)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown message type ", header.type));
  }
  if (header.length > max_length) {
    return absl::InvalidArgumentError(absl::StrCat("message of ", header.length,
                                                   " bytes exceeds the limit of ", max_length));
  }
  return absl::OkStatus();
}

absl::Status VerifyPayload(fb::MessageType type, const uint8_t* data, size_t size) {
  bool ok = false;
  switch (type) {
#define COMET_PLASMA_VERIFY(name)   \
  case fb::MessageType::name:       \
    ok = Verify<fb::name>(data, size); \
    break;
    COMET_PLASMA_VERIFY(ConnectRequest)
    COMET_PLASMA_VERIFY(ConnectReply)
    COMET_PLASMA_VERIFY(CreateRequest)
    COMET_PLASMA_VERIFY(CreateReply)
    COMET_PLASMA_VERIFY(SealRequest)
    COMET_PLASMA_VERIFY(SealReply)
    COMET_PLASMA_VERIFY(GetRequest)
    COMET_PLASMA_VERIFY(GetReply)
    COMET_PLASMA_VERIFY(ReleaseRequest)
    COMET_PLASMA_VERIFY(ReleaseReply)
    COMET_PLASMA_VERIFY(ContainsRequest)
    COMET_PLASMA_VERIFY(ContainsReply)
    COMET_PLASMA_VERIFY(AbortRequest)
    COMET_PLASMA_VERIFY(AbortReply)
    COMET_PLASMA_VERIFY(DeleteRequest)
    COMET_PLASMA_VERIFY(DeleteReply)
    COMET_PLASMA_VERIFY(ListRequest)
    COMET_PLASMA_VERIFY(ListReply)
    COMET_PLASMA_VERIFY(StatsRequest)
    COMET_PLASMA_VERIFY(StatsReply)
    COMET_PLASMA_VERIFY(ErrorReply)
#undef COMET_PLASMA_VERIFY
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed ", fb::EnumNameMessageType(type), " payload of ", size, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status PlasmaError(fb::ErrorCode code, absl::string_view message) {
  absl::Status status(CanonicalCode(code), message);
  if (!status.ok()) {
    status.SetPayload(kErrorPayloadUrl, absl::Cord(std::to_string(static_cast<int>(code))));
  }
  return status;
}

fb::ErrorCode ErrorCodeOf(const absl::Status& status) {
  if (status.ok()) return fb::ErrorCode::OK;
  auto payload = status.GetPayload(kErrorPayloadUrl);
  if (payload.has_value()) {
    int code = 0;
    if (absl::SimpleAtoi(std::string(*payload), &code)) return static_cast<fb::ErrorCode>(code);
  }
  switch (status.code()) {
    case absl::StatusCode::kAlreadyExists:
      return fb::ErrorCode::ObjectExists;
    case absl::StatusCode::kNotFound:
      return fb::ErrorCode::ObjectNotFound;
    case absl::StatusCode::kResourceExhausted:
      return fb::ErrorCode::OutOfMemory;
    case absl::StatusCode::kOutOfRange:
      return fb::ErrorCode::ObjectTooLarge;
    default:
      return fb::ErrorCode::InvalidRequest;
  }
}

absl::Status StatusFromError(fb::ErrorCode code, absl::string_view message) {
  if (code == fb::ErrorCode::OK) return absl::OkStatus();
  return PlasmaError(code, absl::StrCat(fb::EnumNameErrorCode(code), ": ", message));
}

}  // namespace comet::plasma
