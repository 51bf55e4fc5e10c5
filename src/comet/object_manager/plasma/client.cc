#include "src/comet/object_manager/plasma/client.h"

#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "src/comet/common/status_macros.h"

namespace comet::plasma {
namespace {

using Fbb = flatbuffers::FlatBufferBuilder;

flatbuffers::Offset<flatbuffers::Vector<uint8_t>> IdVector(Fbb& fbb, const ObjectID& id) {
  std::string bin = id.Binary();
  return fbb.CreateVector(reinterpret_cast<const uint8_t*>(bin.data()), bin.size());
}

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::ObjectIdEntry>>> IdEntries(
    Fbb& fbb, const std::vector<ObjectID>& ids) {
  std::vector<flatbuffers::Offset<fb::ObjectIdEntry>> entries;
  entries.reserve(ids.size());
  for (const ObjectID& id : ids) entries.push_back(fb::CreateObjectIdEntry(fbb, IdVector(fbb, id)));
  return fbb.CreateVector(entries);
}

template <typename T>
const T* Root(const ReceivedMessage& msg) {
  return flatbuffers::GetRoot<T>(msg.payload.data());
}

std::string Str(const flatbuffers::String* s) { return s == nullptr ? "" : s->str(); }

}  // namespace

absl::StatusOr<std::shared_ptr<PlasmaClient>> PlasmaClient::Connect(
    const std::string& socket_path, const std::string& client_name, uint64_t max_message_bytes) {
  ASSIGN_OR_RETURN(int sock, ConnectUnixSocket(socket_path));
  std::shared_ptr<PlasmaClient> client(new PlasmaClient(sock, max_message_bytes));
  absl::MutexLock lock(&client->mu_);
  Fbb fbb;
  fbb.Finish(fb::CreateConnectRequest(fbb, fbb.CreateString(client_name)));
  ASSIGN_OR_RETURN(ReceivedMessage reply, client->Request(fb::MessageType::ConnectRequest, fbb,
                                                          fb::MessageType::ConnectReply));
  client->capacity_ = static_cast<uint64_t>(Root<fb::ConnectReply>(reply)->capacity());
  return client;
}

PlasmaClient::~PlasmaClient() { Disconnect(); }

void PlasmaClient::Disconnect() {
  absl::MutexLock lock(&mu_);
  if (sock_ >= 0) close(sock_);
  sock_ = -1;
  held_.clear();
  mappings_.clear();
}

absl::StatusOr<ReceivedMessage> PlasmaClient::Request(fb::MessageType type, const Fbb& fbb,
                                                      fb::MessageType reply_type) {
  if (sock_ < 0) return absl::FailedPreconditionError("plasma client is disconnected");
  RETURN_IF_ERROR(SendAll(sock_, FrameMessage(type, fbb), {}));
  ASSIGN_OR_RETURN(ReceivedMessage reply, ReceiveMessage(sock_, max_message_bytes_));
  if (reply.type == fb::MessageType::ErrorReply) {
    for (int fd : reply.fds) close(fd);
    const auto* err = Root<fb::ErrorReply>(reply);
    return StatusFromError(err->error(), Str(err->message()));
  }
  if (reply.type != reply_type) {
    for (int fd : reply.fds) close(fd);
    return absl::InternalError(absl::StrCat("plasma store answered ",
                                            fb::EnumNameMessageType(reply.type), " to ",
                                            fb::EnumNameMessageType(type)));
  }
  return reply;
}

absl::Status PlasmaClient::MapNewFds(
    const flatbuffers::Vector<flatbuffers::Offset<fb::MmapFd>>* new_fds, std::vector<int>& fds) {
  size_t n = new_fds == nullptr ? 0 : new_fds->size();
  absl::Status status;
  if (n != fds.size()) {
    status = absl::InternalError(absl::StrCat("plasma reply announced ", n,
                                              " descriptors but carried ", fds.size()));
  }
  for (size_t i = 0; i < fds.size(); ++i) {
    if (!status.ok() || i >= n || mappings_.contains(new_fds->Get(i)->fd_id())) {
      close(fds[i]);
      continue;
    }
    const fb::MmapFd* info = new_fds->Get(i);
    absl::StatusOr<std::unique_ptr<MemoryMapping>> mapping =
        MemoryMapping::FromFd(fds[i], static_cast<uint64_t>(info->map_size()), /*writable=*/true);
    if (!mapping.ok()) {
      status = mapping.status();
      continue;
    }
    mappings_[info->fd_id()] = *std::move(mapping);
  }
  fds.clear();
  return status;
}

uint8_t* PlasmaClient::Base(int64_t fd_id) {
  auto it = mappings_.find(fd_id);
  return it == mappings_.end() ? nullptr : it->second->data();
}

absl::StatusOr<MutableObjectBuffer> PlasmaClient::Create(const ObjectID& id, uint64_t data_size,
                                                         uint64_t metadata_size, bool primary) {
  absl::MutexLock lock(&mu_);
  Fbb fbb;
  fbb.Finish(fb::CreateCreateRequest(fbb, IdVector(fbb, id), data_size, metadata_size, primary));
  ASSIGN_OR_RETURN(ReceivedMessage reply, Request(fb::MessageType::CreateRequest, fbb,
                                                  fb::MessageType::CreateReply));
  const auto* root = Root<fb::CreateReply>(reply);
  RETURN_IF_ERROR(MapNewFds(root->new_fds(), reply.fds));
  RETURN_IF_ERROR(StatusFromError(root->error(), Str(root->message())));
  const fb::ObjectSpec* spec = root->object();
  uint8_t* base = spec == nullptr ? nullptr : Base(spec->fd_id());
  if (base == nullptr) return absl::InternalError("plasma store sent no mapping for the object");
  Held& held = held_[id];
  held.fd_id = spec->fd_id();
  held.count++;
  return MutableObjectBuffer{base + spec->data_offset(), spec->data_size(),
                             base + spec->metadata_offset(), spec->metadata_size(),
                             spec->fallback()};
}

template <typename Reply, typename Build>
absl::Status PlasmaClient::IdRequest(fb::MessageType type, fb::MessageType reply_type,
                                     const ObjectID& id, Build build) {
  Fbb fbb;
  fbb.Finish(build(fbb, IdVector(fbb, id)));
  ASSIGN_OR_RETURN(ReceivedMessage reply, Request(type, fbb, reply_type));
  const auto* root = Root<Reply>(reply);
  return StatusFromError(root->error(), Str(root->message()));
}

absl::Status PlasmaClient::Seal(const ObjectID& id) {
  absl::MutexLock lock(&mu_);
  return IdRequest<fb::SealReply>(fb::MessageType::SealRequest, fb::MessageType::SealReply, id,
                                  [](Fbb& fbb, auto oid) { return fb::CreateSealRequest(fbb, oid); });
}

absl::Status PlasmaClient::Abort(const ObjectID& id) {
  absl::MutexLock lock(&mu_);
  absl::Status status = IdRequest<fb::AbortReply>(
      fb::MessageType::AbortRequest, fb::MessageType::AbortReply, id,
      [](Fbb& fbb, auto oid) { return fb::CreateAbortRequest(fbb, oid); });
  if (status.ok()) Forget(id, /*all=*/true);
  return status;
}

absl::StatusOr<std::vector<std::optional<ObjectBuffer>>> PlasmaClient::Get(
    const std::vector<ObjectID>& ids, int64_t timeout_ms) {
  absl::MutexLock lock(&mu_);
  Fbb fbb;
  fbb.Finish(fb::CreateGetRequest(fbb, IdEntries(fbb, ids), timeout_ms));
  ASSIGN_OR_RETURN(ReceivedMessage reply,
                   Request(fb::MessageType::GetRequest, fbb, fb::MessageType::GetReply));
  const auto* root = Root<fb::GetReply>(reply);
  RETURN_IF_ERROR(MapNewFds(root->new_fds(), reply.fds));
  RETURN_IF_ERROR(StatusFromError(root->error(), Str(root->message())));
  const auto* found = root->found();
  const auto* specs = root->objects();
  if (found == nullptr || specs == nullptr || found->size() != ids.size() ||
      specs->size() != ids.size()) {
    return absl::InternalError("plasma GetReply does not match the request");
  }
  std::vector<std::optional<ObjectBuffer>> out(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!found->Get(i)) continue;
    const fb::ObjectSpec* spec = specs->Get(i);
    uint8_t* base = Base(spec->fd_id());
    if (base == nullptr) return absl::InternalError("plasma store sent no mapping for an object");
    Held& held = held_[ids[i]];
    held.fd_id = spec->fd_id();
    held.count++;
    out[i] = ObjectBuffer{base + spec->data_offset(), spec->data_size(),
                          base + spec->metadata_offset(), spec->metadata_size(), spec->fallback()};
  }
  return out;
}

