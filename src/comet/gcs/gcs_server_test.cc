// The GCS end to end: a GcsServer in this process on port 0, driven through
// real gRPC stubs. A fake raylet (HealthCheck only) stands in for a healthy
// node; a port with nothing listening stands in for a dead one. Waits use
// generous deadlines, never exact timings, so a loaded machine passes.
#include "src/comet/gcs/gcs_server.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <memory>
#include <thread>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "proto/gcs_service.grpc.pb.h"
#include "proto/node_manager.grpc.pb.h"

namespace comet::gcs {
namespace {

constexpr absl::Duration kWait = absl::Seconds(30);

// Polls `cond` until it holds or kWait passes.
template <typename Cond>
bool WaitFor(Cond cond) {
  absl::Time deadline = absl::Now() + kWait;
  while (absl::Now() < deadline) {
    if (cond()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return cond();
}

// A port on 127.0.0.1 that nothing listens on (bound, then released).
int UnusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// Answers HealthCheck; every other raylet RPC is unimplemented.
class FakeRaylet : public rpc::NodeManagerService::CallbackService {
 public:
  FakeRaylet() {
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
    ++checks_;
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  int port() const { return port_; }
  int checks() const { return checks_; }

 private:
  int port_ = 0;
  std::atomic<int> checks_{0};
  std::unique_ptr<grpc::Server> server_;
};

rpc::NodeInfo Node(const NodeID& id, int port) {
  rpc::NodeInfo node;
  node.set_node_id(id.Binary());
  node.set_node_manager_address("127.0.0.1");
  node.set_node_manager_port(port);
  (*node.mutable_total_resources()->mutable_quantities())["CPU"] = 4;
  return node;
}

class GcsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GcsServerOptions options;
    options.session_dir = "/tmp/comet/session_test";
    options.health_check.period = absl::Milliseconds(200);
    options.health_check.timeout = absl::Milliseconds(200);
    options.health_check.failure_threshold = 3;
    server_ = std::make_unique<GcsServer>(options);
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_GT(server_->port(), 0);
    channel_ = grpc::CreateChannel(server_->address(),
                                   grpc::InsecureChannelCredentials());
    nodes_ = rpc::NodeInfoGcsService::NewStub(channel_);
    resources_ = rpc::NodeResourceInfoGcsService::NewStub(channel_);
    jobs_ = rpc::JobInfoGcsService::NewStub(channel_);
    kv_ = rpc::InternalKVGcsService::NewStub(channel_);
    pubsub_ = rpc::InternalPubSubGcsService::NewStub(channel_);
  }

  void TearDown() override { server_->Stop(); }

  // A unary call with a deadline; fails the test on a transport error.
  template <typename Stub, typename Method, typename Request, typename Reply>
  grpc::Status Call(Stub& stub, Method method, const Request& request,
                    Reply* reply) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(60));
    return (stub.get()->*method)(&context, request, reply);
  }

  rpc::PollReply Poll(std::vector<rpc::ChannelType> channels, int64_t after,
                      int64_t timeout_ms) {
    rpc::PollRequest request;
    for (auto channel : channels) request.add_channels(channel);
    request.set_after_sequence(after);
    request.set_timeout_ms(timeout_ms);
    rpc::PollReply reply;
    grpc::Status status = Call(
        pubsub_, &rpc::InternalPubSubGcsService::Stub::Poll, request, &reply);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return reply;
  }

  int64_t Publish(rpc::ChannelType channel, const std::string& key) {
    rpc::PublishRequest request;
    request.mutable_message()->set_channel(channel);
    request.mutable_message()->set_key(key);
    request.mutable_message()->set_raw("payload");
    rpc::PublishReply reply;
    EXPECT_TRUE(Call(pubsub_, &rpc::InternalPubSubGcsService::Stub::Publish,
                     request, &reply)
                    .ok());
    return reply.sequence();
  }

  std::vector<rpc::NodeInfo> AllNodes() {
    rpc::GetAllNodeInfoReply reply;
    EXPECT_TRUE(Call(nodes_, &rpc::NodeInfoGcsService::Stub::GetAllNodeInfo,
                     rpc::GetAllNodeInfoRequest(), &reply)
                    .ok());
    return {reply.node_info_list().begin(), reply.node_info_list().end()};
  }

