#include "src/comet/object_manager/plasma/fd_passing.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace comet::plasma {
namespace {

absl::Status SocketError(absl::string_view what, int err) {
  if (err == EPIPE || err == ECONNRESET) {
    return absl::UnavailableError(absl::StrCat(what, ": the plasma store closed the connection"));
  }
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(err)));
}

// Receives exactly `size` bytes; collects any descriptors that arrive.
absl::Status ReceiveExact(int sock, char* out, size_t size, std::vector<int>* fds) {
  size_t got = 0;
  while (got < size) {
    iovec iov{out + got, size - got};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SocketError("recvmsg", errno);
    }
    if (n == 0) return absl::UnavailableError("the plasma store closed the connection");
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      const int* data = reinterpret_cast<const int*>(CMSG_DATA(c));
      fds->insert(fds->end(), data, data + count);
    }
    if (msg.msg_flags & MSG_CTRUNC) {
      for (int fd : *fds) close(fd);
      fds->clear();
      return absl::InternalError("too many file descriptors in one plasma message");
    }
    got += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<size_t> SendSome(int sock, absl::string_view data, absl::Span<const int> fds) {
  if (fds.size() > kMaxFdsPerMessage) {
    return absl::InvalidArgumentError("too many file descriptors for one message");
  }
  iovec iov{const_cast<char*>(data.data()), data.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)];
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  while (true) {
    ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
    return SocketError("sendmsg", errno);
  }
}

absl::Status SendAll(int sock, absl::string_view data, absl::Span<const int> fds) {
  size_t sent = 0;
  while (sent < data.size()) {
    absl::StatusOr<size_t> n =
        SendSome(sock, data.substr(sent), sent == 0 ? fds : absl::Span<const int>());
    if (!n.ok()) return n.status();
    if (*n == 0) {
      pollfd p{sock, POLLOUT, 0};
      poll(&p, 1, -1);
      continue;
    }
    sent += *n;
  }
  return absl::OkStatus();
}

absl::StatusOr<ReceivedMessage> ReceiveMessage(int sock, uint64_t max_length) {
  ReceivedMessage out;
  MessageHeader header{};
  absl::Status status =
      ReceiveExact(sock, reinterpret_cast<char*>(&header), sizeof(header), &out.fds);
  if (status.ok()) status = ValidateHeader(header, max_length);
  if (status.ok()) {
    out.payload.resize(header.length);
    status = ReceiveExact(sock, out.payload.data(), header.length, &out.fds);
  }
  out.type = static_cast<fb::MessageType>(header.type);
  if (status.ok()) {
    status = VerifyPayload(out.type, reinterpret_cast<const uint8_t*>(out.payload.data()),
                           out.payload.size());
  }
  if (!status.ok()) {
    for (int fd : out.fds) close(fd);
    return status;
  }
  return out;
}

absl::StatusOr<int> ConnectUnixSocket(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path too long: ", path));
  }
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return SocketError("socket", errno);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    close(sock);
    return absl::UnavailableError(
        absl::StrCat("cannot connect to the plasma store at ", path, ": ", std::strerror(err)));
  }
  return sock;
}

}  // namespace comet::plasma
