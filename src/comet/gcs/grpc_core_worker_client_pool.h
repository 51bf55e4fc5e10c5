// GrpcCoreWorkerClientPool: CoreWorkerClientPool over gRPC, one channel per
// worker address ("ip:port", cached until Forget), calls tracked by an
// AsyncCallTracker so that Shutdown() cancels what is in flight.
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
#include "proto/core_worker.grpc.pb.h"
#include "src/comet/gcs/async_call_tracker.h"
#include "src/comet/rpc/cluster_auth.h"
#include "src/comet/gcs/core_worker_client_pool_interface.h"

namespace comet::gcs {

class GrpcCoreWorkerClientPool : public CoreWorkerClientPool {
 public:
  static constexpr absl::Duration kKillTimeout = absl::Seconds(10);

  GrpcCoreWorkerClientPool(boost::asio::io_context& io, rpc::ClusterAuth auth)
      : auth_(std::move(auth)), calls_(io) {}

  void PushTask(const rpc::Address& worker, rpc::PushTaskRequest request,
                Callback<rpc::PushTaskReply> callback) override;
  void KillActor(const rpc::Address& worker, rpc::KillActorRequest request,
                 Callback<rpc::KillActorReply> callback) override;
  void Forget(const rpc::Address& worker) override;

  void Shutdown() { calls_.Shutdown(); }

  // "ip:port", with brackets for IPv6.
  static std::string TargetOf(const rpc::Address& worker);

 private:
  std::shared_ptr<rpc::CoreWorkerService::Stub> StubFor(
      const rpc::Address& worker);

  const rpc::ClusterAuth auth_;
  AsyncCallTracker calls_;
  absl::flat_hash_map<std::string,
                      std::shared_ptr<rpc::CoreWorkerService::Stub>>
      stubs_;
};

}  // namespace comet::gcs
