// NodeProber: how the health checker asks one raylet "are you alive?".
// Header-only so that GcsHealthCheckManager's tests use a fake instead of
// real RPCs; GrpcNodeProber is the production implementation.
//
// Thread model: Probe() and Forget() are called on the GCS thread, and each
// probe's callback runs there, exactly once (unless the GCS thread stops
// first, in which case it never runs).
#pragma once

#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "proto/common.pb.h"
#include "src/comet/common/id.h"

namespace comet::gcs {

class NodeProber {
 public:
  // OK when the node answered in time; the RPC's error otherwise.
  using Callback = std::function<void(absl::Status status)>;

  virtual ~NodeProber() = default;

  // Health-checks the raylet at node.node_manager_address/port. Must not
  // block.
  virtual void Probe(const rpc::NodeInfo& node, absl::Duration timeout,
                     Callback callback) = 0;

  // Drops what is cached for the node (e.g. its channel).
  virtual void Forget(const NodeID& node_id) = 0;
};

}  // namespace comet::gcs
