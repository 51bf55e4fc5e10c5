// CoreWorkerServiceImpl: the gRPC face of a CoreWorker (callback API).
//
// PushTask calls and the tasks of PushTaskStreams (actor calls) are queued in
// the TaskReceiver and answered when the execution thread finishes them; GetObjectStatus is answered when the object
// exists; CancelTask and ReportGeneratorItem go to the receiver and the task
// manager. Handlers run on gRPC threads and never block.
#pragma once

#include <grpcpp/grpcpp.h>

#include "proto/core_worker.grpc.pb.h"

namespace comet::core {

class CoreWorker;

class CoreWorkerServiceImpl : public rpc::CoreWorkerService::CallbackService {
 public:
  // `worker` must outlive the server this service is registered with.
  explicit CoreWorkerServiceImpl(CoreWorker* worker) : worker_(worker) {}

  grpc::ServerUnaryReactor* PushTask(grpc::CallbackServerContext* context,
                                     const rpc::PushTaskRequest* request,
                                     rpc::PushTaskReply* reply) override;
  grpc::ServerBidiReactor<rpc::PushTaskRequest, rpc::PushTaskStreamReply>* PushTaskStream(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* GetObjectStatus(grpc::CallbackServerContext* context,
                                            const rpc::GetObjectStatusRequest* request,
                                            rpc::GetObjectStatusReply* reply) override;
  grpc::ServerUnaryReactor* CancelTask(grpc::CallbackServerContext* context,
                                       const rpc::CancelTaskRequest* request,
                                       rpc::CancelTaskReply* reply) override;
  grpc::ServerUnaryReactor* ReportGeneratorItem(grpc::CallbackServerContext* context,
                                                const rpc::ReportGeneratorItemRequest* request,
                                                rpc::ReportGeneratorItemReply* reply) override;
  grpc::ServerUnaryReactor* KillActor(grpc::CallbackServerContext* context,
                                      const rpc::KillActorRequest* request,
                                      rpc::KillActorReply* reply) override;
  grpc::ServerUnaryReactor* GetObjectRefs(grpc::CallbackServerContext* context,
                                          const rpc::GetObjectRefsRequest* request,
                                          rpc::GetObjectRefsReply* reply) override;
  grpc::ServerUnaryReactor* AddObjectLocation(grpc::CallbackServerContext* context,
                                              const rpc::AddObjectLocationRequest* request,
                                              rpc::AddObjectLocationReply* reply) override;
  grpc::ServerUnaryReactor* Exit(grpc::CallbackServerContext* context,
                                 const rpc::ExitRequest* request, rpc::ExitReply* reply) override;

 private:
  CoreWorker* worker_;
};

}  // namespace comet::core
