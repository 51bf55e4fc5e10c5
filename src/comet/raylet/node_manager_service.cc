#include "src/comet/raylet/node_manager_service.h"

#include <atomic>
#include <boost/asio/post.hpp>
#include <memory>
#include <optional>

namespace comet::raylet {
namespace {

// A lease RPC's reactor: unlike the default one it hears cancellation, which
// it forwards to the NodeManager so that the queued request is dropped.
class LeaseReactor : public grpc::ServerUnaryReactor {
 public:
  LeaseReactor(boost::asio::io_context& io, NodeManager* node_manager)
      : io_(io),
        node_manager_(node_manager),
        request_id_(std::make_shared<Id>()) {}

  // Set on the io thread once the request is queued.
  void set_request_id(std::optional<LeaseManager::RequestId> id) {
    *request_id_ = id;
  }
  std::shared_ptr<std::optional<LeaseManager::RequestId>> request_id() const {
    return request_id_;
  }

  void OnCancel() override {
    // Posted after the handler's own post, so the id is known when it runs.
    // Touches only shared state: this reactor may be gone by then.
    boost::asio::post(io_, [node_manager = node_manager_, id = request_id_] {
      if (id->has_value()) node_manager->CancelLeaseRequest(**id);
    });
  }
  void OnDone() override { delete this; }

 private:
  using Id = std::optional<LeaseManager::RequestId>;

  boost::asio::io_context& io_;
  NodeManager* const node_manager_;
  std::shared_ptr<Id> request_id_;
};

}  // namespace

NodeManagerService::NodeManagerService(boost::asio::io_context& io,
                                       NodeManager* node_manager,
                                       ObjectManager* objects)
    : io_(io), node_manager_(node_manager), objects_(objects) {}

grpc::ServerUnaryReactor* NodeManagerService::PullObjects(
    grpc::CallbackServerContext* context,
    const rpc::PullObjectsRequest* request, rpc::PullObjectsReply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (objects_ == nullptr) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                 "this raylet has no object manager"));
    return reactor;
  }
  int n = request->objects_size();
  for (int i = 0; i < n; ++i) reply->add_errors();
  if (n == 0) {
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  // The last pull to finish answers; the reply outlives them all.
  auto remaining = std::make_shared<std::atomic<int>>(n);
  for (int i = 0; i < n; ++i) {
    objects_->Pull(request->objects(i),
                   [reactor, reply, remaining, i](const std::string& error) {
                     *reply->mutable_errors(i) = error;
                     if (remaining->fetch_sub(1) == 1) {
                       reactor->Finish(grpc::Status::OK);
                     }
                   });
  }
  return reactor;
}

grpc::ServerUnaryReactor* NodeManagerService::FreeObjects(
    grpc::CallbackServerContext* context,
    const rpc::FreeObjectsRequest* request, rpc::FreeObjectsReply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (objects_ != nullptr) objects_->FreeEverywhere(*request);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

template <typename Request, typename Reply, typename Handler>
grpc::ServerUnaryReactor* NodeManagerService::Dispatch(
    grpc::CallbackServerContext* context, const Request* request, Reply* reply,
    Handler handler) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  boost::asio::post(io_, [this, context, request, reply, reactor, handler] {
    (node_manager_->*handler)(*request, reply,
                              [reactor, context](const grpc::Status& status) {
                                bool alive = !context->IsCancelled();
                                reactor->Finish(status);
                                return alive;
                              });
  });
  return reactor;
}

grpc::ServerUnaryReactor* NodeManagerService::RegisterWorker(
    grpc::CallbackServerContext* context,
    const rpc::RegisterWorkerRequest* request,
    rpc::RegisterWorkerReply* reply) {
  return Dispatch(context, request, reply, &NodeManager::RegisterWorker);
}

grpc::ServerUnaryReactor* NodeManagerService::RegisterDriver(
    grpc::CallbackServerContext* context,
    const rpc::RegisterDriverRequest* request,
    rpc::RegisterDriverReply* reply) {
  return Dispatch(context, request, reply, &NodeManager::RegisterDriver);
}

