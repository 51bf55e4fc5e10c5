// CoreWorker's actor half: creating actors, their handles and lifetimes,
// calls to them, killing them, and the GCS's actor table (updates are
// polled on a thread of their own, see PollActorUpdates). The rest of the
// class is in core_worker.cc; the header says what it owns and which thread
// runs what.
#include <utility>

#include "absl/strings/str_cat.h"
#include "src/comet/common/logging.h"
#include "src/comet/common/status_macros.h"
#include "src/comet/core_worker/core_worker.h"
#include "src/comet/core_worker/core_worker_gcs_calls.h"
#include "src/comet/rpc/async_call.h"

namespace comet::core {

void CoreWorker::EnsureActorSubscription() {
  if (actor_poller_started_.exchange(true)) return;
  actor_poller_ = std::thread([this] { PollActorUpdates(); });
}

void CoreWorker::PollActorUpdates() {
  int64_t after = -1;
  bool synced = false;
  while (!shut_down_) {
    actor_submitter_.Tick(absl::Now());
    rpc::PollRequest request;
    request.add_channels(rpc::ACTOR_CHANNEL);
    request.set_after_sequence(after);
    // Often while interrupted calls wait for their actor's death cause.
    request.set_timeout_ms(after < 0 ? 0 : actor_submitter_.AwaitingDeathCauses() ? 100 : 2000);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    {
      absl::MutexLock lock(&mu_);
      if (shut_down_) break;
      poll_context_ = &ctx;
    }
    rpc::PollReply reply;
    grpc::Status status = gcs_->pubsub().Poll(&ctx, request, &reply);
    {
      absl::MutexLock lock(&mu_);
      poll_context_ = nullptr;
    }
    if (!status.ok()) {
      if (shut_down_) break;
      absl::SleepFor(absl::Milliseconds(200));
      continue;
    }
    for (const rpc::PubMessage& msg : reply.messages()) {
      if (msg.has_actor_data()) actor_submitter_.OnActorUpdate(msg.actor_data());
    }
    // Calls that never reached their actor's worker go out again once the
    // GCS says it is still ALIVE there (at most one poll later).
    for (const ActorID& id : actor_submitter_.Unreachable()) SyncActor(id);
    if (reply.latest_sequence() < after) synced = false;  // The GCS restarted.
    after = reply.latest_sequence();
    if (!synced) {
      // Updates from before the subscription: read the current state once.
      for (const ActorID& id : actor_submitter_.Actors()) SyncActor(id);
      synced = true;
    }
  }
}

void CoreWorker::SyncActor(const ActorID& actor_id) {
  auto info = GetActorInfo(actor_id);
  if (info.ok() && info->has_value()) actor_submitter_.OnActorUpdate(**info);
}

absl::StatusOr<ActorID> CoreWorker::CreateActor(rpc::TaskSpec spec) {
  TaskID parent = current_task_id();
  ActorID actor_id = ActorID::Of(job_id_, parent, task_counter_++);
  TaskID task_id = TaskID::ForActorCreationTask(actor_id);
  spec.set_type(rpc::ACTOR_CREATION_TASK);
  spec.set_task_id(task_id.Binary());
  spec.set_job_id(job_id_.Binary());
  spec.set_parent_task_id(parent.Binary());
  spec.set_num_returns(1);
  *spec.mutable_caller_address() = address_;
  spec.mutable_actor_creation()->set_actor_id(actor_id.Binary());
  for (const rpc::TaskArg& arg : spec.args()) {
    if (arg.has_ref()) {
      auto id = ObjectID::FromBinary(arg.ref().object_id());
      if (id.ok()) references_.MarkEscaped(*id);  // Restarts read it again.
    }
  }
  rpc::RegisterActorRequest request;
  *request.mutable_task_spec() = spec;
  rpc::RegisterActorReply reply;
  RETURN_IF_ERROR(FromGrpc(CallGcs([&](grpc::ClientContext* c) { return gcs_->actors().RegisterActor(c, request, &reply); }), "RegisterActor"));
  if (!reply.error().empty()) return absl::AlreadyExistsError(reply.error());
  const rpc::ActorCreationSpec& creation = spec.actor_creation();
  actor_submitter_.AddActor(actor_id,
                            /*collectable=*/!creation.is_detached() && creation.name().empty());
  EnsureActorSubscription();
  rpc::CreateActorRequest create;
  create.set_actor_id(actor_id.Binary());
  // Waits out a GCS restart, and is made again if the GCS dies mid-call.
  gcs_->CallAsync<rpc::CreateActorRequest, rpc::CreateActorReply>(
      [this](auto* c, auto* q, auto* r, auto done) {
        gcs_->actors().async()->CreateActor(c, q, r, std::move(done));
      },
      std::move(create), [this](const grpc::Status& status, rpc::CreateActorReply&& reply) {
        if (status.ok()) actor_submitter_.OnActorUpdate(reply.actor());
      }, absl::ZeroDuration(), &calls_);
  return actor_id;
}

void CoreWorker::TrackActor(const ActorID& actor_id) {
  if (actor_submitter_.Tracks(actor_id)) return;
  actor_submitter_.AddActor(actor_id);
  bool started = actor_poller_started_;
  EnsureActorSubscription();
  if (started) SyncActor(actor_id);  // A new poller syncs every actor itself.
}

void CoreWorker::AddActorHandle(const ActorID& actor_id) {
  TrackActor(actor_id);
  actor_submitter_.AddHandle(actor_id);
}

void CoreWorker::RemoveActorHandle(const ActorID& actor_id) {
  actor_submitter_.RemoveHandle(actor_id);
}

void CoreWorker::MarkActorHandleEscaped(const ActorID& actor_id) {
  actor_submitter_.MarkHandleEscaped(actor_id);
}

void CoreWorker::ReleaseActor(const ActorID& actor_id) {
  rpc::KillActorViaGcsRequest request;
  request.set_actor_id(actor_id.Binary());
  request.set_force_kill(false);
  request.set_no_restart(true);
  request.set_reason(kActorOutOfScopeCause);
  gcs_->CallAsync<rpc::KillActorViaGcsRequest, rpc::KillActorViaGcsReply>(
      [this](auto* c, auto* q, auto* r, auto done) {
        gcs_->actors().async()->KillActorViaGcs(c, q, r, std::move(done));
      },
      std::move(request), [actor_id](const grpc::Status& status, rpc::KillActorViaGcsReply&&) {
        if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
          COMET_LOG(WARNING) << "cannot end out-of-scope actor " << actor_id << ": "
                             << status.error_message();
        }
      }, absl::Milliseconds(kGcsTimeoutMs), &calls_);
}

