#include "src/comet/object_manager/plasma/store_server.h"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "src/comet/common/logging.h"
#include "src/comet/object_manager/plasma/fd_passing.h"

namespace comet::plasma {
namespace {

using Fbb = flatbuffers::FlatBufferBuilder;

absl::StatusOr<ObjectID> ParseId(const flatbuffers::Vector<uint8_t>* bytes) {
  if (bytes == nullptr) {
    return PlasmaError(fb::ErrorCode::InvalidRequest, "request carries no object id");
  }
  absl::StatusOr<ObjectID> id =
      ObjectID::FromBinary(absl::string_view(reinterpret_cast<const char*>(bytes->data()),
                                             bytes->size()));
  if (!id.ok()) return PlasmaError(fb::ErrorCode::InvalidRequest, id.status().message());
  return id;
}

flatbuffers::Offset<fb::ObjectSpec> BuildSpec(Fbb& fbb, const ObjectLocation& loc) {
  return fb::CreateObjectSpec(fbb, loc.fd_id, loc.data_offset, loc.data_size,
                              loc.metadata_offset, loc.metadata_size, loc.fallback);
}

// Replies {error, message} for the request kinds whose reply is just that.
template <typename CreateFn>
void SendStatusReply(Connection& conn, fb::MessageType type, const absl::Status& status,
                     CreateFn create) {
  Fbb fbb;
  fbb.Finish(create(fbb, ErrorCodeOf(status), fbb.CreateString(std::string(status.message()))));
  conn.Send(FrameMessage(type, fbb));
}

}  // namespace

struct StoreServer::PendingGet {
  std::shared_ptr<Connection> conn;
  std::vector<ObjectID> ids;
  size_t unsealed = 0;
  bool done = false;
  std::unique_ptr<boost::asio::steady_timer> timer;
};

struct StoreServer::PendingCreate {
  std::shared_ptr<Connection> conn;
  ObjectID id;
  uint64_t data_size = 0;
  uint64_t metadata_size = 0;
  bool primary = false;
  bool done = false;
  std::unique_ptr<boost::asio::steady_timer> timer;
};

StoreServer::StoreServer(boost::asio::io_context& io, ObjectStore* store,
                         StoreServerOptions options)
    : io_(io), store_(store), options_(std::move(options)), acceptor_(io) {}

StoreServer::~StoreServer() { Stop(); }

absl::Status StoreServer::Start() {
  const std::string& path = options_.socket_path;
  if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "plasma socket path must be 1 to ", sizeof(sockaddr_un::sun_path) - 1,
        " bytes long, got ", path.size(), ": ", path));
  }
  if (access(path.c_str(), F_OK) == 0) {
    absl::StatusOr<int> probe = ConnectUnixSocket(path);
    if (probe.ok()) {
      close(*probe);
      return absl::AlreadyExistsError(
          absl::StrCat("another plasma store is already serving ", path));
    }
    unlink(path.c_str());  // A stale socket from a process that died.
  }
  boost::system::error_code ec;
  boost::asio::local::stream_protocol::endpoint endpoint(path);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on plasma socket ", path, ": ", ec.message()));
  }
  chmod(path.c_str(), 0600);
  Accept();
  return absl::OkStatus();
}

void StoreServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  if (acceptor_.is_open()) {
    acceptor_.close(ignored);
    unlink(options_.socket_path.c_str());
  }
  auto connections = connections_;
  for (auto& [id, conn] : connections) conn->Close();
  for (auto& create : pending_creates_) create->timer->cancel();
  pending_creates_.clear();
  waiting_gets_.clear();
}

void StoreServer::Accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec,
                                boost::asio::local::stream_protocol::socket socket) {
    if (stopped_) return;
    if (!ec) {
      ClientId id = next_client_id_++;
      auto conn =
          std::make_shared<Connection>(std::move(socket), id, this, options_.max_message_bytes);
      connections_[id] = conn;
      conn->Start();
    } else if (ec == boost::asio::error::operation_aborted) {
      return;
    } else {
      COMET_LOG(WARNING) << "plasma accept failed: " << ec.message();
    }
    Accept();
  });
}

void StoreServer::OnClosed(const std::shared_ptr<Connection>& conn) {
  connections_.erase(conn->id());
  store_->DisconnectClient(conn->id());
  for (auto& create : pending_creates_) {
    if (create->conn == conn) create->done = true;
  }
  for (auto it = waiting_gets_.begin(); it != waiting_gets_.end();) {
    auto& gets = it->second;
    gets.erase(std::remove_if(gets.begin(), gets.end(),
                              [&](const auto& get) { return get->conn == conn; }),
               gets.end());
    if (gets.empty()) {
      waiting_gets_.erase(it++);
    } else {
      ++it;
    }
  }
  if (!stopped_) ProcessPendingCreates();
}

