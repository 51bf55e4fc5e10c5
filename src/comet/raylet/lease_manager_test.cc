#include "src/comet/raylet/lease_manager.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace comet::raylet {
namespace {

const JobID kJobA = JobID::FromInt(1);
const JobID kJobB = JobID::FromInt(2);

ResourceSet Make(const std::map<std::string, double>& quantities) {
  return *ResourceSet::FromDoubles(quantities);
}

// Workers without processes: registered ones sit in `idle`, starts are
// counted, and the test decides when a started worker registers.
class FakeWorkerPool : public WorkerPoolInterface {
 public:
  struct Worker {
    LeasedWorker info;
    JobID job_id;
    std::string env_hash;
    std::optional<bool> uses_gpu;
  };

  std::optional<LeasedWorker> PopIdleWorker(const JobID& job_id, const std::string& env_hash,
                                            bool uses_gpu, absl::Time) override {
    for (int pass = 0; pass < 2; ++pass) {
      for (auto it = idle.begin(); it != idle.end(); ++it) {
        bool match = (pass == 0 ? it->job_id == job_id : it->job_id.IsNil()) &&
                     it->env_hash == env_hash && it->uses_gpu.value_or(uses_gpu) == uses_gpu;
        if (!match) continue;
        Worker worker = *it;
        idle.erase(it);
        worker.job_id = job_id;
        worker.uses_gpu = uses_gpu;
        leased[worker.info.worker_id] = worker;
        return worker.info;
      }
    }
    return std::nullopt;
  }
  void PushIdleWorker(const WorkerID& worker_id, absl::Time) override {
    idle.push_back(leased.at(worker_id));
    leased.erase(worker_id);
  }
  void DisconnectWorker(const WorkerID& worker_id) override {
    disconnected.insert(worker_id);
    leased.erase(worker_id);
  }
  size_t NumStartingWorkers(const std::string& env_hash) const override {
    auto it = starting_by_env.find(env_hash);
    return it == starting_by_env.end() ? 0 : it->second;
  }
  absl::Status StartWorker(absl::Time, const WorkerEnv& env) override {
    if (fail_starts) return absl::UnavailableError("backoff");
    ++starting;
    ++starting_by_env[env.hash];
    ++total_starts;
    return absl::OkStatus();
  }

  // A started worker (of runtime_env `env_hash`) registers.
  WorkerID Register(const std::string& env_hash = "") {
    if (starting > 0) --starting;
    if (starting_by_env[env_hash] > 0) --starting_by_env[env_hash];
    Worker worker;
    worker.env_hash = env_hash;
    worker.info.worker_id = WorkerID::FromRandom();
    worker.info.port = next_port++;
    idle.push_back(worker);
    return worker.info.worker_id;
  }

  std::vector<Worker> idle;
  std::map<WorkerID, Worker> leased;
  std::set<WorkerID> disconnected;
  size_t starting = 0;
  std::map<std::string, size_t> starting_by_env;
  size_t total_starts = 0;
  bool fail_starts = false;
  int next_port = 9000;
};

class LeaseManagerTest : public ::testing::Test {
 protected:
  void Init(const std::map<std::string, double>& total,
            size_t max_starting = 4) {
    resources_ = std::make_unique<LocalResourceManager>(Make(total));
    LeaseManagerOptions options;
    options.max_starting_workers = max_starting;
    leases_ = std::make_unique<LeaseManager>(resources_.get(), &pool_, options);
  }

  // Queues a request whose outcome lands in outcomes_[name].
  LeaseManager::RequestId Request(const std::string& name,
                                  const std::map<std::string, double>& demand,
                                  const JobID& job = kJobA,
                                  const std::string& scheduling_class = "",
                                  const std::string& env_hash = "") {
    LeaseRequest request;
    request.env.hash = env_hash;
    request.demand = Make(demand);
    request.job_id = job;
    request.task_id = name;
    request.scheduling_class = scheduling_class;
    return leases_->RequestLease(
        request,
        [this, name](const LeaseOutcome& outcome) {
          outcomes_[name] = outcome;
          order_.push_back(name);
          return requester_alive_;
        },
        now_);
  }

