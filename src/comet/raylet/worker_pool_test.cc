#include "src/comet/raylet/worker_pool.h"

#include <gtest/gtest.h>

#include "src/comet/raylet/fake_worker_spawner.h"

namespace comet::raylet {
namespace {

const JobID kJobA = JobID::FromInt(1);
const JobID kJobB = JobID::FromInt(2);

class WorkerPoolTest : public ::testing::Test {
 protected:
  WorkerPoolTest() { Reset(WorkerPoolOptions{}); }

  void Reset(WorkerPoolOptions options) {
    spawner_ = std::make_unique<FakeWorkerSpawner>();
    pool_ = std::make_unique<WorkerPool>(spawner_.get(), options);
  }

  // Starts a worker and registers it; returns its id.
  WorkerID StartRegistered(int port = 7000) {
    EXPECT_TRUE(pool_->StartWorker(now_, WorkerEnv{}).ok());
    auto [pid, worker_id] = spawner_->spawned.back();
    EXPECT_TRUE(pool_->RegisterWorker(worker_id, pid, port, now_).ok());
    return worker_id;
  }

  int PidOf(const WorkerID& worker_id) { return pool_->Find(worker_id)->pid; }

  absl::Time now_ = absl::FromUnixSeconds(1000);
  std::unique_ptr<FakeWorkerSpawner> spawner_;
  std::unique_ptr<WorkerPool> pool_;
};

TEST_F(WorkerPoolTest, StartingWorkersAreCountedUntilTheyRegister) {
  ASSERT_TRUE(pool_->StartWorker(now_, WorkerEnv{}).ok());
  ASSERT_TRUE(pool_->StartWorker(now_, WorkerEnv{}).ok());
  EXPECT_EQ(pool_->NumStartingWorkers(), 2u);
  EXPECT_FALSE(pool_->PopIdleWorker(kJobA, "", false, now_));
  auto [pid, worker_id] = spawner_->spawned[0];
  ASSERT_TRUE(pool_->RegisterWorker(worker_id, pid, 7001, now_).ok());
  EXPECT_EQ(pool_->NumStartingWorkers(), 1u);
  EXPECT_EQ(pool_->NumIdleWorkers(), 1u);
  auto leased = pool_->PopIdleWorker(kJobA, "", false, now_);
  ASSERT_TRUE(leased);
  EXPECT_EQ(leased->worker_id, worker_id);
  EXPECT_EQ(leased->port, 7001);
  EXPECT_EQ(leased->pid, pid);
}

TEST_F(WorkerPoolTest, RegistrationIsCheckedAgainstWhatWasStarted) {
  EXPECT_TRUE(absl::IsNotFound(
      pool_->RegisterWorker(WorkerID::FromRandom(), 1, 2, now_)));
  WorkerID worker_id = StartRegistered();
  EXPECT_TRUE(absl::IsFailedPrecondition(
      pool_->RegisterWorker(worker_id, PidOf(worker_id), 7000, now_)));
}

TEST_F(WorkerPoolTest, WorkersAreBoundToTheJobOfTheirFirstLease) {
  WorkerID worker_id = StartRegistered();
  auto leased = pool_->PopIdleWorker(kJobA, "", false, now_);
  ASSERT_TRUE(leased);
  EXPECT_EQ(pool_->Find(worker_id)->job_id, kJobA);
  pool_->PushIdleWorker(worker_id, now_);
  EXPECT_FALSE(pool_->PopIdleWorker(kJobB, "", false, now_));
  auto again = pool_->PopIdleWorker(kJobA, "", false, now_);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->worker_id, worker_id);
}

TEST_F(WorkerPoolTest, PrefersAWorkerOfTheJobOverAnUnboundOne) {
  WorkerID bound = StartRegistered();
  ASSERT_TRUE(pool_->PopIdleWorker(kJobA, "", false, now_));
  pool_->PushIdleWorker(bound, now_);
  WorkerID unbound = StartRegistered();
  auto for_a = pool_->PopIdleWorker(kJobA, "", false, now_);
  ASSERT_TRUE(for_a);
  EXPECT_EQ(for_a->worker_id, bound);
  auto for_b = pool_->PopIdleWorker(kJobB, "", false, now_);
  ASSERT_TRUE(for_b);
  EXPECT_EQ(for_b->worker_id, unbound);
}

TEST_F(WorkerPoolTest, ExitsRemoveWorkersAndReportWhatTheyWere) {
  WorkerID idle = StartRegistered();
  WorkerID leased = StartRegistered();
  ASSERT_TRUE(pool_->PopIdleWorker(kJobA, "", false, now_));  // Most recent: `leased`.
  EXPECT_EQ(pool_->Find(leased)->state, WorkerState::kLeased);
  auto info = pool_->OnProcessExited(PidOf(leased), now_);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->worker_id, leased);
  EXPECT_EQ(info->state, WorkerState::kLeased);
  info = pool_->OnProcessExited(PidOf(idle), now_);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->state, WorkerState::kIdle);
  EXPECT_EQ(pool_->NumIdleWorkers(), 0u);
  EXPECT_EQ(pool_->NumWorkers(), 0u);
  EXPECT_FALSE(pool_->OnProcessExited(12345, now_));
}

