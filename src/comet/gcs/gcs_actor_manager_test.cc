// GcsActorManager by events: the real scheduler over fake raylet and worker
// clients; the test answers lease requests and creation pushes itself.
#include "src/comet/gcs/gcs_actor_manager.h"

#include <gtest/gtest.h>

#include "src/comet/common/actor_death_causes.h"

#include <optional>
#include <string>

#include "src/comet/gcs/fake_actor_rpc_clients.h"
#include "src/comet/gcs/fake_publisher.h"
#include "src/comet/gcs/gcs_node_manager.h"
#include "src/comet/gcs/gcs_resource_manager.h"
#include "src/comet/gcs/in_memory_store_client.h"

namespace comet::gcs {
namespace {

using Row = rpc::ActorTableData;

struct SpecOptions {
  std::string name;
  std::string ray_namespace = "ns";
  int64_t max_restarts = 0;
  bool detached = false;
  uint32_t job = 1;
  WorkerID owner = WorkerID::FromRandom();
  NodeID owner_node = NodeID::Nil();
  std::map<std::string, double> resources;
};

class GcsActorManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_id_ = NodeID::FromRandom();
    ASSERT_TRUE(nodes_.RegisterNode(Node(node_id_, 4)).ok());
    ASSERT_TRUE(actors_.Initialize().ok());
  }

  rpc::NodeInfo Node(const NodeID& id, double cpus) {
    rpc::NodeInfo node;
    node.set_node_id(id.Binary());
    node.set_node_manager_address("127.0.0.1");
    node.set_node_manager_port(5000);
    (*node.mutable_total_resources()->mutable_quantities())["CPU"] = cpus;
    resources_.OnNodeAdded(node);
    return node;
  }

  ActorID NewActorId(uint32_t job = 1) {
    return ActorID::Of(JobID::FromInt(job),
                       TaskID::ForDriverTask(JobID::FromInt(job)), counter_++);
  }

  rpc::TaskSpec Spec(const ActorID& actor_id, const SpecOptions& options = {}) {
    rpc::TaskSpec spec;
    spec.set_type(rpc::ACTOR_CREATION_TASK);
    spec.set_task_id(TaskID::ForActorCreationTask(actor_id).Binary());
    spec.set_job_id(JobID::FromInt(options.job).Binary());
    spec.set_function_name("module.Counter");
    spec.mutable_caller_address()->set_worker_id(options.owner.Binary());
    spec.mutable_caller_address()->set_node_id(options.owner_node.Binary());
    for (const auto& [name, quantity] : options.resources) {
      (*spec.mutable_required_resources())[name] = quantity;
    }
    rpc::ActorCreationSpec* creation = spec.mutable_actor_creation();
    creation->set_actor_id(actor_id.Binary());
    creation->set_name(options.name);
    creation->set_ray_namespace(options.ray_namespace);
    creation->set_max_restarts(options.max_restarts);
    creation->set_is_detached(options.detached);
    creation->set_class_name("Counter");
    return spec;
  }

  // Registers and asks for creation; the CreateActor answer lands in
  // answers_[actor_id].
  ActorID Create(const SpecOptions& options = {}) {
    ActorID id = NewActorId(options.job);
    rpc::RegisterActorReply reply;
    EXPECT_TRUE(actors_.RegisterActor(Spec(id, options), &reply).ok());
    EXPECT_TRUE(reply.error().empty()) << reply.error();
    EXPECT_TRUE(actors_
                    .CreateActor(id,
                                 [this, id](const absl::Status& status,
                                            const Row& actor) {
                                   EXPECT_TRUE(status.ok()) << status;
                                   answers_[id] = actor;
                                 })
                    .ok());
    return id;
  }