  std::optional<rpc::NodeInfo> FindNode(const NodeID& id) {
    for (const rpc::NodeInfo& node : AllNodes()) {
      if (node.node_id() == id.Binary()) return node;
    }
    return std::nullopt;
  }

  std::unique_ptr<GcsServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<rpc::NodeInfoGcsService::Stub> nodes_;
  std::unique_ptr<rpc::NodeResourceInfoGcsService::Stub> resources_;
  std::unique_ptr<rpc::JobInfoGcsService::Stub> jobs_;
  std::unique_ptr<rpc::InternalKVGcsService::Stub> kv_;
  std::unique_ptr<rpc::InternalPubSubGcsService::Stub> pubsub_;
};

using KV = rpc::InternalKVGcsService::Stub;

TEST_F(GcsServerTest, InternalKv) {
  rpc::KVPutRequest put;
  put.set_ns("fun");
  put.set_key("f:1");
  put.set_value("pickled");
  rpc::KVPutReply put_reply;
  ASSERT_TRUE(Call(kv_, &KV::InternalKVPut, put, &put_reply).ok());
  EXPECT_TRUE(put_reply.added());
  put.set_value("other");
  ASSERT_TRUE(Call(kv_, &KV::InternalKVPut, put, &put_reply).ok());
  EXPECT_FALSE(put_reply.added());
  put.set_key("f:2");
  ASSERT_TRUE(Call(kv_, &KV::InternalKVPut, put, &put_reply).ok());

  rpc::KVGetRequest get;
  get.set_ns("fun");
  get.set_key("f:1");
  rpc::KVGetReply get_reply;
  ASSERT_TRUE(Call(kv_, &KV::InternalKVGet, get, &get_reply).ok());
  EXPECT_TRUE(get_reply.found());
  EXPECT_EQ(get_reply.value(), "pickled");  // overwrite=false kept it.
  get.set_ns("elsewhere");
  ASSERT_TRUE(Call(kv_, &KV::InternalKVGet, get, &get_reply).ok());
  EXPECT_FALSE(get_reply.found());

  rpc::KVKeysRequest keys;
  keys.set_ns("fun");
  keys.set_prefix("f:");
  rpc::KVKeysReply keys_reply;
  ASSERT_TRUE(Call(kv_, &KV::InternalKVKeys, keys, &keys_reply).ok());
  EXPECT_EQ(keys_reply.keys_size(), 2);

  rpc::KVExistsRequest exists;
  exists.set_ns("fun");
  exists.set_key("f:2");
  rpc::KVExistsReply exists_reply;
  ASSERT_TRUE(Call(kv_, &KV::InternalKVExists, exists, &exists_reply).ok());
  EXPECT_TRUE(exists_reply.exists());

  rpc::KVDelRequest del;
  del.set_ns("fun");
  del.set_key("f:");
  del.set_by_prefix(true);
  rpc::KVDelReply del_reply;
  ASSERT_TRUE(Call(kv_, &KV::InternalKVDel, del, &del_reply).ok());
  EXPECT_EQ(del_reply.deleted(), 2);
  ASSERT_TRUE(Call(kv_, &KV::InternalKVExists, exists, &exists_reply).ok());
  EXPECT_FALSE(exists_reply.exists());

  // The session directory is published for processes that only know the
  // GCS address.
  get.set_ns(GcsServer::kSessionNamespace);
  get.set_key(GcsServer::kSessionDirKey);
  ASSERT_TRUE(Call(kv_, &KV::InternalKVGet, get, &get_reply).ok());
  EXPECT_EQ(get_reply.value(), "/tmp/comet/session_test");
}

TEST_F(GcsServerTest, JobsArePublished) {
  using Jobs = rpc::JobInfoGcsService::Stub;
  rpc::GetNextJobIDReply id1, id2;
  ASSERT_TRUE(
      Call(jobs_, &Jobs::GetNextJobID, rpc::GetNextJobIDRequest(), &id1).ok());
  ASSERT_TRUE(
      Call(jobs_, &Jobs::GetNextJobID, rpc::GetNextJobIDRequest(), &id2).ok());
  EXPECT_EQ(id1.job_id(), JobID::FromInt(1).Binary());
  EXPECT_EQ(id2.job_id(), JobID::FromInt(2).Binary());

  rpc::AddJobRequest add;
  add.mutable_job_info()->set_job_id(id1.job_id());
  add.mutable_job_info()->set_driver_pid(getpid());
  rpc::AddJobReply add_reply;
  ASSERT_TRUE(Call(jobs_, &Jobs::AddJob, add, &add_reply).ok());
  rpc::MarkJobFinishedRequest finish;
  finish.set_job_id(id1.job_id());
  rpc::MarkJobFinishedReply finish_reply;
  ASSERT_TRUE(Call(jobs_, &Jobs::MarkJobFinished, finish, &finish_reply).ok());
  finish.set_job_id(JobID::FromInt(77).Binary());
  EXPECT_EQ(
      Call(jobs_, &Jobs::MarkJobFinished, finish, &finish_reply).error_code(),
      grpc::StatusCode::NOT_FOUND);

  rpc::GetAllJobInfoReply all;
  ASSERT_TRUE(
      Call(jobs_, &Jobs::GetAllJobInfo, rpc::GetAllJobInfoRequest(), &all)
          .ok());
  ASSERT_EQ(all.job_info_list_size(), 1);
  EXPECT_TRUE(all.job_info_list(0).is_dead());

  rpc::PollReply events = Poll({rpc::JOB_INFO_CHANNEL}, 0, 10000);
  ASSERT_EQ(events.messages_size(), 2);
  EXPECT_FALSE(events.messages(0).job_info().is_dead());
  EXPECT_TRUE(events.messages(1).job_info().is_dead());
  EXPECT_EQ(events.messages(1).key(), id1.job_id());
}

TEST_F(GcsServerTest, DeadDriversFinishTheirJobsAndRayletsHearOfDeaths) {
  using Jobs = rpc::JobInfoGcsService::Stub;
  using Resources = rpc::NodeResourceInfoGcsService::Stub;
  using Workers = rpc::WorkerInfoGcsService::Stub;
  auto workers = rpc::WorkerInfoGcsService::NewStub(channel_);
  FakeRaylet raylet;
  NodeID node = NodeID::FromRandom();
  rpc::RegisterNodeRequest reg;
  *reg.mutable_node_info() = Node(node, raylet.port());
  rpc::RegisterNodeReply reg_reply;
  ASSERT_TRUE(Call(nodes_, &rpc::NodeInfoGcsService::Stub::RegisterNode, reg,
                   &reg_reply)
                  .ok());
  rpc::ReportResourceUsageRequest report;
  report.set_node_id(node.Binary());
  rpc::ReportResourceUsageReply first;
  ASSERT_TRUE(
      Call(resources_, &Resources::ReportResourceUsage, report, &first).ok());
  EXPECT_EQ(first.dead_workers_size(), 0);

  rpc::AddJobRequest add;
  add.mutable_job_info()->set_job_id(JobID::FromInt(1).Binary());
  rpc::AddJobReply add_reply;
  ASSERT_TRUE(Call(jobs_, &Jobs::AddJob, add, &add_reply).ok());
  WorkerID driver = WorkerID::FromRandom();
  rpc::ReportWorkerFailureRequest failure;
  failure.set_worker_id(driver.Binary());
  failure.set_node_id(node.Binary());
  failure.set_driver_job_id(JobID::FromInt(1).Binary());
  rpc::ReportWorkerFailureReply failure_reply;
  ASSERT_TRUE(Call(workers, &Workers::ReportWorkerFailure, failure,
                   &failure_reply)
                  .ok());
  // Twice (a report retried, or a driver that had finished its job): fine.
  ASSERT_TRUE(Call(workers, &Workers::ReportWorkerFailure, failure,
                   &failure_reply)
                  .ok());
  rpc::GetAllJobInfoReply all;
  ASSERT_TRUE(
      Call(jobs_, &Jobs::GetAllJobInfo, rpc::GetAllJobInfoRequest(), &all)
          .ok());
  ASSERT_EQ(all.job_info_list_size(), 1);
  EXPECT_TRUE(all.job_info_list(0).is_dead());

  // The raylet's next report hears of the death, the one after does not.
  report.set_dead_workers_after(first.dead_workers_sequence());
  rpc::ReportResourceUsageReply second;
  ASSERT_TRUE(
      Call(resources_, &Resources::ReportResourceUsage, report, &second).ok());
  ASSERT_GE(second.dead_workers_size(), 1);
  EXPECT_EQ(second.dead_workers(0), driver.Binary());
  EXPECT_GT(second.dead_workers_sequence(), first.dead_workers_sequence());
  report.set_dead_workers_after(second.dead_workers_sequence());
  rpc::ReportResourceUsageReply third;
  ASSERT_TRUE(
      Call(resources_, &Resources::ReportResourceUsage, report, &third).ok());
  EXPECT_EQ(third.dead_workers_size(), 0);

  failure.set_worker_id("bad id");
  EXPECT_EQ(Call(workers, &Workers::ReportWorkerFailure, failure,
                 &failure_reply)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(GcsServerTest, NodesResourcesAndHealthChecks) {
  using Nodes = rpc::NodeInfoGcsService::Stub;
  using Resources = rpc::NodeResourceInfoGcsService::Stub;
  FakeRaylet raylet;
  NodeID healthy = NodeID::FromRandom();
  NodeID unreachable = NodeID::FromRandom();
  rpc::RegisterNodeRequest reg;
  rpc::RegisterNodeReply reg_reply;
  *reg.mutable_node_info() = Node(healthy, raylet.port());
  ASSERT_TRUE(Call(nodes_, &Nodes::RegisterNode, reg, &reg_reply).ok());
  *reg.mutable_node_info() = Node(unreachable, UnusedPort());
  ASSERT_TRUE(Call(nodes_, &Nodes::RegisterNode, reg, &reg_reply).ok());
  reg.mutable_node_info()->set_node_id("bad id");
  EXPECT_EQ(Call(nodes_, &Nodes::RegisterNode, reg, &reg_reply).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // Both were announced ALIVE.
  rpc::PollReply events = Poll({rpc::NODE_INFO_CHANNEL}, 0, 10000);
  ASSERT_EQ(events.messages_size(), 2);
  EXPECT_EQ(events.messages(0).node_info().state(), rpc::NodeInfo::ALIVE);
  EXPECT_EQ(events.messages(1).node_info().state(), rpc::NodeInfo::ALIVE);

  // Resource reports from the healthy node show up.
  rpc::ReportResourceUsageRequest report;
  report.set_node_id(healthy.Binary());
  (*report.mutable_available()->mutable_quantities())["CPU"] = 1;
  rpc::ReportResourceUsageReply report_reply;
  ASSERT_TRUE(
      Call(resources_, &Resources::ReportResourceUsage, report, &report_reply)
          .ok());

  // The unreachable node is declared dead and subscribers hear it.
  ASSERT_TRUE(WaitFor([&] {
    auto node = FindNode(unreachable);
    return node && node->state() == rpc::NodeInfo::DEAD;
  }));
  rpc::NodeInfo dead = *FindNode(unreachable);
  EXPECT_TRUE(absl::StrContains(dead.death_reason(), "health checks"))
      << dead.death_reason();
  EXPECT_GT(dead.end_time_ms(), 0);
  rpc::PollReply death =
      Poll({rpc::NODE_INFO_CHANNEL}, events.latest_sequence(), 10000);
  ASSERT_GE(death.messages_size(), 1);
  EXPECT_EQ(death.messages(0).key(), unreachable.Binary());
  EXPECT_EQ(death.messages(0).node_info().state(), rpc::NodeInfo::DEAD);

  // The healthy node answered its checks and is still alive.
  EXPECT_GT(raylet.checks(), 0);
  EXPECT_EQ(FindNode(healthy)->state(), rpc::NodeInfo::ALIVE);

  rpc::GetAllResourceUsageReply usage;
  ASSERT_TRUE(Call(resources_, &Resources::GetAllResourceUsage,
                   rpc::GetAllResourceUsageRequest(), &usage)
                  .ok());
  ASSERT_EQ(usage.nodes_size(), 1);
  EXPECT_EQ(usage.nodes(0).node_id(), healthy.Binary());
  EXPECT_EQ(usage.nodes(0).available().quantities().at("CPU"), 1);
  EXPECT_EQ(usage.nodes(0).total().quantities().at("CPU"), 4);
  report.set_node_id(unreachable.Binary());
  EXPECT_EQ(
      Call(resources_, &Resources::ReportResourceUsage, report, &report_reply)
          .error_code(),
      grpc::StatusCode::NOT_FOUND);

  // A graceful exit.
  rpc::UnregisterNodeRequest unreg;
  unreg.set_node_id(healthy.Binary());
  unreg.set_reason("raylet exiting");
  rpc::UnregisterNodeReply unreg_reply;
  ASSERT_TRUE(Call(nodes_, &Nodes::UnregisterNode, unreg, &unreg_reply).ok());
  EXPECT_EQ(FindNode(healthy)->state(), rpc::NodeInfo::DEAD);
  EXPECT_EQ(FindNode(healthy)->death_reason(), "raylet exiting");
  ASSERT_TRUE(Call(resources_, &Resources::GetAllResourceUsage,
                   rpc::GetAllResourceUsageRequest(), &usage)
                  .ok());
  EXPECT_EQ(usage.nodes_size(), 0);
}

TEST_F(GcsServerTest, PollTimesOutEmpty) {
  int64_t latest = Publish(rpc::ERROR_INFO_CHANNEL, "e");
  absl::Time start = absl::Now();
  rpc::PollReply reply = Poll({rpc::ERROR_INFO_CHANNEL}, latest, 300);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(250));
  EXPECT_EQ(reply.messages_size(), 0);
  EXPECT_EQ(reply.latest_sequence(), latest);
}

TEST_F(GcsServerTest, WaitingPollIsWokenByPublish) {
  int64_t latest = Publish(rpc::ACTOR_CHANNEL, "before");
  auto poll = std::async(std::launch::async, [&] {
    return Poll({rpc::ERROR_INFO_CHANNEL}, latest, 120000);
  });
  // Give the poll time to reach the server and wait; the outcome is the same
  // if it arrives after the publish.
  absl::SleepFor(absl::Milliseconds(200));
  Publish(rpc::ACTOR_CHANNEL, "not for this poll");
  int64_t sequence = Publish(rpc::ERROR_INFO_CHANNEL, "wake up");
  ASSERT_EQ(poll.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  rpc::PollReply reply = poll.get();
  ASSERT_EQ(reply.messages_size(), 1);
  EXPECT_EQ(reply.messages(0).key(), "wake up");
  EXPECT_EQ(reply.messages(0).raw(), "payload");
  EXPECT_EQ(reply.messages(0).sequence(), sequence);
}

TEST_F(GcsServerTest, ClientDeadlineEndsAWaitingPoll) {
  rpc::PollRequest request;
  request.set_after_sequence(0);
  request.set_timeout_ms(120000);
  rpc::PollReply reply;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(300));
  grpc::Status status = pubsub_->Poll(&context, request, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The server is unaffected.
  EXPECT_EQ(Publish(rpc::ERROR_INFO_CHANNEL, "e"), 1);
}

TEST_F(GcsServerTest, StopAnswersWaitingPolls) {
  auto poll = std::async(std::launch::async, [&] {
    rpc::PollRequest request;
    request.set_timeout_ms(120000);
    rpc::PollReply reply;
    grpc::ClientContext context;
    return pubsub_->Poll(&context, request, &reply);
  });
  absl::SleepFor(absl::Milliseconds(200));
  server_->Stop();
  ASSERT_EQ(poll.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  poll.get();  // OK (empty) or UNAVAILABLE, depending on timing.
}

TEST_F(GcsServerTest, SecondServerOnTheSamePortFails) {
  GcsServerOptions options;
  options.port = server_->port();
  GcsServer second(options);
  absl::Status status = second.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "in use")) << status;
  // The first one still serves.
  EXPECT_EQ(Publish(rpc::ERROR_INFO_CHANNEL, "e"), 1);
}

}  // namespace
}  // namespace comet::gcs
