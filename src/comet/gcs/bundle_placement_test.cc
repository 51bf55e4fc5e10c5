#include "src/comet/gcs/bundle_placement.h"

#include <gtest/gtest.h>

#include <set>

namespace comet::gcs {
namespace {

class BundlePlacementTest : public ::testing::Test {
 protected:
  void AddNode(double cpus) {
    nodes_.push_back({NodeID::FromRandom(), {{"CPU", cpus}}});
  }
  const NodeID& Node(size_t i) const { return nodes_[i].node_id; }

  std::optional<std::vector<NodeID>> Place(rpc::PlacementStrategy strategy,
                                           std::vector<double> cpus,
                                           std::vector<NodeID> placed = {}) {
    BundlePlacementRequest request;
    request.strategy = strategy;
    for (double n : cpus) request.bundles.push_back({{"CPU", n}});
    request.placed = std::move(placed);
    request.soft_target = soft_target_;
    return PlaceBundles(request, nodes_);
  }

  static size_t Distinct(const std::vector<NodeID>& nodes) {
    return std::set<NodeID>(nodes.begin(), nodes.end()).size();
  }

  std::vector<NodeAvailability> nodes_;
  NodeID soft_target_;
};

TEST_F(BundlePlacementTest, PackPutsEverythingOnOneNodeWhenItFits) {
  AddNode(2);
  AddNode(4);
  auto placed = Place(rpc::PLACEMENT_PACK, {1, 2});
  ASSERT_TRUE(placed);
  EXPECT_EQ(*placed, (std::vector<NodeID>{Node(1), Node(1)}));
}

TEST_F(BundlePlacementTest, PackFallsBackToSeveralNodes) {
  AddNode(2);
  AddNode(2);
  auto placed = Place(rpc::PLACEMENT_PACK, {1, 1, 2});
  ASSERT_TRUE(placed);
  EXPECT_EQ((*placed)[0], (*placed)[1]);  // Packed while they fit.
  EXPECT_NE((*placed)[0], (*placed)[2]);
  EXPECT_FALSE(Place(rpc::PLACEMENT_PACK, {2, 2, 1}));
}

TEST_F(BundlePlacementTest, StrictPackNeedsOneNode) {
  AddNode(2);
  AddNode(2);
  EXPECT_FALSE(Place(rpc::PLACEMENT_STRICT_PACK, {1, 2}));
  auto placed = Place(rpc::PLACEMENT_STRICT_PACK, {1, 1});
  ASSERT_TRUE(placed);
  EXPECT_EQ(Distinct(*placed), 1u);
}

TEST_F(BundlePlacementTest, SoftTargetIsPreferredWhenItFits) {
  AddNode(4);
  AddNode(4);
  soft_target_ = Node(1);
  auto placed = Place(rpc::PLACEMENT_STRICT_PACK, {1, 1});
  ASSERT_TRUE(placed);
  EXPECT_EQ((*placed)[0], Node(1));
  nodes_[1].available["CPU"] = 1;  // No room there: elsewhere.
  placed = Place(rpc::PLACEMENT_STRICT_PACK, {1, 1});
  ASSERT_TRUE(placed);
  EXPECT_EQ((*placed)[0], Node(0));
}

TEST_F(BundlePlacementTest, SpreadUsesDistinctNodesWhilePossible) {
  AddNode(4);
  AddNode(4);
  auto placed = Place(rpc::PLACEMENT_SPREAD, {1, 1, 1});
  ASSERT_TRUE(placed);
  EXPECT_EQ(Distinct(*placed), 2u);
  EXPECT_NE((*placed)[0], (*placed)[1]);
}

TEST_F(BundlePlacementTest, StrictSpreadNeedsANodePerBundle) {
  AddNode(4);
  EXPECT_FALSE(Place(rpc::PLACEMENT_STRICT_SPREAD, {1, 1}));
  AddNode(4);
  auto placed = Place(rpc::PLACEMENT_STRICT_SPREAD, {1, 1});
  ASSERT_TRUE(placed);
  EXPECT_EQ(Distinct(*placed), 2u);
  nodes_[1].available["CPU"] = 0.5;
  EXPECT_FALSE(Place(rpc::PLACEMENT_STRICT_SPREAD, {1, 1}));
}

TEST_F(BundlePlacementTest, PlacedBundlesStayAndConstrainTheRest) {
  AddNode(4);
  AddNode(4);
  AddNode(4);
  // Bundle 1 survives on node 1; bundle 0 lost its node.
  auto placed =
      Place(rpc::PLACEMENT_STRICT_PACK, {1, 1}, {NodeID::Nil(), Node(1)});
  ASSERT_TRUE(placed);
  EXPECT_EQ(*placed, (std::vector<NodeID>{Node(1), Node(1)}));
  placed = Place(rpc::PLACEMENT_STRICT_SPREAD, {1, 1, 1},
                 {Node(0), NodeID::Nil(), Node(2)});
  ASSERT_TRUE(placed);
  EXPECT_EQ((*placed)[1], Node(1));
  nodes_[1].available["CPU"] = 0;
  EXPECT_FALSE(Place(rpc::PLACEMENT_STRICT_SPREAD, {1, 1, 1},
                     {Node(0), NodeID::Nil(), Node(2)}));
}

TEST_F(BundlePlacementTest, UnknownResourcesAndNoNodesDoNotFit) {
  EXPECT_FALSE(Place(rpc::PLACEMENT_PACK, {1}));
  AddNode(4);
  BundlePlacementRequest request;
  request.bundles.push_back({{"GPU", 1}});
  EXPECT_FALSE(PlaceBundles(request, nodes_));
  request.bundles[0] = {{"CPU", 4.0000001}};  // Rounding: fits.
  EXPECT_TRUE(PlaceBundles(request, nodes_));
}

}  // namespace
}  // namespace comet::gcs
