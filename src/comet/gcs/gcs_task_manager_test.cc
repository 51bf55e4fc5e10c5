#include "src/comet/gcs/gcs_task_manager.h"

#include <gtest/gtest.h>

#include "src/comet/gcs/in_memory_store_client.h"

namespace comet::gcs {
namespace {

rpc::TaskEvent Event(const std::string& id, rpc::TaskRow::State state, int64_t time_ms) {
  rpc::TaskEvent event;
  event.mutable_row()->set_task_id(id);
  event.mutable_row()->set_state(state);
  event.set_time_ms(time_ms);
  return event;
}

void Add(GcsTaskManager& tasks, const rpc::TaskEvent& event) {
  rpc::AddTaskEventDataRequest request;
  *request.add_events() = event;
  tasks.AddEvents(request);
}

TEST(GcsTaskManagerTest, MergesOwnerAndExecutorEvents) {
  GcsTaskManager tasks;
  rpc::TaskEvent created = Event("t1", rpc::TaskRow::PENDING, 10);
  created.mutable_row()->set_name("f");
  created.mutable_row()->set_job_id("j1");
  Add(tasks, created);
  rpc::TaskEvent ran = Event("t1", rpc::TaskRow::RUNNING, 20);
  ran.mutable_row()->set_node_id("n1");
  ran.mutable_row()->set_worker_id("w1");
  Add(tasks, ran);
  Add(tasks, Event("t1", rpc::TaskRow::FINISHED, 30));
  // A late RUNNING (another reporter) does not move it back.
  Add(tasks, Event("t1", rpc::TaskRow::RUNNING, 25));
  auto rows = tasks.GetRows("", 0);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state(), rpc::TaskRow::FINISHED);
  EXPECT_EQ(rows[0].name(), "f");
  EXPECT_EQ(rows[0].node_id(), "n1");
  EXPECT_EQ(rows[0].creation_time_ms(), 10);
  EXPECT_EQ(rows[0].end_time_ms(), 30);
}

TEST(GcsTaskManagerTest, FailedWinsAndCarriesTheError) {
  GcsTaskManager tasks;
  Add(tasks, Event("t1", rpc::TaskRow::FINISHED, 30));
  rpc::TaskEvent failed = Event("t1", rpc::TaskRow::FAILED, 31);
  failed.mutable_row()->set_error("WORKER_CRASHED: gone");
  Add(tasks, failed);
  auto rows = tasks.GetRows("", 0);
  EXPECT_EQ(rows[0].state(), rpc::TaskRow::FAILED);
  EXPECT_EQ(rows[0].error(), "WORKER_CRASHED: gone");
}

TEST(GcsTaskManagerTest, KeepsTheNewestRowsAndFiltersByJob) {
  GcsTaskManager tasks(2);
  for (const char* id : {"a", "b", "c"}) {
    rpc::TaskEvent event = Event(id, rpc::TaskRow::PENDING, 1);
    event.mutable_row()->set_job_id(std::string(id) == "b" ? "j2" : "j1");
    Add(tasks, event);
  }
  EXPECT_EQ(tasks.num_dropped(), 1);
  auto rows = tasks.GetRows("", 0);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].task_id(), "c");  // newest first
  EXPECT_EQ(tasks.GetRows("j2", 0).size(), 1u);
  EXPECT_EQ(tasks.GetRows("", 1).size(), 1u);
}

TEST(GcsTaskManagerTest, CountsRowsByState) {
  GcsTaskManager tasks;
  Add(tasks, Event("a", rpc::TaskRow::PENDING, 1));
  Add(tasks, Event("b", rpc::TaskRow::RUNNING, 1));
  Add(tasks, Event("c", rpc::TaskRow::RUNNING, 1));
  rpc::TaskEvent other_job = Event("d", rpc::TaskRow::FINISHED, 1);
  other_job.mutable_row()->set_job_id("j2");
  Add(tasks, other_job);
  std::map<std::string, int64_t> all = {{"PENDING", 1}, {"RUNNING", 2}, {"FINISHED", 1}};
  EXPECT_EQ(tasks.CountByState(""), all);
  std::map<std::string, int64_t> j2 = {{"FINISHED", 1}};
  EXPECT_EQ(tasks.CountByState("j2"), j2);
}

TEST(GcsTaskManagerTest, FlushedRowsAndCountsSurviveARestart) {
  InMemoryStoreClient store;
  {
    GcsTaskManager before(3, &store);
    ASSERT_TRUE(before.Initialize().ok());
    for (const char* id : {"a", "b", "c", "d"}) Add(before, Event(id, rpc::TaskRow::PENDING, 1));
    Add(before, Event("d", rpc::TaskRow::FINISHED, 2));
    rpc::AddTaskEventDataRequest dropped;
    dropped.set_num_dropped(5);
    before.AddEvents(dropped);
    ASSERT_TRUE(before.Flush().ok());
    // Changed after the last flush: lost with a GCS killed outright.
    Add(before, Event("c", rpc::TaskRow::RUNNING, 3));
  }
  // "a" was evicted before the flush: never written, or removed.
  EXPECT_EQ(store.GetAll(GcsTaskManager::kTaskTable)->size(), 3u);
  GcsTaskManager after(3, &store);
  ASSERT_TRUE(after.Initialize().ok());
  auto rows = after.GetRows("", 0);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].task_id(), "d");  // newest first, as before
  EXPECT_EQ(rows[0].state(), rpc::TaskRow::FINISHED);
  EXPECT_EQ(rows[2].task_id(), "b");
  EXPECT_EQ(after.num_dropped(), 6);  // five reported + "a" evicted
  auto counts = after.CountByState("");
  EXPECT_EQ(counts["PENDING"], 2);
  EXPECT_EQ(counts["FINISHED"], 1);
  // New rows go after the loaded ones; evicting a loaded one removes it
  // from the store at the next flush.
  Add(after, Event("e", rpc::TaskRow::PENDING, 4));
  ASSERT_TRUE(after.Flush().ok());
  auto stored = *store.GetAll(GcsTaskManager::kTaskTable);
  ASSERT_EQ(stored.size(), 3u);
  rpc::TaskRow newest;
  ASSERT_TRUE(newest.ParseFromString(stored.back().second));
  EXPECT_EQ(newest.task_id(), "e");
  EXPECT_EQ(after.GetRows("", 0).back().task_id(), "c");
}

TEST(GcsTaskManagerTest, WithoutAStoreFlushDoesNothing) {
  GcsTaskManager tasks;
  ASSERT_TRUE(tasks.Initialize().ok());
  Add(tasks, Event("a", rpc::TaskRow::PENDING, 1));
  EXPECT_TRUE(tasks.Flush().ok());
  EXPECT_EQ(tasks.num_rows(), 1u);
}

}  // namespace
}  // namespace comet::gcs