  const LeaseGrant& GrantOf(const std::string& name) {
    EXPECT_TRUE(outcomes_.count(name)) << name << " not answered";
    EXPECT_TRUE(outcomes_[name].grant) << name << " not granted";
    return *outcomes_[name].grant;
  }

  void Return(const std::string& name, bool disconnect = false) {
    const LeaseGrant& grant = GrantOf(name);
    ASSERT_TRUE(leases_
                    ->ReturnWorker(grant.worker.worker_id, grant.lease_id,
                                   disconnect, now_)
                    .ok());
  }

  // Registers a worker and lets the manager hand it out.
  void RegisterWorker() {
    pool_.Register();
    leases_->Schedule(now_);
  }

  absl::Time now_ = absl::FromUnixSeconds(1000);
  FakeWorkerPool pool_;
  std::unique_ptr<LocalResourceManager> resources_;
  std::unique_ptr<LeaseManager> leases_;
  std::map<std::string, LeaseOutcome> outcomes_;
  std::vector<std::string> order_;
  bool requester_alive_ = true;
};

TEST_F(LeaseManagerTest, GrantsAnIdleWorkerRightAway) {
  Init({{"CPU", 2}});
  pool_.Register();
  Request("t1", {{"CPU", 1}});
  const LeaseGrant& grant = GrantOf("t1");
  EXPECT_EQ(grant.worker.port, 9000);
  EXPECT_EQ(grant.lease_id.size(), 16u);
  EXPECT_EQ(resources_->available(), Make({{"CPU", 1}}));
  EXPECT_EQ(leases_->NumActiveLeases(), 1u);
  EXPECT_EQ(pool_.total_starts, 0u);
}

TEST_F(LeaseManagerTest, FindsLeasesByRequesterPidNodeAndWorker) {
  Init({{"CPU", 4}});
  NodeID remote = NodeID::FromRandom();
  WorkerID remote_worker = WorkerID::FromRandom();
  auto request = [&](const std::string& name, const LeaseRequester& requester,
                     bool dedicated = false) {
    pool_.Register();
    LeaseRequest r;
    r.demand = Make({{"CPU", 1}});
    r.job_id = kJobA;
    r.task_id = name;
    r.requester = requester;
    r.dedicated = dedicated;
    leases_->RequestLease(r, [this, name](const LeaseOutcome& o) {
      outcomes_[name] = o;
      return true;
    }, now_);
  };
  request("local", {4242, NodeID::FromRandom(), WorkerID::FromRandom()});
  request("remote", {0, remote, remote_worker});
  // An actor's worker, asked for by the GCS for a requester on `remote`.
  request("actor", {0, remote, remote_worker}, /*dedicated=*/true);
  auto dead = leases_->LeasesOfGoneRequesters(
      [](const LeaseRequester& r) { return r.pid == 4242; });
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0], GrantOf("local").worker.worker_id);
  auto on_remote = leases_->LeasesOfGoneRequesters(
      [&](const LeaseRequester& r) { return r.node == remote; });
  ASSERT_EQ(on_remote.size(), 1u);
  EXPECT_EQ(on_remote[0], GrantOf("remote").worker.worker_id);
  auto of_worker = leases_->LeasesOfGoneRequesters(
      [&](const LeaseRequester& r) { return r.worker == remote_worker; });
  ASSERT_EQ(of_worker.size(), 1u);
  EXPECT_EQ(of_worker[0], GrantOf("remote").worker.worker_id);
  // Every requester's node and worker were recorded: none is nil.
  EXPECT_TRUE(leases_
                  ->LeasesOfGoneRequesters([](const LeaseRequester& r) {
                    return r.node.IsNil() || r.worker.IsNil();
                  })
                  .empty());
}

TEST_F(LeaseManagerTest, StartsAWorkerAndGrantsWhenItRegisters) {
  Init({{"CPU", 2}});
  Request("t1", {{"CPU", 1}});
  EXPECT_TRUE(outcomes_.empty());
  EXPECT_EQ(pool_.starting, 1u);
  EXPECT_EQ(leases_->NumPendingLeases(), 1u);
  // Resources are held while the worker starts.
  EXPECT_EQ(resources_->available(), Make({{"CPU", 1}}));
  leases_->Schedule(now_);  // Nothing new: no second start.
  EXPECT_EQ(pool_.total_starts, 1u);
  RegisterWorker();
  GrantOf("t1");
  EXPECT_EQ(leases_->NumPendingLeases(), 0u);
}

