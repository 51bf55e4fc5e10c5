#include "src/comet/gcs/grpc_raylet_client_pool.h"

#include <utility>

#include "src/comet/gcs/grpc_node_prober.h"
#include "src/comet/rpc/client_pool.h"

namespace comet::gcs {

std::shared_ptr<rpc::NodeManagerService::Stub> GrpcRayletClientPool::StubFor(
    const rpc::NodeInfo& node) {
  NodeID id = NodeID::FromBinary(node.node_id()).value_or(NodeID::Nil());
  std::string target = GrpcNodeProber::TargetOf(node);
  Entry& entry = stubs_[id];
  if (entry.stub == nullptr || entry.target != target) {
    entry.target = target;
    entry.stub = rpc::NodeManagerService::NewStub(rpc::MakeChannel(target, auth_));
  }
  return entry.stub;
}

void GrpcRayletClientPool::RequestWorkerLease(
    const rpc::NodeInfo& node, rpc::RequestWorkerLeaseRequest request,
    Callback<rpc::RequestWorkerLeaseReply> callback) {
  auto stub = StubFor(node);
  calls_.Call<rpc::RequestWorkerLeaseRequest, rpc::RequestWorkerLeaseReply>(
      [stub](auto* context, auto* request, auto* reply, auto done) {
        stub->async()->RequestWorkerLease(context, request, reply,
                                          std::move(done));
      },
      std::move(request), absl::InfiniteDuration(), std::move(callback));
}

void GrpcRayletClientPool::ReturnWorker(
    const rpc::NodeInfo& node, rpc::ReturnWorkerRequest request,
    Callback<rpc::ReturnWorkerReply> callback) {
  auto stub = StubFor(node);
  calls_.Call<rpc::ReturnWorkerRequest, rpc::ReturnWorkerReply>(
      [stub](auto* context, auto* request, auto* reply, auto done) {
        stub->async()->ReturnWorker(context, request, reply, std::move(done));
      },
      std::move(request), kCallTimeout, std::move(callback));
}

void GrpcRayletClientPool::KillWorker(const rpc::NodeInfo& node,
                                      rpc::KillWorkerRequest request,
                                      Callback<rpc::KillWorkerReply> callback) {
  auto stub = StubFor(node);
  calls_.Call<rpc::KillWorkerRequest, rpc::KillWorkerReply>(
      [stub](auto* context, auto* request, auto* reply, auto done) {
        stub->async()->KillWorker(context, request, reply, std::move(done));
      },
      std::move(request), kCallTimeout, std::move(callback));
}

}  // namespace comet::gcs
