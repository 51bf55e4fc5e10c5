// GcsResourceManager: the cluster's resource view — for each live node, its
// latest reported available and total resources and the demands it could
// not place. A node enters the view when it registers (available = total =
// its registered total_resources) and leaves it when it dies; raylets then
// report changes. Reports are not stored: they are rebuilt within one report
// period after a GCS restart.
//
// Thread model: thread-confined to the GCS thread.
#pragma once

#include <functional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "proto/common.pb.h"
#include "proto/gcs_service.pb.h"
#include "src/comet/common/id.h"

namespace comet::gcs {

class GcsResourceManager {
 public:
  GcsResourceManager() = default;

  // Starts tracking a registered node; on re-registration replaces its
  // total (availability then comes from the next report).
  void OnNodeAdded(const rpc::NodeInfo& node);
  void OnNodeRemoved(const NodeID& node_id);

  // Replaces the node's available/total (each only if present in the
  // report) and its pending demands, then tells the report listeners.
  // NotFound for a node that is not live.
  absl::Status ReportResourceUsage(
      const rpc::ReportResourceUsageRequest& report);

  // Called after every accepted report, with the reporting node.
  void AddReportListener(std::function<void(const NodeID&)> listener) {
    report_listeners_.push_back(std::move(listener));
  }

  // Every live node's latest view, by node id.
  std::vector<rpc::NodeResources> GetAllResourceUsage() const;

  size_t num_nodes() const { return nodes_.size(); }

 private:
  absl::flat_hash_map<NodeID, rpc::NodeResources> nodes_;
  std::vector<std::function<void(const NodeID&)>> report_listeners_;
};

}  // namespace comet::gcs
