// LeaseManager: the node's worker-lease decisions, with no I/O.
//
// A lease request waits in one of three places until it is answered:
//   infeasible            its demand exceeds the node's total resources; it
//                         waits (never rejected), is logged once per shape
//                         and reported as a pending demand, until
//                         SpillQueued hands it to a node that can run it.
//   waiting for resources FIFO per scheduling class; classes take turns,
//                         one grant each per round, so one busy class does
//                         not starve another.
//   waiting for a worker  resources held; takes an idle worker of its job
//                         (or an unbound one), else a worker is started
//                         for it (at most `max_starting_workers` at once).
// Then the callback gets a grant, and the lease lives until ReturnWorker or
// the worker's death frees its resources. While a leased worker is blocked
// in get()/wait(), its CPUs (a bundle's "CPU_group_..." too) are lent to
// others. Cancellation and shutdown answer queued requests with a rejection.
// Placement-group bundles change the node's total: OnTotalResourcesChanged
// moves requests in and out of the infeasible queue.
//
// Ownership: borrows the resource manager and the worker pool, which must
// outlive it. Thread model: confined to the NodeManager's io thread. Lease
// callbacks run inside the calls below and must not call back into the
// LeaseManager.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "src/comet/common/id.h"
#include "src/comet/raylet/local_resource_manager.h"
#include "src/comet/raylet/resource_set.h"
#include "src/comet/raylet/worker_pool_interface.h"

namespace comet::raylet {

// The process that asked for a lease: the lease ends when it is gone.
struct LeaseRequester {
  // Its pid when it runs on this node (0: elsewhere/unknown).
  int pid = 0;
  NodeID node;      // Nil: unknown.
  WorkerID worker;  // Nil: unknown.
};

struct LeaseRequest {
  // Requests of one class are interchangeable; empty = derived from demand.
  std::string scheduling_class;
  ResourceSet demand;
  JobID job_id;
  std::string task_id;  // Raw bytes; for CancelWorkerLease and logs.
  int64_t backlog_size = 0;
  // An actor's worker: never reused, so its return always stops it.
  bool dedicated = false;
  // Placement hints for the cluster policy (ClusterView::Choose).
  bool spread = false;
  bool grant_or_reject = false;
  LeaseRequester requester;
  // The runtime_env its worker must run in (empty hash: none).
  WorkerEnv env;
  // Its task may run again if its worker dies (max_retries, an actor's
  // max_restarts): the memory monitor kills such workers first.
  bool retriable = false;
};

// A granted lease, as the memory monitor sees it.
struct ActiveLease {
  WorkerID worker_id;
  WorkerID requester;
  bool dedicated = false;  // an actor's worker
  bool retriable = false;
  absl::Time granted_at;
};

// Another node should serve the request.
struct SpillbackTarget {
  NodeID node_id;
  std::string address;
};

struct LeaseGrant {
  std::string lease_id;
  LeasedWorker worker;
  std::vector<InstanceAssignment> instances;
};

// A grant, a spillback to another node, or a rejection with a message.
struct LeaseOutcome {
  std::optional<LeaseGrant> grant;
  std::optional<SpillbackTarget> spillback;
  std::string failure_message;
  // Rejected: it asks for a placement group that was removed.
  bool placement_group_removed = false;
  // Rejected: a worker could not set up its runtime_env.
  bool runtime_env_setup_failed = false;
};

// Delivers an outcome. For a grant, returning false says the requester is
// gone; the grant is then undone (worker back to idle, resources freed).
using LeaseCallback = std::function<bool(const LeaseOutcome&)>;

struct LeaseManagerOptions {
  // Per runtime_env.
  size_t max_starting_workers = 1;
};

class LeaseManager {
 public:
  using RequestId = uint64_t;

  LeaseManager(LocalResourceManager* resources, WorkerPoolInterface* pool,
               LeaseManagerOptions options);

  // Queues a request and schedules. The callback runs exactly once, possibly
  // before this returns.
  RequestId RequestLease(LeaseRequest request, LeaseCallback callback,
                         absl::Time now);

  // Rejects every queued request for `task_id`; false if there was none.
  bool CancelByTaskId(absl::string_view task_id, absl::Time now);

  // Rejects one queued request (its RPC was cancelled); no-op if answered.
  void CancelRequest(RequestId id, absl::string_view reason, absl::Time now);

  // Ends the lease held by `worker_id`. A non-empty `lease_id` must match
  // the lease (else FailedPrecondition: a stale return). The worker becomes
  // idle, or is stopped when `disconnect` or when the lease was dedicated
  // (an actor's).
  absl::Status ReturnWorker(const WorkerID& worker_id,
                            absl::string_view lease_id, bool disconnect,
                            absl::Time now);

  // A worker process died: its lease, if any, ends.
  void OnWorkerDied(const WorkerID& worker_id, absl::Time now);

