// GcsServer: the whole GCS in one object — storage, the table managers,
// pubsub, health checks and the gRPC server — wired together and run on one
// GCS thread. The gcs_server binary's main() builds one from flags; tests
// start one in-process on port 0.
//
// Wiring: the node table's listeners feed the health checker (start/stop
// checking), the resource view (add/drop the node) and the job table
// (finish jobs whose driver ran on a dead node); the health checker reports
// dead nodes back to the node table, which publishes them. Placement groups
// are retried on resource reports, new nodes and a periodic tick, placed
// again when their node dies, and removed when their job finishes. Actors:
// dead nodes fail the actors on them, finished jobs end theirs
// (GcsActorManager). Raylets report worker exits and drivers that went away
// through WorkerInfoGcsService (GcsWorkerManager): a dead driver's job
// finishes, a dead worker's actor fails; the dead workers' ids go back to
// every raylet in its resource report's reply.
//
// Ownership: owns everything above, including the StoreClient.
// Thread model: Start(), Stop() and the destructor are called from one
// owning thread that is not the GCS thread (main(), a test). All GCS state
// lives on the GCS thread (an IoThread); gRPC handler threads only post to
// it (see gcs_grpc_services.h); health-check completions arrive on gRPC
// threads and post too.
#pragma once

#include <grpcpp/server.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "src/comet/common/io_thread.h"
#include "src/comet/common/periodic_timer.h"
#include "src/comet/gcs/gcs_actor_grpc_services.h"
#include "src/comet/gcs/gcs_actor_manager.h"
#include "src/comet/gcs/gcs_actor_scheduler.h"
#include "src/comet/gcs/gcs_grpc_services.h"
#include "src/comet/gcs/gcs_health_check_manager.h"
#include "src/comet/gcs/gcs_job_manager.h"
#include "src/comet/gcs/gcs_kv_manager.h"
#include "src/comet/gcs/gcs_node_manager.h"
#include "src/comet/gcs/gcs_placement_group_manager.h"
#include "src/comet/gcs/gcs_pubsub_manager.h"
#include "src/comet/gcs/gcs_resource_manager.h"
#include "src/comet/gcs/gcs_worker_manager.h"
#include "src/comet/gcs/grpc_bundle_reserver.h"
#include "src/comet/gcs/grpc_core_worker_client_pool.h"
#include "src/comet/gcs/grpc_node_prober.h"
#include "src/comet/gcs/grpc_raylet_client_pool.h"
#include "src/comet/gcs/store_client.h"
#include "src/comet/rpc/cluster_auth.h"
#include "src/comet/rpc/grpc_auth.h"

namespace comet::gcs {

struct GcsServerOptions {
  // Interface to listen on; loopback unless the caller asks otherwise.
  std::string host = "127.0.0.1";
  // 0 lets the OS pick; port() tells which.
  int port = 0;
  // Recorded in the internal KV (namespace "session", key "session_dir")
  // when set, so that processes that only know the GCS address find it.
  std::string session_dir;
  HealthCheckOptions health_check;
  // Pending placement groups are retried this often, besides on every
  // resource change.
  absl::Duration placement_group_retry = absl::Seconds(1);
  // Task rows are written to the store this often (and at stop).
  absl::Duration task_flush_period = absl::Seconds(1);
  // Largest request accepted (KV values carry pickled functions).
  int max_message_bytes = 512 << 20;
  // The token every call must carry (and TLS); LoadClusterAuth() in main.
  rpc::ClusterAuth auth;
};

class GcsServer {
 public:
  static constexpr const char* kSessionNamespace = "session";
  static constexpr const char* kSessionDirKey = "session_dir";

  // With `store` null, tables are kept in memory.
  explicit GcsServer(GcsServerOptions options,
                     std::unique_ptr<StoreClient> store = nullptr);
  ~GcsServer();  // Stop()

  GcsServer(const GcsServer&) = delete;
  GcsServer& operator=(const GcsServer&) = delete;

  // Loads the tables, starts the GCS thread and listens. Unavailable when
  // the address cannot be bound (e.g. the port is taken); nothing is left
  // running on error. Call once.
  absl::Status Start();

  // Answers waiting polls, stops health checks and the gRPC server (calls
  // still running get a short grace period), then the GCS thread.
  // Idempotent.
  void Stop();

  // The bound port (after a successful Start()).
  int port() const { return port_; }
  // "host:port", with brackets for an IPv6 host.
  std::string address() const;

 private:
  // Builds the managers and loads the tables; on the GCS thread.
  absl::Status InitializeOnGcsThread();
  void WireListeners();
  // A reported death: a driver's job finishes; a worker's actor fails.
  void OnWorkerDead(const WorkerFailure& failure);
  absl::Status StartGrpcServer();
  // Destroys what Start() built, after the thread and server stopped.
  void Destroy();

  const GcsServerOptions options_;
  std::unique_ptr<StoreClient> store_;
  IoThread thread_{"gcs_server"};
  int port_ = 0;
  // Calls this GCS refused; and those core workers reported refusing.
  std::shared_ptr<rpc::AuthStats> auth_stats_ = std::make_shared<rpc::AuthStats>();
  std::shared_ptr<rpc::AuthStats> core_workers_auth_stats_ = std::make_shared<rpc::AuthStats>();
  bool started_ = false;

  std::unique_ptr<GcsPubSubManager> pubsub_;
  std::unique_ptr<GcsNodeManager> nodes_;
  std::unique_ptr<GcsJobManager> jobs_;
  std::unique_ptr<GcsKvManager> kv_;
  std::unique_ptr<GcsResourceManager> resources_;
  std::unique_ptr<GcsTaskManager> tasks_;
  std::unique_ptr<GcsWorkerManager> workers_;
  std::unique_ptr<GrpcNodeProber> prober_;
  std::unique_ptr<GcsHealthCheckManager> health_;
  std::unique_ptr<GrpcBundleReserver> bundle_reserver_;
  std::unique_ptr<GcsPlacementGroupManager> placement_groups_;
  std::unique_ptr<PeriodicTimer> placement_group_retry_;
  std::unique_ptr<PeriodicTimer> task_flush_;
  std::unique_ptr<GrpcRayletClientPool> raylet_clients_;
  std::unique_ptr<GrpcCoreWorkerClientPool> worker_clients_;
  std::unique_ptr<GcsActorScheduler> actor_scheduler_;
  std::unique_ptr<GcsActorManager> actors_;

  std::unique_ptr<NodeInfoService> node_service_;
  std::unique_ptr<NodeResourceInfoService> resource_service_;
  std::unique_ptr<JobInfoService> job_service_;
  std::unique_ptr<InternalKVService> kv_service_;
  std::unique_ptr<InternalPubSubService> pubsub_service_;
  std::unique_ptr<PlacementGroupInfoService> placement_group_service_;
  std::unique_ptr<ActorInfoService> actor_service_;
  std::unique_ptr<WorkerInfoService> worker_service_;
  std::unique_ptr<TaskInfoService> task_service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace comet::gcs
