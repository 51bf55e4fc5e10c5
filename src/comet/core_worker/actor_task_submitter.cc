#include "src/comet/core_worker/actor_task_submitter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "src/comet/core_worker/ray_object.h"

namespace comet::core {
namespace {

ActorID ActorOf(const rpc::TaskSpec& spec) {
  auto id = ActorID::FromBinary(spec.actor_task().actor_id());
  return id.ok() ? *id : ActorID::Nil();
}

TaskID TaskOf(const rpc::TaskSpec& spec) {
  auto id = TaskID::FromBinary(spec.task_id());
  return id.ok() ? *id : TaskID::Nil();
}

}  // namespace

void ActorTaskSubmitter::AddActor(const ActorID& actor_id, bool collectable) {
  absl::MutexLock lock(&mu_);
  Actor& actor = actors_[actor_id];
  if (collectable) actor.collectable = true;
}

void ActorTaskSubmitter::AddHandle(const ActorID& actor_id) {
  absl::MutexLock lock(&mu_);
  actors_[actor_id].handles++;
}

void ActorTaskSubmitter::MarkHandleEscaped(const ActorID& actor_id) {
  absl::MutexLock lock(&mu_);
  actors_[actor_id].escaped = true;
}

void ActorTaskSubmitter::RemoveHandle(const ActorID& actor_id) {
  Effects effects;
  {
    absl::MutexLock lock(&mu_);
    auto it = actors_.find(actor_id);
    if (it == actors_.end()) return;
    it->second.handles--;
    if (BecameOutOfScope(it->second)) effects.out_of_scope = actor_id;
  }
  Apply(std::move(effects));
}

bool ActorTaskSubmitter::BecameOutOfScope(Actor& actor) {
  if (!actor.collectable || actor.escaped || actor.released || actor.handles > 0 ||
      !actor.waiting.empty() || !actor.in_flight.empty() || !actor.interrupted.empty() ||
      actor.state == rpc::ActorTableData::DEAD) {
    return false;
  }
  actor.released = true;
  return true;
}

bool ActorTaskSubmitter::Tracks(const ActorID& actor_id) const {
  absl::MutexLock lock(&mu_);
  return actors_.contains(actor_id);
}

void ActorTaskSubmitter::Submit(rpc::TaskSpec spec) {
  ActorID actor_id = ActorOf(spec);
  Effects effects;
  {
    absl::MutexLock lock(&mu_);
    Actor& actor = actors_[actor_id];
    // A resubmission (retry of an exception) is a new call: a new number.
    spec.mutable_actor_task()->set_sequence_number(++actor.next_sequence);
    spec.mutable_actor_task()->set_caller_id(caller_id_.Binary());
    if (actor.state == rpc::ActorTableData::DEAD) {
      effects.failed.push_back(std::move(spec));
      SetFailure(actor, &effects);
    } else {
      int64_t seq = spec.actor_task().sequence_number();
      actor.waiting[seq] = std::move(spec);
      if (actor.state == rpc::ActorTableData::ALIVE) SendWaiting(actor_id, actor, &effects);
    }
  }
  Apply(std::move(effects));
}

void ActorTaskSubmitter::SendWaiting(const ActorID& actor_id, Actor& actor, Effects* effects) {
  if (actor.waiting.empty()) return;
  std::shared_ptr<ActorCallStream> stream = StreamTo(actor_id, actor);
  while (!actor.waiting.empty()) {
    auto node = actor.waiting.extract(actor.waiting.begin());
    int64_t seq = node.key();
    std::shared_ptr<const rpc::PushTaskRequest> request =
        MakeRequest(actor, std::move(node.mapped()));
    actor.in_flight.emplace(seq, request);
    effects->sends.emplace_back(stream, std::move(request));
  }
}

std::shared_ptr<const rpc::PushTaskRequest> ActorTaskSubmitter::MakeRequest(
    const Actor& actor, rpc::TaskSpec spec) const {
  auto request = std::make_shared<rpc::PushTaskRequest>();
  request->set_intended_worker_id(actor.address.worker_id());
  // Everything below the smallest outstanding call has been answered.
  int64_t lowest = spec.actor_task().sequence_number();
  if (!actor.in_flight.empty()) lowest = std::min(lowest, actor.in_flight.begin()->first);
  if (!actor.waiting.empty()) lowest = std::min(lowest, actor.waiting.begin()->first);
  request->set_client_processed_up_to(lowest - 1);
  *request->mutable_task_spec() = std::move(spec);
  return request;
}

std::shared_ptr<ActorCallStream> ActorTaskSubmitter::StreamTo(const ActorID& actor_id,
                                                              Actor& actor) {
  if (actor.stream != nullptr) return actor.stream;
  std::string address = absl::StrCat(actor.address.ip_address(), ":", actor.address.port());
  int64_t incarnation = actor.incarnation;
  actor.stream = ActorCallStream::Create(
      workers_->Get(address),
      [this, actor_id, incarnation](int64_t seq, const grpc::Status& status,
                                    rpc::PushTaskReply reply) {
        OnReply(actor_id, seq, incarnation, status, std::move(reply));
      },
      [this, actor_id](ActorCallStream* stream, bool reached_worker) {
        OnStreamEnded(actor_id, stream, reached_worker);
      },
      calls_);
  return actor.stream;
}

void ActorTaskSubmitter::LeaveWorker(Actor& actor, Effects* effects) {
  if (actor.stream != nullptr) effects->closing.push_back(std::move(actor.stream));
  if (actor.in_flight.empty()) return;
  actor.incarnation++;
  // Calls that were sent used an attempt: they go back to wait for the next
  // incarnation if their budget allows, in sequence order.
  for (auto& [seq, request] : actor.in_flight) {
    // A copy: the stream may still be writing the request.
    rpc::TaskSpec spec = request->task_spec();
    if (spec.max_retries() == 0) {
      // It fails, with why the actor died once the GCS says (or the wait ends).
      if (actor.interrupted.empty()) actor.interrupted_until = absl::Now() + death_cause_wait_;
      actor.interrupted.push_back(std::move(spec));
      continue;
    }
    if (spec.max_retries() > 0) spec.set_max_retries(spec.max_retries() - 1);
    spec.set_attempt_number(spec.attempt_number() + 1);
    actor.waiting[seq] = std::move(spec);
  }
  actor.in_flight.clear();
}

void ActorTaskSubmitter::FailInterrupted(Actor& actor, const std::string& cause,
                                         Effects* effects) {
  if (actor.interrupted.empty()) return;
  for (rpc::TaskSpec& spec : actor.interrupted) effects->interrupted.push_back(std::move(spec));
  actor.interrupted.clear();
  effects->interrupted_cause = actor.who.Message(
      !cause.empty() ? cause
                     : "The actor's worker process died while running this call, which has no "
                       "retries left (max_task_retries).");
}

void ActorTaskSubmitter::Tick(absl::Time now) {
  std::vector<Effects> per_actor;  // each with its actor's message
  {
    absl::MutexLock lock(&mu_);
    for (auto& [actor_id, actor] : actors_) {
      if (actor.interrupted.empty() || now < actor.interrupted_until) continue;
      FailInterrupted(actor, "", &per_actor.emplace_back());
      if (BecameOutOfScope(actor)) per_actor.back().out_of_scope = actor_id;
    }
  }
  for (Effects& effects : per_actor) Apply(std::move(effects));
}

bool ActorTaskSubmitter::AwaitingDeathCauses() const {
  absl::MutexLock lock(&mu_);
  for (const auto& [actor_id, actor] : actors_) {
    if (!actor.interrupted.empty()) return true;
  }
  return false;
}

void ActorTaskSubmitter::OnCallsLost(Actor& actor, Effects* effects) {
  if (actor.state == rpc::ActorTableData::DEAD) {
    // Dead for good: its calls went away with its worker.
    if (actor.stream != nullptr) effects->closing.push_back(std::move(actor.stream));
    for (auto& [seq, request] : actor.in_flight) effects->failed.push_back(request->task_spec());
    actor.in_flight.clear();
    SetFailure(actor, effects);
    return;
  }
  // The actor's worker is gone; the GCS will say whether it restarts.
  actor.state = rpc::ActorTableData::RESTARTING;
  LeaveWorker(actor, effects);
}

void ActorTaskSubmitter::OnReply(const ActorID& actor_id, int64_t sequence, int64_t incarnation,
                                 const grpc::Status& status, rpc::PushTaskReply reply) {
  TaskID answered;
  Effects effects;
  {
    absl::MutexLock lock(&mu_);
    auto it = actors_.find(actor_id);
    if (it == actors_.end()) return;
    Actor& actor = it->second;
    auto call = actor.in_flight.find(sequence);
    if (call == actor.in_flight.end() || incarnation != actor.incarnation) return;
    if (status.ok()) {
      answered = TaskOf(call->second->task_spec());
      actor.in_flight.erase(call);
    } else if (actor.state == rpc::ActorTableData::DEAD) {
      // Dead for good: this call's worker went away with it; the others may
      // still be answered.
      effects.failed.push_back(call->second->task_spec());
      actor.in_flight.erase(call);
      SetFailure(actor, &effects);
    } else {
      OnCallsLost(actor, &effects);
    }
    if (BecameOutOfScope(actor)) effects.out_of_scope = actor_id;
  }
  if (status.ok()) task_manager_->CompleteTask(answered, reply);
  Apply(std::move(effects));
}

void ActorTaskSubmitter::OnStreamEnded(const ActorID& actor_id, ActorCallStream* stream,
                                       bool reached_worker) {
  Effects effects;
  std::shared_ptr<ActorCallStream> ended;
  {
    absl::MutexLock lock(&mu_);
    auto it = actors_.find(actor_id);
    if (it == actors_.end() || it->second.stream.get() != stream) return;  // Already left.
    Actor& actor = it->second;
    ended = std::move(actor.stream);
    if (!reached_worker && !actor.in_flight.empty() &&
        actor.state != rpc::ActorTableData::DEAD) {
      // Nothing was delivered: the calls wait as they were until the GCS
      // says where the actor is (maybe where it was: a failed connection).
      for (auto& [seq, request] : actor.in_flight) actor.waiting[seq] = request->task_spec();
      actor.in_flight.clear();
      actor.incarnation++;
      actor.state = rpc::ActorTableData::RESTARTING;
      unreachable_.insert(actor_id);
    } else if (!actor.in_flight.empty()) {
      OnCallsLost(actor, &effects);
    }
    if (BecameOutOfScope(actor)) effects.out_of_scope = actor_id;
  }
  Apply(std::move(effects));
}

void ActorTaskSubmitter::OnActorUpdate(const rpc::ActorTableData& data) {
  auto actor_id = ActorID::FromBinary(data.actor_id());
  if (!actor_id.ok()) return;
  Effects effects;
  {
    absl::MutexLock lock(&mu_);
    auto it = actors_.find(*actor_id);
    if (it == actors_.end()) return;
    Actor& actor = it->second;
    unreachable_.erase(*actor_id);
    if (actor.state == rpc::ActorTableData::DEAD) return;
    actor.who.Update(data);
    actor.death_cause = data.death_cause();
    switch (data.state()) {
      case rpc::ActorTableData::ALIVE:
        if (actor.address.worker_id() != data.address().worker_id()) {
          LeaveWorker(actor, &effects);
          actor.address = data.address();
          // Restarted (its RESTARTING notice, with the cause, was missed).
          FailInterrupted(actor, "", &effects);
        }
        actor.state = rpc::ActorTableData::ALIVE;
        SendWaiting(*actor_id, actor, &effects);
        break;
      case rpc::ActorTableData::RESTARTING:
        LeaveWorker(actor, &effects);
        actor.state = rpc::ActorTableData::RESTARTING;
        FailInterrupted(actor, data.death_cause(), &effects);
        break;
      case rpc::ActorTableData::DEAD:
        actor.state = rpc::ActorTableData::DEAD;
        // Calls in flight may still be answered (a graceful exit runs the
        // calls queued before it); they fail when their stream ends. Those
        // its worker's death interrupted fail now, with the cause.
        effects.failed = TakeWaiting(actor);
        for (rpc::TaskSpec& spec : actor.interrupted) effects.failed.push_back(std::move(spec));
        actor.interrupted.clear();
        if (data.has_creation_error()) {
          // The constructor raised: calls fail with its (serialized) error.
          actor.death_cause = data.creation_error().data();
          actor.creation_failed = true;
        }
        SetFailure(actor, &effects);
        break;
      default:
        if (actor.state == rpc::ActorTableData::DEPENDENCIES_UNREADY) actor.state = data.state();
        break;
    }
  }
  Apply(std::move(effects));
}

void ActorTaskSubmitter::Apply(Effects effects) {
  for (auto& [stream, request] : effects.sends) {
    if (stream != nullptr) stream->Send(std::move(request));
  }
  for (const auto& stream : effects.closing) stream->Close();
  FailDead(effects.interrupted, effects.interrupted_cause);
  if (effects.creation_failed) {
    FailCreation(effects.failed, effects.failed_cause);
  } else {
    FailDead(effects.failed, effects.failed_cause);
  }
  if (effects.out_of_scope && on_out_of_scope_) on_out_of_scope_(*effects.out_of_scope);
}

void ActorTaskSubmitter::SetFailure(const Actor& actor, Effects* effects) {
  effects->creation_failed = actor.creation_failed;
  effects->failed_cause =
      actor.creation_failed ? actor.death_cause : actor.who.Message(actor.death_cause);
}

void ActorTaskSubmitter::FailCreation(const std::vector<rpc::TaskSpec>& specs,
                                      const std::string& error) {
  for (const rpc::TaskSpec& spec : specs) {
    task_manager_->FailTask(TaskOf(spec), kActorCreationFailed, error, /*retryable=*/false);
  }
}

std::vector<rpc::TaskSpec> ActorTaskSubmitter::TakeWaiting(Actor& actor) {
  std::vector<rpc::TaskSpec> out;
  for (auto& [seq, spec] : actor.waiting) out.push_back(std::move(spec));
  actor.waiting.clear();
  return out;
}

void ActorTaskSubmitter::FailDead(const std::vector<rpc::TaskSpec>& specs,
                                  const std::string& cause) {
  for (const rpc::TaskSpec& spec : specs) {
    task_manager_->FailTask(TaskOf(spec), kActorDied,
                            cause.empty() ? ActorDeath().Message("") : cause,
                            /*retryable=*/false);
  }
}

rpc::ActorTableData::ActorState ActorTaskSubmitter::State(const ActorID& actor_id) const {
  absl::MutexLock lock(&mu_);
  auto it = actors_.find(actor_id);
  return it == actors_.end() ? rpc::ActorTableData::DEPENDENCIES_UNREADY : it->second.state;
}

ActorTaskSubmitter::CancelOutcome ActorTaskSubmitter::Cancel(const TaskID& task_id,
                                                             rpc::Address* worker) {
  std::optional<rpc::TaskSpec> cancelled;
  {
    absl::MutexLock lock(&mu_);
    auto it = actors_.find(task_id.ActorId());
    if (it == actors_.end()) return CancelOutcome::kUnknown;
    Actor& actor = it->second;
    for (auto call = actor.waiting.begin(); call != actor.waiting.end(); ++call) {
      if (TaskOf(call->second) == task_id) {
        cancelled = std::move(call->second);
        actor.waiting.erase(call);
        break;
      }
    }
    if (!cancelled) {
      for (const auto& [seq, request] : actor.in_flight) {
        if (TaskOf(request->task_spec()) == task_id) {
          *worker = actor.address;
          return CancelOutcome::kSent;
        }
      }
      return CancelOutcome::kUnknown;
    }
  }
  task_manager_->FailTask(task_id, kTaskCancelled,
                          "task " + task_id.Hex() + " was cancelled before it was sent",
                          /*retryable=*/false);
  return CancelOutcome::kCancelledHere;
}

std::string ActorTaskSubmitter::DeathCause(const ActorID& actor_id) const {
  absl::MutexLock lock(&mu_);
  auto it = actors_.find(actor_id);
  return it == actors_.end() ? "" : it->second.death_cause;
}

std::vector<ActorID> ActorTaskSubmitter::Unreachable() const {
  absl::MutexLock lock(&mu_);
  return std::vector<ActorID>(unreachable_.begin(), unreachable_.end());
}

std::vector<ActorID> ActorTaskSubmitter::Actors() const {
  absl::MutexLock lock(&mu_);
  std::vector<ActorID> out;
  for (const auto& [id, actor] : actors_) out.push_back(id);
  return out;
}

}  // namespace comet::core
