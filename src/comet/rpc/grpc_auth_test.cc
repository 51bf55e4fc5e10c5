// The token check over real loopback gRPC: a server built with
// AddListeningPort answers a call only when it carries the cluster token, and
// the handler never runs otherwise.
#include "src/comet/rpc/grpc_auth.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>

#include "proto/gcs_service.grpc.pb.h"
#include "src/comet/rpc/client_pool.h"

namespace comet::rpc {
namespace {

class CountingKv final : public InternalKVGcsService::CallbackService {
 public:
  grpc::ServerUnaryReactor* InternalKVGet(grpc::CallbackServerContext* context,
                                          const KVGetRequest* request,
                                          KVGetReply* reply) override {
    handled.fetch_add(1);
    reply->set_found(true);
    reply->set_value(request->key());
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  std::atomic<int> handled{0};
};

ClusterAuth TokenAuth(const std::string& token) {
  ClusterAuth auth;
  auth.mode = AuthMode::kToken;
  auth.token = token;
  auth.source = "the test";
  return auth;
}

class GrpcAuthTest : public ::testing::Test {
 protected:
  void Serve(const ClusterAuth& auth) {
    grpc::ServerBuilder builder;
    ASSERT_TRUE(AddListeningPort(&builder, "127.0.0.1", 0, auth, stats_, &port_).ok());
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port_, 0);
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  grpc::Status Get(std::shared_ptr<grpc::Channel> channel, KVGetReply* reply) {
    auto stub = InternalKVGcsService::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    KVGetRequest request;
    request.set_key("k");
    return stub->InternalKVGet(&context, request, reply);
  }

  CountingKv service_;
  std::shared_ptr<AuthStats> stats_ = std::make_shared<AuthStats>();
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(GrpcAuthTest, CallWithTheTokenIsServed) {
  ClusterAuth auth = TokenAuth("0123456789abcdef0123456789abcdef");
  Serve(auth);
  KVGetReply reply;
  grpc::Status status = Get(MakeChannel(address(), auth), &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reply.value(), "k");
  EXPECT_EQ(service_.handled.load(), 1);
  EXPECT_EQ(stats_->refused.load(), 0);
}

TEST_F(GrpcAuthTest, CallWithoutTokenIsRefusedBeforeTheHandler) {
  Serve(TokenAuth("0123456789abcdef0123456789abcdef"));
  KVGetReply reply;
  grpc::Status status =
      Get(grpc::CreateChannel(address(), grpc::InsecureChannelCredentials()), &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(status.error_message().find("no cluster token"), std::string::npos);
  EXPECT_EQ(service_.handled.load(), 0);
  EXPECT_EQ(stats_->refused.load(), 1);
}

TEST_F(GrpcAuthTest, WrongTokenIsRefusedAndTheRefusalSaysWhereTheTokenCameFrom) {
  Serve(TokenAuth("0123456789abcdef0123456789abcdef"));
  ClusterAuth wrong = TokenAuth("fedcba9876543210fedcba9876543210");
  wrong.source = "/somewhere/auth_token";
  KVGetReply reply;
  grpc::Status status = Get(MakeChannel(address(), wrong), &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(status.error_message().find("wrong cluster token"), std::string::npos);
  absl::Status explained = ExplainRefusal(status, wrong);
  EXPECT_TRUE(absl::IsUnauthenticated(explained));
  EXPECT_NE(explained.message().find("/somewhere/auth_token"), std::string::npos);
  EXPECT_EQ(service_.handled.load(), 0);
  EXPECT_EQ(stats_->refused.load(), 1);
}

TEST_F(GrpcAuthTest, TokenOfAnotherLengthIsRefused) {
  Serve(TokenAuth("0123456789abcdef0123456789abcdef"));
  KVGetReply reply;
  grpc::Status status =
      Get(MakeChannel(address(), TokenAuth("0123456789abcdef0123456789abcdef0")), &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(service_.handled.load(), 0);
}

TEST_F(GrpcAuthTest, DisabledAuthServesPlainCallsOnLoopback) {
  Serve(ClusterAuth{});
  KVGetReply reply;
  EXPECT_TRUE(
      Get(grpc::CreateChannel(address(), grpc::InsecureChannelCredentials()), &reply).ok());
  EXPECT_EQ(service_.handled.load(), 1);
}

TEST(GrpcAuthListen, DisabledAuthRefusesANonLoopbackAddress) {
  grpc::ServerBuilder builder;
  int port = 0;
  absl::Status status = AddListeningPort(&builder, "0.0.0.0", 0, ClusterAuth{}, nullptr, &port);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("loopback"), std::string::npos);
  EXPECT_TRUE(AddListeningPort(&builder, "0.0.0.0", 0, TokenAuth("0123456789abcdef"), nullptr,
                               &port)
                  .ok());
}

}  // namespace
}  // namespace comet::rpc
