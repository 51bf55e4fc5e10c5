// GcsNodeManager: the node table. Raylets register (ALIVE) and unregister;
// the health checker reports nodes that stopped answering. Every change is
// written to the store and published on NODE_INFO_CHANNEL (key = node id,
// payload = the NodeInfo; DEAD ones carry death_reason and end_time_ms).
// Other managers follow the table through listeners instead of knowing this
// class: "added" fires on registration (and again, with the new info, when a
// live node re-registers), "removed" once when a node dies.
//
// A dead node stays dead: re-registering its id is refused. The table keeps
// the last kMaxDeadNodes dead nodes for GetAllNodeInfo.
//
// Ownership: does not own the StoreClient or the GcsPublisher; both must
// outlive it.
// Thread model: thread-confined to the GCS thread; listeners run there,
// synchronously, after the change is stored and published.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "proto/common.pb.h"
#include "src/comet/common/id.h"
#include "src/comet/gcs/gcs_publisher_interface.h"
#include "src/comet/gcs/store_client.h"

namespace comet::gcs {

class GcsNodeManager {
 public:
  static constexpr absl::string_view kNodeTable = "NODE";
  static constexpr size_t kMaxDeadNodes = 1000;

  using Listener = std::function<void(const rpc::NodeInfo& node)>;

  GcsNodeManager(StoreClient* store, GcsPublisher* publisher)
      : store_(store), publisher_(publisher) {}

  void AddNodeAddedListener(Listener listener);
  void AddNodeRemovedListener(Listener listener);

  // Loads the table from the store; "added" fires for each live node. Call
  // once, after the listeners are in place.
  absl::Status Initialize();

  // Marks the node ALIVE and publishes it. InvalidArgument for a malformed
  // id or a missing node manager address; FailedPrecondition for a dead id.
  absl::Status RegisterNode(rpc::NodeInfo node);

  // The raylet's graceful exit; `reason` becomes the death reason.
  absl::Status UnregisterNode(const NodeID& node_id, absl::string_view reason);

  // Marks a live node DEAD with `death_reason` and publishes it. NotFound
  // for an unknown node; a no-op for one already dead.
  absl::Status MarkNodeDead(const NodeID& node_id, std::string death_reason);

  // Live nodes by start time, then the dead ones by time of death.
  std::vector<rpc::NodeInfo> GetAllNodes() const;

  // The live node's info, or nullptr.
  const rpc::NodeInfo* GetAliveNode(const NodeID& node_id) const;
  size_t num_alive() const { return alive_.size(); }
  size_t num_dead() const { return dead_.size(); }

 private:
  // Writes `node` to the store and publishes it.
  absl::Status SaveAndPublish(const rpc::NodeInfo& node);
  void RememberDead(const NodeID& node_id, rpc::NodeInfo node);

  StoreClient* store_;
  GcsPublisher* publisher_;
  std::vector<Listener> added_listeners_;
  std::vector<Listener> removed_listeners_;
  absl::flat_hash_map<NodeID, rpc::NodeInfo> alive_;
  absl::flat_hash_map<NodeID, rpc::NodeInfo> dead_;
  // Dead node ids, oldest death first, for trimming.
  std::deque<NodeID> dead_order_;
};

}  // namespace comet::gcs
