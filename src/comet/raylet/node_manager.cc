#include "src/comet/raylet/node_manager.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>

#include <boost/asio/post.hpp>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "src/comet/common/bundle_resource_name.h"
#include "src/comet/common/logging.h"
#include "src/comet/common/status_macros.h"
#include "src/comet/raylet/grpc_status.h"

namespace comet::raylet {
namespace {

constexpr size_t kMaxReportedDemands = 1000;
constexpr size_t kMaxRemovedGroups = 1000;

// The pid the worker reported (its own, behind any wrapper), else the
// spawned process's.
int WorkerPid(const WorkerInfo& worker) {
  return worker.reported_pid != 0 ? worker.reported_pid : worker.pid;
}

grpc::Status Unavailable(bool started) {
  return grpc::Status(
      grpc::StatusCode::UNAVAILABLE,
      started ? "raylet is shutting down" : "raylet is starting");
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exit code ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("signal ", WTERMSIG(status));
  return absl::StrCat("wait status ", status);
}

absl::StatusOr<WorkerID> ParseWorkerId(const std::string& binary) {
  return WorkerID::FromBinary(binary);
}

// The process no longer exists (a zombie still does: its parent reaps it).
bool ProcessGone(int pid) {
  return pid > 0 && kill(pid, 0) != 0 && errno == ESRCH;
}

}  // namespace

NodeManager::NodeManager(boost::asio::io_context& io,
                         NodeManagerOptions options, GcsClient* gcs,
                         SpawnerFactory spawner_factory)
    : io_(io),
      options_(std::move(options)),
      gcs_(gcs),
      spawner_factory_(std::move(spawner_factory)),
      mailbox_(std::make_shared<Mailbox>()),
      report_failing_(std::make_shared<std::atomic<bool>>(false)),
      resources_(options_.total_resources),
      cluster_(options_.node_id, options_.cluster) {
  absl::MutexLock lock(&mailbox_->mu);
  mailbox_->io = &io_;
}

NodeManager::~NodeManager() {
  {
    absl::MutexLock lock(&mailbox_->mu);
    mailbox_->io = nullptr;
  }
  tick_.reset();
  reporter_.reset();
  leases_.reset();
  pool_.reset();
  spawner_.reset();
}

void NodeManager::Start(const std::string& raylet_address) {
  COMET_CHECK(!started_) << "NodeManager started twice";
  spawner_ = spawner_factory_(io_, raylet_address);
  spawner_->SetExitCallback(
      [this](int pid, int status) { OnProcessExited(pid, status); });
  pool_ = std::make_unique<WorkerPool>(spawner_.get(), options_.pool);
  leases_ =
      std::make_unique<LeaseManager>(&resources_, pool_.get(), options_.lease);
  reporter_ = std::make_unique<ResourceReporter>(
      io_, options_.report,
      [this](std::function<void()> done) { SendReport(std::move(done)); });
  tick_ = std::make_unique<PeriodicTimer>(io_, options_.tick_period,
                                          [this] { OnTick(); });
  started_ = true;
  absl::Time now = absl::Now();
  for (size_t i = 0; i < options_.prestart_workers; ++i) {
    if (!pool_->StartWorker(now, WorkerEnv{}).ok()) break;
  }
  reporter_->Start();
  tick_->Start();
}

void NodeManager::BeginShutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  if (!started_) return;
  leases_->RejectAll("raylet is shutting down");
  reporter_->Stop();
  tick_->Cancel();
}

void NodeManager::StopWorkers(absl::Duration grace) {
  if (spawner_) spawner_->TerminateAll(grace);
}

void NodeManager::OnTick() {
  absl::Time now = absl::Now();
  // A local driver or worker that died holding leases: its workers may be
  // running its tasks, so they go too.
  StopLeasesOfGoneRequesters(
      [](const LeaseRequester& requester) {
        return ProcessGone(requester.pid);
      },
      "died", now);
  ReportGoneDrivers();
  pool_->Tick(now);
  leases_->Schedule(now);
  NoteChanges();
}

void NodeManager::StopLeasesOfGoneRequesters(
    const std::function<bool(const LeaseRequester&)>& gone,
    absl::string_view why, absl::Time now) {
  for (const WorkerID& worker : leases_->LeasesOfGoneRequesters(gone)) {
    COMET_LOG(INFO) << "the requester of worker " << worker << "'s lease " << why
                    << "; the worker is stopped";
    leases_->ReturnWorker(worker, "", /*disconnect=*/true, now).IgnoreError();
  }
}

