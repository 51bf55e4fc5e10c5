// RayletClientPool: the calls the GCS makes to raylets (NodeManagerService)
// for actors: dedicated worker leases, returning them, killing workers. A
// raylet is addressed by its NodeInfo. Header-only so that managers and
// their tests depend on the interface, not on gRPC (GrpcRayletClientPool).
//
// Thread model: implementations are thread-confined to the GCS thread;
// every call and every callback happen there. A callback runs exactly once,
// never inside the call that issued it, unless the pool is shut down (then
// it may never run).
#pragma once

#include <functional>

#include "absl/status/status.h"
#include "proto/common.pb.h"
#include "proto/node_manager.pb.h"
#include "src/comet/common/id.h"

namespace comet::gcs {

class RayletClientPool {
 public:
  template <typename Reply>
  using Callback = std::function<void(const absl::Status& status, Reply reply)>;

  virtual ~RayletClientPool() = default;

  // No deadline: a lease waits for resources as long as it takes.
  virtual void RequestWorkerLease(
      const rpc::NodeInfo& node, rpc::RequestWorkerLeaseRequest request,
      Callback<rpc::RequestWorkerLeaseReply> callback) = 0;
  virtual void ReturnWorker(const rpc::NodeInfo& node,
                            rpc::ReturnWorkerRequest request,
                            Callback<rpc::ReturnWorkerReply> callback) = 0;
  virtual void KillWorker(const rpc::NodeInfo& node,
                          rpc::KillWorkerRequest request,
                          Callback<rpc::KillWorkerReply> callback) = 0;

  // The node is gone: drop its connection.
  virtual void Forget(const NodeID& node_id) = 0;
};

}  // namespace comet::gcs
