#include "src/comet/gcs/gcs_resource_manager.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace comet::gcs {

void GcsResourceManager::OnNodeAdded(const rpc::NodeInfo& node) {
  absl::StatusOr<NodeID> id = NodeID::FromBinary(node.node_id());
  if (!id.ok()) return;  // The node manager validated it; nothing to track.
  auto [it, inserted] = nodes_.try_emplace(*id);
  rpc::NodeResources& view = it->second;
  view.set_node_id(node.node_id());
  view.set_raylet_address(
      absl::StrCat(node.node_manager_address(), ":", node.node_manager_port()));
  *view.mutable_total() = node.total_resources();
  if (inserted) *view.mutable_available() = node.total_resources();
}

void GcsResourceManager::OnNodeRemoved(const NodeID& node_id) {
  nodes_.erase(node_id);
}

absl::Status GcsResourceManager::ReportResourceUsage(
    const rpc::ReportResourceUsageRequest& report) {
  absl::StatusOr<NodeID> id = NodeID::FromBinary(report.node_id());
  if (!id.ok()) return id.status();
  auto it = nodes_.find(*id);
  if (it == nodes_.end()) {
    return absl::NotFoundError(absl::StrCat(
        "node ", id->Hex(), " is not registered or has been marked dead"));
  }
  rpc::NodeResources& view = it->second;
  if (report.has_available()) *view.mutable_available() = report.available();
  if (report.has_total()) *view.mutable_total() = report.total();
  *view.mutable_pending_demands() = report.pending_demands();
  for (const auto& listener : report_listeners_) listener(*id);
  return absl::OkStatus();
}

std::vector<rpc::NodeResources> GcsResourceManager::GetAllResourceUsage()
    const {
  std::vector<rpc::NodeResources> all;
  all.reserve(nodes_.size());
  for (const auto& [id, view] : nodes_) all.push_back(view);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return a.node_id() < b.node_id();
  });
  return all;
}

}  // namespace comet::gcs
