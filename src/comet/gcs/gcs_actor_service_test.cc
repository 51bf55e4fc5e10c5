// Actors through the whole GCS: a GcsServer in this process on port 0, a
// fake raylet that grants every lease at once, and a fake core worker that
// answers creation pushes; all driven through real gRPC stubs. Waits use
// generous deadlines, never exact timings, so a loaded machine passes.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "src/comet/common/actor_death_causes.h"

#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "proto/core_worker.grpc.pb.h"
#include "proto/gcs_service.grpc.pb.h"
#include "proto/node_manager.grpc.pb.h"
#include "src/comet/gcs/gcs_server.h"

namespace comet::gcs {
namespace {

using Row = rpc::ActorTableData;

template <typename Cond>
bool WaitFor(Cond cond) {
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    if (cond()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return cond();
}

std::unique_ptr<grpc::Server> Serve(grpc::Service* service, int* port) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           port);
  builder.RegisterService(service);
  return builder.BuildAndStart();
}

// Every "worker" is this one server; each lease names a new worker id.
class FakeWorker : public rpc::CoreWorkerService::Service {
 public:
  grpc::Status PushTask(grpc::ServerContext*,
                        const rpc::PushTaskRequest* request,
                        rpc::PushTaskReply* reply) override {
    absl::MutexLock lock(&mu_);
    pushes_.push_back(*request);
    if (fail_constructors_) {
      reply->set_is_application_error(true);
      reply->add_return_objects()->mutable_value()->set_data("boom");
    }
    return grpc::Status::OK;
  }
  grpc::Status KillActor(grpc::ServerContext*,
                         const rpc::KillActorRequest* request,
                         rpc::KillActorReply*) override {
    absl::MutexLock lock(&mu_);
    kills_.push_back(*request);
    return grpc::Status::OK;
  }

  void set_fail_constructors(bool fail) {
    absl::MutexLock lock(&mu_);
    fail_constructors_ = fail;
  }
  size_t num_pushes() {
    absl::MutexLock lock(&mu_);
    return pushes_.size();
  }
  std::vector<rpc::KillActorRequest> kills() {
    absl::MutexLock lock(&mu_);
    return kills_;
  }

 private:
  absl::Mutex mu_;
  bool fail_constructors_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<rpc::PushTaskRequest> pushes_ ABSL_GUARDED_BY(mu_);
  std::vector<rpc::KillActorRequest> kills_ ABSL_GUARDED_BY(mu_);
};

class FakeRaylet : public rpc::NodeManagerService::Service {
 public:
  explicit FakeRaylet(int worker_port) : worker_port_(worker_port) {}

  grpc::Status RequestWorkerLease(
      grpc::ServerContext* context,
      const rpc::RequestWorkerLeaseRequest* request,
      rpc::RequestWorkerLeaseReply* reply) override {
    // Waits for resources that never come, until the client gives up.
    if (hang_leases_) ++hanging_;
    while (hang_leases_ && !context->IsCancelled()) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    if (context->IsCancelled()) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    }
    absl::MutexLock lock(&mu_);
    leases_.push_back(*request);
    WorkerID worker = WorkerID::FromRandom();
    reply->mutable_worker_address()->set_ip_address("127.0.0.1");
    reply->mutable_worker_address()->set_port(worker_port_);
    reply->mutable_worker_address()->set_worker_id(worker.Binary());
    reply->set_lease_id("lease");
    reply->set_worker_pid(4000 + static_cast<int>(leases_.size()));
    return grpc::Status::OK;
  }
  grpc::Status ReturnWorker(grpc::ServerContext*,
                            const rpc::ReturnWorkerRequest* request,
                            rpc::ReturnWorkerReply*) override {
    absl::MutexLock lock(&mu_);
    returns_.push_back(*request);
    return grpc::Status::OK;
  }
  grpc::Status KillWorker(grpc::ServerContext*,
                          const rpc::KillWorkerRequest* request,
                          rpc::KillWorkerReply*) override {
    absl::MutexLock lock(&mu_);
    kills_.push_back(*request);
    return grpc::Status::OK;
  }
  grpc::Status HealthCheck(grpc::ServerContext*, const rpc::HealthCheckRequest*,
                           rpc::HealthCheckReply*) override {
    return grpc::Status::OK;
  }

