#include "src/comet/object_manager/object_manager.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/comet/common/logging.h"
#include "src/comet/common/status_macros.h"
#include "src/comet/object_manager/plasma/protocol.h"
#include "src/comet/rpc/async_call.h"

namespace comet {

class ObjectManager::LeasedClient {
 public:
  LeasedClient(ObjectManager* owner, std::shared_ptr<plasma::PlasmaClient> client)
      : owner_(owner), client_(std::move(client)) {}
  LeasedClient(LeasedClient&& other) noexcept
      : owner_(other.owner_), client_(std::move(other.client_)) {}
  LeasedClient(const LeasedClient&) = delete;
  ~LeasedClient() {
    if (client_) owner_->ReturnClient(std::move(client_));
  }
  bool ok() const { return client_ != nullptr; }
  plasma::PlasmaClient& operator*() const { return *client_; }
  plasma::PlasmaClient* operator->() const { return client_.get(); }

 private:
  ObjectManager* owner_;
  std::shared_ptr<plasma::PlasmaClient> client_;
};

namespace {

// Streams one sealed local object, a chunk per write; holds the object (and
// the plasma client) until the stream is done.
class ChunkWriter : public grpc::ServerWriteReactor<rpc::ObjectChunk> {
 public:
  ChunkWriter(std::function<void()> release, plasma::ObjectBuffer buffer, uint64_t chunk_size)
      : release_(std::move(release)), buffer_(buffer), chunk_size_(std::max<uint64_t>(chunk_size, 1)) {
    total_ = buffer_.data_size + buffer_.metadata_size;
    WriteNext();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the puller went away"));
      return;
    }
    WriteNext();
  }
  void OnDone() override {
    release_();
    delete this;
  }

 private:
  void WriteNext() {
    if (sent_any_ && offset_ >= total_) {
      Finish(grpc::Status::OK);
      return;
    }
    chunk_.Clear();
    chunk_.set_data_size(buffer_.data_size);
    chunk_.set_metadata_size(buffer_.metadata_size);
    chunk_.set_offset(offset_);
    uint64_t n = std::min(chunk_size_, total_ - offset_);
    std::string* out = chunk_.mutable_data();
    out->resize(n);
    // The object is data then metadata; a chunk may span both.
    uint64_t copied = 0;
    if (offset_ < buffer_.data_size) {
      uint64_t from_data = std::min(n, buffer_.data_size - offset_);
      std::memcpy(out->data(), buffer_.data + offset_, from_data);
      copied = from_data;
    }
    if (copied < n) {
      uint64_t meta_offset = offset_ + copied - buffer_.data_size;
      std::memcpy(out->data() + copied, buffer_.metadata + meta_offset, n - copied);
    }
    offset_ += n;
    sent_any_ = true;
    StartWrite(&chunk_);
  }