TEST_F(WorkerPoolTest, WorkersThatNeverRegisterAreKilledAndCountedFailed) {
  WorkerPoolOptions options;
  options.register_timeout = absl::Seconds(60);
  Reset(options);
  ASSERT_TRUE(pool_->StartWorker(now_, WorkerEnv{}).ok());
  int pid = spawner_->spawned[0].first;
  pool_->Tick(now_ + absl::Seconds(30));
  EXPECT_TRUE(spawner_->killed.empty());
  pool_->Tick(now_ + absl::Seconds(61));
  EXPECT_EQ(spawner_->killed.count(pid), 1u);
  EXPECT_EQ(pool_->NumStartingWorkers(), 0u);
  EXPECT_EQ(pool_->num_failed_starts(), 1);
  // A late registration is refused; the exit then removes it.
  EXPECT_FALSE(pool_
                   ->RegisterWorker(spawner_->spawned[0].second, pid, 1,
                                    now_ + absl::Seconds(62))
                   .ok());
  auto info = pool_->OnProcessExited(pid, now_ + absl::Seconds(62));
  ASSERT_TRUE(info);
  EXPECT_EQ(info->state, WorkerState::kDying);
  EXPECT_EQ(pool_->num_failed_starts(), 1);
}

TEST_F(WorkerPoolTest, FailedStartsBackOff) {
  ASSERT_TRUE(pool_->StartWorker(now_, WorkerEnv{}).ok());
  pool_->OnProcessExited(spawner_->spawned[0].first, now_);  // Died starting.
  EXPECT_EQ(pool_->num_failed_starts(), 1);
  EXPECT_TRUE(absl::IsUnavailable(pool_->StartWorker(now_, WorkerEnv{})));
  absl::Time later = now_ + absl::Seconds(1);
  ASSERT_TRUE(pool_->StartWorker(later, WorkerEnv{}).ok());
  spawner_->fail_spawns = true;
  later += absl::Seconds(20);
  EXPECT_FALSE(pool_->StartWorker(later, WorkerEnv{}).ok());
  EXPECT_EQ(pool_->num_failed_starts(), 2);
  EXPECT_TRUE(absl::IsUnavailable(pool_->StartWorker(later, WorkerEnv{})));
  // A registration ends the backoff.
  spawner_->fail_spawns = false;
  auto [pid, worker_id] = spawner_->spawned.back();
  ASSERT_TRUE(pool_->RegisterWorker(worker_id, pid, 7000, later).ok());
  EXPECT_TRUE(pool_->StartWorker(later, WorkerEnv{}).ok());
}

TEST_F(WorkerPoolTest, IdleWorkersOverTheSoftLimitTimeOut) {
  WorkerPoolOptions options;
  options.idle_soft_limit = 1;
  options.idle_timeout = absl::Seconds(10);
  Reset(options);
  WorkerID oldest = StartRegistered();
  now_ += absl::Seconds(1);
  WorkerID newer = StartRegistered();
  pool_->Tick(now_ + absl::Seconds(5));
  EXPECT_TRUE(spawner_->terminated.empty());
  pool_->Tick(now_ + absl::Seconds(11));
  EXPECT_EQ(spawner_->terminated, std::set<int>{PidOf(oldest)});
  EXPECT_EQ(pool_->Find(oldest)->state, WorkerState::kDying);
  EXPECT_EQ(pool_->NumIdleWorkers(), 1u);
  // At the soft limit nothing more is stopped, however long it idles.
  pool_->Tick(now_ + absl::Hours(1));
  EXPECT_EQ(pool_->Find(newer)->state, WorkerState::kIdle);
  // A dying worker is never handed out.
  pool_->OnProcessExited(PidOf(newer), now_);
  EXPECT_FALSE(pool_->PopIdleWorker(kJobA, "", false, now_));
}

TEST_F(WorkerPoolTest, LeasedWorkersDoNotTimeOut) {
  WorkerPoolOptions options;
  options.idle_soft_limit = 0;
  options.idle_timeout = absl::Seconds(1);
  Reset(options);
  StartRegistered();
  ASSERT_TRUE(pool_->PopIdleWorker(kJobA, "", false, now_));
  pool_->Tick(now_ + absl::Hours(1));
  EXPECT_TRUE(spawner_->terminated.empty());
}

