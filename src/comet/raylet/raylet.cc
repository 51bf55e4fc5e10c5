#include "src/comet/raylet/raylet.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/str_cat.h"
#include "src/comet/common/logging.h"
#include "src/comet/common/status_macros.h"
#include "src/comet/raylet/child_process_spawner.h"
#include "src/comet/raylet/log_monitor.h"

namespace comet::raylet {

std::vector<std::string> WorkerCommandLine(const RayletOptions& options,
                                           const std::string& raylet_address,
                                           const WorkerID& worker_id) {
  return {
      options.python,
      "-m",
      "comet._private.worker_main",
      absl::StrCat("--node-id=", options.node_id.Hex()),
      absl::StrCat("--worker-id=", worker_id.Hex()),
      absl::StrCat("--raylet-address=", raylet_address),
      absl::StrCat("--gcs-address=", options.gcs_address),
      absl::StrCat("--plasma-socket=", options.plasma.socket_path),
      absl::StrCat("--session-dir=", options.session_dir),
      absl::StrCat("--log-dir=", options.log_dir),
      absl::StrCat("--node-ip=", options.host),
  };
}

Raylet::Raylet(RayletOptions options)
    : options_(std::move(options)), memory_monitor_(options_.memory_usage_threshold) {}

Raylet::~Raylet() { Stop(); }

absl::StatusOr<std::unique_ptr<Raylet>> Raylet::Start(RayletOptions options) {
  if (options.gcs_address.empty()) {
    return absl::InvalidArgumentError("a GCS address is required");
  }
  std::unique_ptr<Raylet> raylet(new Raylet(std::move(options)));
  absl::Status status = raylet->StartServing();
  if (!status.ok()) {
    raylet->Stop();
    return status;
  }
  return raylet;
}

absl::Status Raylet::StartServing() {
  ASSIGN_OR_RETURN(plasma_, plasma::PlasmaStoreRunner::Start(options_.plasma));
  total_ = options_.resources;
  total_.SetFixed("object_store_memory",
                  static_cast<int64_t>(plasma_->capacity()) * kResourceUnit);
  total_.SetFixed(absl::StrCat("node:", options_.host), kResourceUnit);
  total_.SetFixed(absl::StrCat(kNodeIdResourcePrefix, options_.node_id.Hex()),
                  kResourceUnit);

  ObjectManagerOptions objects = options_.objects;
  objects.node_id = options_.node_id;
  objects.plasma_socket = options_.plasma.socket_path;
  objects.store_capacity = plasma_->capacity();
  objects.auth = options_.auth;
  ASSIGN_OR_RETURN(objects_, ObjectManager::Create(std::move(objects)));
  object_service_ = std::make_unique<ObjectManagerGrpcService>(objects_.get());

  gcs_ = std::make_unique<GcsClient>(options_.gcs_address, options_.auth,
                                     options_.gcs_reconnect_timeout);
  NodeManagerOptions manager;
  manager.node_id = options_.node_id;
  manager.host = options_.host;
  manager.total_resources = total_;
  manager.prestart_workers = options_.prestart_workers;
  manager.pool = options_.pool;
  manager.lease = options_.lease;
  manager.report = options_.report;
  manager.cluster = options_.cluster;
  manager.fill_object_store_stats = [plasma = plasma_.get(),
                                     objects = objects_.get()](rpc::ObjectStoreStats* out) {
    plasma::StoreStats stats = plasma->stats();
    out->set_capacity_bytes(stats.capacity);
    out->set_used_bytes(stats.used_bytes);
    out->set_fallback_bytes(stats.fallback_bytes);
    out->set_num_objects(stats.num_objects);
    out->set_num_evictions(stats.num_evictions);
    out->set_bytes_spilled_total(stats.bytes_spilled);
    out->set_num_objects_spilled_total(stats.num_objects_spilled);
    out->set_bytes_restored_total(stats.bytes_restored);
    out->set_num_objects_restored_total(stats.num_objects_restored);
    out->set_spilled_bytes_on_disk(stats.spill_bytes_on_disk);
    out->set_num_spilled_objects(stats.num_spilled_objects);
    out->set_num_pulled_total(objects->num_pulled());
    out->set_bytes_pulled_total(objects->bytes_pulled());
  };
  manager.fill_hardware = [this](rpc::GetNodeStatsReply* reply) { FillHardware(reply); };
  manager.on_metrics_report = [this](const rpc::ReportMetricsRequest& request) {
    return user_metrics_.Report(request, absl::Now());
  };
  manager.on_node_addresses =
      [objects = objects_.get()](absl::flat_hash_map<NodeID, std::string> addresses) {
        objects->SetNodeAddresses(std::move(addresses));
      };
  manager.on_worker_exit = [this](const WorkerInfo& worker) {
    user_metrics_.Forget(worker.worker_id);
    memory_monitor_.OnWorkerExited(worker.worker_id);
    if (log_monitor_) {
      log_monitor_->OnWorkerExit(worker.worker_id,
                                 WorkerLogSource{worker.job_id, worker.pid});
    }
  };
  SpawnerFactory factory = options_.spawner_factory;
  if (!factory) {
    factory = [options = options_](boost::asio::io_context& io,
                                   const std::string& raylet_address) {
      ChildProcessSpawnerOptions spawner;
      spawner.log_dir = options.log_dir;
      spawner.env = rpc::AuthEnvironment(options.auth);
      for (const auto& [name, value] : options.worker_config) {
        spawner.env[absl::StrCat("COMET_", name)] = value;
      }
      spawner.make_argv = [options, raylet_address](const WorkerID& id) {
        return WorkerCommandLine(options, raylet_address, id);
      };
      return std::make_unique<ChildProcessSpawner>(io, std::move(spawner));
    };
  }
  io_.Start();
  io_.RunSync([&] {
    node_manager_ = std::make_unique<NodeManager>(
        io_.io_context(), manager, gcs_.get(), std::move(factory));
  });
  StartLogMonitor();
  service_ = std::make_unique<NodeManagerService>(
      io_.io_context(), node_manager_.get(), objects_.get());
  grpc::ServerBuilder builder;
  RETURN_IF_ERROR(rpc::AddListeningPort(&builder, options_.host, options_.port, options_.auth,
                                        auth_stats_, &port_));
  builder.RegisterService(service_.get());
  builder.RegisterService(object_service_.get());
  builder.SetMaxReceiveMessageSize(options_.max_request_bytes);
  builder.SetMaxSendMessageSize(-1);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.host, ":", options_.port));
  }
  address_ = absl::StrCat(options_.host, ":", port_);
  absl::Status metrics_started = io_.RunSync([this]() -> absl::Status {
    MetricsServer::Options metrics;
    metrics.host = options_.host;
    metrics.port = options_.metrics_port;
    if (!options_.metrics_open) metrics.token = options_.auth.token;
    // Under --tls-* the scrape is HTTPS with the node's certificate.
    metrics.cert_pem = options_.auth.tls.cert_pem;
    metrics.key_pem = options_.auth.tls.key_pem;
    ASSIGN_OR_RETURN(metrics_, MetricsServer::Start(io_.io_context(), std::move(metrics),
                                                    [this] { return RenderMetrics(); }));
    return absl::OkStatus();
  });
  RETURN_IF_ERROR(metrics_started);

  absl::Status registered =
      gcs_->RegisterNode(MakeNodeInfo(), options_.gcs_register_timeout);
  if (!registered.ok()) {
    return absl::Status(
        registered.code(),
        absl::StrCat("RegisterNode with the GCS at ", options_.gcs_address,
                     ": ", registered.message()));
  }
  registered_ = true;
  io_.RunSync([this] {
    node_manager_->SetReregister([this](std::function<void(absl::Status)> done) {
      gcs_->RegisterNodeAsync(MakeNodeInfo(), options_.gcs_register_timeout, std::move(done));
    });
    node_manager_->Start(address_);
    SampleHardware();
    hardware_timer_ = std::make_unique<PeriodicTimer>(
        io_.io_context(), options_.hardware_sample_period, [this] {
          SampleHardware();
          user_metrics_.Expire(absl::Now());
        });
    hardware_timer_->Start();
    if (options_.memory_monitor_refresh > absl::ZeroDuration()) {
      memory_timer_ = std::make_unique<PeriodicTimer>(
          io_.io_context(), options_.memory_monitor_refresh, [this] { CheckMemory(); });
      memory_timer_->Start();
    }
  });
  COMET_LOG(INFO) << "raylet " << options_.node_id << " serving on " << address_
                  << " with " << total_.ToString();
  return absl::OkStatus();
}

