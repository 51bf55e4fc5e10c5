#include "src/comet/gcs/gcs_server.h"

#include <grpcpp/grpcpp.h>

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "src/comet/common/logging.h"
#include "src/comet/common/status_macros.h"
#include "src/comet/gcs/in_memory_store_client.h"

namespace comet::gcs {
namespace {

// How long calls still running at Stop() may take before they are cancelled.
// How long Stop() lets calls in flight finish. Handlers are short (they run on
// the io thread), but the server also waits for its clients' connections to
// close on its GOAWAY, and an idle synchronous client only notices that when
// something polls its channel: a longer grace would add that much to every
// stop (it was 2 s per daemon).
constexpr auto kShutdownGrace = std::chrono::milliseconds(300);

std::string JoinHostPort(const std::string& host, int port) {
  if (absl::StrContains(host, ':') && !absl::StartsWith(host, "[")) {
    return absl::StrCat("[", host, "]:", port);
  }
  return absl::StrCat(host, ":", port);
}

// A RunAfterFn on `io`: each call arms a timer that owns itself until it
// fires (or until the io_context, stopped, is destroyed with it pending).
RunAfterFn RunAfterOn(boost::asio::io_context& io) {
  return [&io](absl::Duration delay, std::function<void()> callback) {
    auto timer = std::make_shared<boost::asio::steady_timer>(
        io, absl::ToChronoNanoseconds(delay));
    timer->async_wait([timer, callback = std::move(callback)](
                          const boost::system::error_code& error) {
      if (!error) callback();
    });
  };
}

}  // namespace

GcsServer::GcsServer(GcsServerOptions options,
                     std::unique_ptr<StoreClient> store)
    : options_(std::move(options)), store_(std::move(store)) {
  if (store_ == nullptr) store_ = std::make_unique<InMemoryStoreClient>();
}

GcsServer::~GcsServer() { Stop(); }

std::string GcsServer::address() const {
  return JoinHostPort(options_.host, port_);
}

absl::Status GcsServer::Start() {
  if (started_)
    return absl::FailedPreconditionError("GcsServer already started");
  started_ = true;
  thread_.Start();
  absl::Status status =
      thread_.RunSync([this] { return InitializeOnGcsThread(); });
  if (status.ok()) status = StartGrpcServer();
  if (!status.ok()) {
    Stop();
    return status;
  }
  COMET_LOG(INFO) << "GCS serving on " << address();
  return absl::OkStatus();
}

absl::Status GcsServer::InitializeOnGcsThread() {
  boost::asio::io_context& io = thread_.io_context();
  pubsub_ = std::make_unique<GcsPubSubManager>(io);
  nodes_ = std::make_unique<GcsNodeManager>(store_.get(), pubsub_.get());
  jobs_ = std::make_unique<GcsJobManager>(store_.get(), pubsub_.get());
  kv_ = std::make_unique<GcsKvManager>(store_.get());
  resources_ = std::make_unique<GcsResourceManager>();
  tasks_ = std::make_unique<GcsTaskManager>(GcsTaskManager().max_rows(), store_.get());
  workers_ = std::make_unique<GcsWorkerManager>(GcsWorkerManagerOptions(), store_.get());
  prober_ = std::make_unique<GrpcNodeProber>(io, options_.auth);
  health_ = std::make_unique<GcsHealthCheckManager>(
      io, prober_.get(), options_.health_check,
      [this](const NodeID& node_id, std::string reason) {
        absl::Status status = nodes_->MarkNodeDead(node_id, std::move(reason));
        if (!status.ok()) {
          COMET_LOG(ERROR) << "cannot mark node " << node_id
                           << " dead: " << status;
        }
      });
  raylet_clients_ = std::make_unique<GrpcRayletClientPool>(io, options_.auth);
  worker_clients_ = std::make_unique<GrpcCoreWorkerClientPool>(io, options_.auth);
  actor_scheduler_ = std::make_unique<GcsActorScheduler>(
      nodes_.get(), resources_.get(), raylet_clients_.get(),
      worker_clients_.get(), RunAfterOn(io), GcsActorSchedulerOptions());
  actors_ = std::make_unique<GcsActorManager>(
      store_.get(), pubsub_.get(), actor_scheduler_.get(), RunAfterOn(io));
  bundle_reserver_ = std::make_unique<GrpcBundleReserver>(
      io, options_.auth, [this](const NodeID& id) { return nodes_->GetAliveNode(id); });
  placement_groups_ = std::make_unique<GcsPlacementGroupManager>(
      io, store_.get(), pubsub_.get(), resources_.get(),
      bundle_reserver_.get());
  placement_group_retry_ = std::make_unique<PeriodicTimer>(
      io, options_.placement_group_retry,
      [this] { placement_groups_->OnResourcesChanged(); });
  WireListeners();
  RETURN_IF_ERROR(jobs_->Initialize());
  RETURN_IF_ERROR(nodes_->Initialize());
  RETURN_IF_ERROR(placement_groups_->Initialize());
  placement_group_retry_->Start();
  RETURN_IF_ERROR(actors_->Initialize());
  RETURN_IF_ERROR(workers_->Initialize());
  RETURN_IF_ERROR(tasks_->Initialize());
  task_flush_ = std::make_unique<PeriodicTimer>(io, options_.task_flush_period, [this] {
    absl::Status flushed = tasks_->Flush();
    if (!flushed.ok()) COMET_LOG(WARNING) << "cannot store task rows: " << flushed;
  });
  task_flush_->Start();
  if (!options_.session_dir.empty()) {
    RETURN_IF_ERROR(kv_->Put(kSessionNamespace, kSessionDirKey,
                             options_.session_dir, /*overwrite=*/true)
                        .status());
  }
  return absl::OkStatus();
}

void GcsServer::WireListeners() {
  resources_->AddReportListener(
      [this](const NodeID&) { placement_groups_->OnResourcesChanged(); });
  jobs_->AddJobFinishedListener(
      [this](const JobID& id) { placement_groups_->OnJobFinished(id); });
  nodes_->AddNodeAddedListener([this](const rpc::NodeInfo& node) {
    health_->AddNode(node);
    resources_->OnNodeAdded(node);
    placement_groups_->OnResourcesChanged();
    actor_scheduler_->OnNodeAdded();
  });
  nodes_->AddNodeRemovedListener([this](const rpc::NodeInfo& node) {
    NodeID id = *NodeID::FromBinary(node.node_id());
    health_->RemoveNode(id);
    resources_->OnNodeRemoved(id);
    bundle_reserver_->Forget(id);
    placement_groups_->OnNodeRemoved(id);
    jobs_->OnNodeDead(id);
    actors_->OnNodeDead(id, node.death_reason());
  });
  jobs_->AddJobFinishedListener(
      [this](const JobID& job_id) { actors_->OnJobFinished(job_id); });
  workers_->AddWorkerDeadListener(
      [this](const WorkerFailure& failure) { OnWorkerDead(failure); });
}

void GcsServer::OnWorkerDead(const WorkerFailure& failure) {
  if (failure.is_driver()) {
    // Already finished when the driver shut down cleanly: a no-op then.
    absl::Status status = jobs_->MarkJobFinished(failure.driver_job_id);
    if (!status.ok()) {
      COMET_LOG(WARNING) << "cannot finish job " << failure.driver_job_id
                         << " of a dead driver: " << status;
    }
  }
  actors_->OnWorkerDead(failure.worker_id, failure.node_id,
                        failure.exit_detail, failure.intentional);
}

absl::Status GcsServer::StartGrpcServer() {
  boost::asio::io_context& io = thread_.io_context();
  node_service_ = std::make_unique<NodeInfoService>(io, nodes_.get(), auth_stats_,
                                                    core_workers_auth_stats_);
  resource_service_ = std::make_unique<NodeResourceInfoService>(
      io, resources_.get(), workers_.get());
  job_service_ = std::make_unique<JobInfoService>(io, jobs_.get());
  kv_service_ = std::make_unique<InternalKVService>(io, kv_.get());
  pubsub_service_ = std::make_unique<InternalPubSubService>(io, pubsub_.get());
  placement_group_service_ =
      std::make_unique<PlacementGroupInfoService>(io, placement_groups_.get());
  actor_service_ = std::make_unique<ActorInfoService>(io, actors_.get());
  worker_service_ = std::make_unique<WorkerInfoService>(io, workers_.get());
  task_service_ =
      std::make_unique<TaskInfoService>(io, tasks_.get(), core_workers_auth_stats_);

  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default, which would let a second GCS share a
  // taken port silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
  builder.SetMaxSendMessageSize(options_.max_message_bytes);
  std::string listen = JoinHostPort(options_.host, options_.port);
  RETURN_IF_ERROR(rpc::AddListeningPort(&builder, options_.host, options_.port, options_.auth,
                                        auth_stats_, &port_));
  builder.RegisterService(node_service_.get());
  builder.RegisterService(resource_service_.get());
  builder.RegisterService(job_service_.get());
  builder.RegisterService(kv_service_.get());
  builder.RegisterService(pubsub_service_.get());
  builder.RegisterService(placement_group_service_.get());
  builder.RegisterService(actor_service_.get());
  builder.RegisterService(worker_service_.get());
  builder.RegisterService(task_service_.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    port_ = 0;
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", listen,
                     ": the port is in use or the address is not available"));
  }
  return absl::OkStatus();
}