std::vector<ObjectID> CoreWorker::SubmitActorTask(const ActorID& actor_id, rpc::TaskSpec spec,
                                                  TaskID* task_id_out) {
  TrackActor(actor_id);
  TaskID parent = current_task_id();
  TaskID task_id = TaskID::ForActorTask(job_id_, parent, task_counter_++, actor_id);
  if (task_id_out != nullptr) *task_id_out = task_id;
  spec.set_type(rpc::ACTOR_TASK);
  spec.set_task_id(task_id.Binary());
  spec.set_job_id(job_id_.Binary());
  spec.set_parent_task_id(parent.Binary());
  *spec.mutable_caller_address() = address_;
  spec.mutable_actor_task()->set_actor_id(actor_id.Binary());
  std::vector<ObjectID> returns = TrackNewTask(spec, task_id);
  actor_submitter_.Submit(std::move(spec));
  return returns;
}

absl::Status CoreWorker::KillActor(const ActorID& actor_id, bool force, bool no_restart) {
  rpc::KillActorViaGcsRequest request;
  request.set_actor_id(actor_id.Binary());
  request.set_force_kill(force);
  request.set_no_restart(no_restart);
  rpc::KillActorViaGcsReply reply;
  RETURN_IF_ERROR(FromGrpc(CallGcs([&](grpc::ClientContext* c) { return gcs_->actors().KillActorViaGcs(c, request, &reply); }), "KillActor"));
  if (!reply.found()) return absl::NotFoundError("no such actor: " + actor_id.Hex());
  if (no_restart) {
    // Calls made after kill() returns fail at once, without waiting for the
    // GCS's DEAD notice (which may come after they were sent).
    rpc::ActorTableData dead;
    dead.set_actor_id(actor_id.Binary());
    dead.set_state(rpc::ActorTableData::DEAD);
    dead.set_death_cause(kActorKilledCause);
    actor_submitter_.OnActorUpdate(dead);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<rpc::ActorTableData>> CoreWorker::GetActorInfo(
    const ActorID& actor_id) {
  rpc::GetActorInfoRequest request;
  request.set_actor_id(actor_id.Binary());
  rpc::GetActorInfoReply reply;
  RETURN_IF_ERROR(FromGrpc(CallGcs([&](grpc::ClientContext* c) { return gcs_->actors().GetActorInfo(c, request, &reply); }), "GetActorInfo"));
  if (!reply.found()) return std::optional<rpc::ActorTableData>();
  return std::optional<rpc::ActorTableData>(reply.actor());
}

absl::StatusOr<std::optional<rpc::ActorTableData>> CoreWorker::GetNamedActor(
    const std::string& name, const std::string& ns) {
  rpc::GetNamedActorInfoRequest request;
  request.set_name(name);
  request.set_ray_namespace(ns);
  rpc::GetNamedActorInfoReply reply;
  RETURN_IF_ERROR(
      FromGrpc(CallGcs([&](grpc::ClientContext* c) { return gcs_->actors().GetNamedActorInfo(c, request, &reply); }), "GetNamedActorInfo"));
  if (!reply.found()) return std::optional<rpc::ActorTableData>();
  return std::optional<rpc::ActorTableData>(reply.actor());
}

absl::StatusOr<std::vector<rpc::ActorTableData>> CoreWorker::ListNamedActors(
    const std::string& ns, bool all_namespaces) {
  rpc::ListNamedActorsRequest request;
  request.set_ray_namespace(ns);
  request.set_all_namespaces(all_namespaces);
  rpc::ListNamedActorsReply reply;
  RETURN_IF_ERROR(FromGrpc(CallGcs([&](grpc::ClientContext* c) { return gcs_->actors().ListNamedActors(c, request, &reply); }), "ListNamedActors"));
  return std::vector<rpc::ActorTableData>(reply.actors().begin(), reply.actors().end());
}

}  // namespace comet::core