  std::function<void()> release_;
  plasma::ObjectBuffer buffer_;
  const uint64_t chunk_size_;
  uint64_t total_ = 0;
  uint64_t offset_ = 0;
  bool sent_any_ = false;
  rpc::ObjectChunk chunk_;
};

// Copies a chunk into the object being created (data then metadata).
bool CopyChunk(const rpc::ObjectChunk& chunk, const plasma::MutableObjectBuffer& buffer) {
  uint64_t offset = chunk.offset();
  const std::string& bytes = chunk.data();
  if (offset + bytes.size() > buffer.data_size + buffer.metadata_size) return false;
  uint64_t copied = 0;
  if (offset < buffer.data_size) {
    copied = std::min<uint64_t>(bytes.size(), buffer.data_size - offset);
    std::memcpy(buffer.data + offset, bytes.data(), copied);
  }
  if (copied < bytes.size()) {
    uint64_t meta_offset = offset + copied - buffer.data_size;
    std::memcpy(buffer.metadata + meta_offset, bytes.data() + copied, bytes.size() - copied);
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ObjectManager>> ObjectManager::Create(ObjectManagerOptions options) {
  std::unique_ptr<ObjectManager> manager(new ObjectManager(std::move(options)));
  // Fail early when the store cannot be reached.
  LeasedClient client = manager->LeaseClient();
  if (!client.ok()) {
    return absl::UnavailableError(
        absl::StrCat("object manager: cannot connect to plasma at ", manager->options_.plasma_socket));
  }
  return manager;
}

ObjectManager::ObjectManager(ObjectManagerOptions options)
    : options_(std::move(options)),
      peers_(options_.auth),
      raylets_(options_.auth),
      owners_(options_.auth),
      threads_(std::make_unique<boost::asio::thread_pool>(std::max(1, options_.num_pull_threads))) {}

ObjectManager::~ObjectManager() { Stop(); }

ObjectManager::LeasedClient ObjectManager::LeaseClient() {
  {
    absl::MutexLock lock(&mu_);
    if (!idle_clients_.empty()) {
      auto client = std::move(idle_clients_.back());
      idle_clients_.pop_back();
      return LeasedClient(this, std::move(client));
    }
  }
  auto client = plasma::PlasmaClient::Connect(options_.plasma_socket, "object_manager");
  if (!client.ok()) {
    COMET_LOG(WARNING) << "object manager: plasma connect failed: " << client.status();
    return LeasedClient(this, nullptr);
  }
  return LeasedClient(this, *std::move(client));
}

void ObjectManager::ReturnClient(std::shared_ptr<plasma::PlasmaClient> client) {
  absl::MutexLock lock(&mu_);
  idle_clients_.push_back(std::move(client));
}

void ObjectManager::SetNodeAddresses(absl::flat_hash_map<NodeID, std::string> addresses) {
  absl::MutexLock lock(&mu_);
  addresses_ = std::move(addresses);
}

void ObjectManager::Pull(const rpc::ObjectToPull& object, PullCallback done) {
  auto id = ObjectID::FromBinary(object.object_id());
  if (!id.ok()) {
    done(std::string(id.status().message()));
    return;
  }
  absl::MutexLock lock(&mu_);
  if (stopped_) {
    done("the raylet is shutting down");
    return;
  }
  auto [it, inserted] = pulls_.try_emplace(*id);
  it->second.callbacks.push_back(std::move(done));
  if (!inserted) {
    // Merged into the pull in progress; learn any new locations.
    for (const std::string& node : object.node_ids()) {
      auto& known = *it->second.object.mutable_node_ids();
      if (std::find(known.begin(), known.end(), node) == known.end()) *known.Add() = node;
    }
    return;
  }
  it->second.object = object;
  waiting_.push_back(*id);
  AdmitPulls();
}

void ObjectManager::AdmitPulls() {
  const uint64_t limit =
      static_cast<uint64_t>(static_cast<double>(options_.store_capacity) * options_.max_pull_fraction);
  while (!waiting_.empty() && !stopped_) {
    ObjectID id = waiting_.front();
    PendingPull& pull = pulls_.at(id);
    uint64_t size = static_cast<uint64_t>(std::max<int64_t>(pull.object.size(), 0));
    if (active_pulls_ > 0 && active_bytes_ + size > limit) return;
    waiting_.pop_front();
    pull.admitted = true;
    active_bytes_ += size;
    active_pulls_++;
    boost::asio::post(*threads_, [this, id, object = pull.object] { RunPull(id, object); });
  }
}

void ObjectManager::RunPull(const ObjectID& id, rpc::ObjectToPull object) {
  struct Timed {
    Histogram* histogram;
    absl::Time start = absl::Now();
    ~Timed() { histogram->Record(absl::Now() - start); }
  } timed{&pull_seconds_};
  uint64_t size = static_cast<uint64_t>(std::max<int64_t>(object.size(), 0));
  LeasedClient client = LeaseClient();
  if (!client.ok()) {
    FinishPull(id, "the raylet cannot reach its plasma store", size);
    return;
  }
  auto local = client->Contains(id);
  if (local.ok() && *local) {
    FinishPull(id, "", size);
    return;
  }
  std::vector<std::string> failures;
  for (const std::string& node_bytes : object.node_ids()) {
    auto node = NodeID::FromBinary(node_bytes);
    if (!node.ok() || *node == options_.node_id) continue;
    std::string address;
    {
      absl::MutexLock lock(&mu_);
      if (stopped_) break;
      auto it = addresses_.find(*node);
      if (it != addresses_.end()) address = it->second;
    }
    if (address.empty()) {
      failures.push_back(absl::StrCat("node ", node->Hex(), " is not alive"));
      continue;
    }
    absl::Status pulled = PullFrom(id, address, *client);
    if (pulled.ok()) {
      NotifyOwner(object);
      FinishPull(id, "", size);
      return;
    }
    failures.push_back(absl::StrCat("node ", node->Hex(), " at ", address, ": ", pulled.message()));
  }
  std::string error = failures.empty()
                          ? absl::StrCat("object ", id.Hex(), " is in no live node's object store")
                          : absl::StrCat("no copy of object ", id.Hex(), " could be fetched (",
                                         absl::StrJoin(failures, "; "), ")");
  FinishPull(id, error, size);
}

absl::Status ObjectManager::PullFrom(const ObjectID& id, const std::string& address,
                                     plasma::PlasmaClient& client) {
  auto stub = peers_.Get(address);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.pull_timeout));
  rpc::ObjectPullRequest request;
  request.set_object_id(id.Binary());
  request.set_chunk_size(options_.chunk_size);
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return absl::CancelledError("the raylet is shutting down");
    transfers_.insert(&context);
  }
  struct Unregister {
    ObjectManager* self;
    grpc::ClientContext* context;
    ~Unregister() {
      absl::MutexLock lock(&self->mu_);
      self->transfers_.erase(context);
    }
  } unregister{this, &context};
  std::unique_ptr<grpc::ClientReader<rpc::ObjectChunk>> reader = stub->Pull(&context, request);
  rpc::ObjectChunk chunk;
  std::optional<plasma::MutableObjectBuffer> buffer;
  uint64_t received = 0;
  uint64_t total = 0;
  absl::Status local_error;
  bool already_local = false;
  while (reader->Read(&chunk)) {
    if (!buffer) {
      total = chunk.data_size() + chunk.metadata_size();
      auto created = client.Create(id, chunk.data_size(), chunk.metadata_size(), /*primary=*/false);
      if (!created.ok()) {
        already_local = plasma::ErrorCodeOf(created.status()) == plasma::fb::ErrorCode::ObjectExists;
        local_error = created.status();
        context.TryCancel();
        break;
      }
      buffer = *created;
    }
    if (!CopyChunk(chunk, *buffer)) {
      local_error = absl::DataLossError("a chunk lies outside the object");
      context.TryCancel();
      break;
    }
    received += chunk.data().size();
  }
  grpc::Status status = reader->Finish();
  if (already_local) return absl::OkStatus();
  bool complete = buffer.has_value() && received == total && local_error.ok() && status.ok();
  if (!complete) {
    if (buffer) client.Abort(id).IgnoreError();
    if (!local_error.ok()) return local_error;
    if (!status.ok()) return absl::UnavailableError(status.error_message());
    return absl::DataLossError(absl::StrCat("stream ended after ", received, " of ", total, " bytes"));
  }
  RETURN_IF_ERROR(client.Seal(id));
  client.Release(id).IgnoreError();
  absl::MutexLock lock(&mu_);
  num_pulled_++;
  bytes_pulled_ += static_cast<int64_t>(total);
  return absl::OkStatus();
}

