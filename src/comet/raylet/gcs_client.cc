#include "src/comet/raylet/gcs_client.h"

#include <grpcpp/client_context.h>

#include "src/comet/raylet/grpc_status.h"
#include "src/comet/rpc/async_call.h"
#include "src/comet/rpc/grpc_auth.h"

namespace comet::raylet {
namespace {

void SetDeadline(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

gcs_client::GcsClientOptions ClientOptions(const std::string& address,
                                           const rpc::ClusterAuth& auth,
                                           absl::Duration reconnect_timeout) {
  gcs_client::GcsClientOptions options;
  options.address = address;
  options.auth = auth;
  options.reconnect_timeout = reconnect_timeout;
  return options;
}

}  // namespace

GcsClient::GcsClient(const std::string& address, const rpc::ClusterAuth& auth,
                     absl::Duration reconnect_timeout)
    : gcs_(ClientOptions(address, auth, reconnect_timeout)) {}

absl::Status GcsClient::RegisterNode(const rpc::NodeInfo& info,
                                     absl::Duration timeout) {
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  context.set_wait_for_ready(true);
  rpc::RegisterNodeRequest request;
  *request.mutable_node_info() = info;
  rpc::RegisterNodeReply reply;
  return rpc::ExplainRefusal(gcs_.nodes().RegisterNode(&context, request, &reply),
                             gcs_.options().auth);
}

void GcsClient::RegisterNodeAsync(const rpc::NodeInfo& info, absl::Duration timeout,
                                  std::function<void(absl::Status)> done) {
  rpc::RegisterNodeRequest request;
  *request.mutable_node_info() = info;
  gcs_.CallAsync<rpc::RegisterNodeRequest, rpc::RegisterNodeReply>(
      [this](auto* context, auto* req, auto* reply, auto cb) {
        gcs_.nodes().async()->RegisterNode(context, req, reply, std::move(cb));
      },
      std::move(request),
      [done = std::move(done), auth = gcs_.options().auth](const grpc::Status& status,
                                                           rpc::RegisterNodeReply&&) {
        done(rpc::ExplainRefusal(status, auth));
      },
      timeout);
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
  return ToAbslStatus(gcs_.nodes().UnregisterNode(&context, request, &reply));
}

void GcsClient::ReportResourceUsage(
    const rpc::ReportResourceUsageRequest& request, absl::Duration timeout,
    std::function<void(absl::Status, rpc::ReportResourceUsageReply)> done) {
  rpc::CallAsync<rpc::ReportResourceUsageRequest, rpc::ReportResourceUsageReply>(
      [this](auto* context, auto* req, auto* reply, auto cb) {
        gcs_.resources().async()->ReportResourceUsage(context, req, reply, std::move(cb));
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
  gcs_.CallAsync<rpc::ReportWorkerFailureRequest, rpc::ReportWorkerFailureReply>(
      [this](auto* context, auto* req, auto* reply, auto cb) {
        gcs_.workers().async()->ReportWorkerFailure(context, req, reply, std::move(cb));
      },
      request,
      [done = std::move(done)](const grpc::Status& status, rpc::ReportWorkerFailureReply&&) {
        done(ToAbslStatus(status));
      },
      timeout);
}

void GcsClient::Publish(rpc::PubMessage message, absl::Duration timeout,
                        std::function<void(absl::Status)> done) {
  rpc::PublishRequest request;
  *request.mutable_message() = std::move(message);
  rpc::CallAsync<rpc::PublishRequest, rpc::PublishReply>(
      [this](auto* context, auto* req, auto* reply, auto cb) {
        gcs_.pubsub().async()->Publish(context, req, reply, std::move(cb));
      },
      std::move(request),
      [done = std::move(done)](const grpc::Status& status, rpc::PublishReply&&) {
        done(ToAbslStatus(status));
      },
      absl::ToInt64Milliseconds(timeout));
}

}  // namespace comet::raylet