void PlasmaClient::Forget(const ObjectID& id, bool all) {
  auto it = held_.find(id);
  if (it == held_.end()) return;
  if (!all && --it->second.count > 0) return;
  int64_t fd_id = it->second.fd_id;
  held_.erase(it);
  if (fd_id != ObjectStore::kArenaFdId) mappings_.erase(fd_id);
}

absl::Status PlasmaClient::Release(const ObjectID& id) {
  absl::MutexLock lock(&mu_);
  absl::Status status = IdRequest<fb::ReleaseReply>(
      fb::MessageType::ReleaseRequest, fb::MessageType::ReleaseReply, id,
      [](Fbb& fbb, auto oid) { return fb::CreateReleaseRequest(fbb, oid); });
  if (status.ok()) Forget(id, /*all=*/false);
  return status;
}

absl::StatusOr<bool> PlasmaClient::Contains(const ObjectID& id) {
  absl::MutexLock lock(&mu_);
  Fbb fbb;
  fbb.Finish(fb::CreateContainsRequest(fbb, IdVector(fbb, id)));
  ASSIGN_OR_RETURN(ReceivedMessage reply,
                   Request(fb::MessageType::ContainsRequest, fbb, fb::MessageType::ContainsReply));
  const auto* root = Root<fb::ContainsReply>(reply);
  RETURN_IF_ERROR(StatusFromError(root->error(), Str(root->message())));
  return root->has_object();
}

