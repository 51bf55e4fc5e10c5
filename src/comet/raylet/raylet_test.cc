// The raylet end to end in one process: a real gRPC server and plasma store,
// a stub GCS served from the test, and fake worker "processes" that register
// through a real NodeManagerService stub from threads of their own.
#include "src/comet/raylet/raylet.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "proto/gcs_service.grpc.pb.h"
#include "proto/node_manager.grpc.pb.h"

namespace comet::raylet {
namespace {

// Polls `cond` until it holds or a generous deadline passes.
bool WaitFor(const std::function<bool()>& cond) {
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!cond()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

std::chrono::system_clock::time_point Deadline(absl::Duration timeout) {
  return absl::ToChronoTime(absl::Now() + timeout);
}

// Just enough GCS: node registration, resource reports and worker exits,
// recorded.
class StubGcs final : public rpc::NodeInfoGcsService::Service,
                      public rpc::NodeResourceInfoGcsService::Service,
                      public rpc::WorkerInfoGcsService::Service {
 public:
  grpc::Status ReportWorkerFailure(
      grpc::ServerContext*, const rpc::ReportWorkerFailureRequest* request,
      rpc::ReportWorkerFailureReply*) override {
    absl::MutexLock lock(&mu_);
    failures_.push_back(*request);
    return grpc::Status::OK;
  }
  std::vector<rpc::ReportWorkerFailureRequest> failures() {
    absl::MutexLock lock(&mu_);
    return failures_;
  }

  grpc::Status RegisterNode(grpc::ServerContext*,
                            const rpc::RegisterNodeRequest* request,
                            rpc::RegisterNodeReply*) override {
    absl::MutexLock lock(&mu_);
    registered_.push_back(request->node_info());
    return grpc::Status::OK;
  }
  grpc::Status UnregisterNode(grpc::ServerContext*,
                              const rpc::UnregisterNodeRequest* request,
                              rpc::UnregisterNodeReply*) override {
    absl::MutexLock lock(&mu_);
    unregistered_.push_back(request->node_id());
    return grpc::Status::OK;
  }
  grpc::Status ReportResourceUsage(
      grpc::ServerContext*, const rpc::ReportResourceUsageRequest* request,
      rpc::ReportResourceUsageReply* reply) override {
    absl::MutexLock lock(&mu_);
    reports_.push_back(*request);
    // Like the GCS: the dead workers the raylet has not seen.
    reply->set_dead_workers_sequence(dead_workers_sequence_);
    if (request->dead_workers_after() < dead_workers_sequence_) {
      for (const std::string& id : dead_workers_) reply->add_dead_workers(id);
    }
    return grpc::Status::OK;
  }
  // What later reports' replies list as dead (all under one new number).
  void SetDeadWorkers(std::vector<std::string> ids, int64_t sequence) {
    absl::MutexLock lock(&mu_);
    dead_workers_ = std::move(ids);
    dead_workers_sequence_ = sequence;
  }

  std::vector<rpc::NodeInfo> registered() {
    absl::MutexLock lock(&mu_);
    return registered_;
  }
  std::vector<std::string> unregistered() {
    absl::MutexLock lock(&mu_);
    return unregistered_;
  }
  std::optional<rpc::ReportResourceUsageRequest> last_report() {
    absl::MutexLock lock(&mu_);
    if (reports_.empty()) return std::nullopt;
    return reports_.back();
  }

 private:
  absl::Mutex mu_;
  std::vector<rpc::NodeInfo> registered_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> unregistered_ ABSL_GUARDED_BY(mu_);
  std::vector<rpc::ReportResourceUsageRequest> reports_ ABSL_GUARDED_BY(mu_);
  std::vector<rpc::ReportWorkerFailureRequest> failures_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> dead_workers_ ABSL_GUARDED_BY(mu_);
  int64_t dead_workers_sequence_ ABSL_GUARDED_BY(mu_) = 0;
};

// Worker "processes" as threads: each registers with the raylet through a
// real gRPC stub, as worker_main would once its server listens.
class FakeWorkers {
 public:
  ~FakeWorkers() { Join(); }

  void Launch(const std::string& raylet_address, const WorkerID& worker_id,
              int pid, int port) {
    absl::MutexLock lock(&mu_);
    threads_.emplace_back([this, raylet_address, worker_id, pid, port] {
      auto stub = rpc::NodeManagerService::NewStub(grpc::CreateChannel(
          raylet_address, grpc::InsecureChannelCredentials()));
      grpc::ClientContext context;
      context.set_deadline(Deadline(absl::Seconds(30)));
      rpc::RegisterWorkerRequest request;
      request.set_worker_id(worker_id.Binary());
      request.set_pid(pid);
      request.set_port(port);
      rpc::RegisterWorkerReply reply;
      grpc::Status status = stub->RegisterWorker(&context, request, &reply);
      absl::MutexLock lock(&mu_);
      registrations_.push_back(status.ok());
    });
  }

  size_t num_registered() {
    absl::MutexLock lock(&mu_);
    return std::count(registrations_.begin(), registrations_.end(), true);
  }

  void Join() {
    std::vector<std::thread> threads;
    {
      absl::MutexLock lock(&mu_);
      threads.swap(threads_);
    }
    for (std::thread& thread : threads) thread.join();
  }

 private:
  absl::Mutex mu_;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> registrations_ ABSL_GUARDED_BY(mu_);
};

// The raylet's spawner in this test: "starting" a worker launches a fake
// one; terminating or killing it reports its exit on the io thread.
class FakeSpawner : public WorkerSpawner {
 public:
  FakeSpawner(boost::asio::io_context& io, std::string raylet_address,
              FakeWorkers* workers, std::atomic<int>* kills)
      : io_(io),
        address_(std::move(raylet_address)),
        workers_(workers),
        kills_(kills) {}

  void SetExitCallback(ExitCallback callback) override {
    on_exit_ = std::move(callback);
  }
  absl::StatusOr<int> Spawn(const WorkerID& worker_id, const WorkerEnv& env) override {
    int pid = next_pid_++;
    workers_->Launch(address_, worker_id, pid, pid - 100000 + 40000);
    return pid;
  }
  void Terminate(int pid) override { Exit(pid, SIGTERM); }
  void Kill(int pid) override {
    ++*kills_;
    Exit(pid, SIGKILL);
  }
  void TerminateAll(absl::Duration) override {}

  // The process crashes on its own (from any thread).
  void Crash(int pid) { Exit(pid, SIGSEGV); }

 private:
  void Exit(int pid, int signal) {
    boost::asio::post(
        io_, [callback = on_exit_, pid, signal] { callback(pid, signal); });
  }

  boost::asio::io_context& io_;
  const std::string address_;
  FakeWorkers* const workers_;
  std::atomic<int>* const kills_;
  ExitCallback on_exit_;
  int next_pid_ = 100000;
};

class RayletTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int gcs_port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &gcs_port);
    builder.RegisterService(
        static_cast<rpc::NodeInfoGcsService::Service*>(&gcs_));
    builder.RegisterService(
        static_cast<rpc::NodeResourceInfoGcsService::Service*>(&gcs_));
    builder.RegisterService(
        static_cast<rpc::WorkerInfoGcsService::Service*>(&gcs_));
    gcs_server_ = builder.BuildAndStart();
    ASSERT_NE(gcs_port, 0);

