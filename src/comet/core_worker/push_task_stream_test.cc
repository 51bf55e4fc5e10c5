// PushTaskStream end to end over a real gRPC server on loopback: the caller's
// ActorCallStream, the worker's PushTaskStreamReactor and TaskReceiver.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "src/comet/core_worker/actor_call_stream.h"
#include "src/comet/core_worker/push_task_stream.h"
#include "src/comet/core_worker/task_receiver.h"
#include "src/comet/rpc/async_call.h"
#include "src/comet/rpc/client_pool.h"

namespace comet::core {
namespace {

const char kWorker[] = "the-actor-worker";

// Serves only PushTaskStream, into `receiver`.
class StreamService : public rpc::CoreWorkerService::CallbackService {
 public:
  StreamService(TaskReceiver* receiver, ServerStreams* streams)
      : receiver_(receiver), streams_(streams) {}
  grpc::ServerBidiReactor<rpc::PushTaskRequest, rpc::PushTaskStreamReply>* PushTaskStream(
      grpc::CallbackServerContext*) override {
    return PushTaskStreamReactor::Start(receiver_, kWorker, streams_);
  }

 private:
  TaskReceiver* receiver_;
  ServerStreams* streams_;
};

// What the caller saw: answers by sequence number, and whether the stream ended.
struct Answers {
  std::mutex mu;
  std::map<int64_t, grpc::Status> by_sequence;
  absl::Notification ended;
  std::atomic<bool> reached_worker{false};

  size_t size() {
    std::lock_guard<std::mutex> lock(mu);
    return by_sequence.size();
  }
};

class PushTaskStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ = std::make_unique<StreamService>(&receiver_, &streams_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(port, 0);
    stub_ = std::shared_ptr<rpc::CoreWorkerService::Stub>(
        rpc::CoreWorkerService::NewStub(rpc::MakeChannel("127.0.0.1:" + std::to_string(port), rpc::ClusterAuth{})));
  }