absl::StatusOr<std::vector<absl::Status>> PlasmaClient::Delete(const std::vector<ObjectID>& ids) {
  absl::MutexLock lock(&mu_);
  Fbb fbb;
  fbb.Finish(fb::CreateDeleteRequest(fbb, IdEntries(fbb, ids)));
  ASSIGN_OR_RETURN(ReceivedMessage reply,
                   Request(fb::MessageType::DeleteRequest, fbb, fb::MessageType::DeleteReply));
  const auto* errors = Root<fb::DeleteReply>(reply)->errors();
  if (errors == nullptr || errors->size() != ids.size()) {
    return absl::InternalError("plasma DeleteReply does not match the request");
  }
  std::vector<absl::Status> out;
  for (size_t i = 0; i < ids.size(); ++i) {
    out.push_back(StatusFromError(static_cast<fb::ErrorCode>(errors->Get(i)),
                                  absl::StrCat("delete of ", ids[i].Hex())));
  }
  return out;
}

absl::StatusOr<std::vector<ObjectSummary>> PlasmaClient::List() {
  absl::MutexLock lock(&mu_);
  Fbb fbb;
  fbb.Finish(fb::CreateListRequest(fbb));
  ASSIGN_OR_RETURN(ReceivedMessage reply,
                   Request(fb::MessageType::ListRequest, fbb, fb::MessageType::ListReply));
  std::vector<ObjectSummary> out;
  const auto* objects = Root<fb::ListReply>(reply)->objects();
  if (objects == nullptr) return out;
  for (const fb::ObjectInfo* info : *objects) {
    if (info->object_id() == nullptr) continue;
    absl::StatusOr<ObjectID> id = ObjectID::FromBinary(absl::string_view(
        reinterpret_cast<const char*>(info->object_id()->data()), info->object_id()->size()));
    if (!id.ok()) continue;
    out.push_back({*id, info->data_size(), info->metadata_size(),
                   info->state() == fb::ObjectState::Sealed, info->ref_count(),
                   info->fallback()});
  }
  return out;
}

absl::StatusOr<StoreStats> PlasmaClient::Stats() {
  absl::MutexLock lock(&mu_);
  Fbb fbb;
  fbb.Finish(fb::CreateStatsRequest(fbb));
  ASSIGN_OR_RETURN(ReceivedMessage reply,
                   Request(fb::MessageType::StatsRequest, fbb, fb::MessageType::StatsReply));
  const auto* r = Root<fb::StatsReply>(reply);
  StoreStats s;
  s.capacity = r->capacity();
  s.used_bytes = r->used_bytes();
  s.fallback_bytes = r->fallback_bytes();
  s.num_objects = r->num_objects();
  s.num_sealed = r->num_sealed();
  s.num_evictions = r->num_evictions();
  s.bytes_evicted = r->bytes_evicted();
  s.num_fallback_allocations = r->num_fallback_allocations();
  s.num_pending_creates = r->num_pending_creates();
  s.num_clients = r->num_clients();
  return s;
}

absl::Status PlasmaClient::Put(const ObjectID& id, absl::string_view data,
                               absl::string_view metadata, bool primary) {
  ASSIGN_OR_RETURN(MutableObjectBuffer buf, Create(id, data.size(), metadata.size(), primary));
  if (!data.empty()) std::memcpy(buf.data, data.data(), data.size());
  if (!metadata.empty()) std::memcpy(buf.metadata, metadata.data(), metadata.size());
  absl::Status status = Seal(id);
  if (!status.ok()) {
    Abort(id).IgnoreError();
    return status;
  }
  return Release(id);
}

}  // namespace comet::plasma
