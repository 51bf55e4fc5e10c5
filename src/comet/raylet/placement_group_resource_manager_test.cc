#include "src/comet/raylet/placement_group_resource_manager.h"

#include <gtest/gtest.h>

namespace comet::raylet {
namespace {

ResourceSet Make(const std::map<std::string, double>& quantities) {
  return *ResourceSet::FromDoubles(quantities);
}

class PlacementGroupResourceManagerTest : public ::testing::Test {
 protected:
  BundleSpec Bundle(int32_t index, const std::map<std::string, double>& r) {
    return BundleSpec{group_, index, Make(r)};
  }
  std::string Name(absl::string_view resource, int32_t index) const {
    return BundleResourceName(resource, group_, index);
  }

  PlacementGroupID group_ = PlacementGroupID::FromRandom(JobID::FromInt(1));
  LocalResourceManager node_{Make({{"CPU", 4}, {"GPU", 1}})};
  PlacementGroupResourceManager bundles_{&node_};
};

TEST_F(PlacementGroupResourceManagerTest, NamesFollowRay) {
  EXPECT_EQ(Name("CPU", 3), "CPU_group_3_" + group_.Hex());
  EXPECT_EQ(Name("CPU", -1), "CPU_group_" + group_.Hex());
  EXPECT_EQ(BundleGroupHex(Name("CPU", 3)), group_.Hex());
  EXPECT_EQ(BundleGroupHex(Name("bundle", -1)), group_.Hex());
  EXPECT_EQ(BundleGroupHex("CPU"), std::nullopt);
  EXPECT_EQ(BundleGroupHex("node_id:abc"), std::nullopt);
}

TEST_F(PlacementGroupResourceManagerTest, PrepareReservesCommitCreates) {
  std::vector<BundleSpec> both = {Bundle(0, {{"CPU", 2}}),
                                  Bundle(1, {{"CPU", 1}, {"GPU", 1}})};
  ASSERT_TRUE(bundles_.Prepare(both));
  EXPECT_EQ(node_.available(), Make({{"CPU", 1}}));
  EXPECT_EQ(node_.total(), Make({{"CPU", 4}, {"GPU", 1}}));
  EXPECT_FALSE(bundles_.IsCommitted(group_, 0));

  ASSERT_TRUE(bundles_.Commit(both).ok());
  EXPECT_TRUE(bundles_.IsCommitted(group_, 1));
  const ResourceSet& total = node_.total();
  EXPECT_DOUBLE_EQ(total.Get(Name("CPU", 0)), 2);
  EXPECT_DOUBLE_EQ(total.Get(Name("CPU", 1)), 1);
  EXPECT_DOUBLE_EQ(total.Get(Name("CPU", -1)), 3);  // Summed.
  EXPECT_DOUBLE_EQ(total.Get(Name("GPU", 1)), 1);
  EXPECT_DOUBLE_EQ(total.Get(Name("bundle", 0)), 1000);
  EXPECT_DOUBLE_EQ(total.Get(Name("bundle", 1)), 1000);
  EXPECT_DOUBLE_EQ(total.Get(Name("bundle", -1)), 2000);
  EXPECT_TRUE(node_.available().Contains(Make({{Name("CPU", 0), 2}})));
  // A task in bundle 0 with no resources of its own.
  EXPECT_TRUE(node_.Allocate(Make({{Name("bundle", 0), 0.001}})));
}

TEST_F(PlacementGroupResourceManagerTest, PrepareIsAllOrNothing) {
  ASSERT_FALSE(
      bundles_.Prepare({Bundle(0, {{"CPU", 3}}), Bundle(1, {{"CPU", 2}})}));
  EXPECT_EQ(node_.available(), node_.total());
  EXPECT_EQ(bundles_.num_bundles(), 0u);
  ASSERT_FALSE(bundles_.Prepare({Bundle(0, {{"custom", 1}})}));
  EXPECT_EQ(bundles_.num_bundles(), 0u);
}

TEST_F(PlacementGroupResourceManagerTest, RetriedRequestsChangeNothing) {
  std::vector<BundleSpec> one = {Bundle(0, {{"CPU", 3}})};
  ASSERT_TRUE(bundles_.Prepare(one));
  ASSERT_TRUE(bundles_.Prepare(one));  // Already reserved: not twice.
  EXPECT_DOUBLE_EQ(node_.available().Get("CPU"), 1);
  ASSERT_TRUE(bundles_.Commit(one).ok());
  ASSERT_TRUE(bundles_.Commit(one).ok());
  EXPECT_DOUBLE_EQ(node_.total().Get(Name("CPU", -1)), 3);
}

TEST_F(PlacementGroupResourceManagerTest, CommitOfUnknownBundleIsNotFound) {
  absl::Status status = bundles_.Commit({Bundle(5, {{"CPU", 1}})});
  EXPECT_TRUE(absl::IsNotFound(status)) << status;
  EXPECT_EQ(node_.total(), Make({{"CPU", 4}, {"GPU", 1}}));
}

TEST_F(PlacementGroupResourceManagerTest, CancelReleasesEvenWhileInUse) {
  std::vector<BundleSpec> both = {Bundle(0, {{"CPU", 2}}),
                                  Bundle(1, {{"CPU", 1}})};
  ASSERT_TRUE(bundles_.Prepare(both));
  ASSERT_TRUE(bundles_.Commit(both).ok());
  auto running = node_.Allocate(Make({{Name("CPU", 0), 2}}));
  ASSERT_TRUE(running);

  ASSERT_TRUE(bundles_.Cancel({both[0]}));
  EXPECT_FALSE(node_.total().Has(Name("CPU", 0)));
  EXPECT_DOUBLE_EQ(node_.total().Get(Name("CPU", -1)), 1);
  EXPECT_DOUBLE_EQ(node_.total().Get(Name("bundle", -1)), 1000);
  EXPECT_DOUBLE_EQ(node_.available().Get("CPU"), 3);
  node_.Free(*running);  // Into nothing: no crash, nothing above the total.
  EXPECT_FALSE(node_.available().Has(Name("CPU", 0)));

  EXPECT_TRUE(bundles_.Cancel(both));
  EXPECT_FALSE(bundles_.Cancel(both));  // Already gone.
  EXPECT_EQ(node_.total(), Make({{"CPU", 4}, {"GPU", 1}}));
  EXPECT_EQ(node_.available(), node_.total());
}

TEST_F(PlacementGroupResourceManagerTest, CancelOfPreparedBundleReturnsIt) {
  std::vector<BundleSpec> one = {Bundle(0, {{"GPU", 1}})};
  ASSERT_TRUE(bundles_.Prepare(one));
  EXPECT_FALSE(node_.available().Has("GPU"));
  EXPECT_TRUE(bundles_.Cancel(one));
  EXPECT_EQ(node_.available(), node_.total());
  EXPECT_TRUE(node_.Allocate(Make({{"GPU", 1}})));  // The instance is free.
}

// The ids of the GPUs a lease on bundle resources holds (its assignment).
std::vector<int64_t> GpuIds(const ResourceAllocation& allocation) {
  std::vector<int64_t> ids;
  for (const InstanceAssignment& a : allocation.instances) {
    EXPECT_EQ(a.resource, "GPU");
    for (const InstanceShare& share : a.shares) ids.push_back(share.instance_id);
  }
  return ids;
}

TEST(PlacementGroupGpuIds, LeasesOnBundlesGetTheBundlesGpus) {
  LocalResourceManager node(Make({{"CPU", 8}, {"GPU", 4}}));
  PlacementGroupResourceManager bundles(&node);
  PlacementGroupID group = PlacementGroupID::FromRandom(JobID::FromInt(1));
  auto name = [&](absl::string_view r, int32_t i) { return BundleResourceName(r, group, i); };
  // GPU 0 is busy, so the bundles get GPUs 1 and 2-3.
  auto busy = node.Allocate(Make({{"GPU", 1}}));
  ASSERT_TRUE(busy);
  std::vector<BundleSpec> specs = {BundleSpec{group, 0, Make({{"GPU", 1}})},
                                   BundleSpec{group, 1, Make({{"GPU", 2}})}};
  ASSERT_TRUE(bundles.Prepare(specs));
  ASSERT_TRUE(bundles.Commit(specs).ok());

  // Bundle 1 by index (the demand names the group too, as tasks do).
  auto second = node.Allocate(Make({{name("GPU", 1), 1}, {name("GPU", -1), 1}}));
  ASSERT_TRUE(second);
  EXPECT_EQ(GpuIds(*second), std::vector<int64_t>{2});
  // The group alone: placed within one bundle, on a GPU nobody holds.
  auto any = node.Allocate(Make({{name("GPU", -1), 1}}));
  ASSERT_TRUE(any);
  EXPECT_EQ(GpuIds(*any), std::vector<int64_t>{1});
  auto last = node.Allocate(Make({{name("GPU", -1), 1}}));
  ASSERT_TRUE(last);
  EXPECT_EQ(GpuIds(*last), std::vector<int64_t>{3});
  // Every bundle GPU is held now.
  EXPECT_FALSE(node.Allocate(Make({{name("GPU", 1), 1}, {name("GPU", -1), 1}})));

  node.Free(*second);
  auto again = node.Allocate(Make({{name("GPU", 1), 1}, {name("GPU", -1), 1}}));
  ASSERT_TRUE(again);
  EXPECT_EQ(GpuIds(*again), std::vector<int64_t>{2});
  // A fractional lease shares the bundle's GPU.
  node.Free(*any);
  auto half = node.Allocate(Make({{name("GPU", 0), 0.5}, {name("GPU", -1), 0.5}}));
  ASSERT_TRUE(half);
  EXPECT_EQ(GpuIds(*half), std::vector<int64_t>{1});

  // Removing the group while leases run: their GPUs go back to the node.
  ASSERT_TRUE(bundles.Cancel(specs));
  node.Free(*again);
  node.Free(*last);
  node.Free(*half);
  node.Free(*busy);
  EXPECT_EQ(node.available(), node.total());
  auto all = node.Allocate(Make({{"GPU", 4}}));
  ASSERT_TRUE(all);
  EXPECT_EQ(GpuIds(*all), (std::vector<int64_t>{0, 1, 2, 3}));
}

TEST_F(PlacementGroupResourceManagerTest, FromProtoValidates) {
  google::protobuf::RepeatedPtrField<rpc::Bundle> bundles;
  rpc::Bundle* bundle = bundles.Add();
  bundle->set_placement_group_id(group_.Binary());
  bundle->set_index(2);
  (*bundle->mutable_resources())["CPU"] = 1.5;
  auto parsed = PlacementGroupResourceManager::FromProto(bundles);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0].group_id, group_);
  EXPECT_EQ((*parsed)[0].index, 2);
  EXPECT_EQ((*parsed)[0].resources, Make({{"CPU", 1.5}}));

  bundle->set_index(-1);
  EXPECT_FALSE(PlacementGroupResourceManager::FromProto(bundles).ok());
  bundle->set_index(0);
  (*bundle->mutable_resources())["CPU"] = -1;
  EXPECT_FALSE(PlacementGroupResourceManager::FromProto(bundles).ok());
  (*bundle->mutable_resources())["CPU"] = 1;
  bundle->set_placement_group_id("short");
  EXPECT_FALSE(PlacementGroupResourceManager::FromProto(bundles).ok());
}

}  // namespace
}  // namespace comet::raylet
