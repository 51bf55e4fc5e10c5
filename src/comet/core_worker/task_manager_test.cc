#include "src/comet/core_worker/task_manager.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace comet::core {
namespace {

class TaskManagerTest : public ::testing::Test {
 protected:
  TaskManagerTest()
      : manager_(TaskManager::Callbacks{
            [this](const ObjectID& id, ObjectPtr obj) { stored_[id] = obj; },
            [this](const ObjectID& id, ObjectPtr obj) { stream_[id] = obj; },
            [this](const rpc::TaskSpec& spec) { resubmitted_.push_back(spec); },
            [this](const std::vector<ObjectID>& args) { released_ += args.size(); }}) {}

  rpc::TaskSpec Spec(int max_retries, int num_returns = 1) {
    rpc::TaskSpec spec;
    task_id_ = TaskID::FromRandom(JobID::FromInt(1));
    spec.set_task_id(task_id_.Binary());
    spec.set_num_returns(num_returns);
    spec.set_max_retries(max_retries);
    return spec;
  }

  // A generator task's spec; `backpressure` > 0 holds its reports back.
  rpc::TaskSpec GeneratorSpec(int64_t backpressure = 0) {
    rpc::TaskSpec spec = Spec(0, 0);
    spec.set_is_generator(true);
    spec.set_generator_backpressure_num_objects(backpressure);
    return spec;
  }

