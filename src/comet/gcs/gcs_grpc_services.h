// The GCS's gRPC services: thin glue from RPCs to the managers, on gRPC's
// callback API. A handler never touches GCS state itself: it posts the work
// to the GCS io_context and returns its reactor at once; the posted work
// runs on the GCS thread, fills the reply and calls Finish() there (Finish
// is thread-safe). So no RPC holds a gRPC thread, and all state stays
// confined to the one GCS thread. A Poll that has to wait keeps its reactor
// open (no thread) until GcsPubSubManager answers it; a client that cancels
// gets an empty reply at once.
//
// Ownership: the services do not own the managers or the io_context; all
// must outlive the grpc::Server the services are registered with, and the
// io_context must keep running until that server's Shutdown() returns.
// Thread model: handlers are called on gRPC threads and only post.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "proto/gcs_service.grpc.pb.h"
#include "src/comet/gcs/gcs_job_manager.h"
#include "src/comet/gcs/gcs_kv_manager.h"
#include "src/comet/gcs/gcs_node_manager.h"
#include "src/comet/gcs/gcs_placement_group_manager.h"
#include "src/comet/gcs/gcs_pubsub_manager.h"
#include "src/comet/gcs/gcs_resource_manager.h"
#include "src/comet/gcs/gcs_task_manager.h"
#include "src/comet/gcs/gcs_worker_manager.h"
#include "src/comet/rpc/grpc_auth.h"

namespace comet::gcs {

// absl and gRPC share status code numbers.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Runs `fn` (returning absl::Status) on the GCS thread, then finishes the
// call with its status. Request and reply stay valid until Finish.
template <typename Fn>
grpc::ServerUnaryReactor* OnGcsThread(boost::asio::io_context& io,
                                      grpc::CallbackServerContext* context,
                                      Fn fn) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  boost::asio::post(io, [reactor, fn = std::move(fn)]() mutable {
    reactor->Finish(ToGrpcStatus(fn()));
  });
  return reactor;
}

// GetAuthStats answers on the gRPC thread: the counts are atomics.
class NodeInfoService : public rpc::NodeInfoGcsService::CallbackService {
 public:
  NodeInfoService(boost::asio::io_context& io, GcsNodeManager* nodes,
                  std::shared_ptr<const rpc::AuthStats> gcs_refused,
                  std::shared_ptr<const rpc::AuthStats> core_workers_refused)
      : io_(io),
        nodes_(nodes),
        gcs_refused_(std::move(gcs_refused)),
        core_workers_refused_(std::move(core_workers_refused)) {}

  grpc::ServerUnaryReactor* RegisterNode(
      grpc::CallbackServerContext* context,
      const rpc::RegisterNodeRequest* request,
      rpc::RegisterNodeReply* reply) override;
  grpc::ServerUnaryReactor* UnregisterNode(
      grpc::CallbackServerContext* context,
      const rpc::UnregisterNodeRequest* request,
      rpc::UnregisterNodeReply* reply) override;
  grpc::ServerUnaryReactor* GetAllNodeInfo(
      grpc::CallbackServerContext* context,
      const rpc::GetAllNodeInfoRequest* request,
      rpc::GetAllNodeInfoReply* reply) override;
  grpc::ServerUnaryReactor* GetAuthStats(
      grpc::CallbackServerContext* context,
      const rpc::GetAuthStatsRequest* request,
      rpc::GetAuthStatsReply* reply) override;

 private:
  boost::asio::io_context& io_;
  GcsNodeManager* nodes_;
  std::shared_ptr<const rpc::AuthStats> gcs_refused_;
  std::shared_ptr<const rpc::AuthStats> core_workers_refused_;
};

// A report's reply carries the cluster view and the workers that died
// since the reporter last asked.
class NodeResourceInfoService
    : public rpc::NodeResourceInfoGcsService::CallbackService {
 public:
  NodeResourceInfoService(boost::asio::io_context& io,
                          GcsResourceManager* resources,
                          const GcsWorkerManager* workers)
      : io_(io), resources_(resources), workers_(workers) {}

  grpc::ServerUnaryReactor* ReportResourceUsage(
      grpc::CallbackServerContext* context,
      const rpc::ReportResourceUsageRequest* request,
      rpc::ReportResourceUsageReply* reply) override;
  grpc::ServerUnaryReactor* GetAllResourceUsage(
      grpc::CallbackServerContext* context,
      const rpc::GetAllResourceUsageRequest* request,
      rpc::GetAllResourceUsageReply* reply) override;

 private:
  boost::asio::io_context& io_;
  GcsResourceManager* resources_;
  const GcsWorkerManager* workers_;
};

class WorkerInfoService : public rpc::WorkerInfoGcsService::CallbackService {
 public:
  WorkerInfoService(boost::asio::io_context& io, GcsWorkerManager* workers)
      : io_(io), workers_(workers) {}

  grpc::ServerUnaryReactor* ReportWorkerFailure(
      grpc::CallbackServerContext* context,
      const rpc::ReportWorkerFailureRequest* request,
      rpc::ReportWorkerFailureReply* reply) override;

 private:
  boost::asio::io_context& io_;
  GcsWorkerManager* workers_;
};

// Reporters' refused-call counts go to `core_workers_refused`.
class TaskInfoService : public rpc::TaskInfoGcsService::CallbackService {
 public:
  TaskInfoService(boost::asio::io_context& io, GcsTaskManager* tasks,
                  std::shared_ptr<rpc::AuthStats> core_workers_refused)
      : io_(io), tasks_(tasks), core_workers_refused_(std::move(core_workers_refused)) {}

