#include "src/comet/gcs/gcs_task_manager.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace comet::gcs