TEST_F(LeaseManagerTest, QueuesFifoUntilResourcesFree) {
  Init({{"CPU", 1}});
  for (int i = 0; i < 3; ++i) pool_.Register();
  Request("t1", {{"CPU", 1}});
  Request("t2", {{"CPU", 1}});
  Request("t3", {{"CPU", 1}});
  EXPECT_EQ(order_, std::vector<std::string>{"t1"});
  EXPECT_EQ(leases_->NumPendingLeases(), 2u);
  Return("t1");
  EXPECT_EQ(order_, (std::vector<std::string>{"t1", "t2"}));
  Return("t2");
  Return("t3");
  EXPECT_EQ(order_, (std::vector<std::string>{"t1", "t2", "t3"}));
  EXPECT_EQ(resources_->available(), resources_->total());
  EXPECT_EQ(pool_.total_starts, 0u);
}

TEST_F(LeaseManagerTest, RejectsTheQueuedRequestsThatMatch) {
  Init({{"CPU", 1}, {"GPU", 1}});
  for (int i = 0; i < 3; ++i) pool_.Register();
  Request("running", {{"CPU", 1}});
  Request("cpu", {{"CPU", 1}});
  Request("gpu", {{"GPU", 2}});  // Infeasible: queued forever, until rejected.
  LeaseOutcome removed;
  removed.failure_message = "gone";
  removed.placement_group_removed = true;
  size_t rejected = leases_->RejectMatching(
      [](const LeaseRequest& request) { return request.demand.Has("GPU"); }, removed, now_);
  EXPECT_EQ(rejected, 1u);
  ASSERT_TRUE(outcomes_.count("gpu"));
  EXPECT_FALSE(outcomes_["gpu"].grant);
  EXPECT_TRUE(outcomes_["gpu"].placement_group_removed);
  EXPECT_FALSE(outcomes_.count("cpu"));  // Still waiting for the CPU.
  Return("running");
  EXPECT_TRUE(GrantOf("cpu").lease_id.size() > 0);
}

TEST_F(LeaseManagerTest, SchedulingClassesTakeTurns) {
  Init({{"CPU", 1}});
  for (int i = 0; i < 5; ++i) pool_.Register();
  Request("first", {{"CPU", 1}}, kJobA, "f");
  Request("a1", {{"CPU", 1}}, kJobA, "a");
  Request("a2", {{"CPU", 1}}, kJobA, "a");
  Request("a3", {{"CPU", 1}}, kJobA, "a");
  Request("b1", {{"CPU", 1}}, kJobA, "b");
  for (const char* name : {"first", "a1", "b1", "a2"}) Return(name);
  EXPECT_EQ(order_,
            (std::vector<std::string>{"first", "a1", "b1", "a2", "a3"}));
}

TEST_F(LeaseManagerTest, AStuckClassDoesNotBlockOthers) {
  Init({{"CPU", 2}, {"GPU", 1}});
  for (int i = 0; i < 3; ++i) pool_.Register();
  Request("gpu1", {{"GPU", 1}});
  Request("gpu2", {{"GPU", 1}});
  Request("cpu", {{"CPU", 1}});
  EXPECT_EQ(order_, (std::vector<std::string>{"gpu1", "cpu"}));
}

