// ActorTaskSubmitter: this process's calls to actors.
//
// Per actor it keeps the actor's state as the GCS reports it, the calls not
// yet sent (waiting for the actor to be ALIVE) and the calls in flight, and
// numbers this caller's calls so the actor runs them in submission order.
// Calls go out on one ActorCallStream per actor worker.
// When the actor dies, calls in flight are retried after its restart if their
// retry budget allows, else failed with ACTOR_DIED once the GCS says why it
// died (or after a short wait, see Tick); when it is DEAD for good every
// waiting call fails. Thread-safe: guarded by mu_; RPC replies arrive on
// gRPC threads and no callback into other components runs under the lock.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/core_worker.grpc.pb.h"
#include "proto/gcs_service.pb.h"
#include "src/comet/common/id.h"
#include "src/comet/core_worker/actor_call_stream.h"
#include "src/comet/core_worker/actor_death.h"
#include "src/comet/core_worker/task_manager.h"
#include "src/comet/rpc/async_call.h"
#include "src/comet/rpc/client_pool.h"

namespace comet::core {

class ActorTaskSubmitter {
 public:
  // Called (outside the lock) once an actor this process created is out of
  // scope: its handles are gone and its calls answered.
  using OutOfScopeHandler = std::function<void(const ActorID& actor_id)>;

  // `calls` (optional) tracks the streams for shutdown.
  ActorTaskSubmitter(WorkerID caller_id, TaskManager* task_manager,
                     rpc::ClientPool<rpc::CoreWorkerService>* workers,
                     rpc::CallRegistry* calls = nullptr, OutOfScopeHandler on_out_of_scope = {},
                     absl::Duration death_cause_wait = absl::Seconds(1))
      : caller_id_(caller_id),
        task_manager_(task_manager),
        workers_(workers),
        calls_(calls),
        on_out_of_scope_(std::move(on_out_of_scope)),
        death_cause_wait_(death_cause_wait) {}

  // Starts tracking an actor (idempotent). `collectable`: this process
  // created it and nothing but its handles here keeps it (not detached, not
  // named), so it ends when they are all gone.
  void AddActor(const ActorID& actor_id, bool collectable = false);
  bool Tracks(const ActorID& actor_id) const;

  // This process's live handle objects of an actor. A handle that was
  // serialized (passed to a task, stored in an object) may live on elsewhere:
  // the actor is then never collected.
  void AddHandle(const ActorID& actor_id);
  void RemoveHandle(const ActorID& actor_id);
  void MarkHandleEscaped(const ActorID& actor_id);

  // Queues or sends a call; fills its sequence number.
  void Submit(rpc::TaskSpec spec);

  // The GCS says the actor changed state.
  void OnActorUpdate(const rpc::ActorTableData& data);

  // Calls interrupted by their actor's death that have waited
  // `death_cause_wait` for the cause fail without it.
  void Tick(absl::Time now);
  // Whether some interrupted call waits for its actor's death cause (the
  // caller then ticks often).
  bool AwaitingDeathCauses() const;

  // State of the actor as last reported (DEPENDENCIES_UNREADY if unknown).
  rpc::ActorTableData::ActorState State(const ActorID& actor_id) const;
  std::string DeathCause(const ActorID& actor_id) const;

  // Cancels a call (Ray's actor-task cancel). One still waiting to be sent
  // fails as cancelled here (kCancelledHere); one sent is for its worker to
  // drop if it has not started (kSent: `worker` is where it went); kUnknown
  // when this submitter has no such call.
  enum class CancelOutcome { kUnknown, kCancelledHere, kSent };
  CancelOutcome Cancel(const TaskID& task_id, rpc::Address* worker);
  std::vector<ActorID> Actors() const;

  // Actors whose calls could not reach their worker (its stream never
  // connected): the calls wait, retries unspent, until the next update of the
  // actor (the caller reads the GCS's view of these and hands it to
  // OnActorUpdate, which resends them if the actor is still ALIVE there).
  std::vector<ActorID> Unreachable() const;

