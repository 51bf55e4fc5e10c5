// WorkerPoolInterface: what the LeaseManager needs from the worker pool —
// idle workers to lease, somewhere to return them, and new worker starts.
// Header-only so that LeaseManager tests can fake the pool.
//
// Thread model: implementations are confined to the NodeManager's io thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "src/comet/common/id.h"
#include "src/comet/raylet/worker_spawner_interface.h"

namespace comet::raylet {

// A registered worker handed out for a lease.
struct LeasedWorker {
  WorkerID worker_id;
  int port = 0;
  int pid = 0;
};

class WorkerPoolInterface {
 public:
  virtual ~WorkerPoolInterface() = default;

  // An idle registered worker started in runtime_env `env_hash` and bound
  // to `job_id`, else an unbound one of that env (which becomes bound to
  // `job_id` for the rest of its life); nullopt if none. As Ray does, GPU
  // and CPU leases never share a process: a worker's first lease decides
  // whether it serves leases that use GPUs (`uses_gpu`) or leases that do
  // not. The worker is leased until PushIdleWorker or DisconnectWorker.
  virtual std::optional<LeasedWorker> PopIdleWorker(const JobID& job_id,
                                                    const std::string& env_hash,
                                                    bool uses_gpu, absl::Time now) = 0;

  // A leased worker is free again.
  virtual void PushIdleWorker(const WorkerID& worker_id, absl::Time now) = 0;

  // A leased worker must not be reused: it is stopped.
  virtual void DisconnectWorker(const WorkerID& worker_id) = 0;

  // Workers of runtime_env `env_hash` started but not yet registered (they
  // are not bound to any job).
  virtual size_t NumStartingWorkers(const std::string& env_hash) const = 0;

  // Starts one more worker in `env`; it becomes idle (unbound) once it
  // registers. Unavailable while starts are backing off after failures.
  virtual absl::Status StartWorker(absl::Time now, const WorkerEnv& env) = 0;
};

}  // namespace comet::raylet
