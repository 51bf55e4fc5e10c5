#include "src/comet/core_worker/task_receiver.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "src/comet/core_worker/ray_object.h"

namespace comet::core {
namespace {

// A pushed actor call whose answer is recorded in `answered`.
struct FakeTask : ReceivedTask {
  FakeTask(int64_t seq, std::vector<std::string>* answered) : answered(answered) {
    task_id = TaskID::FromRandom(JobID::FromInt(1));
    rpc::TaskSpec* spec = owned_request.mutable_task_spec();
    spec->set_task_id(task_id.Binary());
    spec->set_type(rpc::ACTOR_TASK);
    spec->set_num_returns(1);
    spec->mutable_actor_task()->set_caller_id("caller");
    spec->mutable_actor_task()->set_sequence_number(seq);
    request = &owned_request;
    reply = &owned_reply;
  }
  void Respond(const grpc::Status&) override {
    bool cancelled = owned_reply.return_objects_size() > 0 &&
                     owned_reply.return_objects(0).value().metadata() ==
                         std::string(RayObject::kErrorMetadataPrefix) + kTaskCancelled;
    answered->push_back(task_id.Hex() + (cancelled ? ":cancelled" : ":ok"));
  }
  rpc::PushTaskRequest owned_request;
  rpc::PushTaskReply owned_reply;
  std::vector<std::string>* answered;
};

TEST(TaskReceiverTest, AnActorCallWaitingForItsTurnIsAnsweredCancelledWhenItComes) {
  TaskReceiver receiver;
  std::vector<std::string> answered;
  auto second = std::make_unique<FakeTask>(2, &answered);
  TaskID second_id = second->task_id;
  receiver.Enqueue(std::move(second));  // waits for call 1
  EXPECT_TRUE(receiver.Cancel(second_id));
  EXPECT_TRUE(answered.empty());
  auto first = std::make_unique<FakeTask>(1, &answered);
  TaskID first_id = first->task_id;
  receiver.Enqueue(std::move(first));
  // Call 2 is answered as cancelled the moment call 1 releases it; call 1 runs.
  ASSERT_EQ(answered, std::vector<std::string>({second_id.Hex() + ":cancelled"}));
  std::unique_ptr<ReceivedTask> next = receiver.Next(absl::Now());
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->task_id, first_id);
  EXPECT_EQ(receiver.Next(absl::Now()), nullptr);
}

TEST(TaskReceiverTest, AQueuedCallIsAnsweredCancelledAndARunningOneGoesToTheHook) {
  TaskReceiver receiver;
  std::vector<std::string> answered;
  std::vector<TaskID> interrupted;
  receiver.SetInterruptHook([&](const TaskID& id) { interrupted.push_back(id); });
  auto first = std::make_unique<FakeTask>(1, &answered);
  auto second = std::make_unique<FakeTask>(2, &answered);
  TaskID first_id = first->task_id, second_id = second->task_id;
  receiver.Enqueue(std::move(first));
  receiver.Enqueue(std::move(second));
  std::unique_ptr<ReceivedTask> running = receiver.Next(absl::Now());
  ASSERT_NE(running, nullptr);
  EXPECT_TRUE(receiver.Cancel(second_id));
  EXPECT_EQ(answered, std::vector<std::string>({second_id.Hex() + ":cancelled"}));
  EXPECT_TRUE(receiver.Cancel(first_id));
  EXPECT_EQ(interrupted, std::vector<TaskID>({first_id}));
  // Not here at all: the hook still hears of it (an async actor's calls
  // run side by side), but it is not reported as found.
  TaskID elsewhere = TaskID::FromRandom(JobID::FromInt(1));
  EXPECT_FALSE(receiver.Cancel(elsewhere));
  EXPECT_EQ(interrupted.size(), 2u);
  receiver.Finish(std::move(running));
}

}  // namespace
}  // namespace comet::core