TEST_F(LeaseManagerTest, InfeasibleRequestsWaitForever) {
  Init({{"CPU", 2}, {"GPU", 1}});
  pool_.Register();
  Request("huge", {{"CPU", 3}});
  Request("custom", {{"TPU", 1}});
  Request("huge2", {{"CPU", 3}});
  Request("ok", {{"CPU", 1}});
  EXPECT_FALSE(outcomes_.count("huge"));
  GrantOf("ok");
  EXPECT_EQ(leases_->NumInfeasibleLeases(), 3u);
  EXPECT_EQ(leases_->NumPendingLeases(), 0u);
  std::vector<ResourceSet> infeasible = leases_->InfeasibleDemands();
  ASSERT_EQ(infeasible.size(), 3u);
  EXPECT_EQ(infeasible[0], Make({{"CPU", 3}}));
  EXPECT_EQ(infeasible[1], Make({{"TPU", 1}}));
  EXPECT_EQ(leases_->PendingDemands(10).size(), 3u);
  EXPECT_EQ(leases_->PendingDemands(2).size(), 2u);
  // Returns and schedules leave them alone; only cancel answers them.
  Return("ok");
  leases_->Schedule(now_);
  EXPECT_FALSE(outcomes_.count("huge"));
  EXPECT_EQ(pool_.total_starts, 0u);
  EXPECT_TRUE(leases_->CancelByTaskId("huge", now_));
  ASSERT_TRUE(outcomes_.count("huge"));
  EXPECT_FALSE(outcomes_["huge"].grant);
  EXPECT_FALSE(outcomes_["huge"].failure_message.empty());
  EXPECT_EQ(leases_->NumInfeasibleLeases(), 2u);
}

TEST_F(LeaseManagerTest, PendingDemandsListWaitingRequests) {
  Init({{"CPU", 1}});
  pool_.Register();
  uint64_t version = leases_->demand_version();
  Request("t1", {{"CPU", 1}});
  Request("t2", {{"CPU", 1}});
  EXPECT_NE(leases_->demand_version(), version);
  std::vector<ResourceSet> pending = leases_->PendingDemands(10);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0], Make({{"CPU", 1}}));
}

TEST_F(LeaseManagerTest, CancelFreesHeldResources) {
  Init({{"CPU", 1}});
  Request("t1", {{"CPU", 1}});  // Holds the CPU while a worker starts.
  Request("t2", {{"CPU", 1}});
  EXPECT_EQ(resources_->available(), Make({}));
  EXPECT_TRUE(leases_->CancelByTaskId("t1", now_));
  EXPECT_FALSE(outcomes_.at("t1").grant);
  // t2 now holds the CPU and takes the starting worker.
  RegisterWorker();
  GrantOf("t2");
  EXPECT_FALSE(leases_->CancelByTaskId("t2", now_));  // Already granted.
  EXPECT_FALSE(leases_->CancelByTaskId("nope", now_));
}

TEST_F(LeaseManagerTest, CancelledRpcDropsItsRequest) {
  Init({{"CPU", 1}});
  pool_.Register();
  Request("t1", {{"CPU", 1}});
  auto id = Request("t2", {{"CPU", 1}});
  leases_->CancelRequest(id, "client went away", now_);
  EXPECT_EQ(outcomes_.at("t2").failure_message, "client went away");
  leases_->CancelRequest(id, "again", now_);  // No-op.
  Return("t1");
  EXPECT_EQ(leases_->NumPendingLeases(), 0u);
}

TEST_F(LeaseManagerTest, ReturnChecksTheLeaseId) {
  Init({{"CPU", 1}});
  pool_.Register();
  Request("t1", {{"CPU", 1}});
  const LeaseGrant& grant = GrantOf("t1");
  EXPECT_TRUE(absl::IsFailedPrecondition(leases_->ReturnWorker(
      grant.worker.worker_id, "stale-lease-id!!", false, now_)));
  EXPECT_EQ(leases_->NumActiveLeases(), 1u);
  EXPECT_TRUE(absl::IsNotFound(
      leases_->ReturnWorker(WorkerID::FromRandom(), "", false, now_)));
  // An empty lease id matches any lease of the worker.
  EXPECT_TRUE(
      leases_->ReturnWorker(grant.worker.worker_id, "", false, now_).ok());
  EXPECT_EQ(pool_.idle.size(), 1u);
}

TEST_F(LeaseManagerTest, DisconnectingReturnStopsTheWorker) {
  Init({{"CPU", 1}});
  pool_.Register();
  Request("t1", {{"CPU", 1}});
  WorkerID worker_id = GrantOf("t1").worker.worker_id;
  Return("t1", /*disconnect=*/true);
  EXPECT_EQ(pool_.disconnected.count(worker_id), 1u);
  EXPECT_TRUE(pool_.idle.empty());
  EXPECT_EQ(resources_->available(), resources_->total());
}

