// PlacementGroupResourceManager: this node's placement-group bundles, in two
// phases driven by the GCS.
//
//   Prepare  reserves each bundle's resources from what the node has free,
//            all or none for one request (a bundle already known is skipped,
//            so a retried request is harmless).
//   Commit   turns prepared bundles into bundle resources that leases can
//            ask for. For bundle i of group G (hex id) holding {"CPU": 2}:
//              CPU_group_i_G = 2      only this bundle
//              CPU_group_G   = 2      any bundle of G here (summed over them)
//              bundle_group_i_G = 1000, bundle_group_G = 1000 (summed too)
//            The "bundle" entries let a task with no resources of its own
//            still target a bundle (it asks for 0.001 of one). Names come
//            from src/comet/common/bundle_resource_name.h. The GPUs the
//            bundle reserved become its instances (LocalResourceManager::
//            AddBundleInstances), so that its leases get their ids.
//   Cancel   removes a bundle's resources (committed or not) and gives its
//            reservation back. Leases still running on them release later
//            into nothing (LocalResourceManager clamps at the total).
//
// No I/O. Ownership: borrows the LocalResourceManager, which must outlive it.
// Thread model: thread-compatible; the NodeManager confines it to its io
// thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/repeated_field.h"
#include "proto/common.pb.h"
#include "src/comet/common/bundle_resource_name.h"
#include "src/comet/common/id.h"
#include "src/comet/raylet/local_resource_manager.h"
#include "src/comet/raylet/resource_set.h"

namespace comet::raylet {

// One bundle of a placement group, as the GCS sends it.
struct BundleSpec {
  PlacementGroupID group_id;
  int32_t index = 0;
  ResourceSet resources;
};

class PlacementGroupResourceManager {
 public:
  explicit PlacementGroupResourceManager(LocalResourceManager* resources)
      : resources_(resources) {}

  // Bundles from a request; InvalidArgument for a bad id, a negative index
  // or a bad quantity.
  static absl::StatusOr<std::vector<BundleSpec>> FromProto(
      const google::protobuf::RepeatedPtrField<rpc::Bundle>& bundles);

  // Everything Commit adds for `bundle` (see the top of this file).
  static ResourceSet CommittedResources(const BundleSpec& bundle);

  // Reserves the new bundles' resources; false, changing nothing, when they
  // do not all fit in what is free now.
  bool Prepare(const std::vector<BundleSpec>& bundles);

  // Creates the bundle resources of prepared bundles (committed ones are
  // skipped). NotFound names bundles that were never prepared (the others
  // are committed anyway).
  absl::Status Commit(const std::vector<BundleSpec>& bundles);

  // Releases the bundles; unknown ones are ignored. True if any was known.
  bool Cancel(const std::vector<BundleSpec>& bundles);

  size_t num_bundles() const { return bundles_.size(); }
  bool IsCommitted(const PlacementGroupID& group_id, int32_t index) const;

 private:
  using Key = std::pair<PlacementGroupID, int32_t>;
  struct Reserved {
    ResourceSet committed;  // Empty until Commit.
    ResourceAllocation reservation;
  };

  LocalResourceManager* const resources_;
  std::map<Key, Reserved> bundles_;
};

}  // namespace comet::raylet
