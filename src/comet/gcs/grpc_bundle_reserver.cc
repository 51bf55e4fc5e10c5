#include "src/comet/gcs/grpc_bundle_reserver.h"

#include <boost/asio/post.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "src/comet/gcs/grpc_node_prober.h"
#include "src/comet/rpc/client_pool.h"

namespace comet::gcs {
namespace {

// A reply callback that passes on the call's status only.
template <typename Reply>
std::function<void(const absl::Status&, Reply)> StatusOnly(
    BundleReserver::Callback callback) {
  return [callback = std::move(callback)](const absl::Status& status, Reply) {
    callback(status);
  };
}

}  // namespace

template <typename Request, typename Reply, typename Start>
void GrpcBundleReserver::Send(
    const NodeID& node_id, std::vector<rpc::Bundle> bundles, Start start,
    std::function<void(const absl::Status&, Reply)> callback) {
  const rpc::NodeInfo* node = lookup_(node_id);
  if (node == nullptr) {
    boost::asio::post(io_, [callback = std::move(callback), node_id] {
      callback(absl::UnavailableError(
                   absl::StrCat("node ", node_id.Hex(), " is not alive")),
               Reply());
    });
    return;
  }
  std::string target = GrpcNodeProber::TargetOf(*node);
  Entry& entry = stubs_[node_id];
  if (entry.stub == nullptr || entry.target != target) {
    entry.target = target;
    entry.stub = rpc::NodeManagerService::NewStub(rpc::MakeChannel(target, auth_));
  }
  Request request;
  for (rpc::Bundle& bundle : bundles)
    *request.add_bundles() = std::move(bundle);
  calls_.Call<Request, Reply>(
      [stub = entry.stub, start](auto* context, auto* request, auto* reply,
                                 auto done) {
        start(stub.get(), context, request, reply, std::move(done));
      },
      std::move(request), kCallTimeout, std::move(callback));
}

void GrpcBundleReserver::Prepare(const NodeID& node_id,
                                 std::vector<rpc::Bundle> bundles,
                                 Callback callback) {
  Send<rpc::PrepareBundleResourcesRequest, rpc::PrepareBundleResourcesReply>(
      node_id, std::move(bundles),
      [](auto* stub, auto* context, auto* request, auto* reply, auto done) {
        stub->async()->PrepareBundleResources(context, request, reply,
                                              std::move(done));
      },
      [callback = std::move(callback)](const absl::Status& status,
                                       rpc::PrepareBundleResourcesReply reply) {
        if (status.ok() && !reply.success()) {
          callback(absl::ResourceExhaustedError(
              "the bundles do not fit in what the node has free"));
          return;
        }
        callback(status);
      });
}

void GrpcBundleReserver::Commit(const NodeID& node_id,
                                std::vector<rpc::Bundle> bundles,
                                Callback callback) {
  Send<rpc::CommitBundleResourcesRequest, rpc::CommitBundleResourcesReply>(
      node_id, std::move(bundles),
      [](auto* stub, auto* context, auto* request, auto* reply, auto done) {
        stub->async()->CommitBundleResources(context, request, reply,
                                             std::move(done));
      },
      StatusOnly<rpc::CommitBundleResourcesReply>(std::move(callback)));
}

void GrpcBundleReserver::Cancel(const NodeID& node_id,
                                std::vector<rpc::Bundle> bundles,
                                Callback callback) {
  Send<rpc::CancelResourceReserveRequest, rpc::CancelResourceReserveReply>(
      node_id, std::move(bundles),
      [](auto* stub, auto* context, auto* request, auto* reply, auto done) {
        stub->async()->CancelResourceReserve(context, request, reply,
                                             std::move(done));
      },
      StatusOnly<rpc::CancelResourceReserveReply>(std::move(callback)));
}

}  // namespace comet::gcs