void NodeManager::ReportGoneDrivers() {
  for (const LocalDrivers::Driver& driver : drivers_.TakeGone(ProcessGone)) {
    COMET_LOG(INFO) << "driver of job " << driver.job_id << " (pid "
                    << driver.pid << ") exited; telling the GCS";
    rpc::ReportWorkerFailureRequest request;
    request.set_worker_id(driver.worker_id.Binary());
    request.set_node_id(options_.node_id.Binary());
    request.set_pid(driver.pid);
    request.set_exit_detail("the driver process exited");
    request.set_driver_job_id(driver.job_id.Binary());
    gcs_->ReportWorkerFailure(
        request, options_.report_timeout,
        [this, mailbox = mailbox_,
         worker_id = driver.worker_id](absl::Status status) {
          if (!status.ok()) {
            COMET_LOG(WARNING) << "cannot report the exit of driver "
                               << worker_id << " to the GCS (retried): "
                               << status;
          }
          Post(mailbox, [this, worker_id, ok = status.ok()](bool alive) {
            if (alive) drivers_.OnReported(worker_id, ok);
          });
        });
  }
}

void NodeManager::OnProcessExited(int pid, int status) {
  absl::Time now = absl::Now();
  std::optional<WorkerInfo> worker = pool_->OnProcessExited(pid, now);
  if (!worker) return;
  COMET_LOG(INFO) << "worker " << worker->worker_id << " pid " << pid
                  << " exited (" << DescribeExit(status) << ")";
  if (options_.on_worker_exit) options_.on_worker_exit(*worker);
  if (!shutting_down_) {
    leases_->OnWorkerDied(worker->worker_id, now);
    ReportWorkerExit(*worker, status);
  }
  NoteChanges();
}

void NodeManager::ReportWorkerExit(const WorkerInfo& worker, int status) {
  rpc::ReportWorkerFailureRequest request;
  request.set_worker_id(worker.worker_id.Binary());
  request.set_node_id(options_.node_id.Binary());
  request.set_pid(worker.reported_pid != 0 ? worker.reported_pid : worker.pid);
  // A worker the memory monitor killed says why (an actor's death cause
  // carries it to its callers).
  auto oom = failure_causes_.find(worker.worker_id);
  request.set_exit_detail(oom != failure_causes_.end()
                              ? absl::StrCat(DescribeExit(status), ": ", oom->second)
                              : DescribeExit(status));
  // The raylet stopped it (lease returned with disconnect, killed, idle).
  request.set_intentional(worker.state == WorkerState::kDying);
  gcs_->ReportWorkerFailure(
      request, options_.report_timeout,
      [worker_id = worker.worker_id](absl::Status status) {
        if (!status.ok()) {
          COMET_LOG(WARNING) << "cannot report the exit of worker " << worker_id
                             << " to the GCS: " << status;
        }
      });
}

void NodeManager::RegisterWorker(const rpc::RegisterWorkerRequest& request,
                                 rpc::RegisterWorkerReply* reply,
                                 const FinishFn& finish) {
  if (!Serving()) {
    finish(Unavailable(started_));
    return;
  }
  auto worker_id = ParseWorkerId(request.worker_id());
  if (!worker_id.ok()) {
    finish(ToGrpcStatus(worker_id.status()));
    return;
  }
  absl::Time now = absl::Now();
  if (!request.runtime_env_setup_error().empty()) {
    OnRuntimeEnvSetupFailed(*worker_id, request.runtime_env_setup_error(), now);
    finish(grpc::Status::OK);
    return;
  }
  absl::Status status =
      pool_->RegisterWorker(*worker_id, request.pid(), request.port(), now);
  if (status.ok()) {
    reply->set_node_id(options_.node_id.Binary());
  } else {
    COMET_LOG(WARNING) << "RegisterWorker: " << status;
  }
  finish(ToGrpcStatus(status));
  if (status.ok()) {
    leases_->Schedule(now);
    NoteChanges();
  }
}