TEST_F(LeaseManagerTest, DeadLeasedWorkerFreesItsResources) {
  Init({{"CPU", 1}});
  pool_.Register();
  Request("t1", {{"CPU", 1}});
  Request("t2", {{"CPU", 1}});
  WorkerID worker_id = GrantOf("t1").worker.worker_id;
  pool_.leased.erase(worker_id);
  leases_->OnWorkerDied(worker_id, now_);
  EXPECT_EQ(leases_->NumActiveLeases(), 0u);
  // t2 got the CPU and a worker is being started for it.
  EXPECT_EQ(pool_.starting, 1u);
  RegisterWorker();
  GrantOf("t2");
}

TEST_F(LeaseManagerTest, WorkersAreReusedOnlyWithinAJob) {
  Init({{"CPU", 2}});
  pool_.Register();
  Request("a", {{"CPU", 1}}, kJobA);
  Return("a");
  Request("b", {{"CPU", 1}}, kJobB);
  EXPECT_FALSE(outcomes_.count("b"));
  EXPECT_EQ(pool_.starting, 1u);
  Request("a2", {{"CPU", 1}}, kJobA);
  EXPECT_EQ(GrantOf("a2").worker.worker_id, GrantOf("a").worker.worker_id);
  RegisterWorker();
  EXPECT_NE(GrantOf("b").worker.worker_id, GrantOf("a").worker.worker_id);
}

TEST_F(LeaseManagerTest, GpuLeasesGetWorkersOfTheirOwn) {
  Init({{"CPU", 2}, {"GPU", 1}});
  pool_.Register();
  Request("cpu", {{"CPU", 1}});
  Return("cpu");
  // The only idle worker ran CPU work: a GPU lease starts another.
  Request("gpu", {{"GPU", 1}});
  EXPECT_FALSE(outcomes_.count("gpu"));
  EXPECT_EQ(pool_.starting, 1u);
  RegisterWorker();
  EXPECT_NE(GrantOf("gpu").worker.worker_id, GrantOf("cpu").worker.worker_id);
  Return("gpu");
  Request("gpu2", {{"GPU", 1}});
  EXPECT_EQ(GrantOf("gpu2").worker.worker_id, GrantOf("gpu").worker.worker_id);
  Request("cpu2", {{"CPU", 1}});
  EXPECT_EQ(GrantOf("cpu2").worker.worker_id, GrantOf("cpu").worker.worker_id);
}

TEST_F(LeaseManagerTest, WorkerStartsAreCapped) {
  Init({}, /*max_starting=*/2);
  for (int i = 0; i < 5; ++i) Request(absl::StrCat("t", i), {});
  EXPECT_EQ(pool_.starting, 2u);
  RegisterWorker();
  EXPECT_EQ(order_.size(), 1u);
  EXPECT_EQ(pool_.starting, 2u);
  EXPECT_EQ(pool_.total_starts, 3u);
}

TEST_F(LeaseManagerTest, FailedStartsAreRetriedOnLaterSchedules) {
  Init({{"CPU", 1}});
  pool_.fail_starts = true;
  Request("t1", {{"CPU", 1}});
  EXPECT_EQ(pool_.starting, 0u);
  pool_.fail_starts = false;
  leases_->Schedule(now_);
  EXPECT_EQ(pool_.starting, 1u);
}

TEST_F(LeaseManagerTest, GrantToAVanishedRequesterIsUndone) {
  Init({{"CPU", 1}});
  pool_.Register();
  requester_alive_ = false;
  Request("gone", {{"CPU", 1}});
  ASSERT_TRUE(outcomes_.count("gone"));
  EXPECT_EQ(leases_->NumActiveLeases(), 0u);
  EXPECT_EQ(resources_->available(), resources_->total());
  EXPECT_EQ(pool_.idle.size(), 1u);
  requester_alive_ = true;
  Request("next", {{"CPU", 1}});
  GrantOf("next");
}