    char dir[] = "/tmp/raylet-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;

    RayletOptions options;
    options.node_id = NodeID::FromRandom();
    options.gcs_address = "127.0.0.1:" + std::to_string(gcs_port);
    options.node_name = "test-node";
    options.session_dir = dir_;
    options.plasma.socket_path = dir_ + "/plasma.sock";
    options.plasma.capacity = 8 << 20;
    options.resources = *ResourceSet::FromDoubles({{"CPU", 2}, {"GPU", 1}});
    options.prestart_workers = 1;
    options.pool.idle_soft_limit = 2;
    options.lease.max_starting_workers = 2;
    options.report.min_interval = absl::Milliseconds(20);
    options.spawner_factory = [this](boost::asio::io_context& io,
                                     const std::string& address) {
      auto spawner =
          std::make_unique<FakeSpawner>(io, address, &workers_, &kills_);
      spawner_ = spawner.get();
      return spawner;
    };
    auto raylet = Raylet::Start(options);
    ASSERT_TRUE(raylet.ok()) << raylet.status();
    raylet_ = *std::move(raylet);
    stub_ = rpc::NodeManagerService::NewStub(grpc::CreateChannel(
        raylet_->address(), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (raylet_) raylet_->Stop();
    workers_.Join();
    if (gcs_server_) gcs_server_->Shutdown();
    rmdir(dir_.c_str());
  }

  rpc::RequestWorkerLeaseRequest LeaseRequest(
      const std::map<std::string, double>& resources, uint32_t job = 1,
      const std::string& task_id = "task") {
    rpc::RequestWorkerLeaseRequest request;
    for (const auto& [name, quantity] : resources) {
      (*request.mutable_required_resources())[name] = quantity;
    }
    request.set_job_id(JobID::FromInt(job).Binary());
    request.set_task_id(task_id);
    return request;
  }

  grpc::Status Lease(const rpc::RequestWorkerLeaseRequest& request,
                     rpc::RequestWorkerLeaseReply* reply,
                     absl::Duration timeout = absl::Seconds(30)) {
    grpc::ClientContext context;
    context.set_deadline(Deadline(timeout));
    return stub_->RequestWorkerLease(&context, request, reply);
  }

  // A lease request whose reply arrives later, through the future.
  struct PendingLease {
    grpc::ClientContext context;
    rpc::RequestWorkerLeaseRequest request;
    rpc::RequestWorkerLeaseReply reply;
    std::promise<grpc::Status> done;
  };
  std::unique_ptr<PendingLease> LeaseAsync(
      const rpc::RequestWorkerLeaseRequest& request,
      absl::Duration timeout = absl::Seconds(60)) {
    auto pending = std::make_unique<PendingLease>();
    pending->request = request;
    pending->context.set_deadline(Deadline(timeout));
    PendingLease* raw = pending.get();
    stub_->async()->RequestWorkerLease(
        &raw->context, &raw->request, &raw->reply,
        [raw](grpc::Status status) { raw->done.set_value(status); });
    return pending;
  }

  grpc::Status Return(const rpc::RequestWorkerLeaseReply& lease,
                      bool disconnect = false) {
    grpc::ClientContext context;
    context.set_deadline(Deadline(absl::Seconds(30)));
    rpc::ReturnWorkerRequest request;
    request.set_worker_id(lease.worker_address().worker_id());
    request.set_lease_id(lease.lease_id());
    request.set_disconnect_worker(disconnect);
    rpc::ReturnWorkerReply reply;
    return stub_->ReturnWorker(&context, request, &reply);
  }

  rpc::GetNodeStatsReply Stats() {
    grpc::ClientContext context;
    context.set_deadline(Deadline(absl::Seconds(30)));
    rpc::GetNodeStatsReply reply;
    grpc::Status status =
        stub_->GetNodeStats(&context, rpc::GetNodeStatsRequest(), &reply);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return reply;
  }

  double Available(const std::string& name) {
    auto stats = Stats();
    auto it = stats.available().quantities().find(name);
    return it == stats.available().quantities().end() ? 0 : it->second;
  }

  StubGcs gcs_;
  std::unique_ptr<grpc::Server> gcs_server_;
  std::string dir_;
  FakeWorkers workers_;
  std::atomic<int> kills_{0};
  FakeSpawner* spawner_ = nullptr;  // Owned by the raylet.
  std::unique_ptr<Raylet> raylet_;
  std::unique_ptr<rpc::NodeManagerService::Stub> stub_;
};

TEST_F(RayletTest, RegistersWithTheGcsAndReports) {
  std::vector<rpc::NodeInfo> nodes = gcs_.registered();
  ASSERT_EQ(nodes.size(), 1u);
  const rpc::NodeInfo& node = nodes[0];
  EXPECT_EQ(node.node_id(), raylet_->node_id().Binary());
  EXPECT_EQ(node.node_manager_address(), "127.0.0.1");
  EXPECT_EQ(node.node_manager_port(), raylet_->port());
  EXPECT_EQ(node.object_store_socket(), dir_ + "/plasma.sock");
  EXPECT_EQ(node.node_name(), "test-node");
  EXPECT_EQ(node.session_dir(), dir_);
  EXPECT_GT(node.start_time_ms(), 0);
  const auto& total = node.total_resources().quantities();
  EXPECT_EQ(total.at("CPU"), 2);
  EXPECT_EQ(total.at("GPU"), 1);
  EXPECT_EQ(total.at("object_store_memory"), 8 << 20);
  EXPECT_EQ(total.at("node:127.0.0.1"), 1);
  EXPECT_EQ(total.at("node_id:" + raylet_->node_id().Hex()), 1);
  ASSERT_TRUE(WaitFor([&] { return gcs_.last_report().has_value(); }));
  EXPECT_EQ(gcs_.last_report()->node_id(), raylet_->node_id().Binary());

  grpc::ClientContext context;
  context.set_deadline(Deadline(absl::Seconds(30)));
  rpc::HealthCheckReply reply;
  EXPECT_TRUE(
      stub_->HealthCheck(&context, rpc::HealthCheckRequest(), &reply).ok());

  struct stat info;
  EXPECT_EQ(stat((dir_ + "/plasma.sock").c_str(), &info), 0);
  raylet_->Stop();
  EXPECT_EQ(gcs_.unregistered(),
            std::vector<std::string>{raylet_->node_id().Binary()});
  EXPECT_NE(stat((dir_ + "/plasma.sock").c_str(), &info), 0);
}

TEST_F(RayletTest, LeaseAndReturnAWorker) {
  rpc::RequestWorkerLeaseReply lease;
  grpc::Status status = Lease(LeaseRequest({{"CPU", 1}}), &lease);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_FALSE(lease.rejected()) << lease.failure_message();
  EXPECT_EQ(lease.worker_address().node_id(), raylet_->node_id().Binary());
  EXPECT_EQ(lease.worker_address().ip_address(), "127.0.0.1");
  EXPECT_EQ(lease.worker_address().port(), 40000);  // The prestarted worker.
  EXPECT_EQ(lease.worker_address().worker_id().size(), WorkerID::Size());
  EXPECT_FALSE(lease.lease_id().empty());
  EXPECT_EQ(Available("CPU"), 1);

  // The GCS hears about the change.
  ASSERT_TRUE(WaitFor([&] {
    auto report = gcs_.last_report();
    return report && report->available().quantities().at("CPU") == 1;
  }));
  auto stats = Stats();
  ASSERT_EQ(stats.workers_size(), 1);
  EXPECT_FALSE(stats.workers(0).is_idle());
  EXPECT_EQ(stats.workers(0).job_id(), JobID::FromInt(1).Binary());

  ASSERT_TRUE(Return(lease).ok());
  EXPECT_EQ(Available("CPU"), 2);
  EXPECT_TRUE(Stats().workers(0).is_idle());
  // A second return of the same lease is refused.
  EXPECT_FALSE(Return(lease).ok());
  ASSERT_TRUE(WaitFor([&] {
    auto report = gcs_.last_report();
    return report && report->available().quantities().at("CPU") == 2;
  }));
}

TEST_F(RayletTest, StartsWorkersOnDemandAndBindsThemToJobs) {
  rpc::RequestWorkerLeaseReply first, second;
  ASSERT_TRUE(Lease(LeaseRequest({{"CPU", 1}}, 1), &first).ok());
  // Another job cannot use job 1's worker: a new one starts and registers.
  ASSERT_TRUE(Lease(LeaseRequest({{"CPU", 1}}, 2), &second).ok());
  ASSERT_FALSE(second.rejected());
  EXPECT_NE(second.worker_address().worker_id(),
            first.worker_address().worker_id());
  // (The worker's own thread records its registration after the reply.)
  EXPECT_TRUE(WaitFor([&] { return workers_.num_registered() == 2; }));
  EXPECT_EQ(Available("CPU"), 0);
  ASSERT_TRUE(Return(first).ok());
  ASSERT_TRUE(Return(second, /*disconnect=*/true).ok());
  ASSERT_TRUE(WaitFor([&] { return Stats().workers_size() == 1; }));
}

TEST_F(RayletTest, QueuedLeaseIsGrantedWhenResourcesFree) {
  rpc::RequestWorkerLeaseReply first;
  ASSERT_TRUE(Lease(LeaseRequest({{"CPU", 2}}), &first).ok());
  auto waiting = LeaseAsync(LeaseRequest({{"CPU", 1}}));
  ASSERT_TRUE(WaitFor([&] { return Stats().num_pending_leases() == 1; }));
  ASSERT_TRUE(WaitFor([&] {
    auto report = gcs_.last_report();
    return report && report->pending_demands_size() == 1;
  }));
  ASSERT_TRUE(Return(first).ok());
  auto future = waiting->done.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(30)),
            std::future_status::ready);
  EXPECT_TRUE(future.get().ok());
  EXPECT_FALSE(waiting->reply.rejected());
  EXPECT_EQ(waiting->reply.worker_address().worker_id(),
            first.worker_address().worker_id());
}

