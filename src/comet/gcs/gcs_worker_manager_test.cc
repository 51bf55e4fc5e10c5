#include "src/comet/gcs/gcs_worker_manager.h"

#include <gtest/gtest.h>

#include <vector>

#include "absl/time/clock.h"
#include "src/comet/gcs/in_memory_store_client.h"

namespace comet::gcs {
namespace {

rpc::ReportWorkerFailureRequest Report(const WorkerID& worker,
                                       const JobID& driver_job = JobID()) {
  rpc::ReportWorkerFailureRequest request;
  request.set_worker_id(worker.Binary());
  request.set_node_id(NodeID::FromRandom().Binary());
  request.set_pid(1234);
  request.set_exit_detail("signal 9");
  if (!driver_job.IsNil()) request.set_driver_job_id(driver_job.Binary());
  return request;
}

GcsWorkerManagerOptions Options(size_t max_dead_workers,
                                int64_t first_sequence) {
  GcsWorkerManagerOptions options;
  options.max_dead_workers = max_dead_workers;
  options.first_sequence = first_sequence;
  return options;
}

std::vector<WorkerID> DeadAfter(const GcsWorkerManager& workers, int64_t after,
                                int64_t* latest = nullptr) {
  rpc::ReportResourceUsageReply reply;
  workers.FillDeadWorkers(after, &reply);
  if (latest != nullptr) *latest = reply.dead_workers_sequence();
  std::vector<WorkerID> out;
  for (const std::string& id : reply.dead_workers()) {
    out.push_back(*WorkerID::FromBinary(id));
  }
  return out;
}

TEST(GcsWorkerManagerTest, ListenersHearWorkersAndDrivers) {
  GcsWorkerManager workers;
  std::vector<WorkerFailure> heard;
  workers.AddWorkerDeadListener(
      [&](const WorkerFailure& failure) { heard.push_back(failure); });
  WorkerID worker = WorkerID::FromRandom();
  WorkerID driver = WorkerID::FromRandom();
  ASSERT_TRUE(workers.ReportWorkerFailure(Report(worker)).ok());
  ASSERT_TRUE(
      workers.ReportWorkerFailure(Report(driver, JobID::FromInt(7))).ok());
  ASSERT_EQ(heard.size(), 2u);
  EXPECT_EQ(heard[0].worker_id, worker);
  EXPECT_FALSE(heard[0].is_driver());
  EXPECT_EQ(heard[0].exit_detail, "signal 9");
  EXPECT_FALSE(heard[0].node_id.IsNil());
  EXPECT_EQ(heard[1].worker_id, driver);
  EXPECT_TRUE(heard[1].is_driver());
  EXPECT_EQ(heard[1].driver_job_id, JobID::FromInt(7));
}

TEST(GcsWorkerManagerTest, MalformedReportsAreRejectedAndNotListed) {
  GcsWorkerManager workers(Options(10, 100));
  int heard = 0;
  workers.AddWorkerDeadListener([&](const WorkerFailure&) { ++heard; });
  rpc::ReportWorkerFailureRequest bad_worker;
  bad_worker.set_worker_id("short");
  EXPECT_TRUE(absl::IsInvalidArgument(workers.ReportWorkerFailure(bad_worker)));
  rpc::ReportWorkerFailureRequest bad_job = Report(WorkerID::FromRandom());
  bad_job.set_driver_job_id("x");
  EXPECT_TRUE(absl::IsInvalidArgument(workers.ReportWorkerFailure(bad_job)));
  EXPECT_EQ(heard, 0);
  EXPECT_EQ(workers.latest_sequence(), 100);
  EXPECT_TRUE(DeadAfter(workers, 0).empty());
}

TEST(GcsWorkerManagerTest, RayletsGetOnlyTheDeathsTheyHaveNotSeen) {
  GcsWorkerManager workers(Options(10, 100));
  WorkerID a = WorkerID::FromRandom();
  WorkerID b = WorkerID::FromRandom();
  WorkerID c = WorkerID::FromRandom();
  ASSERT_TRUE(workers.ReportWorkerFailure(Report(a)).ok());
  ASSERT_TRUE(workers.ReportWorkerFailure(Report(b)).ok());
  int64_t latest = 0;
  // A new raylet (0) gets everything kept.
  EXPECT_EQ(DeadAfter(workers, 0, &latest), (std::vector<WorkerID>{a, b}));
  EXPECT_EQ(latest, 102);
  EXPECT_TRUE(DeadAfter(workers, latest).empty());
  ASSERT_TRUE(workers.ReportWorkerFailure(Report(c)).ok());
  EXPECT_EQ(DeadAfter(workers, latest, &latest), (std::vector<WorkerID>{c}));
  EXPECT_EQ(latest, 103);
  EXPECT_EQ(DeadAfter(workers, 101), (std::vector<WorkerID>{b, c}));
  EXPECT_EQ(DeadAfter(workers, 100), (std::vector<WorkerID>{a, b, c}));
}

TEST(GcsWorkerManagerTest, TheListIsBounded) {
  GcsWorkerManager workers(Options(3, 100));
  std::vector<WorkerID> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(WorkerID::FromRandom());
    ASSERT_TRUE(workers.ReportWorkerFailure(Report(ids.back())).ok());
  }
  std::vector<WorkerID> last_three(ids.begin() + 2, ids.end());
  // Too far behind: whatever is kept.
  EXPECT_EQ(DeadAfter(workers, 100), last_three);
  EXPECT_EQ(DeadAfter(workers, 102), last_three);
  EXPECT_EQ(DeadAfter(workers, 103), (std::vector<WorkerID>{ids[3], ids[4]}));
}

TEST(GcsWorkerManagerTest, ARayletFromBeforeARestartGetsEverything) {
  // Numbers restart from the clock, above any the previous GCS handed out.
  GcsWorkerManager before;
  ASSERT_TRUE(before.ReportWorkerFailure(Report(WorkerID::FromRandom())).ok());
  int64_t seen = before.latest_sequence();
  absl::SleepFor(absl::Milliseconds(2));
  GcsWorkerManager after;
  EXPECT_GT(after.latest_sequence(), seen);
  WorkerID died = WorkerID::FromRandom();
  ASSERT_TRUE(after.ReportWorkerFailure(Report(died)).ok());
  EXPECT_EQ(DeadAfter(after, seen), (std::vector<WorkerID>{died}));
  // A number from the future (the clock went back): everything too.
  EXPECT_EQ(DeadAfter(after, after.latest_sequence() + 1000),
            (std::vector<WorkerID>{died}));
}

TEST(GcsWorkerManagerTest, AStoredListSurvivesARestartWithItsNumbers) {
  InMemoryStoreClient store;
  std::vector<WorkerID> ids;
  int64_t seen = 0;
  {
    GcsWorkerManager before(Options(3, 100), &store);
    ASSERT_TRUE(before.Initialize().ok());
    for (int i = 0; i < 5; ++i) {
      ids.push_back(WorkerID::FromRandom());
      ASSERT_TRUE(before.ReportWorkerFailure(Report(ids.back())).ok());
      if (i == 2) seen = before.latest_sequence();
    }
  }
  // Only the kept three are stored.
  EXPECT_EQ(store.GetAll(GcsWorkerManager::kDeadWorkerTable)->size(), 3u);
  GcsWorkerManager after(Options(3, 0), &store);
  ASSERT_TRUE(after.Initialize().ok());
  EXPECT_EQ(after.latest_sequence(), 105);
  // A raylet that saw the first three gets exactly the two it missed.
  EXPECT_EQ(DeadAfter(after, seen), (std::vector<WorkerID>{ids[3], ids[4]}));
  ASSERT_EQ(after.dead_workers().size(), 3u);
  EXPECT_EQ(after.dead_workers().back().exit_detail(), "signal 9");
  WorkerID next = WorkerID::FromRandom();
  ASSERT_TRUE(after.ReportWorkerFailure(Report(next)).ok());
  EXPECT_EQ(DeadAfter(after, 105), (std::vector<WorkerID>{next}));
}

}  // namespace
}  // namespace comet::gcs
