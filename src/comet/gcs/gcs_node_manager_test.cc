#include "src/comet/gcs/gcs_node_manager.h"

#include <gtest/gtest.h>

#include "src/comet/gcs/fake_publisher.h"
#include "src/comet/gcs/in_memory_store_client.h"

namespace comet::gcs {
namespace {

rpc::NodeInfo Node(const NodeID& id, int port = 5000) {
  rpc::NodeInfo node;
  node.set_node_id(id.Binary());
  node.set_node_manager_address("127.0.0.1");
  node.set_node_manager_port(port);
  (*node.mutable_total_resources()->mutable_quantities())["CPU"] = 2;
  return node;
}

class GcsNodeManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nodes_.AddNodeAddedListener(
        [this](const rpc::NodeInfo& node) { added_.push_back(node); });
    nodes_.AddNodeRemovedListener(
        [this](const rpc::NodeInfo& node) { removed_.push_back(node); });
    ASSERT_TRUE(nodes_.Initialize().ok());
  }

  InMemoryStoreClient store_;
  FakePublisher publisher_;
  GcsNodeManager nodes_{&store_, &publisher_};
  std::vector<rpc::NodeInfo> added_;
  std::vector<rpc::NodeInfo> removed_;
};

TEST_F(GcsNodeManagerTest, RegisterPublishesAliveAndNotifies) {
  NodeID id = NodeID::FromRandom();
  ASSERT_TRUE(nodes_.RegisterNode(Node(id)).ok());
  ASSERT_EQ(publisher_.messages.size(), 1u);
  const rpc::PubMessage& message = publisher_.messages[0];
  EXPECT_EQ(message.channel(), rpc::NODE_INFO_CHANNEL);
  EXPECT_EQ(message.key(), id.Binary());
  EXPECT_EQ(message.node_info().state(), rpc::NodeInfo::ALIVE);
  EXPECT_GT(message.node_info().start_time_ms(), 0);
  ASSERT_EQ(added_.size(), 1u);
  EXPECT_EQ(added_[0].node_id(), id.Binary());
  ASSERT_NE(nodes_.GetAliveNode(id), nullptr);
  EXPECT_EQ(nodes_.GetAllNodes().size(), 1u);
  EXPECT_TRUE(*store_.Exists(GcsNodeManager::kNodeTable, id.Binary()));
}

TEST_F(GcsNodeManagerTest, UnregisterPublishesDeadWithReasonOnce) {
  NodeID id = NodeID::FromRandom();
  ASSERT_TRUE(nodes_.RegisterNode(Node(id)).ok());
  ASSERT_TRUE(nodes_.UnregisterNode(id, "raylet shut down").ok());
  ASSERT_EQ(publisher_.messages.size(), 2u);
  const rpc::NodeInfo& dead = publisher_.messages[1].node_info();
  EXPECT_EQ(dead.state(), rpc::NodeInfo::DEAD);
  EXPECT_EQ(dead.death_reason(), "raylet shut down");
  EXPECT_GE(dead.end_time_ms(), dead.start_time_ms());
  ASSERT_EQ(removed_.size(), 1u);
  EXPECT_EQ(nodes_.GetAliveNode(id), nullptr);

  ASSERT_TRUE(nodes_.UnregisterNode(id, "again").ok());
  ASSERT_TRUE(nodes_.MarkNodeDead(id, "and again").ok());
  EXPECT_EQ(publisher_.messages.size(), 2u);
  EXPECT_EQ(removed_.size(), 1u);
  std::vector<rpc::NodeInfo> all = nodes_.GetAllNodes();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].death_reason(), "raylet shut down");
}

TEST_F(GcsNodeManagerTest, UnregisterWithoutReasonGetsADefault) {
  NodeID id = NodeID::FromRandom();
  ASSERT_TRUE(nodes_.RegisterNode(Node(id)).ok());
  ASSERT_TRUE(nodes_.UnregisterNode(id, "").ok());
  EXPECT_FALSE(publisher_.messages.back().node_info().death_reason().empty());
}

