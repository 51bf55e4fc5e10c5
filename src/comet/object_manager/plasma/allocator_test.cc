#include "src/comet/object_manager/plasma/allocator.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <limits>
#include <map>
#include <random>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace comet::plasma {
namespace {

constexpr uint64_t kUnit = Allocator::kAlignment;
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// Allocates `size` bytes, failing the test if that is not possible.
uint64_t MustAllocate(Allocator& allocator, uint64_t size) {
  absl::StatusOr<uint64_t> offset = allocator.Allocate(size);
  EXPECT_TRUE(offset.ok()) << offset.status();
  return offset.value_or(kMax);
}

TEST(AllocatorTest, RoundsCapacityDown) {
  EXPECT_EQ(Allocator(1000).capacity(), 15 * kUnit);
  EXPECT_EQ(Allocator(63).capacity(), 0u);
  EXPECT_EQ(Allocator(kMax).capacity(), kMax - kUnit + 1);
  Allocator allocator(1000);
  EXPECT_EQ(allocator.free_bytes(), 15 * kUnit);
  EXPECT_EQ(allocator.largest_free_block(), 15 * kUnit);
  EXPECT_EQ(allocator.allocated_bytes(), 0u);
  EXPECT_EQ(allocator.num_allocations(), 0u);
}

TEST(AllocatorTest, AlignsOffsetsAndSizes) {
  Allocator allocator(100 * kUnit);
  const std::map<uint64_t, uint64_t> expected = {
      {1, 64}, {63, 64}, {64, 64}, {65, 128}, {100, 128}, {1000, 1024}};
  uint64_t total = 0;
  for (const auto& [size, block] : expected) {
    uint64_t offset = MustAllocate(allocator, size);
    EXPECT_EQ(offset % kUnit, 0u);
    EXPECT_EQ(allocator.BlockSize(offset).value_or(0), block);
    total += block;
  }
  EXPECT_EQ(allocator.allocated_bytes(), total);
  EXPECT_EQ(allocator.free_bytes(), 100 * kUnit - total);
  EXPECT_EQ(allocator.num_allocations(), expected.size());
}

TEST(AllocatorTest, ZeroSizeTakesOneUnit) {
  Allocator allocator(4 * kUnit);
  uint64_t a = MustAllocate(allocator, 0);
  uint64_t b = MustAllocate(allocator, 0);
  EXPECT_NE(a, b);
  EXPECT_EQ(allocator.BlockSize(a).value_or(0), kUnit);
  EXPECT_EQ(allocator.allocated_bytes(), 2 * kUnit);
}

TEST(AllocatorTest, FillsExactlyToCapacity) {
  Allocator allocator(10 * kUnit);
  for (uint64_t i = 0; i < 10; ++i) {
    EXPECT_EQ(MustAllocate(allocator, kUnit), i * kUnit);
  }
  EXPECT_EQ(allocator.free_bytes(), 0u);
  EXPECT_EQ(allocator.largest_free_block(), 0u);
  EXPECT_TRUE(absl::IsResourceExhausted(allocator.Allocate(0).status()));

  Allocator whole(10 * kUnit + 5);
  EXPECT_EQ(MustAllocate(whole, 10 * kUnit), 0u);
  EXPECT_EQ(whole.free_bytes(), 0u);
}

TEST(AllocatorTest, ExhaustionReportsSizesInMessage) {
  Allocator allocator(4 * kUnit);
  std::vector<uint64_t> offsets;
  for (int i = 0; i < 4; ++i) offsets.push_back(MustAllocate(allocator, 1));
  ASSERT_TRUE(allocator.Free(offsets[0]).ok());
  ASSERT_TRUE(allocator.Free(offsets[2]).ok());

  absl::Status status = allocator.Allocate(100).status();
  EXPECT_TRUE(absl::IsResourceExhausted(status)) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "100 bytes")) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "128 bytes free")) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "largest free block 64"))
      << status;
  EXPECT_EQ(allocator.num_allocations(), 2u);
}

TEST(AllocatorTest, RejectsHugeSizes) {
  Allocator allocator(8 * kUnit);
  for (uint64_t size : {8 * kUnit + 1, kMax - kUnit + 2, kMax}) {
    EXPECT_TRUE(absl::IsInvalidArgument(allocator.Allocate(size).status()))
        << size;
  }
  EXPECT_TRUE(absl::IsInvalidArgument(Allocator(0).Allocate(0).status()));

  // Near the top of the range rounding must not wrap around.
  Allocator huge(kMax);
  EXPECT_TRUE(absl::IsInvalidArgument(huge.Allocate(kMax).status()));
  EXPECT_EQ(MustAllocate(huge, huge.capacity() - 1), 0u);
  EXPECT_EQ(huge.BlockSize(0).value_or(0), huge.capacity());
  EXPECT_EQ(huge.free_bytes(), 0u);
}