void Raylet::StartLogMonitor() {
  if (options_.log_dir.empty()) return;
  LogMonitorOptions monitor;
  monitor.log_dir = options_.log_dir;
  monitor.ip = options_.host;
  auto lookup = [this](const WorkerID& id) -> std::optional<WorkerLogSource> {
    const WorkerInfo* worker = node_manager_->FindWorker(id);
    if (worker == nullptr) return std::nullopt;
    return WorkerLogSource{worker->job_id, worker->pid};
  };
  auto publish = [gcs = gcs_.get(), failing = std::make_shared<std::atomic<bool>>(false)](
                     rpc::PubMessage message) {
    gcs->Publish(std::move(message), absl::Seconds(10), [failing](absl::Status status) {
      // Said once per run of failures: the lines stay in the log files.
      if (!status.ok() && !failing->exchange(true)) {
        COMET_LOG(WARNING) << "publishing workers' output to the GCS failed: " << status;
      } else if (status.ok()) {
        failing->store(false);
      }
    });
  };
  absl::StatusOr<std::unique_ptr<LogMonitor>> started = io_.RunSync([&] {
    return LogMonitor::Start(io_.io_context(), std::move(monitor), std::move(lookup),
                             std::move(publish));
  });
  if (!started.ok()) {
    // The node still works; its workers' output stays in the files.
    COMET_LOG(WARNING) << "workers' output will not reach drivers: " << started.status();
    return;
  }
  io_.RunSync([&] { log_monitor_ = *std::move(started); });
}