void NodeManager::OnRuntimeEnvSetupFailed(const WorkerID& worker_id,
                                          const std::string& error, absl::Time now) {
  absl::StatusOr<std::string> env_hash = pool_->OnSetupFailed(worker_id);
  if (!env_hash.ok()) {
    COMET_LOG(WARNING) << "runtime_env setup failure from worker " << worker_id << ": "
                       << env_hash.status();
    return;
  }
  LeaseOutcome failed;
  failed.failure_message = error;
  failed.runtime_env_setup_failed = true;
  size_t n = leases_->RejectMatching(
      [&](const LeaseRequest& request) { return request.env.hash == *env_hash; }, failed,
      now);
  COMET_LOG(WARNING) << "worker " << worker_id << " could not set up runtime_env "
                     << *env_hash << "; " << n << " lease request(s) fail: " << error;
  leases_->Schedule(now);
  NoteChanges();
}

void NodeManager::RegisterDriver(const rpc::RegisterDriverRequest& request,
                                 rpc::RegisterDriverReply* reply,
                                 const FinishFn& finish) {
  if (!Serving()) {
    finish(Unavailable(started_));
    return;
  }
  LocalDrivers::Driver driver;
  driver.pid = request.pid();
  absl::Status status = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(driver.job_id, JobID::FromBinary(request.job_id()));
    ASSIGN_OR_RETURN(driver.worker_id, ParseWorkerId(request.worker_id()));
    return drivers_.Register(driver);
  }();
  if (status.ok()) {
    COMET_LOG(INFO) << "driver of job " << driver.job_id << " registered (pid "
                    << driver.pid << ")";
  } else {
    COMET_LOG(WARNING) << "RegisterDriver: " << status;
  }
  finish(ToGrpcStatus(status));
}

std::optional<LeaseManager::RequestId> NodeManager::RequestWorkerLease(
    const rpc::RequestWorkerLeaseRequest& request,
    rpc::RequestWorkerLeaseReply* reply, FinishFn finish) {
  if (!Serving()) {
    if (!started_) {
      finish(Unavailable(false));
    } else {
      reply->set_rejected(true);
      reply->set_failure_message("raylet is shutting down");
      finish(grpc::Status::OK);
    }
    return std::nullopt;
  }
  LeaseRequest lease;
  auto demand = ResourceSet::FromProtoMap(request.required_resources());
  if (!demand.ok()) {
    finish(ToGrpcStatus(demand.status()));
    return std::nullopt;
  }
  lease.demand = *std::move(demand);
  if (!request.job_id().empty()) {
    auto job_id = JobID::FromBinary(request.job_id());
    if (!job_id.ok()) {
      finish(ToGrpcStatus(job_id.status()));
      return std::nullopt;
    }
    lease.job_id = *job_id;
  }
  lease.scheduling_class = request.scheduling_class();
  lease.task_id = request.task_id();
  lease.backlog_size = request.backlog_size();
  lease.dedicated = request.is_actor_creation();
  lease.retriable = request.is_retriable();
  lease.spread = request.scheduling_strategy() == rpc::SPREAD;
  lease.grant_or_reject = request.grant_or_reject();
  if (request.has_runtime_env() && !request.runtime_env().hash().empty()) {
    lease.env.hash = request.runtime_env().hash();
    lease.env.serialized = request.runtime_env().serialized();
    lease.env.env_vars.insert(request.runtime_env().env_vars().begin(),
                              request.runtime_env().env_vars().end());
    int64_t setup_s = request.runtime_env().setup_timeout_s();
    // A little over the worker's own limit, so that it reports the timeout.
    lease.env.setup_timeout = setup_s < 0   ? absl::InfiniteDuration()
                              : setup_s > 0 ? absl::Seconds(setup_s + 15)
                                            : absl::ZeroDuration();
  }
  if (request.requester_node_id() == options_.node_id.Binary()) {
    lease.requester.pid = request.requester_pid();
  }
  if (auto node = NodeID::FromBinary(request.requester_node_id()); node.ok()) {
    lease.requester.node = *node;
  }
  if (auto worker = WorkerID::FromBinary(request.requester_worker_id());
      worker.ok()) {
    lease.requester.worker = *worker;
  }
  if (std::optional<std::string> removed = RemovedGroupOf(lease.demand)) {
    FillLeaseReply(GroupRemoved(*removed), reply);
    finish(grpc::Status::OK);
    return std::nullopt;
  }
  if (std::optional<SpillbackTarget> target = ChooseNode(lease)) {
    FillLeaseReply(LeaseOutcome{std::nullopt, std::move(target), "", false}, reply);
    finish(grpc::Status::OK);
    return std::nullopt;
  }
  auto id = leases_->RequestLease(
      std::move(lease),
      [this, reply, finish = std::move(finish),
       arrived = absl::Now()](const LeaseOutcome& outcome) {
        if (outcome.grant) lease_grant_seconds_.Record(absl::Now() - arrived);
        FillLeaseReply(outcome, reply);
        return finish(grpc::Status::OK);
      },
      absl::Now());
  NoteChanges();
  return id;
}

