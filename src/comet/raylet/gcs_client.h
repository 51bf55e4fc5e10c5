// GcsClient: the raylet's calls to the GCS — register and unregister the
// node, report resources and worker exits, publish workers' output — typed
// over the one GCS client library (gcs_client::GcsRpcClient), whose reconnect
// rule the calls that must not be lost use (registration, worker exits).
// Periodic reports (resources, log batches) make one attempt each: the next
// report replaces a lost one.
//
// Ownership: owns its GcsRpcClient. Thread-safe: every method may be called
// from any thread; async completions run on gRPC's threads.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "proto/gcs_service.grpc.pb.h"
#include "src/comet/common/id.h"
#include "src/comet/gcs_client/gcs_rpc_client.h"
#include "src/comet/rpc/cluster_auth.h"

namespace comet::raylet {

class GcsClient {
 public:
  // Reports that must not be lost (worker exits) wait up to
  // `reconnect_timeout` for a restarting GCS at HOST:PORT to come back.
  GcsClient(const std::string& address, const rpc::ClusterAuth& auth,
            absl::Duration reconnect_timeout = absl::Seconds(60));

  // Blocks until the GCS accepts the node, waiting up to `timeout` for the
  // GCS to come up.
  absl::Status RegisterNode(const rpc::NodeInfo& info, absl::Duration timeout);

  // RegisterNode without blocking: a GCS that restarted without the node's
  // record (memory storage) is told about it again. `done` runs on a gRPC
  // thread.
  void RegisterNodeAsync(const rpc::NodeInfo& info, absl::Duration timeout,
                         std::function<void(absl::Status)> done);

  // Blocks up to `timeout`: the node leaves the cluster on purpose.
  absl::Status UnregisterNode(const NodeID& node_id, const std::string& reason,
                              absl::Duration timeout);

  // Sends one report; `done` runs on a gRPC thread with the outcome and the
  // cluster view the GCS replied with.
  void ReportResourceUsage(
      const rpc::ReportResourceUsageRequest& request, absl::Duration timeout,
      std::function<void(absl::Status, rpc::ReportResourceUsageReply)> done);

  // Reports a worker process that exited; while the GCS is away, or when it
  // dies mid-call, the report waits for it (up to the reconnect timeout).
  // `timeout` bounds one attempt. `done` runs on a gRPC thread.
  void ReportWorkerFailure(const rpc::ReportWorkerFailureRequest& request,
                           absl::Duration timeout,
                           std::function<void(absl::Status)> done);

  // Publishes one pubsub message (the log monitor's batches); `done` runs
  // on a gRPC thread.
  void Publish(rpc::PubMessage message, absl::Duration timeout,
               std::function<void(absl::Status)> done);

 private:
  gcs_client::GcsRpcClient gcs_;
};

}  // namespace comet::raylet
