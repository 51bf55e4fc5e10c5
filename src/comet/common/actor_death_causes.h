// Why an actor died, in Ray's words (`comet.kill` for `ray.kill`): the GCS
// records these as ActorTableData.death_cause, and callers' failed calls end
// their ActorDiedError message with them (core_worker/actor_death.h). Some
// are followed by a detail ("Worker exit detail: signal 9").
#pragma once

namespace comet {

inline constexpr const char* kActorKilledCause =
    "The actor is dead because it was killed by `comet.kill`.";
inline constexpr const char* kActorOutOfScopeCause =
    "The actor is dead because all references to the actor were removed.";
inline constexpr const char* kActorWorkerDiedCause =
    "The actor is dead because its worker process has died.";
inline constexpr const char* kActorNodeDiedCause =
    "The actor is dead because its node has died.";
inline constexpr const char* kActorOwnerDiedCause =
    "The actor is dead because its owner has died.";
inline constexpr const char* kActorJobFinishedCause =
    "The actor is dead because the job that owns it has finished.";

}  // namespace comet
