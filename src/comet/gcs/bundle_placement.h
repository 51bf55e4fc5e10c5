// PlaceBundles: which node each bundle of a placement group goes to, given
// what every live node has free. A pure function: no state, no I/O.
//
//   PACK           all on one node if one has room for them all, else
//                  bundle by bundle, nodes the group already uses first.
//   STRICT_PACK    all on one node, or nowhere.
//   SPREAD         bundle by bundle, on the node holding the fewest of the
//                  group's bundles so far (distinct nodes while possible).
//   STRICT_SPREAD  every bundle on its own node, or nowhere (fewer nodes
//                  than bundles: nowhere).
//
// Bundles already placed (a group rescheduling the bundles of a dead node)
// keep their node and count for the strategy: STRICT_PACK joins them,
// STRICT_SPREAD avoids their nodes. A soft target node is tried first.
// Placement is greedy in bundle order, so a STRICT_SPREAD of unequal
// bundles may miss a matching that exists.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "proto/common.pb.h"
#include "src/comet/common/id.h"

namespace comet::gcs {

using ResourceMap = std::map<std::string, double>;

struct NodeAvailability {
  NodeID node_id;
  ResourceMap available;
};

struct BundlePlacementRequest {
  rpc::PlacementStrategy strategy = rpc::PLACEMENT_PACK;
  // Bundle i's demand.
  std::vector<ResourceMap> bundles;
  // Bundle i's node if already placed, else nil; empty = none placed.
  std::vector<NodeID> placed;
  // Nil: none.
  NodeID soft_target;
};

// A node for every bundle (placed ones unchanged), or nullopt when the
// bundles cannot be placed on `nodes` now.
std::optional<std::vector<NodeID>> PlaceBundles(
    const BundlePlacementRequest& request,
    const std::vector<NodeAvailability>& nodes);

// Whether `available` holds `demand` (within rounding).
bool Fits(const ResourceMap& available, const ResourceMap& demand);

}  // namespace comet::gcs
