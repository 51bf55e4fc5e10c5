#include "src/comet/raylet/local_resource_manager.h"

#include <gtest/gtest.h>

namespace comet::raylet {
namespace {

ResourceSet Make(const std::map<std::string, double>& quantities) {
  return *ResourceSet::FromDoubles(quantities);
}

TEST(LocalResourceManagerTest, AllocateAndFree) {
  LocalResourceManager node(Make({{"CPU", 2}, {"memory", 1000}}));
  uint64_t version = node.version();
  auto lease = node.Allocate(Make({{"CPU", 1}, {"memory", 600}}));
  ASSERT_TRUE(lease);
  EXPECT_NE(node.version(), version);
  EXPECT_EQ(node.available(), Make({{"CPU", 1}, {"memory", 400}}));
  EXPECT_FALSE(node.Allocate(Make({{"CPU", 1}, {"memory", 600}})));
  node.Free(*lease);
  EXPECT_EQ(node.available(), node.total());
}

TEST(LocalResourceManagerTest, FeasibilityIsAgainstTheTotal) {
  LocalResourceManager node(Make({{"CPU", 2}, {"GPU", 2}}));
  auto all = node.Allocate(Make({{"CPU", 2}}));
  ASSERT_TRUE(all);
  EXPECT_TRUE(node.IsFeasible(Make({{"CPU", 2}})));
  EXPECT_FALSE(node.IsFeasible(Make({{"CPU", 3}})));
  EXPECT_FALSE(node.IsFeasible(Make({{"custom", 1}})));
  EXPECT_TRUE(node.IsFeasible(Make({{"GPU", 1.5}})));
  EXPECT_FALSE(node.IsFeasible(Make({{"GPU", 2.5}})));
}

TEST(LocalResourceManagerTest, GpuAssignmentsFollowInstances) {
  LocalResourceManager node(Make({{"CPU", 8}, {"GPU", 2}}));
  auto whole = node.Allocate(Make({{"CPU", 1}, {"GPU", 1}}));
  ASSERT_TRUE(whole);
  ASSERT_EQ(whole->instances.size(), 1u);
  EXPECT_EQ(whole->instances[0].resource, "GPU");
  EXPECT_EQ(whole->instances[0].shares[0].instance_id, 0);
  auto half = node.Allocate(Make({{"GPU", 0.5}}));
  ASSERT_TRUE(half);
  EXPECT_EQ(half->instances[0].shares[0].instance_id, 1);
  EXPECT_TRUE(node.Allocate(Make({{"CPU", 1}})));  // No GPU: no instances.
}

TEST(LocalResourceManagerTest, FragmentedGpusRefuseWhatTotalsWouldAllow) {
  LocalResourceManager node(Make({{"GPU", 2}}));
  auto a = node.Allocate(Make({{"GPU", 0.6}}));
  auto b = node.Allocate(Make({{"GPU", 0.6}}));  // Cannot share id 0.
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->instances[0].shares[0].instance_id,
            b->instances[0].shares[0].instance_id);
  // 0.8 GPU is free in total, but no single GPU has 0.5.
  EXPECT_DOUBLE_EQ(node.available().Get("GPU"), 0.8);
  EXPECT_FALSE(node.Allocate(Make({{"GPU", 0.5}})));
  EXPECT_DOUBLE_EQ(node.available().Get("GPU"), 0.8);
  node.Free(*a);
  EXPECT_TRUE(node.Allocate(Make({{"GPU", 0.5}})));
}

TEST(LocalResourceManagerTest, EmptyDemandAlwaysFits) {
  LocalResourceManager node(Make({}));
  EXPECT_TRUE(node.IsFeasible(Make({})));
  auto lease = node.Allocate(Make({}));
  ASSERT_TRUE(lease);
  node.Free(*lease);
  EXPECT_TRUE(node.available().IsEmpty());
}

}  // namespace
}  // namespace comet::raylet

namespace comet::raylet {
namespace {

TEST(LocalResourceManagerTest, LentResourcesComeBackAsDebtWhenInUse) {
  LocalResourceManager node(Make({{"CPU", 2}}));
  auto blocked = node.Allocate(Make({{"CPU", 2}}));
  ASSERT_TRUE(blocked);
  node.Lend(Make({{"CPU", 2}}));  // Its worker waits in get().
  auto nested = node.Allocate(Make({{"CPU", 1}}));
  ASSERT_TRUE(nested);
  node.Reclaim(Make({{"CPU", 2}}));  // It resumes: 1 CPU oversubscribed.
  EXPECT_TRUE(node.available().IsEmpty());
  EXPECT_EQ(node.debt(), Make({{"CPU", 1}}));
  EXPECT_FALSE(node.Allocate(Make({{"CPU", 1}})));
  node.Free(*nested);  // Pays the debt off first.
  EXPECT_TRUE(node.debt().IsEmpty());
  EXPECT_TRUE(node.available().IsEmpty());
  node.Free(*blocked);
  EXPECT_EQ(node.available(), node.total());
}

}  // namespace
}  // namespace comet::raylet

namespace comet::raylet {
namespace {

TEST(LocalResourceManagerTest, AddedResourcesCanBeLeasedAndRemovedWhileHeld) {
  LocalResourceManager node(Make({{"CPU", 2}}));
  node.AddResources(Make({{"CPU_group_abc", 2}}));
  EXPECT_EQ(node.total(), Make({{"CPU", 2}, {"CPU_group_abc", 2}}));
  EXPECT_TRUE(node.IsFeasible(Make({{"CPU_group_abc", 1}})));
  auto held = node.Allocate(Make({{"CPU_group_abc", 1.5}}));
  ASSERT_TRUE(held);
  uint64_t version = node.version();
  node.RemoveResources(Make({{"CPU_group_abc", 2}}));
  EXPECT_NE(node.version(), version);
  EXPECT_EQ(node.total(), Make({{"CPU", 2}}));
  EXPECT_FALSE(node.IsFeasible(Make({{"CPU_group_abc", 1}})));
  // The lease still running on the removed resource gives it back: dropped.
  node.Free(*held);
  EXPECT_EQ(node.available(), node.total());
}

TEST(LocalResourceManagerTest, RemovingPartOfAResourceClampsWhatIsFree) {
  LocalResourceManager node(Make({}));
  node.AddResources(Make({{"bundle", 2}}));
  auto held = node.Allocate(Make({{"bundle", 1.5}}));
  ASSERT_TRUE(held);
  node.RemoveResources(Make({{"bundle", 1}}));
  EXPECT_DOUBLE_EQ(node.total().Get("bundle"), 1);
  EXPECT_DOUBLE_EQ(node.available().Get("bundle"), 0);
  node.Free(*held);
  EXPECT_DOUBLE_EQ(node.available().Get("bundle"), 1);
}

}  // namespace
}  // namespace comet::raylet