TEST_F(RayletTest, InfeasibleLeaseWaitsUntilCancelled) {
  auto infeasible = LeaseAsync(LeaseRequest({{"CPU", 8}}, 1, "big-task"));
  ASSERT_TRUE(WaitFor([&] { return Stats().infeasible_demands_size() == 1; }));
  EXPECT_EQ(Stats().infeasible_demands(0).quantities().at("CPU"), 8);
  ASSERT_TRUE(WaitFor([&] {
    auto report = gcs_.last_report();
    return report && report->pending_demands_size() == 1 &&
           report->pending_demands(0).quantities().at("CPU") == 8;
  }));
  // Other work still runs.
  rpc::RequestWorkerLeaseReply small;
  ASSERT_TRUE(Lease(LeaseRequest({{"CPU", 1}}), &small).ok());
  ASSERT_TRUE(Return(small).ok());

  grpc::ClientContext context;
  context.set_deadline(Deadline(absl::Seconds(30)));
  rpc::CancelWorkerLeaseRequest cancel;
  cancel.set_task_id("big-task");
  rpc::CancelWorkerLeaseReply cancelled;
  ASSERT_TRUE(stub_->CancelWorkerLease(&context, cancel, &cancelled).ok());
  EXPECT_TRUE(cancelled.success());
  auto future = infeasible->done.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(30)),
            std::future_status::ready);
  EXPECT_TRUE(future.get().ok());
  EXPECT_TRUE(infeasible->reply.rejected());
  EXPECT_FALSE(infeasible->reply.failure_message().empty());
  EXPECT_EQ(Stats().infeasible_demands_size(), 0);
}