  TaskManager manager_;
  TaskID task_id_;
  std::map<ObjectID, ObjectPtr> stored_;
  std::map<ObjectID, ObjectPtr> stream_;
  std::vector<rpc::TaskSpec> resubmitted_;
  size_t released_ = 0;
};

TEST_F(TaskManagerTest, CompleteStoresReturns) {
  manager_.AddPendingTask(Spec(0, 2), {ObjectID::FromRandom()});
  rpc::PushTaskReply reply;
  for (int i = 1; i <= 2; ++i) {
    rpc::ReturnObject* ret = reply.add_return_objects();
    ret->set_object_id(ObjectID::FromIndex(task_id_, i).Binary());
    ret->mutable_value()->set_data("v" + std::to_string(i));
  }
  reply.mutable_return_objects(1)->set_in_plasma(true);
  manager_.CompleteTask(task_id_, reply);
  ASSERT_EQ(stored_.size(), 2u);
  EXPECT_EQ(stored_[ObjectID::FromIndex(task_id_, 1)]->data, "v1");
  EXPECT_TRUE(stored_[ObjectID::FromIndex(task_id_, 2)]->in_plasma);
  EXPECT_EQ(released_, 1u);
  EXPECT_FALSE(manager_.IsPending(task_id_));
}

TEST_F(TaskManagerTest, SystemFailuresRetryThenFail) {
  manager_.AddPendingTask(Spec(2), {});
  manager_.FailTask(task_id_, kWorkerCrashed, "died", true);
  manager_.FailTask(task_id_, kWorkerCrashed, "died", true);
  EXPECT_EQ(resubmitted_.size(), 2u);
  EXPECT_EQ(resubmitted_[1].attempt_number(), 2);
  EXPECT_TRUE(stored_.empty());
  manager_.FailTask(task_id_, kWorkerCrashed, "died again", true);
  ASSERT_EQ(stored_.size(), 1u);
  EXPECT_EQ(stored_.begin()->second->metadata, std::string("COMET_ERROR:") + kWorkerCrashed);
  EXPECT_EQ(stored_.begin()->second->data, "died again");
}

TEST_F(TaskManagerTest, RetryableApplicationErrorsUseTheSameBudget) {
  manager_.AddPendingTask(Spec(1), {});
  rpc::PushTaskReply reply;
  reply.set_is_application_error(true);
  reply.set_is_retryable_error(true);
  reply.add_return_objects()->set_object_id(ObjectID::FromIndex(task_id_, 1).Binary());
  manager_.CompleteTask(task_id_, reply);
  EXPECT_EQ(resubmitted_.size(), 1u);
  manager_.CompleteTask(task_id_, reply);
  EXPECT_EQ(resubmitted_.size(), 1u);
  EXPECT_EQ(stored_.size(), 1u);
}

TEST_F(TaskManagerTest, CancelledTasksAreNotRetried) {
  manager_.AddPendingTask(Spec(-1), {});
  manager_.MarkCancelled(task_id_);
  manager_.FailTask(task_id_, kWorkerCrashed, "killed", true);
  EXPECT_TRUE(resubmitted_.empty());
  ASSERT_EQ(stored_.size(), 1u);
  EXPECT_EQ(stored_.begin()->second->metadata, std::string("COMET_ERROR:") + kTaskCancelled);
}

TEST_F(TaskManagerTest, GeneratorItemsThenEndOfStream) {
  manager_.AddPendingTask(GeneratorSpec(), {});
  rpc::ReturnObject item;
  item.mutable_value()->set_data("first");
  manager_.AddGeneratorItem(task_id_, 0, item);
  rpc::PushTaskReply reply;
  reply.set_num_streamed_items(1);
  manager_.CompleteTask(task_id_, reply);
  EXPECT_EQ(stream_[TaskManager::GeneratorItemId(task_id_, 0)]->data, "first");
  EXPECT_EQ(stream_[TaskManager::GeneratorItemId(task_id_, 1)]->metadata,
            RayObject::kEndOfStream);
  EXPECT_EQ(stream_[TaskManager::GeneratorCompletionId(task_id_)]->metadata,
            RayObject::kEndOfStream);
}

TEST_F(TaskManagerTest, AFailedGeneratorEndsWithTheErrorAndCompletesWithIt) {
  manager_.AddPendingTask(GeneratorSpec(), {});
  rpc::ReturnObject item;
  item.mutable_value()->set_data("first");
  manager_.AddGeneratorItem(task_id_, 0, item);
  manager_.FailTask(task_id_, kWorkerCrashed, "it died", false);
  EXPECT_EQ(stream_[TaskManager::GeneratorItemId(task_id_, 1)]->metadata,
            std::string("COMET_ERROR:") + kWorkerCrashed);
  EXPECT_EQ(stream_[TaskManager::GeneratorItemId(task_id_, 2)]->metadata,
            RayObject::kEndOfStream);
  const ObjectPtr& completion = stream_[TaskManager::GeneratorCompletionId(task_id_)];
  EXPECT_EQ(completion->metadata, std::string("COMET_ERROR:") + kWorkerCrashed);
  EXPECT_EQ(completion->data, "it died");
}

TEST_F(TaskManagerTest, ADynamicGeneratorCompletesWithTheReturnItSent) {
  rpc::TaskSpec spec = GeneratorSpec();
  spec.set_dynamic_returns(true);
  manager_.AddPendingTask(spec, {});
  rpc::ReturnObject item;
  manager_.AddGeneratorItem(task_id_, 0, item);
  rpc::PushTaskReply reply;
  reply.set_num_streamed_items(1);
  rpc::ReturnObject* ret = reply.add_return_objects();
  ret->set_object_id(TaskManager::GeneratorCompletionId(task_id_).Binary());
  ret->set_in_plasma(true);  // a big list of refs: in plasma, naming them
  ret->mutable_value()->add_nested_refs()->set_object_id(
      TaskManager::GeneratorItemId(task_id_, 0).Binary());
  manager_.CompleteTask(task_id_, reply);
  const ObjectPtr& completion = stored_[TaskManager::GeneratorCompletionId(task_id_)];
  ASSERT_NE(completion, nullptr);
  EXPECT_TRUE(completion->in_plasma);
  ASSERT_EQ(completion->nested_refs.size(), 1u);
  EXPECT_EQ(stream_.count(TaskManager::GeneratorCompletionId(task_id_)), 0u);
}

TEST_F(TaskManagerTest, AFailedOrCancelledDynamicGeneratorsOneReturnIsTheError) {
  rpc::TaskSpec spec = GeneratorSpec();
  spec.set_dynamic_returns(true);
  manager_.AddPendingTask(spec, {});
  manager_.FailTask(task_id_, kWorkerCrashed, "it died", false);
  const ObjectID completion = TaskManager::GeneratorCompletionId(task_id_);
  EXPECT_EQ(stored_[completion]->metadata, std::string("COMET_ERROR:") + kWorkerCrashed);
  EXPECT_TRUE(stream_.empty());  // no reader of the stream: nothing stored there

  spec = GeneratorSpec();
  spec.set_dynamic_returns(true);
  manager_.AddPendingTask(spec, {});
  manager_.MarkCancelled(task_id_);
  rpc::PushTaskReply reply;
  reply.add_return_objects()->set_object_id(
      TaskManager::GeneratorCompletionId(task_id_).Binary());
  manager_.CompleteTask(task_id_, reply);
  EXPECT_EQ(stored_[TaskManager::GeneratorCompletionId(task_id_)]->metadata,
            std::string("COMET_ERROR:") + kTaskCancelled);
}

TEST_F(TaskManagerTest, BackpressureHoldsReportsUntilItemsAreConsumed) {
  manager_.AddPendingTask(GeneratorSpec(2), {});
  std::vector<int> acked;
  rpc::ReturnObject item;
  auto report = [&](int index) {
    manager_.AddGeneratorItem(task_id_, index, item, [&acked, index] { acked.push_back(index); });
  };
  report(0);
  EXPECT_EQ(acked, std::vector<int>({0}));  // one unconsumed: under the limit
  report(1);
  EXPECT_EQ(acked, std::vector<int>({0}));  // two unconsumed: held
  EXPECT_TRUE(stream_.count(TaskManager::GeneratorItemId(task_id_, 1)));  // readable though
  manager_.MarkConsumed(task_id_, 1);
  EXPECT_EQ(acked, std::vector<int>({0, 1}));
  report(2);
  EXPECT_EQ(acked.size(), 2u);
  manager_.MarkConsumed(task_id_, 1);  // not news
  EXPECT_EQ(acked.size(), 2u);
  manager_.ForgetStream(task_id_);  // the reader is gone: let it run
  EXPECT_EQ(acked, std::vector<int>({0, 1, 2}));
  report(3);
  EXPECT_EQ(acked.size(), 4u);
}

TEST_F(TaskManagerTest, HeldReportsAreAnsweredWhenTheTaskFailsOrAtShutdown) {
  manager_.AddPendingTask(GeneratorSpec(1), {});
  int acked = 0;
  rpc::ReturnObject item;
  manager_.AddGeneratorItem(task_id_, 0, item, [&acked] { ++acked; });
  EXPECT_EQ(acked, 0);
  manager_.FailTask(task_id_, kWorkerCrashed, "gone", false);
  EXPECT_EQ(acked, 1);

  manager_.AddPendingTask(GeneratorSpec(1), {});
  manager_.AddGeneratorItem(task_id_, 0, item, [&acked] { ++acked; });
  EXPECT_EQ(acked, 1);
  manager_.ReleaseHeldReports();
  EXPECT_EQ(acked, 2);
}

TEST_F(TaskManagerTest, NoBackpressureAnswersAtOnce) {
  manager_.AddPendingTask(GeneratorSpec(), {});
  int acked = 0;
  rpc::ReturnObject item;
  for (int i = 0; i < 5; ++i) manager_.AddGeneratorItem(task_id_, i, item, [&acked] { ++acked; });
  EXPECT_EQ(acked, 5);
}

}  // namespace
}  // namespace comet::core
