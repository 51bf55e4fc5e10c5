// TaskManager: the tasks this process submitted and still owns.
//
// Keeps each pending task's spec and retry budget, stores its returns when it
// finishes (inline values or plasma markers, through the store callback),
// retries it through the resubmit callback after a system failure (or an
// application error that retry_exceptions allows), and otherwise stores an
// error object for each return. Streaming generator items are recorded as
// they are reported. Thread-safe; callbacks run outside the lock.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "proto/core_worker.pb.h"
#include "proto/gcs_service.pb.h"
#include "src/comet/common/id.h"
#include "src/comet/core_worker/memory_store.h"

namespace comet::core {

class TaskManager {
 public:
  struct Callbacks {
    // Stores one return value (the owner decides whether it is still wanted).
    std::function<void(const ObjectID&, ObjectPtr)> store_return;
    // Stores an item of a generator's stream (owned by this process).
    std::function<void(const ObjectID&, ObjectPtr)> store_stream_item;
    // Submits the task again (a retry).
    std::function<void(const rpc::TaskSpec&)> resubmit;
    // The task is done for good: its argument references may go.
    std::function<void(const std::vector<ObjectID>& arg_refs)> release_args;
    // Optional: the task (attempt) changed state, for task events. `error`
    // says why for FAILED.
    std::function<void(const rpc::TaskSpec&, rpc::TaskRow::State, const std::string& error)>
        task_state;
  };

  explicit TaskManager(Callbacks callbacks) : callbacks_(std::move(callbacks)) {}

  void AddPendingTask(const rpc::TaskSpec& spec, std::vector<ObjectID> arg_refs);

  // The worker replied (the task ran, or raised).
  void CompleteTask(const TaskID& task_id, const rpc::PushTaskReply& reply);

  // The task could not run to completion for a system reason (`kind` is one
  // of the error kinds in ray_object.h). Retried if allowed, else failed.
  void FailTask(const TaskID& task_id, const std::string& kind, const std::string& message,
                bool retryable);

  // Further failures of the task are reported as cancellation, never retried.
  void MarkCancelled(const TaskID& task_id);
  bool IsCancelled(const TaskID& task_id) const;
  bool IsPending(const TaskID& task_id) const;
  std::optional<rpc::TaskSpec> GetSpec(const TaskID& task_id) const;
  // Pending tasks submitted from inside `parent` (for recursive cancel).
  std::vector<TaskID> ChildrenOf(const TaskID& parent) const;
  size_t NumPending() const;

  // Streaming generators: item `index` (0-based) of the task's stream.
  // `ack` answers the executor's report. Under backpressure (the spec's
  // generator_backpressure_num_objects = N > 0) it runs only once fewer than
  // N items up to this one are unconsumed (MarkConsumed), which holds the
  // generator back; otherwise at once. Runs outside the lock.
  void AddGeneratorItem(const TaskID& task_id, int64_t index, const rpc::ReturnObject& item,
                        std::function<void()> ack = nullptr);
  // The reader has taken the stream's first `count` items.
  void MarkConsumed(const TaskID& task_id, int64_t count);
  // Items reported so far, and whether the stream has ended (with its length).
  struct StreamState {
    int64_t num_reported = 0;
    bool finished = false;
    int64_t total = -1;
  };
  StreamState GetStreamState(const TaskID& task_id) const;
  // The reader is gone: held reports are answered and the stream forgotten.
  void ForgetStream(const TaskID& task_id);
  // Shutdown: every held report is answered (a server waits for them).
  void ReleaseHeldReports();

  // The ObjectID of item `index` of a generator task's stream.
  static ObjectID GeneratorItemId(const TaskID& task_id, int64_t index);
  // The object stored when a generator task ends (Ray's
  // ObjectRefGenerator.completed()): an end-of-stream marker when it ran to
  // its end (an exception it raised is the stream's last item), else the
  // system error that ended it.
  static ObjectID GeneratorCompletionId(const TaskID& task_id);
  static ObjectPtr ToObject(const rpc::ReturnObject& ret);

 private:
  void ReportState(const rpc::TaskSpec& spec, rpc::TaskRow::State state, const std::string& error);
  // The attempt before `next_attempt` failed and the task is retried.
  void ReportRetry(const rpc::TaskSpec& next_attempt, const std::string& error);

  struct Pending {
    rpc::TaskSpec spec;
    std::vector<ObjectID> arg_refs;
    int32_t retries_left = 0;
    bool cancelled = false;
  };

  void StoreErrors(const rpc::TaskSpec& spec, const std::string& kind, const std::string& message);

  // A stream's backpressure: reports held back, by item index.
  struct Backpressure {
    int64_t limit = 0;  // <= 0: none
    int64_t consumed = 0;
    std::map<int64_t, std::function<void()>> held;
  };
  // Takes the held reports that `b` now lets through (all with `all`).
  static std::vector<std::function<void()>> Releasable(Backpressure& b, bool all);

  Callbacks callbacks_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<TaskID, Pending> pending_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<TaskID, StreamState> streams_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<TaskID, Backpressure> backpressure_ ABSL_GUARDED_BY(mu_);
};

}  // namespace comet::core