rpc::NodeInfo Raylet::MakeNodeInfo() const {
  rpc::NodeInfo info;
  info.set_node_id(options_.node_id.Binary());
  info.set_node_manager_address(options_.host);
  info.set_node_manager_port(port_);
  info.set_object_store_socket(options_.plasma.socket_path);
  total_.ToProto(info.mutable_total_resources());
  info.set_state(rpc::NodeInfo::ALIVE);
  info.set_node_name(options_.node_name);
  info.set_start_time_ms(absl::ToUnixMillis(absl::Now()));
  info.set_session_dir(options_.session_dir);
  info.set_metrics_export_port(metrics_port());
  return info;
}

void Raylet::SampleHardware() {
  std::vector<int> pids;
  for (const auto& [pid, worker_id] : node_manager_->WorkerProcesses()) pids.push_back(pid);
  hardware_.Update(ReadHardware(options_.session_dir, pids));
}

void Raylet::CheckMemory() {
  std::optional<MemorySnapshot> memory = ReadNodeMemory();
  if (!memory || memory->fraction() < memory_monitor_.threshold()) return;
  std::vector<KillCandidate> candidates = node_manager_->MemoryKillCandidates();
  for (KillCandidate& candidate : candidates) candidate.rss_bytes = ReadRss(candidate.pid);
  if (std::optional<KillDecision> kill =
          memory_monitor_.OnSample(*memory, candidates, absl::Now())) {
    node_manager_->KillForMemory(*kill);
  }
}

