// GcsHealthCheckManager: decides when a node is dead. Every `period` it
// probes each tracked (live) node through a NodeProber, at most one probe
// per node in flight; a node that fails `failure_threshold` probes in a row
// is reported through the dead callback (and no longer tracked). A success
// resets the count. The timer runs only while some node is tracked, so an
// idle GCS does not wake up.
//
// Ownership: does not own the NodeProber, which must outlive it. Probe
// callbacks capture this object, so destroy it only after the prober has
// shut down and the io_context stopped running.
// Thread model: thread-confined to the io_context given at construction;
// the dead callback runs there.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "proto/common.pb.h"
#include "src/comet/common/id.h"
#include "src/comet/common/periodic_timer.h"
#include "src/comet/gcs/node_prober_interface.h"

namespace comet::gcs {

struct HealthCheckOptions {
  absl::Duration period = absl::Seconds(1);
  // Deadline of one probe; at most `period`, so probes do not pile up.
  absl::Duration timeout = absl::Seconds(1);
  int64_t failure_threshold = 5;
};

class GcsHealthCheckManager {
 public:
  using DeadCallback =
      std::function<void(const NodeID& node_id, std::string death_reason)>;

  GcsHealthCheckManager(boost::asio::io_context& io_context, NodeProber* prober,
                        HealthCheckOptions options, DeadCallback on_dead);

  // Starts checking `node`, or updates its address and resets its count if
  // it is already tracked. Ignored after Stop().
  void AddNode(const rpc::NodeInfo& node);
  void RemoveNode(const NodeID& node_id);

  // Stops the timer and forgets every node; results still arriving are
  // ignored. Idempotent.
  void Stop();

  // One round of probes (the timer calls this every period).
  void CheckAllNodes();

  bool IsTracked(const NodeID& node_id) const {
    return nodes_.contains(node_id);
  }
  // Consecutive failures of a tracked node (0 if untracked).
  int64_t failures(const NodeID& node_id) const;

 private:
  struct NodeState {
    rpc::NodeInfo node;
    int64_t failures = 0;
    bool in_flight = false;
    // Tells results of an older registration apart.
    uint64_t generation = 0;
  };

  void OnProbeResult(const NodeID& node_id, uint64_t generation,
                     const absl::Status& status);

  NodeProber* prober_;
  const HealthCheckOptions options_;
  DeadCallback on_dead_;
  PeriodicTimer timer_;
  absl::flat_hash_map<NodeID, NodeState> nodes_;
  uint64_t next_generation_ = 1;
  bool stopped_ = false;
};

}  // namespace comet::gcs
