// The GCS's actor service, ActorInfoGcsService: thin glue from RPCs to the
// GcsActorManager in the same pattern as gcs_grpc_services.h — handlers post
// to the GCS io_context and finish their reactor there. A CreateActor's
// reactor stays open (no thread) until the manager answers it: when the
// actor is ALIVE or DEAD, or at shutdown.
//
// Ownership: the service does not own the manager or the io_context; both
// must outlive the grpc::Server the service is registered with, and the
// io_context must keep running until that server's Shutdown() returns
// (GcsActorManager::Shutdown() answers waiting CreateActor calls first).
// Thread model: handlers are called on gRPC threads and only post.
#pragma once

#include <boost/asio/io_context.hpp>

#include "proto/gcs_service.grpc.pb.h"
#include "src/comet/gcs/gcs_actor_manager.h"

namespace comet::gcs {

class ActorInfoService : public rpc::ActorInfoGcsService::CallbackService {
 public:
  ActorInfoService(boost::asio::io_context& io, GcsActorManager* actors)
      : io_(io), actors_(actors) {}

  grpc::ServerUnaryReactor* RegisterActor(
      grpc::CallbackServerContext* context,
      const rpc::RegisterActorRequest* request,
      rpc::RegisterActorReply* reply) override;
  grpc::ServerUnaryReactor* CreateActor(grpc::CallbackServerContext* context,
                                        const rpc::CreateActorRequest* request,
                                        rpc::CreateActorReply* reply) override;
  grpc::ServerUnaryReactor* GetActorInfo(
      grpc::CallbackServerContext* context,
      const rpc::GetActorInfoRequest* request,
      rpc::GetActorInfoReply* reply) override;
  grpc::ServerUnaryReactor* GetNamedActorInfo(
      grpc::CallbackServerContext* context,
      const rpc::GetNamedActorInfoRequest* request,
      rpc::GetNamedActorInfoReply* reply) override;
  grpc::ServerUnaryReactor* GetAllActorInfo(
      grpc::CallbackServerContext* context,
      const rpc::GetAllActorInfoRequest* request,
      rpc::GetAllActorInfoReply* reply) override;
  grpc::ServerUnaryReactor* ListNamedActors(
      grpc::CallbackServerContext* context,
      const rpc::ListNamedActorsRequest* request,
      rpc::ListNamedActorsReply* reply) override;
  grpc::ServerUnaryReactor* KillActorViaGcs(
      grpc::CallbackServerContext* context,
      const rpc::KillActorViaGcsRequest* request,
      rpc::KillActorViaGcsReply* reply) override;

 private:
  boost::asio::io_context& io_;
  GcsActorManager* actors_;
};

}  // namespace comet::gcs