  std::vector<rpc::RequestWorkerLeaseRequest> leases() {
    absl::MutexLock lock(&mu_);
    return leases_;
  }
  std::vector<rpc::ReturnWorkerRequest> returns() {
    absl::MutexLock lock(&mu_);
    return returns_;
  }
  std::vector<rpc::KillWorkerRequest> kills() {
    absl::MutexLock lock(&mu_);
    return kills_;
  }

  std::atomic<bool> hang_leases_{false};
  std::atomic<int> hanging_{0};

 private:
  const int worker_port_;
  absl::Mutex mu_;
  std::vector<rpc::RequestWorkerLeaseRequest> leases_ ABSL_GUARDED_BY(mu_);
  std::vector<rpc::ReturnWorkerRequest> returns_ ABSL_GUARDED_BY(mu_);
  std::vector<rpc::KillWorkerRequest> kills_ ABSL_GUARDED_BY(mu_);
};

class GcsActorServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    worker_server_ = Serve(&worker_, &worker_port_);
    raylet_ = std::make_unique<FakeRaylet>(worker_port_);
    raylet_server_ = Serve(raylet_.get(), &raylet_port_);
    ASSERT_NE(raylet_port_, 0);
    gcs_ = std::make_unique<GcsServer>(GcsServerOptions());
    ASSERT_TRUE(gcs_->Start().ok());
    auto channel = grpc::CreateChannel(gcs_->address(),
                                       grpc::InsecureChannelCredentials());
    actors_ = rpc::ActorInfoGcsService::NewStub(channel);
    workers_ = rpc::WorkerInfoGcsService::NewStub(channel);
    jobs_ = rpc::JobInfoGcsService::NewStub(channel);
    auto nodes = rpc::NodeInfoGcsService::NewStub(channel);
    grpc::ClientContext context;
    rpc::RegisterNodeRequest request;
    rpc::NodeInfo* node = request.mutable_node_info();
    node->set_node_id(node_id_.Binary());
    node->set_node_manager_address("127.0.0.1");
    node->set_node_manager_port(raylet_port_);
    (*node->mutable_total_resources()->mutable_quantities())["CPU"] = 2;
    rpc::RegisterNodeReply reply;
    ASSERT_TRUE(nodes->RegisterNode(&context, request, &reply).ok());
  }

  void TearDown() override {
    gcs_->Stop();
    raylet_server_->Shutdown();
    worker_server_->Shutdown();
  }

  rpc::TaskSpec Spec(const ActorID& id, const std::string& name = "",
                     int64_t max_restarts = 0,
                     const std::map<std::string, double>& demand = {}) {
    rpc::TaskSpec spec;
    spec.set_type(rpc::ACTOR_CREATION_TASK);
    spec.set_job_id(JobID::FromInt(1).Binary());
    spec.set_task_id(TaskID::ForActorCreationTask(id).Binary());
    for (const auto& [resource, quantity] : demand) {
      (*spec.mutable_required_resources())[resource] = quantity;
    }
    rpc::ActorCreationSpec* creation = spec.mutable_actor_creation();
    creation->set_actor_id(id.Binary());
    creation->set_name(name);
    creation->set_ray_namespace("ns");
    creation->set_max_restarts(max_restarts);
    creation->set_class_name("Counter");
    return spec;
  }

  ActorID NewActorId() {
    return ActorID::Of(JobID::FromInt(1),
                       TaskID::ForDriverTask(JobID::FromInt(1)), counter_++);
  }

  grpc::Status Register(const rpc::TaskSpec& spec,
                        rpc::RegisterActorReply* reply) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    rpc::RegisterActorRequest request;
    *request.mutable_task_spec() = spec;
    return actors_->RegisterActor(&context, request, reply);
  }

  grpc::Status Create(const ActorID& id, rpc::CreateActorReply* reply) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    rpc::CreateActorRequest request;
    request.set_actor_id(id.Binary());
    return actors_->CreateActor(&context, request, reply);
  }

  std::optional<Row> Get(const ActorID& id) {
    grpc::ClientContext context;
    rpc::GetActorInfoRequest request;
    request.set_actor_id(id.Binary());
    rpc::GetActorInfoReply reply;
    if (!actors_->GetActorInfo(&context, request, &reply).ok() ||
        !reply.found()) {
      return std::nullopt;
    }
    return reply.actor();
  }

  bool Kill(const ActorID& id, bool force, bool no_restart) {
    grpc::ClientContext context;
    rpc::KillActorViaGcsRequest request;
    request.set_actor_id(id.Binary());
    request.set_force_kill(force);
    request.set_no_restart(no_restart);
    rpc::KillActorViaGcsReply reply;
    return actors_->KillActorViaGcs(&context, request, &reply).ok() &&
           reply.found();
  }

  // Register + Create, expecting ALIVE.
  Row CreateAlive(const ActorID& id, const std::string& name = "",
                  int64_t max_restarts = 0) {
    rpc::RegisterActorReply registered;
    EXPECT_TRUE(Register(Spec(id, name, max_restarts), &registered).ok());
    EXPECT_TRUE(registered.error().empty());
    rpc::CreateActorReply created;
    grpc::Status status = Create(id, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(created.actor().state(), Row::ALIVE);
    return created.actor();
  }

  FakeWorker worker_;
  int worker_port_ = 0;
  std::unique_ptr<grpc::Server> worker_server_;
  std::unique_ptr<FakeRaylet> raylet_;
  int raylet_port_ = 0;
  std::unique_ptr<grpc::Server> raylet_server_;
  std::unique_ptr<GcsServer> gcs_;
  NodeID node_id_ = NodeID::FromRandom();
  std::unique_ptr<rpc::ActorInfoGcsService::Stub> actors_;
  std::unique_ptr<rpc::WorkerInfoGcsService::Stub> workers_;
  std::unique_ptr<rpc::JobInfoGcsService::Stub> jobs_;
  size_t counter_ = 0;
};

