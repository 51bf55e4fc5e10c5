#include "src/comet/raylet/cluster_view.h"

#include <gtest/gtest.h>

namespace comet::raylet {
namespace {

ResourceSet Cpus(double n) { return *ResourceSet::FromDoubles({{"CPU", n}}); }

rpc::NodeResources Node(const NodeID& id, const std::string& address, double total,
                        double available) {
  rpc::NodeResources node;
  node.set_node_id(id.Binary());
  node.set_raylet_address(address);
  (*node.mutable_total()->mutable_quantities())["CPU"] = total;
  (*node.mutable_available()->mutable_quantities())["CPU"] = available;
  return node;
}

class ClusterViewTest : public ::testing::Test {
 protected:
  ClusterViewTest() : view_(local_, ClusterViewOptions{0.5}) {}

  void SetRemote(double total, double available) {
    google::protobuf::RepeatedPtrField<rpc::NodeResources> cluster;
    *cluster.Add() = Node(local_, "127.0.0.1:1", 4, 4);  // Skipped: it is us.
    *cluster.Add() = Node(remote_, "127.0.0.1:2", total, available);
    view_.Update(cluster);
  }

  NodeID local_ = NodeID::FromRandom();
  NodeID remote_ = NodeID::FromRandom();
  ClusterView view_;
};

TEST_F(ClusterViewTest, StaysLocalWithoutOtherNodes) {
  ResourceSet total = Cpus(2), available = Cpus(0);
  EXPECT_FALSE(view_.Choose(Cpus(1), {total, available}, false, false).has_value());
  EXPECT_FALSE(view_.Choose(Cpus(8), {total, available}, false, false).has_value());
}

TEST_F(ClusterViewTest, KnowsRemoteAddressesButNotItself) {
  SetRemote(4, 4);
  EXPECT_EQ(view_.num_remote_nodes(), 1u);
  EXPECT_EQ(view_.AddressOf(remote_), "127.0.0.1:2");
  EXPECT_FALSE(view_.AddressOf(local_).has_value());
}

TEST_F(ClusterViewTest, UpdateReportsNodesThatLeft) {
  SetRemote(4, 4);
  google::protobuf::RepeatedPtrField<rpc::NodeResources> only_us;
  *only_us.Add() = Node(local_, "127.0.0.1:1", 4, 4);
  std::vector<NodeID> gone = view_.Update(only_us);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0], remote_);
  EXPECT_TRUE(view_.Update(only_us).empty());
  EXPECT_FALSE(view_.IsAlive(remote_));
}

TEST_F(ClusterViewTest, PrefersLocalBelowThreshold) {
  SetRemote(4, 4);
  ResourceSet total = Cpus(4), available = Cpus(4);
  EXPECT_FALSE(view_.Choose(Cpus(1), {total, available}, false, false).has_value());
}

TEST_F(ClusterViewTest, SpillsToLessLoadedNodeAboveThreshold) {
  SetRemote(4, 4);
  ResourceSet total = Cpus(4), available = Cpus(1);
  auto target = view_.Choose(Cpus(1), {total, available}, false, false);
  ASSERT_TRUE(target.has_value());
  EXPECT_EQ(target->node_id, remote_);
}

TEST_F(ClusterViewTest, SpillsWhenNothingFreeHereAndDeductsOptimistically) {
  SetRemote(2, 2);
  ResourceSet total = Cpus(2), available = Cpus(0);
  EXPECT_TRUE(view_.Choose(Cpus(1), {total, available}, false, false).has_value());
  EXPECT_TRUE(view_.Choose(Cpus(1), {total, available}, false, false).has_value());
  // The remote node's two CPUs are spoken for: the third waits here.
  EXPECT_FALSE(view_.Choose(Cpus(1), {total, available}, false, false).has_value());
}

TEST_F(ClusterViewTest, InfeasibleHereGoesToFeasibleNode) {
  SetRemote(16, 0);
  ResourceSet total = Cpus(2), available = Cpus(2);
  auto target = view_.Choose(Cpus(8), {total, available}, false, false);
  ASSERT_TRUE(target.has_value());
  EXPECT_EQ(target->node_id, remote_);
  // Already spilled once and feasible here: stays.
  EXPECT_FALSE(view_.Choose(Cpus(1), {total, Cpus(0)}, false, true).has_value());
  // Feasible nowhere: waits here.
  EXPECT_FALSE(view_.Choose(Cpus(64), {total, available}, false, false).has_value());
}

TEST_F(ClusterViewTest, SpreadAlternatesOverNodesThatFit) {
  SetRemote(100, 100);
  ResourceSet total = Cpus(100), available = Cpus(100);
  int here = 0, there = 0;
  for (int i = 0; i < 10; ++i) {
    if (view_.Choose(Cpus(1), {total, available}, true, false)) {
      ++there;
    } else {
      ++here;
    }
  }
  EXPECT_EQ(here, 5);
  EXPECT_EQ(there, 5);
}

}  // namespace
}  // namespace comet::raylet