TEST_F(LeaseManagerTest, FractionalGpuLeasesShareOneInstance) {
  Init({{"CPU", 4}, {"GPU", 2}});
  for (int i = 0; i < 4; ++i) pool_.Register();
  Request("half1", {{"GPU", 0.5}});
  Request("half2", {{"GPU", 0.5}});
  Request("whole", {{"GPU", 1}});
  Request("more", {{"GPU", 0.5}});
  auto only_share = [&](const std::string& name) {
    const LeaseGrant& grant = GrantOf(name);
    EXPECT_EQ(grant.instances.size(), 1u);
    EXPECT_EQ(grant.instances[0].resource, "GPU");
    EXPECT_EQ(grant.instances[0].shares.size(), 1u);
    return grant.instances[0].shares[0];
  };
  EXPECT_EQ(only_share("half1").instance_id, 0);
  EXPECT_EQ(only_share("half1").amount, kResourceUnit / 2);
  EXPECT_EQ(only_share("half2").instance_id, 0);
  EXPECT_EQ(only_share("whole").instance_id, 1);
  EXPECT_FALSE(outcomes_.count("more"));
  Return("half2");
  EXPECT_EQ(only_share("more").instance_id, 0);
}

TEST_F(LeaseManagerTest, BlockedWorkersLendTheirCpus) {
  Init({{"CPU", 1}, {"GPU", 1}});
  for (int i = 0; i < 2; ++i) pool_.Register();
  Request("parent", {{"CPU", 1}, {"GPU", 1}});
  Request("child", {{"CPU", 1}});
  EXPECT_FALSE(outcomes_.count("child"));
  WorkerID parent = GrantOf("parent").worker.worker_id;
  leases_->OnWorkerBlocked(parent, now_);
  leases_->OnWorkerBlocked(parent, now_);  // Idempotent.
  GrantOf("child");  // Runs on the lent CPU; the GPU stays with the parent.
  EXPECT_EQ(resources_->available(), Make({}));
  leases_->OnWorkerUnblocked(parent, now_);
  leases_->OnWorkerUnblocked(parent, now_);
  EXPECT_EQ(resources_->debt(), Make({{"CPU", 1}}));
  Return("child");
  EXPECT_EQ(resources_->available(), Make({}));
  Return("parent");
  EXPECT_EQ(resources_->available(), resources_->total());
  EXPECT_TRUE(resources_->debt().IsEmpty());
}

TEST_F(LeaseManagerTest, LeaseEndingWhileBlockedFreesItsShareOnce) {
  Init({{"CPU", 2}});
  pool_.Register();
  Request("t1", {{"CPU", 1}});
  leases_->OnWorkerBlocked(GrantOf("t1").worker.worker_id, now_);
  EXPECT_EQ(resources_->available(), Make({{"CPU", 2}}));
  Return("t1");
  EXPECT_EQ(resources_->available(), resources_->total());
  leases_->OnWorkerBlocked(WorkerID::FromRandom(), now_);  // No lease: no-op.
  EXPECT_EQ(resources_->available(), resources_->total());
}

TEST_F(LeaseManagerTest, RequestsFollowTheTotalAsBundlesComeAndGo) {
  Init({{"CPU", 2}});
  pool_.Register();
  pool_.Register();
  Request("in_bundle", {{"CPU_group_0_g", 1}});
  Request("also", {{"CPU_group_0_g", 1}});
  EXPECT_EQ(leases_->NumInfeasibleLeases(), 2u);
  uint64_t version = leases_->demand_version();

  resources_->AddResources(Make({{"CPU_group_0_g", 1}}));
  leases_->OnTotalResourcesChanged(now_);
  GrantOf("in_bundle");
  EXPECT_FALSE(outcomes_.count("also"));  // Waits for the bundle's CPU.
  EXPECT_EQ(leases_->NumInfeasibleLeases(), 0u);
  EXPECT_EQ(leases_->NumPendingLeases(), 1u);
  EXPECT_NE(leases_->demand_version(), version);

  resources_->RemoveResources(Make({{"CPU_group_0_g", 1}}));
  leases_->OnTotalResourcesChanged(now_);
  EXPECT_EQ(leases_->NumInfeasibleLeases(), 1u);  // "also" can never fit now.
  EXPECT_EQ(leases_->NumPendingLeases(), 0u);
  Return("in_bundle");  // Its bundle is gone: releasing it is harmless.
  EXPECT_EQ(resources_->available(), resources_->total());
  EXPECT_FALSE(outcomes_.count("also"));
}