TEST_F(GcsActorServiceTest, CreateQueryAndRestart) {
  ActorID id = NewActorId();
  Row alive = CreateAlive(id, "counter", /*max_restarts=*/1);
  EXPECT_EQ(alive.address().port(), worker_port_);
  EXPECT_EQ(alive.node_id(), node_id_.Binary());
  EXPECT_EQ(alive.pid(), 4001);
  ASSERT_EQ(raylet_->leases().size(), 1u);
  EXPECT_TRUE(raylet_->leases()[0].is_actor_creation());
  EXPECT_EQ(worker_.num_pushes(), 1u);

  {
    grpc::ClientContext context;
    rpc::GetNamedActorInfoRequest request;
    request.set_name("counter");
    request.set_ray_namespace("ns");
    rpc::GetNamedActorInfoReply reply;
    ASSERT_TRUE(actors_->GetNamedActorInfo(&context, request, &reply).ok());
    EXPECT_TRUE(reply.found());
    EXPECT_EQ(reply.actor().actor_id(), id.Binary());
  }
  {
    rpc::RegisterActorReply clash;
    ASSERT_TRUE(Register(Spec(NewActorId(), "counter"), &clash).ok());
    EXPECT_EQ(clash.error(),
              "Actor name 'counter' already taken in namespace 'ns'");
    EXPECT_EQ(clash.existing().actor_id(), id.Binary());
  }
  {
    grpc::ClientContext context;
    rpc::ListNamedActorsRequest request;
    request.set_all_namespaces(true);
    rpc::ListNamedActorsReply reply;
    ASSERT_TRUE(actors_->ListNamedActors(&context, request, &reply).ok());
    ASSERT_EQ(reply.actors_size(), 1);
  }

  // The raylet reports the worker's crash: a new lease, a new push, ALIVE.
  grpc::ClientContext context;
  rpc::ReportWorkerFailureRequest failure;
  failure.set_worker_id(alive.address().worker_id());
  failure.set_node_id(node_id_.Binary());
  failure.set_exit_detail("signal 9");
  rpc::ReportWorkerFailureReply reply;
  ASSERT_TRUE(workers_->ReportWorkerFailure(&context, failure, &reply).ok());
  ASSERT_TRUE(WaitFor([&] {
    auto row = Get(id);
    return row && row->state() == Row::ALIVE && row->num_restarts() == 1;
  }));
  EXPECT_EQ(raylet_->leases().size(), 2u);
  EXPECT_EQ(worker_.num_pushes(), 2u);
  {
    grpc::ClientContext context;
    rpc::GetAllActorInfoRequest request;
    rpc::GetAllActorInfoReply all;
    ASSERT_TRUE(actors_->GetAllActorInfo(&context, request, &all).ok());
    ASSERT_EQ(all.actors_size(), 1);
    EXPECT_EQ(all.actors(0).num_restarts(), 1);
  }
}

