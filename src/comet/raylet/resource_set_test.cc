#include "src/comet/raylet/resource_set.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "proto/common.pb.h"

namespace comet::raylet {
namespace {

ResourceSet Make(const std::map<std::string, double>& quantities) {
  auto set = ResourceSet::FromDoubles(quantities);
  EXPECT_TRUE(set.ok()) << set.status();
  return *set;
}

TEST(ResourceSetTest, StoresFixedPointAndDropsZeros) {
  ResourceSet set = Make({{"CPU", 2}, {"GPU", 0.5}, {"custom", 0}});
  EXPECT_EQ(set.GetFixed("CPU"), 2 * kResourceUnit);
  EXPECT_EQ(set.GetFixed("GPU"), kResourceUnit / 2);
  EXPECT_FALSE(set.Has("custom"));
  EXPECT_EQ(set.fixed_quantities().size(), 2u);
  EXPECT_EQ(set.GetFixed("missing"), 0);
  EXPECT_DOUBLE_EQ(set.Get("GPU"), 0.5);
}

TEST(ResourceSetTest, GpusCountDirectlyOrFromABundle) {
  EXPECT_TRUE(Make({{"GPU", 0.25}}).HasGpus());
  EXPECT_TRUE(Make({{"CPU", 1}, {"GPU_group_0_abc", 1}}).HasGpus());
  EXPECT_TRUE(Make({{"GPU_group_abc", 1}}).HasGpus());
  EXPECT_FALSE(Make({{"CPU", 1}, {"GPUish", 1}, {"bundle_group_abc", 1}}).HasGpus());
  EXPECT_FALSE(ResourceSet().HasGpus());
}

TEST(ResourceSetTest, RoundsToNearestTenThousandth) {
  EXPECT_EQ(Make({{"GPU", 0.33333}}).GetFixed("GPU"), 3333);
  EXPECT_EQ(Make({{"GPU", 0.00006}}).GetFixed("GPU"), 1);
  EXPECT_TRUE(Make({{"GPU", 0.00001}}).IsEmpty());
}

TEST(ResourceSetTest, RejectsBadQuantities) {
  EXPECT_FALSE(ResourceSet::FromDoubles({{"CPU", -1}}).ok());
  EXPECT_FALSE(ResourceSet::FromDoubles({{"CPU", std::nan("")}}).ok());
  EXPECT_FALSE(ResourceSet::FromDoubles(
                   {{"CPU", std::numeric_limits<double>::infinity()}})
                   .ok());
  EXPECT_FALSE(ResourceSet::FromDoubles({{"", 1}}).ok());
  auto status = ResourceSet::FromDoubles({{"GPU", -0.5}}).status();
  EXPECT_NE(status.message().find("GPU"), absl::string_view::npos);
}

TEST(ResourceSetTest, TenthsOfAGpuAddUpExactly) {
  ResourceSet total = Make({{"GPU", 1}});
  ResourceSet tenth = Make({{"GPU", 0.1}});
  ResourceSet available = total;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(available.Contains(tenth)) << i;
    available -= tenth;
  }
  EXPECT_TRUE(available.IsEmpty());
  EXPECT_FALSE(available.Contains(tenth));
  ResourceSet sum;
  for (int i = 0; i < 10; ++i) sum += tenth;
  EXPECT_EQ(sum, total);
}

TEST(ResourceSetTest, ThirdsFitThreeTimes) {
  ResourceSet available = Make({{"GPU", 1}});
  ResourceSet third = Make({{"GPU", 1.0 / 3}});
  for (int i = 0; i < 3; ++i) available -= third;
  EXPECT_EQ(available.GetFixed("GPU"), 1);
  EXPECT_FALSE(available.Contains(third));
}

TEST(ResourceSetTest, ContainsComparesEveryEntry) {
  ResourceSet node = Make({{"CPU", 4}, {"GPU", 1}, {"memory", 1e9}});
  EXPECT_TRUE(node.Contains(Make({})));
  EXPECT_TRUE(node.Contains(Make({{"CPU", 4}, {"GPU", 1}})));
  EXPECT_FALSE(node.Contains(Make({{"CPU", 4.0001}})));
  EXPECT_FALSE(node.Contains(Make({{"custom", 1}})));
  EXPECT_FALSE(Make({}).Contains(node));
}

TEST(ResourceSetTest, SubtractionErasesExhaustedEntries) {
  ResourceSet set = Make({{"CPU", 2}, {"GPU", 1}});
  set -= Make({{"CPU", 2}});
  EXPECT_EQ(set, Make({{"GPU", 1}}));
  set += Make({{"CPU", 0.5}});
  EXPECT_EQ(set.GetFixed("CPU"), kResourceUnit / 2);
}

TEST(ResourceSetTest, ProtoRoundTrip) {
  ResourceSet set = Make({{"CPU", 1.5}, {"GPU", 0.25}, {"node:127.0.0.1", 1}});
  rpc::ResourceSet proto;
  set.ToProto(&proto);
  EXPECT_DOUBLE_EQ(proto.quantities().at("CPU"), 1.5);
  EXPECT_DOUBLE_EQ(proto.quantities().at("GPU"), 0.25);
  auto back = ResourceSet::FromProtoMap(proto.quantities());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, set);
}

TEST(ResourceSetTest, LargeMemoryQuantitiesAreExact) {
  double bytes = 512.0 * 1024 * 1024 * 1024;  // 512 GiB
  ResourceSet set = Make({{"memory", bytes}});
  EXPECT_DOUBLE_EQ(set.Get("memory"), bytes);
}

TEST(ResourceSetTest, ToStringIsSortedAndReadable) {
  EXPECT_EQ(Make({{"GPU", 0.5}, {"CPU", 1}}).ToString(), "{CPU: 1, GPU: 0.5}");
  EXPECT_EQ(Make({}).ToString(), "{}");
  EXPECT_EQ(Make({{"memory", 8388608}, {"GPU", 0.3333}}).ToString(),
            "{GPU: 0.3333, memory: 8388608}");
}

}  // namespace
}  // namespace comet::raylet
