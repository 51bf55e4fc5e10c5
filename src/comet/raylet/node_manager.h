// NodeManager: the raylet's state behind its gRPC service — resources,
// placement-group bundles, worker pool, lease manager, the local drivers,
// reports to the GCS and what their replies carry (the cluster view, for
// spillback to other nodes; the workers that died anywhere, whose leases
// here end) — and the translation between protos and those classes.
// Decisions live in LeaseManager, WorkerPool and LocalDrivers; this class
// only wires events to them and I/O around them.
//
// Lifecycle: construct, Start() once the raylet's address is known (RPCs
// before that get UNAVAILABLE), BeginShutdown() (queued leases rejected, no
// more reports), StopWorkers(), destroy.
//
// Ownership: owns the spawner (made by the factory in Start), the pool, the
// lease manager, the local drivers, the reporter and the tick timer; borrows
// the GcsClient, which must outlive it. Thread model: confined to the
// io_context given at construction — every method, including destruction,
// runs on its thread.
#pragma once

#include <grpcpp/support/status.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/node_manager.pb.h"
#include "src/comet/common/id.h"
#include "src/comet/common/metrics.h"
#include "src/comet/common/periodic_timer.h"
#include "src/comet/raylet/cluster_view.h"
#include "src/comet/raylet/gcs_client.h"
#include "src/comet/raylet/lease_manager.h"
#include "src/comet/raylet/local_drivers.h"
#include "src/comet/raylet/local_resource_manager.h"
#include "src/comet/raylet/memory_monitor.h"
#include "src/comet/raylet/placement_group_resource_manager.h"
#include "src/comet/raylet/resource_reporter.h"
#include "src/comet/raylet/worker_pool.h"
#include "src/comet/raylet/worker_spawner_interface.h"

namespace comet::raylet {

// Makes the spawner once the raylet's own HOST:PORT is known.
using SpawnerFactory = std::function<std::unique_ptr<WorkerSpawner>(
    boost::asio::io_context& io, const std::string& raylet_address)>;

struct NodeManagerOptions {
  NodeID node_id;
  std::string host = "127.0.0.1";
  ResourceSet total_resources;
  size_t prestart_workers = 0;
  WorkerPoolOptions pool;
  LeaseManagerOptions lease;
  ResourceReporterOptions report;
  ClusterViewOptions cluster;
  // Told the other live nodes' raylet addresses after each cluster view
  // update (the object manager's peers); may be empty.
  std::function<void(absl::flat_hash_map<NodeID, std::string>)> on_node_addresses;
  // Fills GetNodeStats' object store part (may be empty; called on the io
  // thread).
  std::function<void(rpc::ObjectStoreStats*)> fill_object_store_stats;
  // Adds the hardware figures to a GetNodeStats reply whose workers are
  // already listed (may be empty; called on the io thread).
  std::function<void(rpc::GetNodeStatsReply*)> fill_hardware;
  // Told of each application-metrics report (may be empty: reports are
  // then refused; called on the io thread).
  std::function<absl::Status(const rpc::ReportMetricsRequest&)> on_metrics_report;
  // Told of each worker process that exited, after the pool dropped it (may
  // be empty; called on the io thread).
  std::function<void(const WorkerInfo&)> on_worker_exit;
  // How often the pool's timeouts are checked and failed starts retried.
  absl::Duration tick_period = absl::Milliseconds(250);
  absl::Duration report_timeout = absl::Seconds(5);
};

class NodeManager {
 public:
  // Sends the RPC's reply (already filled) with `status`; returns false when
  // the client has gone away.
  using FinishFn = std::function<bool(const grpc::Status& status)>;

  NodeManager(boost::asio::io_context& io, NodeManagerOptions options,
              GcsClient* gcs, SpawnerFactory spawner_factory);
  ~NodeManager();

  // Makes the spawner, prestarts workers and starts reporting.
  void Start(const std::string& raylet_address);