TEST_F(LeaseManagerTest, BlockedWorkersLendTheirBundleCpus) {
  Init({{"CPU_group_0_g", 1}});
  for (int i = 0; i < 2; ++i) pool_.Register();
  Request("parent", {{"CPU_group_0_g", 1}});
  Request("child", {{"CPU_group_0_g", 1}});
  leases_->OnWorkerBlocked(GrantOf("parent").worker.worker_id, now_);
  GrantOf("child");
}

TEST_F(LeaseManagerTest, RejectAllAnswersEveryQueuedRequest) {
  Init({{"CPU", 1}});
  Request("t1", {{"CPU", 1}});
  Request("t2", {{"CPU", 1}});
  Request("t3", {{"CPU", 9}});
  leases_->RejectAll("shutting down");
  ASSERT_EQ(outcomes_.size(), 3u);
  for (const auto& [name, outcome] : outcomes_) {
    EXPECT_FALSE(outcome.grant) << name;
    EXPECT_EQ(outcome.failure_message, "shutting down");
  }
  EXPECT_EQ(resources_->available(), resources_->total());
}

}  // namespace
}  // namespace comet::raylet

namespace comet::raylet {
namespace {

// An actor's lease: zero resources fit a full node, and its worker never
// serves another lease, even when returned without disconnect.
TEST_F(LeaseManagerTest, DedicatedLeaseIsNeverReused) {
  Init({{"CPU", 1}});
  WorkerID first = pool_.Register();
  WorkerID second = pool_.Register();
  Request("busy", {{"CPU", 1}});
  LeaseRequest actor;
  actor.job_id = kJobA;
  actor.task_id = "actor";
  actor.dedicated = true;  // demand {}: num_cpus=0.
  std::optional<LeaseOutcome> granted;
  leases_->RequestLease(
      actor,
      [&](const LeaseOutcome& outcome) {
        granted = outcome;
        return true;
      },
      now_);
  ASSERT_TRUE(granted && granted->grant);
  WorkerID actor_worker = granted->grant->worker.worker_id;
  EXPECT_NE(actor_worker, GrantOf("busy").worker.worker_id);
  EXPECT_TRUE(actor_worker == first || actor_worker == second);
  EXPECT_EQ(resources_->available(), Make({}));

  ASSERT_TRUE(leases_
                  ->ReturnWorker(actor_worker, granted->grant->lease_id,
                                 /*disconnect=*/false, now_)
                  .ok());
  EXPECT_TRUE(pool_.disconnected.count(actor_worker));
  // The next lease starts a new worker rather than reuse it.
  Return("busy");
  Request("next", {{"CPU", 1}});
  EXPECT_NE(GrantOf("next").worker.worker_id, actor_worker);
}

TEST_F(LeaseManagerTest, WorkersAreStartedAndLeasedPerRuntimeEnv) {
  Init({{"CPU", 4}});
  Request("plain", {{"CPU", 1}});
  Request("env1", {{"CPU", 1}}, kJobA, "c1", "e1");
  Request("env1b", {{"CPU", 1}}, kJobA, "c1", "e1");
  // One start per env waiting (up to max_starting each).
  EXPECT_EQ(pool_.NumStartingWorkers(""), 1u);
  EXPECT_EQ(pool_.NumStartingWorkers("e1"), 2u);
  // A plain worker does not serve an env's request, nor the other way.
  pool_.Register("");
  leases_->Schedule(now_);
  EXPECT_TRUE(outcomes_["plain"].grant);
  EXPECT_FALSE(outcomes_.count("env1"));
  pool_.Register("e1");
  leases_->Schedule(now_);
  EXPECT_TRUE(outcomes_["env1"].grant);
  // A setup failure rejects what waits for that env only.
  LeaseOutcome failed;
  failed.failure_message = "pip failed";
  failed.runtime_env_setup_failed = true;
  EXPECT_EQ(leases_->RejectMatching(
                [](const LeaseRequest& r) { return r.env.hash == "e1"; }, failed, now_),
            1u);
  EXPECT_TRUE(outcomes_["env1b"].runtime_env_setup_failed);
  EXPECT_EQ(outcomes_["env1b"].failure_message, "pip failed");
}

}  // namespace
}  // namespace comet::raylet
