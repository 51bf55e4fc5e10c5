// WorkerSpawner: how the WorkerPool starts and stops worker processes, behind
// an interface so that tests can fake processes. The real implementation is
// ChildProcessSpawner (fork/exec of the Python worker).
//
// Thread model: an implementation is confined to the NodeManager's io
// thread; every call and the exit callback happen there.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "src/comet/common/id.h"

namespace comet::raylet {

// The runtime_env a worker starts in (proto RuntimeEnvInfo): an empty hash
// means none. Workers are pooled by the hash.
struct WorkerEnv {
  std::string hash;
  std::string serialized;  // JSON the worker applies itself (worker_main)
  std::map<std::string, std::string> env_vars;  // put in its environment
  // How long it may set up before registering; the pool waits at least its
  // own register_timeout (InfiniteDuration: no limit).
  absl::Duration setup_timeout = absl::ZeroDuration();
};

class WorkerSpawner {
 public:
  // (pid, wait status) of a spawned process that exited.
  using ExitCallback = std::function<void(int pid, int status)>;

  virtual ~WorkerSpawner() = default;

  // Called on the owner's thread whenever a spawned process exits. Set once,
  // before the first Spawn.
  virtual void SetExitCallback(ExitCallback callback) = 0;

  // Starts the worker process for `worker_id` in `env` and returns its pid.
  virtual absl::StatusOr<int> Spawn(const WorkerID& worker_id,
                                    const WorkerEnv& env) = 0;

  // Asks `pid` to exit (SIGTERM) and forces it (SIGKILL) if it still runs
  // after a short grace period.
  virtual void Terminate(int pid) = 0;

  // Forces `pid` to exit now (SIGKILL).
  virtual void Kill(int pid) = 0;

  // Shutdown: terminates every live process, waiting at most `grace` before
  // forcing them, and reaps them. Blocks. No exit callbacks are made.
  virtual void TerminateAll(absl::Duration grace) = 0;
};

}  // namespace comet::raylet
