// PlasmaClient: a process's connection to its node's plasma store.
//
// Owns the socket and every mapping the store has sent (the arena once, and
// file-backed fallback mappings while this client holds an object in them),
// plus a count of the references this client holds per object. Pointers it
// returns stay valid until the matching Release (or Abort). Thread-safe: one
// request at a time under a mutex, so a Get that waits blocks other calls on
// the same client until it returns.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "src/comet/common/id.h"
#include "src/comet/object_manager/plasma/fd_passing.h"
#include "src/comet/object_manager/plasma/memory_mapping.h"
#include "src/comet/object_manager/plasma/object_store.h"

namespace comet::plasma {

// A sealed object's bytes, read-only.
struct ObjectBuffer {
  const uint8_t* data = nullptr;
  uint64_t data_size = 0;
  const uint8_t* metadata = nullptr;
  uint64_t metadata_size = 0;
  bool fallback = false;
};

// A created, unsealed object's bytes, for its creator to fill.
struct MutableObjectBuffer {
  uint8_t* data = nullptr;
  uint64_t data_size = 0;
  uint8_t* metadata = nullptr;
  uint64_t metadata_size = 0;
  bool fallback = false;
};

class PlasmaClient {
 public:
  static absl::StatusOr<std::shared_ptr<PlasmaClient>> Connect(
      const std::string& socket_path, const std::string& client_name = "",
      uint64_t max_message_bytes = 64ull << 20);
  ~PlasmaClient();
  PlasmaClient(const PlasmaClient&) = delete;
  PlasmaClient& operator=(const PlasmaClient&) = delete;

  // Creates an object; this client holds one reference until Release. Waits
  // while the store makes room (eviction, then a file-backed fallback).
  // A `primary` copy is never evicted: it stays until deleted.
  absl::StatusOr<MutableObjectBuffer> Create(const ObjectID& id, uint64_t data_size,
                                             uint64_t metadata_size = 0, bool primary = false);
  absl::Status Seal(const ObjectID& id);
  absl::Status Abort(const ObjectID& id);

  // One entry per id (duplicates allowed), nullopt for objects not sealed
  // within timeout_ms (negative: wait forever). Each found entry holds one
  // reference until Release.
  absl::StatusOr<std::vector<std::optional<ObjectBuffer>>> Get(const std::vector<ObjectID>& ids,
                                                               int64_t timeout_ms);
  absl::Status Release(const ObjectID& id);
  absl::StatusOr<bool> Contains(const ObjectID& id);

  // One status per id: deleted now, or once its last reference goes.
  absl::StatusOr<std::vector<absl::Status>> Delete(const std::vector<ObjectID>& ids);
  absl::StatusOr<std::vector<ObjectSummary>> List();
  absl::StatusOr<StoreStats> Stats();

  // Create, copy, Seal and Release in one call.
  absl::Status Put(const ObjectID& id, absl::string_view data, absl::string_view metadata = {},
                   bool primary = false);

  // Closes the connection: the store releases what this client held.
  void Disconnect();

  uint64_t capacity() const { return capacity_; }

 private:
  struct Held {
    int64_t fd_id = 0;
    int64_t count = 0;
  };

  PlasmaClient(int sock, uint64_t max_message_bytes) : sock_(sock), max_message_bytes_(max_message_bytes) {}

  absl::StatusOr<ReceivedMessage> Request(fb::MessageType type,
                                          const flatbuffers::FlatBufferBuilder& fbb,
                                          fb::MessageType reply_type)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status MapNewFds(const flatbuffers::Vector<flatbuffers::Offset<fb::MmapFd>>* new_fds,
                         std::vector<int>& fds) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  uint8_t* Base(int64_t fd_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A request that names one object and is answered with {error, message}.
  template <typename Reply, typename Build>
  absl::Status IdRequest(fb::MessageType type, fb::MessageType reply_type, const ObjectID& id,
                         Build build) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Forget(const ObjectID& id, bool all) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  int sock_ ABSL_GUARDED_BY(mu_);
  const uint64_t max_message_bytes_;
  uint64_t capacity_ = 0;
  absl::flat_hash_map<int64_t, std::unique_ptr<MemoryMapping>> mappings_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<ObjectID, Held> held_ ABSL_GUARDED_BY(mu_);
};

}  // namespace comet::plasma
