// Allocator: best-fit bookkeeping of block offsets within one shared-memory
// arena of a fixed capacity.
//
// Ownership: the Allocator owns only the bookkeeping of offsets in
// [0, capacity()). It never maps, reads or writes the arena; whoever owns the
// mapping turns offsets into addresses.
//
// Thread model: thread-compatible, no internal locking. The plasma store
// confines it to the store's event-loop thread.
//
// Every block starts at a multiple of kAlignment and its size is a multiple of
// kAlignment. Free blocks are kept maximal (adjacent free blocks are merged on
// Free), so after every allocation is freed one block spans the whole arena.
// Allocate, Free and BlockSize take O(log n) for n blocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace comet::plasma {

class Allocator {
 public:
  static constexpr uint64_t kAlignment = 64;

  // Usable capacity is `capacity` rounded down to a multiple of kAlignment.
  explicit Allocator(uint64_t capacity);

  // Reserves a block of `size` rounded up to kAlignment bytes (a size of 0
  // reserves kAlignment bytes) and returns its offset. Picks the smallest free
  // block that fits, the lowest offset among equals. Returns InvalidArgument
  // when the block could never fit (larger than capacity()), and
  // ResourceExhausted when no free block is currently large enough.
  absl::StatusOr<uint64_t> Allocate(uint64_t size);

  // Releases the block starting at `offset`, merging it with free neighbours.
  // Returns InvalidArgument for an unaligned or out-of-range offset and
  // NotFound for any other offset that does not start an allocated block
  // (including a second Free of the same block).
  absl::Status Free(uint64_t offset);

  uint64_t capacity() const { return capacity_; }
  uint64_t allocated_bytes() const { return allocated_bytes_; }
  uint64_t free_bytes() const { return capacity_ - allocated_bytes_; }
  uint64_t largest_free_block() const;
  size_t num_allocations() const { return allocated_.size(); }

  // Size of the allocated block starting at `offset`, or NotFound.
  absl::StatusOr<uint64_t> BlockSize(uint64_t offset) const;

 private:
  using FreeByOffset = std::map<uint64_t, uint64_t>;

  void InsertFree(uint64_t offset, uint64_t size);
  void EraseFree(FreeByOffset::iterator it);

  uint64_t capacity_;
  uint64_t allocated_bytes_ = 0;
  // Free blocks, offset -> size, and the same blocks as (size, offset).
  FreeByOffset free_by_offset_;
  std::set<std::pair<uint64_t, uint64_t>> free_by_size_;
  // Allocated blocks, offset -> size.
  absl::flat_hash_map<uint64_t, uint64_t> allocated_;
};

}  // namespace comet::plasma
