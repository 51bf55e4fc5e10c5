// GcsHealthCheckManager against a FakeProber that the test answers by hand,
// then once on a real io_context timer.
#include "src/comet/gcs/gcs_health_check_manager.h"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/match.h"

namespace comet::gcs {
namespace {

class FakeProber : public NodeProber {
 public:
  struct Probe_ {
    NodeID node_id;
    absl::Duration timeout;
    Callback callback;
  };

  void Probe(const rpc::NodeInfo& node, absl::Duration timeout,
             Callback callback) override {
    NodeID id = *NodeID::FromBinary(node.node_id());
    ++probes_sent;
    if (answer_inline.has_value()) {
      callback(*answer_inline);
      return;
    }
    pending.push_back(Probe_{id, timeout, std::move(callback)});
  }
  void Forget(const NodeID& node_id) override { forgotten.push_back(node_id); }

  // Answers the oldest pending probe.
  void AnswerNext(absl::Status status) {
    ASSERT_FALSE(pending.empty());
    Probe_ probe = std::move(pending.front());
    pending.pop_front();
    probe.callback(status);
  }

  std::deque<Probe_> pending;
  std::vector<NodeID> forgotten;
  std::optional<absl::Status> answer_inline;
  int probes_sent = 0;
};

rpc::NodeInfo Node(const NodeID& id) {
  rpc::NodeInfo node;
  node.set_node_id(id.Binary());
  node.set_node_manager_address("127.0.0.1");
  node.set_node_manager_port(1);
  return node;
}

class GcsHealthCheckManagerTest : public ::testing::Test {
 protected:
  GcsHealthCheckManagerTest() {
    options_.period = absl::Milliseconds(10);
    options_.timeout = absl::Seconds(1);  // Capped at the period.
    options_.failure_threshold = 3;
  }

  std::unique_ptr<GcsHealthCheckManager> Make() {
    return std::make_unique<GcsHealthCheckManager>(
        io_, &prober_, options_, [this](const NodeID& id, std::string reason) {
          dead_.emplace_back(id, std::move(reason));
        });
  }

  const absl::Status kDown = absl::UnavailableError("connection refused");
  boost::asio::io_context io_;
  FakeProber prober_;
  HealthCheckOptions options_;
  std::vector<std::pair<NodeID, std::string>> dead_;
};

TEST_F(GcsHealthCheckManagerTest, ThresholdConsecutiveFailuresMeanDead) {
  auto health = Make();
  NodeID id = NodeID::FromRandom();
  health->AddNode(Node(id));
  for (int i = 1; i <= 3; ++i) {
    health->CheckAllNodes();
    ASSERT_EQ(prober_.pending.size(), 1u);
    EXPECT_EQ(prober_.pending[0].timeout, absl::Milliseconds(10));
    EXPECT_TRUE(dead_.empty());
    prober_.AnswerNext(kDown);
    if (i < 3) {
      EXPECT_EQ(health->failures(id), i);
    }
  }
  ASSERT_EQ(dead_.size(), 1u);
  EXPECT_EQ(dead_[0].first, id);
  EXPECT_TRUE(absl::StrContains(dead_[0].second, "3 consecutive health checks"))
      << dead_[0].second;
  EXPECT_FALSE(health->IsTracked(id));
  EXPECT_EQ(prober_.forgotten, std::vector<NodeID>{id});
  health->CheckAllNodes();
  EXPECT_TRUE(prober_.pending.empty());
}

TEST_F(GcsHealthCheckManagerTest, SuccessResetsTheCount) {
  auto health = Make();
  NodeID id = NodeID::FromRandom();
  health->AddNode(Node(id));
  for (absl::Status status : {kDown, kDown, absl::OkStatus(), kDown, kDown}) {
    health->CheckAllNodes();
    prober_.AnswerNext(status);
  }
  EXPECT_TRUE(dead_.empty());
  EXPECT_EQ(health->failures(id), 2);
}

TEST_F(GcsHealthCheckManagerTest, AtMostOneProbePerNodeInFlight) {
  auto health = Make();
  health->AddNode(Node(NodeID::FromRandom()));
  health->AddNode(Node(NodeID::FromRandom()));
  health->CheckAllNodes();
  health->CheckAllNodes();
  EXPECT_EQ(prober_.pending.size(), 2u);
  prober_.AnswerNext(absl::OkStatus());
  health->CheckAllNodes();
  EXPECT_EQ(prober_.pending.size(), 2u);
}

TEST_F(GcsHealthCheckManagerTest,
       ResultsForRemovedOrReRegisteredNodesAreIgnored) {
  options_.failure_threshold = 1;
  auto health = Make();
  NodeID removed = NodeID::FromRandom();
  NodeID re_added = NodeID::FromRandom();
  health->AddNode(Node(removed));
  health->AddNode(Node(re_added));
  health->CheckAllNodes();
  ASSERT_EQ(prober_.pending.size(), 2u);
  health->RemoveNode(removed);
  health->AddNode(Node(re_added));  // New registration: old probe is stale.
  prober_.AnswerNext(kDown);
  prober_.AnswerNext(kDown);
  EXPECT_TRUE(dead_.empty());
  EXPECT_TRUE(health->IsTracked(re_added));
}

TEST_F(GcsHealthCheckManagerTest, StopForgetsNodesAndIgnoresLateResults) {
  options_.failure_threshold = 1;
  auto health = Make();
  health->AddNode(Node(NodeID::FromRandom()));
  health->CheckAllNodes();
  health->Stop();
  prober_.AnswerNext(kDown);
  EXPECT_TRUE(dead_.empty());
  NodeID later = NodeID::FromRandom();
  health->AddNode(Node(later));
  EXPECT_FALSE(health->IsTracked(later));
}

TEST_F(GcsHealthCheckManagerTest, TimerDrivesChecksOnlyWhileNodesAreTracked) {
  prober_.answer_inline = kDown;
  auto health = Make();
  NodeID id = NodeID::FromRandom();
  health->AddNode(Node(id));
  // The loop has work only while the timer runs; it ends once the node is
  // declared dead and the timer is cancelled.
  io_.run_for(std::chrono::seconds(30));
  ASSERT_EQ(dead_.size(), 1u);
  EXPECT_EQ(dead_[0].first, id);
  EXPECT_EQ(prober_.probes_sent, 3);
  EXPECT_TRUE(io_.stopped());
}

}  // namespace
}  // namespace comet::gcs