void GcsServer::Stop() {
  if (!started_) return;
  started_ = false;
  if (thread_.IsRunning()) {
    thread_.RunSync([this] {
      if (pubsub_) pubsub_->Shutdown();
      if (health_) health_->Stop();
      if (placement_group_retry_) placement_group_retry_->Cancel();
      if (task_flush_) task_flush_->Cancel();
      if (tasks_) {
        absl::Status flushed = tasks_->Flush();
        if (!flushed.ok()) COMET_LOG(WARNING) << "cannot store task rows: " << flushed;
      }
      if (placement_groups_) placement_groups_->Shutdown();
      if (actors_) actors_->Shutdown();
    });
  }
  if (prober_) prober_->Shutdown();
  if (bundle_reserver_) bundle_reserver_->Shutdown();
  if (raylet_clients_) raylet_clients_->Shutdown();
  if (worker_clients_) worker_clients_->Shutdown();
  if (server_)
    server_->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  thread_.Stop();
  Destroy();
  COMET_LOG(INFO) << "GCS stopped";
}

void GcsServer::Destroy() {
  server_.reset();
  worker_service_.reset();
  task_service_.reset();
  actor_service_.reset();
  placement_group_service_.reset();
  pubsub_service_.reset();
  kv_service_.reset();
  job_service_.reset();
  resource_service_.reset();
  node_service_.reset();
  actors_.reset();
  actor_scheduler_.reset();
  worker_clients_.reset();
  raylet_clients_.reset();
  placement_group_retry_.reset();
  task_flush_.reset();
  placement_groups_.reset();
  bundle_reserver_.reset();
  health_.reset();
  prober_.reset();
  resources_.reset();
  tasks_.reset();
  workers_.reset();
  kv_.reset();
  jobs_.reset();
  nodes_.reset();
  pubsub_.reset();
}

}  // namespace comet::gcs
