// GrpcRayletClientPool: RayletClientPool over gRPC, one channel per node
// (cached until Forget), calls tracked by an AsyncCallTracker so that
// Shutdown() cancels what is in flight. The target is
// GrpcNodeProber::TargetOf(node).
//
// Thread model: thread-confined to the io_context given at construction
// (the GCS thread), except Shutdown(), which may be called from any thread
// but a gRPC callback thread. The io_context must outlive this object.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "proto/node_manager.grpc.pb.h"
#include "src/comet/gcs/async_call_tracker.h"
#include "src/comet/rpc/cluster_auth.h"
#include "src/comet/gcs/raylet_client_pool_interface.h"

namespace comet::gcs {

class GrpcRayletClientPool : public RayletClientPool {
 public:
  // Deadline of the calls that are not leases.
  static constexpr absl::Duration kCallTimeout = absl::Seconds(10);

  GrpcRayletClientPool(boost::asio::io_context& io, rpc::ClusterAuth auth)
      : auth_(std::move(auth)), calls_(io) {}

  void RequestWorkerLease(
      const rpc::NodeInfo& node, rpc::RequestWorkerLeaseRequest request,
      Callback<rpc::RequestWorkerLeaseReply> callback) override;
  void ReturnWorker(const rpc::NodeInfo& node, rpc::ReturnWorkerRequest request,
                    Callback<rpc::ReturnWorkerReply> callback) override;
  void KillWorker(const rpc::NodeInfo& node, rpc::KillWorkerRequest request,
                  Callback<rpc::KillWorkerReply> callback) override;
  void Forget(const NodeID& node_id) override { stubs_.erase(node_id); }

  void Shutdown() { calls_.Shutdown(); }

 private:
  struct Entry {
    std::string target;
    std::shared_ptr<rpc::NodeManagerService::Stub> stub;
  };
  std::shared_ptr<rpc::NodeManagerService::Stub> StubFor(
      const rpc::NodeInfo& node);

  const rpc::ClusterAuth auth_;
  AsyncCallTracker calls_;
  absl::flat_hash_map<NodeID, Entry> stubs_;
};

}  // namespace comet::gcs
