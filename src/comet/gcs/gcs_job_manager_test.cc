#include "src/comet/gcs/gcs_job_manager.h"

#include <gtest/gtest.h>

#include "src/comet/gcs/fake_publisher.h"
#include "src/comet/gcs/in_memory_store_client.h"

namespace comet::gcs {
namespace {

rpc::JobInfo Job(uint32_t id, int pid = 100) {
  rpc::JobInfo job;
  job.set_job_id(JobID::FromInt(id).Binary());
  job.set_driver_pid(pid);
  job.set_entrypoint("python script.py");
  return job;
}

class GcsJobManagerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(jobs_.Initialize().ok()); }

  InMemoryStoreClient store_;
  FakePublisher publisher_;
  GcsJobManager jobs_{&store_, &publisher_};
};

TEST_F(GcsJobManagerTest, JobIdsIncreaseFromOne) {
  EXPECT_EQ(*jobs_.NextJobId(), JobID::FromInt(1));
  EXPECT_EQ(*jobs_.NextJobId(), JobID::FromInt(2));
  EXPECT_EQ(*jobs_.NextJobId(), JobID::FromInt(3));
}

TEST_F(GcsJobManagerTest, CounterSurvivesARestartOnTheSameStore) {
  ASSERT_TRUE(jobs_.NextJobId().ok());
  ASSERT_TRUE(jobs_.NextJobId().ok());
  GcsJobManager restarted(&store_, &publisher_);
  ASSERT_TRUE(restarted.Initialize().ok());
  EXPECT_EQ(*restarted.NextJobId(), JobID::FromInt(3));
}

TEST_F(GcsJobManagerTest, AddJobStoresAndPublishes) {
  ASSERT_TRUE(jobs_.AddJob(Job(1)).ok());
  ASSERT_EQ(publisher_.messages.size(), 1u);
  const rpc::PubMessage& message = publisher_.messages[0];
  EXPECT_EQ(message.channel(), rpc::JOB_INFO_CHANNEL);
  EXPECT_EQ(message.key(), JobID::FromInt(1).Binary());
  EXPECT_FALSE(message.job_info().is_dead());
  EXPECT_GT(message.job_info().start_time_ms(), 0);

  std::vector<rpc::JobInfo> all = jobs_.GetAllJobs();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].driver_pid(), 100);
  EXPECT_TRUE(
      *store_.Exists(GcsJobManager::kJobTable, JobID::FromInt(1).Binary()));
}

TEST_F(GcsJobManagerTest, AddedJobIdsAreNotHandedOutAgain) {
  ASSERT_TRUE(jobs_.AddJob(Job(5)).ok());
  EXPECT_EQ(*jobs_.NextJobId(), JobID::FromInt(6));
}

TEST_F(GcsJobManagerTest, MarkJobFinishedPublishesOnce) {
  ASSERT_TRUE(jobs_.AddJob(Job(1)).ok());
  ASSERT_TRUE(jobs_.MarkJobFinished(JobID::FromInt(1)).ok());
  ASSERT_EQ(publisher_.messages.size(), 2u);
  const rpc::JobInfo& finished = publisher_.messages[1].job_info();
  EXPECT_TRUE(finished.is_dead());
  EXPECT_GE(finished.end_time_ms(), finished.start_time_ms());
  ASSERT_TRUE(jobs_.MarkJobFinished(JobID::FromInt(1)).ok());
  EXPECT_EQ(publisher_.messages.size(), 2u);
  EXPECT_TRUE(jobs_.GetAllJobs()[0].is_dead());
}

TEST_F(GcsJobManagerTest, BadRequestsAreRejected) {
  EXPECT_EQ(jobs_.MarkJobFinished(JobID::FromInt(9)).code(),
            absl::StatusCode::kNotFound);
  rpc::JobInfo bad;
  bad.set_job_id("xyz");
  EXPECT_EQ(jobs_.AddJob(bad).code(), absl::StatusCode::kInvalidArgument);
  bad.set_job_id(JobID::Nil().Binary());
  EXPECT_EQ(jobs_.AddJob(bad).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(jobs_.AddJob(Job(2)).ok());
  ASSERT_TRUE(jobs_.MarkJobFinished(JobID::FromInt(2)).ok());
  EXPECT_EQ(jobs_.AddJob(Job(2)).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(publisher_.messages.size() == 2u);
}

TEST_F(GcsJobManagerTest, JobsAreListedByNumericId) {
  for (uint32_t id : {300u, 2u, 256u}) ASSERT_TRUE(jobs_.AddJob(Job(id)).ok());
  std::vector<rpc::JobInfo> all = jobs_.GetAllJobs();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].job_id(), JobID::FromInt(2).Binary());
  EXPECT_EQ(all[1].job_id(), JobID::FromInt(256).Binary());
  EXPECT_EQ(all[2].job_id(), JobID::FromInt(300).Binary());
}

TEST_F(GcsJobManagerTest, NodeDeathFinishesOnlyItsDriversJobs) {
  NodeID dead = NodeID::FromRandom();
  NodeID alive = NodeID::FromRandom();
  rpc::JobInfo on_dead = Job(1);
  on_dead.mutable_driver_address()->set_node_id(dead.Binary());
  rpc::JobInfo on_alive = Job(2);
  on_alive.mutable_driver_address()->set_node_id(alive.Binary());
  ASSERT_TRUE(jobs_.AddJob(on_dead).ok());
  ASSERT_TRUE(jobs_.AddJob(on_alive).ok());
  jobs_.OnNodeDead(dead);
  std::vector<rpc::JobInfo> all = jobs_.GetAllJobs();
  EXPECT_TRUE(all[0].is_dead());
  EXPECT_FALSE(all[1].is_dead());
  EXPECT_EQ(publisher_.messages.size(), 3u);
}

TEST_F(GcsJobManagerTest, InitializeRestoresJobs) {
  ASSERT_TRUE(jobs_.AddJob(Job(4)).ok());
  ASSERT_TRUE(jobs_.MarkJobFinished(JobID::FromInt(4)).ok());
  GcsJobManager restarted(&store_, &publisher_);
  ASSERT_TRUE(restarted.Initialize().ok());
  std::vector<rpc::JobInfo> all = restarted.GetAllJobs();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(all[0].is_dead());
  EXPECT_EQ(*restarted.NextJobId(), JobID::FromInt(5));
}

TEST_F(GcsJobManagerTest, FinishedListenersHearEachJobOnce) {
  std::vector<JobID> finished;
  jobs_.AddJobFinishedListener(
      [&](const JobID& job_id) { finished.push_back(job_id); });
  rpc::JobInfo job = Job(1);
  NodeID node = NodeID::FromRandom();
  job.mutable_driver_address()->set_node_id(node.Binary());
  ASSERT_TRUE(jobs_.AddJob(job).ok());
  ASSERT_TRUE(jobs_.AddJob(Job(2)).ok());
  ASSERT_TRUE(jobs_.MarkJobFinished(JobID::FromInt(2)).ok());
  ASSERT_TRUE(jobs_.MarkJobFinished(JobID::FromInt(2)).ok());  // No-op.
  jobs_.OnNodeDead(node);
  EXPECT_EQ(finished,
            (std::vector<JobID>{JobID::FromInt(2), JobID::FromInt(1)}));
}

}  // namespace
}  // namespace comet::gcs
