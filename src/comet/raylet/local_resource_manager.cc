#include "src/comet/raylet/local_resource_manager.h"

#include <algorithm>
#include <set>
#include <string>

namespace comet::raylet {

LocalResourceManager::LocalResourceManager(
    const ResourceSet& total, const std::vector<std::string>& unit_resources)
    : total_(total), available_(total) {
  for (const std::string& name : unit_resources) {
    if (total.Has(name)) {
      instance_pools_.emplace(name, InstancePool(total.GetFixed(name)));
    }
  }
}

bool LocalResourceManager::IsFeasible(const ResourceSet& demand) const {
  if (!total_.Contains(demand)) return false;
  for (const auto& [name, pool] : instance_pools_) {
    int64_t amount = demand.GetFixed(name);
    if (amount > 0 && !pool.CanEverFit(amount)) return false;
  }
  return true;
}

std::optional<ResourceAllocation> LocalResourceManager::Allocate(
    const ResourceSet& demand) {
  if (!available_.Contains(demand)) return std::nullopt;
  ResourceAllocation allocation;
  bool placed = true;
  for (auto& [name, pool] : instance_pools_) {
    int64_t amount = demand.GetFixed(name);
    if (amount == 0) continue;
    auto shares = pool.Allocate(amount);
    if (!shares) {
      placed = false;
      break;
    }
    allocation.instances.push_back({name, std::move(*shares), ""});
  }
  if (placed && !bundle_instances_.empty()) placed = PlaceOnBundles(demand, &allocation);
  if (!placed) {
    // Undo the instances already placed; nothing else has changed yet.
    FreeInstances(allocation.instances);
    return std::nullopt;
  }
  allocation.amounts = demand;
  available_ -= demand;
  ++version_;
  return allocation;
}

std::optional<InstanceAssignment> LocalResourceManager::PlaceOnBundle(
    const std::string& indexed, BundleInstances& bundle, int64_t amount) {
  auto shares = bundle.pool.Allocate(amount);
  if (!shares) return std::nullopt;
  for (InstanceShare& share : *shares) share.instance_id = bundle.ids[share.instance_id];
  return InstanceAssignment{bundle.resource, std::move(*shares), indexed};
}

bool LocalResourceManager::PlaceOnBundles(const ResourceSet& demand,
                                          ResourceAllocation* allocation) {
  std::set<std::string> wildcards_placed;
  for (auto& [indexed, bundle] : bundle_instances_) {
    int64_t amount = demand.GetFixed(indexed);
    if (amount == 0) continue;
    auto placed = PlaceOnBundle(indexed, bundle, amount);
    if (!placed) return false;
    allocation->instances.push_back(*std::move(placed));
    wildcards_placed.insert(bundle.wildcard);
  }
  // A demand on the group alone runs within one of its bundles.
  std::set<std::string> wildcards_tried;
  for (auto& [indexed, bundle] : bundle_instances_) {
    const std::string& wildcard = bundle.wildcard;
    int64_t amount = demand.GetFixed(wildcard);
    if (amount == 0 || wildcards_placed.count(wildcard) > 0) continue;
    wildcards_tried.insert(wildcard);
    auto placed = PlaceOnBundle(indexed, bundle, amount);
    if (!placed) continue;
    allocation->instances.push_back(*std::move(placed));
    wildcards_placed.insert(wildcard);
  }
  for (const std::string& wildcard : wildcards_tried) {
    if (wildcards_placed.count(wildcard) == 0) return false;
  }
  return true;
}

void LocalResourceManager::FreeInstances(const std::vector<InstanceAssignment>& instances) {
  for (const InstanceAssignment& assignment : instances) {
    if (assignment.bundle.empty()) {
      instance_pools_.at(assignment.resource).Free(assignment.shares);
      continue;
    }
    auto it = bundle_instances_.find(assignment.bundle);
    if (it == bundle_instances_.end()) continue;  // The bundle was removed.
    std::vector<InstanceShare> local;
    for (const InstanceShare& share : assignment.shares) {
      const std::vector<int64_t>& ids = it->second.ids;
      auto pos = std::find(ids.begin(), ids.end(), share.instance_id);
      if (pos != ids.end()) local.push_back({pos - ids.begin(), share.amount});
    }
    it->second.pool.Free(local);
  }
}

void LocalResourceManager::Free(const ResourceAllocation& allocation) {
  FreeInstances(allocation.instances);
  Lend(allocation.amounts);
}

void LocalResourceManager::AddBundleInstances(const std::string& resource,
                                              const std::string& indexed,
                                              const std::string& wildcard,
                                              const std::vector<InstanceShare>& reserved) {
  std::vector<int64_t> ids;
  std::vector<int64_t> capacities;
  for (const InstanceShare& share : reserved) {
    ids.push_back(share.instance_id);
    capacities.push_back(share.amount);
  }
  bundle_instances_.insert_or_assign(
      indexed, BundleInstances{resource, wildcard, std::move(ids),
                               InstancePool(std::move(capacities))});
}

void LocalResourceManager::RemoveBundleInstances(const std::string& indexed) {
  bundle_instances_.erase(indexed);
}

void LocalResourceManager::Lend(const ResourceSet& amounts) {
  for (const auto& [name, fixed] : amounts.fixed_quantities()) {
    int64_t owed = debt_.GetFixed(name);
    int64_t repaid = std::min(owed, fixed);
    debt_.SetFixed(name, owed - repaid);
    available_.SetFixed(name,
                        std::min(total_.GetFixed(name),
                                 available_.GetFixed(name) + fixed - repaid));
  }
  ++version_;
}

void LocalResourceManager::Reclaim(const ResourceSet& amounts) {
  for (const auto& [name, fixed] : amounts.fixed_quantities()) {
    int64_t free = available_.GetFixed(name);
    int64_t taken = std::min(free, fixed);
    available_.SetFixed(name, free - taken);
    debt_.SetFixed(name, debt_.GetFixed(name) + fixed - taken);
  }
  ++version_;
}

void LocalResourceManager::AddResources(const ResourceSet& amounts) {
  total_ += amounts;
  available_ += amounts;
  ++version_;
}

void LocalResourceManager::RemoveResources(const ResourceSet& amounts) {
  for (const auto& [name, fixed] : amounts.fixed_quantities()) {
    int64_t total = std::max<int64_t>(0, total_.GetFixed(name) - fixed);
    total_.SetFixed(name, total);
    available_.SetFixed(
        name, std::clamp<int64_t>(available_.GetFixed(name) - fixed, 0, total));
    debt_.SetFixed(name, std::min(debt_.GetFixed(name), total));
  }
  ++version_;
}

}  // namespace comet::raylet
