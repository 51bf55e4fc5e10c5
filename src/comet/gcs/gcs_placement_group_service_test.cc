// Placement groups through a real GcsServer on port 0: the service glue, the
// gRPC bundle reserver and the server's wiring. A fake raylet answers the
// bundle RPCs (and health checks) and records them. Waits use generous
// deadlines, never exact timings.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "proto/gcs_service.grpc.pb.h"
#include "proto/node_manager.grpc.pb.h"
#include "src/comet/gcs/gcs_server.h"

namespace comet::gcs {
namespace {

constexpr absl::Duration kWait = absl::Seconds(30);

// Health checks and bundles: Prepare succeeds while `room` CPUs are left.
class FakeRaylet : public rpc::NodeManagerService::CallbackService {
 public:
  explicit FakeRaylet(double room) : room_(room) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~FakeRaylet() override { server_->Shutdown(); }

  grpc::ServerUnaryReactor* HealthCheck(grpc::CallbackServerContext* context,
                                        const rpc::HealthCheckRequest*,
                                        rpc::HealthCheckReply*) override {
    return Done(context);
  }
  grpc::ServerUnaryReactor* PrepareBundleResources(
      grpc::CallbackServerContext* context,
      const rpc::PrepareBundleResourcesRequest* request,
      rpc::PrepareBundleResourcesReply* reply) override {
    absl::MutexLock lock(&mu_);
    double wanted = 0;
    for (const rpc::Bundle& bundle : request->bundles()) {
      wanted += bundle.resources().at("CPU");
    }
    reply->set_success(wanted <= room_);
    if (reply->success()) room_ -= wanted;
    calls_.push_back("prepare");
    return Done(context);
  }
  grpc::ServerUnaryReactor* CommitBundleResources(
      grpc::CallbackServerContext* context,
      const rpc::CommitBundleResourcesRequest*,
      rpc::CommitBundleResourcesReply*) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back("commit");
    return Done(context);
  }
  grpc::ServerUnaryReactor* CancelResourceReserve(
      grpc::CallbackServerContext* context,
      const rpc::CancelResourceReserveRequest* request,
      rpc::CancelResourceReserveReply*) override {
    absl::MutexLock lock(&mu_);
    for (const rpc::Bundle& bundle : request->bundles()) {
      room_ += bundle.resources().at("CPU");
    }
    calls_.push_back("cancel");
    return Done(context);
  }

  int port() const { return port_; }
  std::vector<std::string> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  static grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* context) {
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  absl::Mutex mu_;
  double room_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);
};

class PlacementGroupServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<GcsServer>(GcsServerOptions());
    ASSERT_TRUE(server_->Start().ok());
    auto channel = grpc::CreateChannel(server_->address(),
                                       grpc::InsecureChannelCredentials());
    nodes_ = rpc::NodeInfoGcsService::NewStub(channel);
    groups_ = rpc::PlacementGroupInfoGcsService::NewStub(channel);
  }

  std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(absl::ToChronoTime(absl::Now() + kWait));
    return context;
  }

  void RegisterNode(const FakeRaylet& raylet, double cpus) {
    rpc::RegisterNodeRequest request;
    rpc::NodeInfo* node = request.mutable_node_info();
    node->set_node_id(NodeID::FromRandom().Binary());
    node->set_node_manager_address("127.0.0.1");
    node->set_node_manager_port(raylet.port());
    (*node->mutable_total_resources()->mutable_quantities())["CPU"] = cpus;
    rpc::RegisterNodeReply reply;
    ASSERT_TRUE(nodes_->RegisterNode(Context().get(), request, &reply).ok());
  }

  // Creates a group of `cpus` bundles; returns its id, or "" with `error`.
  std::string Create(std::vector<double> cpus, const std::string& name = "",
                     std::string* error = nullptr) {
    rpc::CreatePlacementGroupRequest request;
    rpc::PlacementGroupTableData* group = request.mutable_placement_group();
    std::string id = PlacementGroupID::FromRandom(JobID::FromInt(1)).Binary();
    group->set_placement_group_id(id);
    group->set_name(name);
    for (double n : cpus) {
      (*group->add_bundles()->mutable_resources())["CPU"] = n;
    }
    rpc::CreatePlacementGroupReply reply;
    EXPECT_TRUE(
        groups_->CreatePlacementGroup(Context().get(), request, &reply).ok());
    if (error != nullptr) *error = reply.error();
    return reply.error().empty() ? id : "";
  }

  rpc::WaitPlacementGroupUntilReadyReply Wait(const std::string& id,
                                              int64_t timeout_ms) {
    rpc::WaitPlacementGroupUntilReadyRequest request;
    request.set_placement_group_id(id);
    request.set_timeout_ms(timeout_ms);
    rpc::WaitPlacementGroupUntilReadyReply reply;
    grpc::Status status =
        groups_->WaitPlacementGroupUntilReady(Context().get(), request, &reply);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return reply;
  }

  std::unique_ptr<GcsServer> server_;
  std::unique_ptr<rpc::NodeInfoGcsService::Stub> nodes_;
  std::unique_ptr<rpc::PlacementGroupInfoGcsService::Stub> groups_;
};

