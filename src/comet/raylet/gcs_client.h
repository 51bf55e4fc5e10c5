// GcsClient: the raylet's calls to the GCS — register and unregister the
// node, report resources and worker exits, publish workers' output. A thin wrapper over the
// generated stubs.
//
// Ownership: owns the stubs and shares the channel. Thread-safe: every
// method may be called from any thread; async completions run on gRPC's
// threads.
#pragma once

#include <grpcpp/channel.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "proto/gcs_service.grpc.pb.h"
#include "src/comet/common/id.h"
#include "src/comet/rpc/cluster_auth.h"

namespace comet::raylet {

class GcsClient {
 public:
  // Reports that must not be lost (worker exits) wait up to
  // `reconnect_timeout` for a restarting GCS to come back.
  GcsClient(std::shared_ptr<grpc::Channel> channel, rpc::ClusterAuth auth,
            absl::Duration reconnect_timeout = absl::Seconds(60));
  // A channel to HOST:PORT with the cluster's credentials.
  static std::unique_ptr<GcsClient> Connect(const std::string& address,
                                            const rpc::ClusterAuth& auth,
                                            absl::Duration reconnect_timeout);

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

  // Reports a worker process that exited; while the GCS is away the report
  // waits for it (up to the reconnect timeout, whichever of it and
  // `timeout` is longer). `done` runs on a gRPC thread.
  void ReportWorkerFailure(const rpc::ReportWorkerFailureRequest& request,
                           absl::Duration timeout,
                           std::function<void(absl::Status)> done);

  // Publishes one pubsub message (the log monitor's batches); `done` runs
  // on a gRPC thread.
  void Publish(rpc::PubMessage message, absl::Duration timeout,
               std::function<void(absl::Status)> done);

 private:
  std::shared_ptr<grpc::Channel> channel_;
  const rpc::ClusterAuth auth_;  // for explaining a refused token
  const absl::Duration reconnect_timeout_;
  std::unique_ptr<rpc::NodeInfoGcsService::Stub> node_stub_;
  std::unique_ptr<rpc::NodeResourceInfoGcsService::Stub> resource_stub_;
  std::unique_ptr<rpc::WorkerInfoGcsService::Stub> worker_stub_;
  std::unique_ptr<rpc::InternalPubSubGcsService::Stub> pubsub_stub_;
};

}  // namespace comet::raylet
