// GrpcNodeProber: NodeProber over NodeManagerService.HealthCheck, with
// gRPC's callback client API so that no thread waits on a raylet. One
// channel per node, cached until Forget(). The target is
// "node_manager_address:node_manager_port" ("[addr]:port" for IPv6), or the
// address alone when it is a "unix:PATH" URI.
//
// Thread model: thread-confined to the io_context given at construction
// (Probe, Forget), except Shutdown(), which may be called from any thread.
// RPC completions arrive on gRPC threads and only post the callback to the
// io_context. The io_context must outlive this object and any probe
// still in flight; Shutdown() (also run by the destructor) ends them.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "proto/node_manager.grpc.pb.h"
#include "src/comet/gcs/node_prober_interface.h"
#include "src/comet/rpc/cluster_auth.h"

namespace comet::gcs {

class GrpcNodeProber : public NodeProber {
 public:
  GrpcNodeProber(boost::asio::io_context& io_context, rpc::ClusterAuth auth);
  ~GrpcNodeProber() override;  // Shutdown()

  GrpcNodeProber(const GrpcNodeProber&) = delete;
  GrpcNodeProber& operator=(const GrpcNodeProber&) = delete;

  void Probe(const rpc::NodeInfo& node, absl::Duration timeout,
             Callback callback) override;
  void Forget(const NodeID& node_id) override;

  // Cancels the probes in flight and returns once none is left; their
  // callbacks are posted (with CANCELLED) but run only if the io_context
  // still runs. Later probes fail at once. Idempotent. Must not be called
  // from a gRPC callback.
  void Shutdown();

  // "host:port" for gRPC, as described above.
  static std::string TargetOf(const rpc::NodeInfo& node);

 private:
  struct Call;
  struct InFlight;
  struct Channel {
    std::string target;
    std::unique_ptr<rpc::NodeManagerService::Stub> stub;
  };

  rpc::NodeManagerService::Stub* StubFor(const NodeID& node_id,
                                         const std::string& target);

  boost::asio::io_context& io_context_;
  const rpc::ClusterAuth auth_;
  // Shared with completion callbacks, which may outlive this object.
  std::shared_ptr<InFlight> in_flight_;
  absl::flat_hash_map<NodeID, Channel> channels_;
};

}  // namespace comet::gcs