TEST_F(RayletTest, ClientDeadlineDropsTheQueuedRequest) {
  rpc::RequestWorkerLeaseReply all;
  ASSERT_TRUE(Lease(LeaseRequest({{"CPU", 2}}), &all).ok());
  rpc::RequestWorkerLeaseReply late;
  grpc::Status status =
      Lease(LeaseRequest({{"CPU", 1}}), &late, absl::Milliseconds(300));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(WaitFor([&] { return Stats().num_pending_leases() == 0; }));
  ASSERT_TRUE(Return(all).ok());
  EXPECT_EQ(Available("CPU"), 2);
}

TEST_F(RayletTest, FractionalGpuLeasesGetInstanceIds) {
  rpc::RequestWorkerLeaseReply half;
  ASSERT_TRUE(Lease(LeaseRequest({{"GPU", 0.5}}), &half).ok());
  ASSERT_EQ(half.resource_assignments_size(), 1);
  const rpc::ResourceAssignment& gpu = half.resource_assignments(0);
  EXPECT_EQ(gpu.name(), "GPU");
  ASSERT_EQ(gpu.instance_ids_size(), 1);
  EXPECT_EQ(gpu.instance_ids(0), 0);
  EXPECT_EQ(gpu.fractions(0), 0.5);
  EXPECT_EQ(Available("GPU"), 0.5);
  ASSERT_TRUE(Return(half).ok());
  EXPECT_EQ(Available("GPU"), 1);
}