void StoreServer::OnMessage(const std::shared_ptr<Connection>& conn, fb::MessageType type,
                            const uint8_t* payload, size_t size) {
  switch (type) {
    case fb::MessageType::ConnectRequest:
      HandleConnect(conn, flatbuffers::GetRoot<fb::ConnectRequest>(payload));
      break;
    case fb::MessageType::CreateRequest:
      HandleCreate(conn, flatbuffers::GetRoot<fb::CreateRequest>(payload));
      break;
    case fb::MessageType::SealRequest:
      HandleSeal(conn, flatbuffers::GetRoot<fb::SealRequest>(payload));
      break;
    case fb::MessageType::GetRequest:
      HandleGet(conn, flatbuffers::GetRoot<fb::GetRequest>(payload));
      break;
    case fb::MessageType::ReleaseRequest:
      HandleRelease(conn, flatbuffers::GetRoot<fb::ReleaseRequest>(payload));
      break;
    case fb::MessageType::ContainsRequest:
      HandleContains(conn, flatbuffers::GetRoot<fb::ContainsRequest>(payload));
      break;
    case fb::MessageType::AbortRequest:
      HandleAbort(conn, flatbuffers::GetRoot<fb::AbortRequest>(payload));
      break;
    case fb::MessageType::DeleteRequest:
      HandleDelete(conn, flatbuffers::GetRoot<fb::DeleteRequest>(payload));
      break;
    case fb::MessageType::ListRequest:
      HandleList(conn);
      break;
    case fb::MessageType::StatsRequest:
      HandleStats(conn);
      break;
    default:
      conn->SendErrorAndClose(fb::ErrorCode::InvalidRequest,
                              absl::StrCat(fb::EnumNameMessageType(type),
                                           " is not a request the store accepts"));
      return;
  }
  if (!pending_creates_.empty()) ProcessPendingCreates();
}

void StoreServer::HandleConnect(const std::shared_ptr<Connection>& conn,
                                const fb::ConnectRequest* req) {
  if (req->client_name() != nullptr) conn->set_name(req->client_name()->str());
  Fbb fbb;
  fbb.Finish(fb::CreateConnectReply(fbb, static_cast<int64_t>(store_->capacity()),
                                    fbb.CreateString(options_.socket_path)));
  conn->Send(FrameMessage(fb::MessageType::ConnectReply, fbb));
}

void StoreServer::AttachFd(Connection& conn, int64_t fd_id, Fbb& fbb,
                           std::vector<flatbuffers::Offset<fb::MmapFd>>* new_fds,
                           std::vector<int>* fds) {
  if (conn.sent_fds().contains(fd_id)) return;
  const MemoryMapping* mapping = store_->mapping(fd_id);
  if (mapping == nullptr) return;
  conn.sent_fds().insert(fd_id);
  new_fds->push_back(fb::CreateMmapFd(fbb, fd_id, static_cast<int64_t>(mapping->size())));
  fds->push_back(mapping->fd());
}

void StoreServer::SendCreateReply(const std::shared_ptr<Connection>& conn,
                                  const absl::StatusOr<ObjectLocation>& result) {
  Fbb fbb;
  std::vector<flatbuffers::Offset<fb::MmapFd>> new_fds;
  std::vector<int> fds;
  flatbuffers::Offset<fb::ObjectSpec> spec;
  if (result.ok()) {
    AttachFd(*conn, result->fd_id, fbb, &new_fds, &fds);
    spec = BuildSpec(fbb, *result);
  }
  auto message = fbb.CreateString(std::string(result.status().message()));
  auto fd_vec = fbb.CreateVector(new_fds);
  fbb.Finish(fb::CreateCreateReply(fbb, ErrorCodeOf(result.status()), message, spec, fd_vec));
  conn->Send(FrameMessage(fb::MessageType::CreateReply, fbb), fds);
}

void StoreServer::HandleCreate(const std::shared_ptr<Connection>& conn,
                               const fb::CreateRequest* req) {
  absl::StatusOr<ObjectID> id = ParseId(req->object_id());
  if (!id.ok()) {
    SendCreateReply(conn, id.status());
    return;
  }
  absl::StatusOr<ObjectLocation> result =
      store_->CreateObject(conn->id(), *id, req->data_size(), req->metadata_size(), req->primary());
  // Creates that find no room wait in FIFO order behind earlier ones.
  bool must_wait = !result.ok() && absl::IsResourceExhausted(result.status());
  if (!must_wait) {
    SendCreateReply(conn, result);
    return;
  }
  auto create = std::make_shared<PendingCreate>();
  create->conn = conn;
  create->id = *id;
  create->data_size = req->data_size();
  create->metadata_size = req->metadata_size();
  create->primary = req->primary();
  create->timer = std::make_unique<boost::asio::steady_timer>(io_);
  if (options_.fallback_timeout_ms >= 0) {
    create->timer->expires_after(std::chrono::milliseconds(options_.fallback_timeout_ms));
    create->timer->async_wait([this, create](const boost::system::error_code& ec) {
      if (!ec) OnCreateTimeout(create);
    });
  }
  pending_creates_.push_back(std::move(create));
}