  // Grants the oldest lease request with a new worker; returns it.
  WorkerID GrantLease(int pid = 4242) {
    EXPECT_FALSE(raylets_.leases.empty());
    auto call = raylets_.PopLease();
    WorkerID worker = WorkerID::FromRandom();
    rpc::RequestWorkerLeaseReply reply;
    reply.mutable_worker_address()->set_node_id(call.node.node_id());
    reply.mutable_worker_address()->set_ip_address("127.0.0.1");
    reply.mutable_worker_address()->set_port(pid);
    reply.mutable_worker_address()->set_worker_id(worker.Binary());
    reply.set_lease_id("lease-" + std::to_string(pid));
    reply.set_worker_pid(pid);
    call.callback(absl::OkStatus(), reply);
    return worker;
  }

  // Answers the oldest creation push.
  void ReplyPush(bool application_error = false) {
    ASSERT_FALSE(workers_.pushes.empty());
    auto call = workers_.PopPush();
    rpc::PushTaskReply reply;
    if (application_error) {
      reply.set_is_application_error(true);
      rpc::ReturnObject* error = reply.add_return_objects();
      error->mutable_value()->set_data("pickled ValueError");
      error->mutable_value()->set_metadata("ERROR");
    }
    call.callback(absl::OkStatus(), reply);
  }

  // Create + lease + push reply: an ALIVE actor and its worker.
  std::pair<ActorID, WorkerID> CreateAlive(const SpecOptions& options = {}) {
    ActorID id = Create(options);
    WorkerID worker = GrantLease(next_pid_++);
    ReplyPush();
    EXPECT_EQ(State(id), Row::ALIVE);
    return {id, worker};
  }

  Row::ActorState State(const ActorID& id) {
    auto actor = actors_.GetActor(id);
    EXPECT_TRUE(actor.has_value());
    return actor ? actor->state() : Row::DEAD;
  }

  const Row& LastPublished() { return publisher_.messages.back().actor_data(); }

  InMemoryStoreClient store_;
  FakePublisher publisher_;
  GcsNodeManager nodes_{&store_, &publisher_};
  GcsResourceManager resources_;
  FakeRayletClientPool raylets_;
  FakeCoreWorkerClientPool workers_;
  FakeTimers timers_;
  GcsActorScheduler scheduler_{&nodes_,   &resources_,          &raylets_,
                               &workers_, timers_.AsRunAfter(), {}};
  GcsActorManager actors_{&store_, &publisher_, &scheduler_,
                          timers_.AsRunAfter()};
  NodeID node_id_;
  size_t counter_ = 0;
  int next_pid_ = 1000;
  std::map<ActorID, Row> answers_;
};

