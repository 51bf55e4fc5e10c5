#include "src/comet/gcs/restart_policy.h"

#include <gtest/gtest.h>

#include <csignal>

namespace comet::gcs {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1000);

ChildExit Killed(bool ready = true) { return ChildExit{true, SIGKILL, ready}; }

TEST(RestartPolicyTest, AStopOnPurposeEndsTheSupervisor) {
  RestartPolicy policy;
  EXPECT_FALSE(policy.OnExit({true, SIGTERM, true}, kStart).restart);
  EXPECT_FALSE(policy.OnExit({true, SIGINT, true}, kStart).restart);
  auto clean = policy.OnExit({false, 0, true}, kStart);
  EXPECT_FALSE(clean.restart);
  EXPECT_EQ(clean.exit_code, 0);
}

TEST(RestartPolicyTest, BadFlagsAreNotRetried) {
  RestartPolicy policy;
  auto decision = policy.OnExit({false, 2, false}, kStart);
  EXPECT_FALSE(decision.restart);
  EXPECT_EQ(decision.exit_code, 2);
}

TEST(RestartPolicyTest, AKilledGcsComesBackAtOnceThenBacksOffToASecond) {
  RestartPolicy policy;
  auto first = policy.OnExit(Killed(), kStart);
  EXPECT_TRUE(first.restart);
  EXPECT_EQ(first.delay, absl::ZeroDuration());
  absl::Duration expected[] = {absl::Milliseconds(100), absl::Milliseconds(200),
                               absl::Milliseconds(400), absl::Milliseconds(800),
                               absl::Seconds(1), absl::Seconds(1)};
  absl::Time now = kStart;
  for (absl::Duration delay : expected) {
    now += absl::Seconds(1);
    auto decision = policy.OnExit(Killed(), now);
    EXPECT_TRUE(decision.restart);
    EXPECT_EQ(decision.delay, delay);
  }
  // After a quiet spell the next restart is immediate again.
  auto later = policy.OnExit(Killed(), now + absl::Minutes(1));
  EXPECT_EQ(later.delay, absl::ZeroDuration());
}

TEST(RestartPolicyTest, AChildThatNeverGetsReadyIsGivenUpOn) {
  RestartPolicy policy;
  absl::Time now = kStart;
  for (int i = 1; i < RestartPolicy::kMaxUnreadyStarts; ++i) {
    EXPECT_TRUE(policy.OnExit({false, 1, false}, now += absl::Seconds(1)).restart) << i;
  }
  auto decision = policy.OnExit({false, 1, false}, now += absl::Seconds(1));
  EXPECT_FALSE(decision.restart);
  EXPECT_EQ(decision.exit_code, 1);
}

TEST(RestartPolicyTest, AReadyRunResetsTheUnreadyCount) {
  RestartPolicy policy;
  absl::Time now = kStart;
  for (int round = 0; round < 3; ++round) {
    for (int i = 1; i < RestartPolicy::kMaxUnreadyStarts; ++i) {
      EXPECT_TRUE(policy.OnExit({false, 1, false}, now += absl::Seconds(1)).restart);
    }
    EXPECT_TRUE(policy.OnExit(Killed(true), now += absl::Seconds(1)).restart);
  }
}

}  // namespace
}  // namespace comet::gcs
