#include "src/comet/core_worker/task_manager.h"

#include <utility>

namespace comet::core {
namespace {

// Returns are ObjectIDs 1..num_returns of the task; stream items follow the
// same scheme, after index 0 which the generator itself would use.
std::vector<ObjectID> ReturnIds(const rpc::TaskSpec& spec) {
  auto task_id = TaskID::FromBinary(spec.task_id());
  std::vector<ObjectID> ids;
  if (!task_id.ok()) return ids;
  // num_returns="dynamic": the one return is the generator's completion.
  if (spec.dynamic_returns()) ids.push_back(ObjectID::FromIndex(*task_id, 0));
  for (int i = 1; i <= spec.num_returns(); ++i) ids.push_back(ObjectID::FromIndex(*task_id, i));
  return ids;
}

}  // namespace

ObjectID TaskManager::GeneratorItemId(const TaskID& task_id, int64_t index) {
  return ObjectID::FromIndex(task_id, static_cast<uint32_t>(index + 1));
}

ObjectID TaskManager::GeneratorCompletionId(const TaskID& task_id) {
  return ObjectID::FromIndex(task_id, 0);
}

ObjectPtr TaskManager::ToObject(const rpc::ReturnObject& ret) {
  auto obj = std::make_shared<RayObject>();
  // A value in plasma still names the references nested in it.
  obj->nested_refs.assign(ret.value().nested_refs().begin(), ret.value().nested_refs().end());
  if (ret.in_plasma()) {
    obj->in_plasma = true;
    obj->size = ret.size();
    obj->node_id = ret.plasma_node_id();
    return obj;
  }
  obj->data = ret.value().data();
  obj->metadata = ret.value().metadata();
  obj->size = static_cast<int64_t>(obj->data.size() + obj->metadata.size());
  return obj;
}

void TaskManager::AddPendingTask(const rpc::TaskSpec& spec, std::vector<ObjectID> arg_refs) {
  auto task_id = TaskID::FromBinary(spec.task_id());
  if (!task_id.ok()) return;
  {
    absl::MutexLock lock(&mu_);
    Pending& p = pending_[*task_id];
    p.spec = spec;
    p.arg_refs = std::move(arg_refs);
    p.retries_left = spec.max_retries();
    if (spec.is_generator()) {
      streams_.try_emplace(*task_id);
      if (spec.generator_backpressure_num_objects() > 0) {
        backpressure_[*task_id].limit = spec.generator_backpressure_num_objects();
      }
    }
  }
  ReportState(spec, rpc::TaskRow::PENDING, "");
}

void TaskManager::ReportState(const rpc::TaskSpec& spec, rpc::TaskRow::State state,
                              const std::string& error) {
  if (callbacks_.task_state) callbacks_.task_state(spec, state, error);
}

void TaskManager::ReportRetry(const rpc::TaskSpec& next_attempt, const std::string& error) {
  if (!callbacks_.task_state) return;
  rpc::TaskSpec previous = next_attempt;
  previous.set_attempt_number(next_attempt.attempt_number() - 1);
  callbacks_.task_state(previous, rpc::TaskRow::FAILED, error + " (retried)");
  callbacks_.task_state(next_attempt, rpc::TaskRow::PENDING, "");
}

void TaskManager::CompleteTask(const TaskID& task_id, const rpc::PushTaskReply& reply) {
  bool retry = false;
  Pending done;
  int64_t end_index = -1;
  {
    absl::MutexLock lock(&mu_);
    auto it = pending_.find(task_id);
    if (it == pending_.end()) return;
    Pending& p = it->second;
    if (reply.is_application_error() && reply.is_retryable_error() && !p.cancelled &&
        p.retries_left != 0) {
      if (p.retries_left > 0) p.retries_left--;
      p.spec.set_attempt_number(p.spec.attempt_number() + 1);
      retry = true;
      done.spec = p.spec;
    } else {
      done = std::move(p);
      pending_.erase(it);
      if (done.spec.is_generator()) {
        StreamState& s = streams_[task_id];
        s.finished = true;
        s.total = reply.num_streamed_items();
        end_index = s.total;
        backpressure_.erase(task_id);
      }
    }
  }
  if (retry) {
    ReportRetry(done.spec, "the task raised an exception");
    callbacks_.resubmit(done.spec);
    return;
  }
  // The executor reports what the task raised.
  ReportState(done.spec,
              reply.is_application_error() ? rpc::TaskRow::FAILED : rpc::TaskRow::FINISHED, "");
  const bool dynamic = done.spec.dynamic_returns();
  for (const rpc::ReturnObject& ret : reply.return_objects()) {
    auto id = ObjectID::FromBinary(ret.object_id());
    if (!id.ok()) continue;
    // A cancelled dynamic generator's one return is the cancellation.
    if (dynamic && done.cancelled && *id == GeneratorCompletionId(task_id)) continue;
    callbacks_.store_return(*id, ToObject(ret));
  }
  if (end_index >= 0) {
    callbacks_.store_stream_item(GeneratorItemId(task_id, end_index), RayObject::EndOfStream());
    // A cancelled generator (its stream ends with the cancellation) also
    // completes with it; a dynamic one's completion is the return it sent
    // (its ref is a return: kept only while referenced).
    ObjectPtr end = done.cancelled ? RayObject::Error(kTaskCancelled,
                                                      "task " + task_id.Hex() + " was cancelled")
                                   : RayObject::EndOfStream();
    if (!dynamic) {
      callbacks_.store_stream_item(GeneratorCompletionId(task_id), std::move(end));
    } else if (done.cancelled) {
      callbacks_.store_return(GeneratorCompletionId(task_id), std::move(end));
    }
  }
  callbacks_.release_args(done.arg_refs);
}

void TaskManager::FailTask(const TaskID& task_id, const std::string& kind,
                           const std::string& message, bool retryable) {
  bool retry = false;
  Pending done;
  int64_t error_index = -1;
  std::string final_kind = kind;
  std::vector<std::function<void()>> acks;  // reports of a worker that is gone
  {
    absl::MutexLock lock(&mu_);
    auto it = pending_.find(task_id);
    if (it == pending_.end()) return;
    Pending& p = it->second;
    if (p.cancelled) {
      final_kind = kTaskCancelled;
    } else if (retryable && p.retries_left != 0) {
      if (p.retries_left > 0) p.retries_left--;
      p.spec.set_attempt_number(p.spec.attempt_number() + 1);
      retry = true;
      done.spec = p.spec;
    }
    if (!retry) {
      done = std::move(p);
      pending_.erase(it);
      if (done.spec.is_generator()) {
        // The error becomes the stream's last item.
        StreamState& s = streams_[task_id];
        s.finished = true;
        error_index = s.num_reported;
        s.total = s.num_reported + 1;
        auto held = backpressure_.find(task_id);
        if (held != backpressure_.end()) {
          acks = Releasable(held->second, /*all=*/true);
          backpressure_.erase(held);
        }
      }
    }
  }
  if (retry) {
    ReportRetry(done.spec, kind + ": " + message);
    callbacks_.resubmit(done.spec);
    return;
  }
  // A constructor's error is a serialized exception, not text.
  for (auto& ack : acks) ack();
  ReportState(done.spec, rpc::TaskRow::FAILED,
              final_kind == kActorCreationFailed
                  ? final_kind + ": the actor's constructor raised an exception"
                  : final_kind + ": " + message);
  std::string text = final_kind == kTaskCancelled && final_kind != kind
                         ? "task " + task_id.Hex() + " was cancelled"
                         : message;
  StoreErrors(done.spec, final_kind, text);
  if (error_index >= 0 && !done.spec.dynamic_returns()) {
    callbacks_.store_stream_item(GeneratorItemId(task_id, error_index),
                                 RayObject::Error(final_kind, text));
    callbacks_.store_stream_item(GeneratorItemId(task_id, error_index + 1),
                                 RayObject::EndOfStream());
    callbacks_.store_stream_item(GeneratorCompletionId(task_id),
                                 RayObject::Error(final_kind, text));
  }
  callbacks_.release_args(done.arg_refs);
}

void TaskManager::StoreErrors(const rpc::TaskSpec& spec, const std::string& kind,
                              const std::string& message) {
  ObjectPtr error = RayObject::Error(kind, message);
  for (const ObjectID& id : ReturnIds(spec)) callbacks_.store_return(id, error);
}

void TaskManager::MarkCancelled(const TaskID& task_id) {
  absl::MutexLock lock(&mu_);
  auto it = pending_.find(task_id);
  if (it != pending_.end()) it->second.cancelled = true;
}

bool TaskManager::IsCancelled(const TaskID& task_id) const {
  absl::MutexLock lock(&mu_);
  auto it = pending_.find(task_id);
  return it != pending_.end() && it->second.cancelled;
}

bool TaskManager::IsPending(const TaskID& task_id) const {
  absl::MutexLock lock(&mu_);
  return pending_.contains(task_id);
}

std::optional<rpc::TaskSpec> TaskManager::GetSpec(const TaskID& task_id) const {
  absl::MutexLock lock(&mu_);
  auto it = pending_.find(task_id);
  if (it == pending_.end()) return std::nullopt;
  return it->second.spec;
}

std::vector<TaskID> TaskManager::ChildrenOf(const TaskID& parent) const {
  absl::MutexLock lock(&mu_);
  std::vector<TaskID> out;
  for (const auto& [id, pending] : pending_) {
    if (pending.spec.parent_task_id() == parent.Binary()) out.push_back(id);
  }
  return out;
}

size_t TaskManager::NumPending() const {
  absl::MutexLock lock(&mu_);
  return pending_.size();
}

void TaskManager::AddGeneratorItem(const TaskID& task_id, int64_t index,
                                   const rpc::ReturnObject& item, std::function<void()> ack) {
  {
    absl::MutexLock lock(&mu_);
    StreamState& s = streams_[task_id];
    if (index + 1 > s.num_reported) s.num_reported = index + 1;
    auto it = backpressure_.find(task_id);
    if (ack && it != backpressure_.end() && it->second.limit > 0 &&
        index + 1 - it->second.consumed >= it->second.limit) {
      it->second.held[index] = std::move(ack);
      ack = nullptr;
    }
  }
  callbacks_.store_stream_item(GeneratorItemId(task_id, index), ToObject(item));
  if (ack) ack();
}

std::vector<std::function<void()>> TaskManager::Releasable(Backpressure& b, bool all) {
  std::vector<std::function<void()>> out;
  // Item i's report waits while i + 1 - consumed >= limit.
  while (!b.held.empty() && (all || b.held.begin()->first + 1 - b.consumed < b.limit)) {
    out.push_back(std::move(b.held.begin()->second));
    b.held.erase(b.held.begin());
  }
  return out;
}

void TaskManager::MarkConsumed(const TaskID& task_id, int64_t count) {
  std::vector<std::function<void()>> acks;
  {
    absl::MutexLock lock(&mu_);
    auto it = backpressure_.find(task_id);
    if (it == backpressure_.end() || count <= it->second.consumed) return;
    it->second.consumed = count;
    acks = Releasable(it->second, /*all=*/false);
  }
  for (auto& ack : acks) ack();
}

void TaskManager::ReleaseHeldReports() {
  std::vector<std::function<void()>> acks;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, b] : backpressure_) {
      for (auto& ack : Releasable(b, /*all=*/true)) acks.push_back(std::move(ack));
      b.limit = 0;  // none from now on
    }
  }
  for (auto& ack : acks) ack();
}

TaskManager::StreamState TaskManager::GetStreamState(const TaskID& task_id) const {
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(task_id);
  return it == streams_.end() ? StreamState{0, true, 0} : it->second;
}

void TaskManager::ForgetStream(const TaskID& task_id) {
  std::vector<std::function<void()>> acks;
  {
    absl::MutexLock lock(&mu_);
    streams_.erase(task_id);
    auto it = backpressure_.find(task_id);
    if (it != backpressure_.end()) {
      acks = Releasable(it->second, /*all=*/true);
      backpressure_.erase(it);
    }
  }
  for (auto& ack : acks) ack();
}

}  // namespace comet::core
