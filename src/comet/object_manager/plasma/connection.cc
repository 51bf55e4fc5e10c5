#include "src/comet/object_manager/plasma/connection.h"

#include <unistd.h>

#include "src/comet/common/logging.h"
#include "src/comet/object_manager/plasma/fd_passing.h"

namespace comet::plasma {

Connection::Connection(Socket socket, ClientId id, ConnectionHandler* handler,
                       uint64_t max_message_bytes)
    : socket_(std::move(socket)), id_(id), handler_(handler),
      max_message_bytes_(max_message_bytes) {}

Connection::~Connection() {
  for (Outgoing& out : outgoing_) {
    for (int fd : out.fds) close(fd);
  }
}

void Connection::Start() { ReadHeader(); }

void Connection::ReadHeader() {
  auto self = shared_from_this();
  boost::asio::async_read(
      socket_, boost::asio::buffer(&header_, sizeof(header_)),
      [this, self](const boost::system::error_code& ec, size_t) {
        if (closed_) return;
        if (ec) {
          Close();
          return;
        }
        absl::Status status = ValidateHeader(header_, max_message_bytes_);
        if (!status.ok()) {
          COMET_LOG(WARNING) << "plasma client " << id_ << ": " << status.message();
          SendErrorAndClose(fb::ErrorCode::InvalidRequest, std::string(status.message()));
          return;
        }
        ReadPayload();
      });
}

void Connection::ReadPayload() {
  payload_.resize(header_.length);
  auto self = shared_from_this();
  boost::asio::async_read(
      socket_, boost::asio::buffer(payload_),
      [this, self](const boost::system::error_code& ec, size_t) {
        if (closed_) return;
        if (ec) {
          Close();
          return;
        }
        auto type = static_cast<fb::MessageType>(header_.type);
        const auto* data = reinterpret_cast<const uint8_t*>(payload_.data());
        absl::Status status = VerifyPayload(type, data, payload_.size());
        if (!status.ok()) {
          COMET_LOG(WARNING) << "plasma client " << id_ << ": " << status.message();
          SendErrorAndClose(fb::ErrorCode::InvalidRequest, std::string(status.message()));
          return;
        }
        handler_->OnMessage(self, type, data, payload_.size());
        if (!closed_) ReadHeader();
      });
}

void Connection::Send(std::string message, const std::vector<int>& fds) {
  if (closed_) return;
  Outgoing out;
  out.bytes = std::move(message);
  for (int fd : fds) out.fds.push_back(dup(fd));
  outgoing_.push_back(std::move(out));
  Flush();
}

void Connection::SendErrorAndClose(fb::ErrorCode code, const std::string& message) {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(fb::CreateErrorReply(fbb, code, fbb.CreateString(message)));
  Send(FrameMessage(fb::MessageType::ErrorReply, fbb));
  close_after_flush_ = true;
  if (outgoing_.empty()) Close();
}

void Connection::Flush() {
  if (waiting_writable_ || closed_) return;
  while (!outgoing_.empty()) {
    Outgoing& out = outgoing_.front();
    absl::Span<const int> fds;
    if (out.sent == 0) fds = out.fds;
    absl::StatusOr<size_t> n =
        SendSome(socket_.native_handle(), absl::string_view(out.bytes).substr(out.sent), fds);
    if (!n.ok()) {
      Close();
      return;
    }
    if (*n == 0) {
      waiting_writable_ = true;
      auto self = shared_from_this();
      socket_.async_wait(Socket::wait_write, [this, self](const boost::system::error_code& ec) {
        waiting_writable_ = false;
        if (ec) {
          Close();
          return;
        }
        Flush();
      });
      return;
    }
    if (out.sent == 0) {
      for (int fd : out.fds) close(fd);
      out.fds.clear();
    }
    out.sent += *n;
    if (out.sent == out.bytes.size()) outgoing_.pop_front();
  }
  if (close_after_flush_) Close();
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);
  handler_->OnClosed(shared_from_this());
}

}  // namespace comet::plasma
