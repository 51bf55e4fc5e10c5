// GcsActorScheduler by events: fake raylet and worker clients, a recording
// listener, and timers the test fires.
#include "src/comet/gcs/gcs_actor_scheduler.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "src/comet/gcs/fake_actor_rpc_clients.h"
#include "src/comet/gcs/fake_publisher.h"
#include "src/comet/gcs/in_memory_store_client.h"

namespace comet::gcs {
namespace {

class RecordingListener : public GcsActorScheduler::Listener {
 public:
  bool OnWorkerLeased(const ActorID& actor_id, uint64_t attempt,
                      const ActorLease& lease) override {
    leased.push_back({actor_id, attempt, lease});
    return accept;
  }
  void OnCreationTaskReplied(const ActorID& actor_id, uint64_t attempt,
                             const absl::Status& status,
                             const rpc::PushTaskReply&) override {
    replied.push_back({actor_id, attempt, status});
  }

  struct Leased {
    ActorID actor_id;
    uint64_t attempt;
    ActorLease lease;
  };
  struct Replied {
    ActorID actor_id;
    uint64_t attempt;
    absl::Status status;
  };
  bool accept = true;
  std::vector<Leased> leased;
  std::vector<Replied> replied;
};

class GcsActorSchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override { scheduler_.set_listener(&listener_); }

  NodeID AddNode(const std::map<std::string, double>& total) {
    NodeID id = NodeID::FromRandom();
    rpc::NodeInfo node;
    node.set_node_id(id.Binary());
    node.set_node_manager_address("127.0.0.1");
    node.set_node_manager_port(6000);
    for (const auto& [name, quantity] : total) {
      (*node.mutable_total_resources()->mutable_quantities())[name] = quantity;
    }
    EXPECT_TRUE(nodes_.RegisterNode(node).ok());
    resources_.OnNodeAdded(node);
    scheduler_.OnNodeAdded();
    return id;
  }

  rpc::TaskSpec Spec(const std::map<std::string, double>& demand) {
    rpc::TaskSpec spec;
    spec.set_type(rpc::ACTOR_CREATION_TASK);
    spec.set_job_id(JobID::FromInt(1).Binary());
    spec.set_task_id(TaskID::ForActorCreationTask(actor_).Binary());
    for (const auto& [name, quantity] : demand) {
      (*spec.mutable_required_resources())[name] = quantity;
    }
    return spec;
  }

  rpc::RequestWorkerLeaseReply Grant(const std::string& node_id,
                                     const WorkerID& worker) {
    rpc::RequestWorkerLeaseReply reply;
    reply.mutable_worker_address()->set_node_id(node_id);
    reply.mutable_worker_address()->set_ip_address("127.0.0.1");
    reply.mutable_worker_address()->set_port(7000);
    reply.mutable_worker_address()->set_worker_id(worker.Binary());
    reply.set_lease_id("lease");
    reply.set_worker_pid(99);
    rpc::ResourceAssignment* gpu = reply.add_resource_assignments();
    gpu->set_name("GPU");
    gpu->add_instance_ids(0);
    gpu->add_fractions(1);
    return reply;
  }

