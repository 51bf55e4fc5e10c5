// NodeManagerService: the raylet's gRPC service (callback API). Every
// handler posts its work to the NodeManager's io thread and finishes its
// reactor from there, so RequestWorkerLease can answer much later. A lease
// RPC that its client cancels (deadline, disconnect) drops its queued
// request.
//
// Ownership: borrows the NodeManager and the io_context, which must outlive
// the grpc::Server this service is registered with (shut the server down
// before destroying them). Thread model: handlers run on gRPC threads and
// touch nothing but the io_context's queue — except the object handlers,
// which call the (thread-safe) ObjectManager directly.
#pragma once

#include <boost/asio/io_context.hpp>

#include "proto/node_manager.grpc.pb.h"
#include "src/comet/object_manager/object_manager.h"
#include "src/comet/raylet/node_manager.h"

namespace comet::raylet {

class NodeManagerService final
    : public rpc::NodeManagerService::CallbackService {
 public:
  // `objects` serves PullObjects/FreeObjects (UNAVAILABLE when null).
  NodeManagerService(boost::asio::io_context& io, NodeManager* node_manager,
                     ObjectManager* objects = nullptr);

  grpc::ServerUnaryReactor* PullObjects(grpc::CallbackServerContext* context,
                                        const rpc::PullObjectsRequest* request,
                                        rpc::PullObjectsReply* reply) override;
  grpc::ServerUnaryReactor* FreeObjects(grpc::CallbackServerContext* context,
                                        const rpc::FreeObjectsRequest* request,
                                        rpc::FreeObjectsReply* reply) override;

  grpc::ServerUnaryReactor* RegisterWorker(
      grpc::CallbackServerContext* context,
      const rpc::RegisterWorkerRequest* request,
      rpc::RegisterWorkerReply* reply) override;
  grpc::ServerUnaryReactor* RegisterDriver(
      grpc::CallbackServerContext* context,
      const rpc::RegisterDriverRequest* request,
      rpc::RegisterDriverReply* reply) override;
  grpc::ServerUnaryReactor* RequestWorkerLease(
      grpc::CallbackServerContext* context,
      const rpc::RequestWorkerLeaseRequest* request,
      rpc::RequestWorkerLeaseReply* reply) override;
  grpc::ServerUnaryReactor* ReturnWorker(
      grpc::CallbackServerContext* context,
      const rpc::ReturnWorkerRequest* request,
      rpc::ReturnWorkerReply* reply) override;
  grpc::ServerUnaryReactor* CancelWorkerLease(
      grpc::CallbackServerContext* context,
      const rpc::CancelWorkerLeaseRequest* request,
      rpc::CancelWorkerLeaseReply* reply) override;
  grpc::ServerUnaryReactor* KillWorker(grpc::CallbackServerContext* context,
                                       const rpc::KillWorkerRequest* request,
                                       rpc::KillWorkerReply* reply) override;
  grpc::ServerUnaryReactor* GetWorkerFailureCause(
      grpc::CallbackServerContext* context, const rpc::GetWorkerFailureCauseRequest* request,
      rpc::GetWorkerFailureCauseReply* reply) override;
  grpc::ServerUnaryReactor* ReportMetrics(grpc::CallbackServerContext* context,
                                          const rpc::ReportMetricsRequest* request,
                                          rpc::ReportMetricsReply* reply) override;
  grpc::ServerUnaryReactor* GetNodeStats(
      grpc::CallbackServerContext* context,
      const rpc::GetNodeStatsRequest* request,
      rpc::GetNodeStatsReply* reply) override;
  grpc::ServerUnaryReactor* NotifyWorkerBlocked(
      grpc::CallbackServerContext* context,
      const rpc::NotifyWorkerBlockedRequest* request,
      rpc::NotifyWorkerBlockedReply* reply) override;
  grpc::ServerUnaryReactor* NotifyWorkerUnblocked(
      grpc::CallbackServerContext* context,
      const rpc::NotifyWorkerUnblockedRequest* request,
      rpc::NotifyWorkerUnblockedReply* reply) override;
  grpc::ServerUnaryReactor* PrepareBundleResources(
      grpc::CallbackServerContext* context,
      const rpc::PrepareBundleResourcesRequest* request,
      rpc::PrepareBundleResourcesReply* reply) override;
  grpc::ServerUnaryReactor* CommitBundleResources(
      grpc::CallbackServerContext* context,
      const rpc::CommitBundleResourcesRequest* request,
      rpc::CommitBundleResourcesReply* reply) override;
  grpc::ServerUnaryReactor* CancelResourceReserve(
      grpc::CallbackServerContext* context,
      const rpc::CancelResourceReserveRequest* request,
      rpc::CancelResourceReserveReply* reply) override;
  grpc::ServerUnaryReactor* HealthCheck(grpc::CallbackServerContext* context,
                                        const rpc::HealthCheckRequest* request,
                                        rpc::HealthCheckReply* reply) override;

 private:
  // Runs `handler(request, reply, finish)` on the io thread.
  template <typename Request, typename Reply, typename Handler>
  grpc::ServerUnaryReactor* Dispatch(grpc::CallbackServerContext* context,
                                     const Request* request, Reply* reply,
                                     Handler handler);

  boost::asio::io_context& io_;
  NodeManager* const node_manager_;
  ObjectManager* const objects_;
};

}  // namespace comet::raylet
