#include "src/comet/gcs/gcs_grpc_services.h"

#include <boost/asio/post.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "src/comet/common/status_macros.h"

namespace comet::gcs {
namespace {

// A Poll's reactor: a client that cancels a waiting poll has it answered
// (empty) at once instead of at its timeout. Deletes itself when done.
class PollReactor : public grpc::ServerUnaryReactor {
 public:
  PollReactor(boost::asio::io_context& io, GcsPubSubManager* pubsub,
              PollerId id)
      : io_(io), pubsub_(pubsub), id_(id) {}

  void OnCancel() override {
    boost::asio::post(io_,
                      [pubsub = pubsub_, id = id_] { pubsub->Cancel(id); });
  }
  void OnDone() override { delete this; }

 private:
  boost::asio::io_context& io_;
  GcsPubSubManager* pubsub_;
  const PollerId id_;
};

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

// --- NodeInfoGcsService ---

grpc::ServerUnaryReactor* NodeInfoService::RegisterNode(
    grpc::CallbackServerContext* context,
    const rpc::RegisterNodeRequest* request, rpc::RegisterNodeReply* reply) {
  return OnGcsThread(io_, context, [this, request] {
    return nodes_->RegisterNode(request->node_info());
  });
}

grpc::ServerUnaryReactor* NodeInfoService::UnregisterNode(
    grpc::CallbackServerContext* context,
    const rpc::UnregisterNodeRequest* request,
    rpc::UnregisterNodeReply* reply) {
  return OnGcsThread(io_, context, [this, request]() -> absl::Status {
    absl::StatusOr<NodeID> id = NodeID::FromBinary(request->node_id());
    if (!id.ok()) return id.status();
    return nodes_->UnregisterNode(*id, request->reason());
  });
}

grpc::ServerUnaryReactor* NodeInfoService::GetAllNodeInfo(
    grpc::CallbackServerContext* context,
    const rpc::GetAllNodeInfoRequest* request,
    rpc::GetAllNodeInfoReply* reply) {
  return OnGcsThread(io_, context, [this, reply] {
    for (rpc::NodeInfo& node : nodes_->GetAllNodes()) {
      *reply->add_node_info_list() = std::move(node);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* NodeInfoService::GetAuthStats(
    grpc::CallbackServerContext* context,
    const rpc::GetAuthStatsRequest* /*request*/,
    rpc::GetAuthStatsReply* reply) {
  reply->set_gcs_refused(gcs_refused_->refused.load(std::memory_order_relaxed));
  reply->set_core_workers_refused(core_workers_refused_->refused.load(std::memory_order_relaxed));
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

// --- NodeResourceInfoGcsService ---

grpc::ServerUnaryReactor* NodeResourceInfoService::ReportResourceUsage(
    grpc::CallbackServerContext* context,
    const rpc::ReportResourceUsageRequest* request,
    rpc::ReportResourceUsageReply* reply) {
  return OnGcsThread(io_, context, [this, request, reply] {
    RETURN_IF_ERROR(resources_->ReportResourceUsage(*request));
    for (rpc::NodeResources& node : resources_->GetAllResourceUsage()) {
      *reply->add_cluster() = std::move(node);
    }
    workers_->FillDeadWorkers(request->dead_workers_after(), reply);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* NodeResourceInfoService::GetAllResourceUsage(
    grpc::CallbackServerContext* context,
    const rpc::GetAllResourceUsageRequest* request,
    rpc::GetAllResourceUsageReply* reply) {
  return OnGcsThread(io_, context, [this, reply] {
    for (rpc::NodeResources& node : resources_->GetAllResourceUsage()) {
      *reply->add_nodes() = std::move(node);
    }
    return absl::OkStatus();
  });
}

// --- WorkerInfoGcsService ---

grpc::ServerUnaryReactor* WorkerInfoService::ReportWorkerFailure(
    grpc::CallbackServerContext* context,
    const rpc::ReportWorkerFailureRequest* request,
    rpc::ReportWorkerFailureReply* reply) {
  return OnGcsThread(io_, context, [this, request] {
    return workers_->ReportWorkerFailure(*request);
  });
}

// --- TaskInfoGcsService ---

grpc::ServerUnaryReactor* TaskInfoService::AddTaskEventData(
    grpc::CallbackServerContext* context,
    const rpc::AddTaskEventDataRequest* request,
    rpc::AddTaskEventDataReply* reply) {
  if (request->num_unauthenticated() > 0) {
    core_workers_refused_->refused.fetch_add(request->num_unauthenticated(),
                                             std::memory_order_relaxed);
  }
  return OnGcsThread(io_, context, [this, request] {
    tasks_->AddEvents(*request);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TaskInfoService::GetTaskEvents(
    grpc::CallbackServerContext* context,
    const rpc::GetTaskEventsRequest* request,
    rpc::GetTaskEventsReply* reply) {
  return OnGcsThread(io_, context, [this, request, reply] {
    if (request->counts_only()) {
      for (const auto& [state, count] : tasks_->CountByState(request->job_id())) {
        (*reply->mutable_count_by_state())[state] = count;
      }
    } else {
      for (rpc::TaskRow& row : tasks_->GetRows(request->job_id(), request->limit())) {
        *reply->add_tasks() = std::move(row);
      }
    }
    reply->set_num_dropped(tasks_->num_dropped());
    return absl::OkStatus();
  });
}

// --- JobInfoGcsService ---

grpc::ServerUnaryReactor* JobInfoService::GetNextJobID(
    grpc::CallbackServerContext* context,
    const rpc::GetNextJobIDRequest* request, rpc::GetNextJobIDReply* reply) {
  return OnGcsThread(io_, context, [this, reply]() -> absl::Status {
    absl::StatusOr<JobID> id = jobs_->NextJobId();
    if (!id.ok()) return id.status();
    reply->set_job_id(id->Binary());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* JobInfoService::AddJob(
    grpc::CallbackServerContext* context, const rpc::AddJobRequest* request,
    rpc::AddJobReply* reply) {
  return OnGcsThread(io_, context, [this, request] {
    return jobs_->AddJob(request->job_info());
  });
}

grpc::ServerUnaryReactor* JobInfoService::MarkJobFinished(
    grpc::CallbackServerContext* context,
    const rpc::MarkJobFinishedRequest* request,
    rpc::MarkJobFinishedReply* reply) {
  return OnGcsThread(io_, context, [this, request]() -> absl::Status {
    absl::StatusOr<JobID> id = JobID::FromBinary(request->job_id());
    if (!id.ok()) return id.status();
    return jobs_->MarkJobFinished(*id);
  });
}

grpc::ServerUnaryReactor* JobInfoService::GetAllJobInfo(
    grpc::CallbackServerContext* context,
    const rpc::GetAllJobInfoRequest* request, rpc::GetAllJobInfoReply* reply) {
  return OnGcsThread(io_, context, [this, reply] {
    for (rpc::JobInfo& job : jobs_->GetAllJobs()) {
      *reply->add_job_info_list() = std::move(job);
    }
    return absl::OkStatus();
  });
}

// --- InternalKVGcsService ---

grpc::ServerUnaryReactor* InternalKVService::InternalKVGet(
    grpc::CallbackServerContext* context, const rpc::KVGetRequest* request,
    rpc::KVGetReply* reply) {
  return OnGcsThread(io_, context, [this, request, reply]() -> absl::Status {
    absl::StatusOr<std::optional<std::string>> value =
        kv_->Get(request->ns(), request->key());
    if (!value.ok()) return value.status();
    reply->set_found(value->has_value());
    if (value->has_value()) reply->set_value(**std::move(value));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* InternalKVService::InternalKVPut(
    grpc::CallbackServerContext* context, const rpc::KVPutRequest* request,
    rpc::KVPutReply* reply) {
  return OnGcsThread(io_, context, [this, request, reply]() -> absl::Status {
    absl::StatusOr<bool> added = kv_->Put(
        request->ns(), request->key(), request->value(), request->overwrite());
    if (!added.ok()) return added.status();
    reply->set_added(*added);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* InternalKVService::InternalKVDel(
    grpc::CallbackServerContext* context, const rpc::KVDelRequest* request,
    rpc::KVDelReply* reply) {
  return OnGcsThread(io_, context, [this, request, reply]() -> absl::Status {
    absl::StatusOr<int64_t> deleted =
        kv_->Del(request->ns(), request->key(), request->by_prefix());
    if (!deleted.ok()) return deleted.status();
    reply->set_deleted(*deleted);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* InternalKVService::InternalKVKeys(
    grpc::CallbackServerContext* context, const rpc::KVKeysRequest* request,
    rpc::KVKeysReply* reply) {
  return OnGcsThread(io_, context, [this, request, reply]() -> absl::Status {
    absl::StatusOr<std::vector<std::string>> keys =
        kv_->Keys(request->ns(), request->prefix());
    if (!keys.ok()) return keys.status();
    for (std::string& key : *keys) reply->add_keys(std::move(key));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* InternalKVService::InternalKVExists(
    grpc::CallbackServerContext* context, const rpc::KVExistsRequest* request,
    rpc::KVExistsReply* reply) {
  return OnGcsThread(io_, context, [this, request, reply]() -> absl::Status {
    absl::StatusOr<bool> exists = kv_->Exists(request->ns(), request->key());
    if (!exists.ok()) return exists.status();
    reply->set_exists(*exists);
    return absl::OkStatus();
  });
}

// --- InternalPubSubGcsService ---

grpc::ServerUnaryReactor* InternalPubSubService::Poll(
    grpc::CallbackServerContext* context, const rpc::PollRequest* request,
    rpc::PollReply* reply) {
  absl::Status valid = GcsPubSubManager::CheckRequest(*request);
  if (!valid.ok()) {
    auto* refused = context->DefaultReactor();
    refused->Finish(ToGrpcStatus(valid));
    return refused;
  }
  PollerId id = next_poller_id_.fetch_add(1, std::memory_order_relaxed);
  auto* reactor = new PollReactor(io_, pubsub_, id);
  boost::asio::post(io_, [this, id, request, reply, reactor] {
    pubsub_->Poll(id, *request, [reply, reactor](rpc::PollReply answer) {
      *reply = std::move(answer);
      reactor->Finish(grpc::Status::OK);
    });
  });
  return reactor;
}

grpc::ServerUnaryReactor* InternalPubSubService::Publish(
    grpc::CallbackServerContext* context, const rpc::PublishRequest* request,
    rpc::PublishReply* reply) {
  return OnGcsThread(io_, context, [this, request, reply] {
    reply->set_sequence(pubsub_->Publish(request->message()));
    return absl::OkStatus();
  });
}

// --- PlacementGroupInfoGcsService ---

grpc::ServerUnaryReactor* PlacementGroupInfoService::CreatePlacementGroup(
    grpc::CallbackServerContext* context,
    const rpc::CreatePlacementGroupRequest* request,
    rpc::CreatePlacementGroupReply* reply) {
  return OnGcsThread(io_, context, [this, request, reply]() -> absl::Status {
    absl::Status status =
        groups_->CreatePlacementGroup(request->placement_group());
    if (absl::IsInvalidArgument(status) || absl::IsAlreadyExists(status)) {
      reply->set_error(std::string(status.message()));
      return absl::OkStatus();
    }
    return status;
  });
}

grpc::ServerUnaryReactor* PlacementGroupInfoService::RemovePlacementGroup(
    grpc::CallbackServerContext* context,
    const rpc::RemovePlacementGroupRequest* request,
    rpc::RemovePlacementGroupReply* reply) {
  return OnGcsThread(io_, context, [this, request, reply]() -> absl::Status {
    absl::StatusOr<PlacementGroupID> id =
        PlacementGroupID::FromBinary(request->placement_group_id());
    if (!id.ok()) return id.status();
    reply->set_found(groups_->RemovePlacementGroup(*id));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PlacementGroupInfoService::GetPlacementGroup(
    grpc::CallbackServerContext* context,
    const rpc::GetPlacementGroupRequest* request,
    rpc::GetPlacementGroupReply* reply) {
  return OnGcsThread(io_, context, [this, request, reply]() -> absl::Status {
    absl::StatusOr<PlacementGroupID> id =
        PlacementGroupID::FromBinary(request->placement_group_id());
    if (!id.ok()) return id.status();
    const rpc::PlacementGroupTableData* group = groups_->Get(*id);
    reply->set_found(group != nullptr);
    if (group != nullptr) *reply->mutable_placement_group() = *group;
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PlacementGroupInfoService::GetNamedPlacementGroup(
    grpc::CallbackServerContext* context,
    const rpc::GetNamedPlacementGroupRequest* request,
    rpc::GetNamedPlacementGroupReply* reply) {
  return OnGcsThread(io_, context, [this, request, reply] {
    const rpc::PlacementGroupTableData* group =
        groups_->GetNamed(request->name(), request->ray_namespace());
    reply->set_found(group != nullptr);
    if (group != nullptr) *reply->mutable_placement_group() = *group;
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PlacementGroupInfoService::GetAllPlacementGroup(
    grpc::CallbackServerContext* context,
    const rpc::GetAllPlacementGroupRequest* request,
    rpc::GetAllPlacementGroupReply* reply) {
  return OnGcsThread(io_, context, [this, reply] {
    for (rpc::PlacementGroupTableData& group : groups_->GetAll()) {
      *reply->add_placement_groups() = std::move(group);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor*
PlacementGroupInfoService::WaitPlacementGroupUntilReady(
    grpc::CallbackServerContext* context,
    const rpc::WaitPlacementGroupUntilReadyRequest* request,
    rpc::WaitPlacementGroupUntilReadyReply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  boost::asio::post(io_, [this, request, reply, reactor] {
    absl::StatusOr<PlacementGroupID> id =
        PlacementGroupID::FromBinary(request->placement_group_id());
    absl::Status status = id.status();
    if (status.ok()) {
      status = groups_->WaitUntilReady(
          *id, request->timeout_ms(),
          [reply, reactor](rpc::WaitPlacementGroupUntilReadyReply answer) {
            *reply = std::move(answer);
            reactor->Finish(grpc::Status::OK);
          });
    }
    if (!status.ok()) reactor->Finish(ToGrpcStatus(status));
  });
  return reactor;
}

}  // namespace comet::gcs