TEST_F(GcsActorManagerTest, RegisterCreateLeasePushAlive) {
  ActorID id = NewActorId();
  SpecOptions options;
  options.resources = {{"CPU", 1}};
  rpc::RegisterActorReply reply;
  ASSERT_TRUE(actors_.RegisterActor(Spec(id, options), &reply).ok());
  EXPECT_EQ(State(id), Row::DEPENDENCIES_UNREADY);
  EXPECT_EQ(publisher_.messages.back().channel(), rpc::ACTOR_CHANNEL);
  EXPECT_EQ(publisher_.messages.back().key(), id.Binary());
  Row registered = *actors_.GetActor(id);
  EXPECT_EQ(registered.class_name(), "Counter");
  EXPECT_EQ(registered.job_id(), JobID::FromInt(1).Binary());
  EXPECT_EQ(registered.required_resources().at("CPU"), 1);
  EXPECT_EQ(registered.owner_address().worker_id(), options.owner.Binary());
  EXPECT_TRUE(registered.has_creation_task_spec());
  EXPECT_TRUE(raylets_.leases.empty());

  bool answered = false;
  ASSERT_TRUE(actors_
                  .CreateActor(id,
                               [&](const absl::Status& status, const Row& row) {
                                 EXPECT_TRUE(status.ok());
                                 EXPECT_EQ(row.state(), Row::ALIVE);
                                 answered = true;
                               })
                  .ok());
  EXPECT_EQ(State(id), Row::PENDING_CREATION);
  ASSERT_EQ(raylets_.leases.size(), 1u);
  const rpc::RequestWorkerLeaseRequest& lease = raylets_.leases[0].request;
  EXPECT_TRUE(lease.is_actor_creation());
  EXPECT_EQ(lease.actor_id(), id.Binary());
  EXPECT_EQ(lease.job_id(), JobID::FromInt(1).Binary());
  EXPECT_EQ(lease.required_resources().at("CPU"), 1);
  EXPECT_EQ(raylets_.leases[0].node.node_id(), node_id_.Binary());

  WorkerID worker = GrantLease(777);
  ASSERT_EQ(workers_.pushes.size(), 1u);
  const rpc::PushTaskRequest& push = workers_.pushes[0].request;
  EXPECT_EQ(push.intended_worker_id(), worker.Binary());
  EXPECT_EQ(push.task_spec().type(), rpc::ACTOR_CREATION_TASK);
  EXPECT_EQ(push.task_spec().attempt_number(), 0);
  EXPECT_EQ(workers_.pushes[0].worker.port(), 777);
  EXPECT_FALSE(answered);

  ReplyPush();
  EXPECT_TRUE(answered);
  Row alive = *actors_.GetActor(id);
  EXPECT_EQ(alive.state(), Row::ALIVE);
  EXPECT_EQ(alive.address().worker_id(), worker.Binary());
  EXPECT_EQ(alive.address().port(), 777);
  EXPECT_EQ(alive.pid(), 777);
  EXPECT_EQ(alive.node_id(), node_id_.Binary());
  EXPECT_GT(alive.start_time_ms(), 0);
  // Published without the spec; stored with it.
  EXPECT_EQ(LastPublished().state(), Row::ALIVE);
  EXPECT_FALSE(LastPublished().has_creation_task_spec());
  auto stored = store_.Get(GcsActorManager::kActorTable, id.Binary());
  ASSERT_TRUE(stored.ok() && stored->has_value());
  Row row;
  ASSERT_TRUE(row.ParseFromString(**stored));
  EXPECT_EQ(row.state(), Row::ALIVE);
  EXPECT_TRUE(row.has_creation_task_spec());

  // A later CreateActor answers at once; registering again is a no-op.
  bool again = false;
  ASSERT_TRUE(actors_
                  .CreateActor(id,
                               [&](const absl::Status&, const Row& row) {
                                 again = row.state() == Row::ALIVE;
                               })
                  .ok());
  EXPECT_TRUE(again);
  ASSERT_TRUE(actors_.RegisterActor(Spec(id), &reply).ok());
  EXPECT_EQ(State(id), Row::ALIVE);
  EXPECT_TRUE(raylets_.leases.empty());
}

TEST_F(GcsActorManagerTest, ZeroResourceActorStillGetsALease) {
  auto [id, worker] = CreateAlive();
  EXPECT_TRUE(answers_.at(id).required_resources().empty());
}

TEST_F(GcsActorManagerTest, BadRequests) {
  rpc::RegisterActorReply reply;
  rpc::TaskSpec normal;
  EXPECT_TRUE(absl::IsInvalidArgument(actors_.RegisterActor(normal, &reply)));
  rpc::TaskSpec bad_id = Spec(NewActorId());
  bad_id.mutable_actor_creation()->set_actor_id("x");
  EXPECT_TRUE(absl::IsInvalidArgument(actors_.RegisterActor(bad_id, &reply)));
  EXPECT_TRUE(absl::IsNotFound(
      actors_.CreateActor(NewActorId(), [](const absl::Status&, const Row&) {
        ADD_FAILURE() << "no answer expected";
      })));
  EXPECT_FALSE(actors_.KillActor(NewActorId(), true, true));
}

