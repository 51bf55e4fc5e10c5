#include "src/comet/gcs/gcs_actor_manager.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "src/comet/common/logging.h"
#include "src/comet/common/status_macros.h"

namespace comet::gcs {
namespace {

using Row = rpc::ActorTableData;

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

bool RestartsLeft(const Row& data) {
  return data.max_restarts() < 0 || data.num_restarts() < data.max_restarts();
}

Row WithoutSpec(const Row& data) {
  Row copy = data;
  copy.clear_creation_task_spec();
  return copy;
}

}  // namespace

GcsActorManager::GcsActorManager(StoreClient* store, GcsPublisher* publisher,
                                 GcsActorScheduler* scheduler,
                                 RunAfterFn run_after,
                                 GcsActorManagerOptions options)
    : store_(store),
      publisher_(publisher),
      scheduler_(scheduler),
      run_after_(std::move(run_after)),
      options_(options) {
  scheduler_->set_listener(this);
}

GcsActorManager::Actor* GcsActorManager::Find(const ActorID& actor_id) {
  auto it = actors_.find(actor_id);
  return it == actors_.end() ? nullptr : &it->second;
}

absl::Status GcsActorManager::Initialize() {
  ASSIGN_OR_RETURN(auto rows, store_->GetAll(kActorTable));
  std::vector<std::pair<int64_t, ActorID>> dead;
  std::vector<ActorID> unfinished;
  for (const auto& [key, value] : rows) {
    absl::StatusOr<ActorID> id = ActorID::FromBinary(key);
    Row data;
    if (!id.ok() || !data.ParseFromString(value)) {
      COMET_LOG(WARNING) << "skipping a malformed actor record in the store";
      continue;
    }
    Actor& actor = actors_[*id];
    actor.data = std::move(data);
    const Row& row = actor.data;
    switch (row.state()) {
      case Row::DEAD:
        dead.emplace_back(row.end_time_ms(), *id);
        continue;
      case Row::ALIVE: {
        ActorLease lease;
        lease.node_id = NodeID::FromBinary(row.node_id()).value_or(NodeID());
        lease.worker_id = WorkerID::FromBinary(row.address().worker_id())
                              .value_or(WorkerID());
        lease.worker_address = row.address();
        lease.pid = row.pid();
        by_worker_[lease.worker_id] = *id;
        actor.lease = std::move(lease);
        break;
      }
      case Row::PENDING_CREATION:
      case Row::RESTARTING:
        unfinished.push_back(*id);
        break;
      default:
        break;
    }
    AddName(*id, row);
  }
  std::sort(dead.begin(), dead.end());
  for (const auto& [end_time, id] : dead) RememberDead(id);
  for (const ActorID& id : unfinished) StartAttempt(actors_.at(id));
  return absl::OkStatus();
}

void GcsActorManager::Shutdown() {
  shut_down_ = true;
  for (auto& [id, actor] : actors_) {
    std::vector<CreateCallback> waiting = std::move(actor.waiting);
    actor.waiting.clear();
    for (CreateCallback& callback : waiting) {
      callback(absl::UnavailableError("the GCS is shutting down"), actor.data);
    }
  }
}

absl::Status GcsActorManager::RegisterActor(const rpc::TaskSpec& spec,
                                            rpc::RegisterActorReply* reply) {
  if (spec.type() != rpc::ACTOR_CREATION_TASK || !spec.has_actor_creation()) {
    return absl::InvalidArgumentError(
        "RegisterActor needs an ACTOR_CREATION_TASK spec with actor_creation");
  }
  const rpc::ActorCreationSpec& creation = spec.actor_creation();
  ASSIGN_OR_RETURN(ActorID actor_id, ActorID::FromBinary(creation.actor_id()));
  ASSIGN_OR_RETURN(JobID job_id, JobID::FromBinary(spec.job_id()));
  if (actor_id.IsNil()) return absl::InvalidArgumentError("actor id is nil");
  if (actors_.contains(actor_id)) return absl::OkStatus();  // A retry.
  if (!creation.name().empty()) {
    auto taken =
        names_.find(NameKey(creation.ray_namespace(), creation.name()));
    if (taken != names_.end()) {
      reply->set_error(absl::StrCat("Actor name '", creation.name(),
                                    "' already taken in namespace '",
                                    creation.ray_namespace(), "'"));
      *reply->mutable_existing() = actors_.at(taken->second).data;
      return absl::OkStatus();
    }
  }
  Actor& actor = actors_[actor_id];
  Row& data = actor.data;
  data.set_actor_id(actor_id.Binary());
  data.set_job_id(job_id.Binary());
  data.set_state(Row::DEPENDENCIES_UNREADY);
  data.set_name(creation.name());
  data.set_ray_namespace(creation.ray_namespace());
  data.set_max_restarts(creation.max_restarts());
  data.set_is_detached(creation.is_detached());
  data.set_class_name(creation.class_name().empty() ? spec.function_name()
                                                    : creation.class_name());
  *data.mutable_owner_address() = spec.caller_address();
  *data.mutable_required_resources() = spec.required_resources();
  *data.mutable_creation_task_spec() = spec;
  AddName(actor_id, data);
  SaveAndPublish(actor);
  COMET_LOG(INFO) << "actor " << actor_id << " (" << data.class_name()
                  << (data.name().empty() ? "" : ", name '" + data.name() + "'")
                  << ") registered by job " << job_id;
  return absl::OkStatus();
}

absl::Status GcsActorManager::CreateActor(const ActorID& actor_id,
                                          CreateCallback callback) {
  Actor* actor = Find(actor_id);
  if (actor == nullptr) {
    return absl::NotFoundError(absl::StrCat("unknown actor ", actor_id.Hex()));
  }
  if (shut_down_) return absl::UnavailableError("the GCS is shutting down");
  switch (actor->data.state()) {
    case Row::ALIVE:
    case Row::DEAD:
      callback(absl::OkStatus(), actor->data);
      return absl::OkStatus();
    case Row::DEPENDENCIES_UNREADY:
      actor->waiting.push_back(std::move(callback));
      actor->data.set_state(Row::PENDING_CREATION);
      SaveAndPublish(*actor);
      StartAttempt(*actor);
      return absl::OkStatus();
    default:
      actor->waiting.push_back(std::move(callback));
      return absl::OkStatus();
  }
}

void GcsActorManager::StartAttempt(Actor& actor) {
  ++actor.attempt;
  rpc::TaskSpec spec = actor.data.creation_task_spec();
  spec.set_attempt_number(static_cast<int32_t>(actor.data.num_restarts()));
  ActorID actor_id = *ActorID::FromBinary(actor.data.actor_id());
  scheduler_->Schedule(actor_id, actor.attempt, std::move(spec));
}

bool GcsActorManager::OnWorkerLeased(const ActorID& actor_id, uint64_t attempt,
                                     const ActorLease& lease) {
  Actor* actor = Find(actor_id);
  if (actor == nullptr || actor->attempt != attempt || actor->lease ||
      actor->data.state() == Row::DEAD) {
    return false;
  }
  actor->lease = lease;
  by_worker_[lease.worker_id] = actor_id;
  return true;
}

void GcsActorManager::OnUnschedulable(const ActorID& actor_id, uint64_t attempt,
                                      const std::string& why) {
  Actor* actor = Find(actor_id);
  if (actor == nullptr || actor->attempt != attempt || actor->data.state() == Row::DEAD) return;
  Die(*actor, absl::StrCat("The actor is dead because it cannot be scheduled: ", why));
}

void GcsActorManager::OnCreationTaskReplied(const ActorID& actor_id,
                                            uint64_t attempt,
                                            const absl::Status& status,
                                            const rpc::PushTaskReply& reply) {
  Actor* actor = Find(actor_id);
  if (actor == nullptr || actor->attempt != attempt || !actor->lease ||
      (actor->data.state() != Row::PENDING_CREATION &&
       actor->data.state() != Row::RESTARTING)) {
    return;  // Stale: the actor moved on.
  }
  ActorLease lease = *actor->lease;
  if (!status.ok()) {
    // The worker died in the constructor or cannot be reached: make sure
    // it is gone, and count it as the worker's failure.
    DropLease(*actor);
    ReleaseWorker(actor_id, lease, Release::kKill,
                  "its actor's creation task failed");
    OnActorWorkerGone(
        *actor,
        absl::StrCat(kActorWorkerDiedCause, " Worker exit detail: its creation task failed (",
                     status.ToString(), ")."));
    return;
  }
  Row& data = actor->data;
  if (reply.is_application_error()) {
    if (reply.return_objects_size() > 0) {
      *data.mutable_creation_error() = reply.return_objects(0).value();
    }
    DropLease(*actor);
    ReleaseWorker(actor_id, lease, Release::kReturnLease,
                  "its actor's constructor raised");
    Die(*actor, "the actor's constructor raised an exception");
    return;
  }
  data.set_state(Row::ALIVE);
  *data.mutable_address() = lease.worker_address;
  data.set_node_id(lease.node_id.Binary());
  data.set_pid(lease.pid);
  if (data.start_time_ms() == 0) data.set_start_time_ms(NowMs());
  data.clear_death_cause();
  SaveAndPublish(*actor);
  COMET_LOG(INFO) << "actor " << actor_id << " is alive in worker "
                  << lease.worker_id << " pid " << lease.pid << " on node "
                  << lease.node_id;
  Answer(*actor);
}

bool GcsActorManager::KillActor(const ActorID& actor_id, bool force_kill, bool no_restart,
                                const std::string& reason) {
  Actor* actor = Find(actor_id);
  if (actor == nullptr) return false;
  if (actor->data.state() != Row::DEAD) {
    Kill(*actor, force_kill, no_restart, reason);
  }
  return true;
}

void GcsActorManager::Kill(Actor& actor, bool force_kill, bool no_restart,
                           const std::string& reason) {
  ActorID actor_id = *ActorID::FromBinary(actor.data.actor_id());
  bool alive = actor.data.state() == Row::ALIVE;
  Release how = !alive       ? Release::kKill  // In its constructor.
                : force_kill ? Release::kAskToExitNow
                             : Release::kAskToExit;
  COMET_LOG(INFO) << "killing actor " << actor_id << " ("
                  << (force_kill ? "force" : "graceful") << ", "
                  << (no_restart ? "no restart" : "may restart")
                  << "): " << reason;
  if (no_restart) {
    actor.data.set_intended_death(true);
    if (actor.lease) {
      ActorLease lease = *actor.lease;
      DropLease(actor);
      ReleaseWorker(actor_id, lease, how, reason);
    }
    Die(actor, reason);
    return;
  }
  // Nothing runs yet while a lease is being sought: nothing to kill.
  if (!actor.lease) return;
  // The worker's exit restarts the actor, or ends it with `reason`.
  actor.kill_reason = reason;
  ReleaseWorker(actor_id, *actor.lease, how, reason);
}

void GcsActorManager::ReleaseWorker(const ActorID& actor_id,
                                    const ActorLease& lease, Release how,
                                    const std::string& reason) {
  stopping_[lease.worker_id] = lease;
  absl::Duration grace = options_.force_kill_grace;
  switch (how) {
    case Release::kAskToExit:
      scheduler_->KillActor(lease, actor_id, /*force_kill=*/false, reason);
      grace = options_.graceful_kill_timeout;
      break;
    case Release::kAskToExitNow:
      scheduler_->KillActor(lease, actor_id, /*force_kill=*/true, reason);
      break;
    case Release::kReturnLease:
      scheduler_->ReturnWorker(lease);
      break;
    case Release::kKill:
      scheduler_->KillWorker(lease, reason);
      return;
  }
  run_after_(grace, [this, worker_id = lease.worker_id, reason] {
    auto it = stopping_.find(worker_id);
    if (it == stopping_.end()) return;  // It exited.
    COMET_LOG(INFO) << "worker " << worker_id
                    << " did not exit when asked; killing it";
    scheduler_->KillWorker(it->second, reason);
  });
}

void GcsActorManager::OnWorkerDead(const WorkerID& worker_id,
                                   const NodeID& node_id,
                                   const std::string& exit_detail,
                                   bool intentional) {
  auto stopping = stopping_.find(worker_id);
  if (stopping != stopping_.end()) {
    scheduler_->ForgetWorker(stopping->second);
    stopping_.erase(stopping);
  }
  auto it = by_worker_.find(worker_id);
  if (it != by_worker_.end()) {
    Actor* actor = Find(it->second);
    if (actor != nullptr && actor->lease &&
        actor->lease->worker_id == worker_id) {
      COMET_LOG(INFO) << "worker " << worker_id << " of actor " << it->second
                      << " exited (" << exit_detail
                      << (intentional ? ", stopped by its raylet" : "") << ")";
      scheduler_->ForgetWorker(*actor->lease);
      OnActorWorkerGone(
          *actor, absl::StrCat(kActorWorkerDiedCause, " Worker exit detail: ", exit_detail));
    } else {
      by_worker_.erase(it);
    }
  }
  std::string worker = worker_id.Binary();
  KillWhere(
      [&worker](const Row& data) {
        return data.owner_address().worker_id() == worker;
      },
      absl::StrCat(kActorOwnerDiedCause, " The worker that created it exited."));
}

void GcsActorManager::OnNodeDead(const NodeID& node_id,
                                 const std::string& reason) {
  scheduler_->OnNodeRemoved(node_id);
  for (auto it = stopping_.begin(); it != stopping_.end();) {
    auto current = it++;
    if (current->second.node_id != node_id) continue;
    scheduler_->ForgetWorker(current->second);
    stopping_.erase(current);
  }
  std::vector<ActorID> on_node;
  for (const auto& [id, actor] : actors_) {
    if (actor.lease && actor.lease->node_id == node_id) on_node.push_back(id);
  }
  for (const ActorID& id : on_node) {
    Actor& actor = actors_.at(id);
    scheduler_->ForgetWorker(*actor.lease);
    OnActorWorkerGone(actor, absl::StrCat(kActorNodeDiedCause, " ", reason));
  }
  std::string node = node_id.Binary();
  KillWhere(
      [&node](const Row& data) {
        return data.owner_address().node_id() == node;
      },
      absl::StrCat(kActorOwnerDiedCause, " The node of the process that created it died."));
}

void GcsActorManager::OnJobFinished(const JobID& job_id) {
  std::string job = job_id.Binary();
  KillWhere([&job](const Row& data) { return data.job_id() == job; },
            kActorJobFinishedCause);
}

void GcsActorManager::KillWhere(const std::function<bool(const Row&)>& match,
                                const std::string& reason) {
  std::vector<ActorID> matching;
  for (const auto& [id, actor] : actors_) {
    const Row& data = actor.data;
    if (data.state() != Row::DEAD && !data.is_detached() && match(data)) {
      matching.push_back(id);
    }
  }
  for (const ActorID& id : matching) {
    Actor* actor = Find(id);
    if (actor != nullptr && actor->data.state() != Row::DEAD) {
      Kill(*actor, /*force_kill=*/true, /*no_restart=*/true, reason);
    }
  }
}

void GcsActorManager::OnActorWorkerGone(Actor& actor,
                                        const std::string& cause) {
  DropLease(actor);
  if (actor.data.state() == Row::DEAD) return;
  std::string why = actor.kill_reason.empty() ? cause : actor.kill_reason;
  actor.kill_reason.clear();
  if (!actor.data.intended_death() && RestartsLeft(actor.data)) {
    Restart(actor, std::move(why));
    return;
  }
  if (actor.data.max_restarts() > 0) {
    absl::StrAppend(&why, " (no restarts left after ",
                    actor.data.num_restarts(), ")");
  }
  Die(actor, std::move(why));
}

void GcsActorManager::Restart(Actor& actor, std::string cause) {
  Row& data = actor.data;
  data.set_state(Row::RESTARTING);
  data.set_num_restarts(data.num_restarts() + 1);
  data.set_death_cause(std::move(cause));
  data.clear_address();
  data.clear_node_id();
  data.set_pid(0);
  SaveAndPublish(actor);
  COMET_LOG(INFO) << "actor " << ActorID::FromBinary(data.actor_id()).value()
                  << " restarting (restart " << data.num_restarts() << " of "
                  << data.max_restarts() << "): " << data.death_cause();
  StartAttempt(actor);
}

void GcsActorManager::Die(Actor& actor, std::string cause) {
  ActorID actor_id = *ActorID::FromBinary(actor.data.actor_id());
  DropLease(actor);
  scheduler_->Cancel(actor_id);
  ++actor.attempt;  // Replies still in flight are stale now.
  Row& data = actor.data;
  data.set_state(Row::DEAD);
  data.set_death_cause(std::move(cause));
  data.set_end_time_ms(NowMs());
  auto name = names_.find(NameKey(data.ray_namespace(), data.name()));
  if (name != names_.end() && name->second == actor_id) names_.erase(name);
  SaveAndPublish(actor);
  COMET_LOG(INFO) << "actor " << actor_id << " is dead: " << data.death_cause();
  Answer(actor);
  RememberDead(actor_id);
}

void GcsActorManager::DropLease(Actor& actor) {
  if (!actor.lease) return;
  auto it = by_worker_.find(actor.lease->worker_id);
  if (it != by_worker_.end() && it->second.Binary() == actor.data.actor_id()) {
    by_worker_.erase(it);
  }
  actor.lease.reset();
}

void GcsActorManager::AddName(const ActorID& actor_id, const Row& data) {
  if (data.name().empty() || data.state() == Row::DEAD) return;
  names_[NameKey(data.ray_namespace(), data.name())] = actor_id;
}

void GcsActorManager::Answer(Actor& actor) {
  std::vector<CreateCallback> waiting = std::move(actor.waiting);
  actor.waiting.clear();
  for (CreateCallback& callback : waiting) {
    callback(absl::OkStatus(), actor.data);
  }
}

void GcsActorManager::SaveAndPublish(const Actor& actor) {
  const Row& data = actor.data;
  absl::StatusOr<bool> saved =
      store_->Put(kActorTable, data.actor_id(), data.SerializeAsString(), true);
  if (!saved.ok()) {
    COMET_LOG(ERROR) << "cannot store actor "
                     << ActorID::FromBinary(data.actor_id()).value() << ": "
                     << saved.status();
  }
  rpc::PubMessage message;
  message.set_channel(rpc::ACTOR_CHANNEL);
  message.set_key(data.actor_id());
  *message.mutable_actor_data() = WithoutSpec(data);
  publisher_->Publish(std::move(message));
}

void GcsActorManager::RememberDead(const ActorID& actor_id) {
  dead_order_.push_back(actor_id);
  size_t limit = std::max<size_t>(options_.max_dead_actors, 1);
  while (dead_order_.size() > limit) {
    ActorID oldest = dead_order_.front();
    dead_order_.pop_front();
    actors_.erase(oldest);
    absl::StatusOr<bool> deleted = store_->Delete(kActorTable, oldest.Binary());
    if (!deleted.ok()) {
      COMET_LOG(WARNING) << "cannot drop dead actor " << oldest
                         << " from the store: " << deleted.status();
    }
  }
}

std::optional<Row> GcsActorManager::GetActor(const ActorID& actor_id) const {
  auto it = actors_.find(actor_id);
  if (it == actors_.end()) return std::nullopt;
  return it->second.data;
}

std::optional<Row> GcsActorManager::GetNamedActor(
    const std::string& name, const std::string& ray_namespace) const {
  auto it = names_.find(NameKey(ray_namespace, name));
  if (it == names_.end()) return std::nullopt;
  return actors_.at(it->second).data;
}

std::vector<Row> GcsActorManager::GetAllActors(const std::string& job_id,
                                               bool alive_only) const {
  std::vector<Row> out;
  for (const auto& [id, actor] : actors_) {
    const Row& data = actor.data;
    if (!job_id.empty() && data.job_id() != job_id) continue;
    if (alive_only && data.state() != Row::ALIVE) continue;
    out.push_back(WithoutSpec(data));
  }
  std::sort(out.begin(), out.end(), [](const Row& a, const Row& b) {
    return a.actor_id() < b.actor_id();
  });
  return out;
}

std::vector<Row> GcsActorManager::ListNamedActors(
    const std::string& ray_namespace, bool all_namespaces) const {
  std::vector<Row> out;
  for (const auto& [key, id] : names_) {
    if (!all_namespaces && key.first != ray_namespace) continue;
    out.push_back(WithoutSpec(actors_.at(id).data));
  }
  std::sort(out.begin(), out.end(), [](const Row& a, const Row& b) {
    return std::make_pair(a.ray_namespace(), a.name()) <
           std::make_pair(b.ray_namespace(), b.name());
  });
  return out;
}

}  // namespace comet::gcs