void ObjectManager::NotifyOwner(const rpc::ObjectToPull& object) {
  if (!object.has_owner_address() || object.owner_address().port() == 0) return;
  const rpc::Address& owner = object.owner_address();
  auto stub = owners_.Get(absl::StrCat(owner.ip_address(), ":", owner.port()));
  rpc::AddObjectLocationRequest request;
  request.set_object_id(object.object_id());
  request.set_node_id(options_.node_id.Binary());
  rpc::CallAsync<rpc::AddObjectLocationRequest, rpc::AddObjectLocationReply>(
      [stub](auto* c, auto* q, auto* r, auto done) {
        stub->async()->AddObjectLocation(c, q, r, std::move(done));
      },
      std::move(request), [](const grpc::Status&, rpc::AddObjectLocationReply&&) {},
      /*timeout_ms=*/10000);
}

void ObjectManager::FinishPull(const ObjectID& id, const std::string& error, uint64_t size) {
  std::vector<PullCallback> callbacks;
  {
    absl::MutexLock lock(&mu_);
    auto it = pulls_.find(id);
    if (it != pulls_.end()) {
      callbacks = std::move(it->second.callbacks);
      pulls_.erase(it);
    }
    active_bytes_ -= std::min(active_bytes_, size);
    active_pulls_--;
    AdmitPulls();
  }
  for (auto& callback : callbacks) callback(error);
}