TEST_F(GcsActorManagerTest, ConstructorErrorIsDeadForGood) {
  SpecOptions options;
  options.max_restarts = 5;
  ActorID id = Create(options);
  WorkerID worker = GrantLease();
  ReplyPush(/*application_error=*/true);
  Row dead = *actors_.GetActor(id);
  EXPECT_EQ(dead.state(), Row::DEAD);
  EXPECT_EQ(dead.creation_error().data(), "pickled ValueError");
  EXPECT_EQ(dead.creation_error().metadata(), "ERROR");
  EXPECT_NE(dead.death_cause().find("constructor"), std::string::npos);
  EXPECT_EQ(dead.num_restarts(), 0);
  EXPECT_EQ(answers_.at(id).state(), Row::DEAD);
  EXPECT_EQ(LastPublished().creation_error().data(), "pickled ValueError");
  // The lease goes back and the worker is stopped.
  ASSERT_EQ(raylets_.returns.size(), 1u);
  EXPECT_EQ(raylets_.returns[0].request.worker_id(), worker.Binary());
  EXPECT_TRUE(raylets_.returns[0].request.disconnect_worker());
  // Its exit changes nothing; no restart is scheduled.
  actors_.OnWorkerDead(worker, node_id_, "signal 15", true);
  EXPECT_EQ(State(id), Row::DEAD);
  EXPECT_TRUE(raylets_.leases.empty());
}

TEST_F(GcsActorManagerTest, WorkerFailureRestartsUpToMaxRestarts) {
  SpecOptions options;
  options.max_restarts = 2;
  auto [id, worker] = CreateAlive(options);
  for (int restart = 1; restart <= 2; ++restart) {
    actors_.OnWorkerDead(worker, node_id_, "exit code 1", false);
    Row restarting = *actors_.GetActor(id);
    EXPECT_EQ(restarting.state(), Row::RESTARTING);
    EXPECT_EQ(restarting.num_restarts(), restart);
    EXPECT_FALSE(restarting.has_address());
    EXPECT_NE(restarting.death_cause().find("exit code 1"), std::string::npos);
    EXPECT_EQ(LastPublished().state(), Row::RESTARTING);
    worker = GrantLease(2000 + restart);
    ASSERT_EQ(workers_.pushes.size(), 1u);
    EXPECT_EQ(workers_.pushes[0].request.task_spec().attempt_number(), restart);
    ReplyPush();
    Row alive = *actors_.GetActor(id);
    EXPECT_EQ(alive.state(), Row::ALIVE);
    EXPECT_EQ(alive.pid(), 2000 + restart);
  }
  actors_.OnWorkerDead(worker, node_id_, "signal 9", false);
  Row dead = *actors_.GetActor(id);
  EXPECT_EQ(dead.state(), Row::DEAD);
  EXPECT_EQ(dead.num_restarts(), 2);
  EXPECT_NE(dead.death_cause().find(
                "The actor is dead because its worker process has died. Worker exit detail: signal 9"),
            std::string::npos);
  EXPECT_FALSE(dead.intended_death());
  EXPECT_TRUE(raylets_.leases.empty());
}

TEST_F(GcsActorManagerTest, NoRestartsMeansDeadOnFirstFailure) {
  auto [id, worker] = CreateAlive();
  actors_.OnWorkerDead(worker, node_id_, "exit code 1", false);
  EXPECT_EQ(State(id), Row::DEAD);
  // A failure report for an unrelated worker changes nothing.
  actors_.OnWorkerDead(WorkerID::FromRandom(), node_id_, "exit code 0", true);
  EXPECT_EQ(State(id), Row::DEAD);
}

TEST_F(GcsActorManagerTest, InfiniteRestarts) {
  SpecOptions options;
  options.max_restarts = -1;
  auto [id, worker] = CreateAlive(options);
  for (int i = 0; i < 5; ++i) {
    actors_.OnWorkerDead(worker, node_id_, "crash", false);
    worker = GrantLease(3000 + i);
    ReplyPush();
  }
  EXPECT_EQ(State(id), Row::ALIVE);
  EXPECT_EQ(actors_.GetActor(id)->num_restarts(), 5);
}

