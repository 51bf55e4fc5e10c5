// GcsPubSubManager on a test-driven io_context: nothing runs unless the test
// runs the loop, so each step is observable.
#include "src/comet/gcs/gcs_pubsub_manager.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>

namespace comet::gcs {
namespace {

rpc::PollRequest Request(int64_t after, int64_t timeout_ms,
                         std::vector<rpc::ChannelType> channels = {}) {
  rpc::PollRequest request;
  request.set_after_sequence(after);
  request.set_timeout_ms(timeout_ms);
  for (auto channel : channels) request.add_channels(channel);
  return request;
}

rpc::PubMessage Message(rpc::ChannelType channel, const std::string& key) {
  rpc::PubMessage message;
  message.set_channel(channel);
  message.set_key(key);
  return message;
}

class GcsPubSubManagerTest : public ::testing::Test {
 protected:
  // Polls with `request`; the reply lands in `replies_[id]`.
  void Poll(PollerId id, const rpc::PollRequest& request) {
    manager_.Poll(id, request, [this, id](rpc::PollReply reply) {
      EXPECT_FALSE(replies_.count(id)) << "poll " << id << " answered twice";
      replies_[id] = std::move(reply);
    });
  }

  // Runs the loop until poll `id` is answered or a generous deadline passes.
  bool RunUntilAnswered(PollerId id) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!replies_.count(id) && std::chrono::steady_clock::now() < deadline) {
      io_.run_one_for(std::chrono::milliseconds(50));
    }
    return replies_.count(id) > 0;
  }

  boost::asio::io_context io_;
  GcsPubSubManager manager_{io_};
  std::map<PollerId, rpc::PollReply> replies_;
};

TEST_F(GcsPubSubManagerTest, StoredMessagesAreReturnedAtOnce) {
  EXPECT_EQ(manager_.Publish(Message(rpc::JOB_INFO_CHANNEL, "j")), 1);
  Poll(1, Request(0, 60000));
  ASSERT_TRUE(replies_.count(1));
  ASSERT_EQ(replies_[1].messages_size(), 1);
  EXPECT_EQ(replies_[1].messages(0).key(), "j");
  EXPECT_EQ(replies_[1].messages(0).sequence(), 1);
  EXPECT_EQ(replies_[1].latest_sequence(), 1);
}

TEST_F(GcsPubSubManagerTest, WaitingPollIsAnsweredByPublish) {
  Poll(1, Request(0, 60000, {rpc::NODE_INFO_CHANNEL}));
  EXPECT_FALSE(replies_.count(1));
  EXPECT_EQ(manager_.num_waiting(), 1u);
  manager_.Publish(Message(rpc::JOB_INFO_CHANNEL, "other"));
  EXPECT_FALSE(replies_.count(1));
  manager_.Publish(Message(rpc::NODE_INFO_CHANNEL, "node"));
  ASSERT_TRUE(replies_.count(1));
  ASSERT_EQ(replies_[1].messages_size(), 1);
  EXPECT_EQ(replies_[1].messages(0).key(), "node");
  EXPECT_EQ(replies_[1].latest_sequence(), 2);
  EXPECT_EQ(manager_.num_waiting(), 0u);
  // The cancelled timer's handler must not answer again.
  io_.run_for(std::chrono::milliseconds(20));
}

TEST_F(GcsPubSubManagerTest, WaitingPollTimesOutEmpty) {
  manager_.Publish(Message(rpc::JOB_INFO_CHANNEL, "j"));
  Poll(1, Request(1, 30));
  EXPECT_FALSE(replies_.count(1));
  ASSERT_TRUE(RunUntilAnswered(1));
  EXPECT_EQ(replies_[1].messages_size(), 0);
  EXPECT_EQ(replies_[1].latest_sequence(), 1);
  EXPECT_EQ(manager_.num_waiting(), 0u);
}

