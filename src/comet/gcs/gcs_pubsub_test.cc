#include "src/comet/gcs/gcs_pubsub.h"

#include <gtest/gtest.h>

#include <string>

namespace comet::gcs {
namespace {

rpc::PubMessage Message(rpc::ChannelType channel, const std::string& key,
                        size_t payload_bytes = 0) {
  rpc::PubMessage message;
  message.set_channel(channel);
  message.set_key(key);
  if (payload_bytes > 0) message.set_raw(std::string(payload_bytes, 'x'));
  return message;
}

PollSpec Spec(std::vector<rpc::ChannelType> channels, int64_t after) {
  return PollSpec{std::move(channels), {}, after};
}

std::vector<std::string> Keys(const PollResult& result) {
  std::vector<std::string> keys;
  for (const auto& m : result.messages) keys.push_back(m.key());
  return keys;
}

TEST(GcsPubSubTest, PublishAssignsIncreasingSequencesFromOne) {
  GcsPubSub pubsub;
  rpc::PubMessage message = Message(rpc::JOB_INFO_CHANNEL, "a");
  message.set_sequence(1000);  // Replaced.
  EXPECT_EQ(pubsub.Publish(message).sequence, 1);
  EXPECT_EQ(pubsub.Publish(Message(rpc::NODE_INFO_CHANNEL, "b")).sequence, 2);
  EXPECT_EQ(pubsub.latest_sequence(), 2);
  auto result = pubsub.Poll(1, Spec({}, 0), /*may_wait=*/false);
  ASSERT_TRUE(result.has_value());
  ASSERT_EQ(result->messages.size(), 2u);
  EXPECT_EQ(result->messages[0].sequence(), 1);
  EXPECT_EQ(result->messages[1].sequence(), 2);
  EXPECT_EQ(result->latest_sequence, 2);
}

TEST(GcsPubSubTest, PollFiltersByChannelAndSequence) {
  GcsPubSub pubsub;
  pubsub.Publish(Message(rpc::NODE_INFO_CHANNEL, "n1"));
  pubsub.Publish(Message(rpc::JOB_INFO_CHANNEL, "j1"));
  pubsub.Publish(Message(rpc::NODE_INFO_CHANNEL, "n2"));
  pubsub.Publish(Message(rpc::ACTOR_CHANNEL, "a1"));

  auto nodes = pubsub.Poll(1, Spec({rpc::NODE_INFO_CHANNEL}, 0), true);
  ASSERT_TRUE(nodes.has_value());
  EXPECT_EQ(Keys(*nodes), (std::vector<std::string>{"n1", "n2"}));
  EXPECT_EQ(nodes->latest_sequence, 4);

  auto newer = pubsub.Poll(2, Spec({rpc::NODE_INFO_CHANNEL}, 1), true);
  EXPECT_EQ(Keys(*newer), std::vector<std::string>{"n2"});

  auto two = pubsub.Poll(
      3, Spec({rpc::JOB_INFO_CHANNEL, rpc::ACTOR_CHANNEL}, 0), true);
  EXPECT_EQ(Keys(*two), (std::vector<std::string>{"j1", "a1"}));

  auto all = pubsub.Poll(4, Spec({}, 2), true);
  EXPECT_EQ(Keys(*all), (std::vector<std::string>{"n2", "a1"}));
  EXPECT_EQ(pubsub.num_waiting(), 0u);
}

TEST(GcsPubSubTest, PollWaitsUntilAMatchingPublish) {
  GcsPubSub pubsub;
  pubsub.Publish(Message(rpc::NODE_INFO_CHANNEL, "old"));
  EXPECT_FALSE(pubsub.Poll(7, Spec({rpc::JOB_INFO_CHANNEL}, 0), true));
  EXPECT_FALSE(pubsub.Poll(8, Spec({rpc::NODE_INFO_CHANNEL}, 1), true));
  EXPECT_EQ(pubsub.num_waiting(), 2u);

  GcsPubSub::Published other = pubsub.Publish(Message(rpc::ACTOR_CHANNEL, "x"));
  EXPECT_TRUE(other.completed.empty());

  GcsPubSub::Published job =
      pubsub.Publish(Message(rpc::JOB_INFO_CHANNEL, "j"));
  ASSERT_EQ(job.completed.size(), 1u);
  EXPECT_EQ(job.completed[0].first, 7u);
  EXPECT_EQ(Keys(job.completed[0].second), std::vector<std::string>{"j"});
  EXPECT_EQ(job.completed[0].second.latest_sequence, 3);
  EXPECT_EQ(pubsub.num_waiting(), 1u);
  EXPECT_EQ(pubsub.WaitingPollers(), std::vector<PollerId>{8});
}

TEST(GcsPubSubTest, OnePublishCompletesEveryMatchingPoller) {
  GcsPubSub pubsub;
  for (PollerId id = 1; id <= 3; ++id) {
    EXPECT_FALSE(pubsub.Poll(id, Spec({}, 0), true));
  }
  auto published = pubsub.Publish(Message(rpc::ERROR_INFO_CHANNEL, "e"));
  EXPECT_EQ(published.completed.size(), 3u);
  EXPECT_EQ(pubsub.num_waiting(), 0u);
}

TEST(GcsPubSubTest, PollWithoutWaitReturnsEmpty) {
  GcsPubSub pubsub;
  auto result = pubsub.Poll(1, Spec({}, 0), /*may_wait=*/false);
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->messages.empty());
  EXPECT_EQ(result->latest_sequence, 0);
  EXPECT_EQ(pubsub.num_waiting(), 0u);
}

TEST(GcsPubSubTest, CancelAnswersOnlyAWaitingPoller) {
  GcsPubSub pubsub;
  pubsub.Publish(Message(rpc::NODE_INFO_CHANNEL, "n"));
  EXPECT_FALSE(pubsub.Poll(5, Spec({}, 1), true));
  auto cancelled = pubsub.Cancel(5);
  ASSERT_TRUE(cancelled.has_value());
  EXPECT_TRUE(cancelled->messages.empty());
  EXPECT_EQ(cancelled->latest_sequence, 1);
  EXPECT_FALSE(pubsub.Cancel(5).has_value());
  EXPECT_FALSE(pubsub.Cancel(99).has_value());
  EXPECT_TRUE(
      pubsub.Publish(Message(rpc::NODE_INFO_CHANNEL, "m")).completed.empty());
}

TEST(GcsPubSubTest, RingDropsOldestBeyondMaxMessages) {
  GcsPubSub pubsub(/*max_messages=*/3);
  for (int i = 1; i <= 5; ++i) {
    pubsub.Publish(Message(rpc::JOB_INFO_CHANNEL, std::to_string(i)));
  }
  EXPECT_EQ(pubsub.num_stored(), 3u);
  EXPECT_EQ(pubsub.oldest_sequence(), 3);
  // A subscriber that fell behind the ring gets what is still stored.
  auto result = pubsub.Poll(1, Spec({}, 1), true);
  EXPECT_EQ(Keys(*result), (std::vector<std::string>{"3", "4", "5"}));
  auto tail = pubsub.Poll(2, Spec({}, 4), true);
  EXPECT_EQ(Keys(*tail), std::vector<std::string>{"5"});
}

TEST(GcsPubSubTest, RingDropsOldestBeyondMaxBytesButKeepsNewest) {
  GcsPubSub pubsub(/*max_messages=*/100, /*max_bytes=*/2500);
  for (int i = 1; i <= 4; ++i) {
    pubsub.Publish(Message(rpc::ERROR_INFO_CHANNEL, std::to_string(i), 1000));
  }
  EXPECT_EQ(pubsub.num_stored(), 2u);
  EXPECT_LE(pubsub.stored_bytes(), 2500u);
  pubsub.Publish(Message(rpc::ERROR_INFO_CHANNEL, "huge", 10000));
  EXPECT_EQ(pubsub.num_stored(), 1u);
  EXPECT_EQ(pubsub.oldest_sequence(), 5);
}

TEST(GcsPubSubTest, LargeRepliesAreCutAndResumeFromLatestSequence) {
  GcsPubSub pubsub;
  const size_t half = GcsPubSub::kMaxReplyBytes / 2;
  for (int i = 1; i <= 3; ++i) {
    pubsub.Publish(Message(rpc::ERROR_INFO_CHANNEL, std::to_string(i), half));
  }
  std::vector<std::string> seen;
  int64_t after = 0;
  for (int round = 0; round < 3; ++round) {
    auto result = pubsub.Poll(round, Spec({}, after), true);
    ASSERT_TRUE(result.has_value());
    ASSERT_EQ(result->messages.size(), 1u);
    for (const std::string& key : Keys(*result)) seen.push_back(key);
    after = result->latest_sequence;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(after, 3);
  EXPECT_FALSE(pubsub.Poll(9, Spec({}, after), true).has_value());
}

TEST(GcsPubSubTest, NegativeAfterSequenceMeansFromNow) {
  GcsPubSub pubsub;
  pubsub.Publish(Message(rpc::NODE_INFO_CHANNEL, "n"));
  auto result = pubsub.Poll(1, Spec({}, -1), /*may_wait=*/true);
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->messages.empty());
  EXPECT_EQ(result->latest_sequence, 1);
  EXPECT_EQ(pubsub.num_waiting(), 0u);
}

TEST(GcsPubSubTest, AfterSequenceFromTheFutureReturnsAtOnce) {
  GcsPubSub pubsub;
  pubsub.Publish(Message(rpc::NODE_INFO_CHANNEL, "n"));
  auto result = pubsub.Poll(1, Spec({}, 500), /*may_wait=*/true);
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->messages.empty());
  EXPECT_EQ(result->latest_sequence, 1);  // Below 500: resynchronise.
  EXPECT_EQ(pubsub.num_waiting(), 0u);
}

TEST(GcsPubSubTest, KeysFilterWhatAPollerGetsAndWakesOn) {
  GcsPubSub pubsub;
  pubsub.Publish(Message(rpc::LOG_CHANNEL, "job1"));
  pubsub.Publish(Message(rpc::LOG_CHANNEL, "job2"));
  PollSpec spec{{rpc::LOG_CHANNEL}, {"job2"}, 0};
  auto result = pubsub.Poll(1, spec, /*may_wait=*/false);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(Keys(*result), std::vector<std::string>{"job2"});
  // A waiting poller is not woken by another key's message.
  spec.after_sequence = 2;
  EXPECT_FALSE(pubsub.Poll(2, spec, /*may_wait=*/true).has_value());
  EXPECT_TRUE(pubsub.Publish(Message(rpc::LOG_CHANNEL, "job1")).completed.empty());
  auto woken = pubsub.Publish(Message(rpc::LOG_CHANNEL, "job2")).completed;
  ASSERT_EQ(woken.size(), 1u);
  EXPECT_EQ(Keys(woken[0].second), std::vector<std::string>{"job2"});
  EXPECT_EQ(woken[0].second.latest_sequence, 4);
}

}  // namespace
}  // namespace comet::gcs
