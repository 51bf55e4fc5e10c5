#include "src/comet/core_worker/normal_task_submitter.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "src/comet/common/logging.h"
#include "src/comet/rpc/async_call.h"

namespace comet::core {
namespace {

std::string AddressString(const rpc::Address& a) { return absl::StrCat(a.ip_address(), ":", a.port()); }

}  // namespace

std::string SchedulingKey(const rpc::TaskSpec& spec) {
  std::map<std::string, double> sorted(spec.required_resources().begin(),
                                       spec.required_resources().end());
  std::string key = spec.function_id();
  for (const auto& [name, qty] : sorted) absl::StrAppend(&key, "|", name, "=", qty);
  absl::StrAppend(&key, "|s", static_cast<int>(spec.scheduling_strategy()));
  if (!spec.runtime_env().hash().empty()) absl::StrAppend(&key, "|e", spec.runtime_env().hash());
  if (spec.max_calls() > 0) absl::StrAppend(&key, "|m", spec.max_calls());
  return key;
}

NormalTaskSubmitter::NormalTaskSubmitter(SubmitterOptions options, TaskManager* task_manager,
                                         MemoryStore* memory_store,
                                         std::function<bool(const ObjectID&)> is_owned,
                                         rpc::ClientPool<rpc::NodeManagerService>* raylets,
                                         rpc::ClientPool<rpc::CoreWorkerService>* workers)
    : options_(std::move(options)), task_manager_(task_manager), memory_store_(memory_store),
      is_owned_(std::move(is_owned)), raylets_(raylets), workers_(workers) {}

void NormalTaskSubmitter::Submit(rpc::TaskSpec spec) {
  // Owned reference arguments must exist before the task can go out.
  std::vector<std::pair<int, ObjectID>> waiting;
  for (int i = 0; i < spec.args_size(); ++i) {
    if (!spec.args(i).has_ref()) continue;
    auto id = ObjectID::FromBinary(spec.args(i).ref().object_id());
    if (id.ok() && is_owned_(*id)) waiting.emplace_back(i, *id);
  }
  if (waiting.empty()) {
    OnDependenciesResolved(std::move(spec));
    return;
  }
  struct Resolution {
    rpc::TaskSpec spec;
    std::atomic<int> remaining;
    absl::Mutex mu;
  };
  auto res = std::make_shared<Resolution>();
  res->spec = std::move(spec);
  res->remaining = static_cast<int>(waiting.size());
  for (const auto& [index, id] : waiting) {
    int i = index;
    memory_store_->GetAsync(id, [this, res, i](ObjectPtr obj) {
      {
        absl::MutexLock lock(&res->mu);
        // Small values travel inside the spec; big ones stay in plasma.
        if (!obj->in_plasma && obj->size <= options_.max_direct_call_object_size) {
          rpc::TaskArg* arg = res->spec.mutable_args(i);
          rpc::SerializedObject* value = arg->mutable_value();
          value->set_data(obj->data);
          value->set_metadata(obj->metadata);
          for (const auto& ref : obj->nested_refs) *value->add_nested_refs() = ref;
        }
      }
      if (--res->remaining == 0) OnDependenciesResolved(std::move(res->spec));
    });
  }
}

void NormalTaskSubmitter::OnDependenciesResolved(rpc::TaskSpec spec) {
  auto task_id = TaskID::FromBinary(spec.task_id());
  if (task_id.ok() && task_manager_->IsCancelled(*task_id)) {
    task_manager_->FailTask(*task_id, kTaskCancelled, "cancelled", false);
    return;
  }
  std::string key = SchedulingKey(spec);
  absl::MutexLock lock(&mu_);
  ClassState& state = classes_[key];
  if (state.lease_request.scheduling_class().empty()) {
    state.lease_request.set_scheduling_class(key);
    state.lease_request.mutable_required_resources()->insert(spec.required_resources().begin(),
                                                             spec.required_resources().end());
    state.lease_request.set_job_id(spec.job_id());
    state.lease_request.set_requester_pid(static_cast<int32_t>(getpid()));
    state.lease_request.set_requester_node_id(options_.node_id);
    state.lease_request.set_requester_worker_id(options_.worker_id);
    state.lease_request.set_scheduling_strategy(spec.scheduling_strategy());
    // The class's first task speaks for its leases (the memory monitor
    // kills the workers of retriable work first).
    state.lease_request.set_is_retriable(spec.max_retries() != 0);
    if (spec.has_runtime_env()) {
      *state.lease_request.mutable_runtime_env() = spec.runtime_env();
    }
    // A max_calls worker may exit after any task: nothing is pushed ahead to it.
    state.one_task_per_lease = spec.scheduling_strategy() == rpc::SPREAD || spec.max_calls() > 0;
  }
  state.queue.push_back(std::move(spec));
  Schedule(key);
}

int NormalTaskSubmitter::MaxInFlight(const ClassState& state) const {
  bool short_tasks = state.task_ms >= 0 && state.task_ms < options_.pipeline_threshold_ms;
  return short_tasks ? std::max(1, options_.max_tasks_in_flight_per_worker) : 1;
}

void NormalTaskSubmitter::Schedule(const std::string& key) {
  ClassState& state = classes_[key];
  // Fill leased workers first, one slot per worker per pass.
  int limit = MaxInFlight(state);
  bool pushed = true;
  while (pushed && !state.queue.empty()) {
    pushed = false;
    for (const auto& lease : state.leases) {
      if (lease->dead || state.queue.empty() || lease->in_flight >= limit) continue;
      if (state.one_task_per_lease && lease->tasks_pushed > 0) continue;
      rpc::TaskSpec spec = std::move(state.queue.front());
      state.queue.pop_front();
      PushTask(key, lease, std::move(spec));
      pushed = true;
    }
  }
  // Ask for more workers while work waits.
  int64_t wanted = std::min<int64_t>(static_cast<int64_t>(state.queue.size()),
                                     options_.max_pending_lease_requests_per_class);
  while (state.pending_lease_requests < wanted) RequestLease(key, state);
}

void NormalTaskSubmitter::RequestLease(const std::string& key, ClassState& state,
                                       const std::string& raylet_address) {
  state.pending_lease_requests++;
  rpc::RequestWorkerLeaseRequest request = state.lease_request;
  request.set_backlog_size(static_cast<int64_t>(state.queue.size()));
  if (!state.queue.empty()) request.set_task_id(state.queue.front().task_id());
  std::string address = raylet_address.empty() ? options_.raylet_address : raylet_address;
  request.set_grant_or_reject(address != options_.raylet_address);
  auto stub = raylets_->Get(address);
  rpc::CallAsync<rpc::RequestWorkerLeaseRequest, rpc::RequestWorkerLeaseReply>(
      [stub](auto* ctx, auto* req, auto* reply, auto done) {
        stub->async()->RequestWorkerLease(ctx, req, reply, std::move(done));
      },
      std::move(request),
      [this, key, address](const grpc::Status& status, rpc::RequestWorkerLeaseReply&& reply) {
        OnLeaseGranted(key, address, status, std::move(reply));
      }, -1, options_.calls);
}

void NormalTaskSubmitter::OnLeaseGranted(const std::string& key,
                                         const std::string& raylet_address,
                                         const grpc::Status& status,
                                         rpc::RequestWorkerLeaseReply reply) {
  std::vector<rpc::TaskSpec> failed;
  std::string failure;
  const char* failure_kind = kTaskUnschedulable;
  std::shared_ptr<Lease> unused;
  {
    absl::MutexLock lock(&mu_);
    ClassState& state = classes_[key];
    state.pending_lease_requests--;
    if (status.ok() && !reply.rejected() && reply.has_retry_at_raylet_address() &&
        !reply.retry_at_raylet_address().ip_address().empty()) {
      // Spilled back: ask the node the raylet chose, if work still waits.
      if (!state.queue.empty()) {
        RequestLease(key, state, AddressString(reply.retry_at_raylet_address()));
      }
      return;
    }
    if (!status.ok() && raylet_address != options_.raylet_address) {
      // The node it was spilled to is gone: start over at the local raylet.
      COMET_LOG(WARNING) << "lease request at " << raylet_address
                         << " failed: " << status.error_message();
      if (!state.queue.empty()) RequestLease(key, state);
      return;
    }
    if (!status.ok() || reply.rejected()) {
      failure = status.ok() ? reply.failure_message()
                            : absl::StrCat("the raylet is unreachable: ", status.error_message());
      // Requests cancelled by this process's own shutdown are no failure.
      bool shutting_down = options_.calls != nullptr && options_.calls->closed();
      if (!shutting_down) COMET_LOG(WARNING) << "worker lease failed: " << failure;
      // Nothing else will run these tasks: fail them. Nothing can run them
      // once their placement group is gone.
      if (status.ok() && reply.placement_group_removed()) failure_kind = kTaskPlacementGroupRemoved;
      if (status.ok() && reply.runtime_env_setup_failed()) failure_kind = kTaskRuntimeEnvSetupFailed;
      if ((state.pending_lease_requests == 0 && state.leases.empty()) ||
          failure_kind != kTaskUnschedulable) {
        failed.assign(std::make_move_iterator(state.queue.begin()),
                      std::make_move_iterator(state.queue.end()));
        state.queue.clear();
      }
    } else {
      auto lease = std::make_shared<Lease>();
      lease->grant = std::move(reply);
      lease->raylet_address = raylet_address;
      lease->worker_address = AddressString(lease->grant.worker_address());
      auto worker_id = WorkerID::FromBinary(lease->grant.worker_address().worker_id());
      if (worker_id.ok()) lease->worker_id = *worker_id;
      if (state.queue.empty()) {
        unused = lease;
      } else {
        state.leases.push_back(lease);
        Schedule(key);
      }
    }
  }
  if (unused) ReturnLease(unused, /*disconnect=*/false);
  for (const rpc::TaskSpec& spec : failed) {
    auto task_id = TaskID::FromBinary(spec.task_id());
    if (task_id.ok()) task_manager_->FailTask(*task_id, failure_kind, failure, false);
  }
}

void NormalTaskSubmitter::PushTask(const std::string& key, const std::shared_ptr<Lease>& lease,
                                   rpc::TaskSpec spec) {
  bool clean_sample = lease->in_flight == 0;
  lease->in_flight++;
  lease->tasks_pushed++;
  auto task_id = TaskID::FromBinary(spec.task_id());
  if (task_id.ok()) running_[*task_id] = Running{key, lease, absl::Now(), clean_sample};
  rpc::PushTaskRequest request;
  *request.mutable_task_spec() = std::move(spec);
  request.set_intended_worker_id(lease->worker_id.Binary());
  *request.mutable_resource_assignments() = lease->grant.resource_assignments();
  auto stub = workers_->Get(lease->worker_address);
  TaskID id = task_id.ok() ? *task_id : TaskID::Nil();
  rpc::CallAsync<rpc::PushTaskRequest, rpc::PushTaskReply>(
      [stub](auto* ctx, auto* req, auto* reply, auto done) {
        stub->async()->PushTask(ctx, req, reply, std::move(done));
      },
      std::move(request),
      [this, key, lease, id](const grpc::Status& status, rpc::PushTaskReply&& reply) {
        OnPushReply(key, lease, id, status, std::move(reply));
      }, -1, options_.calls);
}

void NormalTaskSubmitter::OnPushReply(const std::string& key, const std::shared_ptr<Lease>& lease,
                                      const TaskID& task_id, const grpc::Status& status,
                                      rpc::PushTaskReply reply) {
  bool return_lease = false;
  bool disconnect = false;
  {
    absl::MutexLock lock(&mu_);
    RecordTaskTime(task_id);
    running_.erase(task_id);
    lease->in_flight--;
    if (!status.ok() || reply.worker_exiting()) lease->dead = true;
    ClassState& state = classes_[key];
    if (lease->dead || state.queue.empty() || state.one_task_per_lease) {
      if (lease->in_flight == 0) {
        auto& leases = state.leases;
        leases.erase(std::remove(leases.begin(), leases.end(), lease), leases.end());
        return_lease = true;
        disconnect = lease->dead;
      }
    }
    if (!state.queue.empty()) Schedule(key);
  }
  if (return_lease) ReturnLease(lease, disconnect);
  if (status.ok()) {
    task_manager_->CompleteTask(task_id, reply);
  } else {
    FailWithCause(lease, task_id,
                  absl::StrCat("the worker running task ", task_id.Hex(), " died (",
                               status.error_message(), ")"));
  }
}

void NormalTaskSubmitter::FailWithCause(const std::shared_ptr<Lease>& lease,
                                        const TaskID& task_id, std::string crashed) {
  // The raylet knows when its memory monitor killed the worker (it records
  // why before the kill): then the task fails with OutOfMemoryError.
  rpc::GetWorkerFailureCauseRequest request;
  request.set_worker_id(lease->worker_id.Binary());
  auto stub = raylets_->Get(lease->raylet_address);
  rpc::CallAsync<rpc::GetWorkerFailureCauseRequest, rpc::GetWorkerFailureCauseReply>(
      [stub](auto* ctx, auto* req, auto* reply, auto done) {
        stub->async()->GetWorkerFailureCause(ctx, req, reply, std::move(done));
      },
      std::move(request),
      [this, task_id, crashed = std::move(crashed)](const grpc::Status& status,
                                                    rpc::GetWorkerFailureCauseReply&& reply) {
        if (status.ok() && reply.out_of_memory()) {
          task_manager_->FailTask(task_id, kOutOfMemory,
                                  absl::StrCat("Task ", task_id.Hex(), " was killed: ",
                                               reply.message()),
                                  /*retryable=*/true);
        } else {
          task_manager_->FailTask(task_id, kWorkerCrashed, crashed, /*retryable=*/true);
        }
      },
      2000, options_.calls);
}

void NormalTaskSubmitter::RecordTaskTime(const TaskID& task_id) {
  auto it = running_.find(task_id);
  if (it == running_.end() || !it->second.clean_sample) return;
  double ms = absl::ToDoubleMilliseconds(absl::Now() - it->second.pushed);
  ClassState& state = classes_[it->second.key];
  state.task_ms = state.task_ms < 0 ? ms : 0.8 * state.task_ms + 0.2 * ms;
}

void NormalTaskSubmitter::ReturnLease(const std::shared_ptr<Lease>& lease, bool disconnect) {
  rpc::ReturnWorkerRequest request;
  request.set_worker_id(lease->worker_id.Binary());
  request.set_lease_id(lease->grant.lease_id());
  request.set_disconnect_worker(disconnect);
  auto stub = raylets_->Get(lease->raylet_address);
  rpc::CallAsync<rpc::ReturnWorkerRequest, rpc::ReturnWorkerReply>(
      [stub](auto* ctx, auto* req, auto* reply, auto done) {
        stub->async()->ReturnWorker(ctx, req, reply, std::move(done));
      },
      std::move(request), [](const grpc::Status& status, rpc::ReturnWorkerReply&&) {
        if (!status.ok()) COMET_LOG(WARNING) << "ReturnWorker failed: " << status.error_message();
      }, 5000, options_.calls, rpc::AtShutdown::kFinish);
}

bool NormalTaskSubmitter::Cancel(const TaskID& task_id, bool force, bool recursive) {
  std::shared_ptr<Lease> lease;
  bool was_queued = false;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [key, state] : classes_) {
      auto it = std::find_if(state.queue.begin(), state.queue.end(),
                             [&](const rpc::TaskSpec& s) { return s.task_id() == task_id.Binary(); });
      if (it != state.queue.end()) {
        state.queue.erase(it);
        was_queued = true;
        break;
      }
    }
    if (!was_queued) {
      auto it = running_.find(task_id);
      if (it != running_.end()) lease = it->second.lease;
    }
  }
  task_manager_->MarkCancelled(task_id);
  if (was_queued) {
    task_manager_->FailTask(task_id, kTaskCancelled, "cancelled", false);
    return true;
  }
  if (!lease) return task_manager_->IsPending(task_id);
  if (force) {
    rpc::KillWorkerRequest request;
    request.set_worker_id(lease->worker_id.Binary());
    request.set_reason(absl::StrCat("force-cancel of task ", task_id.Hex()));
    auto stub = raylets_->Get(lease->raylet_address);
    rpc::CallAsync<rpc::KillWorkerRequest, rpc::KillWorkerReply>(
        [stub](auto* ctx, auto* req, auto* reply, auto done) {
          stub->async()->KillWorker(ctx, req, reply, std::move(done));
        },
        std::move(request), [](const grpc::Status&, rpc::KillWorkerReply&&) {}, -1, options_.calls);
  } else {
    rpc::CancelTaskRequest request;
    request.set_task_id(task_id.Binary());
    request.set_recursive(recursive);
    auto stub = workers_->Get(lease->worker_address);
    rpc::CallAsync<rpc::CancelTaskRequest, rpc::CancelTaskReply>(
        [stub](auto* ctx, auto* req, auto* reply, auto done) {
          stub->async()->CancelTask(ctx, req, reply, std::move(done));
        },
        std::move(request), [](const grpc::Status&, rpc::CancelTaskReply&&) {}, -1, options_.calls);
  }
  return true;
}

size_t NormalTaskSubmitter::NumQueued() const {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [key, state] : classes_) n += state.queue.size();
  return n;
}

}  // namespace comet::core