void NodeManager::FillLeaseReply(const LeaseOutcome& outcome,
                                 rpc::RequestWorkerLeaseReply* reply) const {
  if (outcome.spillback) {
    rpc::Address* retry = reply->mutable_retry_at_raylet_address();
    retry->set_node_id(outcome.spillback->node_id.Binary());
    const std::string& address = outcome.spillback->address;
    size_t colon = address.rfind(':');
    retry->set_ip_address(address.substr(0, colon));
    int port = 0;
    if (colon != std::string::npos &&
        absl::SimpleAtoi(address.substr(colon + 1), &port)) {
      retry->set_port(port);
    }
    return;
  }
  if (!outcome.grant) {
    reply->set_rejected(true);
    reply->set_failure_message(outcome.failure_message);
    reply->set_placement_group_removed(outcome.placement_group_removed);
    reply->set_runtime_env_setup_failed(outcome.runtime_env_setup_failed);
    return;
  }
  const LeaseGrant& grant = *outcome.grant;
  rpc::Address* address = reply->mutable_worker_address();
  address->set_node_id(options_.node_id.Binary());
  address->set_ip_address(options_.host);
  address->set_port(grant.worker.port);
  address->set_worker_id(grant.worker.worker_id.Binary());
  reply->set_lease_id(grant.lease_id);
  reply->set_worker_pid(grant.worker.pid);
  for (const InstanceAssignment& instances : grant.instances) {
    rpc::ResourceAssignment* assignment = reply->add_resource_assignments();
    assignment->set_name(instances.resource);
    for (const InstanceShare& share : instances.shares) {
      assignment->add_instance_ids(share.instance_id);
      assignment->add_fractions(FromFixedPoint(share.amount));
    }
  }
}

void NodeManager::CancelLeaseRequest(LeaseManager::RequestId id) {
  if (!Serving()) return;
  leases_->CancelRequest(id, "the lease request was cancelled by its client",
                         absl::Now());
  NoteChanges();
}

void NodeManager::ReturnWorker(const rpc::ReturnWorkerRequest& request,
                               rpc::ReturnWorkerReply* reply,
                               const FinishFn& finish) {
  if (!Serving()) {
    finish(Unavailable(started_));
    return;
  }
  auto worker_id = ParseWorkerId(request.worker_id());
  if (!worker_id.ok()) {
    finish(ToGrpcStatus(worker_id.status()));
    return;
  }
  absl::Status status = leases_->ReturnWorker(
      *worker_id, request.lease_id(), request.disconnect_worker(), absl::Now());
  if (absl::IsNotFound(status) && pool_->Find(*worker_id) == nullptr) {
    // The worker died and its lease ended with it: nothing left to return.
    status = absl::OkStatus();
  }
  if (!status.ok()) COMET_LOG(WARNING) << "ReturnWorker: " << status;
  finish(ToGrpcStatus(status));
  NoteChanges();
}

void NodeManager::CancelWorkerLease(
    const rpc::CancelWorkerLeaseRequest& request,
    rpc::CancelWorkerLeaseReply* reply, const FinishFn& finish) {
  if (!Serving()) {
    finish(Unavailable(started_));
    return;
  }
  reply->set_success(leases_->CancelByTaskId(request.task_id(), absl::Now()));
  finish(grpc::Status::OK);
  NoteChanges();
}

void NodeManager::KillWorker(const rpc::KillWorkerRequest& request,
                             rpc::KillWorkerReply* reply,
                             const FinishFn& finish) {
  if (!Serving()) {
    finish(Unavailable(started_));
    return;
  }
  auto worker_id = ParseWorkerId(request.worker_id());
  if (!worker_id.ok()) {
    finish(ToGrpcStatus(worker_id.status()));
    return;
  }
  COMET_LOG(INFO) << "killing worker " << *worker_id << ": "
                  << request.reason();
  finish(ToGrpcStatus(pool_->KillWorker(*worker_id)));
}

