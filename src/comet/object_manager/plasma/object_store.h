// ObjectStore: the plasma store's state, with no I/O.
//
// Owns the shared-memory arena, its allocator, the file-backed fallback
// mappings, the object table, per-client references and the LRU list of
// evictable objects. Every decision of the store is made here; the server
// (store_server.h) only moves bytes and timers. Thread-compatible: confined
// to the store's event-loop thread.
//
// Lifecycle of an object: Create (creator holds one reference) -> Seal ->
// readers Acquire/Release references -> Delete (deferred while referenced) or
// eviction (sealed, unreferenced, least recently used first). An unsealed
// object can be Aborted by its creator; a disconnecting client releases all it
// holds and aborts what it left unsealed.
//
// Spilling (on when spill_dir is set): a sealed primary object that no client
// references can be written to a spill file and its memory freed. It stays
// in the store (Contains and IsSealed hold), and Acquire restores it into the
// arena (making room as CreateObject does, else into a fallback mapping)
// before returning its location. The store spills, oldest unreferenced
// primaries first and several objects per file (at least min_spill_bytes
// when that many are spillable):
//  - after any call that leaves the bytes of the arena that eviction cannot
//    free above spill_threshold of capacity, until they are below it;
//  - when an allocation cannot fit, after evicting every non-primary object
//    it may (LRU, as without spilling) and before failing.
// A restored object keeps its copy on disk, so spilling it again writes
// nothing; the copy goes when the object is deleted. Spill I/O is plain
// synchronous pwrite/pread on the calling (store) thread. Destroying the
// store unlinks every spill file.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "src/comet/common/id.h"
#include "src/comet/object_manager/plasma/allocator.h"
#include "src/comet/object_manager/plasma/memory_mapping.h"
#include "src/comet/object_manager/plasma/spill_storage.h"

namespace comet::plasma {

using ClientId = uint64_t;

struct ObjectStoreOptions {
  // Bytes of the shared-memory arena.
  uint64_t capacity = 0;
  // Directory for file-backed fallback mappings; empty disables fallback.
  std::string fallback_dir;
  // Directory for spill files (created if missing); empty disables spilling.
  std::string spill_dir;
  // Fraction of capacity in [0, 1]: spill once the arena bytes that eviction
  // cannot free exceed it, until they are below it.
  double spill_threshold = 0.8;
  // Bytes to spill per batch (one file) when that many are spillable.
  uint64_t min_spill_bytes = 100ull << 20;
};

// Where an object's bytes are, relative to the mapping `fd_id`.
struct ObjectLocation {
  int64_t fd_id = 0;
  uint64_t data_offset = 0;
  uint64_t data_size = 0;
  uint64_t metadata_offset = 0;
  uint64_t metadata_size = 0;
  bool fallback = false;
};

struct ObjectSummary {
  ObjectID id;
  uint64_t data_size = 0;
  uint64_t metadata_size = 0;
  bool sealed = false;
  int64_t ref_count = 0;
  bool fallback = false;
  bool primary = false;
  // Only on disk now; Acquire restores it.
  bool spilled = false;
};

struct StoreStats {
  int64_t capacity = 0;
  int64_t used_bytes = 0;
  int64_t fallback_bytes = 0;
  int64_t num_objects = 0;
  int64_t num_sealed = 0;
  int64_t num_evictions = 0;
  int64_t bytes_evicted = 0;
  int64_t num_fallback_allocations = 0;
  // Spilling totals since start (an object counts each time it leaves or
  // re-enters memory), failed spill batches, and what is on disk now.
  int64_t num_objects_spilled = 0;
  int64_t bytes_spilled = 0;
  int64_t num_objects_restored = 0;
  int64_t bytes_restored = 0;
  int64_t num_spill_failures = 0;
  int64_t num_spilled_objects = 0;
  int64_t spill_bytes_on_disk = 0;
  int64_t num_spill_files = 0;
  // Filled by the server: creates waiting for memory, connected clients.
  int64_t num_pending_creates = 0;
  int64_t num_clients = 0;
};

// What a Release left behind for the releasing client.
struct ReleaseResult {
  int64_t client_refs_left = 0;
  int64_t fd_id = 0;
  bool fallback = false;
};

class ObjectStore {
 public:
  // The arena's mapping id; fallback mappings get ids above it.
  static constexpr int64_t kArenaFdId = 1;

  static absl::StatusOr<std::unique_ptr<ObjectStore>> Create(const ObjectStoreOptions& options);

  // Allocates an object in the arena, evicting unreferenced objects if that
  // makes room. ResourceExhausted when it cannot (the caller may wait and
  // retry, or use CreateFallbackObject); OutOfRange when the object is larger
  // than the arena; AlreadyExists for a known id.
  // A `primary` object is never evicted; it stays until deleted.
  absl::StatusOr<ObjectLocation> CreateObject(ClientId client, const ObjectID& id,
                                              uint64_t data_size, uint64_t metadata_size,
                                              bool primary = false);