void Raylet::FillHardware(rpc::GetNodeStatsReply* reply) const {
  hardware_.ToProto(reply->mutable_hardware());
  for (rpc::WorkerStats& worker : *reply->mutable_workers()) {
    if (std::optional<ProcessFigures> process = hardware_.process(worker.pid())) {
      worker.set_cpu_percent(process->cpu_percent);
      worker.set_rss_bytes(process->rss_bytes);
    }
  }
}

std::string Raylet::RenderMetrics() const {
  MetricsText text;
  MetricsText::Labels node{{"node_id", options_.node_id.Hex()}};
  node_manager_->AppendMetrics(&text, node);
  AppendHardwareMetrics(hardware_, node, node_manager_->WorkerProcesses(), &text);
  user_metrics_.Append(&text, node);
  plasma::StoreStats store = plasma_->stats();
  auto gauge = [&](const std::string& name, const std::string& help, double value) {
    text.Family(name, "gauge", help).Sample(name, node, value);
  };
  auto counter = [&](const std::string& name, const std::string& help, double value) {
    text.Family(name, "counter", help).Sample(name, node, value);
  };
  gauge("comet_object_store_capacity_bytes", "Bytes of the node's plasma store.",
        static_cast<double>(store.capacity));
  gauge("comet_object_store_used_bytes", "Bytes in use in the plasma store's memory.",
        static_cast<double>(store.used_bytes));
  gauge("comet_object_store_fallback_bytes", "Bytes in file-backed fallback allocations.",
        static_cast<double>(store.fallback_bytes));
  gauge("comet_object_store_objects", "Objects in the plasma store.",
        static_cast<double>(store.num_objects));
  gauge("comet_object_store_spilled_bytes", "Bytes of spilled objects on disk now.",
        static_cast<double>(store.spill_bytes_on_disk));
  counter("comet_object_store_spilled_bytes_total", "Bytes spilled to disk since start.",
          static_cast<double>(store.bytes_spilled));
  counter("comet_object_store_restored_bytes_total", "Bytes restored from disk since start.",
          static_cast<double>(store.bytes_restored));
  counter("comet_object_store_evictions_total", "Cached copies evicted since start.",
          static_cast<double>(store.num_evictions));
  objects_->AppendMetrics(&text, node);
  counter("comet_grpc_unauthenticated_total",
          "gRPC calls to this raylet refused for a missing or wrong cluster token.",
          static_cast<double>(auth_stats_->refused.load()));
  return text.text();
}

void Raylet::Stop() {
  if (node_manager_ && io_.IsRunning()) {
    io_.RunSync([this] { node_manager_->BeginShutdown(); });
  }
  if (objects_) objects_->Stop();
  if (server_) {
    // Short, as the GCS's (gcs_server.cc, kShutdownGrace): leases are refused
    // already, and idle clients would hold a longer grace to its end.
    server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Milliseconds(300)));
    server_->Wait();
    server_.reset();
  }
  if (registered_) {
    absl::Status status = gcs_->UnregisterNode(
        options_.node_id, "raylet shut down", absl::Seconds(2));
    if (!status.ok()) COMET_LOG(WARNING) << "UnregisterNode: " << status;
    registered_ = false;
  }
  if (io_.IsRunning()) {
    io_.RunSync([this] {
      metrics_.reset();
      hardware_timer_.reset();
      memory_timer_.reset();
      if (!node_manager_) return;
      node_manager_->StopWorkers(options_.shutdown_grace);
      log_monitor_.reset();
      node_manager_.reset();
    });
  }
  io_.Stop();
  node_manager_.reset();  // Only if the io thread never ran.
  service_.reset();
  object_service_.reset();
  objects_.reset();
  if (plasma_) {
    plasma_->Stop();
    plasma_.reset();
  }
}

}  // namespace comet::raylet