TEST_F(GcsNodeManagerTest, MarkUnknownNodeDeadIsNotFound) {
  EXPECT_EQ(nodes_.MarkNodeDead(NodeID::FromRandom(), "x").code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(publisher_.messages.empty());
}

TEST_F(GcsNodeManagerTest, DeadNodeCannotComeBack) {
  NodeID id = NodeID::FromRandom();
  ASSERT_TRUE(nodes_.RegisterNode(Node(id)).ok());
  ASSERT_TRUE(nodes_.MarkNodeDead(id, "missed health checks").ok());
  EXPECT_EQ(nodes_.RegisterNode(Node(id)).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(nodes_.num_alive(), 0u);
}

TEST_F(GcsNodeManagerTest, LiveNodeMayReRegisterWithNewInfo) {
  NodeID id = NodeID::FromRandom();
  ASSERT_TRUE(nodes_.RegisterNode(Node(id, 5000)).ok());
  ASSERT_TRUE(nodes_.RegisterNode(Node(id, 6000)).ok());
  EXPECT_EQ(nodes_.GetAliveNode(id)->node_manager_port(), 6000);
  EXPECT_EQ(added_.size(), 2u);
  EXPECT_EQ(publisher_.messages.size(), 2u);
  EXPECT_EQ(nodes_.num_alive(), 1u);
}

TEST_F(GcsNodeManagerTest, MalformedRegistrationsAreRejected) {
  rpc::NodeInfo bad_id = Node(NodeID::FromRandom());
  bad_id.set_node_id("short");
  EXPECT_EQ(nodes_.RegisterNode(bad_id).code(),
            absl::StatusCode::kInvalidArgument);
  rpc::NodeInfo nil = Node(NodeID::Nil());
  EXPECT_EQ(nodes_.RegisterNode(nil).code(),
            absl::StatusCode::kInvalidArgument);
  rpc::NodeInfo no_address = Node(NodeID::FromRandom());
  no_address.clear_node_manager_address();
  EXPECT_EQ(nodes_.RegisterNode(no_address).code(),
            absl::StatusCode::kInvalidArgument);
  rpc::NodeInfo no_port = Node(NodeID::FromRandom(), 0);
  EXPECT_EQ(nodes_.RegisterNode(no_port).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(publisher_.messages.empty());

  rpc::NodeInfo unix_socket = Node(NodeID::FromRandom(), 0);
  unix_socket.set_node_manager_address("unix:/tmp/raylet.sock");
  EXPECT_TRUE(nodes_.RegisterNode(unix_socket).ok());
}

TEST_F(GcsNodeManagerTest, KeepsABoundedNumberOfDeadNodes) {
  const size_t extra = 5;
  NodeID first;
  for (size_t i = 0; i < GcsNodeManager::kMaxDeadNodes + extra; ++i) {
    NodeID id = NodeID::FromRandom();
    if (i == 0) first = id;
    ASSERT_TRUE(nodes_.RegisterNode(Node(id)).ok());
    ASSERT_TRUE(nodes_.MarkNodeDead(id, "gone").ok());
  }
  EXPECT_EQ(nodes_.num_dead(), GcsNodeManager::kMaxDeadNodes);
  EXPECT_EQ(nodes_.GetAllNodes().size(), GcsNodeManager::kMaxDeadNodes);
  EXPECT_EQ(store_.GetAll(GcsNodeManager::kNodeTable)->size(),
            GcsNodeManager::kMaxDeadNodes);
  EXPECT_FALSE(*store_.Exists(GcsNodeManager::kNodeTable, first.Binary()));
}

TEST_F(GcsNodeManagerTest, InitializeRestoresTheTable) {
  NodeID alive = NodeID::FromRandom();
  NodeID dead = NodeID::FromRandom();
  ASSERT_TRUE(nodes_.RegisterNode(Node(alive)).ok());
  ASSERT_TRUE(nodes_.RegisterNode(Node(dead)).ok());
  ASSERT_TRUE(nodes_.MarkNodeDead(dead, "gone").ok());

  GcsNodeManager restarted(&store_, &publisher_);
  std::vector<rpc::NodeInfo> restored;
  restarted.AddNodeAddedListener(
      [&](const rpc::NodeInfo& node) { restored.push_back(node); });
  ASSERT_TRUE(restarted.Initialize().ok());
  ASSERT_EQ(restored.size(), 1u);
  EXPECT_EQ(restored[0].node_id(), alive.Binary());
  EXPECT_EQ(restarted.num_alive(), 1u);
  EXPECT_EQ(restarted.num_dead(), 1u);
  EXPECT_EQ(restarted.RegisterNode(Node(dead)).code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace comet::gcs
