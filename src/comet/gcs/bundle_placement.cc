#include "src/comet/gcs/bundle_placement.h"

#include <algorithm>
#include <utility>

namespace comet::gcs {
namespace {

// Raylets count in 1/10000 units; anything finer is rounding.
constexpr double kEpsilon = 1e-6;

void Take(ResourceMap& available, const ResourceMap& demand) {
  for (const auto& [name, quantity] : demand) available[name] -= quantity;
}

// The nodes as the placement sees them while it assigns bundles.
class Placer {
 public:
  Placer(const BundlePlacementRequest& request,
         const std::vector<NodeAvailability>& nodes)
      : request_(request), nodes_(nodes) {
    // The soft target first; otherwise the order given.
    std::stable_partition(nodes_.begin(), nodes_.end(), [&](const auto& node) {
      return !request.soft_target.IsNil() &&
             node.node_id == request.soft_target;
    });
    result_ = request.placed;
    result_.resize(request.bundles.size(), NodeID::Nil());
    for (const NodeID& node : result_) {
      if (!node.IsNil()) ++count_[node];
    }
    for (size_t i = 0; i < result_.size(); ++i) {
      if (result_[i].IsNil()) todo_.push_back(i);
    }
  }

  std::optional<std::vector<NodeID>> Run() {
    if (todo_.empty()) return result_;
    bool placed = false;
    switch (request_.strategy) {
      case rpc::PLACEMENT_STRICT_PACK:
        placed = AllOnOneNode(/*only_used=*/!count_.empty());
        break;
      case rpc::PLACEMENT_SPREAD:
        placed = OneByOne(/*spread=*/true, /*strict=*/false);
        break;
      case rpc::PLACEMENT_STRICT_SPREAD:
        placed = OneByOne(/*spread=*/true, /*strict=*/true);
        break;
      default:  // PACK
        placed = AllOnOneNode(/*only_used=*/false) ||
                 OneByOne(/*spread=*/false, /*strict=*/false);
        break;
    }
    if (!placed) return std::nullopt;
    return result_;
  }

 private:
  int Count(const NodeID& node) const {
    auto it = count_.find(node);
    return it == count_.end() ? 0 : it->second;
  }

  void Assign(size_t bundle, NodeAvailability& node) {
    Take(node.available, request_.bundles[bundle]);
    result_[bundle] = node.node_id;
    ++count_[node.node_id];
  }

  // Every unplaced bundle on the same node: one the group uses already when
  // `only_used`, else preferably one it uses.
  bool AllOnOneNode(bool only_used) {
    ResourceMap sum;
    for (size_t i : todo_) {
      for (const auto& [name, quantity] : request_.bundles[i]) {
        sum[name] += quantity;
      }
    }
    for (bool used : {true, false}) {
      if (!used && only_used) break;
      for (NodeAvailability& node : nodes_) {
        if ((Count(node.node_id) > 0) != used) continue;
        if (!Fits(node.available, sum)) continue;
        for (size_t i : todo_) Assign(i, node);
        return true;
      }
    }
    return false;
  }

  // Bundle by bundle. Spreading picks the node with the fewest of the
  // group's bundles (strict: none); packing the one with the most.
  bool OneByOne(bool spread, bool strict) {
    for (size_t i : todo_) {
      NodeAvailability* best = nullptr;
      for (NodeAvailability& node : nodes_) {
        int count = Count(node.node_id);
        if (strict && count > 0) continue;
        if (!Fits(node.available, request_.bundles[i])) continue;
        if (best != nullptr) {
          int best_count = Count(best->node_id);
          if (spread ? count >= best_count : count <= best_count) continue;
        }
        best = &node;
      }
      if (best == nullptr) return false;
      Assign(i, *best);
    }
    return true;
  }

  const BundlePlacementRequest& request_;
  std::vector<NodeAvailability> nodes_;
  std::vector<NodeID> result_;
  std::vector<size_t> todo_;
  std::map<NodeID, int> count_;
};

}  // namespace

bool Fits(const ResourceMap& available, const ResourceMap& demand) {
  for (const auto& [name, quantity] : demand) {
    if (quantity <= 0) continue;
    auto it = available.find(name);
    double have = it == available.end() ? 0 : it->second;
    if (have + kEpsilon < quantity) return false;
  }
  return true;
}

std::optional<std::vector<NodeID>> PlaceBundles(
    const BundlePlacementRequest& request,
    const std::vector<NodeAvailability>& nodes) {
  return Placer(request, nodes).Run();
}

}  // namespace comet::gcs