TEST_F(WorkerPoolTest, DisconnectTerminatesAndKillSigkills) {
  WorkerID a = StartRegistered();
  WorkerID b = StartRegistered();
  pool_->DisconnectWorker(a);
  EXPECT_EQ(spawner_->terminated.count(PidOf(a)), 1u);
  EXPECT_EQ(pool_->NumIdleWorkers(), 1u);
  ASSERT_TRUE(pool_->KillWorker(b).ok());
  EXPECT_EQ(spawner_->killed.count(PidOf(b)), 1u);
  EXPECT_TRUE(absl::IsNotFound(pool_->KillWorker(WorkerID::FromRandom())));
  EXPECT_FALSE(pool_->PopIdleWorker(kJobA, "", false, now_));
}

TEST_F(WorkerPoolTest, GpuAndCpuLeasesNeverShareAWorker) {
  WorkerID first = StartRegistered();
  ASSERT_TRUE(pool_->PopIdleWorker(kJobA, "", /*uses_gpu=*/true, now_));
  EXPECT_EQ(pool_->Find(first)->uses_gpu, std::optional<bool>(true));
  pool_->PushIdleWorker(first, now_);
  EXPECT_FALSE(pool_->PopIdleWorker(kJobA, "", false, now_));
  WorkerID second = StartRegistered();
  EXPECT_FALSE(pool_->Find(second)->uses_gpu.has_value());
  auto cpu = pool_->PopIdleWorker(kJobA, "", false, now_);
  ASSERT_TRUE(cpu);
  EXPECT_EQ(cpu->worker_id, second);
  pool_->PushIdleWorker(second, now_);
  auto gpu = pool_->PopIdleWorker(kJobA, "", true, now_);
  ASSERT_TRUE(gpu);
  EXPECT_EQ(gpu->worker_id, first);
  EXPECT_FALSE(pool_->PopIdleWorker(kJobA, "", true, now_));
}

TEST_F(WorkerPoolTest, WorkersServeOnlyTheirRuntimeEnv) {
  WorkerEnv env{"hash1", "{}", {{"A", "1"}}};
  ASSERT_TRUE(pool_->StartWorker(now_, env).ok());
  EXPECT_EQ(pool_->NumStartingWorkers("hash1"), 1u);
  EXPECT_EQ(pool_->NumStartingWorkers(""), 0u);
  auto [pid, worker_id] = spawner_->spawned.back();
  ASSERT_TRUE(pool_->RegisterWorker(worker_id, pid, 7002, now_).ok());
  EXPECT_FALSE(pool_->PopIdleWorker(kJobA, "", false, now_));
  EXPECT_FALSE(pool_->PopIdleWorker(kJobA, "other", false, now_));
  auto leased = pool_->PopIdleWorker(kJobA, "hash1", false, now_);
  ASSERT_TRUE(leased);
  EXPECT_EQ(leased->worker_id, worker_id);
  EXPECT_EQ(pool_->Find(worker_id)->env_hash, "hash1");
}

TEST_F(WorkerPoolTest, ASetupFailureIsNoFailedStart) {
  ASSERT_TRUE(pool_->StartWorker(now_, WorkerEnv{"bad", "{}", {}}).ok());
  auto [pid, worker_id] = spawner_->spawned.back();
  absl::StatusOr<std::string> hash = pool_->OnSetupFailed(worker_id);
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_EQ(*hash, "bad");
  EXPECT_EQ(pool_->NumStartingWorkers("bad"), 0u);
  EXPECT_EQ(spawner_->terminated, std::set<int>{pid});
  // No backoff: the next start (another env) goes at once.
  EXPECT_TRUE(pool_->StartWorker(now_, WorkerEnv{}).ok());
  EXPECT_EQ(pool_->num_failed_starts(), 0);
  EXPECT_TRUE(absl::IsFailedPrecondition(pool_->OnSetupFailed(worker_id).status()));
}

TEST_F(WorkerPoolTest, AnEnvsSetupTimeWidensTheRegistrationDeadline) {
  WorkerPoolOptions options;
  options.register_timeout = absl::Seconds(60);
  Reset(options);
  WorkerEnv slow{"pip", "{}", {}, absl::Seconds(300)};
  ASSERT_TRUE(pool_->StartWorker(now_, slow).ok());
  int slow_pid = spawner_->spawned.back().first;
  ASSERT_TRUE(pool_->StartWorker(now_, WorkerEnv{}).ok());
  int plain_pid = spawner_->spawned.back().first;
  pool_->Tick(now_ + absl::Seconds(61));
  EXPECT_EQ(spawner_->killed, std::set<int>{plain_pid});
  pool_->Tick(now_ + absl::Seconds(301));
  EXPECT_EQ(spawner_->killed, (std::set<int>{plain_pid, slow_pid}));
}

}  // namespace
}  // namespace comet::raylet