void StoreServer::ProcessPendingCreates() {
  while (!pending_creates_.empty()) {
    std::shared_ptr<PendingCreate> create = pending_creates_.front();
    if (create->done) {
      pending_creates_.pop_front();
      continue;
    }
    absl::StatusOr<ObjectLocation> result = store_->CreateObject(
        create->conn->id(), create->id, create->data_size, create->metadata_size, create->primary);
    if (!result.ok() && absl::IsResourceExhausted(result.status())) return;
    pending_creates_.pop_front();
    create->done = true;
    create->timer->cancel();
    SendCreateReply(create->conn, result);
  }
}

void StoreServer::OnCreateTimeout(const std::shared_ptr<PendingCreate>& create) {
  if (create->done) return;
  create->done = true;
  absl::StatusOr<ObjectLocation> result = store_->CreateFallbackObject(
      create->conn->id(), create->id, create->data_size, create->metadata_size, create->primary);
  if (result.ok()) {
    COMET_LOG(INFO) << "plasma store full: object " << create->id.Hex() << " of "
                    << create->data_size << " bytes placed in a file-backed fallback mapping";
  }
  SendCreateReply(create->conn, result);
}

void StoreServer::HandleSeal(const std::shared_ptr<Connection>& conn, const fb::SealRequest* req) {
  absl::StatusOr<ObjectID> id = ParseId(req->object_id());
  absl::Status status = id.ok() ? store_->Seal(conn->id(), *id) : id.status();
  SendStatusReply(*conn, fb::MessageType::SealReply, status, fb::CreateSealReply);
  if (status.ok()) OnSealed(*id);
}

void StoreServer::OnSealed(const ObjectID& id) {
  auto node = waiting_gets_.extract(id);
  if (node.empty()) return;
  for (const std::shared_ptr<PendingGet>& get : node.mapped()) {
    if (!get->done && --get->unsealed == 0) FinishGet(get);
  }
}

void StoreServer::HandleGet(const std::shared_ptr<Connection>& conn, const fb::GetRequest* req) {
  auto get = std::make_shared<PendingGet>();
  get->conn = conn;
  if (req->object_ids() != nullptr) {
    for (const fb::ObjectIdEntry* entry : *req->object_ids()) {
      absl::StatusOr<ObjectID> id = ParseId(entry->id());
      if (!id.ok()) {
        SendStatusReply(*conn, fb::MessageType::GetReply, id.status(),
                        [](Fbb& fbb, fb::ErrorCode code, flatbuffers::Offset<flatbuffers::String> m) {
                          return fb::CreateGetReply(fbb, code, m);
                        });
        return;
      }
      get->ids.push_back(*id);
    }
  }
  for (const ObjectID& id : get->ids) {
    if (!store_->IsSealed(id)) get->unsealed++;
  }
  if (get->unsealed == 0 || req->timeout_ms() == 0) {
    FinishGet(get);
    return;
  }
  for (const ObjectID& id : get->ids) {
    if (!store_->IsSealed(id)) waiting_gets_[id].push_back(get);
  }
  if (req->timeout_ms() > 0) {
    get->timer = std::make_unique<boost::asio::steady_timer>(io_);
    get->timer->expires_after(std::chrono::milliseconds(req->timeout_ms()));
    get->timer->async_wait([this, get](const boost::system::error_code& ec) {
      if (!ec && !get->done) FinishGet(get);
    });
  }
}

void StoreServer::FinishGet(const std::shared_ptr<PendingGet>& get) {
  get->done = true;
  if (get->timer) get->timer->cancel();
  if (get->conn->closed()) return;
  Fbb fbb;
  std::vector<flatbuffers::Offset<fb::MmapFd>> new_fds;
  std::vector<int> fds;
  std::vector<uint8_t> found;
  std::vector<flatbuffers::Offset<fb::ObjectSpec>> specs;
  for (const ObjectID& id : get->ids) {
    absl::StatusOr<ObjectLocation> loc = store_->Acquire(get->conn->id(), id);
    if (!loc.ok() && store_->IsSealed(id)) {  // A spilled object found no room.
      COMET_LOG(WARNING) << "plasma get of " << id.Hex() << ": " << loc.status().message();
    }
    found.push_back(loc.ok() ? 1 : 0);
    ObjectLocation spec = loc.ok() ? *loc : ObjectLocation{};
    if (loc.ok()) AttachFd(*get->conn, loc->fd_id, fbb, &new_fds, &fds);
    specs.push_back(BuildSpec(fbb, spec));
  }
  auto found_vec = fbb.CreateVector(found);
  auto spec_vec = fbb.CreateVector(specs);
  auto fd_vec = fbb.CreateVector(new_fds);
  fbb.Finish(fb::CreateGetReply(fbb, fb::ErrorCode::OK, 0, found_vec, spec_vec, fd_vec));
  get->conn->Send(FrameMessage(fb::MessageType::GetReply, fbb), fds);
}

