// GrpcBundleReserver: BundleReserver over the raylets' NodeManagerService
// (PrepareBundleResources, CommitBundleResources, CancelResourceReserve).
// A node is found by id through `lookup` (the node table's live nodes); a
// node that is not live fails at once with Unavailable. One channel per
// node, cached until Forget(); calls go through an AsyncCallTracker, with
// kCallTimeout each, so that Shutdown() ends those in flight.
//
// Thread model: thread-confined to the io_context given at construction
// (the GCS thread), except Shutdown(), which may be called from any thread
// but a gRPC callback thread. The io_context must outlive this object.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "proto/node_manager.grpc.pb.h"
#include "src/comet/gcs/async_call_tracker.h"
#include "src/comet/rpc/cluster_auth.h"
#include "src/comet/gcs/bundle_reserver_interface.h"

namespace comet::gcs {

class GrpcBundleReserver : public BundleReserver {
 public:
  static constexpr absl::Duration kCallTimeout = absl::Seconds(10);

  // The live node's info, or nullptr.
  using NodeLookup = std::function<const rpc::NodeInfo*(const NodeID&)>;

  GrpcBundleReserver(boost::asio::io_context& io, rpc::ClusterAuth auth, NodeLookup lookup)
      : io_(io), auth_(std::move(auth)), lookup_(std::move(lookup)), calls_(io) {}

  void Prepare(const NodeID& node_id, std::vector<rpc::Bundle> bundles,
               Callback callback) override;
  void Commit(const NodeID& node_id, std::vector<rpc::Bundle> bundles,
              Callback callback) override;
  void Cancel(const NodeID& node_id, std::vector<rpc::Bundle> bundles,
              Callback callback) override;

  // The node is gone: drop its channel.
  void Forget(const NodeID& node_id) { stubs_.erase(node_id); }
  void Shutdown() { calls_.Shutdown(); }

 private:
  struct Entry {
    std::string target;
    std::shared_ptr<rpc::NodeManagerService::Stub> stub;
  };

  // Sends the bundles to the node: `start(stub, context, request, reply,
  // done)` issues the call; `callback` gets its outcome (Unavailable at
  // once for a node that is not live).
  template <typename Request, typename Reply, typename Start>
  void Send(const NodeID& node_id, std::vector<rpc::Bundle> bundles,
            Start start,
            std::function<void(const absl::Status&, Reply)> callback);

  boost::asio::io_context& io_;
  const rpc::ClusterAuth auth_;
  NodeLookup lookup_;
  AsyncCallTracker calls_;
  absl::flat_hash_map<NodeID, Entry> stubs_;
};

}  // namespace comet::gcs
