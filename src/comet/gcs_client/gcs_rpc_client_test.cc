// GcsRpcClient against a real GcsServer in this process that is stopped and
// started again on the same port, as the supervisor does: blocking and async
// calls wait it out, a call to nothing fails fast when asked to, and a GCS
// that stays away gives the error naming the setting. Waits are generous;
// nothing asserts how fast a call is beyond "not the whole timeout".
#include "src/comet/gcs_client/gcs_rpc_client.h"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "src/comet/gcs/gcs_process_for_test.h"
#include "src/comet/gcs/gcs_server.h"

namespace comet::gcs_client {
namespace {

std::unique_ptr<gcs::GcsServer> StartGcs(int port) {
  gcs::GcsServerOptions options;
  options.port = port;
  auto server = std::make_unique<gcs::GcsServer>(options);
  absl::Status status = server->Start();
  EXPECT_TRUE(status.ok()) << status;
  return server;
}

GcsClientOptions Options(int port, absl::Duration reconnect_timeout) {
  GcsClientOptions options;
  options.address = absl::StrCat("127.0.0.1:", port);
  options.reconnect_timeout = reconnect_timeout;
  return options;
}

grpc::Status Put(GcsRpcClient& gcs, const std::string& key) {
  rpc::KVPutRequest request;
  request.set_ns("test");
  request.set_key(key);
  request.set_value("v");
  request.set_overwrite(true);
  rpc::KVPutReply reply;
  return gcs.Call([&](grpc::ClientContext* c) { return gcs.kv().InternalKVPut(c, request, &reply); });
}

// A port nothing listens on: a GCS started on port 0 and stopped.
int FreedPort() {
  auto server = StartGcs(0);
  int port = server->port();
  server->Stop();
  return port;
}

TEST(GcsRpcClientTest, BlockingCallWaitsOutARestart) {
  auto server = StartGcs(0);
  const int port = server->port();
  GcsRpcClient gcs(Options(port, absl::Seconds(60)));
  ASSERT_TRUE(Put(gcs, "before").ok());
  server->Stop();
  server.reset();
  // The GCS comes back on the same port a little later.
  std::promise<std::unique_ptr<gcs::GcsServer>> restarted;
  std::thread restarter([&] {
    absl::SleepFor(absl::Milliseconds(800));
    restarted.set_value(StartGcs(port));
  });
  grpc::Status status = Put(gcs, "during");
  restarter.join();
  auto again = restarted.get_future().get();
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// A real gcs_server process killed with SIGKILL while a long poll is in
// flight (a GCS stopped in-process answers its polls first), then started
// again on the same port.
TEST(GcsRpcClientTest, AsyncCallIsRetriedWhenTheGcsDiesMidCall) {
  const std::string token(64, 'a');
  setenv("COMET_AUTH_TOKEN", token.c_str(), 1);  // the children's token
  auto first = gcs::testing::Child::Spawn({"--port=0"});
  ASSERT_NE(first, nullptr);
  const int port = gcs::testing::PortOf(gcs::testing::Child::ReadLine(first->out));
  ASSERT_GT(port, 0);
  GcsClientOptions options = Options(port, absl::Seconds(60));
  options.auth.mode = rpc::AuthMode::kToken;
  options.auth.token = token;
  GcsRpcClient gcs(options);
  grpc::Status put = Put(gcs, "before");
  ASSERT_TRUE(put.ok()) << put.error_message();
  rpc::PollRequest poll;
  poll.add_channels(rpc::ACTOR_CHANNEL);
  poll.set_after_sequence(-1);
  rpc::PollReply now;
  ASSERT_TRUE(gcs.Call([&](grpc::ClientContext* c) { return gcs.pubsub().Poll(c, poll, &now); })
                  .ok());
  poll.set_after_sequence(now.latest_sequence());  // nothing newer yet: the poll waits
  poll.set_timeout_ms(2000);
  std::promise<grpc::Status> outcome;
  std::atomic<int> attempts{0};
  gcs.CallAsync<rpc::PollRequest, rpc::PollReply>(
      [&](grpc::ClientContext* c, rpc::PollRequest* q, rpc::PollReply* r, auto done) {
        ++attempts;
        gcs.pubsub().async()->Poll(c, q, r, std::move(done));
      },
      poll, [&](const grpc::Status& status, rpc::PollReply&&) { outcome.set_value(status); },
      absl::Seconds(30));
  absl::SleepFor(absl::Milliseconds(300));  // the poll reaches the server
  ASSERT_EQ(kill(first->pid, SIGKILL), 0);
  first->Wait();
  auto second = gcs::testing::Child::Spawn({absl::StrCat("--port=", port)});
  ASSERT_NE(second, nullptr);
  ASSERT_EQ(gcs::testing::PortOf(gcs::testing::Child::ReadLine(second->out)), port);
  grpc::Status status = outcome.get_future().get();
  EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_GE(attempts.load(), 2);
}

TEST(GcsRpcClientTest, AsyncCallWaitsForAGcsThatIsNotUpYet) {
  const int port = FreedPort();
  GcsRpcClient gcs(Options(port, absl::Seconds(60)));
  rpc::KVPutRequest put;
  put.set_ns("test");
  put.set_key("k");
  put.set_value("v");
  std::promise<grpc::Status> outcome;
  gcs.CallAsync<rpc::KVPutRequest, rpc::KVPutReply>(
      [&](grpc::ClientContext* c, rpc::KVPutRequest* q, rpc::KVPutReply* r, auto done) {
        gcs.kv().async()->InternalKVPut(c, q, r, std::move(done));
      },
      put, [&](const grpc::Status& status, rpc::KVPutReply&&) { outcome.set_value(status); });
  absl::SleepFor(absl::Milliseconds(500));
  auto server = StartGcs(port);
  grpc::Status status = outcome.get_future().get();
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST(GcsRpcClientTest, GivesUpAfterTheReconnectTimeoutNamingTheSetting) {
  const int port = FreedPort();
  GcsRpcClient gcs(Options(port, absl::Seconds(1)));
  grpc::Status status = Put(gcs, "k");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "gcs_rpc_server_reconnect_timeout_s"))
      << status.error_message();
  EXPECT_TRUE(absl::StrContains(status.error_message(), gcs.server_name()))
      << status.error_message();
}

TEST(GcsRpcClientTest, FailsFastUntilTheGcsHasAnswered) {
  const int port = FreedPort();
  GcsClientOptions options = Options(port, absl::Seconds(600));
  options.fail_fast_until_answered = true;
  GcsRpcClient gcs(options);
  absl::Time start = absl::Now();
  grpc::Status status = Put(gcs, "k");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_LT(absl::Now() - start, absl::Seconds(300));  // not the reconnect timeout
  EXPECT_FALSE(gcs.answered());
  auto server = StartGcs(port);
  // The channel's reconnect backoff may still hold the first attempts back.
  for (int i = 0; i < 200 && !gcs.answered(); ++i) {
    status = Put(gcs, "k");
    if (!status.ok()) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(gcs.answered());
}

}  // namespace
}  // namespace comet::gcs_client
