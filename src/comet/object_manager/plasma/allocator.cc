#include "src/comet/object_manager/plasma/allocator.h"

#include <algorithm>
#include <iterator>

#include "absl/strings/str_cat.h"

namespace comet::plasma {

Allocator::Allocator(uint64_t capacity)
    : capacity_(capacity / kAlignment * kAlignment) {
  if (capacity_ > 0) InsertFree(0, capacity_);
}

absl::StatusOr<uint64_t> Allocator::Allocate(uint64_t size) {
  // With size <= capacity_ (a multiple of kAlignment) rounding cannot overflow.
  if (size > capacity_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot allocate ", size, " bytes: exceeds capacity ", capacity_));
  }
  const uint64_t block =
      (std::max<uint64_t>(size, 1) + kAlignment - 1) / kAlignment * kAlignment;
  if (block > capacity_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot allocate ", size, " bytes (", block,
        " aligned): exceeds capacity ", capacity_));
  }
  auto fit = free_by_size_.lower_bound({block, 0});
  if (fit == free_by_size_.end()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "cannot allocate ", size, " bytes (", block, " aligned): ",
        free_bytes(), " bytes free, largest free block ",
        largest_free_block(), " bytes"));
  }
  const auto [free_size, offset] = *fit;
  EraseFree(free_by_offset_.find(offset));
  if (free_size > block) InsertFree(offset + block, free_size - block);
  allocated_.emplace(offset, block);
  allocated_bytes_ += block;
  return offset;
}

absl::Status Allocator::Free(uint64_t offset) {
  auto it = allocated_.find(offset);
  if (it == allocated_.end()) {
    if (offset % kAlignment != 0 || offset >= capacity_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot free offset ", offset, ": not a multiple of ", kAlignment,
          " inside capacity ", capacity_));
    }
    return absl::NotFoundError(absl::StrCat(
        "cannot free offset ", offset,
        ": no allocated block starts there (double free or bogus offset)"));
  }
  const uint64_t size = it->second;
  allocated_.erase(it);
  allocated_bytes_ -= size;

  uint64_t start = offset;
  uint64_t merged = size;
  auto next = free_by_offset_.lower_bound(offset);
  if (next != free_by_offset_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == offset) {
      start = prev->first;
      merged += prev->second;
      EraseFree(prev);
    }
  }
  if (next != free_by_offset_.end() && next->first == offset + size) {
    merged += next->second;
    EraseFree(next);
  }
  InsertFree(start, merged);
  return absl::OkStatus();
}

uint64_t Allocator::largest_free_block() const {
  return free_by_size_.empty() ? 0 : free_by_size_.rbegin()->first;
}

absl::StatusOr<uint64_t> Allocator::BlockSize(uint64_t offset) const {
  auto it = allocated_.find(offset);
  if (it == allocated_.end()) {
    return absl::NotFoundError(
        absl::StrCat("no allocated block starts at offset ", offset));
  }
  return it->second;
}

void Allocator::InsertFree(uint64_t offset, uint64_t size) {
  free_by_offset_.emplace(offset, size);
  free_by_size_.emplace(size, offset);
}

void Allocator::EraseFree(FreeByOffset::iterator it) {
  free_by_size_.erase({it->second, it->first});
  free_by_offset_.erase(it);
}

}  // namespace comet::plasma
