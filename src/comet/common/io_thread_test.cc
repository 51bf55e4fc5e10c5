#include "src/comet/common/io_thread.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace comet {
namespace {

TEST(IoThreadTest, PostRunsOnTheThread) {
  IoThread io("test_io");
  io.Start();
  EXPECT_TRUE(io.IsRunning());
  absl::Notification done;
  std::thread::id ran_on;
  io.Post([&] {
    ran_on = std::this_thread::get_id();
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_NE(ran_on, std::this_thread::get_id());
  EXPECT_FALSE(io.IsCurrentThread());
  io.Stop();
  EXPECT_FALSE(io.IsRunning());
}

TEST(IoThreadTest, PostAcceptsMoveOnlyAndKeepsOrder) {
  IoThread io;
  io.Start();
  std::vector<int> order;
  for (int i = 0; i < 100; ++i) {
    auto value = std::make_unique<int>(i);
    io.Post([&order, value = std::move(value)] { order.push_back(*value); });
  }
  io.RunSync([] {});
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
}

TEST(IoThreadTest, RunSyncReturnsValuesAndRunsOnThread) {
  IoThread io;
  io.Start();
  EXPECT_EQ(io.RunSync([] { return 41 + 1; }), 42);
  EXPECT_EQ(io.RunSync([] { return std::string("asio"); }), "asio");
  EXPECT_TRUE(io.RunSync([&io] { return io.IsCurrentThread(); }));
  // Nested RunSync on the thread itself runs inline instead of deadlocking.
  EXPECT_EQ(io.RunSync([&io] { return io.RunSync([] { return 7; }); }), 7);
  auto moved = io.RunSync([] { return std::make_unique<int>(5); });
  EXPECT_EQ(*moved, 5);
  EXPECT_THROW(io.RunSync([]() -> int { throw std::runtime_error("x"); }),
               std::runtime_error);
}

TEST(IoThreadTest, RunSyncFromManyThreads) {
  IoThread io;
  io.Start();
  int counter = 0;  // Only touched on the io thread.
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      for (int i = 0; i < 250; ++i) io.RunSync([&] { ++counter; });
    });
  }
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(io.RunSync([&] { return counter; }), 1000);
}

TEST(IoThreadTest, StopIsIdempotentAndRestartable) {
  IoThread io;
  io.Stop();  // Never started.
  io.Start();
  io.Start();  // Already running.
  EXPECT_EQ(io.RunSync([] { return 1; }), 1);
  io.Stop();
  io.Stop();
  io.Start();
  EXPECT_EQ(io.RunSync([] { return 2; }), 2);
  // The destructor stops it.
}

}  // namespace
}  // namespace comet
