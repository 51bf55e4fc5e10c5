// ClusterView: the other live nodes as the GCS last reported them (raylet
// address, total and available resources), and the spillback policy that
// decides whether a lease request is served here or sent to another node.
//
// The view is refreshed by every resource report's reply (at least once per
// report period). Between refreshes, a request spilled to a node is deducted
// from that node's cached availability, so that a burst of requests does not
// all go to the same node.
//
// Thread model: confined to the NodeManager's io thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "proto/common.pb.h"
#include "proto/gcs_service.pb.h"
#include "src/comet/common/id.h"
#include "src/comet/raylet/resource_set.h"

namespace comet::raylet {

struct RemoteNode {
  NodeID node_id;
  std::string address;  // The raylet's HOST:PORT.
  ResourceSet total;
  ResourceSet available;
};

// What the local node has, for the policy.
struct LocalNodeState {
  const ResourceSet& total;
  const ResourceSet& available;
};

struct ClusterViewOptions {
  // Hybrid policy: below this utilisation of the demanded resources the local
  // node is preferred; above it the least loaded node that fits wins.
  double spread_threshold = 0.5;
};

class ClusterView {
 public:
  ClusterView(NodeID local_node_id, ClusterViewOptions options)
      : local_(local_node_id), options_(options) {}

  // Replaces the view of the other nodes (the local one is skipped); returns
  // the nodes that were in the view and are not any more (they died or left).
  std::vector<NodeID> Update(const google::protobuf::RepeatedPtrField<rpc::NodeResources>& cluster);

  // The node's raylet address, if it is alive in the view.
  std::optional<std::string> AddressOf(const NodeID& node_id) const;
  bool IsAlive(const NodeID& node_id) const { return nodes_.contains(node_id); }
  std::vector<std::string> RemoteAddresses() const;
  size_t num_remote_nodes() const { return nodes_.size(); }

  // Where a request for `demand` should go: nullopt for this node, else the
  // node to spill back to (its cached availability is reduced by `demand`).
  //   grant_or_reject: already spilled once; stay here if this node can ever
  //                    fit it, else go to a node that can.
  //   spread:          round-robin over the nodes (this one included) that
  //                    fit it now.
  //   otherwise:       hybrid — here while this node fits it and is below
  //                    the threshold, else the least utilised node that
  //                    fits it now; if none fits now, here when feasible
  //                    here, else the least utilised feasible node.
  // nullopt also when no node can ever fit it (it waits here as infeasible).
  std::optional<RemoteNode> Choose(const ResourceSet& demand, const LocalNodeState& local,
                                   bool spread, bool grant_or_reject);

 private:
  // Highest used fraction over the resources that `demand` names.
  static double Utilisation(const ResourceSet& demand, const ResourceSet& total,
                            const ResourceSet& available);
  std::optional<RemoteNode> Spill(const NodeID& node_id, const ResourceSet& demand);

  const NodeID local_;
  const ClusterViewOptions options_;
  absl::flat_hash_map<NodeID, RemoteNode> nodes_;
  uint64_t spread_counter_ = 0;
};

}  // namespace comet::raylet