  InMemoryStoreClient store_;
  FakePublisher publisher_;
  GcsNodeManager nodes_{&store_, &publisher_};
  GcsResourceManager resources_;
  FakeRayletClientPool raylets_;
  FakeCoreWorkerClientPool workers_;
  FakeTimers timers_;
  RecordingListener listener_;
  GcsActorScheduler scheduler_{&nodes_,   &resources_,          &raylets_,
                               &workers_, timers_.AsRunAfter(), {}};
  ActorID actor_ = ActorID::Of(JobID::FromInt(1),
                               TaskID::ForDriverTask(JobID::FromInt(1)), 0);
};

TEST_F(GcsActorSchedulerTest, LeasesOnAFittingNodeAndPushes) {
  AddNode({{"CPU", 1}});
  NodeID gpu_node = AddNode({{"CPU", 1}, {"GPU", 1}});
  scheduler_.Schedule(actor_, 1, Spec({{"GPU", 1}}));
  ASSERT_EQ(raylets_.leases.size(), 1u);
  auto call = raylets_.PopLease();
  EXPECT_EQ(call.node.node_id(), gpu_node.Binary());
  EXPECT_TRUE(call.request.is_actor_creation());
  EXPECT_EQ(call.request.actor_id(), actor_.Binary());
  WorkerID worker = WorkerID::FromRandom();
  call.callback(absl::OkStatus(), Grant(gpu_node.Binary(), worker));
  ASSERT_EQ(listener_.leased.size(), 1u);
  EXPECT_EQ(listener_.leased[0].lease.worker_id, worker);
  EXPECT_EQ(listener_.leased[0].lease.pid, 99);
  EXPECT_EQ(listener_.leased[0].lease.node_id, gpu_node);
  EXPECT_EQ(scheduler_.num_pending(), 0u);

  ASSERT_EQ(workers_.pushes.size(), 1u);
  auto push = workers_.PopPush();
  EXPECT_EQ(push.request.intended_worker_id(), worker.Binary());
  ASSERT_EQ(push.request.resource_assignments_size(), 1);
  EXPECT_EQ(push.request.resource_assignments(0).name(), "GPU");
  EXPECT_EQ(push.worker.port(), 7000);
  push.callback(absl::OkStatus(), rpc::PushTaskReply());
  ASSERT_EQ(listener_.replied.size(), 1u);
  EXPECT_TRUE(listener_.replied[0].status.ok());
  EXPECT_EQ(listener_.replied[0].attempt, 1u);
}

TEST_F(GcsActorSchedulerTest, WaitsWhileNoNodeFitsThenRetries) {
  scheduler_.Schedule(actor_, 1, Spec({{"CPU", 2}}));
  EXPECT_TRUE(raylets_.leases.empty());
  ASSERT_EQ(timers_.pending.size(), 1u);
  EXPECT_EQ(timers_.pending[0].first, absl::Seconds(1));
  timers_.FireAll();
  EXPECT_TRUE(raylets_.leases.empty());
  AddNode({{"CPU", 1}});
  EXPECT_TRUE(raylets_.leases.empty());
  NodeID big = AddNode({{"CPU", 4}});
  ASSERT_EQ(raylets_.leases.size(), 1u);
  EXPECT_EQ(raylets_.leases[0].node.node_id(), big.Binary());
  // The timer still pending finds the request in flight: no second one.
  timers_.FireAll();
  EXPECT_EQ(raylets_.leases.size(), 1u);
}

TEST_F(GcsActorSchedulerTest, PrefersANodeWithFreeResources) {
  NodeID busy = AddNode({{"CPU", 2}});
  NodeID idle = AddNode({{"CPU", 2}});
  rpc::ReportResourceUsageRequest report;
  report.set_node_id(busy.Binary());
  (*report.mutable_available()->mutable_quantities())["CPU"] = 0;
  (*report.mutable_total()->mutable_quantities())["CPU"] = 2;
  ASSERT_TRUE(resources_.ReportResourceUsage(report).ok());
  for (int i = 0; i < 10; ++i) {
    scheduler_.Schedule(actor_, i + 1, Spec({{"CPU", 1}}));
    ASSERT_EQ(raylets_.leases.size(), 1u);
    EXPECT_EQ(raylets_.PopLease().node.node_id(), idle.Binary());
  }
}

TEST_F(GcsActorSchedulerTest, RejectedOrFailedLeaseIsAskedForAgain) {
  NodeID node = AddNode({{"CPU", 1}});
  scheduler_.Schedule(actor_, 1, Spec({}));
  rpc::RequestWorkerLeaseReply rejected;
  rejected.set_rejected(true);
  raylets_.PopLease().callback(absl::OkStatus(), rejected);
  EXPECT_TRUE(raylets_.leases.empty());
  timers_.FireAll();
  ASSERT_EQ(raylets_.leases.size(), 1u);
  raylets_.PopLease().callback(absl::UnavailableError("down"),
                               rpc::RequestWorkerLeaseReply());
  timers_.FireAll();
  ASSERT_EQ(raylets_.leases.size(), 1u);
  WorkerID worker = WorkerID::FromRandom();
  raylets_.PopLease().callback(absl::OkStatus(), Grant(node.Binary(), worker));
  EXPECT_EQ(listener_.leased.size(), 1u);
}

TEST_F(GcsActorSchedulerTest, LateGrantsAreReturned) {
  NodeID node = AddNode({{"CPU", 1}});
  scheduler_.Schedule(actor_, 1, Spec({}));
  auto cancelled = raylets_.PopLease();
  scheduler_.Cancel(actor_);
  WorkerID worker = WorkerID::FromRandom();
  cancelled.callback(absl::OkStatus(), Grant(node.Binary(), worker));
  EXPECT_TRUE(listener_.leased.empty());
  ASSERT_EQ(raylets_.returns.size(), 1u);
  EXPECT_EQ(raylets_.returns[0].request.worker_id(), worker.Binary());
  EXPECT_TRUE(raylets_.returns[0].request.disconnect_worker());

  // A listener that turns the lease down gets it returned too.
  listener_.accept = false;
  scheduler_.Schedule(actor_, 2, Spec({}));
  raylets_.PopLease().callback(absl::OkStatus(),
                               Grant(node.Binary(), WorkerID::FromRandom()));
  EXPECT_EQ(raylets_.returns.size(), 2u);
  EXPECT_TRUE(workers_.pushes.empty());
}

TEST_F(GcsActorSchedulerTest, ANewAttemptMakesTheOldReplyStale) {
  NodeID node = AddNode({{"CPU", 1}});
  scheduler_.Schedule(actor_, 1, Spec({}));
  auto first = raylets_.PopLease();
  scheduler_.Schedule(actor_, 2, Spec({}));
  ASSERT_EQ(raylets_.leases.size(), 1u);
  first.callback(absl::OkStatus(),
                 Grant(node.Binary(), WorkerID::FromRandom()));
  EXPECT_TRUE(listener_.leased.empty());
  EXPECT_EQ(raylets_.returns.size(), 1u);
  raylets_.PopLease().callback(absl::OkStatus(),
                               Grant(node.Binary(), WorkerID::FromRandom()));
  ASSERT_EQ(listener_.leased.size(), 1u);
  EXPECT_EQ(listener_.leased[0].attempt, 2u);
}

TEST_F(GcsActorSchedulerTest, NodeDeathMovesTheRequestElsewhere) {
  NodeID first = AddNode({{"CPU", 1}});
  scheduler_.Schedule(actor_, 1, Spec({}));
  auto lost = raylets_.PopLease();
  NodeID dying = *NodeID::FromBinary(lost.node.node_id());
  NodeID other = first;
  if (dying == first) other = AddNode({{"CPU", 1}});
  ASSERT_TRUE(nodes_.MarkNodeDead(dying, "gone").ok());
  resources_.OnNodeRemoved(dying);
  scheduler_.OnNodeRemoved(dying);
  EXPECT_EQ(raylets_.forgotten, std::vector<NodeID>{dying});
  ASSERT_EQ(raylets_.leases.size(), 1u);
  EXPECT_EQ(raylets_.leases[0].node.node_id(), other.Binary());
  // The dead node's late answer is ignored (its node is gone: nothing to
  // return it to).
  lost.callback(absl::UnavailableError("connection reset"),
                rpc::RequestWorkerLeaseReply());
  EXPECT_TRUE(listener_.leased.empty());
  EXPECT_EQ(raylets_.leases.size(), 1u);
}

TEST_F(GcsActorSchedulerTest, WorkerOrdersGoToTheRightPlaces) {
  NodeID node = AddNode({{"CPU", 1}});
  ActorLease lease;
  lease.node_id = node;
  lease.worker_id = WorkerID::FromRandom();
  lease.worker_address.set_ip_address("127.0.0.1");
  lease.worker_address.set_port(7001);
  lease.lease_id = "l";
  scheduler_.ReturnWorker(lease);
  scheduler_.KillWorker(lease, "because");
  scheduler_.KillActor(lease, actor_, true, "because");
  ASSERT_EQ(raylets_.returns.size(), 1u);
  EXPECT_TRUE(raylets_.returns[0].request.disconnect_worker());
  EXPECT_EQ(raylets_.returns[0].request.lease_id(), "l");
  ASSERT_EQ(raylets_.kills.size(), 1u);
  EXPECT_EQ(raylets_.kills[0].request.reason(), "because");
  ASSERT_EQ(workers_.kill_actors.size(), 1u);
  EXPECT_TRUE(workers_.kill_actors[0].request.force_kill());
  EXPECT_EQ(workers_.kill_actors[0].worker.port(), 7001);
  // Orders for a worker on a dead node go nowhere.
  ASSERT_TRUE(nodes_.MarkNodeDead(node, "gone").ok());
  scheduler_.KillWorker(lease, "again");
  EXPECT_EQ(raylets_.kills.size(), 1u);
}

}  // namespace
}  // namespace comet::gcs
