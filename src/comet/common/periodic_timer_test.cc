#include "src/comet/common/periodic_timer.h"

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "src/comet/common/io_thread.h"

namespace comet {
namespace {

// Runs `io` until `done()` holds or a generous deadline passes.
template <typename Pred>
bool RunUntil(boost::asio::io_context& io, Pred done) {
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!done() && absl::Now() < deadline) {
    io.run_one_for(std::chrono::milliseconds(50));
  }
  return done();
}

TEST(PeriodicTimerTest, FiresRepeatedlyUntilCancelled) {
  boost::asio::io_context io;
  int calls = 0;
  PeriodicTimer timer(io, absl::Milliseconds(5), [&] { ++calls; });
  EXPECT_FALSE(timer.IsRunning());
  timer.Start();
  EXPECT_TRUE(timer.IsRunning());
  ASSERT_TRUE(RunUntil(io, [&] { return calls >= 5; }));

  timer.Cancel();
  EXPECT_FALSE(timer.IsRunning());
  int after_cancel = calls;
  // Drain everything left, including the cancelled wait.
  io.restart();
  io.run_for(std::chrono::milliseconds(30));
  EXPECT_EQ(calls, after_cancel);
}

TEST(PeriodicTimerTest, CancelFromCallbackAndRestart) {
  boost::asio::io_context io;
  int calls = 0;
  std::unique_ptr<PeriodicTimer> timer;
  timer = std::make_unique<PeriodicTimer>(io, absl::Milliseconds(1), [&] {
    if (++calls == 3) timer->Cancel();
  });
  timer->Start();
  ASSERT_TRUE(RunUntil(io, [&] { return !timer->IsRunning(); }));
  io.restart();
  io.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(calls, 3);

  timer->Start();
  io.restart();
  ASSERT_TRUE(RunUntil(io, [&] { return calls >= 4; }));
}

TEST(PeriodicTimerTest, DestroyInsideCallbackIsSafe) {
  boost::asio::io_context io;
  int calls = 0;
  std::unique_ptr<PeriodicTimer> timer;
  timer = std::make_unique<PeriodicTimer>(io, absl::Milliseconds(1), [&] {
    ++calls;
    timer.reset();
  });
  timer->Start();
  ASSERT_TRUE(RunUntil(io, [&] { return timer == nullptr; }));
  io.restart();
  io.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(calls, 1);
}

TEST(PeriodicTimerTest, DestroyWithPendingWait) {
  boost::asio::io_context io;
  int calls = 0;
  {
    PeriodicTimer timer(io, absl::Hours(1), [&] { ++calls; });
    timer.Start();
  }
  io.run_for(std::chrono::milliseconds(20));  // Runs the aborted wait.
  EXPECT_EQ(calls, 0);
}

TEST(PeriodicTimerTest, RunsOnIoThread) {
  IoThread io_thread;
  io_thread.Start();
  absl::Mutex mu;
  int calls = 0;
  bool on_io_thread = true;
  auto timer = io_thread.RunSync([&] {
    auto timer = std::make_unique<PeriodicTimer>(
        io_thread.io_context(), absl::Milliseconds(2), [&] {
          absl::MutexLock lock(&mu);
          ++calls;
          on_io_thread = on_io_thread && io_thread.IsCurrentThread();
        });
    timer->Start();
    return timer;
  });
  {
    absl::MutexLock lock(&mu);
    ASSERT_TRUE(
        mu.AwaitWithTimeout(absl::Condition(
                                +[](int* c) { return *c >= 3; }, &calls),
                            absl::Seconds(30)));
    EXPECT_TRUE(on_io_thread);
  }
  io_thread.RunSync([&] { timer.reset(); });
}

}  // namespace
}  // namespace comet
