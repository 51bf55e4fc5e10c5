// TaskReceiver: the worker side of task pushes.
//
// gRPC threads hand in pushed tasks (unary or streamed); the execution thread (the Python main
// thread) takes them one at a time with Next(), runs them, and Finish()es
// them, which sends the reply. Cancellation removes a queued task (answered as
// cancelled) or flags the running one and calls the interrupt hook.
// Thread-safe: every field is guarded by mu_.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/core_worker.pb.h"
#include "src/comet/common/id.h"

namespace comet::core {

// One pushed task: the request, the reply to fill, and the way back to its
// caller (a unary PushTask or a PushTaskStream).
struct ReceivedTask {
  virtual ~ReceivedTask() = default;
  // Sends `reply` (status OK) or the error status to the caller; once.
  virtual void Respond(const grpc::Status& status) = 0;

  const rpc::PushTaskRequest* request = nullptr;
  rpc::PushTaskReply* reply = nullptr;
  TaskID task_id;
};

class TaskReceiver {
 public:
  // Queues a pushed task. Actor calls are released to the queue in each
  // caller's sequence order (later ones wait for the earlier ones).
  void Enqueue(std::unique_ptr<ReceivedTask> task);

  // The next task, waiting until `deadline`; nullptr on timeout or after Stop.
  std::unique_ptr<ReceivedTask> Next(absl::Time deadline);

  // Sends the reply of a task taken with Next.
  void Finish(std::unique_ptr<ReceivedTask> task);

  // Cancels a queued task (answered as cancelled; an actor call still
  // waiting for an earlier one is answered when its turn comes), else asks
  // the interrupt hook to stop it if it runs (the hook decides how: an
  // actor's calls are not interrupted as tasks are). False if it was
  // neither queued nor running here.
  bool Cancel(const TaskID& task_id);

  // Called (from a gRPC thread) to interrupt a running task.
  void SetInterruptHook(std::function<void(const TaskID&)> hook);

  // Replies to queued tasks as "worker exiting" and wakes Next.
  void Stop();
  // Refuses new tasks but lets Next hand out the queued ones; then stops.
  void Drain();
  bool stopped() const;

  TaskID running_task() const;

 private:
  struct CallerOrder {
    int64_t expected = 1;
    std::map<int64_t, std::unique_ptr<ReceivedTask>> early;
  };
  // Moves the caller's calls that are next in order to the queue; those
  // cancelled while they waited go to `cancelled` instead, to be answered.
  void ReleaseInOrder(CallerOrder& order, std::vector<std::unique_ptr<ReceivedTask>>* cancelled)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::deque<std::unique_ptr<ReceivedTask>> queue_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, CallerOrder> callers_ ABSL_GUARDED_BY(mu_);
  TaskID running_ ABSL_GUARDED_BY(mu_);
  // Actor calls cancelled while waiting for an earlier call of their caller.
  absl::flat_hash_set<TaskID> cancelled_early_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void(const TaskID&)> interrupt_ ABSL_GUARDED_BY(mu_);
};

// Fills `reply` with a system error object for every return of the task.
void FillErrorReply(const rpc::TaskSpec& spec, const std::string& kind,
                    const std::string& message, rpc::PushTaskReply* reply);

}  // namespace comet::core
