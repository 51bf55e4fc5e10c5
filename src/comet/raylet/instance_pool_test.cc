#include "src/comet/raylet/instance_pool.h"

#include <gtest/gtest.h>

#include <set>

#include "src/comet/raylet/resource_set.h"

namespace comet::raylet {
namespace {

constexpr int64_t kUnit = kResourceUnit;

std::set<int64_t> Ids(const std::vector<InstanceShare>& shares) {
  std::set<int64_t> ids;
  for (const InstanceShare& share : shares) ids.insert(share.instance_id);
  return ids;
}

TEST(InstancePoolTest, WholeRequestsGetDistinctFreeIds) {
  InstancePool gpus(4 * kUnit);
  ASSERT_EQ(gpus.size(), 4u);
  auto two = gpus.Allocate(2 * kUnit);
  ASSERT_TRUE(two);
  EXPECT_EQ(Ids(*two), (std::set<int64_t>{0, 1}));
  auto one = gpus.Allocate(kUnit);
  ASSERT_TRUE(one);
  EXPECT_EQ(Ids(*one), (std::set<int64_t>{2}));
  EXPECT_FALSE(gpus.Allocate(2 * kUnit));  // Only id 3 is left.
  gpus.Free(*two);
  auto again = gpus.Allocate(2 * kUnit);
  ASSERT_TRUE(again);
  EXPECT_EQ(Ids(*again), (std::set<int64_t>{0, 1}));
}

TEST(InstancePoolTest, FractionsPackOntoOneSharedId) {
  InstancePool gpus(2 * kUnit);
  std::vector<std::vector<InstanceShare>> leases;
  for (int i = 0; i < 4; ++i) {
    auto quarter = gpus.Allocate(kUnit / 4);
    ASSERT_TRUE(quarter);
    ASSERT_EQ(quarter->size(), 1u);
    EXPECT_EQ((*quarter)[0].instance_id, 0);
    EXPECT_EQ((*quarter)[0].amount, kUnit / 4);
    leases.push_back(*quarter);
  }
  EXPECT_EQ(gpus.free_amount(0), 0);
  // The next fraction moves to the other GPU, which a whole request then
  // cannot take.
  auto fifth = gpus.Allocate(kUnit / 4);
  ASSERT_TRUE(fifth);
  EXPECT_EQ((*fifth)[0].instance_id, 1);
  EXPECT_FALSE(gpus.Allocate(kUnit));
  gpus.Free(*fifth);
  EXPECT_TRUE(gpus.Allocate(kUnit));
}

TEST(InstancePoolTest, FractionsPreferTheFullestInstanceThatFits) {
  InstancePool gpus(3 * kUnit);
  auto a = gpus.Allocate(kUnit * 6 / 10);  // id 0: 0.4 free
  auto b = gpus.Allocate(kUnit * 6 / 10);  // id 1: 0.4 free
  ASSERT_TRUE(a && b);
  EXPECT_EQ((*b)[0].instance_id, 1);
  auto c = gpus.Allocate(kUnit * 2 / 10);  // best fit: id 0 (0.4 left)
  ASSERT_TRUE(c);
  EXPECT_EQ((*c)[0].instance_id, 0);
  auto d = gpus.Allocate(kUnit * 3 / 10);  // id 0 has 0.2: id 1
  ASSERT_TRUE(d);
  EXPECT_EQ((*d)[0].instance_id, 1);
  // 0.5 fits on no shared GPU: it takes the free one.
  auto e = gpus.Allocate(kUnit / 2);
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)[0].instance_id, 2);
}

TEST(InstancePoolTest, MixedWholeAndFraction) {
  InstancePool gpus(3 * kUnit);
  auto mixed = gpus.Allocate(kUnit + kUnit / 2);
  ASSERT_TRUE(mixed);
  ASSERT_EQ(mixed->size(), 2u);
  EXPECT_EQ((*mixed)[0], (InstanceShare{0, kUnit}));
  EXPECT_EQ((*mixed)[1].amount, kUnit / 2);
  EXPECT_NE((*mixed)[1].instance_id, 0);
}

TEST(InstancePoolTest, FailedAllocationChangesNothing) {
  InstancePool gpus(2 * kUnit);
  auto half = gpus.Allocate(kUnit / 2);
  ASSERT_TRUE(half);
  EXPECT_FALSE(gpus.Allocate(2 * kUnit));
  EXPECT_EQ(gpus.free_amount(0), kUnit / 2);
  EXPECT_EQ(gpus.free_amount(1), kUnit);
}

TEST(InstancePoolTest, CanEverFitIgnoresCurrentUse) {
  InstancePool gpus(2 * kUnit);
  auto all = gpus.Allocate(2 * kUnit);
  ASSERT_TRUE(all);
  EXPECT_TRUE(gpus.CanEverFit(2 * kUnit));
  EXPECT_TRUE(gpus.CanEverFit(kUnit + kUnit / 2));
  EXPECT_FALSE(gpus.CanEverFit(3 * kUnit));
  EXPECT_FALSE(InstancePool(0).CanEverFit(1));
}

}  // namespace
}  // namespace comet::raylet