TEST_F(GcsPubSubManagerTest, ZeroTimeoutNeverWaits) {
  Poll(1, Request(0, 0));
  ASSERT_TRUE(replies_.count(1));
  EXPECT_EQ(replies_[1].messages_size(), 0);
  EXPECT_EQ(manager_.num_waiting(), 0u);
}

TEST_F(GcsPubSubManagerTest, CancelAnswersOnceAndTimerStaysQuiet) {
  Poll(1, Request(0, 20));
  manager_.Cancel(1);
  ASSERT_TRUE(replies_.count(1));
  EXPECT_EQ(replies_[1].messages_size(), 0);
  io_.run_for(std::chrono::milliseconds(60));  // Past the timeout.
  manager_.Cancel(1);                          // Unknown now: no-op.
  EXPECT_EQ(manager_.num_waiting(), 0u);
}

TEST_F(GcsPubSubManagerTest, ShutdownAnswersWaitersAndLaterPollsReturnAtOnce) {
  Poll(1, Request(0, 60000));
  Poll(2, Request(0, 60000));
  manager_.Shutdown();
  EXPECT_TRUE(replies_.count(1));
  EXPECT_TRUE(replies_.count(2));
  Poll(3, Request(0, 60000));
  EXPECT_TRUE(replies_.count(3));
  EXPECT_EQ(manager_.num_waiting(), 0u);
}

TEST_F(GcsPubSubManagerTest, LogsHaveARingAndSequenceOfTheirOwn) {
  manager_.Publish(Message(rpc::ACTOR_CHANNEL, "a"));
  for (size_t i = 0; i < GcsPubSubManager::kMaxLogMessages + 10; ++i) {
    manager_.Publish(Message(rpc::LOG_CHANNEL, "job"));
  }
  // Heavy output pushed no event out, and did not move the event sequence.
  Poll(1, Request(0, 0));
  ASSERT_TRUE(replies_.count(1));
  ASSERT_EQ(replies_[1].messages_size(), 1);
  EXPECT_EQ(replies_[1].messages(0).key(), "a");
  EXPECT_EQ(replies_[1].latest_sequence(), 1);
  EXPECT_EQ(manager_.log_state().num_stored(), GcsPubSubManager::kMaxLogMessages);
  EXPECT_EQ(manager_.log_state().latest_sequence(),
            static_cast<int64_t>(GcsPubSubManager::kMaxLogMessages + 10));
  // A log poll waits on the log ring only.
  rpc::PollRequest logs = Request(manager_.log_state().latest_sequence(), 60000,
                                  {rpc::LOG_CHANNEL});
  logs.add_keys("job");
  Poll(2, logs);
  EXPECT_FALSE(replies_.count(2));
  manager_.Publish(Message(rpc::ACTOR_CHANNEL, "b"));
  EXPECT_FALSE(replies_.count(2));
  manager_.Publish(Message(rpc::LOG_CHANNEL, "job"));
  ASSERT_TRUE(replies_.count(2));
  EXPECT_EQ(replies_[2].messages_size(), 1);
  // Cancel and Shutdown reach log waiters too.
  Poll(3, Request(manager_.log_state().latest_sequence(), 60000, {rpc::LOG_CHANNEL}));
  manager_.Shutdown();
  ASSERT_TRUE(replies_.count(3));
  EXPECT_EQ(replies_[3].messages_size(), 0);
}

TEST_F(GcsPubSubManagerTest, APollMixingLogsWithOtherChannelsIsRefused) {
  EXPECT_TRUE(GcsPubSubManager::CheckRequest(Request(0, 0, {rpc::LOG_CHANNEL})).ok());
  EXPECT_TRUE(GcsPubSubManager::CheckRequest(Request(0, 0, {})).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(GcsPubSubManager::CheckRequest(
      Request(0, 0, {rpc::LOG_CHANNEL, rpc::ACTOR_CHANNEL}))));
}

}  // namespace
}  // namespace comet::gcs