TEST_F(RayletTest, KilledLeasedWorkerFreesItsResources) {
  rpc::RequestWorkerLeaseReply lease;
  ASSERT_TRUE(Lease(LeaseRequest({{"CPU", 1}}), &lease).ok());
  grpc::ClientContext context;
  context.set_deadline(Deadline(absl::Seconds(30)));
  rpc::KillWorkerRequest kill;
  kill.set_worker_id(lease.worker_address().worker_id());
  kill.set_reason("force cancel");
  rpc::KillWorkerReply killed;
  ASSERT_TRUE(stub_->KillWorker(&context, kill, &killed).ok());
  EXPECT_EQ(kills_.load(), 1);
  ASSERT_TRUE(WaitFor([&] { return Available("CPU") == 2; }));
  EXPECT_EQ(Stats().workers_size(), 0);
  // The submitter's return of the dead worker's lease is harmless.
  EXPECT_TRUE(Return(lease, /*disconnect=*/true).ok());
  EXPECT_EQ(Available("CPU"), 2);
}

TEST_F(RayletTest, BlockedWorkerLendsItsCpus) {
  rpc::RequestWorkerLeaseReply parent;
  ASSERT_TRUE(Lease(LeaseRequest({{"CPU", 2}}), &parent).ok());
  auto child = LeaseAsync(LeaseRequest({{"CPU", 1}}));
  ASSERT_TRUE(WaitFor([&] { return Stats().num_pending_leases() == 1; }));
  {
    grpc::ClientContext context;
    context.set_deadline(Deadline(absl::Seconds(30)));
    rpc::NotifyWorkerBlockedRequest blocked;
    blocked.set_worker_id(parent.worker_address().worker_id());
    rpc::NotifyWorkerBlockedReply reply;
    ASSERT_TRUE(stub_->NotifyWorkerBlocked(&context, blocked, &reply).ok());
  }
  auto future = child->done.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(30)),
            std::future_status::ready);
  ASSERT_TRUE(future.get().ok());
  EXPECT_FALSE(child->reply.rejected());
  {
    grpc::ClientContext context;
    context.set_deadline(Deadline(absl::Seconds(30)));
    rpc::NotifyWorkerUnblockedRequest unblocked;
    unblocked.set_worker_id(parent.worker_address().worker_id());
    rpc::NotifyWorkerUnblockedReply reply;
    ASSERT_TRUE(stub_->NotifyWorkerUnblocked(&context, unblocked, &reply).ok());
  }
  ASSERT_TRUE(Return(child->reply).ok());
  ASSERT_TRUE(Return(parent).ok());
  EXPECT_EQ(Available("CPU"), 2);
}

