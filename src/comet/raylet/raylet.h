// Raylet: one node's daemon, put together — the embedded plasma store (its
// own thread), the NodeManager on one io thread, the gRPC server with the
// NodeManagerService, and the node's registration with the GCS.
//
// Start() brings it up in order (plasma, object manager, io thread, server,
// RegisterNode, workers and reports) and undoes what it did on failure;
// Stop() takes it down in reverse: queued leases rejected, pulls failed,
// server shut down, UnregisterNode, workers terminated, plasma stopped (its
// socket unlinked).
//
// Ownership: owns everything above. Thread model: Start/Stop and the
// accessors are for the owner's thread; the work happens on the io thread,
// gRPC's threads and the plasma thread.
#pragma once

#include <grpcpp/server.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "src/comet/common/id.h"
#include "src/comet/common/io_thread.h"
#include "src/comet/common/metrics_server.h"
#include "src/comet/common/periodic_timer.h"
#include "src/comet/object_manager/object_manager.h"
#include "src/comet/object_manager/object_manager_service.h"
#include "src/comet/object_manager/plasma/store_runner.h"
#include "src/comet/raylet/gcs_client.h"
#include "src/comet/raylet/log_monitor.h"
#include "src/comet/raylet/memory_monitor.h"
#include "src/comet/raylet/node_hardware.h"
#include "src/comet/raylet/node_manager.h"
#include "src/comet/raylet/node_manager_service.h"
#include "src/comet/raylet/user_metrics.h"
#include "src/comet/rpc/cluster_auth.h"
#include "src/comet/rpc/grpc_auth.h"

namespace comet::raylet {

// Prefix of the resource that names this node by id ("node_id:<hex>").
inline constexpr const char* kNodeIdResourcePrefix = "node_id:";

struct RayletOptions {
  NodeID node_id;
  std::string host = "127.0.0.1";
  int port = 0;  // 0: the OS picks.
  int metrics_port = 0;  // Prometheus endpoint; 0: the OS picks.
  std::string gcs_address;
  std::string node_name;
  std::string session_dir;
  // Workers' stdout/stderr files; streamed to their jobs' drivers too.
  std::string log_dir;
  // Plasma: socket_path and capacity at least.
  plasma::PlasmaStoreOptions plasma;
  // CPU, GPU, memory and custom resources; the raylet adds
  // object_store_memory (the plasma capacity), node:<host> = 1 and
  // node_id:<node id hex> = 1 (what NodeAffinitySchedulingStrategy asks
  // for: 0.001 of it pins a task to this node).
  ResourceSet resources;
  size_t prestart_workers = 0;
  WorkerPoolOptions pool;
  LeaseManagerOptions lease;
  ResourceReporterOptions report;
  ClusterViewOptions cluster;
  ObjectManagerOptions objects;  // node_id, socket and capacity are filled in.
  absl::Duration gcs_register_timeout = absl::Seconds(30);
  // Worker-exit reports wait this long for a restarting GCS
  // (gcs_rpc_server_reconnect_timeout_s).
  absl::Duration gcs_reconnect_timeout = absl::Seconds(60);
  // How often the machine's CPU, memory, disk and network and the workers'
  // CPU and RSS are read (GetNodeStats, /metrics).
  absl::Duration hardware_sample_period = absl::Seconds(1);
  // The memory monitor's sampling period (zero: off) and threshold.
  absl::Duration memory_monitor_refresh = absl::Milliseconds(250);
  double memory_usage_threshold = 0.95;
  // Checked on every gRPC call; passed to workers in their environment.
  rpc::ClusterAuth auth;
  // /metrics without the token (config metrics_auth=none).
  bool metrics_open = false;
  int max_request_bytes = 64 << 20;
  // The raylet's whole config table (Config::ToMap()), given to every worker
  // as COMET_<name> variables so that workers run with the node's settings.
  std::map<std::string, std::string> worker_config;
  absl::Duration shutdown_grace = absl::Seconds(2);
  // Interpreter for workers (ChildProcessSpawner).
  std::string python = "python3";
  // Empty: a ChildProcessSpawner running WorkerCommandLine(). Tests fake it.
  SpawnerFactory spawner_factory;
};

// What a worker is started with:
//   <python> -m comet._private.worker_main --node-id=HEX --worker-id=HEX
//     --raylet-address=HOST:PORT --gcs-address=HOST:PORT
//     --plasma-socket=PATH --session-dir=DIR --log-dir=DIR --node-ip=HOST
std::vector<std::string> WorkerCommandLine(const RayletOptions& options,
                                           const std::string& raylet_address,
                                           const WorkerID& worker_id);

class Raylet {
 public:
  static absl::StatusOr<std::unique_ptr<Raylet>> Start(RayletOptions options);
  ~Raylet();  // Stop()

  // Idempotent.
  void Stop();

  const std::string& address() const { return address_; }
  int port() const { return port_; }
  int metrics_port() const { return metrics_ ? metrics_->port() : 0; }
  const NodeID& node_id() const { return options_.node_id; }
  const ResourceSet& total_resources() const { return total_; }

 private:
  explicit Raylet(RayletOptions options);
  absl::Status StartServing();
  // Streams workers' output to drivers (LogMonitor); a node whose log
  // folder cannot be watched runs without it, and says so in its log.
  void StartLogMonitor();
  rpc::NodeInfo MakeNodeInfo() const;
  // The Prometheus text of /metrics (on the io thread).
  std::string RenderMetrics() const;
  // Reads the node's and its workers' hardware figures (on the io thread).
  void SampleHardware();
  // GetNodeStats' hardware part and the workers' CPU and RSS.
  void FillHardware(rpc::GetNodeStatsReply* reply) const;

  RayletOptions options_;
  ResourceSet total_;
  std::string address_;
  int port_ = 0;
  std::shared_ptr<rpc::AuthStats> auth_stats_ = std::make_shared<rpc::AuthStats>();
  bool registered_ = false;
  std::unique_ptr<plasma::PlasmaStoreRunner> plasma_;
  std::unique_ptr<ObjectManager> objects_;
  std::unique_ptr<ObjectManagerGrpcService> object_service_;
  std::unique_ptr<GcsClient> gcs_;
  IoThread io_{"raylet_io"};
  // Created and destroyed on the io thread.
  std::unique_ptr<NodeManager> node_manager_;
  // Created and destroyed on the io thread; nullptr without a log dir.
  std::unique_ptr<LogMonitor> log_monitor_;
  std::unique_ptr<NodeManagerService> service_;
  std::unique_ptr<grpc::Server> server_;
  // Created and destroyed on the io thread.
  std::unique_ptr<MetricsServer> metrics_;
  // Fed and read on the io thread, by the timer (made and dropped there).
  HardwareMonitor hardware_{sysconf(_SC_CLK_TCK)};
  std::unique_ptr<PeriodicTimer> hardware_timer_;
  // Kills a worker when the node runs low on memory (on the io thread).
  void CheckMemory();
  MemoryMonitor memory_monitor_;
  std::unique_ptr<PeriodicTimer> memory_timer_;
  // Workers' and drivers' comet.util.metrics (io thread); expired by the
  // same timer.
  UserMetrics user_metrics_;
};

}  // namespace comet::raylet
