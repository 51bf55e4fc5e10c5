// NormalTaskSubmitter: gets this process's tasks onto workers.
//
// For each task: waits for the arguments this process owns to exist, inlines
// the small ones into the spec, then queues the task by scheduling class
// (function + resources + strategy). Per class it asks the raylet for worker
// leases (up to the backlog, capped), pushes queued tasks straight to leased
// workers (several in flight per worker when configured), reuses a lease while
// its class has queued work and returns it when the queue is empty. A push
// that fails means the worker died: the TaskManager retries or fails the task.
// Thread-safe: guarded by mu_; RPC callbacks arrive on gRPC threads, and no
// callback into other components runs under the lock.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "proto/core_worker.grpc.pb.h"
#include "proto/node_manager.grpc.pb.h"
#include "src/comet/common/id.h"
#include "src/comet/core_worker/memory_store.h"
#include "src/comet/core_worker/task_manager.h"
#include "src/comet/rpc/async_call.h"
#include "src/comet/rpc/client_pool.h"

namespace comet::core {

struct SubmitterOptions {
  std::string raylet_address;
  // This process's node and worker (binary ids): lease requests carry them
  // and the pid, so that raylets end the leases when this process dies.
  std::string node_id;
  std::string worker_id;
  int64_t max_direct_call_object_size = 100 * 1024;
  // Tasks pushed ahead to one leased worker, for classes whose tasks are
  // short (below pipeline_threshold_ms): it hides the round trip. Long tasks
  // go one at a time so that they spread over all leased workers.
  int max_tasks_in_flight_per_worker = 8;
  double pipeline_threshold_ms = 5.0;
  int max_pending_lease_requests_per_class = 10;
  // Tracks the RPCs in flight for shutdown (optional).
  rpc::CallRegistry* calls = nullptr;
};

class NormalTaskSubmitter {
 public:
  NormalTaskSubmitter(SubmitterOptions options, TaskManager* task_manager,
                      MemoryStore* memory_store,
                      std::function<bool(const ObjectID&)> is_owned,
                      rpc::ClientPool<rpc::NodeManagerService>* raylets,
                      rpc::ClientPool<rpc::CoreWorkerService>* workers);

  // Resolves the task's owned arguments, then schedules it.
  void Submit(rpc::TaskSpec spec);

  // Cancels a queued task, or asks its worker to interrupt (or, with
  // `force`, the raylet to kill) it. Returns false if the task is unknown here.
  bool Cancel(const TaskID& task_id, bool force, bool recursive = true);

  size_t NumQueued() const;

 private:
  struct Lease {
    rpc::RequestWorkerLeaseReply grant;
    // The raylet that granted it (this node's, or one it spilled back to).
    std::string raylet_address;
    std::string worker_address;
    WorkerID worker_id;
    int in_flight = 0;
    int tasks_pushed = 0;
    bool dead = false;
  };
  // Fails a task whose worker died: OUT_OF_MEMORY when the lease's raylet
  // says its memory monitor killed the worker, else `crashed`.
  void FailWithCause(const std::shared_ptr<Lease>& lease, const TaskID& task_id,
                     std::string crashed);

  struct ClassState {
    std::deque<rpc::TaskSpec> queue;
    int pending_lease_requests = 0;
    std::vector<std::shared_ptr<Lease>> leases;
    rpc::RequestWorkerLeaseRequest lease_request;
    // SPREAD: one task per lease, so that every task is placed by the raylets.
    bool one_task_per_lease = false;
    // Moving average of the push-to-reply time of tasks that did not queue
    // behind others at the worker; negative until the first sample.
    double task_ms = -1;
  };
  struct Running {
    std::string key;
    std::shared_ptr<Lease> lease;
    absl::Time pushed;
    bool clean_sample = false;
  };

  int MaxInFlight(const ClassState& state) const;

  void OnDependenciesResolved(rpc::TaskSpec spec);
  void Schedule(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Asks `raylet_address` (empty: the local raylet) for a lease; a request
  // that another raylet spilled back carries grant_or_reject.
  void RequestLease(const std::string& key, ClassState& state,
                    const std::string& raylet_address = "") ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnLeaseGranted(const std::string& key, const std::string& raylet_address,
                      const grpc::Status& status, rpc::RequestWorkerLeaseReply reply);
  void PushTask(const std::string& key, const std::shared_ptr<Lease>& lease,
                rpc::TaskSpec spec) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnPushReply(const std::string& key, const std::shared_ptr<Lease>& lease,
                   const TaskID& task_id, const grpc::Status& status, rpc::PushTaskReply reply);
  void RecordTaskTime(const TaskID& task_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReturnLease(const std::shared_ptr<Lease>& lease, bool disconnect);

  SubmitterOptions options_;
  TaskManager* task_manager_;
  MemoryStore* memory_store_;
  std::function<bool(const ObjectID&)> is_owned_;
  rpc::ClientPool<rpc::NodeManagerService>* raylets_;
  rpc::ClientPool<rpc::CoreWorkerService>* workers_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, ClassState> classes_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<TaskID, Running> running_ ABSL_GUARDED_BY(mu_);
};

// The scheduling class of a task: tasks with equal keys share leases.
std::string SchedulingKey(const rpc::TaskSpec& spec);

}  // namespace comet::core