  // The leased worker waits in get()/wait(): its lease's CPUs are lent to
  // other requests until OnWorkerUnblocked takes them back (even if that
  // oversubscribes the node for a while). No-op unless the worker holds a
  // lease; repeated calls are idempotent.
  void OnWorkerBlocked(const WorkerID& worker_id, absl::Time now);
  void OnWorkerUnblocked(const WorkerID& worker_id, absl::Time now);

  // Grants whatever fits and starts workers for requests waiting for one.
  // Call after anything that may free resources or workers.
  void Schedule(absl::Time now);

  // The node's total changed (placement-group bundles came or went):
  // infeasible requests that fit now start waiting for resources, waiting
  // ones that can no longer fit become infeasible; then schedules.
  void OnTotalResourcesChanged(absl::Time now);

  // Offers each request that holds nothing yet (infeasible, or waiting for
  // resources) to `choose`; those it gives a target for leave the queue and
  // are answered with a spillback to it.
  void SpillQueued(
      const std::function<std::optional<SpillbackTarget>(const LeaseRequest&)>& choose,
      absl::Time now);

  // Workers leased to requesters that `gone` says are gone. Actors'
  // dedicated workers are never included.
  std::vector<WorkerID> LeasesOfGoneRequesters(
      const std::function<bool(const LeaseRequester&)>& gone) const;
  // Every granted lease.
  std::vector<ActiveLease> ActiveLeases() const;
  // Workers (actors' included) whose lease holds resources `uses` matches.
  std::vector<WorkerID> LeasesUsing(
      const std::function<bool(const ResourceSet& amounts)>& uses) const;

  // Rejects every queued request (shutdown).
  void RejectAll(absl::string_view reason);
  // Answers the queued requests that match with `outcome` (a rejection);
  // returns how many.
  size_t RejectMatching(const std::function<bool(const LeaseRequest&)>& matches,
                        const LeaseOutcome& outcome, absl::Time now);

  // Requests waiting for resources or a worker (not infeasible ones).
  size_t NumPendingLeases() const;
  size_t NumInfeasibleLeases() const { return infeasible_.size(); }
  size_t NumActiveLeases() const { return leases_.size(); }
  std::vector<ResourceSet> InfeasibleDemands() const;
  // Demands not placed yet: infeasible ones, then those waiting for
  // resources, oldest first, at most `limit`.
  std::vector<ResourceSet> PendingDemands(size_t limit) const;
  // Changes whenever the set of pending demands changes.
  uint64_t demand_version() const { return demand_version_; }

 private:
  enum class Stage { kInfeasible, kWaitingForResources, kWaitingForWorker };

  struct Queued {
    RequestId id = 0;
    LeaseRequest request;
    LeaseCallback callback;
    Stage stage = Stage::kWaitingForResources;
    std::optional<ResourceAllocation> allocation;
  };

  struct ClassQueue {
    std::string key;
    std::deque<RequestId> requests;
  };

  struct Lease {
    std::string lease_id;
    ResourceAllocation allocation;
    // What is lent to others while the worker is blocked (else empty).
    ResourceSet lent;
    bool dedicated = false;
    bool retriable = false;
    absl::Time granted_at;
    LeaseRequester requester;
  };

  std::vector<WorkerID> LeasesWhere(const std::function<bool(const Lease&)>& matches) const;
  bool PlaceOnResources();
  void DispatchToWorkers(absl::Time now, bool* undone);
  void StartWorkers(absl::Time now);
  bool Grant(Queued queued, const LeasedWorker& worker, absl::Time now);
  // Puts a request in the infeasible queue or its class's queue.
  void Enqueue(Queued& queued);
  // Takes the request out of whichever queue holds it and frees what it
  // held; returns it for answering.
  Queued Remove(RequestId id);
  // Takes the request out of its stage's queue (it stays in requests_).
  void Detach(const Queued& queued);
  void Reject(RequestId id, absl::string_view message);
  void Reject(RequestId id, const LeaseOutcome& outcome);
  void EndLease(const WorkerID& worker_id);
  std::string NewLeaseId();

  LocalResourceManager* const resources_;
  WorkerPoolInterface* const pool_;
  const LeaseManagerOptions options_;

  RequestId next_request_id_ = 1;
  std::map<RequestId, Queued> requests_;
  std::list<ClassQueue> classes_;
  absl::flat_hash_map<std::string, std::list<ClassQueue>::iterator>
      class_index_;
  std::deque<RequestId> waiting_for_worker_;
  std::deque<RequestId> infeasible_;
  std::set<ResourceSet> warned_infeasible_;
  absl::flat_hash_map<WorkerID, Lease> leases_;
  uint64_t demand_version_ = 0;
};

}  // namespace comet::raylet
