#include "src/comet/raylet/local_drivers.h"

#include <gtest/gtest.h>

#include <set>

namespace comet::raylet {
namespace {

LocalDrivers::Driver Driver(uint32_t job, int pid) {
  return LocalDrivers::Driver{JobID::FromInt(job), WorkerID::FromRandom(), pid};
}

TEST(LocalDriversTest, RejectsBadRegistrations) {
  LocalDrivers drivers;
  EXPECT_TRUE(absl::IsInvalidArgument(drivers.Register(Driver(1, 0))));
  EXPECT_TRUE(absl::IsInvalidArgument(
      drivers.Register({JobID(), WorkerID::FromRandom(), 10})));
  EXPECT_TRUE(absl::IsInvalidArgument(
      drivers.Register({JobID::FromInt(1), WorkerID(), 10})));
  EXPECT_EQ(drivers.size(), 0u);
}

TEST(LocalDriversTest, HandsOutOnlyGoneDriversOnceEach) {
  LocalDrivers drivers;
  LocalDrivers::Driver alive = Driver(1, 100);
  LocalDrivers::Driver dead = Driver(2, 200);
  ASSERT_TRUE(drivers.Register(alive).ok());
  ASSERT_TRUE(drivers.Register(dead).ok());
  std::set<int> gone_pids = {200};
  auto gone = [&](int pid) { return gone_pids.count(pid) > 0; };

  std::vector<LocalDrivers::Driver> taken = drivers.TakeGone(gone);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].worker_id, dead.worker_id);
  EXPECT_EQ(taken[0].job_id, JobID::FromInt(2));
  EXPECT_EQ(taken[0].pid, 200);
  // Its report is in flight: not handed out again.
  EXPECT_TRUE(drivers.TakeGone(gone).empty());
  drivers.OnReported(dead.worker_id, /*ok=*/true);
  EXPECT_EQ(drivers.size(), 1u);
  EXPECT_TRUE(drivers.TakeGone(gone).empty());
}

TEST(LocalDriversTest, AFailedReportIsRetriedEvenIfThePidIsReused) {
  LocalDrivers drivers;
  LocalDrivers::Driver dead = Driver(3, 300);
  ASSERT_TRUE(drivers.Register(dead).ok());
  ASSERT_EQ(drivers.TakeGone([](int) { return true; }).size(), 1u);
  drivers.OnReported(dead.worker_id, /*ok=*/false);
  // Another process has the pid now; the driver is still known to be gone.
  std::vector<LocalDrivers::Driver> again =
      drivers.TakeGone([](int) { return false; });
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].worker_id, dead.worker_id);
  drivers.OnReported(dead.worker_id, /*ok=*/true);
  EXPECT_EQ(drivers.size(), 0u);
  // A late or unknown report is ignored.
  drivers.OnReported(dead.worker_id, /*ok=*/false);
  EXPECT_EQ(drivers.size(), 0u);
}

TEST(LocalDriversTest, ReRegisteringReplacesTheEntry) {
  LocalDrivers drivers;
  LocalDrivers::Driver driver = Driver(4, 400);
  ASSERT_TRUE(drivers.Register(driver).ok());
  driver.job_id = JobID::FromInt(5);
  ASSERT_TRUE(drivers.Register(driver).ok());
  EXPECT_EQ(drivers.size(), 1u);
  std::vector<LocalDrivers::Driver> taken =
      drivers.TakeGone([](int) { return true; });
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].job_id, JobID::FromInt(5));
}

}  // namespace
}  // namespace comet::raylet
