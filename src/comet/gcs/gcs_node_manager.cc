#include "src/comet/gcs/gcs_node_manager.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "src/comet/common/logging.h"
#include "src/comet/common/status_macros.h"

namespace comet::gcs {
namespace {

absl::Status ValidateNode(const rpc::NodeInfo& node) {
  absl::StatusOr<NodeID> id = NodeID::FromBinary(node.node_id());
  if (!id.ok()) return id.status();
  if (id->IsNil()) return absl::InvalidArgumentError("node id is nil");
  if (node.node_manager_address().empty()) {
    return absl::InvalidArgumentError("node_manager_address is required");
  }
  bool unix_socket = absl::StartsWith(node.node_manager_address(), "unix:");
  if (!unix_socket &&
      (node.node_manager_port() <= 0 || node.node_manager_port() > 65535)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "node_manager_port ", node.node_manager_port(), " is not a TCP port"));
  }
  return absl::OkStatus();
}

}  // namespace

void GcsNodeManager::AddNodeAddedListener(Listener listener) {
  added_listeners_.push_back(std::move(listener));
}

void GcsNodeManager::AddNodeRemovedListener(Listener listener) {
  removed_listeners_.push_back(std::move(listener));
}

absl::Status GcsNodeManager::Initialize() {
  ASSIGN_OR_RETURN(auto rows, store_->GetAll(kNodeTable));
  std::vector<rpc::NodeInfo> dead;
  for (const auto& [key, value] : rows) {
    rpc::NodeInfo node;
    absl::StatusOr<NodeID> id = NodeID::FromBinary(key);
    if (!id.ok() || !node.ParseFromString(value)) {
      COMET_LOG(WARNING) << "skipping a malformed node record in the store";
      continue;
    }
    if (node.state() == rpc::NodeInfo::DEAD) {
      dead.push_back(std::move(node));
    } else {
      alive_[*id] = std::move(node);
    }
  }
  std::sort(dead.begin(), dead.end(), [](const auto& a, const auto& b) {
    return a.end_time_ms() < b.end_time_ms();
  });
  for (rpc::NodeInfo& node : dead) {
    NodeID id = *NodeID::FromBinary(node.node_id());
    RememberDead(id, std::move(node));
  }
  std::vector<rpc::NodeInfo> alive;
  for (const auto& [id, node] : alive_) alive.push_back(node);
  for (const rpc::NodeInfo& node : alive) {
    for (const Listener& listener : added_listeners_) listener(node);
  }
  return absl::OkStatus();
}

absl::Status GcsNodeManager::RegisterNode(rpc::NodeInfo node) {
  RETURN_IF_ERROR(ValidateNode(node));
  NodeID id = *NodeID::FromBinary(node.node_id());
  if (dead_.contains(id)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "node ", id.Hex(), " was marked dead; register with a new node id"));
  }
  node.set_state(rpc::NodeInfo::ALIVE);
  node.set_end_time_ms(0);
  node.clear_death_reason();
  if (node.start_time_ms() == 0) {
    node.set_start_time_ms(absl::ToUnixMillis(absl::Now()));
  }
  RETURN_IF_ERROR(SaveAndPublish(node));
  COMET_LOG(INFO) << (alive_.contains(id) ? "node re-registered: "
                                          : "node registered: ")
                  << id << " at " << node.node_manager_address() << ":"
                  << node.node_manager_port();
  alive_[id] = node;
  // `node` is a copy: a listener may change the table.
  for (const Listener& listener : added_listeners_) listener(node);
  return absl::OkStatus();
}

absl::Status GcsNodeManager::UnregisterNode(const NodeID& node_id,
                                            absl::string_view reason) {
  return MarkNodeDead(node_id, reason.empty()
                                   ? std::string("unregistered by its raylet")
                                   : std::string(reason));
}

absl::Status GcsNodeManager::MarkNodeDead(const NodeID& node_id,
                                          std::string death_reason) {
  auto it = alive_.find(node_id);
  if (it == alive_.end()) {
    if (dead_.contains(node_id)) return absl::OkStatus();
    return absl::NotFoundError(absl::StrCat("unknown node ", node_id.Hex()));
  }
  rpc::NodeInfo node = it->second;
  node.set_state(rpc::NodeInfo::DEAD);
  node.set_death_reason(std::move(death_reason));
  node.set_end_time_ms(absl::ToUnixMillis(absl::Now()));
  RETURN_IF_ERROR(SaveAndPublish(node));
  alive_.erase(it);
  COMET_LOG(INFO) << "node " << node_id << " is dead: " << node.death_reason();
  RememberDead(node_id, node);
  for (const Listener& listener : removed_listeners_) listener(node);
  return absl::OkStatus();
}

void GcsNodeManager::RememberDead(const NodeID& node_id, rpc::NodeInfo node) {
  dead_[node_id] = std::move(node);
  dead_order_.push_back(node_id);
  while (dead_order_.size() > kMaxDeadNodes) {
    NodeID oldest = dead_order_.front();
    dead_order_.pop_front();
    dead_.erase(oldest);
    absl::StatusOr<bool> deleted = store_->Delete(kNodeTable, oldest.Binary());
    if (!deleted.ok()) {
      COMET_LOG(WARNING) << "cannot drop dead node " << oldest
                         << " from the store: " << deleted.status();
    }
  }
}

std::vector<rpc::NodeInfo> GcsNodeManager::GetAllNodes() const {
  std::vector<rpc::NodeInfo> all;
  all.reserve(alive_.size() + dead_.size());
  for (const auto& [id, node] : alive_) all.push_back(node);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return std::make_pair(a.start_time_ms(), a.node_id()) <
           std::make_pair(b.start_time_ms(), b.node_id());
  });
  for (const NodeID& id : dead_order_) all.push_back(dead_.at(id));
  return all;
}

const rpc::NodeInfo* GcsNodeManager::GetAliveNode(const NodeID& node_id) const {
  auto it = alive_.find(node_id);
  return it == alive_.end() ? nullptr : &it->second;
}

absl::Status GcsNodeManager::SaveAndPublish(const rpc::NodeInfo& node) {
  RETURN_IF_ERROR(store_
                      ->Put(kNodeTable, node.node_id(),
                            node.SerializeAsString(), /*overwrite=*/true)
                      .status());
  rpc::PubMessage message;
  message.set_channel(rpc::NODE_INFO_CHANNEL);
  message.set_key(node.node_id());
  *message.mutable_node_info() = node;
  publisher_->Publish(std::move(message));
  return absl::OkStatus();
}

}  // namespace comet::gcs