void NodeManager::GetWorkerFailureCause(const rpc::GetWorkerFailureCauseRequest& request,
                                        rpc::GetWorkerFailureCauseReply* reply,
                                        const FinishFn& finish) {
  auto worker_id = ParseWorkerId(request.worker_id());
  if (!worker_id.ok()) {
    finish(ToGrpcStatus(worker_id.status()));
    return;
  }
  if (auto it = failure_causes_.find(*worker_id); it != failure_causes_.end()) {
    reply->set_out_of_memory(true);
    reply->set_message(it->second);
  }
  finish(grpc::Status::OK);
}

std::vector<KillCandidate> NodeManager::MemoryKillCandidates() const {
  std::vector<KillCandidate> out;
  if (!pool_ || shutting_down_) return out;
  // Actors' workers (dedicated leases) too: retriable when the actor may
  // restart (max_restarts != 0), as Ray's policy has it.
  for (const ActiveLease& lease : leases_->ActiveLeases()) {
    const WorkerInfo* worker = pool_->Find(lease.worker_id);
    if (worker == nullptr || worker->state == WorkerState::kDying) continue;
    if (worker->state != WorkerState::kLeased) continue;
    KillCandidate candidate;
    candidate.worker_id = lease.worker_id;
    candidate.pid = WorkerPid(*worker);
    candidate.owner = lease.requester;
    candidate.retriable = lease.retriable;
    candidate.granted_at = lease.granted_at;
    out.push_back(candidate);
  }
  return out;
}

void NodeManager::KillForMemory(const KillDecision& decision) {
  constexpr size_t kMaxFailureCauses = 1000;
  const WorkerID& worker_id = decision.victim.worker_id;
  COMET_LOG(WARNING) << "memory monitor: " << decision.message;
  if (failure_causes_.emplace(worker_id, decision.message).second) {
    failure_cause_order_.push_back(worker_id);
  }
  while (failure_cause_order_.size() > kMaxFailureCauses) {
    failure_causes_.erase(failure_cause_order_.front());
    failure_cause_order_.pop_front();
  }
  ++memory_kills_;
  absl::Status killed = pool_->KillWorker(worker_id);
  if (!killed.ok()) COMET_LOG(WARNING) << "memory monitor: " << killed;
}

void NodeManager::GetNodeStats(const rpc::GetNodeStatsRequest& request,
                               rpc::GetNodeStatsReply* reply,
                               const FinishFn& finish) {
  if (!Serving()) {
    finish(Unavailable(started_));
    return;
  }
  resources_.total().ToProto(reply->mutable_total());
  resources_.available().ToProto(reply->mutable_available());
  reply->set_memory_monitor_kills(memory_kills_);
  for (const WorkerInfo& worker : pool_->Workers()) {
    rpc::WorkerStats* stats = reply->add_workers();
    stats->set_worker_id(worker.worker_id.Binary());
    stats->set_pid(WorkerPid(worker));
    stats->set_is_idle(worker.state == WorkerState::kIdle);
    if (!worker.job_id.IsNil()) stats->set_job_id(worker.job_id.Binary());
    stats->set_port(worker.port);
  }
  if (options_.fill_object_store_stats) {
    options_.fill_object_store_stats(reply->mutable_object_store());
  }
  if (options_.fill_hardware) options_.fill_hardware(reply);
  reply->set_num_pending_leases(
      static_cast<int64_t>(leases_->NumPendingLeases()));
  for (const ResourceSet& demand : leases_->InfeasibleDemands()) {
    demand.ToProto(reply->add_infeasible_demands());
  }
  finish(grpc::Status::OK);
}

void NodeManager::ReportMetrics(const rpc::ReportMetricsRequest& request,
                                rpc::ReportMetricsReply* /*reply*/, const FinishFn& finish) {
  if (!options_.on_metrics_report) {
    finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                        "this raylet does not keep application metrics"));
    return;
  }
  finish(ToGrpcStatus(options_.on_metrics_report(request)));
}

std::vector<std::pair<int, WorkerID>> NodeManager::WorkerProcesses() const {
  std::vector<std::pair<int, WorkerID>> processes;
  if (!pool_) return processes;
  for (const WorkerInfo& worker : pool_->Workers()) {
    processes.emplace_back(WorkerPid(worker), worker.worker_id);
  }
  return processes;
}

