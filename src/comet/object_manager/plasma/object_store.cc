#include "src/comet/object_manager/plasma/object_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "src/comet/common/status_macros.h"
#include "src/comet/object_manager/plasma/protocol.h"

namespace comet::plasma {
namespace {

uint64_t RoundUp(uint64_t n) {
  uint64_t a = Allocator::kAlignment;
  return n == 0 ? a : (n + a - 1) / a * a;
}

absl::Status NotFound(const ObjectID& id) {
  return PlasmaError(fb::ErrorCode::ObjectNotFound,
                     absl::StrCat("object ", id.Hex(), " is not in the store"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ObjectStore>> ObjectStore::Create(
    const ObjectStoreOptions& options) {
  uint64_t capacity = options.capacity / Allocator::kAlignment * Allocator::kAlignment;
  if (capacity == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("object store capacity must be at least ", Allocator::kAlignment, " bytes"));
  }
  if (!(options.spill_threshold >= 0 && options.spill_threshold <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "spill threshold must be a fraction of capacity in [0, 1], got ", options.spill_threshold));
  }
  std::unique_ptr<SpillStorage> spill;
  if (!options.spill_dir.empty()) {
    ASSIGN_OR_RETURN(spill, SpillStorage::Create(options.spill_dir));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<MemoryMapping> arena,
                   MemoryMapping::CreateArena("comet-plasma", capacity));
  return std::unique_ptr<ObjectStore>(
      new ObjectStore(options, std::move(arena), std::move(spill)));
}

ObjectStore::ObjectStore(const ObjectStoreOptions& options, std::unique_ptr<MemoryMapping> arena,
                         std::unique_ptr<SpillStorage> spill)
    : options_(options),
      arena_(std::move(arena)),
      allocator_(arena_->size()),
      spill_(std::move(spill)) {
  stats_.capacity = static_cast<int64_t>(allocator_.capacity());
}

absl::Status ObjectStore::CheckCreate(const ObjectID& id, uint64_t data_size,
                                      uint64_t metadata_size) const {
  if (objects_.contains(id)) {
    return PlasmaError(fb::ErrorCode::ObjectExists,
                       absl::StrCat("object ", id.Hex(), " already exists"));
  }
  uint64_t total = data_size + metadata_size;
  if (total < data_size || total > allocator_.capacity()) {
    return PlasmaError(fb::ErrorCode::ObjectTooLarge,
                       absl::StrCat("object of ", data_size, "+", metadata_size,
                                    " bytes exceeds the object store capacity of ",
                                    allocator_.capacity(), " bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ObjectStore::AllocateWithEviction(uint64_t size) {
  absl::StatusOr<uint64_t> offset = allocator_.Allocate(size);
  if (offset.ok()) return offset;
  // Evicting and spilling cannot help when even every byte they could free
  // would not be enough.
  uint64_t spillable = spill_ != nullptr ? spillable_bytes_ : 0;
  if (allocator_.free_bytes() + evictable_bytes_ + spillable < RoundUp(size)) {
    return PlasmaError(fb::ErrorCode::OutOfMemory,
                       absl::StrCat("object store full: need ", size, " bytes, ",
                                    allocator_.free_bytes(), " free, ", evictable_bytes_,
                                    " evictable and ", spillable, " spillable of ",
                                    allocator_.capacity()));
  }
  while (!lru_.empty()) {
    ObjectID victim = lru_.front();
    stats_.num_evictions++;
    stats_.bytes_evicted += static_cast<int64_t>(AllocatedSize(objects_.at(victim)));
    Free(victim);
    offset = allocator_.Allocate(size);
    if (offset.ok()) return offset;
  }
  while (spill_ != nullptr && !spill_queue_.empty()) {
    uint64_t missing = RoundUp(size) - std::min(RoundUp(size), allocator_.free_bytes());
    absl::Status spilled = SpillBatch(std::max({missing, options_.min_spill_bytes, uint64_t{1}}));
    if (!spilled.ok()) {
      return PlasmaError(fb::ErrorCode::OutOfMemory,
                         absl::StrCat("object store full and spilling failed: ",
                                      spilled.message()));
    }
    offset = allocator_.Allocate(size);
    if (offset.ok()) return offset;
  }
  return PlasmaError(fb::ErrorCode::OutOfMemory,
                     absl::StrCat("object store full: no free block of ", size,
                                  " bytes after evicting every unreferenced object",
                                  spill_ != nullptr ? " and spilling every spillable one" : ""));
}

absl::StatusOr<ObjectLocation> ObjectStore::CreateObject(ClientId client, const ObjectID& id,
                                                         uint64_t data_size,
                                                         uint64_t metadata_size, bool primary) {
  RETURN_IF_ERROR(CheckCreate(id, data_size, metadata_size));
  ASSIGN_OR_RETURN(uint64_t offset, AllocateWithEviction(data_size + metadata_size));
  Entry entry;
  entry.primary = primary;
  entry.data_size = data_size;
  entry.metadata_size = metadata_size;
  entry.offset = offset;
  ObjectLocation location = Insert(client, id, std::move(entry));
  SpillAboveThreshold();  // Cannot move the new object: its creator holds it.
  return location;
}

absl::StatusOr<ObjectLocation> ObjectStore::CreateFallbackObject(ClientId client,
                                                                 const ObjectID& id,
                                                                 uint64_t data_size,
                                                                 uint64_t metadata_size,
                                                                 bool primary) {
  RETURN_IF_ERROR(CheckCreate(id, data_size, metadata_size));
  if (options_.fallback_dir.empty()) {
    return PlasmaError(fb::ErrorCode::OutOfMemory,
                       "object store full and fallback allocation is disabled");
  }
  absl::StatusOr<std::unique_ptr<MemoryMapping>> mapping =
      MemoryMapping::CreateFileBacked(options_.fallback_dir, RoundUp(data_size + metadata_size));
  if (!mapping.ok()) {
    return PlasmaError(fb::ErrorCode::OutOfMemory,
                       absl::StrCat("object store full and fallback allocation failed: ",
                                    mapping.status().message()));
  }
  Entry entry;
  entry.primary = primary;
  entry.data_size = data_size;
  entry.metadata_size = metadata_size;
  entry.fd_id = next_fd_id_++;
  fallback_mappings_[entry.fd_id] = *std::move(mapping);
  stats_.num_fallback_allocations++;
  return Insert(client, id, std::move(entry));
}

ObjectLocation ObjectStore::Insert(ClientId client, const ObjectID& id, Entry entry) {
  entry.creator = client;
  auto [it, inserted] = objects_.emplace(id, std::move(entry));
  unsealed_by_client_[client].insert(id);
  AddReference(client, id, it->second);
  if (it->second.fd_id == kArenaFdId) {
    stats_.used_bytes += static_cast<int64_t>(AllocatedSize(it->second));
  } else {
    stats_.fallback_bytes += static_cast<int64_t>(AllocatedSize(it->second));
  }
  return LocationOf(it->second);
}

absl::Status ObjectStore::Seal(ClientId client, const ObjectID& id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return NotFound(id);
  Entry& entry = it->second;
  if (entry.sealed) {
    return PlasmaError(fb::ErrorCode::ObjectAlreadySealed,
                       absl::StrCat("object ", id.Hex(), " is already sealed"));
  }
  if (entry.creator != client) {
    return PlasmaError(fb::ErrorCode::InvalidRequest,
                       absl::StrCat("object ", id.Hex(), " can only be sealed by its creator"));
  }
  entry.sealed = true;
  unsealed_by_client_[client].erase(id);
  if (entry.ref_count == 0) {
    OnUnreferenced(id, entry);
    SpillAboveThreshold();
  }
  return absl::OkStatus();
}

absl::StatusOr<ObjectLocation> ObjectStore::Acquire(ClientId client, const ObjectID& id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return NotFound(id);
  if (!it->second.sealed) {
    return PlasmaError(fb::ErrorCode::ObjectNotSealed,
                       absl::StrCat("object ", id.Hex(), " is not sealed yet"));
  }
  bool restore = it->second.spilled;
  if (restore) RETURN_IF_ERROR(Restore(id));
  Entry& entry = objects_.at(id);  // Restoring may have freed other entries.
  AddReference(client, id, entry);
  if (restore) SpillAboveThreshold();  // Cannot move `id`: `client` holds it.
  return LocationOf(entry);
}

absl::StatusOr<ReleaseResult> ObjectStore::Release(ClientId client, const ObjectID& id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return NotFound(id);
  Entry& entry = it->second;
  auto holder = entry.holders.find(client);
  if (holder == entry.holders.end()) {
    return PlasmaError(fb::ErrorCode::NotHeld,
                       absl::StrCat("object ", id.Hex(), " is not held by this client"));
  }
  ReleaseResult result{--holder->second, entry.fd_id, entry.fd_id != kArenaFdId};
  if (holder->second == 0) {
    entry.holders.erase(holder);
    held_by_client_[client].erase(id);
  }
  if (--entry.ref_count == 0) {
    OnUnreferenced(id, entry);
    SpillAboveThreshold();
  }
  return result;
}

absl::Status ObjectStore::Abort(ClientId client, const ObjectID& id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return NotFound(id);
  if (it->second.sealed) {
    return PlasmaError(fb::ErrorCode::ObjectAlreadySealed,
                       absl::StrCat("object ", id.Hex(), " is sealed and cannot be aborted"));
  }
  if (it->second.creator != client) {
    return PlasmaError(fb::ErrorCode::InvalidRequest,
                       absl::StrCat("object ", id.Hex(), " can only be aborted by its creator"));
  }
  Free(id);
  return absl::OkStatus();
}

absl::Status ObjectStore::Delete(const ObjectID& id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return NotFound(id);
  Entry& entry = it->second;
  if (!entry.sealed) {
    return PlasmaError(fb::ErrorCode::ObjectNotSealed,
                       absl::StrCat("object ", id.Hex(), " is not sealed; its creator aborts it"));
  }
  if (entry.ref_count > 0) {
    entry.delete_pending = true;
  } else {
    Free(id);
  }
  return absl::OkStatus();
}

void ObjectStore::DisconnectClient(ClientId client) {
  auto unsealed = unsealed_by_client_.find(client);
  if (unsealed != unsealed_by_client_.end()) {
    std::vector<ObjectID> ids(unsealed->second.begin(), unsealed->second.end());
    for (const ObjectID& id : ids) Free(id);
    unsealed_by_client_.erase(client);
  }
  auto held = held_by_client_.find(client);
  if (held == held_by_client_.end()) return;
  std::vector<ObjectID> ids(held->second.begin(), held->second.end());
  held_by_client_.erase(held);
  for (const ObjectID& id : ids) {
    auto it = objects_.find(id);
    if (it == objects_.end()) continue;
    Entry& entry = it->second;
    auto holder = entry.holders.find(client);
    if (holder == entry.holders.end()) continue;
    entry.ref_count -= holder->second;
    entry.holders.erase(holder);
    if (entry.ref_count == 0) OnUnreferenced(id, entry);
  }
  held_by_client_.erase(client);
  SpillAboveThreshold();
}

void ObjectStore::AddReference(ClientId client, const ObjectID& id, Entry& entry) {
  if (entry.holders[client]++ == 0) held_by_client_[client].insert(id);
  if (entry.ref_count++ == 0) {
    RemoveFromLru(entry);
    RemoveFromSpillQueue(entry);
  }
}

void ObjectStore::OnUnreferenced(const ObjectID& id, Entry& entry) {
  if (!entry.sealed) return;
  if (entry.delete_pending) {
    Free(id);
    return;
  }
  // Evicting or spilling a file (or a spilled object) frees no arena space.
  if (entry.spilled || entry.fd_id != kArenaFdId) return;
  if (entry.primary) {  // Kept until its owner deletes it, maybe on disk.
    entry.spill_pos = spill_queue_.insert(spill_queue_.end(), id);
    entry.in_spill_queue = true;
    spillable_bytes_ += AllocatedSize(entry);
    return;
  }
  entry.lru_pos = lru_.insert(lru_.end(), id);
  entry.in_lru = true;
  evictable_bytes_ += AllocatedSize(entry);
}

void ObjectStore::RemoveFromLru(Entry& entry) {
  if (!entry.in_lru) return;
  lru_.erase(entry.lru_pos);
  entry.in_lru = false;
  evictable_bytes_ -= AllocatedSize(entry);
}

void ObjectStore::RemoveFromSpillQueue(Entry& entry) {
  if (!entry.in_spill_queue) return;
  spill_queue_.erase(entry.spill_pos);
  entry.in_spill_queue = false;
  spillable_bytes_ -= AllocatedSize(entry);
}

absl::Status ObjectStore::SpillBatch(uint64_t min_bytes) {
  std::vector<ObjectID> victims;
  std::vector<absl::Span<const uint8_t>> chunks;
  uint64_t bytes = 0;
  for (auto it = spill_queue_.begin(); it != spill_queue_.end() && bytes < min_bytes; ++it) {
    const Entry& entry = objects_.at(*it);
    victims.push_back(*it);
    bytes += AllocatedSize(entry);
    // A restored object's copy is still on disk: nothing to write.
    if (!entry.spill.has_value()) {
      chunks.emplace_back(arena_->data() + entry.offset, entry.data_size + entry.metadata_size);
    }
  }
  absl::StatusOr<std::vector<SpillLocation>> written = spill_->WriteBatch(chunks);
  if (!written.ok()) {
    stats_.num_spill_failures++;
    return written.status();
  }
  size_t next = 0;
  for (const ObjectID& id : victims) {
    Entry& entry = objects_.at(id);
    if (!entry.spill.has_value()) entry.spill = (*written)[next++];
    RemoveFromSpillQueue(entry);
    FreeMemory(entry);
    entry.spilled = true;
    stats_.num_objects_spilled++;
    stats_.bytes_spilled += static_cast<int64_t>(entry.data_size + entry.metadata_size);
  }
  return absl::OkStatus();
}

void ObjectStore::SpillAboveThreshold() {
  if (spill_ == nullptr || spill_queue_.empty()) return;
  auto limit = static_cast<uint64_t>(options_.spill_threshold *
                                     static_cast<double>(allocator_.capacity()));
  uint64_t pinned = static_cast<uint64_t>(stats_.used_bytes) - evictable_bytes_;
  if (pinned <= limit) return;
  // A failure is counted in the stats; the objects stay in memory, and a
  // create that then cannot fit reports the error.
  SpillBatch(std::max(pinned - limit, options_.min_spill_bytes)).IgnoreError();
}

absl::Status ObjectStore::Restore(const ObjectID& id) {
  ASSIGN_OR_RETURN(uint8_t* dest, AllocateForRestore(id));
  Entry& entry = objects_.at(id);
  absl::Status read = spill_->Read(*entry.spill, dest);
  if (!read.ok()) {
    FreeMemory(entry);
    return absl::Status(read.code(), absl::StrCat("cannot restore spilled object ", id.Hex(),
                                                  ": ", read.message()));
  }
  entry.spilled = false;
  stats_.num_objects_restored++;
  stats_.bytes_restored += static_cast<int64_t>(entry.data_size + entry.metadata_size);
  return absl::OkStatus();
}

absl::StatusOr<uint8_t*> ObjectStore::AllocateForRestore(const ObjectID& id) {
  uint64_t size = objects_.at(id).data_size + objects_.at(id).metadata_size;
  absl::StatusOr<uint64_t> offset = AllocateWithEviction(size);
  Entry& entry = objects_.at(id);  // Looked up again: allocating may free others.
  if (offset.ok()) {
    entry.fd_id = kArenaFdId;
    entry.offset = *offset;
    stats_.used_bytes += static_cast<int64_t>(AllocatedSize(entry));
    return arena_->data() + *offset;
  }
  if (options_.fallback_dir.empty()) {
    return PlasmaError(fb::ErrorCode::OutOfMemory,
                       absl::StrCat("cannot restore spilled object ", id.Hex(), ": ",
                                    offset.status().message()));
  }
  absl::StatusOr<std::unique_ptr<MemoryMapping>> mapping =
      MemoryMapping::CreateFileBacked(options_.fallback_dir, RoundUp(size));
  if (!mapping.ok()) {
    return PlasmaError(fb::ErrorCode::OutOfMemory,
                       absl::StrCat("cannot restore spilled object ", id.Hex(),
                                    ": store full and fallback allocation failed: ",
                                    mapping.status().message()));
  }
  entry.fd_id = next_fd_id_++;
  entry.offset = 0;
  uint8_t* dest = (*mapping)->data();
  fallback_mappings_[entry.fd_id] = *std::move(mapping);
  stats_.fallback_bytes += static_cast<int64_t>(AllocatedSize(entry));
  stats_.num_fallback_allocations++;
  return dest;
}

void ObjectStore::FreeMemory(Entry& entry) {
  if (entry.fd_id == kArenaFdId) {
    stats_.used_bytes -= static_cast<int64_t>(AllocatedSize(entry));
    allocator_.Free(entry.offset).IgnoreError();
  } else {
    stats_.fallback_bytes -= static_cast<int64_t>(AllocatedSize(entry));
    fallback_mappings_.erase(entry.fd_id);
  }
}

void ObjectStore::Free(const ObjectID& id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  Entry& entry = it->second;
  RemoveFromLru(entry);
  RemoveFromSpillQueue(entry);
  for (const auto& [client, count] : entry.holders) held_by_client_[client].erase(id);
  if (!entry.sealed) unsealed_by_client_[entry.creator].erase(id);
  if (entry.spill.has_value()) spill_->Drop(*entry.spill);
  if (!entry.spilled) FreeMemory(entry);
  objects_.erase(it);
}

uint64_t ObjectStore::AllocatedSize(const Entry& entry) const {
  return RoundUp(entry.data_size + entry.metadata_size);
}

ObjectLocation ObjectStore::LocationOf(const Entry& entry) const {
  ObjectLocation loc;
  loc.fd_id = entry.fd_id;
  loc.data_offset = entry.offset;
  loc.data_size = entry.data_size;
  loc.metadata_offset = entry.offset + entry.data_size;
  loc.metadata_size = entry.metadata_size;
  loc.fallback = entry.fd_id != kArenaFdId;
  return loc;
}

bool ObjectStore::IsSpilled(const ObjectID& id) const {
  auto it = objects_.find(id);
  return it != objects_.end() && it->second.spilled;
}

bool ObjectStore::IsSealed(const ObjectID& id) const {
  auto it = objects_.find(id);
  return it != objects_.end() && it->second.sealed;
}

const MemoryMapping* ObjectStore::mapping(int64_t fd_id) const {
  if (fd_id == kArenaFdId) return arena_.get();
  auto it = fallback_mappings_.find(fd_id);
  return it == fallback_mappings_.end() ? nullptr : it->second.get();
}

std::vector<ObjectSummary> ObjectStore::List() const {
  std::vector<ObjectSummary> out;
  out.reserve(objects_.size());
  for (const auto& [id, entry] : objects_) {
    out.push_back({id, entry.data_size, entry.metadata_size, entry.sealed, entry.ref_count,
                   !entry.spilled && entry.fd_id != kArenaFdId, entry.primary, entry.spilled});
  }
  return out;
}

StoreStats ObjectStore::stats() const {
  StoreStats s = stats_;
  s.num_objects = static_cast<int64_t>(objects_.size());
  s.num_sealed = 0;
  for (const auto& [id, entry] : objects_) {
    s.num_sealed += entry.sealed ? 1 : 0;
    s.num_spilled_objects += entry.spilled ? 1 : 0;
  }
  if (spill_ != nullptr) {
    s.spill_bytes_on_disk = static_cast<int64_t>(spill_->bytes_on_disk());
    s.num_spill_files = static_cast<int64_t>(spill_->num_files());
  }
  return s;
}

}  // namespace comet::plasma
