#include "src/comet/gcs/gcs_health_check_manager.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "src/comet/common/logging.h"

namespace comet::gcs {

GcsHealthCheckManager::GcsHealthCheckManager(
    boost::asio::io_context& io_context, NodeProber* prober,
    HealthCheckOptions options, DeadCallback on_dead)
    : prober_(prober),
      options_(std::move(options)),
      on_dead_(std::move(on_dead)),
      timer_(io_context, options_.period, [this] { CheckAllNodes(); }) {}

void GcsHealthCheckManager::AddNode(const rpc::NodeInfo& node) {
  if (stopped_) return;
  absl::StatusOr<NodeID> id = NodeID::FromBinary(node.node_id());
  if (!id.ok()) return;  // The node manager validated it.
  NodeState& state = nodes_[*id];
  state.node = node;
  state.failures = 0;
  state.in_flight = false;
  state.generation = next_generation_++;
  timer_.Start();
}

void GcsHealthCheckManager::RemoveNode(const NodeID& node_id) {
  nodes_.erase(node_id);
  prober_->Forget(node_id);
  if (nodes_.empty()) timer_.Cancel();
}

void GcsHealthCheckManager::Stop() {
  stopped_ = true;
  timer_.Cancel();
  nodes_.clear();
}

int64_t GcsHealthCheckManager::failures(const NodeID& node_id) const {
  auto it = nodes_.find(node_id);
  return it == nodes_.end() ? 0 : it->second.failures;
}

void GcsHealthCheckManager::CheckAllNodes() {
  absl::Duration timeout = std::min(options_.timeout, options_.period);
  // Collected first: a prober may answer inline and change `nodes_`.
  std::vector<std::pair<NodeID, uint64_t>> due;
  for (auto& [id, state] : nodes_) {
    if (state.in_flight) continue;
    state.in_flight = true;
    due.emplace_back(id, state.generation);
  }
  for (const auto& [id, generation] : due) {
    auto it = nodes_.find(id);
    if (it == nodes_.end() || it->second.generation != generation) continue;
    prober_->Probe(it->second.node, timeout,
                   [this, id = id, generation = generation](absl::Status s) {
                     OnProbeResult(id, generation, s);
                   });
  }
}

void GcsHealthCheckManager::OnProbeResult(const NodeID& node_id,
                                          uint64_t generation,
                                          const absl::Status& status) {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end() || it->second.generation != generation) return;
  NodeState& state = it->second;
  state.in_flight = false;
  if (status.ok()) {
    if (state.failures > 0) {
      COMET_LOG(INFO) << "node " << node_id << " answered its health check "
                      << "again after " << state.failures << " failures";
    }
    state.failures = 0;
    return;
  }
  ++state.failures;
  COMET_LOG(WARNING) << "health check of node " << node_id << " failed ("
                     << state.failures << "/" << options_.failure_threshold
                     << "): " << status;
  if (state.failures < options_.failure_threshold) return;
  std::string reason = absl::StrCat("node missed ", state.failures,
                                    " consecutive health checks (every ",
                                    absl::FormatDuration(options_.period),
                                    "); last error: ", status.ToString());
  RemoveNode(node_id);
  on_dead_(node_id, std::move(reason));
}

}  // namespace comet::gcs