void NodeManager::AppendMetrics(MetricsText* text,
                                const MetricsText::Labels& node) const {
  auto per_resource = [&](const std::string& name, const std::string& help,
                          const ResourceSet& set) {
    text->Family(name, "gauge", help);
    for (const auto& [resource, quantity] : set.ToDoubles()) {
      MetricsText::Labels labels = node;
      labels["resource"] = resource;
      text->Sample(name, labels, quantity);
    }
  };
  per_resource("comet_node_resource_capacity", "The node's total of each resource.",
               resources_.total());
  text->Family("comet_memory_monitor_kills_total", "counter",
               "Workers the memory monitor killed because the node ran low on memory.");
  text->Sample("comet_memory_monitor_kills_total", node, static_cast<double>(memory_kills_));
  per_resource("comet_node_resource_available",
               "What is free of each resource on the node.",
               resources_.available());
  if (!started_) return;
  std::map<std::string, int> by_state = {
      {"starting", 0}, {"idle", 0}, {"leased", 0}, {"dying", 0}};
  for (const WorkerInfo& worker : pool_->Workers()) {
    by_state[absl::AsciiStrToLower(WorkerStateName(worker.state))]++;
  }
  text->Family("comet_workers", "gauge", "Worker processes by state.");
  for (const auto& [state, count] : by_state) {
    MetricsText::Labels labels = node;
    labels["state"] = state;
    text->Sample("comet_workers", labels, count);
  }
  text->Family("comet_lease_requests_pending", "gauge",
               "Lease requests waiting for resources or a worker.")
      .Sample("comet_lease_requests_pending", node,
              static_cast<double>(leases_->NumPendingLeases()));
  text->Family("comet_lease_requests_infeasible", "gauge",
               "Lease requests no node of this size can run.")
      .Sample("comet_lease_requests_infeasible", node,
              static_cast<double>(leases_->NumInfeasibleLeases()));
  text->Family("comet_leases_active", "gauge", "Workers leased out now.")
      .Sample("comet_leases_active", node,
              static_cast<double>(leases_->NumActiveLeases()));
  text->Family("comet_lease_grant_seconds", "histogram",
               "From a lease request's arrival to its grant (RequestWorkerLease).")
      .HistogramSamples("comet_lease_grant_seconds", node, lease_grant_seconds_);
}

void NodeManager::NotifyWorkerBlocked(
    const rpc::NotifyWorkerBlockedRequest& request,
    rpc::NotifyWorkerBlockedReply* reply, const FinishFn& finish) {
  if (!Serving()) {
    finish(Unavailable(started_));
    return;
  }
  auto worker_id = ParseWorkerId(request.worker_id());
  if (!worker_id.ok()) {
    finish(ToGrpcStatus(worker_id.status()));
    return;
  }
  leases_->OnWorkerBlocked(*worker_id, absl::Now());
  finish(grpc::Status::OK);
  NoteChanges();
}

void NodeManager::NotifyWorkerUnblocked(
    const rpc::NotifyWorkerUnblockedRequest& request,
    rpc::NotifyWorkerUnblockedReply* reply, const FinishFn& finish) {
  if (!Serving()) {
    finish(Unavailable(started_));
    return;
  }
  auto worker_id = ParseWorkerId(request.worker_id());
  if (!worker_id.ok()) {
    finish(ToGrpcStatus(worker_id.status()));
    return;
  }
  leases_->OnWorkerUnblocked(*worker_id, absl::Now());
  finish(grpc::Status::OK);
  NoteChanges();
}

std::optional<std::vector<BundleSpec>> NodeManager::BundlesOf(
    const google::protobuf::RepeatedPtrField<rpc::Bundle>& bundles,
    const FinishFn& finish) const {
  if (!Serving()) {
    finish(Unavailable(started_));
    return std::nullopt;
  }
  auto parsed = PlacementGroupResourceManager::FromProto(bundles);
  if (!parsed.ok()) {
    finish(ToGrpcStatus(parsed.status()));
    return std::nullopt;
  }
  return *std::move(parsed);
}

void NodeManager::PrepareBundleResources(
    const rpc::PrepareBundleResourcesRequest& request,
    rpc::PrepareBundleResourcesReply* reply, const FinishFn& finish) {
  auto bundles = BundlesOf(request.bundles(), finish);
  if (!bundles) return;
  reply->set_success(bundles_.Prepare(*bundles));
  finish(grpc::Status::OK);
  NoteChanges();
}