 private:
  struct Actor {
    rpc::ActorTableData::ActorState state = rpc::ActorTableData::DEPENDENCIES_UNREADY;
    rpc::Address address;
    // Who it is (for the messages of failed calls) and why it died.
    ActorDeath who;
    std::string death_cause;
    int64_t next_sequence = 0;
    // Calls waiting to be sent, and the requests of calls in flight (shared
    // with the stream that writes them), by sequence number.
    std::map<int64_t, rpc::TaskSpec> waiting;
    std::map<int64_t, std::shared_ptr<const rpc::PushTaskRequest>> in_flight;
    // Calls its worker's death interrupted, out of retries: they fail with
    // the cause the GCS gives (its DEAD or RESTARTING notice), or without
    // one at interrupted_until (see Tick), as Ray waits for death info.
    std::vector<rpc::TaskSpec> interrupted;
    absl::Time interrupted_until = absl::InfiniteFuture();
    // Bumped when calls in flight are interrupted (the worker went away), so
    // that late replies from the old worker are told apart.
    int64_t incarnation = 0;
    // DEAD because the constructor raised; death_cause holds its error.
    bool creation_failed = false;
    // The stream that carries calls to the current worker, once one went out.
    std::shared_ptr<ActorCallStream> stream;
    // Handle counting (see AddActor and AddHandle).
    int64_t handles = 0;
    bool collectable = false;
    bool escaped = false;
    bool released = false;  // Reported out of scope.
  };
  // What the locked sections leave for after the lock: requests to write,
  // streams to close and calls to fail. gRPC may run stream handlers inline,
  // and they take mu_.
  struct Effects {
    std::vector<std::pair<std::shared_ptr<ActorCallStream>,
                          std::shared_ptr<const rpc::PushTaskRequest>>>
        sends;
    std::vector<std::shared_ptr<ActorCallStream>> closing;
    std::vector<rpc::TaskSpec> failed;  // Fail with failed_cause.
    std::string failed_cause;
    bool creation_failed = false;       // failed_cause is the constructor's error.
    std::vector<rpc::TaskSpec> interrupted;  // The actor died running them.
    std::string interrupted_cause;
    std::optional<ActorID> out_of_scope;
  };

  void SendWaiting(const ActorID& actor_id, Actor& actor, Effects* effects)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The calls in effects->failed fail with what the dead `actor` died of.
  static void SetFailure(const Actor& actor, Effects* effects);
  // The request of a call leaving `waiting` (its spec moves into it).
  std::shared_ptr<const rpc::PushTaskRequest> MakeRequest(const Actor& actor,
                                                          rpc::TaskSpec spec) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The stream to the actor's current worker (opened if needed); nullptr at shutdown.
  std::shared_ptr<ActorCallStream> StreamTo(const ActorID& actor_id, Actor& actor)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The calls sent to the actor's worker can no longer be answered: they go
  // back to wait (or fail if out of retries) and its stream is closed.
  void LeaveWorker(Actor& actor, Effects* effects) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The interrupted calls fail, with `cause` (or a sentence saying the
  // actor's worker died) in the actor's death message.
  void FailInterrupted(Actor& actor, const std::string& cause, Effects* effects)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A call failed or its stream ended with calls unanswered.
  void OnCallsLost(Actor& actor, Effects* effects) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether the actor is now out of scope (reported once).
  bool BecameOutOfScope(Actor& actor) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnReply(const ActorID& actor_id, int64_t sequence, int64_t incarnation,
               const grpc::Status& status, rpc::PushTaskReply reply);
  void OnStreamEnded(const ActorID& actor_id, ActorCallStream* stream, bool reached_worker);
  // Calls that can never run: failed outside the lock.
  std::vector<rpc::TaskSpec> TakeWaiting(Actor& actor) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Apply(Effects effects);
  void FailDead(const std::vector<rpc::TaskSpec>& specs, const std::string& cause);
  void FailCreation(const std::vector<rpc::TaskSpec>& specs, const std::string& error);

  const WorkerID caller_id_;
  TaskManager* task_manager_;
  rpc::ClientPool<rpc::CoreWorkerService>* workers_;
  rpc::CallRegistry* const calls_;
  const OutOfScopeHandler on_out_of_scope_;
  const absl::Duration death_cause_wait_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<ActorID, Actor> actors_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<ActorID> unreachable_ ABSL_GUARDED_BY(mu_);
};

}  // namespace comet::core
