// BundleReserver: what the placement-group manager asks of raylets — the
// two phases of reserving bundles, and their release. Header-only so that
// the manager and its tests depend on the interface, not on gRPC
// (GrpcBundleReserver).
//
// Thread model: implementations are thread-confined to the GCS thread; every
// call and every callback happen there. A callback runs exactly once, never
// inside the call that issued it (unless shut down: then maybe never).
#pragma once

#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "proto/common.pb.h"
#include "src/comet/common/id.h"

namespace comet::gcs {

class BundleReserver {
 public:
  using Callback = std::function<void(const absl::Status& status)>;

  virtual ~BundleReserver() = default;

  // Reserves the bundles' resources on the node, all or none. OK: reserved;
  // ResourceExhausted: they do not fit (nothing reserved); any other error:
  // the raylet was not reached or did not answer (it may hold them).
  virtual void Prepare(const NodeID& node_id, std::vector<rpc::Bundle> bundles,
                       Callback callback) = 0;
  // Turns prepared bundles into bundle resources.
  virtual void Commit(const NodeID& node_id, std::vector<rpc::Bundle> bundles,
                      Callback callback) = 0;
  // Releases the bundles, prepared or committed; unknown ones are ignored.
  virtual void Cancel(const NodeID& node_id, std::vector<rpc::Bundle> bundles,
                      Callback callback) = 0;
};

}  // namespace comet::gcs