TEST_F(RayletTest, RejectsBadRequests) {
  grpc::ClientContext context;
  context.set_deadline(Deadline(absl::Seconds(30)));
  rpc::RegisterWorkerRequest stranger;
  stranger.set_worker_id(WorkerID::FromRandom().Binary());
  rpc::RegisterWorkerReply reply;
  EXPECT_EQ(stub_->RegisterWorker(&context, stranger, &reply).error_code(),
            grpc::StatusCode::NOT_FOUND);

  rpc::RequestWorkerLeaseReply lease;
  EXPECT_EQ(Lease(LeaseRequest({{"CPU", -1}}), &lease).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  rpc::RequestWorkerLeaseRequest bad_job = LeaseRequest({{"CPU", 1}});
  bad_job.set_job_id("x");
  EXPECT_EQ(Lease(bad_job, &lease).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(RayletTest, BundlesArePreparedCommittedLeasedAndCancelled) {
  PlacementGroupID group = PlacementGroupID::FromRandom(JobID::FromInt(1));
  std::string bundle_cpu = "CPU_group_0_" + group.Hex();
  std::string group_cpu = "CPU_group_" + group.Hex();
  // A task of the group asks (for bundle 0 and, as submitters do, for the
  // group's wildcard) before the bundle exists: it waits.
  auto early =
      LeaseAsync(LeaseRequest({{bundle_cpu, 1}, {group_cpu, 1}}, 1, "early"));
  ASSERT_TRUE(WaitFor([&] { return Stats().infeasible_demands_size() == 1; }));

  rpc::Bundle bundle;
  bundle.set_placement_group_id(group.Binary());
  bundle.set_index(0);
  (*bundle.mutable_resources())["CPU"] = 2;
  {
    grpc::ClientContext context;
    context.set_deadline(Deadline(absl::Seconds(30)));
    rpc::PrepareBundleResourcesRequest request;
    *request.add_bundles() = bundle;
    (*request.add_bundles()->mutable_resources())["CPU"] = 1;  // Too much.
    request.mutable_bundles(1)->set_placement_group_id(group.Binary());
    request.mutable_bundles(1)->set_index(1);
    rpc::PrepareBundleResourcesReply reply;
    ASSERT_TRUE(stub_->PrepareBundleResources(&context, request, &reply).ok());
    EXPECT_FALSE(reply.success());
    EXPECT_EQ(Available("CPU"), 2);  // All or nothing.
  }
  {
    grpc::ClientContext context;
    context.set_deadline(Deadline(absl::Seconds(30)));
    rpc::PrepareBundleResourcesRequest request;
    *request.add_bundles() = bundle;
    rpc::PrepareBundleResourcesReply reply;
    ASSERT_TRUE(stub_->PrepareBundleResources(&context, request, &reply).ok());
    EXPECT_TRUE(reply.success());
    EXPECT_EQ(Available("CPU"), 0);
  }
  {
    grpc::ClientContext context;
    context.set_deadline(Deadline(absl::Seconds(30)));
    rpc::CommitBundleResourcesRequest request;
    *request.add_bundles() = bundle;
    rpc::CommitBundleResourcesReply reply;
    ASSERT_TRUE(stub_->CommitBundleResources(&context, request, &reply).ok());
  }
  auto future = early->done.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(30)),
            std::future_status::ready);
  ASSERT_TRUE(future.get().ok());
  ASSERT_FALSE(early->reply.rejected());
  EXPECT_EQ(Available(bundle_cpu), 1);
  EXPECT_EQ(Available(group_cpu), 1);
  ASSERT_TRUE(WaitFor([&] {
    auto report = gcs_.last_report();
    return report && report->total().quantities().count("bundle_group_0_" +
                                                        group.Hex()) == 1;
  }));

  {
    grpc::ClientContext context;
    context.set_deadline(Deadline(absl::Seconds(30)));
    rpc::CancelResourceReserveRequest request;
    *request.add_bundles() = bundle;
    rpc::CancelResourceReserveReply reply;
    ASSERT_TRUE(stub_->CancelResourceReserve(&context, request, &reply).ok());
  }
  EXPECT_EQ(Available("CPU"), 2);
  EXPECT_EQ(Stats().total().quantities().count(bundle_cpu), 0u);
  ASSERT_TRUE(Return(early->reply).ok());  // Into a removed bundle: fine.
  EXPECT_EQ(Available("CPU"), 2);
  EXPECT_EQ(Available(bundle_cpu), 0);
  EXPECT_EQ(Available(group_cpu), 0);
}

TEST_F(RayletTest, ShutdownRejectsQueuedLeases) {
  auto infeasible = LeaseAsync(LeaseRequest({{"CPU", 8}}));
  ASSERT_TRUE(WaitFor([&] { return Stats().infeasible_demands_size() == 1; }));
  raylet_->Stop();
  auto future = infeasible->done.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(30)),
            std::future_status::ready);
  grpc::Status status = future.get();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(infeasible->reply.rejected());
}