void NodeManager::CommitBundleResources(
    const rpc::CommitBundleResourcesRequest& request,
    rpc::CommitBundleResourcesReply* reply, const FinishFn& finish) {
  auto bundles = BundlesOf(request.bundles(), finish);
  if (!bundles) return;
  absl::Status status = bundles_.Commit(*bundles);
  if (!status.ok()) COMET_LOG(WARNING) << "CommitBundleResources: " << status;
  finish(ToGrpcStatus(status));
  leases_->OnTotalResourcesChanged(absl::Now());
  NoteChanges();
}

void NodeManager::CancelResourceReserve(
    const rpc::CancelResourceReserveRequest& request,
    rpc::CancelResourceReserveReply* reply, const FinishFn& finish) {
  auto bundles = BundlesOf(request.bundles(), finish);
  if (!bundles) return;
  // Committed bundles are cancelled only when their group is removed (a
  // failed reservation cancels prepared ones).
  std::vector<std::string> removed;
  for (const BundleSpec& bundle : *bundles) {
    std::string hex = bundle.group_id.Hex();
    if (bundles_.IsCommitted(bundle.group_id, bundle.index) &&
        std::find(removed.begin(), removed.end(), hex) == removed.end()) {
      removed.push_back(hex);
    }
  }
  bool released = bundles_.Cancel(*bundles);
  finish(grpc::Status::OK);
  absl::Time now = absl::Now();
  for (const std::string& hex : removed) {
    removed_groups_.push_back(hex);
    if (removed_groups_.size() > kMaxRemovedGroups) removed_groups_.pop_front();
    auto in_group = [&hex](const ResourceSet& resources) {
      for (const auto& [name, fixed] : resources.fixed_quantities()) {
        if (BundleGroupHex(name) == hex) return true;
      }
      return false;
    };
    size_t rejected = leases_->RejectMatching(
        [&in_group](const LeaseRequest& request) { return in_group(request.demand); },
        GroupRemoved(hex), now);
    // As in Ray, what runs in a removed group is killed.
    std::vector<WorkerID> running = leases_->LeasesUsing(in_group);
    for (const WorkerID& worker : running) {
      leases_->ReturnWorker(worker, "", /*disconnect=*/true, now).IgnoreError();
    }
    COMET_LOG(INFO) << "placement group " << hex << " removed: " << rejected
                    << " queued lease requests rejected, " << running.size()
                    << " workers stopped";
  }
  if (released) {
    leases_->OnTotalResourcesChanged(now);
    NoteChanges();
  }
}

std::optional<std::string> NodeManager::RemovedGroupOf(const ResourceSet& demand) const {
  if (removed_groups_.empty()) return std::nullopt;
  for (const auto& [name, fixed] : demand.fixed_quantities()) {
    std::optional<std::string> hex = BundleGroupHex(name);
    if (hex && std::find(removed_groups_.begin(), removed_groups_.end(), *hex) !=
                   removed_groups_.end()) {
      return hex;
    }
  }
  return std::nullopt;
}

LeaseOutcome NodeManager::GroupRemoved(const std::string& group_hex) {
  LeaseOutcome outcome;
  outcome.failure_message = absl::StrCat("placement group ", group_hex, " was removed");
  outcome.placement_group_removed = true;
  return outcome;
}

void NodeManager::NoteChanges() {
  if (!Serving()) return;
  if (resources_.version() == reported_resource_version_ &&
      leases_->demand_version() == reported_demand_version_) {
    return;
  }
  reporter_->MarkChanged();
}

void NodeManager::SendReport(std::function<void()> done) {
  reported_resource_version_ = resources_.version();
  reported_demand_version_ = leases_->demand_version();
  rpc::ReportResourceUsageRequest request;
  request.set_node_id(options_.node_id.Binary());
  resources_.available().ToProto(request.mutable_available());
  resources_.total().ToProto(request.mutable_total());
  for (const ResourceSet& demand :
       leases_->PendingDemands(kMaxReportedDemands)) {
    demand.ToProto(request.add_pending_demands());
  }
  request.set_dead_workers_after(dead_workers_seen_);
  gcs_->ReportResourceUsage(
      request, options_.report_timeout,
      [this, mailbox = mailbox_, failing = report_failing_,
       done = std::move(done)](absl::Status status,
                               rpc::ReportResourceUsageReply reply) {
        // Log a failure once, and the recovery.
        if (!status.ok() && !failing->exchange(true)) {
          COMET_LOG(WARNING)
              << "ReportResourceUsage to the GCS failed: " << status;
        } else if (status.ok() && failing->exchange(false)) {
          COMET_LOG(INFO) << "ReportResourceUsage to the GCS works again";
        }
        bool unknown = status.code() == absl::StatusCode::kNotFound;
        Post(mailbox, [this, ok = status.ok(), unknown, reply = std::move(reply),
                       done](bool alive) {
          if (alive && ok) OnClusterView(reply);
          if (alive && unknown) Reregister();
          done();
        });
      });
}