  // Allocates an object in a new file-backed mapping under fallback_dir.
  absl::StatusOr<ObjectLocation> CreateFallbackObject(ClientId client, const ObjectID& id,
                                                      uint64_t data_size, uint64_t metadata_size,
                                                      bool primary = false);

  absl::Status Seal(ClientId client, const ObjectID& id);

  // Adds a reference of `client` to a sealed object, restoring it from its
  // spill file first if it is spilled (OutOfMemory when there is no room for
  // it anywhere, the error when the file cannot be read).
  absl::StatusOr<ObjectLocation> Acquire(ClientId client, const ObjectID& id);
  absl::StatusOr<ReleaseResult> Release(ClientId client, const ObjectID& id);
  absl::Status Abort(ClientId client, const ObjectID& id);

  // Frees a sealed object now, or when its last reference goes.
  absl::Status Delete(const ObjectID& id);

  // Releases everything `client` holds and aborts what it left unsealed.
  void DisconnectClient(ClientId client);

  bool IsSealed(const ObjectID& id) const;
  // True for spilled objects too.
  bool Contains(const ObjectID& id) const { return objects_.contains(id); }
  bool IsSpilled(const ObjectID& id) const;

  // The mapping with this id (the arena or a fallback file), or nullptr.
  const MemoryMapping* mapping(int64_t fd_id) const;

  std::vector<ObjectSummary> List() const;
  StoreStats stats() const;
  uint64_t capacity() const { return allocator_.capacity(); }

 private:
  struct Entry {
    uint64_t data_size = 0;
    uint64_t metadata_size = 0;
    bool sealed = false;
    int64_t fd_id = kArenaFdId;
    uint64_t offset = 0;
    ClientId creator = 0;
    int64_t ref_count = 0;
    absl::flat_hash_map<ClientId, int64_t> holders;
    bool delete_pending = false;
    bool primary = false;
    bool in_lru = false;
    std::list<ObjectID>::iterator lru_pos;
    // Bytes only on disk (fd_id and offset mean nothing).
    bool spilled = false;
    // The copy on disk, if any; kept after a restore until the object goes.
    std::optional<SpillLocation> spill;
    bool in_spill_queue = false;
    std::list<ObjectID>::iterator spill_pos;
  };

  ObjectStore(const ObjectStoreOptions& options, std::unique_ptr<MemoryMapping> arena,
              std::unique_ptr<SpillStorage> spill);

  absl::Status CheckCreate(const ObjectID& id, uint64_t data_size, uint64_t metadata_size) const;
  absl::StatusOr<uint64_t> AllocateWithEviction(uint64_t size);
  ObjectLocation Insert(ClientId client, const ObjectID& id, Entry entry);
  ObjectLocation LocationOf(const Entry& entry) const;
  void AddReference(ClientId client, const ObjectID& id, Entry& entry);
  void OnUnreferenced(const ObjectID& id, Entry& entry);
  void RemoveFromLru(Entry& entry);
  void RemoveFromSpillQueue(Entry& entry);
  // Spills the oldest spillable objects, at least `min_bytes` of them when
  // there are that many, in one file.
  absl::Status SpillBatch(uint64_t min_bytes);
  // Spills while the unevictable arena bytes exceed the threshold.
  void SpillAboveThreshold();
  absl::Status Restore(const ObjectID& id);
  // Places spilled `id` in memory, without its bytes: in the arena (evicting
  // and spilling others as a create does), else in a fallback mapping.
  absl::StatusOr<uint8_t*> AllocateForRestore(const ObjectID& id);
  // Undoes AllocateForRestore.
  void FreeMemory(Entry& entry);
  void Free(const ObjectID& id);
  uint64_t AllocatedSize(const Entry& entry) const;

  ObjectStoreOptions options_;
  std::unique_ptr<MemoryMapping> arena_;
  Allocator allocator_;
  absl::flat_hash_map<int64_t, std::unique_ptr<MemoryMapping>> fallback_mappings_;
  int64_t next_fd_id_ = kArenaFdId + 1;
  absl::flat_hash_map<ObjectID, Entry> objects_;
  // Sealed, unreferenced arena objects; front = least recently used.
  std::list<ObjectID> lru_;
  uint64_t evictable_bytes_ = 0;
  // Null when spilling is off.
  std::unique_ptr<SpillStorage> spill_;
  // Sealed, unreferenced primary arena objects; front = least recently used.
  std::list<ObjectID> spill_queue_;
  uint64_t spillable_bytes_ = 0;
  absl::flat_hash_map<ClientId, absl::flat_hash_set<ObjectID>> held_by_client_;
  absl::flat_hash_map<ClientId, absl::flat_hash_set<ObjectID>> unsealed_by_client_;
  StoreStats stats_;
};

}  // namespace comet::plasma
