// Connection: one client's unix-socket connection to the plasma store.
//
// Owns the socket, the read buffers and the queue of outgoing messages (with
// the file descriptors that go along, duplicated so that they stay valid until
// sent). Reads framed messages and hands verified ones to its handler; a
// message that fails verification gets an ErrorReply and the connection is
// closed. Thread-confined to the io_context of its socket.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio.hpp>

#include "absl/container/flat_hash_set.h"
#include "src/comet/object_manager/plasma/object_store.h"
#include "src/comet/object_manager/plasma/protocol.h"

namespace comet::plasma {

class Connection;

// Receives what a connection reads. Called on the io_context's thread.
class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  virtual void OnMessage(const std::shared_ptr<Connection>& conn, fb::MessageType type,
                         const uint8_t* payload, size_t size) = 0;
  virtual void OnClosed(const std::shared_ptr<Connection>& conn) = 0;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Socket = boost::asio::local::stream_protocol::socket;

  // `handler` must outlive the connection's I/O (the server closes all
  // connections before it goes away).
  Connection(Socket socket, ClientId id, ConnectionHandler* handler, uint64_t max_message_bytes);
  ~Connection();

  // Starts the read loop.
  void Start();

  // Queues a framed message; `fds` are duplicated now and closed once sent.
  void Send(std::string message, const std::vector<int>& fds = {});

  // Sends an ErrorReply, then closes once it is written.
  void SendErrorAndClose(fb::ErrorCode code, const std::string& message);

  // Closes the socket and tells the handler (once).
  void Close();

  ClientId id() const { return id_; }
  bool closed() const { return closed_; }
  std::string name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

  // Mapping ids whose descriptors this client has been sent and still maps.
  absl::flat_hash_set<int64_t>& sent_fds() { return sent_fds_; }

 private:
  struct Outgoing {
    std::string bytes;
    std::vector<int> fds;
    size_t sent = 0;
  };

  void ReadHeader();
  void ReadPayload();
  void Flush();

  Socket socket_;
  ClientId id_;
  ConnectionHandler* handler_;
  uint64_t max_message_bytes_;
  std::string name_;
  MessageHeader header_{};
  std::string payload_;
  std::deque<Outgoing> outgoing_;
  bool waiting_writable_ = false;
  bool close_after_flush_ = false;
  bool closed_ = false;
  absl::flat_hash_set<int64_t> sent_fds_;
};

}  // namespace comet::plasma
