#include "src/comet/gcs/gcs_actor_grpc_services.h"

#include "src/comet/common/actor_death_causes.h"

#include <boost/asio/post.hpp>
#include <optional>
#include <utility>

#include "src/comet/gcs/gcs_grpc_services.h"

namespace comet::gcs {

grpc::ServerUnaryReactor* ActorInfoService::RegisterActor(
    grpc::CallbackServerContext* context,
    const rpc::RegisterActorRequest* request, rpc::RegisterActorReply* reply) {
  return OnGcsThread(io_, context, [this, request, reply] {
    return actors_->RegisterActor(request->task_spec(), reply);
  });
}

grpc::ServerUnaryReactor* ActorInfoService::CreateActor(
    grpc::CallbackServerContext* context,
    const rpc::CreateActorRequest* request, rpc::CreateActorReply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  boost::asio::post(io_, [this, request, reply, reactor] {
    absl::StatusOr<ActorID> id = ActorID::FromBinary(request->actor_id());
    absl::Status status = id.status();
    if (status.ok()) {
      status = actors_->CreateActor(
          *id, [reply, reactor](const absl::Status& result,
                                const rpc::ActorTableData& actor) {
            if (result.ok()) *reply->mutable_actor() = actor;
            reactor->Finish(ToGrpcStatus(result));
          });
    }
    if (!status.ok()) reactor->Finish(ToGrpcStatus(status));
  });
  return reactor;
}

grpc::ServerUnaryReactor* ActorInfoService::GetActorInfo(
    grpc::CallbackServerContext* context,
    const rpc::GetActorInfoRequest* request, rpc::GetActorInfoReply* reply) {
  return OnGcsThread(io_, context, [this, request, reply]() -> absl::Status {
    absl::StatusOr<ActorID> id = ActorID::FromBinary(request->actor_id());
    if (!id.ok()) return id.status();
    std::optional<rpc::ActorTableData> actor = actors_->GetActor(*id);
    reply->set_found(actor.has_value());
    if (actor) *reply->mutable_actor() = *std::move(actor);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ActorInfoService::GetNamedActorInfo(
    grpc::CallbackServerContext* context,
    const rpc::GetNamedActorInfoRequest* request,
    rpc::GetNamedActorInfoReply* reply) {
  return OnGcsThread(io_, context, [this, request, reply] {
    std::optional<rpc::ActorTableData> actor =
        actors_->GetNamedActor(request->name(), request->ray_namespace());
    reply->set_found(actor.has_value());
    if (actor) *reply->mutable_actor() = *std::move(actor);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ActorInfoService::GetAllActorInfo(
    grpc::CallbackServerContext* context,
    const rpc::GetAllActorInfoRequest* request,
    rpc::GetAllActorInfoReply* reply) {
  return OnGcsThread(io_, context, [this, request, reply] {
    for (rpc::ActorTableData& actor :
         actors_->GetAllActors(request->job_id(), request->alive_only())) {
      *reply->add_actors() = std::move(actor);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ActorInfoService::ListNamedActors(
    grpc::CallbackServerContext* context,
    const rpc::ListNamedActorsRequest* request,
    rpc::ListNamedActorsReply* reply) {
  return OnGcsThread(io_, context, [this, request, reply] {
    for (rpc::ActorTableData& actor : actors_->ListNamedActors(
             request->ray_namespace(), request->all_namespaces())) {
      *reply->add_actors() = std::move(actor);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ActorInfoService::KillActorViaGcs(
    grpc::CallbackServerContext* context,
    const rpc::KillActorViaGcsRequest* request,
    rpc::KillActorViaGcsReply* reply) {
  return OnGcsThread(io_, context, [this, request, reply]() -> absl::Status {
    absl::StatusOr<ActorID> id = ActorID::FromBinary(request->actor_id());
    if (!id.ok()) return id.status();
    reply->set_found(
        actors_->KillActor(*id, request->force_kill(), request->no_restart(),
                           request->reason().empty() ? kActorKilledCause : request->reason()));
    return absl::OkStatus();
  });
}

}  // namespace comet::gcs