grpc::ServerUnaryReactor* NodeManagerService::RequestWorkerLease(
    grpc::CallbackServerContext* context,
    const rpc::RequestWorkerLeaseRequest* request,
    rpc::RequestWorkerLeaseReply* reply) {
  auto* reactor = new LeaseReactor(io_, node_manager_);
  auto id = reactor->request_id();
  boost::asio::post(io_, [this, context, request, reply, reactor, id] {
    *id = node_manager_->RequestWorkerLease(
        *request, reply, [reactor, context](const grpc::Status& status) {
          bool alive = !context->IsCancelled();
          reactor->Finish(status);
          return alive;
        });
  });
  return reactor;
}

grpc::ServerUnaryReactor* NodeManagerService::ReturnWorker(
    grpc::CallbackServerContext* context,
    const rpc::ReturnWorkerRequest* request, rpc::ReturnWorkerReply* reply) {
  return Dispatch(context, request, reply, &NodeManager::ReturnWorker);
}

grpc::ServerUnaryReactor* NodeManagerService::CancelWorkerLease(
    grpc::CallbackServerContext* context,
    const rpc::CancelWorkerLeaseRequest* request,
    rpc::CancelWorkerLeaseReply* reply) {
  return Dispatch(context, request, reply, &NodeManager::CancelWorkerLease);
}

grpc::ServerUnaryReactor* NodeManagerService::KillWorker(
    grpc::CallbackServerContext* context, const rpc::KillWorkerRequest* request,
    rpc::KillWorkerReply* reply) {
  return Dispatch(context, request, reply, &NodeManager::KillWorker);
}

grpc::ServerUnaryReactor* NodeManagerService::GetWorkerFailureCause(
    grpc::CallbackServerContext* context, const rpc::GetWorkerFailureCauseRequest* request,
    rpc::GetWorkerFailureCauseReply* reply) {
  return Dispatch(context, request, reply, &NodeManager::GetWorkerFailureCause);
}

grpc::ServerUnaryReactor* NodeManagerService::GetNodeStats(
    grpc::CallbackServerContext* context,
    const rpc::GetNodeStatsRequest* request, rpc::GetNodeStatsReply* reply) {
  return Dispatch(context, request, reply, &NodeManager::GetNodeStats);
}

grpc::ServerUnaryReactor* NodeManagerService::ReportMetrics(
    grpc::CallbackServerContext* context, const rpc::ReportMetricsRequest* request,
    rpc::ReportMetricsReply* reply) {
  return Dispatch(context, request, reply, &NodeManager::ReportMetrics);
}

grpc::ServerUnaryReactor* NodeManagerService::NotifyWorkerBlocked(
    grpc::CallbackServerContext* context,
    const rpc::NotifyWorkerBlockedRequest* request,
    rpc::NotifyWorkerBlockedReply* reply) {
  return Dispatch(context, request, reply, &NodeManager::NotifyWorkerBlocked);
}

grpc::ServerUnaryReactor* NodeManagerService::NotifyWorkerUnblocked(
    grpc::CallbackServerContext* context,
    const rpc::NotifyWorkerUnblockedRequest* request,
    rpc::NotifyWorkerUnblockedReply* reply) {
  return Dispatch(context, request, reply, &NodeManager::NotifyWorkerUnblocked);
}

grpc::ServerUnaryReactor* NodeManagerService::PrepareBundleResources(
    grpc::CallbackServerContext* context,
    const rpc::PrepareBundleResourcesRequest* request,
    rpc::PrepareBundleResourcesReply* reply) {
  return Dispatch(context, request, reply,
                  &NodeManager::PrepareBundleResources);
}

grpc::ServerUnaryReactor* NodeManagerService::CommitBundleResources(
    grpc::CallbackServerContext* context,
    const rpc::CommitBundleResourcesRequest* request,
    rpc::CommitBundleResourcesReply* reply) {
  return Dispatch(context, request, reply, &NodeManager::CommitBundleResources);
}

grpc::ServerUnaryReactor* NodeManagerService::CancelResourceReserve(
    grpc::CallbackServerContext* context,
    const rpc::CancelResourceReserveRequest* request,
    rpc::CancelResourceReserveReply* reply) {
  return Dispatch(context, request, reply, &NodeManager::CancelResourceReserve);
}

grpc::ServerUnaryReactor* NodeManagerService::HealthCheck(
    grpc::CallbackServerContext* context, const rpc::HealthCheckRequest*,
    rpc::HealthCheckReply*) {
  // Answered on the io thread, so a wedged event loop fails health checks.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  boost::asio::post(io_, [reactor] { reactor->Finish(grpc::Status::OK); });
  return reactor;
}

}  // namespace comet::raylet
