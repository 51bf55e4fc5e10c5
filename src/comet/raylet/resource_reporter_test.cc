#include "src/comet/raylet/resource_reporter.h"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <functional>
#include <vector>

#include "absl/time/clock.h"

namespace comet::raylet {
namespace {

class ResourceReporterTest : public ::testing::Test {
 protected:
  // Reports complete right away unless `hold_` is set, in which case their
  // completions wait in `held_`.
  void Make(absl::Duration min_interval, absl::Duration max_interval) {
    ResourceReporterOptions options;
    options.min_interval = min_interval;
    options.max_interval = max_interval;
    reporter_ = std::make_unique<ResourceReporter>(
        io_, options, [this](std::function<void()> done) {
          ++sends_;
          if (hold_) {
            held_.push_back(std::move(done));
          } else {
            boost::asio::post(io_, std::move(done));
          }
        });
  }

  // Runs the loop until `cond` holds; false after a generous deadline.
  bool RunUntil(const std::function<bool()>& cond) {
    absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (!cond()) {
      if (absl::Now() > deadline) return false;
      if (io_.stopped()) io_.restart();  // It stops whenever it runs dry.
      io_.run_one_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  // Runs the loop for about `duration` (to show nothing else happens).
  void RunFor(absl::Duration duration) {
    io_.restart();
    io_.run_for(std::chrono::milliseconds(absl::ToInt64Milliseconds(duration)));
  }

  boost::asio::io_context io_;
  std::unique_ptr<ResourceReporter> reporter_;
  int sends_ = 0;
  bool hold_ = false;
  std::vector<std::function<void()>> held_;
};

TEST_F(ResourceReporterTest, FirstReportGoesOutAtStart) {
  Make(absl::Milliseconds(50), absl::Seconds(60));
  reporter_->Start();
  EXPECT_EQ(sends_, 1);
}

TEST_F(ResourceReporterTest, ChangesCoalesce) {
  Make(absl::Milliseconds(50), absl::Seconds(60));
  reporter_->Start();
  for (int i = 0; i < 20; ++i) reporter_->MarkChanged();
  ASSERT_TRUE(RunUntil([&] { return sends_ >= 2; }));
  RunFor(absl::Milliseconds(300));
  EXPECT_EQ(sends_, 2);
  reporter_->MarkChanged();
  ASSERT_TRUE(RunUntil([&] { return sends_ >= 3; }));
}

TEST_F(ResourceReporterTest, ReportsPeriodicallyWithoutChanges) {
  Make(absl::Milliseconds(10), absl::Milliseconds(30));
  reporter_->Start();
  EXPECT_TRUE(RunUntil([&] { return sends_ >= 4; }));
}

TEST_F(ResourceReporterTest, OneReportInFlightAtATime) {
  Make(absl::Milliseconds(10), absl::Seconds(60));
  hold_ = true;
  reporter_->Start();
  reporter_->MarkChanged();
  RunFor(absl::Milliseconds(100));
  EXPECT_EQ(sends_, 1);
  hold_ = false;
  auto done = std::move(held_.back());
  held_.clear();
  done();
  ASSERT_TRUE(RunUntil([&] { return sends_ >= 2; }));  // The pending change.
}

TEST_F(ResourceReporterTest, StopEndsReports) {
  Make(absl::Milliseconds(10), absl::Milliseconds(20));
  reporter_->Start();
  reporter_->Stop();
  reporter_->MarkChanged();
  RunFor(absl::Milliseconds(100));
  EXPECT_EQ(sends_, 1);
}

TEST_F(ResourceReporterTest, CompletionAfterDestructionIsIgnored) {
  Make(absl::Milliseconds(10), absl::Milliseconds(20));
  hold_ = true;
  reporter_->Start();
  reporter_.reset();
  ASSERT_EQ(held_.size(), 1u);
  held_[0]();
  RunFor(absl::Milliseconds(50));
}

}  // namespace
}  // namespace comet::raylet
