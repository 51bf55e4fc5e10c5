#include "src/comet/raylet/gcs_client.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <algorithm>
#include <chrono>

#include "src/comet/raylet/grpc_status.h"
#include "src/comet/rpc/async_call.h"
#include "src/comet/rpc/client_pool.h"
#include "src/comet/rpc/grpc_auth.h"

namespace comet::raylet {
namespace {

void SetDeadline(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

}  // namespace

GcsClient::GcsClient(std::shared_ptr<grpc::Channel> channel, rpc::ClusterAuth auth,
                     absl::Duration reconnect_timeout)
    : channel_(std::move(channel)),
      auth_(std::move(auth)),
      reconnect_timeout_(reconnect_timeout),
      node_stub_(rpc::NodeInfoGcsService::NewStub(channel_)),
      resource_stub_(rpc::NodeResourceInfoGcsService::NewStub(channel_)),
      worker_stub_(rpc::WorkerInfoGcsService::NewStub(channel_)),
      pubsub_stub_(rpc::InternalPubSubGcsService::NewStub(channel_)) {}

std::unique_ptr<GcsClient> GcsClient::Connect(const std::string& address,
                                              const rpc::ClusterAuth& auth,
                                              absl::Duration reconnect_timeout) {
  return std::make_unique<GcsClient>(rpc::MakeChannel(address, auth), auth, reconnect_timeout);
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

void GcsClient::RegisterNodeAsync(const rpc::NodeInfo& info, absl::Duration timeout,
                                  std::function<void(absl::Status)> done) {
  rpc::RegisterNodeRequest request;
  *request.mutable_node_info() = info;
  auto* stub = node_stub_.get();
  rpc::CallAsync<rpc::RegisterNodeRequest, rpc::RegisterNodeReply>(
      [stub](auto* context, auto* req, auto* reply, auto cb) {
        context->set_wait_for_ready(true);
        stub->async()->RegisterNode(context, req, reply, std::move(cb));
      },
      std::move(request),
      [done = std::move(done), auth = auth_](const grpc::Status& status,
                                             rpc::RegisterNodeReply&&) {
        done(rpc::ExplainRefusal(status, auth));
      },
      absl::ToInt64Milliseconds(timeout));
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
  auto* stub = resource_stub_.get();
  rpc::CallAsync<rpc::ReportResourceUsageRequest, rpc::ReportResourceUsageReply>(
      [stub](auto* context, auto* req, auto* reply, auto cb) {
        stub->async()->ReportResourceUsage(context, req, reply, std::move(cb));
      },
      request,
      [done = std::move(done)](const grpc::Status& status, rpc::ReportResourceUsageReply&& reply) {
        done(ToAbslStatus(status), std::move(reply));
      },
      absl::ToInt64Milliseconds(timeout));
}

void GcsClient::ReportWorkerFailure(
    const rpc::ReportWorkerFailureRequest& request, absl::Duration timeout,
    std::function<void(absl::Status)> done) {
  auto* stub = worker_stub_.get();
  rpc::CallAsync<rpc::ReportWorkerFailureRequest, rpc::ReportWorkerFailureReply>(
      [stub](auto* context, auto* req, auto* reply, auto cb) {
        context->set_wait_for_ready(true);
        stub->async()->ReportWorkerFailure(context, req, reply, std::move(cb));
      },
      request,
      [done = std::move(done)](const grpc::Status& status, rpc::ReportWorkerFailureReply&&) {
        done(ToAbslStatus(status));
      },
      absl::ToInt64Milliseconds(std::max(timeout, reconnect_timeout_)));
}

void GcsClient::Publish(rpc::PubMessage message, absl::Duration timeout,
                        std::function<void(absl::Status)> done) {
  rpc::PublishRequest request;
  *request.mutable_message() = std::move(message);
  auto* stub = pubsub_stub_.get();
  rpc::CallAsync<rpc::PublishRequest, rpc::PublishReply>(
      [stub](auto* context, auto* req, auto* reply, auto cb) {
        stub->async()->Publish(context, req, reply, std::move(cb));
      },
      std::move(request),
      [done = std::move(done)](const grpc::Status& status, rpc::PublishReply&&) {
        done(ToAbslStatus(status));
      },
      absl::ToInt64Milliseconds(timeout));
}

}  // namespace comet::raylet
