// ObjectManagerGrpcService: the gRPC face of the ObjectManager (callback
// API) — other raylets pull objects from this node through it.
//
// Ownership: borrows the ObjectManager, which must outlive the server this
// service is registered with. Thread model: handlers run on gRPC threads.
#pragma once

#include "proto/node_manager.grpc.pb.h"
#include "src/comet/object_manager/object_manager.h"

namespace comet {

class ObjectManagerGrpcService final : public rpc::ObjectManagerService::CallbackService {
 public:
  explicit ObjectManagerGrpcService(ObjectManager* objects) : objects_(objects) {}

  grpc::ServerWriteReactor<rpc::ObjectChunk>* Pull(grpc::CallbackServerContext* context,
                                                   const rpc::ObjectPullRequest* request) override {
    return objects_->ServePull(context, request);
  }

 private:
  ObjectManager* const objects_;
};

}  // namespace comet
