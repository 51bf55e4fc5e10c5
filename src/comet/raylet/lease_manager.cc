#include "src/comet/raylet/lease_manager.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "src/comet/common/logging.h"

namespace comet::raylet {
namespace {

constexpr size_t kLeaseIdSize = 16;

// CPUs, including a placement-group bundle's ("CPU_group_..."): what a
// blocked worker lends.
bool IsCpu(absl::string_view name) {
  return name == "CPU" || absl::StartsWith(name, "CPU_group_");
}

}  // namespace

LeaseManager::LeaseManager(LocalResourceManager* resources,
                           WorkerPoolInterface* pool,
                           LeaseManagerOptions options)
    : resources_(resources), pool_(pool), options_(options) {}

LeaseManager::RequestId LeaseManager::RequestLease(LeaseRequest request,
                                                   LeaseCallback callback,
                                                   absl::Time now) {
  RequestId id = next_request_id_++;
  Queued& queued = requests_[id];
  queued.id = id;
  queued.callback = std::move(callback);
  queued.request = std::move(request);
  ++demand_version_;
  Enqueue(queued);
  if (queued.stage != Stage::kInfeasible) Schedule(now);
  return id;
}

void LeaseManager::Enqueue(Queued& queued) {
  const ResourceSet& demand = queued.request.demand;
  if (!resources_->IsFeasible(demand)) {
    queued.stage = Stage::kInfeasible;
    infeasible_.push_back(queued.id);
    if (warned_infeasible_.insert(demand).second) {
      COMET_LOG(WARNING) << "lease demand " << demand.ToString()
                         << " can never fit this node (total "
                         << resources_->total().ToString()
                         << "); such requests wait until the cluster grows";
    }
    return;
  }
  std::string key = queued.request.scheduling_class.empty()
                        ? absl::StrCat("demand:", demand.ToString())
                        : queued.request.scheduling_class;
  auto it = class_index_.find(key);
  if (it == class_index_.end()) {
    classes_.push_back(ClassQueue{key, {}});
    it = class_index_.emplace(key, std::prev(classes_.end())).first;
  }
  it->second->requests.push_back(queued.id);
  queued.stage = Stage::kWaitingForResources;
}

void LeaseManager::OnTotalResourcesChanged(absl::Time now) {
  // Infeasible requests that fit the node now, and waiting ones that no
  // longer can, change places.
  std::vector<RequestId> moved;
  for (RequestId id : infeasible_) {
    if (resources_->IsFeasible(requests_.at(id).request.demand)) {
      moved.push_back(id);
    }
  }
  for (const ClassQueue& queue : classes_) {
    for (RequestId id : queue.requests) {
      if (!resources_->IsFeasible(requests_.at(id).request.demand)) {
        moved.push_back(id);
      }
    }
  }
  for (RequestId id : moved) {
    Queued& queued = requests_.at(id);
    Detach(queued);
    Enqueue(queued);
  }
  if (!moved.empty()) ++demand_version_;
  Schedule(now);
}

void LeaseManager::Schedule(absl::Time now) {
  bool undone = false;
  if (PlaceOnResources()) ++demand_version_;
  DispatchToWorkers(now, &undone);
  StartWorkers(now);
  // A requester that vanished gave its worker and resources back.
  if (undone) Schedule(now);
}

bool LeaseManager::PlaceOnResources() {
  bool placed_any = false;
  bool progress = true;
  while (progress) {
    progress = false;
    // One round: each class places at most its oldest request, and a class
    // that placed one goes to the back of the line.
    size_t round = classes_.size();
    auto it = classes_.begin();
    for (size_t i = 0; i < round; ++i) {
      auto current = it++;
      if (current->requests.empty()) {
        class_index_.erase(current->key);
        classes_.erase(current);
        continue;
      }
      Queued& queued = requests_.at(current->requests.front());
      auto allocation = resources_->Allocate(queued.request.demand);
      if (!allocation) continue;
      queued.allocation = std::move(*allocation);
      queued.stage = Stage::kWaitingForWorker;
      waiting_for_worker_.push_back(queued.id);
      current->requests.pop_front();
      classes_.splice(classes_.end(), classes_, current);
      progress = placed_any = true;
    }
  }
  return placed_any;
}

void LeaseManager::DispatchToWorkers(absl::Time now, bool* undone) {
  std::deque<RequestId> still_waiting;
  while (!waiting_for_worker_.empty()) {
    RequestId id = waiting_for_worker_.front();
    waiting_for_worker_.pop_front();
    Queued& queued = requests_.at(id);
    auto worker = pool_->PopIdleWorker(queued.request.job_id, queued.request.env.hash,
                                       queued.request.demand.HasGpus(), now);
    if (!worker) {
      still_waiting.push_back(id);
      continue;
    }
    Queued taken = std::move(queued);
    requests_.erase(id);
    if (!Grant(std::move(taken), *worker, now)) *undone = true;
  }
  waiting_for_worker_ = std::move(still_waiting);
}

void LeaseManager::StartWorkers(absl::Time now) {
  // Requests waiting for a worker, per runtime_env (first request's env).
  absl::flat_hash_map<std::string, std::pair<size_t, const WorkerEnv*>> waiting;
  for (RequestId id : waiting_for_worker_) {
    const WorkerEnv& env = requests_.at(id).request.env;
    auto [it, fresh] = waiting.try_emplace(env.hash, 0, &env);
    ++it->second.first;
  }
  for (const auto& [hash, entry] : waiting) {
    size_t starting = pool_->NumStartingWorkers(hash);
    size_t wanted = std::min(entry.first,
                             std::max<size_t>(options_.max_starting_workers, 1));
    while (starting < wanted) {
      if (!pool_->StartWorker(now, *entry.second).ok()) return;  // Retried later.
      ++starting;
    }
  }
}

bool LeaseManager::Grant(Queued queued, const LeasedWorker& worker,
                         absl::Time now) {
  LeaseOutcome outcome;
  outcome.grant.emplace();
  outcome.grant->lease_id = NewLeaseId();
  outcome.grant->worker = worker;
  outcome.grant->instances = queued.allocation->instances;
  Lease& lease = leases_[worker.worker_id];
  lease.lease_id = outcome.grant->lease_id;
  lease.allocation = std::move(*queued.allocation);
  lease.dedicated = queued.request.dedicated;
  lease.retriable = queued.request.retriable;
  lease.granted_at = now;
  lease.requester = queued.request.requester;
  if (queued.callback(outcome)) return true;
  COMET_LOG(INFO) << "lease requester for task "
                  << absl::BytesToHexString(queued.request.task_id)
                  << " is gone; worker " << worker.worker_id << " back to idle";
  EndLease(worker.worker_id);
  pool_->PushIdleWorker(worker.worker_id, now);
  return false;
}

LeaseManager::Queued LeaseManager::Remove(RequestId id) {
  auto it = requests_.find(id);
  COMET_CHECK(it != requests_.end());
  Queued queued = std::move(it->second);
  requests_.erase(it);
  Detach(queued);
  return queued;
}

void LeaseManager::Detach(const Queued& queued) {
  auto erase_from = [id = queued.id](std::deque<RequestId>& queue) {
    queue.erase(std::remove(queue.begin(), queue.end(), id), queue.end());
  };
  switch (queued.stage) {
    case Stage::kInfeasible:
      erase_from(infeasible_);
      ++demand_version_;
      break;
    case Stage::kWaitingForResources:
      for (ClassQueue& queue : classes_) erase_from(queue.requests);
      ++demand_version_;
      break;
    case Stage::kWaitingForWorker:
      erase_from(waiting_for_worker_);
      break;
  }
}

void LeaseManager::Reject(RequestId id, absl::string_view message) {
  LeaseOutcome outcome;
  outcome.failure_message = std::string(message);
  Reject(id, outcome);
}

void LeaseManager::Reject(RequestId id, const LeaseOutcome& outcome) {
  Queued queued = Remove(id);
  if (queued.allocation) resources_->Free(*queued.allocation);
  queued.callback(outcome);
}

std::vector<WorkerID> LeaseManager::LeasesWhere(
    const std::function<bool(const Lease&)>& matches) const {
  std::vector<WorkerID> out;
  for (const auto& [worker_id, lease] : leases_) {
    if (matches(lease)) out.push_back(worker_id);
  }
  return out;
}

std::vector<ActiveLease> LeaseManager::ActiveLeases() const {
  std::vector<ActiveLease> out;
  out.reserve(leases_.size());
  for (const auto& [worker_id, lease] : leases_) {
    out.push_back({worker_id, lease.requester.worker, lease.dedicated, lease.retriable,
                   lease.granted_at});
  }
  return out;
}

std::vector<WorkerID> LeaseManager::LeasesOfGoneRequesters(
    const std::function<bool(const LeaseRequester&)>& gone) const {
  return LeasesWhere(
      [&gone](const Lease& lease) { return !lease.dedicated && gone(lease.requester); });
}

std::vector<WorkerID> LeaseManager::LeasesUsing(
    const std::function<bool(const ResourceSet& amounts)>& uses) const {
  return LeasesWhere([&uses](const Lease& lease) { return uses(lease.allocation.amounts); });
}

void LeaseManager::SpillQueued(
    const std::function<std::optional<SpillbackTarget>(const LeaseRequest&)>& choose,
    absl::Time now) {
  std::vector<std::pair<RequestId, SpillbackTarget>> spilled;
  for (const auto& [id, queued] : requests_) {
    if (queued.stage == Stage::kWaitingForWorker) continue;
    if (auto target = choose(queued.request)) spilled.emplace_back(id, *std::move(target));
  }
  for (auto& [id, target] : spilled) {
    Queued queued = Remove(id);
    LeaseOutcome outcome;
    outcome.spillback = std::move(target);
    queued.callback(outcome);
  }
  if (!spilled.empty()) Schedule(now);
}

bool LeaseManager::CancelByTaskId(absl::string_view task_id, absl::Time now) {
  LeaseOutcome cancelled;
  cancelled.failure_message = "lease request cancelled by its submitter";
  return RejectMatching(
             [task_id](const LeaseRequest& request) { return request.task_id == task_id; },
             cancelled, now) > 0;
}

void LeaseManager::CancelRequest(RequestId id, absl::string_view reason,
                                 absl::Time now) {
  if (requests_.count(id) == 0) return;
  Reject(id, reason);
  Schedule(now);
}

absl::Status LeaseManager::ReturnWorker(const WorkerID& worker_id,
                                        absl::string_view lease_id,
                                        bool disconnect, absl::Time now) {
  auto it = leases_.find(worker_id);
  if (it == leases_.end()) {
    return absl::NotFoundError(
        absl::StrCat("worker ", worker_id.Hex(), " holds no lease"));
  }
  if (!lease_id.empty() && lease_id != it->second.lease_id) {
    return absl::FailedPreconditionError(
        absl::StrCat("lease ", absl::BytesToHexString(lease_id), " of worker ",
                     worker_id.Hex(), " already ended"));
  }
  disconnect = disconnect || it->second.dedicated;
  EndLease(worker_id);
  if (disconnect) {
    pool_->DisconnectWorker(worker_id);
  } else {
    pool_->PushIdleWorker(worker_id, now);
  }
  Schedule(now);
  return absl::OkStatus();
}

void LeaseManager::OnWorkerDied(const WorkerID& worker_id, absl::Time now) {
  if (leases_.count(worker_id) == 0) {
    Schedule(now);  // A starting worker may have died: start another.
    return;
  }
  COMET_LOG(WARNING) << "leased worker " << worker_id
                     << " died; its resources are free again";
  EndLease(worker_id);
  Schedule(now);
}

void LeaseManager::OnWorkerBlocked(const WorkerID& worker_id, absl::Time now) {
  auto it = leases_.find(worker_id);
  if (it == leases_.end() || !it->second.lent.IsEmpty()) return;
  ResourceSet cpus;
  for (const auto& [name, fixed] :
       it->second.allocation.amounts.fixed_quantities()) {
    if (IsCpu(name)) cpus.SetFixed(name, fixed);
  }
  if (cpus.IsEmpty()) return;
  it->second.lent = std::move(cpus);
  resources_->Lend(it->second.lent);
  Schedule(now);
}

void LeaseManager::OnWorkerUnblocked(const WorkerID& worker_id,
                                     absl::Time now) {
  auto it = leases_.find(worker_id);
  if (it == leases_.end() || it->second.lent.IsEmpty()) return;
  resources_->Reclaim(it->second.lent);
  it->second.lent = ResourceSet();
}

void LeaseManager::EndLease(const WorkerID& worker_id) {
  auto it = leases_.find(worker_id);
  if (it == leases_.end()) return;
  if (!it->second.lent.IsEmpty()) resources_->Reclaim(it->second.lent);
  resources_->Free(it->second.allocation);
  leases_.erase(it);
}

size_t LeaseManager::RejectMatching(const std::function<bool(const LeaseRequest&)>& matches,
                                    const LeaseOutcome& outcome, absl::Time now) {
  std::vector<RequestId> ids;
  for (const auto& [id, queued] : requests_) {
    if (matches(queued.request)) ids.push_back(id);
  }
  for (RequestId id : ids) Reject(id, outcome);
  if (!ids.empty()) Schedule(now);
  return ids.size();
}

void LeaseManager::RejectAll(absl::string_view reason) {
  while (!requests_.empty()) Reject(requests_.begin()->first, reason);
}

size_t LeaseManager::NumPendingLeases() const {
  return requests_.size() - infeasible_.size();
}

std::vector<ResourceSet> LeaseManager::InfeasibleDemands() const {
  std::vector<ResourceSet> out;
  for (RequestId id : infeasible_)
    out.push_back(requests_.at(id).request.demand);
  return out;
}

std::vector<ResourceSet> LeaseManager::PendingDemands(size_t limit) const {
  std::vector<ResourceSet> out;
  for (RequestId id : infeasible_) {
    if (out.size() >= limit) return out;
    out.push_back(requests_.at(id).request.demand);
  }
  for (const auto& [id, queued] : requests_) {
    if (out.size() >= limit) break;
    if (queued.stage == Stage::kWaitingForResources) {
      out.push_back(queued.request.demand);
    }
  }
  return out;
}

std::string LeaseManager::NewLeaseId() {
  // Random, so that a return after a raylet restart cannot match a lease.
  std::string id(kLeaseIdSize, '\0');
  id_internal::FillRandom(reinterpret_cast<uint8_t*>(id.data()), id.size());
  return id;
}

}  // namespace comet::raylet
