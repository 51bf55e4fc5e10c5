#include "src/comet/raylet/gcs_client.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <chrono>

#include "src/comet/raylet/grpc_status.h"
#include "src/comet/rpc/client_pool.h"
#include "src/comet/rpc/grpc_auth.h"

namespace comet::raylet {
namespace {

void SetDeadline(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

}  // namespace

GcsClient::GcsClient(std::shared_ptr<grpc::Channel> channel, rpc::ClusterAuth auth)
    : channel_(std::move(channel)),
      auth_(std::move(auth)),
      node_stub_(rpc::NodeInfoGcsService::NewStub(channel_)),
      resource_stub_(rpc::NodeResourceInfoGcsService::NewStub(channel_)),
      worker_stub_(rpc::WorkerInfoGcsService::NewStub(channel_)),
      pubsub_stub_(rpc::InternalPubSubGcsService::NewStub(channel_)) {}

std::unique_ptr<GcsClient> GcsClient::Connect(const std::string& address,
                                              const rpc::ClusterAuth& auth) {
  return std::make_unique<GcsClient>(rpc::MakeChannel(address, auth), auth);
}

absl::Status GcsClient::RegisterNode(const rpc::NodeInfo& info,
                                     absl::Duration timeout) {
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  context.set_wait_for_ready(true);
  rpc::RegisterNodeRequest request;
  *request.mutable_node_info() = info;
  rpc::RegisterNodeReply reply;
  return rpc::ExplainRefusal(node_stub_->RegisterNode(&context, request, &reply), auth_);
}

absl::Status GcsClient::UnregisterNode(const NodeID& node_id,
                                       const std::string& reason,
                                       absl::Duration timeout) {
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  rpc::UnregisterNodeRequest request;
  request.set_node_id(node_id.Binary());
  request.set_reason(reason);
  rpc::UnregisterNodeReply reply;
  return ToAbslStatus(node_stub_->UnregisterNode(&context, request, &reply));
}

void GcsClient::ReportResourceUsage(
    const rpc::ReportResourceUsageRequest& request, absl::Duration timeout,
    std::function<void(absl::Status, rpc::ReportResourceUsageReply)> done) {
  struct Call {
    grpc::ClientContext context;
    rpc::ReportResourceUsageRequest request;
    rpc::ReportResourceUsageReply reply;
  };
  auto call = std::make_shared<Call>();
  call->request = request;
  SetDeadline(&call->context, timeout);
  resource_stub_->async()->ReportResourceUsage(
      &call->context, &call->request, &call->reply,
      [call, done = std::move(done)](grpc::Status status) {
        done(ToAbslStatus(status), std::move(call->reply));
      });
}

void GcsClient::ReportWorkerFailure(
    const rpc::ReportWorkerFailureRequest& request, absl::Duration timeout,
    std::function<void(absl::Status)> done) {
  struct Call {
    grpc::ClientContext context;
    rpc::ReportWorkerFailureRequest request;
    rpc::ReportWorkerFailureReply reply;
  };
  auto call = std::make_shared<Call>();
  call->request = request;
  SetDeadline(&call->context, timeout);
  worker_stub_->async()->ReportWorkerFailure(
      &call->context, &call->request, &call->reply,
      [call, done = std::move(done)](grpc::Status status) {
        done(ToAbslStatus(status));
      });
}

void GcsClient::Publish(rpc::PubMessage message, absl::Duration timeout,
                        std::function<void(absl::Status)> done) {
  struct Call {
    grpc::ClientContext context;
    rpc::PublishRequest request;
    rpc::PublishReply reply;
  };
  auto call = std::make_shared<Call>();
  *call->request.mutable_message() = std::move(message);
  SetDeadline(&call->context, timeout);
  pubsub_stub_->async()->Publish(
      &call->context, &call->request, &call->reply,
      [call, done = std::move(done)](grpc::Status status) {
        done(ToAbslStatus(status));
      });
}

}  // namespace comet::raylet