grpc::ServerWriteReactor<rpc::ObjectChunk>* ObjectManager::ServePull(
    grpc::CallbackServerContext* context, const rpc::ObjectPullRequest* request) {
  auto fail = [](grpc::Status status) {
    class Failed : public grpc::ServerWriteReactor<rpc::ObjectChunk> {
     public:
      explicit Failed(grpc::Status status) { Finish(std::move(status)); }
      void OnDone() override { delete this; }
    };
    return new Failed(std::move(status));
  };
  auto id = ObjectID::FromBinary(request->object_id());
  if (!id.ok()) return fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad object id"));
  auto client = std::make_shared<LeasedClient>(LeaseClient());
  if (!client->ok()) return fail(grpc::Status(grpc::StatusCode::UNAVAILABLE, "plasma unreachable"));
  auto got = (*client)->Get({*id}, 0);
  if (!got.ok() || !(*got)[0].has_value()) {
    return fail(grpc::Status(grpc::StatusCode::NOT_FOUND,
                             absl::StrCat("object ", id->Hex(), " is not in this node's store")));
  }
  ObjectID object_id = *id;
  return new ChunkWriter([client, object_id] { (*client)->Release(object_id).IgnoreError(); },
                         *(*got)[0], static_cast<uint64_t>(request->chunk_size() > 0
                                                               ? request->chunk_size()
                                                               : options_.chunk_size));
}

void ObjectManager::FreeLocal(const std::vector<ObjectID>& ids) {
  if (ids.empty()) return;
  LeasedClient client = LeaseClient();
  if (!client.ok()) return;
  auto deleted = client->Delete(ids);
  if (!deleted.ok()) COMET_LOG(WARNING) << "object manager: delete failed: " << deleted.status();
}

void ObjectManager::FreeEverywhere(const rpc::FreeObjectsRequest& request) {
  std::vector<ObjectID> ids;
  for (const std::string& bytes : request.object_ids()) {
    auto id = ObjectID::FromBinary(bytes);
    if (id.ok()) ids.push_back(*id);
  }
  FreeLocal(ids);
  if (!request.forward()) return;
  std::vector<std::string> peers;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [node, address] : addresses_) peers.push_back(address);
  }
  for (const std::string& address : peers) {
    rpc::FreeObjectsRequest forwarded = request;
    forwarded.set_forward(false);
    auto stub = raylets_.Get(address);
    rpc::CallAsync<rpc::FreeObjectsRequest, rpc::FreeObjectsReply>(
        [stub](auto* c, auto* q, auto* r, auto done) {
          stub->async()->FreeObjects(c, q, r, std::move(done));
        },
        std::move(forwarded), [](const grpc::Status&, rpc::FreeObjectsReply&&) {},
        /*timeout_ms=*/10000);
  }
}

void ObjectManager::Stop() {
  std::vector<PullCallback> failed;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    for (const ObjectID& id : waiting_) {
      auto it = pulls_.find(id);
      if (it == pulls_.end()) continue;
      for (auto& callback : it->second.callbacks) failed.push_back(std::move(callback));
      pulls_.erase(it);
    }
    waiting_.clear();
    for (grpc::ClientContext* context : transfers_) context->TryCancel();
  }
  for (auto& callback : failed) callback("the raylet is shutting down");
  threads_->join();
  absl::MutexLock lock(&mu_);
  idle_clients_.clear();
}

void ObjectManager::AppendMetrics(MetricsText* text, const MetricsText::Labels& node) const {
  int64_t pulled, bytes;
  size_t waiting;
  {
    absl::MutexLock lock(&mu_);
    pulled = num_pulled_;
    bytes = bytes_pulled_;
    waiting = waiting_.size();
  }
  text->Family("comet_object_manager_pulled_objects_total", "counter",
               "Objects pulled from other nodes since start.")
      .Sample("comet_object_manager_pulled_objects_total", node, static_cast<double>(pulled));
  text->Family("comet_object_manager_pulled_bytes_total", "counter",
               "Bytes pulled from other nodes since start.")
      .Sample("comet_object_manager_pulled_bytes_total", node, static_cast<double>(bytes));
  text->Family("comet_object_manager_pulls_waiting", "gauge",
               "Pulls waiting for admission (store memory).")
      .Sample("comet_object_manager_pulls_waiting", node, static_cast<double>(waiting));
  text->Family("comet_object_pull_seconds", "histogram",
               "Duration of one object's pull from another node.")
      .HistogramSamples("comet_object_pull_seconds", node, pull_seconds_);
}

int64_t ObjectManager::num_pulled() const {
  absl::MutexLock lock(&mu_);
  return num_pulled_;
}

int64_t ObjectManager::bytes_pulled() const {
  absl::MutexLock lock(&mu_);
  return bytes_pulled_;
}

}  // namespace comet
