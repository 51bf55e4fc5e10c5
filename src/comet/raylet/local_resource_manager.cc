#include "src/comet/raylet/local_resource_manager.h"

#include <algorithm>

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
  for (auto& [name, pool] : instance_pools_) {
    int64_t amount = demand.GetFixed(name);
    if (amount == 0) continue;
    auto shares = pool.Allocate(amount);
    if (!shares) {
      // Undo the pools already placed; nothing else has changed yet.
      for (const InstanceAssignment& done : allocation.instances) {
        instance_pools_.at(done.resource).Free(done.shares);
      }
      return std::nullopt;
    }
    allocation.instances.push_back({name, std::move(*shares)});
  }
  allocation.amounts = demand;
  available_ -= demand;
  ++version_;
  return allocation;
}

void LocalResourceManager::Free(const ResourceAllocation& allocation) {
  for (const InstanceAssignment& assignment : allocation.instances) {
    instance_pools_.at(assignment.resource).Free(assignment.shares);
  }
  Lend(allocation.amounts);
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