  grpc::ServerUnaryReactor* AddTaskEventData(
      grpc::CallbackServerContext* context,
      const rpc::AddTaskEventDataRequest* request,
      rpc::AddTaskEventDataReply* reply) override;
  grpc::ServerUnaryReactor* GetTaskEvents(
      grpc::CallbackServerContext* context,
      const rpc::GetTaskEventsRequest* request,
      rpc::GetTaskEventsReply* reply) override;

 private:
  boost::asio::io_context& io_;
  GcsTaskManager* tasks_;
  std::shared_ptr<rpc::AuthStats> core_workers_refused_;
};

class JobInfoService : public rpc::JobInfoGcsService::CallbackService {
 public:
  JobInfoService(boost::asio::io_context& io, GcsJobManager* jobs)
      : io_(io), jobs_(jobs) {}

  grpc::ServerUnaryReactor* GetNextJobID(
      grpc::CallbackServerContext* context,
      const rpc::GetNextJobIDRequest* request,
      rpc::GetNextJobIDReply* reply) override;
  grpc::ServerUnaryReactor* AddJob(grpc::CallbackServerContext* context,
                                   const rpc::AddJobRequest* request,
                                   rpc::AddJobReply* reply) override;
  grpc::ServerUnaryReactor* MarkJobFinished(
      grpc::CallbackServerContext* context,
      const rpc::MarkJobFinishedRequest* request,
      rpc::MarkJobFinishedReply* reply) override;
  grpc::ServerUnaryReactor* GetAllJobInfo(
      grpc::CallbackServerContext* context,
      const rpc::GetAllJobInfoRequest* request,
      rpc::GetAllJobInfoReply* reply) override;

 private:
  boost::asio::io_context& io_;
  GcsJobManager* jobs_;
};

class InternalKVService : public rpc::InternalKVGcsService::CallbackService {
 public:
  InternalKVService(boost::asio::io_context& io, GcsKvManager* kv)
      : io_(io), kv_(kv) {}

  grpc::ServerUnaryReactor* InternalKVGet(grpc::CallbackServerContext* context,
                                          const rpc::KVGetRequest* request,
                                          rpc::KVGetReply* reply) override;
  grpc::ServerUnaryReactor* InternalKVPut(grpc::CallbackServerContext* context,
                                          const rpc::KVPutRequest* request,
                                          rpc::KVPutReply* reply) override;
  grpc::ServerUnaryReactor* InternalKVDel(grpc::CallbackServerContext* context,
                                          const rpc::KVDelRequest* request,
                                          rpc::KVDelReply* reply) override;
  grpc::ServerUnaryReactor* InternalKVKeys(grpc::CallbackServerContext* context,
                                           const rpc::KVKeysRequest* request,
                                           rpc::KVKeysReply* reply) override;
  grpc::ServerUnaryReactor* InternalKVExists(
      grpc::CallbackServerContext* context, const rpc::KVExistsRequest* request,
      rpc::KVExistsReply* reply) override;

 private:
  boost::asio::io_context& io_;
  GcsKvManager* kv_;
};

class InternalPubSubService
    : public rpc::InternalPubSubGcsService::CallbackService {
 public:
  InternalPubSubService(boost::asio::io_context& io, GcsPubSubManager* pubsub)
      : io_(io), pubsub_(pubsub) {}

  grpc::ServerUnaryReactor* Poll(grpc::CallbackServerContext* context,
                                 const rpc::PollRequest* request,
                                 rpc::PollReply* reply) override;
  grpc::ServerUnaryReactor* Publish(grpc::CallbackServerContext* context,
                                    const rpc::PublishRequest* request,
                                    rpc::PublishReply* reply) override;

 private:
  boost::asio::io_context& io_;
  GcsPubSubManager* pubsub_;
  std::atomic<PollerId> next_poller_id_{1};
};

// Placement groups. A WaitPlacementGroupUntilReady holds its reactor (no
// thread) until the manager answers: the group is CREATED or REMOVED, or
// the timeout passed. CreatePlacementGroup reports bad input and taken
// names in the reply's `error`, not as an RPC failure.
class PlacementGroupInfoService
    : public rpc::PlacementGroupInfoGcsService::CallbackService {
 public:
  PlacementGroupInfoService(boost::asio::io_context& io,
                            GcsPlacementGroupManager* groups)
      : io_(io), groups_(groups) {}

  grpc::ServerUnaryReactor* CreatePlacementGroup(
      grpc::CallbackServerContext* context,
      const rpc::CreatePlacementGroupRequest* request,
      rpc::CreatePlacementGroupReply* reply) override;
  grpc::ServerUnaryReactor* RemovePlacementGroup(
      grpc::CallbackServerContext* context,
      const rpc::RemovePlacementGroupRequest* request,
      rpc::RemovePlacementGroupReply* reply) override;
  grpc::ServerUnaryReactor* GetPlacementGroup(
      grpc::CallbackServerContext* context,
      const rpc::GetPlacementGroupRequest* request,
      rpc::GetPlacementGroupReply* reply) override;
  grpc::ServerUnaryReactor* GetNamedPlacementGroup(
      grpc::CallbackServerContext* context,
      const rpc::GetNamedPlacementGroupRequest* request,
      rpc::GetNamedPlacementGroupReply* reply) override;
  grpc::ServerUnaryReactor* GetAllPlacementGroup(
      grpc::CallbackServerContext* context,
      const rpc::GetAllPlacementGroupRequest* request,
      rpc::GetAllPlacementGroupReply* reply) override;
  grpc::ServerUnaryReactor* WaitPlacementGroupUntilReady(
      grpc::CallbackServerContext* context,
      const rpc::WaitPlacementGroupUntilReadyRequest* request,
      rpc::WaitPlacementGroupUntilReadyReply* reply) override;

 private:
  boost::asio::io_context& io_;
  GcsPlacementGroupManager* groups_;
};

}  // namespace comet::gcs
