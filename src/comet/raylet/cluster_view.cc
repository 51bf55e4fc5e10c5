#include "src/comet/raylet/cluster_view.h"

#include <algorithm>
#include <limits>

namespace comet::raylet {

std::vector<NodeID> ClusterView::Update(
    const google::protobuf::RepeatedPtrField<rpc::NodeResources>& cluster) {
  absl::flat_hash_map<NodeID, RemoteNode> previous = std::move(nodes_);
  nodes_.clear();
  for (const rpc::NodeResources& node : cluster) {
    auto id = NodeID::FromBinary(node.node_id());
    if (!id.ok() || *id == local_ || node.raylet_address().empty()) continue;
    auto total = ResourceSet::FromProtoMap(node.total().quantities());
    auto available = ResourceSet::FromProtoMap(node.available().quantities());
    if (!total.ok() || !available.ok()) continue;
    nodes_[*id] = RemoteNode{*id, node.raylet_address(), *std::move(total), *std::move(available)};
  }
  std::vector<NodeID> gone;
  for (const auto& [id, node] : previous) {
    if (!nodes_.contains(id)) gone.push_back(id);
  }
  return gone;
}

std::optional<std::string> ClusterView::AddressOf(const NodeID& node_id) const {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return std::nullopt;
  return it->second.address;
}

std::vector<std::string> ClusterView::RemoteAddresses() const {
  std::vector<std::string> out;
  for (const auto& [id, node] : nodes_) out.push_back(node.address);
  return out;
}

double ClusterView::Utilisation(const ResourceSet& demand, const ResourceSet& total,
                                const ResourceSet& available) {
  double worst = 0;
  for (const auto& [name, amount] : demand.fixed_quantities()) {
    int64_t cap = total.GetFixed(name);
    if (cap <= 0) continue;
    double used = 1.0 - static_cast<double>(available.GetFixed(name)) / static_cast<double>(cap);
    worst = std::max(worst, used);
  }
  return worst;
}

std::optional<RemoteNode> ClusterView::Spill(const NodeID& node_id, const ResourceSet& demand) {
  RemoteNode& node = nodes_.at(node_id);
  if (node.available.Contains(demand)) node.available -= demand;
  return node;
}

std::optional<RemoteNode> ClusterView::Choose(const ResourceSet& demand,
                                              const LocalNodeState& local, bool spread,
                                              bool grant_or_reject) {
  const bool feasible_here = local.total.Contains(demand);
  const bool fits_here = local.available.Contains(demand);
  // The least utilised remote node that satisfies `ok`.
  auto best_remote = [&](auto ok) -> std::optional<NodeID> {
    std::optional<NodeID> best;
    double best_use = std::numeric_limits<double>::infinity();
    for (const auto& [id, node] : nodes_) {
      if (!ok(node)) continue;
      double use = Utilisation(demand, node.total, node.available);
      if (use < best_use || (use == best_use && best.has_value() && id < *best)) {
        best = id;
        best_use = use;
      }
    }
    return best;
  };
  auto fits_now = [&](const RemoteNode& n) { return n.available.Contains(demand); };
  auto feasible = [&](const RemoteNode& n) { return n.total.Contains(demand); };

  if (grant_or_reject) {
    if (feasible_here) return std::nullopt;
    auto target = best_remote(feasible);
    return target ? Spill(*target, demand) : std::nullopt;
  }
  if (spread) {
    std::vector<std::optional<NodeID>> candidates;  // nullopt: this node.
    if (fits_here) candidates.push_back(std::nullopt);
    std::vector<NodeID> remote;
    for (const auto& [id, node] : nodes_) {
      if (fits_now(node)) remote.push_back(id);
    }
    std::sort(remote.begin(), remote.end());
    candidates.insert(candidates.end(), remote.begin(), remote.end());
    if (!candidates.empty()) {
      const auto& pick = candidates[spread_counter_++ % candidates.size()];
      return pick ? Spill(*pick, demand) : std::nullopt;
    }
  } else if (fits_here) {
    double here = Utilisation(demand, local.total, local.available);
    if (here < options_.spread_threshold) return std::nullopt;
    auto target = best_remote(fits_now);
    if (!target) return std::nullopt;
    const RemoteNode& node = nodes_.at(*target);
    if (Utilisation(demand, node.total, node.available) >= here) return std::nullopt;
    return Spill(*target, demand);
  } else {
    auto target = best_remote(fits_now);
    if (target) return Spill(*target, demand);
  }
  // Nobody fits it now: wait here if it can ever run here.
  if (feasible_here) return std::nullopt;
  auto target = best_remote(feasible);
  return target ? Spill(*target, demand) : std::nullopt;
}

}  // namespace comet::raylet