void StoreServer::HandleRelease(const std::shared_ptr<Connection>& conn,
                                const fb::ReleaseRequest* req) {
  absl::StatusOr<ObjectID> id = ParseId(req->object_id());
  absl::Status status = id.status();
  if (id.ok()) {
    absl::StatusOr<ReleaseResult> result = store_->Release(conn->id(), *id);
    status = result.status();
    // The client unmaps a fallback mapping once it holds nothing in it.
    if (result.ok() && result->fallback && result->client_refs_left == 0) {
      conn->sent_fds().erase(result->fd_id);
    }
  }
  SendStatusReply(*conn, fb::MessageType::ReleaseReply, status, fb::CreateReleaseReply);
}

void StoreServer::HandleContains(const std::shared_ptr<Connection>& conn,
                                 const fb::ContainsRequest* req) {
  absl::StatusOr<ObjectID> id = ParseId(req->object_id());
  Fbb fbb;
  auto message = fbb.CreateString(std::string(id.status().message()));
  fbb.Finish(fb::CreateContainsReply(fbb, ErrorCodeOf(id.status()), message,
                                     id.ok() && store_->IsSealed(*id)));
  conn->Send(FrameMessage(fb::MessageType::ContainsReply, fbb));
}

void StoreServer::HandleAbort(const std::shared_ptr<Connection>& conn,
                              const fb::AbortRequest* req) {
  absl::StatusOr<ObjectID> id = ParseId(req->object_id());
  absl::Status status = id.ok() ? store_->Abort(conn->id(), *id) : id.status();
  SendStatusReply(*conn, fb::MessageType::AbortReply, status, fb::CreateAbortReply);
}

void StoreServer::HandleDelete(const std::shared_ptr<Connection>& conn,
                               const fb::DeleteRequest* req) {
  std::vector<int32_t> codes;
  if (req->object_ids() != nullptr) {
    for (const fb::ObjectIdEntry* entry : *req->object_ids()) {
      absl::StatusOr<ObjectID> id = ParseId(entry->id());
      codes.push_back(static_cast<int32_t>(ErrorCodeOf(id.ok() ? store_->Delete(*id) : id.status())));
    }
  }
  Fbb fbb;
  flatbuffers::Offset<flatbuffers::Vector<fb::ErrorCode>> vec(fbb.CreateVector(codes).o);
  fbb.Finish(fb::CreateDeleteReply(fbb, vec));
  conn->Send(FrameMessage(fb::MessageType::DeleteReply, fbb));
}

void StoreServer::HandleList(const std::shared_ptr<Connection>& conn) {
  Fbb fbb;
  std::vector<flatbuffers::Offset<fb::ObjectInfo>> infos;
  for (const ObjectSummary& s : store_->List()) {
    std::string bin = s.id.Binary();
    auto id = fbb.CreateVector(reinterpret_cast<const uint8_t*>(bin.data()), bin.size());
    infos.push_back(fb::CreateObjectInfo(
        fbb, id, s.data_size, s.metadata_size,
        s.sealed ? fb::ObjectState::Sealed : fb::ObjectState::Created, s.ref_count, s.fallback));
  }
  auto vec = fbb.CreateVector(infos);
  fbb.Finish(fb::CreateListReply(fbb, vec));
  conn->Send(FrameMessage(fb::MessageType::ListReply, fbb));
}

void StoreServer::HandleStats(const std::shared_ptr<Connection>& conn) {
  StoreStats s = store_->stats();
  Fbb fbb;
  fbb.Finish(fb::CreateStatsReply(fbb, s.capacity, s.used_bytes, s.fallback_bytes, s.num_objects,
                                  s.num_sealed, s.num_evictions, s.bytes_evicted,
                                  s.num_fallback_allocations,
                                  static_cast<int64_t>(pending_creates_.size()),
                                  static_cast<int64_t>(connections_.size())));
  conn->Send(FrameMessage(fb::MessageType::StatsReply, fbb));
}

}  // namespace comet::plasma