TEST_F(PlacementGroupServiceTest, CreateWaitLookUpRemove) {
  FakeRaylet raylet(4);
  RegisterNode(raylet, 4);
  std::string id = Create({1, 2}, "pg");
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(Wait(id, 30000).ready());
  EXPECT_EQ(raylet.calls(), (std::vector<std::string>{"prepare", "commit"}));

  rpc::GetNamedPlacementGroupRequest named;
  named.set_name("pg");
  rpc::GetNamedPlacementGroupReply found;
  ASSERT_TRUE(
      groups_->GetNamedPlacementGroup(Context().get(), named, &found).ok());
  ASSERT_TRUE(found.found());
  EXPECT_EQ(found.placement_group().placement_group_id(), id);
  EXPECT_EQ(found.placement_group().state(),
            rpc::PlacementGroupTableData::CREATED);
  EXPECT_EQ(found.placement_group().bundles_size(), 2);

  std::string error;
  EXPECT_TRUE(Create({1}, "pg", &error).empty());
  EXPECT_NE(error.find("already exists"), std::string::npos) << error;
  EXPECT_TRUE(Create({}, "", &error).empty());
  EXPECT_FALSE(error.empty());

  rpc::RemovePlacementGroupRequest remove;
  remove.set_placement_group_id(id);
  rpc::RemovePlacementGroupReply removed;
  ASSERT_TRUE(
      groups_->RemovePlacementGroup(Context().get(), remove, &removed).ok());
  EXPECT_TRUE(removed.found());
  EXPECT_TRUE(Wait(id, 30000).removed());
  absl::Time deadline = absl::Now() + kWait;
  while (raylet.calls().size() < 3 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(raylet.calls().back(), "cancel");

  rpc::GetAllPlacementGroupReply all;
  ASSERT_TRUE(groups_
                  ->GetAllPlacementGroup(
                      Context().get(), rpc::GetAllPlacementGroupRequest(), &all)
                  .ok());
  ASSERT_EQ(all.placement_groups_size(), 1);
  EXPECT_EQ(all.placement_groups(0).state(),
            rpc::PlacementGroupTableData::REMOVED);
}

TEST_F(PlacementGroupServiceTest, GroupThatDoesNotFitWaitsAndTimesOut) {
  FakeRaylet raylet(1);
  RegisterNode(raylet, 1);
  std::string id = Create({2});
  ASSERT_FALSE(id.empty());
  rpc::WaitPlacementGroupUntilReadyReply reply = Wait(id, 200);
  EXPECT_FALSE(reply.ready());
  EXPECT_FALSE(reply.removed());

  rpc::WaitPlacementGroupUntilReadyRequest unknown;
  unknown.set_placement_group_id(
      PlacementGroupID::FromRandom(JobID::FromInt(1)).Binary());
  rpc::WaitPlacementGroupUntilReadyReply none;
  EXPECT_EQ(
      groups_->WaitPlacementGroupUntilReady(Context().get(), unknown, &none)
          .error_code(),
      grpc::StatusCode::NOT_FOUND);
}

TEST_F(PlacementGroupServiceTest, StopAnswersWaiters) {
  std::string id = Create({1});  // No node at all.
  ASSERT_FALSE(id.empty());
  rpc::WaitPlacementGroupUntilReadyRequest request;
  request.set_placement_group_id(id);
  request.set_timeout_ms(600000);
  rpc::WaitPlacementGroupUntilReadyReply reply;
  auto context = Context();
  std::promise<grpc::Status> done;
  groups_->async()->WaitPlacementGroupUntilReady(
      context.get(), &request, &reply,
      [&done](grpc::Status status) { done.set_value(status); });
  absl::SleepFor(absl::Milliseconds(100));  // Let the wait start.
  absl::Time start = absl::Now();
  server_->Stop();
  auto future = done.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(30)),
            std::future_status::ready);
  future.get();
  EXPECT_FALSE(reply.ready());
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
}

}  // namespace
}  // namespace comet::gcs
