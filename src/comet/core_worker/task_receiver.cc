#include "src/comet/core_worker/task_receiver.h"

#include <algorithm>
#include <utility>

#include "src/comet/core_worker/ray_object.h"

namespace comet::core {

void FillErrorReply(const rpc::TaskSpec& spec, const std::string& kind,
                    const std::string& message, rpc::PushTaskReply* reply) {
  auto task_id = TaskID::FromBinary(spec.task_id());
  if (!task_id.ok()) return;
  reply->clear_return_objects();
  for (int i = 1; i <= spec.num_returns(); ++i) {
    rpc::ReturnObject* ret = reply->add_return_objects();
    ret->set_object_id(ObjectID::FromIndex(*task_id, i).Binary());
    ret->mutable_value()->set_data(message);
    ret->mutable_value()->set_metadata(std::string(RayObject::kErrorMetadataPrefix) + kind);
  }
  reply->set_is_application_error(true);
}

namespace {

void AnswerCancelled(ReceivedTask& task, const std::string& when) {
  FillErrorReply(task.request->task_spec(), kTaskCancelled,
                 "task " + task.task_id.Hex() + " was cancelled " + when, task.reply);
  task.Respond(grpc::Status::OK);
}

}  // namespace

void TaskReceiver::Enqueue(std::unique_ptr<ReceivedTask> task) {
  std::vector<std::unique_ptr<ReceivedTask>> cancelled;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_ || draining_) {
      task->reply->set_worker_exiting(true);
      task->Respond(grpc::Status(grpc::StatusCode::UNAVAILABLE, "worker is exiting"));
      return;
    }
    const rpc::TaskSpec& spec = task->request->task_spec();
    if (spec.type() != rpc::ACTOR_TASK) {
      queue_.push_back(std::move(task));
      return;
    }
    CallerOrder& order = callers_[spec.actor_task().caller_id()];
    order.expected = std::max(order.expected, task->request->client_processed_up_to() + 1);
    int64_t seq = spec.actor_task().sequence_number();
    if (seq < order.expected) {
      queue_.push_back(std::move(task));  // A retry of an answered number: run it.
    } else {
      order.early[seq] = std::move(task);
    }
    ReleaseInOrder(order, &cancelled);
  }
  for (auto& task : cancelled) AnswerCancelled(*task, "before it started");
}

void TaskReceiver::ReleaseInOrder(CallerOrder& order,
                                  std::vector<std::unique_ptr<ReceivedTask>>* cancelled) {
  while (!order.early.empty()) {
    auto first = order.early.begin();
    if (first->first > order.expected) return;
    if (first->first == order.expected) order.expected++;
    if (cancelled_early_.erase(first->second->task_id) > 0) {
      cancelled->push_back(std::move(first->second));
    } else {
      queue_.push_back(std::move(first->second));
    }
    order.early.erase(first);
  }
}

std::unique_ptr<ReceivedTask> TaskReceiver::Next(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopped_ || !queue_.empty(); };
  mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
  if (draining_ && queue_.empty()) stopped_ = true;
  if (stopped_ || queue_.empty()) return nullptr;
  std::unique_ptr<ReceivedTask> task = std::move(queue_.front());
  queue_.pop_front();
  running_ = task->task_id;
  return task;
}

void TaskReceiver::Finish(std::unique_ptr<ReceivedTask> task) {
  {
    absl::MutexLock lock(&mu_);
    running_ = TaskID::Nil();
  }
  task->Respond(grpc::Status::OK);
}

bool TaskReceiver::Cancel(const TaskID& task_id) {
  std::unique_ptr<ReceivedTask> removed;
  std::function<void(const TaskID&)> interrupt;
  bool running = false;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if ((*it)->task_id == task_id) {
        removed = std::move(*it);
        queue_.erase(it);
        break;
      }
    }
    if (!removed) {
      for (auto& [caller, order] : callers_) {
        for (const auto& [seq, waiting] : order.early) {
          if (waiting->task_id == task_id) {
            cancelled_early_.insert(task_id);
            return true;
          }
        }
      }
      // Running: the task's own thread, or (an async actor's calls run
      // side by side) one of the calls on its event loop.
      running = running_ == task_id;
      interrupt = interrupt_;
    }
  }
  if (removed) {
    AnswerCancelled(*removed, "before it started");
    return true;
  }
  if (interrupt) interrupt(task_id);
  return running;
}

void TaskReceiver::SetInterruptHook(std::function<void(const TaskID&)> hook) {
  absl::MutexLock lock(&mu_);
  interrupt_ = std::move(hook);
}

void TaskReceiver::Stop() {
  std::deque<std::unique_ptr<ReceivedTask>> queued;
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    queued.swap(queue_);
    for (auto& [caller, order] : callers_) {
      for (auto& [seq, task] : order.early) queued.push_back(std::move(task));
    }
    callers_.clear();
  }
  for (auto& task : queued) {
    task->reply->set_worker_exiting(true);
    task->Respond(grpc::Status(grpc::StatusCode::UNAVAILABLE, "worker is exiting"));
  }
}

void TaskReceiver::Drain() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
  if (queue_.empty()) stopped_ = true;
}

bool TaskReceiver::stopped() const {
  absl::MutexLock lock(&mu_);
  return stopped_;
}

TaskID TaskReceiver::running_task() const {
  absl::MutexLock lock(&mu_);
  return running_;
}

}  // namespace comet::core