TEST_F(GcsActorManagerTest, WorkerDeathDuringConstructorCountsAsFailure) {
  SpecOptions options;
  options.max_restarts = 1;
  ActorID id = Create(options);
  WorkerID worker = GrantLease();
  // The push fails (the worker died) and the raylet reports it too: one
  // restart, not two.
  auto push = workers_.PopPush();
  push.callback(absl::UnavailableError("connection reset"),
                rpc::PushTaskReply());
  EXPECT_EQ(State(id), Row::RESTARTING);
  ASSERT_EQ(raylets_.kills.size(), 1u);  // Made sure it is gone.
  actors_.OnWorkerDead(worker, node_id_, "signal 9", false);
  EXPECT_EQ(actors_.GetActor(id)->num_restarts(), 1);
  EXPECT_EQ(State(id), Row::RESTARTING);
  GrantLease();
  ReplyPush();
  EXPECT_EQ(State(id), Row::ALIVE);
  EXPECT_EQ(answers_.at(id).state(), Row::ALIVE);
}

TEST_F(GcsActorManagerTest, KillWithoutRestartIsDeadAtOnce) {
  SpecOptions options;
  options.max_restarts = 3;
  auto [id, worker] = CreateAlive(options);
  ASSERT_TRUE(actors_.KillActor(id, /*force_kill=*/true, /*no_restart=*/true));
  Row dead = *actors_.GetActor(id);
  EXPECT_EQ(dead.state(), Row::DEAD);
  EXPECT_TRUE(dead.intended_death());
  EXPECT_EQ(dead.death_cause(), kActorKilledCause);
  ASSERT_EQ(workers_.kill_actors.size(), 1u);
  EXPECT_TRUE(workers_.kill_actors[0].request.force_kill());
  EXPECT_EQ(workers_.kill_actors[0].request.actor_id(), id.Binary());
  // The worker has not exited by the grace period: its raylet kills it.
  ASSERT_EQ(timers_.pending.size(), 1u);
  timers_.FireAll();
  ASSERT_EQ(raylets_.kills.size(), 1u);
  EXPECT_EQ(raylets_.kills[0].request.worker_id(), worker.Binary());
  actors_.OnWorkerDead(worker, node_id_, "signal 9", true);
  EXPECT_EQ(State(id), Row::DEAD);
  EXPECT_TRUE(raylets_.leases.empty());
  // Killing a dead actor is a no-op that still finds it.
  EXPECT_TRUE(actors_.KillActor(id, true, true));
  EXPECT_EQ(workers_.kill_actors.size(), 1u);
}

TEST_F(GcsActorManagerTest, WorkerThatExitsInTimeIsNotKilled) {
  auto [id, worker] = CreateAlive();
  ASSERT_TRUE(actors_.KillActor(id, /*force_kill=*/false, /*no_restart=*/true));
  EXPECT_FALSE(workers_.kill_actors[0].request.force_kill());
  actors_.OnWorkerDead(worker, node_id_, "exit code 0", false);
  timers_.FireAll();
  EXPECT_TRUE(raylets_.kills.empty());
}

TEST_F(GcsActorManagerTest, KillWithRestartRestartsWhileRestartsRemain) {
  SpecOptions options;
  options.max_restarts = 1;
  auto [id, worker] = CreateAlive(options);
  ASSERT_TRUE(actors_.KillActor(id, /*force_kill=*/true, /*no_restart=*/false));
  EXPECT_EQ(State(id), Row::ALIVE);  // Until the worker exits.
  ASSERT_EQ(workers_.kill_actors.size(), 1u);
  actors_.OnWorkerDead(worker, node_id_, "exit code 0", false);
  EXPECT_EQ(State(id), Row::RESTARTING);
  EXPECT_EQ(actors_.GetActor(id)->death_cause(), kActorKilledCause);
  worker = GrantLease();
  ReplyPush();
  EXPECT_EQ(State(id), Row::ALIVE);
  // No restarts left: the next kill ends it.
  ASSERT_TRUE(actors_.KillActor(id, true, false));
  actors_.OnWorkerDead(worker, node_id_, "exit code 0", false);
  Row dead = *actors_.GetActor(id);
  EXPECT_EQ(dead.state(), Row::DEAD);
  EXPECT_NE(dead.death_cause().find("killed by `comet.kill`"), std::string::npos);
}

