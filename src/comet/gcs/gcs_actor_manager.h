// GcsActorManager: the actor table and every actor's lifecycle.
//
//   RegisterActor -> DEPENDENCIES_UNREADY --CreateActor--> PENDING_CREATION
//   PENDING_CREATION --creation task succeeded--> ALIVE
//   ALIVE / PENDING_CREATION / RESTARTING --worker or node died--> RESTARTING
//       (restarts left and not killed for good) or DEAD
//   any --constructor raised, kill(no_restart), owner died--> DEAD (final)
//
// Creation goes through the GcsActorScheduler (node, dedicated lease, push
// of the creation task). A CreateActor call is answered when the actor is
// ALIVE or DEAD; the calls wait here, by actor. Names are unique per
// namespace among actors that are not DEAD. When a job finishes, or an
// actor's owner (the worker or driver that created it) dies, its actors die
// too, unless they are detached.
//
// Every change is written to the store (table kActorTable, key = actor id)
// and published on ACTOR_CHANNEL (key = actor id, payload = the row without
// creation_task_spec). Replies about one actor carry the full row, lists do
// not carry creation_task_spec. DEAD actors are kept (the newest
// `max_dead_actors`) so that late callers learn why they died.
//
// Killing: KillActor sends CoreWorkerService.KillActor to the actor's
// worker, and after a grace period (short when forced) has the raylet
// SIGKILL the process if it has not exited. A kill with no_restart makes the
// actor DEAD at once; without it, the worker's exit counts as a failure
// (restart if restarts remain).
//
// Ownership: does not own the store, publisher or scheduler; all must
// outlive it. Registers itself as the scheduler's listener.
// Thread model: thread-confined to the GCS thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/common.pb.h"
#include "proto/gcs_service.pb.h"
#include "src/comet/common/actor_death_causes.h"
#include "src/comet/common/id.h"
#include "src/comet/gcs/gcs_actor_scheduler.h"
#include "src/comet/gcs/gcs_publisher_interface.h"
#include "src/comet/gcs/store_client.h"

namespace comet::gcs {

struct GcsActorManagerOptions {
  // After KillActor(force) the raylet kills a worker still running.
  absl::Duration force_kill_grace = absl::Seconds(1);
  // After a graceful KillActor (queued calls finish first).
  absl::Duration graceful_kill_timeout = absl::Seconds(30);
  size_t max_dead_actors = 10000;
};

class GcsActorManager : public GcsActorScheduler::Listener {
 public:
  static constexpr absl::string_view kActorTable = "actors";

  // Answers a CreateActor: OK with the ALIVE or DEAD row, or an error (the
  // GCS is shutting down).
  using CreateCallback =
      std::function<void(const absl::Status&, const rpc::ActorTableData&)>;

  GcsActorManager(StoreClient* store, GcsPublisher* publisher,
                  GcsActorScheduler* scheduler, RunAfterFn run_after,
                  GcsActorManagerOptions options = {});

  // Loads the table from the store (a restarted GCS); actors that were
  // being created or restarted are scheduled again. Call once, first.
  absl::Status Initialize();

  // Answers every waiting CreateActor with UNAVAILABLE (GCS shutdown); later
  // ones fail at once.
  void Shutdown();

  // Records the actor of an ACTOR_CREATION_TASK spec. Registering the same
  // actor again is a no-op. A name taken in its namespace fills
  // reply->error and reply->existing. InvalidArgument for a malformed spec.
  absl::Status RegisterActor(const rpc::TaskSpec& spec,
                             rpc::RegisterActorReply* reply);

  // Schedules the actor's creation (once) and calls `callback` when it is
  // ALIVE or DEAD (at once if it already is). NotFound for an unknown
  // actor, and then `callback` is not called.
  absl::Status CreateActor(const ActorID& actor_id, CreateCallback callback);

  // False for an unknown actor. See the header comment.
  bool KillActor(const ActorID& actor_id, bool force_kill, bool no_restart,
                 const std::string& reason = kActorKilledCause);

