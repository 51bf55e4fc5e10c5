// InstancePool: the instances of one unit resource (the node's GPUs, ids
// 0..n-1) and how much of each is free, in ResourceSet fixed point.
//
// A demand of d units is placed as floor(d) whole, completely free instances
// (lowest ids first) plus, for a fractional remainder, one more instance
// that still has room for it, best fit first: the fullest instance that
// fits, so fractional leases pack onto shared GPUs and leave whole GPUs for
// whole-GPU requests. Ten 0.1-GPU leases share one id.
//
// No I/O; thread-compatible (the owner confines it to its thread).
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace comet::raylet {

// Which instances a lease holds and how much of each (fixed point).
struct InstanceShare {
  int64_t instance_id = 0;
  int64_t amount = 0;

  friend bool operator==(const InstanceShare& a, const InstanceShare& b) {
    return a.instance_id == b.instance_id && a.amount == b.amount;
  }
};

class InstancePool {
 public:
  // `total` fixed-point units: one instance per whole unit, plus one smaller
  // instance for a fractional remainder (unusual; whole counts are normal).
  explicit InstancePool(int64_t total);
  // Instances of the given capacities (fixed point each, > 0).
  explicit InstancePool(std::vector<int64_t> capacities)
      : capacity_(std::move(capacities)), free_(capacity_) {}

  // Places `demand` (fixed point, > 0) or returns nullopt, changing nothing.
  std::optional<std::vector<InstanceShare>> Allocate(int64_t demand);

  // Gives back what Allocate returned.
  void Free(const std::vector<InstanceShare>& shares);

  // Whether `demand` could be placed on the pool when nothing is in use.
  bool CanEverFit(int64_t demand) const;

  size_t size() const { return capacity_.size(); }
  int64_t free_amount(int64_t instance_id) const { return free_[instance_id]; }

 private:
  static std::optional<std::vector<InstanceShare>> Place(
      const std::vector<int64_t>& capacity, const std::vector<int64_t>& free,
      int64_t demand);

  std::vector<int64_t> capacity_;
  std::vector<int64_t> free_;
};

}  // namespace comet::raylet