TEST_F(GcsActorServiceTest, KillAndBackstop) {
  ActorID id = NewActorId();
  Row alive = CreateAlive(id);
  ASSERT_TRUE(Kill(id, /*force=*/true, /*no_restart=*/true));
  auto dead = Get(id);
  ASSERT_TRUE(dead.has_value());
  EXPECT_EQ(dead->state(), Row::DEAD);
  EXPECT_EQ(dead->death_cause(), kActorKilledCause);
  ASSERT_TRUE(WaitFor([&] { return worker_.kills().size() == 1; }));
  EXPECT_TRUE(worker_.kills()[0].force_kill());
  // The fake worker never exits: after the grace its raylet kills it.
  ASSERT_TRUE(WaitFor([&] { return raylet_->kills().size() == 1; }));
  EXPECT_EQ(raylet_->kills()[0].worker_id(), alive.address().worker_id());
  EXPECT_FALSE(Kill(NewActorId(), true, true));
}

TEST_F(GcsActorServiceTest, ConstructorErrorAnswersDead) {
  worker_.set_fail_constructors(true);
  ActorID id = NewActorId();
  rpc::RegisterActorReply registered;
  ASSERT_TRUE(Register(Spec(id), &registered).ok());
  rpc::CreateActorReply created;
  ASSERT_TRUE(Create(id, &created).ok());
  EXPECT_EQ(created.actor().state(), Row::DEAD);
  EXPECT_EQ(created.actor().creation_error().data(), "boom");
  ASSERT_TRUE(WaitFor([&] { return raylet_->returns().size() == 1; }));
  EXPECT_TRUE(raylet_->returns()[0].disconnect_worker());
}

TEST_F(GcsActorServiceTest, FinishedJobKillsItsActors) {
  grpc::ClientContext add_context;
  rpc::AddJobRequest add;
  add.mutable_job_info()->set_job_id(JobID::FromInt(1).Binary());
  rpc::AddJobReply added;
  ASSERT_TRUE(jobs_->AddJob(&add_context, add, &added).ok());
  ActorID id = NewActorId();
  CreateAlive(id);
  grpc::ClientContext context;
  rpc::MarkJobFinishedRequest finish;
  finish.set_job_id(JobID::FromInt(1).Binary());
  rpc::MarkJobFinishedReply finished;
  ASSERT_TRUE(jobs_->MarkJobFinished(&context, finish, &finished).ok());
  auto dead = Get(id);
  ASSERT_TRUE(dead.has_value());
  EXPECT_EQ(dead->state(), Row::DEAD);
  EXPECT_EQ(dead->death_cause(), kActorJobFinishedCause);
}

TEST_F(GcsActorServiceTest, StopAnswersAWaitingCreate) {
  ActorID id = NewActorId();
  rpc::RegisterActorReply registered;
  ASSERT_TRUE(
      Register(Spec(id, "", 0, {{"GPU", 1}}), &registered).ok());  // No GPU.
  std::promise<grpc::Status> done;
  grpc::ClientContext context;
  rpc::CreateActorRequest request;
  request.set_actor_id(id.Binary());
  rpc::CreateActorReply reply;
  actors_->async()->CreateActor(
      &context, &request, &reply,
      [&done](grpc::Status status) { done.set_value(status); });
  ASSERT_TRUE(WaitFor([&] {
    auto row = Get(id);
    return row && row->state() == Row::PENDING_CREATION;
  }));
  auto future = done.get_future();
  EXPECT_EQ(future.wait_for(std::chrono::milliseconds(100)),
            std::future_status::timeout);
  gcs_->Stop();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(30)),
            std::future_status::ready);
  EXPECT_EQ(future.get().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(GcsActorServiceTest, StopCancelsALeaseInFlight) {
  raylet_->hang_leases_ = true;
  ActorID id = NewActorId();
  rpc::RegisterActorReply registered;
  ASSERT_TRUE(Register(Spec(id), &registered).ok());
  std::promise<grpc::Status> done;
  grpc::ClientContext context;
  rpc::CreateActorRequest request;
  request.set_actor_id(id.Binary());
  rpc::CreateActorReply reply;
  actors_->async()->CreateActor(
      &context, &request, &reply,
      [&done](grpc::Status status) { done.set_value(status); });
  ASSERT_TRUE(WaitFor([&] { return raylet_->hanging_ > 0; }));
  absl::Time start = absl::Now();
  gcs_->Stop();
  // Stop does not wait for the raylet (well within its 2 s server grace).
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
  auto future = done.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(30)),
            std::future_status::ready);
  EXPECT_EQ(future.get().error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace comet::gcs
