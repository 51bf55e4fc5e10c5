// WorkerPool: the node's Python worker processes and their lifecycle,
//
//   Spawn -> kStarting --RegisterWorker--> kIdle <--Pop/Push--> kLeased
//   any state --Terminate/Kill/timeout--> kDying --process exit--> removed
//
// A worker is started in one runtime_env (WorkerEnv, by hash; none for
// prestarted workers), bound to the job of its first lease and to whether
// that lease used GPUs, and only reused for leases of that job, env and
// kind (GPU and CPU work never share a process, as in Ray). Workers that do not register within `register_timeout` are killed and
// count as failed starts; consecutive failed starts back further starts off
// exponentially (so a broken interpreter does not fork in a tight loop).
// Idle workers beyond `idle_soft_limit` are stopped after `idle_timeout`.
//
// Ownership: the spawner is borrowed and must outlive the pool. No I/O of
// its own beyond the spawner; time is passed in. Thread model: confined to
// the NodeManager's io thread (thread-compatible).
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "src/comet/common/id.h"
#include "src/comet/raylet/worker_pool_interface.h"
#include "src/comet/raylet/worker_spawner_interface.h"

namespace comet::raylet {

struct WorkerPoolOptions {
  // Idle workers up to this many are kept however long they idle (num_cpus).
  size_t idle_soft_limit = 1;
  absl::Duration idle_timeout = absl::Seconds(60);
  absl::Duration register_timeout = absl::Seconds(60);
  absl::Duration initial_start_backoff = absl::Milliseconds(100);
  absl::Duration max_start_backoff = absl::Seconds(10);
};

enum class WorkerState { kStarting, kIdle, kLeased, kDying };

const char* WorkerStateName(WorkerState state);

struct WorkerInfo {
  WorkerID worker_id;
  int pid = 0;           // The process this raylet spawned.
  int reported_pid = 0;  // What the worker said at registration.
  int port = 0;
  WorkerState state = WorkerState::kStarting;
  JobID job_id;  // Nil until the first lease.
  std::string env_hash;  // its runtime_env's (empty: none)
  // Whether it serves leases that use GPUs; unset until its first lease.
  std::optional<bool> uses_gpu;
  // Killed if not registered this long after its start (its env's setup
  // time, at least the pool's register_timeout).
  absl::Duration register_timeout = absl::InfiniteDuration();
  absl::Time start_time;
  absl::Time idle_since;
};

class WorkerPool : public WorkerPoolInterface {
 public:
  WorkerPool(WorkerSpawner* spawner, WorkerPoolOptions options);

  // WorkerPoolInterface.
  std::optional<LeasedWorker> PopIdleWorker(const JobID& job_id,
                                            const std::string& env_hash, bool uses_gpu,
                                            absl::Time now) override;
  void PushIdleWorker(const WorkerID& worker_id, absl::Time now) override;
  void DisconnectWorker(const WorkerID& worker_id) override;
  size_t NumStartingWorkers(const std::string& env_hash) const override;
  absl::Status StartWorker(absl::Time now, const WorkerEnv& env) override;
  size_t NumStartingWorkers() const { return num_starting_; }

  // A starting worker could not set up its runtime_env (it says so instead
  // of registering, and exits): it leaves the pool's counts without
  // counting as a failed start (the env is at fault, not the node). Returns
  // its env hash; NotFound/FailedPrecondition as RegisterWorker.
  absl::StatusOr<std::string> OnSetupFailed(const WorkerID& worker_id);

  // A started worker announces its gRPC port. NotFound for workers this
  // pool did not start; FailedPrecondition if it is not starting.
  absl::Status RegisterWorker(const WorkerID& worker_id, int pid, int port,
                              absl::Time now);

  // A spawned process exited: the worker leaves the pool. Returns what it
  // was (so the caller can end its lease), or nullopt for an unknown pid.
  std::optional<WorkerInfo> OnProcessExited(int pid, absl::Time now);

  // Kills workers that missed the registration deadline and stops idle
  // workers over the soft limit that idled past the timeout.
  void Tick(absl::Time now);

  // SIGKILLs a worker (force cancel). NotFound if unknown.
  absl::Status KillWorker(const WorkerID& worker_id);

  const WorkerInfo* Find(const WorkerID& worker_id) const;
  std::vector<WorkerInfo> Workers() const;
  size_t NumWorkers() const { return workers_.size(); }
  size_t NumIdleWorkers() const { return idle_.size(); }
  int64_t num_failed_starts() const { return num_failed_starts_; }

 private:
  void RecordFailedStart(absl::Time now);
  void MarkDying(WorkerInfo& worker);
  void RemoveFromIdle(const WorkerID& worker_id);
  std::optional<LeasedWorker> Lease(std::list<WorkerID>::iterator idle,
                                    const JobID& job_id, bool uses_gpu);
  absl::StatusOr<WorkerInfo*> Starting(const WorkerID& worker_id);

  WorkerSpawner* const spawner_;
  const WorkerPoolOptions options_;
  absl::flat_hash_map<WorkerID, WorkerInfo> workers_;
  absl::flat_hash_map<int, WorkerID> by_pid_;
  // Idle workers, longest idle first.
  std::list<WorkerID> idle_;
  size_t num_starting_ = 0;
  int64_t num_failed_starts_ = 0;
  int consecutive_failures_ = 0;
  absl::Time next_start_allowed_ = absl::InfinitePast();
};

}  // namespace comet::raylet