void NodeManager::Reregister() {
  if (!reregister_ || reregistering_ || !Serving()) return;
  reregistering_ = true;
  COMET_LOG(WARNING) << "the GCS does not know this node (it restarted without its tables); "
                        "registering again";
  reregister_([this, mailbox = mailbox_](absl::Status status) {
    if (status.ok()) {
      COMET_LOG(INFO) << "registered with the GCS again";
    } else {
      COMET_LOG(ERROR) << "registering with the GCS again failed: " << status;
    }
    Post(mailbox, [this](bool alive) {
      if (alive) reregistering_ = false;
    });
  });
}

void NodeManager::Post(const std::shared_ptr<Mailbox>& mailbox,
                       std::function<void(bool alive)> fn) {
  absl::MutexLock lock(&mailbox->mu);
  if (mailbox->io == nullptr) return;
  // The NodeManager is alive while the mailbox is open (closed on
  // destruction on the io thread, where the posted work runs).
  boost::asio::post(*mailbox->io, [mailbox, fn = std::move(fn)] {
    bool alive;
    {
      absl::MutexLock lock(&mailbox->mu);
      alive = mailbox->io != nullptr;
    }
    fn(alive);
  });
}

void NodeManager::OnClusterView(const rpc::ReportResourceUsageReply& reply) {
  if (!Serving()) return;
  std::vector<NodeID> gone = cluster_.Update(reply.cluster());
  // Workers leased to drivers and workers of a node that left the cluster
  // run tasks nobody waits for: stop them.
  absl::Time now = absl::Now();
  if (!gone.empty()) {
    StopLeasesOfGoneRequesters(
        [&gone](const LeaseRequester& requester) {
          return std::find(gone.begin(), gone.end(), requester.node) !=
                 gone.end();
        },
        "is on a node that left the cluster", now);
  }
  OnDeadWorkers(reply, now);
  if (options_.on_node_addresses) {
    absl::flat_hash_map<NodeID, std::string> addresses;
    for (const rpc::NodeResources& node : reply.cluster()) {
      auto id = NodeID::FromBinary(node.node_id());
      if (id.ok() && *id != options_.node_id) addresses[*id] = node.raylet_address();
    }
    options_.on_node_addresses(std::move(addresses));
  }
  if (cluster_.num_remote_nodes() == 0) return;
  leases_->SpillQueued(
      [this](const LeaseRequest& request) -> std::optional<SpillbackTarget> {
        // Queued here: it does not fit now (or was spilled here already).
        return ChooseNode(request);
      },
      absl::Now());
  NoteChanges();
}

void NodeManager::OnDeadWorkers(const rpc::ReportResourceUsageReply& reply,
                                absl::Time now) {
  dead_workers_seen_ = reply.dead_workers_sequence();
  if (reply.dead_workers().empty()) return;
  absl::flat_hash_set<WorkerID> dead;
  for (const std::string& binary : reply.dead_workers()) {
    if (auto worker = WorkerID::FromBinary(binary); worker.ok()) {
      dead.insert(*worker);
    }
  }
  StopLeasesOfGoneRequesters(
      [&dead](const LeaseRequester& requester) {
        return dead.contains(requester.worker);
      },
      "died (the GCS says)", now);
}

std::optional<SpillbackTarget> NodeManager::ChooseNode(
    const LeaseRequest& request) {
  // An actor's lease goes where the GCS placed it.
  if (request.dedicated) return std::nullopt;
  std::optional<RemoteNode> node = cluster_.Choose(
      request.demand, LocalNodeState{resources_.total(), resources_.available()},
      request.spread, request.grant_or_reject);
  if (!node) return std::nullopt;
  return SpillbackTarget{node->node_id, node->address};
}

}  // namespace comet::raylet