TEST(AllocatorTest, PicksSmallestFittingHoleThenLowestOffset) {
  Allocator allocator(12 * kUnit);
  for (uint64_t i = 0; i < 12; ++i) MustAllocate(allocator, kUnit);
  // Holes: 3 units at 0, 1 unit at 4, 2 units at 6, 1 unit at 9.
  for (uint64_t unit : {0, 1, 2, 4, 6, 7, 9}) {
    ASSERT_TRUE(allocator.Free(unit * kUnit).ok());
  }
  EXPECT_EQ(allocator.largest_free_block(), 3 * kUnit);
  EXPECT_EQ(MustAllocate(allocator, 2 * kUnit), 6 * kUnit);
  EXPECT_EQ(MustAllocate(allocator, kUnit), 4 * kUnit);
  EXPECT_EQ(MustAllocate(allocator, kUnit), 9 * kUnit);
  EXPECT_EQ(MustAllocate(allocator, kUnit), 0u);  // Splits the 3-unit hole.
  EXPECT_EQ(MustAllocate(allocator, 2 * kUnit), 1 * kUnit);
  EXPECT_EQ(allocator.free_bytes(), 0u);
}

class CoalesceTest : public testing::Test {
 protected:
  // Four one-unit blocks a, b, c, d filling the arena.
  void SetUp() override {
    for (int i = 0; i < 4; ++i) blocks_.push_back(MustAllocate(allocator_, 1));
  }

  void FreeBlocks(std::vector<int> indices) {
    for (int i : indices) ASSERT_TRUE(allocator_.Free(blocks_[i]).ok());
  }

  void ExpectFullyCoalesced() {
    EXPECT_EQ(allocator_.num_allocations(), 0u);
    EXPECT_EQ(allocator_.free_bytes(), allocator_.capacity());
    EXPECT_EQ(allocator_.largest_free_block(), allocator_.capacity());
    EXPECT_EQ(MustAllocate(allocator_, allocator_.capacity()), 0u);
  }

  Allocator allocator_{4 * kUnit};
  std::vector<uint64_t> blocks_;
};

TEST_F(CoalesceTest, MergesWithLeftNeighbour) {
  FreeBlocks({0, 1});
  EXPECT_EQ(allocator_.largest_free_block(), 2 * kUnit);
  FreeBlocks({2, 3});
  ExpectFullyCoalesced();
}

TEST_F(CoalesceTest, MergesWithRightNeighbour) {
  FreeBlocks({3, 2});
  EXPECT_EQ(allocator_.largest_free_block(), 2 * kUnit);
  FreeBlocks({1, 0});
  ExpectFullyCoalesced();
}

TEST_F(CoalesceTest, MergesWithBothNeighbours) {
  FreeBlocks({0, 2});
  EXPECT_EQ(allocator_.largest_free_block(), kUnit);
  FreeBlocks({1});
  EXPECT_EQ(allocator_.largest_free_block(), 3 * kUnit);
  FreeBlocks({3});
  ExpectFullyCoalesced();
}

TEST(AllocatorTest, RejectsDoubleFreeAndBogusOffsets) {
  Allocator allocator(8 * kUnit);
  uint64_t a = MustAllocate(allocator, 2 * kUnit);
  uint64_t b = MustAllocate(allocator, kUnit);
  ASSERT_TRUE(allocator.Free(b).ok());

  absl::Status twice = allocator.Free(b);
  EXPECT_TRUE(absl::IsNotFound(twice)) << twice;
  EXPECT_TRUE(absl::StrContains(twice.message(), "double free")) << twice;
  EXPECT_TRUE(absl::IsNotFound(allocator.Free(a + kUnit)));  // Mid-block.
  EXPECT_TRUE(absl::IsNotFound(allocator.Free(7 * kUnit)));  // Free space.
  EXPECT_TRUE(absl::IsInvalidArgument(allocator.Free(a + 3)));
  EXPECT_TRUE(absl::IsInvalidArgument(allocator.Free(8 * kUnit)));
  EXPECT_TRUE(absl::IsInvalidArgument(allocator.Free(kMax)));
  EXPECT_TRUE(absl::IsNotFound(allocator.BlockSize(b).status()));

  // Failed frees leave the bookkeeping untouched.
  EXPECT_EQ(allocator.num_allocations(), 1u);
  EXPECT_EQ(allocator.allocated_bytes(), 2 * kUnit);
  ASSERT_TRUE(allocator.Free(a).ok());
  EXPECT_EQ(allocator.largest_free_block(), allocator.capacity());
}