  // A worker process exited (the raylet's report): its actor fails, and the
  // actors it owned die.
  void OnWorkerDead(const WorkerID& worker_id, const NodeID& node_id,
                    const std::string& exit_detail, bool intentional);
  // A node died: its actors fail, actors owned by its processes die.
  void OnNodeDead(const NodeID& node_id, const std::string& reason);
  // A job finished: its actors die, except detached ones.
  void OnJobFinished(const JobID& job_id);

  // Queries. Single-actor answers carry the full row.
  std::optional<rpc::ActorTableData> GetActor(const ActorID& actor_id) const;
  // Only actors that are not DEAD have names.
  std::optional<rpc::ActorTableData> GetNamedActor(
      const std::string& name, const std::string& ray_namespace) const;
  // `job_id` empty: every job. By actor id.
  std::vector<rpc::ActorTableData> GetAllActors(const std::string& job_id,
                                                bool alive_only) const;
  std::vector<rpc::ActorTableData> ListNamedActors(
      const std::string& ray_namespace, bool all_namespaces) const;

  // GcsActorScheduler::Listener.
  bool OnWorkerLeased(const ActorID& actor_id, uint64_t attempt,
                      const ActorLease& lease) override;
  void OnCreationTaskReplied(const ActorID& actor_id, uint64_t attempt,
                             const absl::Status& status,
                             const rpc::PushTaskReply& reply) override;
  // The actor dies: it can never be placed.
  void OnUnschedulable(const ActorID& actor_id, uint64_t attempt,
                       const std::string& why) override;

  size_t num_actors() const { return actors_.size(); }

 private:
  using State = rpc::ActorTableData::ActorState;
  using NameKey = std::pair<std::string, std::string>;  // (namespace, name)

  struct Actor {
    rpc::ActorTableData data;
    // The scheduling attempt in progress; older replies are stale.
    uint64_t attempt = 0;
    // The worker it runs in, or is being created in.
    std::optional<ActorLease> lease;
    std::vector<CreateCallback> waiting;
    // Set when a kill that allows a restart is under way: the death cause
    // if the worker's exit ends the actor.
    std::string kill_reason;
  };

  void StartAttempt(Actor& actor);
  void Kill(Actor& actor, bool force_kill, bool no_restart,
            const std::string& reason);
  // The actor's worker is gone (or abandoned): restart or die with `cause`.
  void OnActorWorkerGone(Actor& actor, const std::string& cause);
  void Restart(Actor& actor, std::string cause);
  // DEAD for good; the actor's lease, if any, must be released already.
  // May drop the oldest DEAD actor (never this one) from the table.
  void Die(Actor& actor, std::string cause);
  enum class Release { kAskToExit, kAskToExitNow, kReturnLease, kKill };
  // Lets go of a worker: asks it to exit (KillActor), returns its lease
  // (disconnect) or kills it. It stays in `stopping_` until its exit is
  // reported; one still there after the grace period is SIGKILLed.
  void ReleaseWorker(const ActorID& actor_id, const ActorLease& lease,
                     Release how, const std::string& reason);
  // Kills (no restart) every actor that is not DEAD or detached for which
  // `match` holds.
  void KillWhere(const std::function<bool(const rpc::ActorTableData&)>& match,
                 const std::string& reason);
  // Forgets the actor's lease (not the worker: see ReleaseWorker).
  void DropLease(Actor& actor);
  void AddName(const ActorID& actor_id, const rpc::ActorTableData& data);
  void Answer(Actor& actor);
  void SaveAndPublish(const Actor& actor);
  void RememberDead(const ActorID& actor_id);
  Actor* Find(const ActorID& actor_id);

  StoreClient* const store_;
  GcsPublisher* const publisher_;
  GcsActorScheduler* const scheduler_;
  const RunAfterFn run_after_;
  const GcsActorManagerOptions options_;

  bool shut_down_ = false;
  absl::flat_hash_map<ActorID, Actor> actors_;
  absl::flat_hash_map<NameKey, ActorID> names_;
  // The worker each actor runs in (or is being created in).
  absl::flat_hash_map<WorkerID, ActorID> by_worker_;
  // Workers told to exit: killed through their raylet if still there after
  // the grace period.
  absl::flat_hash_map<WorkerID, ActorLease> stopping_;
  // DEAD actors, oldest death first, for trimming.
  std::deque<ActorID> dead_order_;
};

}  // namespace comet::gcs