  void TearDown() override {
    calls_.CancelAllAndWait();
    receiver_.Stop();
    streams_.CloseAll();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

  // A stream whose answers land in answers_ (which outlives it: the fixture
  // closes the streams in TearDown).
  std::shared_ptr<ActorCallStream> Open() {
    Answers* answers = &answers_;
    return ActorCallStream::Create(
        stub_,
        [answers](int64_t seq, const grpc::Status& status, rpc::PushTaskReply reply) {
          std::lock_guard<std::mutex> lock(answers->mu);
          EXPECT_TRUE(answers->by_sequence.emplace(seq, status).second) << "answered twice";
          if (status.ok()) {
            EXPECT_EQ(reply.return_objects_size(), 1);
            EXPECT_EQ(reply.return_objects(0).value().data(), "result " + std::to_string(seq));
          }
        },
        [answers](ActorCallStream*, bool reached_worker) {
          answers->reached_worker = reached_worker;
          answers->ended.Notify();
        },
        &calls_);
  }

  static std::shared_ptr<const rpc::PushTaskRequest> Call(int64_t seq,
                                                          const std::string& worker = kWorker) {
    auto request = std::make_shared<rpc::PushTaskRequest>();
    request->set_intended_worker_id(worker);
    rpc::TaskSpec* spec = request->mutable_task_spec();
    spec->set_type(rpc::ACTOR_TASK);
    spec->set_task_id(TaskID::FromRandom(JobID::FromInt(1)).Binary());
    spec->mutable_actor_task()->set_caller_id("caller");
    spec->mutable_actor_task()->set_sequence_number(seq);
    return request;
  }

  // Runs `count` tasks as the execution thread would, in the order given.
  std::vector<int64_t> Execute(int count) {
    std::vector<int64_t> order;
    for (int i = 0; i < count; ++i) {
      std::unique_ptr<ReceivedTask> task = receiver_.Next(absl::Now() + absl::Seconds(10));
      if (task == nullptr) break;
      int64_t seq = task->request->task_spec().actor_task().sequence_number();
      order.push_back(seq);
      task->reply->add_return_objects()->mutable_value()->set_data("result " +
                                                                    std::to_string(seq));
      receiver_.Finish(std::move(task));
    }
    return order;
  }

  static bool WaitUntil(const std::function<bool()>& done) {
    absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (!done()) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return true;
  }

  Answers answers_;
  TaskReceiver receiver_;
  ServerStreams streams_;
  rpc::CallRegistry calls_;
  std::unique_ptr<StreamService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<rpc::CoreWorkerService::Stub> stub_;
};

TEST_F(PushTaskStreamTest, EveryCallIsAnsweredAndRunsInSequenceOrder) {
  auto stream = Open();
  ASSERT_NE(stream, nullptr);
  constexpr int kCalls = 500;
  // Two senders interleave; the worker still runs the calls in sequence order.
  std::thread odd([&] {
    for (int seq = 1; seq <= kCalls; seq += 2) stream->Send(Call(seq));
  });
  for (int seq = 2; seq <= kCalls; seq += 2) stream->Send(Call(seq));
  odd.join();
  std::vector<int64_t> order = Execute(kCalls);
  ASSERT_EQ(order.size(), kCalls);
  for (int i = 0; i < kCalls; ++i) EXPECT_EQ(order[i], i + 1);
  ASSERT_TRUE(WaitUntil([&] { return answers_.size() == kCalls; }));
  for (const auto& [seq, status] : answers_.by_sequence) EXPECT_TRUE(status.ok()) << seq;
  EXPECT_FALSE(answers_.ended.HasBeenNotified());
}

TEST_F(PushTaskStreamTest, CallForAnotherWorkerIsRefused) {
  auto stream = Open();
  stream->Send(Call(1, "someone-else"));
  ASSERT_TRUE(WaitUntil([&] { return answers_.size() == 1; }));
  EXPECT_EQ(answers_.by_sequence[1].error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(PushTaskStreamTest, WorkerShutdownEndsTheStream) {
  auto stream = Open();
  stream->Send(Call(1));
  stream->Send(Call(2));
  ASSERT_EQ(Execute(1), std::vector<int64_t>{1});
  ASSERT_TRUE(WaitUntil([&] { return answers_.size() == 1; }));
  // Call 2 is still queued when the worker exits.
  receiver_.Stop();
  streams_.CloseAll();
  ASSERT_TRUE(answers_.ended.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_TRUE(answers_.reached_worker);  // Its calls may have run there.
  std::lock_guard<std::mutex> lock(answers_.mu);
  auto second = answers_.by_sequence.find(2);
  // Answered as "exiting", or dropped with the stream: never OK.
  if (second != answers_.by_sequence.end()) {
    EXPECT_FALSE(second->second.ok());
  }
  // A call sent after the end is dropped, not crashed on.
  stream->Send(Call(3));
}

TEST_F(PushTaskStreamTest, WorkerShutdownStillSendsTheAnswersOfCallsThatRan) {
  auto stream = Open();
  constexpr int kCalls = 200;
  for (int seq = 1; seq <= kCalls; ++seq) stream->Send(Call(seq));
  ASSERT_EQ(Execute(kCalls).size(), kCalls);
  // The answers are queued behind one write at a time; the worker exits now
  // (a graceful actor exit): every call ran, so every answer still arrives.
  receiver_.Stop();
  streams_.CloseAll();
  ASSERT_TRUE(answers_.ended.WaitForNotificationWithTimeout(absl::Seconds(20)));
  std::lock_guard<std::mutex> lock(answers_.mu);
  EXPECT_EQ(answers_.by_sequence.size(), kCalls);
  for (const auto& [seq, status] : answers_.by_sequence) EXPECT_TRUE(status.ok()) << seq;
}

TEST_F(PushTaskStreamTest, CallerShutdownCancelsStreamsWithCallsStillRunning) {
  auto stream = Open();
  stream->Send(Call(1));
  std::unique_ptr<ReceivedTask> running = receiver_.Next(absl::Now() + absl::Seconds(10));
  ASSERT_NE(running, nullptr);
  // The caller goes away while its call runs: the registry cancels the stream
  // and waits for gRPC to be done with it.
  calls_.CancelAllAndWait();
  EXPECT_TRUE(answers_.ended.HasBeenNotified());
  EXPECT_EQ(ActorCallStream::Create(stub_, nullptr, nullptr, &calls_), nullptr);
  // The late answer is dropped by the cancelled stream.
  receiver_.Finish(std::move(running));
  EXPECT_EQ(answers_.size(), 0u);
}

TEST_F(PushTaskStreamTest, StreamToNoWorkerEndsWithoutReachingOne) {
  // A port nothing listens on: the stream ends, and says nothing was delivered.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  int port = ntohs(addr.sin_port);
  close(fd);  // Bound once, never listened on: connections are refused.
  stub_ = std::shared_ptr<rpc::CoreWorkerService::Stub>(
      rpc::CoreWorkerService::NewStub(rpc::MakeChannel("127.0.0.1:" + std::to_string(port), rpc::ClusterAuth{})));
  auto stream = Open();
  stream->Send(Call(1));
  ASSERT_TRUE(answers_.ended.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_FALSE(answers_.reached_worker);
  EXPECT_EQ(answers_.size(), 0u);
}

TEST_F(PushTaskStreamTest, StreamClosedBeforeItsFirstCallNeverStarts) {
  auto stream = Open();
  stream->Close();
  stream->Send(Call(1));
  calls_.CancelAllAndWait();  // Returns: nothing is left in flight.
  EXPECT_EQ(answers_.size(), 0u);
}

}  // namespace
}  // namespace comet::core
