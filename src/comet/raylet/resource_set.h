// ResourceSet: named resource quantities (CPU, GPU, memory, custom) in fixed
// point, 1/10000 of a unit, so that fractional demands such as 0.1 GPU add
// and subtract exactly: ten leases of 0.1 GPU use exactly one GPU.
//
// A plain value type with no I/O; not synchronized (thread-compatible).
// Quantities are never negative; zero quantities are not stored, so two sets
// with the same non-zero entries compare equal.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/map.h"

namespace comet::rpc {
class ResourceSet;
}  // namespace comet::rpc

namespace comet::raylet {

// Fixed-point units per whole unit of a resource.
inline constexpr int64_t kResourceUnit = 10000;

// Nearest fixed-point value of `quantity`; InvalidArgument for negative,
// NaN, infinite or absurdly large (> 1e14 units) quantities.
absl::StatusOr<int64_t> ToFixedPoint(absl::string_view name, double quantity);
inline double FromFixedPoint(int64_t fixed) {
  return static_cast<double>(fixed) / kResourceUnit;
}

class ResourceSet {
 public:
  ResourceSet() = default;

  // From name -> quantity in whole units (a request's map, a flag). Zero
  // entries are dropped; bad quantities are an error naming the resource.
  static absl::StatusOr<ResourceSet> FromDoubles(
      const std::map<std::string, double>& quantities);
  static absl::StatusOr<ResourceSet> FromProtoMap(
      const google::protobuf::Map<std::string, double>& quantities);

  // Fixed-point quantity of `name` (0 when absent).
  int64_t GetFixed(absl::string_view name) const;
  double Get(absl::string_view name) const {
    return FromFixedPoint(GetFixed(name));
  }
  // Sets `name` to `fixed` units (erases it when 0). `fixed` must be >= 0.
  void SetFixed(absl::string_view name, int64_t fixed);

  bool IsEmpty() const { return quantities_.empty(); }
  bool Has(absl::string_view name) const { return GetFixed(name) > 0; }
  // Whether it holds GPUs, directly or a placement group's (GPU_group_...).
  bool HasGpus() const;

  // True when every quantity of `other` is at most this set's quantity.
  bool Contains(const ResourceSet& other) const;

  // Entry-wise sum.
  ResourceSet& operator+=(const ResourceSet& other);
  // Entry-wise difference; `other` must be contained in this set.
  ResourceSet& operator-=(const ResourceSet& other);

  const std::map<std::string, int64_t>& fixed_quantities() const {
    return quantities_;
  }

  // Quantities in whole units.
  std::map<std::string, double> ToDoubles() const;
  void ToProto(rpc::ResourceSet* out) const;

  // "{CPU: 1, GPU: 0.5}" for logs, names sorted.
  std::string ToString() const;

  friend bool operator==(const ResourceSet& a, const ResourceSet& b) {
    return a.quantities_ == b.quantities_;
  }
  friend bool operator!=(const ResourceSet& a, const ResourceSet& b) {
    return !(a == b);
  }
  friend bool operator<(const ResourceSet& a, const ResourceSet& b) {
    return a.quantities_ < b.quantities_;
  }

 private:
  std::map<std::string, int64_t> quantities_;
};

}  // namespace comet::raylet
