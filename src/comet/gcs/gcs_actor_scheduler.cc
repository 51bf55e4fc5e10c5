#include "src/comet/gcs/gcs_actor_scheduler.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "src/comet/common/logging.h"

namespace comet::gcs {
namespace {

// Quantities are doubles on the wire; compare with a little slack.
constexpr double kEpsilon = 1e-9;

bool Fits(const google::protobuf::Map<std::string, double>& demand,
          const google::protobuf::Map<std::string, double>& have) {
  for (const auto& [name, quantity] : demand) {
    if (quantity <= 0) continue;
    auto it = have.find(name);
    if (it == have.end() || it->second + kEpsilon < quantity) return false;
  }
  return true;
}

std::string Describe(const google::protobuf::Map<std::string, double>& demand) {
  std::string out = "{";
  for (const auto& [name, quantity] : demand) {
    absl::StrAppend(&out, out.size() > 1 ? ", " : "", name, ": ", quantity);
  }
  return out + "}";
}

void LogFailure(const char* what, const absl::Status& status) {
  if (!status.ok()) COMET_LOG(WARNING) << what << ": " << status;
}

}  // namespace

GcsActorScheduler::GcsActorScheduler(const GcsNodeManager* nodes,
                                     const GcsResourceManager* resources,
                                     RayletClientPool* raylets,
                                     CoreWorkerClientPool* workers,
                                     RunAfterFn run_after,
                                     GcsActorSchedulerOptions options)
    : nodes_(nodes),
      resources_(resources),
      raylets_(raylets),
      workers_(workers),
      run_after_(std::move(run_after)),
      options_(options) {}

void GcsActorScheduler::Schedule(const ActorID& actor_id, uint64_t attempt,
                                 rpc::TaskSpec creation_spec) {
  Pending& pending = pending_[actor_id];
  pending = Pending();
  pending.attempt = attempt;
  pending.spec = std::move(creation_spec);
  TryLease(actor_id);
}

void GcsActorScheduler::Cancel(const ActorID& actor_id) {
  pending_.erase(actor_id);
  warned_unplaceable_.erase(actor_id);
}

void GcsActorScheduler::OnNodeAdded() {
  std::vector<ActorID> waiting;
  for (const auto& [actor_id, pending] : pending_) {
    if (!pending.node_id) waiting.push_back(actor_id);
  }
  for (const ActorID& actor_id : waiting) TryLease(actor_id);
}

void GcsActorScheduler::OnNodeRemoved(const NodeID& node_id) {
  raylets_->Forget(node_id);
  std::vector<ActorID> moved;
  for (auto& [actor_id, pending] : pending_) {
    if (pending.node_id == node_id) {
      pending.node_id.reset();
      moved.push_back(actor_id);
    }
  }
  for (const ActorID& actor_id : moved) TryLease(actor_id);
}

void GcsActorScheduler::TryLease(const ActorID& actor_id) {
  auto it = pending_.find(actor_id);
  if (it == pending_.end() || it->second.node_id) return;
  Pending& pending = it->second;
  std::optional<rpc::NodeInfo> node =
      PickNode(pending.spec.required_resources());
  if (!node) {
    if (warned_unplaceable_.insert(actor_id).second) {
      COMET_LOG(WARNING) << "actor " << actor_id << " needs "
                         << Describe(pending.spec.required_resources())
                         << ", which no alive node has; it waits";
    }
    RetryLater(actor_id);
    return;
  }
  warned_unplaceable_.erase(actor_id);
  NodeID node_id = *NodeID::FromBinary(node->node_id());
  pending.node_id = node_id;
  pending.request = next_request_++;
  rpc::RequestWorkerLeaseRequest request;
  *request.mutable_required_resources() = pending.spec.required_resources();
  request.set_job_id(pending.spec.job_id());
  request.set_scheduling_strategy(pending.spec.scheduling_strategy());
  request.set_task_id(pending.spec.task_id());
  request.set_is_actor_creation(true);
  request.set_actor_id(actor_id.Binary());
  // An actor that restarts is the memory monitor's first choice, as in Ray.
  request.set_is_retriable(pending.spec.actor_creation().max_restarts() != 0);
  if (pending.spec.has_runtime_env()) {
    *request.mutable_runtime_env() = pending.spec.runtime_env();
  }
  raylets_->RequestWorkerLease(
      *node, std::move(request),
      [this, actor_id, attempt = pending.attempt, id = pending.request,
       node_id](const absl::Status& status,
                rpc::RequestWorkerLeaseReply reply) {
        OnLeaseReply(actor_id, attempt, id, node_id, status, reply);
      });
}

void GcsActorScheduler::RetryLater(const ActorID& actor_id) {
  if (!retry_scheduled_.insert(actor_id).second) return;
  // Whatever attempt is pending by then tries (TryLease is a no-op while a
  // request is in flight).
  run_after_(options_.retry_interval, [this, actor_id] {
    retry_scheduled_.erase(actor_id);
    TryLease(actor_id);
  });
}

void GcsActorScheduler::OnLeaseReply(
    const ActorID& actor_id, uint64_t attempt, uint64_t request,
    const NodeID& node_id, const absl::Status& status,
    const rpc::RequestWorkerLeaseReply& reply) {
  bool granted = status.ok() && !reply.rejected() &&
                 !reply.worker_address().worker_id().empty();
  auto it = pending_.find(actor_id);
  bool current = it != pending_.end() && it->second.attempt == attempt &&
                 it->second.request == request;
  const rpc::NodeInfo* node = nodes_->GetAliveNode(node_id);
  if (!current) {
    if (granted && node != nullptr) ReturnLeaseTo(*node, reply);
    return;
  }
  Pending& pending = it->second;
  if (status.ok() && (reply.placement_group_removed() || reply.runtime_env_setup_failed())) {
    pending_.erase(it);
    std::string why = reply.runtime_env_setup_failed()
                          ? absl::StrCat("its runtime_env could not be set up: ",
                                         reply.failure_message())
                          : reply.failure_message();
    if (listener_ != nullptr) listener_->OnUnschedulable(actor_id, attempt, why);
    return;
  }
  if (!granted || node == nullptr) {
    // Rejected (the raylet is shutting down), the RPC failed, the node
    // died, or the raylet redirected us (multi-node, not yet): again later.
    COMET_LOG(WARNING) << "worker lease for actor " << actor_id << " on node "
                       << node_id << " failed: "
                       << (!status.ok() ? status.ToString()
                           : reply.rejected()
                               ? reply.failure_message()
                               : std::string(node == nullptr
                                                 ? "the node died"
                                                 : "no worker in the reply"));
    if (granted) ReturnLeaseTo(*node, reply);
    pending.node_id.reset();
    RetryLater(actor_id);
    return;
  }
  ActorLease lease;
  lease.node_id = node_id;
  lease.worker_id = WorkerID::FromBinary(reply.worker_address().worker_id())
                        .value_or(WorkerID::Nil());
  lease.worker_address = reply.worker_address();
  lease.lease_id = reply.lease_id();
  lease.pid = reply.worker_pid();
  lease.resource_assignments.assign(reply.resource_assignments().begin(),
                                    reply.resource_assignments().end());
  rpc::TaskSpec spec = std::move(pending.spec);
  pending_.erase(it);
  if (lease.worker_id.IsNil() ||
      !listener_->OnWorkerLeased(actor_id, attempt, lease)) {
    ReturnLeaseTo(*node, reply);
    return;
  }
  PushCreationTask(actor_id, attempt, spec, lease);
}

void GcsActorScheduler::PushCreationTask(const ActorID& actor_id,
                                         uint64_t attempt,
                                         const rpc::TaskSpec& spec,
                                         const ActorLease& lease) {
  rpc::PushTaskRequest request;
  *request.mutable_task_spec() = spec;
  request.set_intended_worker_id(lease.worker_id.Binary());
  for (const rpc::ResourceAssignment& assignment : lease.resource_assignments) {
    *request.add_resource_assignments() = assignment;
  }
  workers_->PushTask(lease.worker_address, std::move(request),
                     [this, actor_id, attempt](const absl::Status& status,
                                               rpc::PushTaskReply reply) {
                       listener_->OnCreationTaskReplied(actor_id, attempt,
                                                        status, reply);
                     });
}

std::optional<rpc::NodeInfo> GcsActorScheduler::PickNode(
    const google::protobuf::Map<std::string, double>& demand) {
  absl::flat_hash_map<std::string, rpc::NodeResources> views;
  for (rpc::NodeResources& view : resources_->GetAllResourceUsage()) {
    std::string id = view.node_id();
    views[id] = std::move(view);
  }
  std::vector<rpc::NodeInfo> available, feasible;
  for (rpc::NodeInfo& node : nodes_->GetAllNodes()) {
    if (node.state() != rpc::NodeInfo::ALIVE) continue;
    auto view = views.find(node.node_id());
    bool reported =
        view != views.end() && !view->second.total().quantities().empty();
    const auto& total = reported ? view->second.total().quantities()
                                 : node.total_resources().quantities();
    if (!Fits(demand, total)) continue;
    if (!reported || Fits(demand, view->second.available().quantities())) {
      available.push_back(std::move(node));
    } else {
      feasible.push_back(std::move(node));
    }
  }
  std::vector<rpc::NodeInfo>& pool = available.empty() ? feasible : available;
  if (pool.empty()) return std::nullopt;
  size_t index = absl::Uniform<size_t>(random_, 0, pool.size());
  return std::move(pool[index]);
}

void GcsActorScheduler::ReturnLeaseTo(
    const rpc::NodeInfo& node, const rpc::RequestWorkerLeaseReply& reply) {
  rpc::ReturnWorkerRequest request;
  request.set_worker_id(reply.worker_address().worker_id());
  request.set_lease_id(reply.lease_id());
  request.set_disconnect_worker(true);
  raylets_->ReturnWorker(
      node, std::move(request),
      [](const absl::Status& status, rpc::ReturnWorkerReply) {
        LogFailure("ReturnWorker of a stale actor lease", status);
      });
}

void GcsActorScheduler::ReturnWorker(const ActorLease& lease) {
  const rpc::NodeInfo* node = nodes_->GetAliveNode(lease.node_id);
  if (node == nullptr) return;
  rpc::ReturnWorkerRequest request;
  request.set_worker_id(lease.worker_id.Binary());
  request.set_lease_id(lease.lease_id);
  request.set_disconnect_worker(true);
  raylets_->ReturnWorker(
      *node, std::move(request),
      [](const absl::Status& status, rpc::ReturnWorkerReply) {
        LogFailure("ReturnWorker of an actor's lease", status);
      });
}

void GcsActorScheduler::KillWorker(const ActorLease& lease,
                                   const std::string& reason) {
  const rpc::NodeInfo* node = nodes_->GetAliveNode(lease.node_id);
  if (node == nullptr) return;
  rpc::KillWorkerRequest request;
  request.set_worker_id(lease.worker_id.Binary());
  request.set_reason(reason);
  raylets_->KillWorker(*node, std::move(request),
                       [](const absl::Status& status, rpc::KillWorkerReply) {
                         // NotFound: it exited already.
                         if (!absl::IsNotFound(status)) {
                           LogFailure("KillWorker of an actor's worker",
                                      status);
                         }
                       });
}

void GcsActorScheduler::KillActor(const ActorLease& lease,
                                  const ActorID& actor_id, bool force_kill,
                                  const std::string& reason) {
  rpc::KillActorRequest request;
  request.set_actor_id(actor_id.Binary());
  request.set_force_kill(force_kill);
  request.set_reason(reason);
  workers_->KillActor(lease.worker_address, std::move(request),
                      [](const absl::Status&, rpc::KillActorReply) {
                        // A worker that exits at once may not answer.
                      });
}

void GcsActorScheduler::ForgetWorker(const ActorLease& lease) {
  workers_->Forget(lease.worker_address);
}

}  // namespace comet::gcs
