#include "src/comet/raylet/instance_pool.h"

#include "src/comet/common/logging.h"
#include "src/comet/raylet/resource_set.h"

namespace comet::raylet {

InstancePool::InstancePool(int64_t total) {
  for (int64_t left = total; left > 0; left -= kResourceUnit) {
    capacity_.push_back(left < kResourceUnit ? left : kResourceUnit);
  }
  free_ = capacity_;
}

std::optional<std::vector<InstanceShare>> InstancePool::Place(
    const std::vector<int64_t>& capacity, const std::vector<int64_t>& free,
    int64_t demand) {
  std::vector<InstanceShare> shares;
  std::vector<bool> taken(capacity.size(), false);
  int64_t whole = demand / kResourceUnit;
  int64_t fraction = demand % kResourceUnit;
  for (size_t i = 0; i < capacity.size() && whole > 0; ++i) {
    if (capacity[i] == kResourceUnit && free[i] == kResourceUnit) {
      shares.push_back({static_cast<int64_t>(i), kResourceUnit});
      taken[i] = true;
      --whole;
    }
  }
  if (whole > 0) return std::nullopt;
  if (fraction > 0) {
    int best = -1;
    for (size_t i = 0; i < capacity.size(); ++i) {
      if (taken[i] || free[i] < fraction) continue;
      if (best < 0 || free[i] < free[best]) best = static_cast<int>(i);
    }
    if (best < 0) return std::nullopt;
    shares.push_back({best, fraction});
  }
  return shares;
}

std::optional<std::vector<InstanceShare>> InstancePool::Allocate(
    int64_t demand) {
  auto shares = Place(capacity_, free_, demand);
  if (!shares) return std::nullopt;
  for (const InstanceShare& share : *shares) {
    free_[share.instance_id] -= share.amount;
  }
  return shares;
}

void InstancePool::Free(const std::vector<InstanceShare>& shares) {
  for (const InstanceShare& share : shares) {
    COMET_CHECK(share.instance_id >= 0 &&
                share.instance_id < static_cast<int64_t>(free_.size()));
    free_[share.instance_id] += share.amount;
    COMET_CHECK(free_[share.instance_id] <= capacity_[share.instance_id])
        << "instance " << share.instance_id << " freed twice";
  }
}

bool InstancePool::CanEverFit(int64_t demand) const {
  return Place(capacity_, capacity_, demand).has_value();
}

}  // namespace comet::raylet