// A failure report for `worker_id`, once the GCS has it.
std::optional<rpc::ReportWorkerFailureRequest> FailureOf(
    StubGcs& gcs, const std::string& worker_id) {
  std::optional<rpc::ReportWorkerFailureRequest> found;
  WaitFor([&] {
    for (const auto& failure : gcs.failures()) {
      if (failure.worker_id() == worker_id) found = failure;
    }
    return found.has_value();
  });
  return found;
}

TEST_F(RayletTest, ActorLeaseNeedsNoCpuAndItsWorkerIsNeverReused) {
  rpc::RequestWorkerLeaseReply busy;
  ASSERT_TRUE(Lease(LeaseRequest({{"CPU", 2}}), &busy).ok());
  rpc::RequestWorkerLeaseRequest request = LeaseRequest({});
  request.set_is_actor_creation(true);
  request.set_actor_id(std::string(16, 'a'));
  rpc::RequestWorkerLeaseReply actor;
  ASSERT_TRUE(Lease(request, &actor).ok());
  ASSERT_FALSE(actor.rejected()) << actor.failure_message();
  EXPECT_NE(actor.worker_address().worker_id(),
            busy.worker_address().worker_id());
  EXPECT_GT(actor.worker_pid(), 0);
  EXPECT_EQ(Available("CPU"), 0);

  // Returned without disconnect, the actor's worker still stops, and the
  // GCS hears about it as an intended exit.
  ASSERT_TRUE(Return(actor, /*disconnect=*/false).ok());
  auto failure = FailureOf(gcs_, actor.worker_address().worker_id());
  ASSERT_TRUE(failure.has_value());
  EXPECT_TRUE(failure->intentional());
  EXPECT_EQ(failure->node_id(), raylet_->node_id().Binary());
  EXPECT_EQ(failure->pid(), actor.worker_pid());
  ASSERT_TRUE(WaitFor([&] { return Stats().workers_size() == 1; }));
  ASSERT_TRUE(Return(busy).ok());
  EXPECT_EQ(Available("CPU"), 2);
}