  // How to register this node with the GCS again, for when a report finds
  // that the GCS does not know it (a GCS restarted on memory storage).
  // `done` may be called on any thread. Set before Start().
  using ReregisterFn = std::function<void(std::function<void(absl::Status)> done)>;
  void SetReregister(ReregisterFn reregister) { reregister_ = std::move(reregister); }
  // Rejects queued leases and stops reports and timers; later RPCs get
  // UNAVAILABLE (leases: rejected).
  void BeginShutdown();
  // Terminates every worker (SIGTERM, SIGKILL after `grace`); blocks.
  void StopWorkers(absl::Duration grace);

  // RPC handlers. Each eventually calls `finish` exactly once; a lease may
  // do so much later. Lease requests return an id for CancelLeaseRequest.
  void RegisterWorker(const rpc::RegisterWorkerRequest& request,
                      rpc::RegisterWorkerReply* reply, const FinishFn& finish);
  void RegisterDriver(const rpc::RegisterDriverRequest& request,
                      rpc::RegisterDriverReply* reply, const FinishFn& finish);
  std::optional<LeaseManager::RequestId> RequestWorkerLease(
      const rpc::RequestWorkerLeaseRequest& request,
      rpc::RequestWorkerLeaseReply* reply, FinishFn finish);
  void ReturnWorker(const rpc::ReturnWorkerRequest& request,
                    rpc::ReturnWorkerReply* reply, const FinishFn& finish);
  void CancelWorkerLease(const rpc::CancelWorkerLeaseRequest& request,
                         rpc::CancelWorkerLeaseReply* reply,
                         const FinishFn& finish);
  void KillWorker(const rpc::KillWorkerRequest& request,
                  rpc::KillWorkerReply* reply, const FinishFn& finish);
  void GetWorkerFailureCause(const rpc::GetWorkerFailureCauseRequest& request,
                             rpc::GetWorkerFailureCauseReply* reply, const FinishFn& finish);
  void GetNodeStats(const rpc::GetNodeStatsRequest& request,
                    rpc::GetNodeStatsReply* reply, const FinishFn& finish);
  // Hands the report to options.on_metrics_report (the raylet's store).
  void ReportMetrics(const rpc::ReportMetricsRequest& request,
                     rpc::ReportMetricsReply* reply, const FinishFn& finish);
  void NotifyWorkerBlocked(const rpc::NotifyWorkerBlockedRequest& request,
                           rpc::NotifyWorkerBlockedReply* reply,
                           const FinishFn& finish);
  void NotifyWorkerUnblocked(const rpc::NotifyWorkerUnblockedRequest& request,
                             rpc::NotifyWorkerUnblockedReply* reply,
                             const FinishFn& finish);
  // Placement-group bundles (see PlacementGroupResourceManager).
  void PrepareBundleResources(const rpc::PrepareBundleResourcesRequest& request,
                              rpc::PrepareBundleResourcesReply* reply,
                              const FinishFn& finish);
  void CommitBundleResources(const rpc::CommitBundleResourcesRequest& request,
                             rpc::CommitBundleResourcesReply* reply,
                             const FinishFn& finish);
  void CancelResourceReserve(const rpc::CancelResourceReserveRequest& request,
                             rpc::CancelResourceReserveReply* reply,
                             const FinishFn& finish);

  // The client behind a queued lease request went away.
  void CancelLeaseRequest(LeaseManager::RequestId id);

  const LocalResourceManager& resources() const { return resources_; }
  // A worker of the pool, or nullptr (before Start(), or unknown).
  const WorkerInfo* FindWorker(const WorkerID& worker_id) const {
    return pool_ ? pool_->Find(worker_id) : nullptr;
  }

  // Each worker process of the pool: its pid (as the worker reported it)
  // and id. Empty before Start().
  std::vector<std::pair<int, WorkerID>> WorkerProcesses() const;

  // The leased workers the memory monitor may kill (RSS left 0): tasks'
  // and actors' (retriable: max_retries != 0, max_restarts != 0).
  std::vector<KillCandidate> MemoryKillCandidates() const;
  // Kills the monitor's victim and keeps why, for its owner's
  // GetWorkerFailureCause.
  void KillForMemory(const KillDecision& decision);

  // This node's resource, worker and lease families for /metrics.
  void AppendMetrics(MetricsText* text, const MetricsText::Labels& node) const;

