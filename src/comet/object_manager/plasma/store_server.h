// StoreServer: the plasma store's I/O around an ObjectStore.
//
// Owns the listening unix socket, the client connections, the Get requests
// waiting for objects to be sealed (with their timers) and the queue of
// Create requests waiting for memory (each with a timer after which a
// file-backed fallback mapping is used). Decisions about objects are the
// ObjectStore's. Thread-confined to the io_context given at construction:
// Start() and Stop() must be called on that thread (or before it runs).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "src/comet/object_manager/plasma/connection.h"
#include "src/comet/object_manager/plasma/object_store.h"

namespace comet::plasma {

struct StoreServerOptions {
  std::string socket_path;
  uint64_t max_message_bytes = 64ull << 20;
  // How long a Create waits for memory before the fallback mapping is tried;
  // negative waits forever.
  int64_t fallback_timeout_ms = 2000;
};

class StoreServer : public ConnectionHandler {
 public:
  // `store` must outlive the server.
  StoreServer(boost::asio::io_context& io, ObjectStore* store, StoreServerOptions options);
  ~StoreServer() override;

  // Binds and listens; fails if another store already serves socket_path.
  absl::Status Start();
  // Closes the listener and every connection.
  void Stop();

  size_t num_clients() const { return connections_.size(); }
  size_t num_pending_creates() const { return pending_creates_.size(); }

  void OnMessage(const std::shared_ptr<Connection>& conn, fb::MessageType type,
                 const uint8_t* payload, size_t size) override;
  void OnClosed(const std::shared_ptr<Connection>& conn) override;

 private:
  struct PendingGet;
  struct PendingCreate;

  void Accept();
  void HandleConnect(const std::shared_ptr<Connection>& conn, const fb::ConnectRequest* req);
  void HandleCreate(const std::shared_ptr<Connection>& conn, const fb::CreateRequest* req);
  void HandleSeal(const std::shared_ptr<Connection>& conn, const fb::SealRequest* req);
  void HandleGet(const std::shared_ptr<Connection>& conn, const fb::GetRequest* req);
  void HandleRelease(const std::shared_ptr<Connection>& conn, const fb::ReleaseRequest* req);
  void HandleContains(const std::shared_ptr<Connection>& conn, const fb::ContainsRequest* req);
  void HandleAbort(const std::shared_ptr<Connection>& conn, const fb::AbortRequest* req);
  void HandleDelete(const std::shared_ptr<Connection>& conn, const fb::DeleteRequest* req);
  void HandleList(const std::shared_ptr<Connection>& conn);
  void HandleStats(const std::shared_ptr<Connection>& conn);

  void SendCreateReply(const std::shared_ptr<Connection>& conn,
                       const absl::StatusOr<ObjectLocation>& result);
  void FinishGet(const std::shared_ptr<PendingGet>& get);
  void OnSealed(const ObjectID& id);
  void ProcessPendingCreates();
  void OnCreateTimeout(const std::shared_ptr<PendingCreate>& create);

  // Adds the mapping `fd_id` to `fds`/`new_fds` unless `conn` already has it.
  void AttachFd(Connection& conn, int64_t fd_id, flatbuffers::FlatBufferBuilder& fbb,
                std::vector<flatbuffers::Offset<fb::MmapFd>>* new_fds, std::vector<int>* fds);

  boost::asio::io_context& io_;
  ObjectStore* store_;
  StoreServerOptions options_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  ClientId next_client_id_ = 1;
  absl::flat_hash_map<ClientId, std::shared_ptr<Connection>> connections_;
  absl::flat_hash_map<ObjectID, std::vector<std::shared_ptr<PendingGet>>> waiting_gets_;
  std::deque<std::shared_ptr<PendingCreate>> pending_creates_;
  bool stopped_ = false;
};

}  // namespace comet::plasma