TEST_F(RayletTest, ReportsWorkerCrashesToTheGcs) {
  rpc::RequestWorkerLeaseReply lease;
  ASSERT_TRUE(Lease(LeaseRequest({{"CPU", 1}}), &lease).ok());
  ASSERT_NE(spawner_, nullptr);
  spawner_->Crash(lease.worker_pid());
  auto failure = FailureOf(gcs_, lease.worker_address().worker_id());
  ASSERT_TRUE(failure.has_value());
  EXPECT_FALSE(failure->intentional());
  EXPECT_EQ(failure->exit_detail(), "signal 11");
  ASSERT_TRUE(WaitFor([&] { return Available("CPU") == 2; }));
}

TEST_F(RayletTest, EndsLeasesOfRequestersTheGcsListsAsDead) {
  WorkerID doomed = WorkerID::FromRandom();
  NodeID elsewhere = NodeID::FromRandom();
  rpc::RequestWorkerLeaseRequest request = LeaseRequest({{"CPU", 1}});
  request.set_requester_node_id(elsewhere.Binary());
  request.set_requester_worker_id(doomed.Binary());
  rpc::RequestWorkerLeaseReply lease, kept;
  ASSERT_TRUE(Lease(request, &lease).ok());
  request.set_requester_worker_id(WorkerID::FromRandom().Binary());
  ASSERT_TRUE(Lease(request, &kept).ok());
  ASSERT_FALSE(lease.rejected() || kept.rejected());
  EXPECT_EQ(Available("CPU"), 0);

  gcs_.SetDeadWorkers({doomed.Binary()}, 7);
  // The doomed requester's worker is stopped and its CPU freed; the other
  // lease stays.
  ASSERT_TRUE(WaitFor([&] { return Available("CPU") == 1; }));
  auto stopped = FailureOf(gcs_, lease.worker_address().worker_id());
  ASSERT_TRUE(stopped.has_value());
  EXPECT_TRUE(stopped->intentional());
  ASSERT_TRUE(WaitFor([&] {
    auto report = gcs_.last_report();
    return report && report->dead_workers_after() == 7;
  }));
  ASSERT_TRUE(Return(kept).ok());
  EXPECT_EQ(Available("CPU"), 2);
}

TEST_F(RayletTest, ReportsADriverWhoseProcessIsGone) {
  auto register_driver = [&](uint32_t job, const WorkerID& worker, int pid) {
    grpc::ClientContext context;
    context.set_deadline(Deadline(absl::Seconds(30)));
    rpc::RegisterDriverRequest request;
    request.set_job_id(JobID::FromInt(job).Binary());
    request.set_worker_id(worker.Binary());
    request.set_pid(pid);
    rpc::RegisterDriverReply reply;
    return stub_->RegisterDriver(&context, request, &reply);
  };
  EXPECT_EQ(register_driver(1, WorkerID::FromRandom(), 0).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    for (;;) pause();
  }
  WorkerID alive = WorkerID::FromRandom();
  WorkerID killed = WorkerID::FromRandom();
  ASSERT_TRUE(register_driver(3, alive, getpid()).ok());
  ASSERT_TRUE(register_driver(4, killed, child).ok());
  kill(child, SIGKILL);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);

  auto failure = FailureOf(gcs_, killed.Binary());
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->driver_job_id(), JobID::FromInt(4).Binary());
  EXPECT_EQ(failure->pid(), child);
  EXPECT_EQ(failure->node_id(), raylet_->node_id().Binary());
  // The same check found the live driver (this process) alive.
  for (const auto& f : gcs_.failures()) {
    EXPECT_NE(f.worker_id(), alive.Binary());
  }
}

}  // namespace
}  // namespace comet::raylet