 private:
  // Lets gRPC threads post completions here until this object is gone.
  struct Mailbox {
    absl::Mutex mu;
    boost::asio::io_context* io ABSL_GUARDED_BY(mu) = nullptr;
  };
  // Runs `fn(alive)` on the io thread, `alive` saying whether the
  // NodeManager still exists; dropped when the mailbox is closed already.
  static void Post(const std::shared_ptr<Mailbox>& mailbox,
                   std::function<void(bool alive)> fn);

  bool Serving() const { return started_ && !shutting_down_; }
  void OnTick();
  // Ends (and stops the workers of) the leases whose requester `gone` says
  // is gone; `why` is for the log.
  void StopLeasesOfGoneRequesters(
      const std::function<bool(const LeaseRequester&)>& gone,
      absl::string_view why, absl::Time now);
  // Tells the GCS about local drivers whose process is gone.
  void ReportGoneDrivers();
  // Ends the leases of the workers the GCS lists as dead since last time.
  void OnDeadWorkers(const rpc::ReportResourceUsageReply& reply,
                     absl::Time now);
  void OnProcessExited(int pid, int status);
  // A starting worker could not set up its runtime_env: every request
  // queued for that env is rejected with `error`.
  void OnRuntimeEnvSetupFailed(const WorkerID& worker_id, const std::string& error,
                               absl::Time now);
  // Tells the GCS (which fails the worker's actor, if any).
  void ReportWorkerExit(const WorkerInfo& worker, int status);
  void FillLeaseReply(const LeaseOutcome& outcome,
                      rpc::RequestWorkerLeaseReply* reply) const;
  // A bundle request's bundles, or nullopt after finishing the call
  // (UNAVAILABLE when not serving, INVALID_ARGUMENT for bad bundles).
  std::optional<std::vector<BundleSpec>> BundlesOf(
      const google::protobuf::RepeatedPtrField<rpc::Bundle>& bundles,
      const FinishFn& finish) const;
  // The removed placement group (hex id) a demand asks for, if any.
  std::optional<std::string> RemovedGroupOf(const ResourceSet& demand) const;
  static LeaseOutcome GroupRemoved(const std::string& group_hex);
  // Reports to the GCS soon if availability or demand changed.
  void NoteChanges();
  void SendReport(std::function<void()> done);
  // A fresh cluster view from the GCS: re-place queued requests.
  void OnClusterView(const rpc::ReportResourceUsageReply& reply);
  // Where a request should go (nullopt: here); see ClusterView::Choose.
  std::optional<SpillbackTarget> ChooseNode(const LeaseRequest& request);

  boost::asio::io_context& io_;
  const NodeManagerOptions options_;
  GcsClient* const gcs_;
  SpawnerFactory spawner_factory_;
  std::shared_ptr<Mailbox> mailbox_;
  std::shared_ptr<std::atomic<bool>> report_failing_;
  ReregisterFn reregister_;
  bool reregistering_ = false;  // one attempt at a time
  // The GCS said it does not know this node: register again.
  void Reregister();

  LocalResourceManager resources_;
  PlacementGroupResourceManager bundles_{&resources_};
  // Groups (hex ids) whose committed bundles here were cancelled: removed.
  // Requests for them are rejected (the newest kMaxRemovedGroups are kept).
  std::deque<std::string> removed_groups_;
  LocalDrivers drivers_;
  ClusterView cluster_;
  std::unique_ptr<WorkerSpawner> spawner_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<LeaseManager> leases_;
  std::unique_ptr<ResourceReporter> reporter_;
  std::unique_ptr<PeriodicTimer> tick_;
  bool started_ = false;
  bool shutting_down_ = false;
  // Arrival to grant of each granted lease request.
  Histogram lease_grant_seconds_;
  uint64_t reported_resource_version_ = 0;
  uint64_t reported_demand_version_ = 0;
  // The GCS's number of the newest dead worker this raylet has handled.
  int64_t dead_workers_seen_ = 0;
  // Why the memory monitor killed workers, the newest kMaxFailureCauses.
  absl::flat_hash_map<WorkerID, std::string> failure_causes_;
  std::deque<WorkerID> failure_cause_order_;
  int64_t memory_kills_ = 0;
};

}  // namespace comet::raylet