TEST_F(GcsActorManagerTest, PendingActorKilledIsNeverCreated) {
  ActorID id = Create();
  ASSERT_TRUE(actors_.KillActor(id, false, /*no_restart=*/true));
  EXPECT_EQ(State(id), Row::DEAD);
  EXPECT_EQ(answers_.at(id).state(), Row::DEAD);
  // The lease granted afterwards goes straight back.
  WorkerID worker = GrantLease();
  EXPECT_TRUE(workers_.pushes.empty());
  ASSERT_EQ(raylets_.returns.size(), 1u);
  EXPECT_EQ(raylets_.returns[0].request.worker_id(), worker.Binary());
  EXPECT_TRUE(raylets_.returns[0].request.disconnect_worker());
}

TEST_F(GcsActorManagerTest, ActorKilledInItsConstructorHasItsWorkerKilled) {
  ActorID id = Create();
  WorkerID worker = GrantLease();
  ASSERT_TRUE(actors_.KillActor(id, false, /*no_restart=*/true));
  EXPECT_EQ(State(id), Row::DEAD);
  ASSERT_EQ(raylets_.kills.size(), 1u);
  EXPECT_EQ(raylets_.kills[0].request.worker_id(), worker.Binary());
  // The push's late success changes nothing.
  ReplyPush();
  EXPECT_EQ(State(id), Row::DEAD);
}

TEST_F(GcsActorManagerTest, NamesAreUniquePerNamespaceUntilDeath) {
  SpecOptions named;
  named.name = "counter";
  auto [first, worker] = CreateAlive(named);
  EXPECT_EQ(actors_.GetNamedActor("counter", "ns")->actor_id(), first.Binary());
  EXPECT_TRUE(actors_.GetNamedActor("counter", "other").has_value() == false);

  ActorID second = NewActorId();
  rpc::RegisterActorReply reply;
  ASSERT_TRUE(actors_.RegisterActor(Spec(second, named), &reply).ok());
  EXPECT_EQ(reply.error(),
            "Actor name 'counter' already taken in namespace 'ns'");
  EXPECT_EQ(reply.existing().actor_id(), first.Binary());
  EXPECT_EQ(reply.existing().state(), Row::ALIVE);
  EXPECT_FALSE(actors_.GetActor(second).has_value());

  // Another namespace may use the name.
  SpecOptions elsewhere = named;
  elsewhere.ray_namespace = "other";
  ActorID third = NewActorId();
  rpc::RegisterActorReply ok;
  ASSERT_TRUE(actors_.RegisterActor(Spec(third, elsewhere), &ok).ok());
  EXPECT_TRUE(ok.error().empty());
  EXPECT_EQ(actors_.ListNamedActors("ns", false).size(), 1u);
  EXPECT_EQ(actors_.ListNamedActors("", true).size(), 2u);
  EXPECT_FALSE(actors_.ListNamedActors("", true)[0].has_creation_task_spec());

  // Once the first is dead its name is free again.
  actors_.OnWorkerDead(worker, node_id_, "crash", false);
  EXPECT_FALSE(actors_.GetNamedActor("counter", "ns").has_value());
  rpc::RegisterActorReply reused;
  ASSERT_TRUE(actors_.RegisterActor(Spec(second, named), &reused).ok());
  EXPECT_TRUE(reused.error().empty());
  EXPECT_EQ(actors_.GetNamedActor("counter", "ns")->actor_id(),
            second.Binary());
  EXPECT_EQ(actors_.ListNamedActors("ns", false).size(), 1u);
}