// Reference model: one flag per unit plus the live blocks.
class Model {
 public:
  explicit Model(uint64_t units) : used_(units, false) {}

  // Best-fit offset for `units`, or kMax if none fits.
  uint64_t BestFit(uint64_t units) const {
    uint64_t best = kMax;
    uint64_t best_len = kMax;
    ForEachFreeRun([&](uint64_t start, uint64_t len) {
      if (len >= units && len < best_len) {
        best = start;
        best_len = len;
      }
    });
    return best == kMax ? kMax : best * kUnit;
  }

  uint64_t LargestFreeRun() const {
    uint64_t largest = 0;
    ForEachFreeRun([&](uint64_t, uint64_t len) {
      largest = std::max(largest, len);
    });
    return largest * kUnit;
  }

  void Mark(uint64_t offset, uint64_t size, bool used) {
    for (uint64_t u = offset / kUnit; u < (offset + size) / kUnit; ++u) {
      ASSERT_NE(used_[u], used) << "overlap or bad free at unit " << u;
      used_[u] = used;
    }
    if (used) {
      live_[offset] = size;
    } else {
      live_.erase(offset);
    }
  }

  const std::map<uint64_t, uint64_t>& live() const { return live_; }

 private:
  template <typename F>
  void ForEachFreeRun(F f) const {
    for (uint64_t u = 0; u < used_.size();) {
      uint64_t start = u;
      while (u < used_.size() && !used_[u]) ++u;
      if (u > start) f(start, u - start);
      while (u < used_.size() && used_[u]) ++u;
    }
  }

  std::vector<bool> used_;
  std::map<uint64_t, uint64_t> live_;
};

TEST(AllocatorTest, RandomOperationsMatchReferenceModel) {
  constexpr uint64_t kUnits = 512;
  Allocator allocator(kUnits * kUnit);
  Model model(kUnits);
  std::mt19937_64 rng(20240601);
  uint64_t live_bytes = 0;

  for (int op = 0; op < 20000; ++op) {
    const uint64_t pick = rng() % 100;
    if (pick < 55 || model.live().empty()) {
      const uint64_t size =
          pick < 5 ? rng() % (kUnits * kUnit / 4) : rng() % (8 * kUnit);
      const uint64_t units = std::max<uint64_t>(1, (size + kUnit - 1) / kUnit);
      const uint64_t expected = model.BestFit(units);
      absl::StatusOr<uint64_t> offset = allocator.Allocate(size);
      if (expected == kMax) {
        ASSERT_TRUE(absl::IsResourceExhausted(offset.status())) << op;
        continue;
      }
      ASSERT_TRUE(offset.ok()) << op << ": " << offset.status();
      ASSERT_EQ(*offset, expected) << op;
      model.Mark(*offset, units * kUnit, true);
      live_bytes += units * kUnit;
    } else if (pick < 97) {
      auto it = model.live().begin();
      std::advance(it, rng() % model.live().size());
      const auto [offset, size] = *it;
      ASSERT_EQ(allocator.BlockSize(offset).value_or(0), size) << op;
      ASSERT_TRUE(allocator.Free(offset).ok()) << op;
      model.Mark(offset, size, false);
      live_bytes -= size;
    } else {
      const uint64_t offset = rng() % kUnits * kUnit;
      if (model.live().count(offset) == 0) {
        ASSERT_TRUE(absl::IsNotFound(allocator.Free(offset))) << op;
      }
    }
    ASSERT_EQ(allocator.allocated_bytes(), live_bytes) << op;
    ASSERT_EQ(allocator.free_bytes(), kUnits * kUnit - live_bytes) << op;
    ASSERT_EQ(allocator.num_allocations(), model.live().size()) << op;
    ASSERT_EQ(allocator.largest_free_block(), model.LargestFreeRun()) << op;
  }

  while (!model.live().empty()) {
    const auto [offset, size] = *model.live().begin();
    ASSERT_TRUE(allocator.Free(offset).ok());
    model.Mark(offset, size, false);
  }
  EXPECT_EQ(allocator.num_allocations(), 0u);
  EXPECT_EQ(allocator.free_bytes(), allocator.capacity());
  EXPECT_EQ(allocator.largest_free_block(), allocator.capacity());
}

}  // namespace
}  // namespace comet::plasma
