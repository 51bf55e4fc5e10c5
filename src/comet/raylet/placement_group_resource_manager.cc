#include "src/comet/raylet/placement_group_resource_manager.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace comet::raylet {
absl::StatusOr<std::vector<BundleSpec>>
PlacementGroupResourceManager::FromProto(
    const google::protobuf::RepeatedPtrField<rpc::Bundle>& bundles) {
  std::vector<BundleSpec> out;
  out.reserve(bundles.size());
  for (const rpc::Bundle& bundle : bundles) {
    absl::StatusOr<PlacementGroupID> id =
        PlacementGroupID::FromBinary(bundle.placement_group_id());
    if (!id.ok()) return id.status();
    if (bundle.index() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("bundle index ", bundle.index(), " is negative"));
    }
    absl::StatusOr<ResourceSet> resources =
        ResourceSet::FromProtoMap(bundle.resources());
    if (!resources.ok()) return resources.status();
    out.push_back({*id, bundle.index(), *std::move(resources)});
  }
  return out;
}

ResourceSet PlacementGroupResourceManager::CommittedResources(
    const BundleSpec& bundle) {
  ResourceSet out;
  auto add = [&](absl::string_view name, int64_t fixed) {
    for (int32_t index : {bundle.index, -1}) {
      std::string renamed = BundleResourceName(name, bundle.group_id, index);
      out.SetFixed(renamed, out.GetFixed(renamed) + fixed);
    }
  };
  for (const auto& [name, fixed] : bundle.resources.fixed_quantities()) {
    add(name, fixed);
  }
  add(kBundleResource, kBundleResourceUnits * kResourceUnit);
  return out;
}

bool PlacementGroupResourceManager::Prepare(
    const std::vector<BundleSpec>& bundles) {
  std::vector<std::pair<Key, ResourceAllocation>> reserved;
  for (const BundleSpec& bundle : bundles) {
    Key key{bundle.group_id, bundle.index};
    if (bundles_.count(key) > 0) continue;  // A retried request.
    std::optional<ResourceAllocation> allocation =
        resources_->Allocate(bundle.resources);
    if (!allocation) {
      for (const auto& [done, taken] : reserved) resources_->Free(taken);
      return false;
    }
    reserved.emplace_back(key, *std::move(allocation));
  }
  for (auto& [key, allocation] : reserved) {
    bundles_[key].reservation = std::move(allocation);
  }
  return true;
}

absl::Status PlacementGroupResourceManager::Commit(
    const std::vector<BundleSpec>& bundles) {
  std::vector<std::string> unknown;
  for (const BundleSpec& bundle : bundles) {
    auto it = bundles_.find(Key{bundle.group_id, bundle.index});
    if (it == bundles_.end()) {
      unknown.push_back(absl::StrCat(bundle.index, "_", bundle.group_id.Hex()));
      continue;
    }
    if (!it->second.committed.IsEmpty()) continue;
    it->second.committed = CommittedResources(bundle);
    resources_->AddResources(it->second.committed);
    for (const InstanceAssignment& reserved : it->second.reservation.instances) {
      resources_->AddBundleInstances(
          reserved.resource, BundleResourceName(reserved.resource, bundle.group_id, bundle.index),
          BundleResourceName(reserved.resource, bundle.group_id, -1), reserved.shares);
    }
  }
  if (unknown.empty()) return absl::OkStatus();
  return absl::NotFoundError(absl::StrCat("bundles never prepared here: ",
                                          absl::StrJoin(unknown, ", ")));
}

bool PlacementGroupResourceManager::Cancel(
    const std::vector<BundleSpec>& bundles) {
  bool any = false;
  for (const BundleSpec& bundle : bundles) {
    auto it = bundles_.find(Key{bundle.group_id, bundle.index});
    if (it == bundles_.end()) continue;
    any = true;
    if (!it->second.committed.IsEmpty()) {
      resources_->RemoveResources(it->second.committed);
      for (const InstanceAssignment& reserved : it->second.reservation.instances) {
        resources_->RemoveBundleInstances(
            BundleResourceName(reserved.resource, bundle.group_id, bundle.index));
      }
    }
    resources_->Free(it->second.reservation);
    bundles_.erase(it);
  }
  return any;
}

bool PlacementGroupResourceManager::IsCommitted(
    const PlacementGroupID& group_id, int32_t index) const {
  auto it = bundles_.find(Key{group_id, index});
  return it != bundles_.end() && !it->second.committed.IsEmpty();
}

}  // namespace comet::raylet
