// GcsActorScheduler: places actor creation tasks. For each attempt it picks
// an alive node whose total resources fit the actor (preferring one with
// enough available right now, from the latest resource reports), asks that
// raylet for a dedicated worker lease (is_actor_creation), hands the lease
// to its listener (the GcsActorManager) and pushes the creation task to the
// leased worker. It also carries out the manager's orders on leased workers:
// give the lease back, ask the actor to exit, kill the process.
//
// An attempt waits (re-tried every `retry_interval`, and whenever a node is
// added) while no alive node fits; a lease that fails (RPC error, rejected,
// the node died) is asked for again, after `retry_interval` for errors. An
// attempt ends when its lease is handed over or Cancel() drops it; a lease
// granted to an attempt that is gone is returned (worker disconnected).
//
// Ownership: borrows the node and resource managers, both client pools and
// the listener; all must outlive it.
// Thread model: thread-confined to the GCS thread; listener calls and
// `run_after` callbacks happen there.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "proto/common.pb.h"
#include "proto/core_worker.pb.h"
#include "src/comet/common/id.h"
#include "src/comet/gcs/core_worker_client_pool_interface.h"
#include "src/comet/gcs/gcs_node_manager.h"
#include "src/comet/gcs/gcs_resource_manager.h"
#include "src/comet/gcs/raylet_client_pool_interface.h"

namespace comet::gcs {

// Runs a callback on the GCS thread after a delay (a timer in production, a
// queue the test drains in tests).
using RunAfterFn =
    std::function<void(absl::Duration delay, std::function<void()> callback)>;

// A dedicated worker leased for an actor.
struct ActorLease {
  NodeID node_id;
  WorkerID worker_id;
  // node_id, ip_address, port and worker_id of the worker.
  rpc::Address worker_address;
  std::string lease_id;
  int32_t pid = 0;
  std::vector<rpc::ResourceAssignment> resource_assignments;
};

struct GcsActorSchedulerOptions {
  absl::Duration retry_interval = absl::Seconds(1);
};

class GcsActorScheduler {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // A worker was leased for `attempt`. Return false when the attempt is
    // stale: the lease is then returned. On true the creation task is
    // pushed to the worker.
    virtual bool OnWorkerLeased(const ActorID& actor_id, uint64_t attempt,
                                const ActorLease& lease) = 0;
    // The creation task's reply (or the RPC's failure) for `attempt`.
    virtual void OnCreationTaskReplied(const ActorID& actor_id,
                                       uint64_t attempt,
                                       const absl::Status& status,
                                       const rpc::PushTaskReply& reply) = 0;
    // The actor can never be placed (its placement group was removed); the
    // attempt is dropped.
    virtual void OnUnschedulable(const ActorID& actor_id, uint64_t attempt,
                                 const std::string& why) {}
  };

  GcsActorScheduler(const GcsNodeManager* nodes,
                    const GcsResourceManager* resources,
                    RayletClientPool* raylets, CoreWorkerClientPool* workers,
                    RunAfterFn run_after, GcsActorSchedulerOptions options);

  // Set once, before the first Schedule.
  void set_listener(Listener* listener) { listener_ = listener; }

  // Starts attempt `attempt` to create the actor from `creation_spec`
  // (already carrying its attempt_number); replaces any attempt in progress.
  void Schedule(const ActorID& actor_id, uint64_t attempt,
                rpc::TaskSpec creation_spec);

  // Drops the actor's attempt in progress, if any.
  void Cancel(const ActorID& actor_id);

  // Attempts waiting for a node try again.
  void OnNodeAdded();
  // Attempts whose lease request went to `node_id` start over elsewhere.
  void OnNodeRemoved(const NodeID& node_id);

  // Orders on a leased worker; failures are logged. No-ops when the node
  // is no longer alive (the raylet is gone, and the worker with it).
  // Gives the lease back with disconnect_worker (the worker is stopped).
  void ReturnWorker(const ActorLease& lease);
  // SIGKILLs the worker through its raylet.
  void KillWorker(const ActorLease& lease, const std::string& reason);
  // CoreWorkerService.KillActor to the worker itself.
  void KillActor(const ActorLease& lease, const ActorID& actor_id,
                 bool force_kill, const std::string& reason);
  // The worker is gone: drop its connection.
  void ForgetWorker(const ActorLease& lease);

  // Attempts not handed over yet (waiting for a node or for a lease).
  size_t num_pending() const { return pending_.size(); }

 private:
  struct Pending {
    uint64_t attempt = 0;
    rpc::TaskSpec spec;
    // Identifies the lease request in flight; replies to older ones are
    // stale.
    uint64_t request = 0;
    // Where the request in flight went; nullopt while none is.
    std::optional<NodeID> node_id;
  };

  void TryLease(const ActorID& actor_id);
  void RetryLater(const ActorID& actor_id);
  void OnLeaseReply(const ActorID& actor_id, uint64_t attempt, uint64_t request,
                    const NodeID& node_id, const absl::Status& status,
                    const rpc::RequestWorkerLeaseReply& reply);
  void PushCreationTask(const ActorID& actor_id, uint64_t attempt,
                        const rpc::TaskSpec& spec, const ActorLease& lease);
  // A node that can hold `demand`, or nullopt.
  std::optional<rpc::NodeInfo> PickNode(
      const google::protobuf::Map<std::string, double>& demand);
  void ReturnLeaseTo(const rpc::NodeInfo& node,
                     const rpc::RequestWorkerLeaseReply& reply);

  const GcsNodeManager* const nodes_;
  const GcsResourceManager* const resources_;
  RayletClientPool* const raylets_;
  CoreWorkerClientPool* const workers_;
  const RunAfterFn run_after_;
  const GcsActorSchedulerOptions options_;
  Listener* listener_ = nullptr;

  uint64_t next_request_ = 1;
  absl::flat_hash_map<ActorID, Pending> pending_;
  // Actors whose retry timer is set, so that one timer per actor runs.
  absl::flat_hash_set<ActorID> retry_scheduled_;
  // Demands already logged as fitting no node.
  absl::flat_hash_set<ActorID> warned_unplaceable_;
  absl::BitGen random_;
};

}  // namespace comet::gcs
