// LocalResourceManager: what this node has and what is free. Leases take a
// ResourceAllocation and give it back; unit resources (GPU) are also placed
// on instance ids by an InstancePool so that the worker learns which GPUs
// are its own.
//
// No I/O; thread-compatible (the NodeManager confines it to its io thread).
// version() changes whenever availability changes, so the owner can tell
// when to report to the GCS. Blocked workers lend their CPUs back (Lend) and
// take them back when they resume (Reclaim), which may oversubscribe the
// node until enough leases end. Availability never exceeds the total, which
// placement-group bundles grow and shrink (AddResources, RemoveResources).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "src/comet/raylet/instance_pool.h"
#include "src/comet/raylet/resource_set.h"

namespace comet::raylet {

// The instances of one unit resource that an allocation holds (node-wide
// instance ids).
struct InstanceAssignment {
  std::string resource;
  std::vector<InstanceShare> shares;
  // Set when they came from a placement-group bundle's instances: the
  // bundle resource (R_group_i_G) they were taken from.
  std::string bundle;
};

// What one lease holds.
struct ResourceAllocation {
  ResourceSet amounts;
  std::vector<InstanceAssignment> instances;
};

class LocalResourceManager {
 public:
  // `unit_resources` are placed on instances (normally just "GPU").
  explicit LocalResourceManager(
      const ResourceSet& total,
      const std::vector<std::string>& unit_resources = {"GPU"});

  // Whether `demand` could ever be granted here (fits the total, and unit
  // resources fit the instances when all are free).
  bool IsFeasible(const ResourceSet& demand) const;

  // Takes `demand` from what is free, or returns nullopt changing nothing.
  std::optional<ResourceAllocation> Allocate(const ResourceSet& demand);

  // Gives back an allocation made by Allocate.
  void Free(const ResourceAllocation& allocation);

  // A lease lends `amounts` (plain resources, no instances) back while its
  // worker is blocked: they become available to others.
  void Lend(const ResourceSet& amounts);
  // Takes lent `amounts` back even if others are using them now: what is
  // not available becomes a debt (the node is oversubscribed for a while),
  // paid off first by later Frees and Lends.
  void Reclaim(const ResourceSet& amounts);

  // Adds `amounts` to the total and to what is free: placement-group bundle
  // resources come and go this way.
  void AddResources(const ResourceSet& amounts);
  // Takes `amounts` out of the total and out of what is free, as far as
  // they are there. Leases may still hold some: what they give back later
  // never raises availability above the total.
  void RemoveResources(const ResourceSet& amounts);

  // A committed bundle's instances of unit resource `resource` (node-wide
  // ids and amounts, from its reservation). Leases on the bundle's
  // resources are placed on them: `indexed` (R_group_i_G) on this bundle's,
  // `wildcard` (R_group_G) alone on any one bundle of the group, so that
  // their workers learn real ids (CUDA_VISIBLE_DEVICES).
  void AddBundleInstances(const std::string& resource, const std::string& indexed,
                          const std::string& wildcard, const std::vector<InstanceShare>& reserved);
  // Leases still holding some give them back into nothing.
  void RemoveBundleInstances(const std::string& indexed);

  const ResourceSet& total() const { return total_; }
  // Never negative: while oversubscribed it is zero and debt() is not.
  const ResourceSet& available() const { return available_; }
  const ResourceSet& debt() const { return debt_; }
  uint64_t version() const { return version_; }

 private:
  ResourceSet total_;
  ResourceSet available_;
  ResourceSet debt_;
  struct BundleInstances {
    std::string resource;      // The unit resource, e.g. "GPU".
    std::string wildcard;      // R_group_G.
    std::vector<int64_t> ids;  // Node-wide id of the pool's instance i.
    InstancePool pool;
  };
  // Places `amount` on a bundle's instances, or returns nullopt.
  static std::optional<InstanceAssignment> PlaceOnBundle(const std::string& indexed,
                                                         BundleInstances& bundle, int64_t amount);
  // Places the demand's bundle resources that have instances; false (undoing
  // nothing: the caller frees what was added to `allocation`) if one does not fit.
  bool PlaceOnBundles(const ResourceSet& demand, ResourceAllocation* allocation);
  void FreeInstances(const std::vector<InstanceAssignment>& instances);

  std::map<std::string, InstancePool> instance_pools_;
  std::map<std::string, BundleInstances> bundle_instances_;  // By indexed name.
  uint64_t version_ = 0;
};

}  // namespace comet::raylet