TEST_F(GcsActorManagerTest, FinishedJobKillsItsActorsButNotDetachedOnes) {
  auto [owned, owned_worker] = CreateAlive();
  SpecOptions detached;
  detached.detached = true;
  auto [kept, kept_worker] = CreateAlive(detached);
  SpecOptions other_job;
  other_job.job = 2;
  auto [other, other_worker] = CreateAlive(other_job);
  ActorID pending = Create();

  actors_.OnJobFinished(JobID::FromInt(1));
  Row dead = *actors_.GetActor(owned);
  EXPECT_EQ(dead.state(), Row::DEAD);
  EXPECT_EQ(dead.death_cause(), kActorJobFinishedCause);
  EXPECT_TRUE(dead.intended_death());
  EXPECT_EQ(State(pending), Row::DEAD);
  EXPECT_EQ(State(kept), Row::ALIVE);
  EXPECT_EQ(State(other), Row::ALIVE);
  ASSERT_EQ(workers_.kill_actors.size(), 1u);
  EXPECT_EQ(workers_.kill_actors[0].request.actor_id(), owned.Binary());
}

TEST_F(GcsActorManagerTest, OwnerWorkerDeathKillsItsActors) {
  WorkerID owner = WorkerID::FromRandom();
  SpecOptions options;
  options.owner = owner;
  options.max_restarts = -1;
  auto [child, child_worker] = CreateAlive(options);
  SpecOptions detached = options;
  detached.detached = true;
  auto [kept, kept_worker] = CreateAlive(detached);
  actors_.OnWorkerDead(owner, node_id_, "exit code 1", false);
  EXPECT_EQ(State(child), Row::DEAD);
  EXPECT_NE(actors_.GetActor(child)->death_cause().find("its owner has died"),
            std::string::npos);
  EXPECT_EQ(State(kept), Row::ALIVE);
}

TEST_F(GcsActorManagerTest, NodeDeathFailsItsActorsAndReschedules) {
  NodeID second = NodeID::FromRandom();
  ASSERT_TRUE(nodes_.RegisterNode(Node(second, 4)).ok());
  SpecOptions options;
  options.max_restarts = 1;
  options.owner_node = second;  // Its owner runs elsewhere.
  ActorID id = Create(options);
  while (raylets_.leases.front().node.node_id() != node_id_.Binary()) {
    // Make it land on the first node: answer others with a rejection.
    auto call = raylets_.PopLease();
    rpc::RequestWorkerLeaseReply rejected;
    rejected.set_rejected(true);
    call.callback(absl::OkStatus(), rejected);
    timers_.FireAll();
  }
  GrantLease();
  ReplyPush();
  ASSERT_EQ(State(id), Row::ALIVE);

  ASSERT_TRUE(nodes_.MarkNodeDead(node_id_, "missed health checks").ok());
  actors_.OnNodeDead(node_id_, "missed health checks");
  Row restarting = *actors_.GetActor(id);
  EXPECT_EQ(restarting.state(), Row::RESTARTING);
  EXPECT_NE(restarting.death_cause().find("its node has died"), std::string::npos);
  ASSERT_EQ(raylets_.leases.size(), 1u);
  EXPECT_EQ(raylets_.leases[0].node.node_id(), second.Binary());
  GrantLease();
  ReplyPush();
  EXPECT_EQ(State(id), Row::ALIVE);

  // The owner's node dies: the actor dies with it, for good.
  ASSERT_TRUE(nodes_.MarkNodeDead(second, "gone").ok());
  actors_.OnNodeDead(second, "gone");
  EXPECT_EQ(State(id), Row::DEAD);
}

TEST_F(GcsActorManagerTest, ActorWaitsForAFittingNode) {
  SpecOptions big;
  big.resources = {{"GPU", 1}};
  ActorID id = Create(big);
  EXPECT_TRUE(raylets_.leases.empty());
  EXPECT_EQ(State(id), Row::PENDING_CREATION);
  timers_.FireAll();  // Retried: still nothing.
  EXPECT_TRUE(raylets_.leases.empty());
  NodeID gpu_node = NodeID::FromRandom();
  rpc::NodeInfo node = Node(gpu_node, 1);
  (*node.mutable_total_resources()->mutable_quantities())["GPU"] = 1;
  resources_.OnNodeAdded(node);
  ASSERT_TRUE(nodes_.RegisterNode(node).ok());
  scheduler_.OnNodeAdded();
  ASSERT_EQ(raylets_.leases.size(), 1u);
  EXPECT_EQ(raylets_.leases[0].node.node_id(), gpu_node.Binary());
}

TEST_F(GcsActorManagerTest, QueriesFilterByJobAndState) {
  auto [alive, worker] = CreateAlive();
  SpecOptions other_job;
  other_job.job = 2;
  ActorID pending = Create(other_job);
  EXPECT_EQ(actors_.GetAllActors("", false).size(), 2u);
  EXPECT_EQ(actors_.GetAllActors("", true).size(), 1u);
  auto job2 = actors_.GetAllActors(JobID::FromInt(2).Binary(), false);
  ASSERT_EQ(job2.size(), 1u);
  EXPECT_EQ(job2[0].actor_id(), pending.Binary());
  EXPECT_FALSE(job2[0].has_creation_task_spec());
  EXPECT_TRUE(actors_.GetActor(alive)->has_creation_task_spec());
}

TEST_F(GcsActorManagerTest, ShutdownAnswersWaitingCreates) {
  ActorID id = NewActorId();
  rpc::RegisterActorReply reply;
  ASSERT_TRUE(actors_.RegisterActor(Spec(id), &reply).ok());
  absl::Status answer;
  ASSERT_TRUE(actors_
                  .CreateActor(id, [&](const absl::Status& status,
                                       const Row&) { answer = status; })
                  .ok());
  actors_.Shutdown();
  EXPECT_TRUE(absl::IsUnavailable(answer));
}

TEST_F(GcsActorManagerTest, TableSurvivesARestartOnTheSameStore) {
  SpecOptions named;
  named.name = "keeper";
  named.max_restarts = 1;
  auto [alive, worker] = CreateAlive(named);
  auto [dead, dead_worker] = CreateAlive();
  actors_.OnWorkerDead(dead_worker, node_id_, "crash", false);
  ActorID pending = Create();
  raylets_.leases.clear();

  FakeRayletClientPool raylets;
  FakeCoreWorkerClientPool workers;
  GcsActorScheduler scheduler(&nodes_, &resources_, &raylets, &workers,
                              timers_.AsRunAfter(), {});
  GcsActorManager restarted(&store_, &publisher_, &scheduler,
                            timers_.AsRunAfter());
  ASSERT_TRUE(restarted.Initialize().ok());
  EXPECT_EQ(restarted.GetActor(alive)->state(), Row::ALIVE);
  EXPECT_EQ(restarted.GetNamedActor("keeper", "ns")->actor_id(),
            alive.Binary());
  EXPECT_EQ(restarted.GetActor(dead)->state(), Row::DEAD);
  // The pending one is scheduled again; the alive one's worker is known.
  ASSERT_EQ(raylets.leases.size(), 1u);
  EXPECT_EQ(raylets.leases[0].request.actor_id(), pending.Binary());
  restarted.OnWorkerDead(worker, node_id_, "crash", false);
  EXPECT_EQ(restarted.GetActor(alive)->state(), Row::RESTARTING);
}

TEST_F(GcsActorManagerTest, OldDeadActorsAreDropped) {
  FakeRayletClientPool raylets;
  FakeCoreWorkerClientPool workers;
  GcsActorScheduler scheduler(&nodes_, &resources_, &raylets, &workers,
                              timers_.AsRunAfter(), {});
  GcsActorManagerOptions options;
  options.max_dead_actors = 2;
  GcsActorManager small(&store_, &publisher_, &scheduler, timers_.AsRunAfter(),
                        options);
  std::vector<ActorID> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(NewActorId());
    rpc::RegisterActorReply reply;
    ASSERT_TRUE(small.RegisterActor(Spec(ids.back()), &reply).ok());
    ASSERT_TRUE(small.KillActor(ids.back(), true, true));
  }
  EXPECT_FALSE(small.GetActor(ids[0]).has_value());
  EXPECT_FALSE(*store_.Exists(GcsActorManager::kActorTable, ids[0].Binary()));
  EXPECT_EQ(small.GetActor(ids[2])->state(), Row::DEAD);
}

}  // namespace
}  // namespace comet::gcs
