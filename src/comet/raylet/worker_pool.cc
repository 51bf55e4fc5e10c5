#include "src/comet/raylet/worker_pool.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "src/comet/common/logging.h"

namespace comet::raylet {

const char* WorkerStateName(WorkerState state) {
  switch (state) {
    case WorkerState::kStarting:
      return "starting";
    case WorkerState::kIdle:
      return "idle";
    case WorkerState::kLeased:
      return "leased";
    case WorkerState::kDying:
      return "dying";
  }
  return "?";
}

WorkerPool::WorkerPool(WorkerSpawner* spawner, WorkerPoolOptions options)
    : spawner_(spawner), options_(options) {}

absl::Status WorkerPool::StartWorker(absl::Time now, const WorkerEnv& env) {
  if (now < next_start_allowed_) {
    return absl::UnavailableError(absl::StrCat("worker starts back off after ",
                                               consecutive_failures_,
                                               " failed starts"));
  }
  WorkerID worker_id = WorkerID::FromRandom();
  absl::StatusOr<int> pid = spawner_->Spawn(worker_id, env);
  if (!pid.ok()) {
    COMET_LOG(ERROR) << "cannot start worker " << worker_id << ": "
                     << pid.status();
    RecordFailedStart(now);
    return pid.status();
  }
  WorkerInfo& worker = workers_[worker_id];
  worker.worker_id = worker_id;
  worker.pid = *pid;
  worker.state = WorkerState::kStarting;
  worker.start_time = now;
  worker.env_hash = env.hash;
  worker.register_timeout = std::max(options_.register_timeout, env.setup_timeout);
  by_pid_[*pid] = worker_id;
  ++num_starting_;
  COMET_LOG(INFO) << "started worker " << worker_id << " pid " << *pid
                  << (env.hash.empty() ? "" : " in runtime_env ") << env.hash;
  return absl::OkStatus();
}

size_t WorkerPool::NumStartingWorkers(const std::string& env_hash) const {
  size_t n = 0;
  for (const auto& [id, worker] : workers_) {
    n += worker.state == WorkerState::kStarting && worker.env_hash == env_hash ? 1 : 0;
  }
  return n;
}

absl::StatusOr<WorkerInfo*> WorkerPool::Starting(const WorkerID& worker_id) {
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) {
    return absl::NotFoundError(absl::StrCat("worker ", worker_id.Hex(),
                                            " was not started by this raylet"));
  }
  WorkerInfo& worker = it->second;
  if (worker.state != WorkerState::kStarting) {
    return absl::FailedPreconditionError(
        absl::StrCat("worker ", worker_id.Hex(), " is ",
                     WorkerStateName(worker.state), ", not starting"));
  }
  return &worker;
}

absl::StatusOr<std::string> WorkerPool::OnSetupFailed(const WorkerID& worker_id) {
  absl::StatusOr<WorkerInfo*> worker = Starting(worker_id);
  if (!worker.ok()) return worker.status();
  MarkDying(**worker);
  spawner_->Terminate((*worker)->pid);
  return (*worker)->env_hash;
}

absl::Status WorkerPool::RegisterWorker(const WorkerID& worker_id, int pid,
                                        int port, absl::Time now) {
  absl::StatusOr<WorkerInfo*> starting = Starting(worker_id);
  if (!starting.ok()) return starting.status();
  WorkerInfo& worker = **starting;
  if (pid != worker.pid) {
    COMET_LOG(WARNING) << "worker " << worker_id << " registered pid " << pid
                       << " but the raylet spawned pid " << worker.pid;
  }
  worker.reported_pid = pid;
  worker.port = port;
  worker.state = WorkerState::kIdle;
  worker.idle_since = now;
  idle_.push_back(worker_id);
  --num_starting_;
  consecutive_failures_ = 0;
  next_start_allowed_ = absl::InfinitePast();
  COMET_LOG(INFO) << "worker " << worker_id << " registered on port " << port;
  return absl::OkStatus();
}

std::optional<LeasedWorker> WorkerPool::PopIdleWorker(const JobID& job_id,
                                                      const std::string& env_hash,
                                                      bool uses_gpu, absl::Time now) {
  // Most recently idle first: its caches are warmest.
  for (const JobID& wanted : {job_id, JobID::Nil()}) {
    for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
      const WorkerInfo& worker = workers_.at(*it);
      if (worker.job_id == wanted && worker.env_hash == env_hash &&
          worker.uses_gpu.value_or(uses_gpu) == uses_gpu)
        return Lease(std::prev(it.base()), job_id, uses_gpu);
    }
  }
  return std::nullopt;
}

std::optional<LeasedWorker> WorkerPool::Lease(
    std::list<WorkerID>::iterator idle, const JobID& job_id, bool uses_gpu) {
  WorkerInfo& worker = workers_.at(*idle);
  idle_.erase(idle);
  worker.state = WorkerState::kLeased;
  worker.job_id = job_id;
  worker.uses_gpu = uses_gpu;
  return LeasedWorker{worker.worker_id, worker.port, worker.pid};
}

void WorkerPool::PushIdleWorker(const WorkerID& worker_id, absl::Time now) {
  auto it = workers_.find(worker_id);
  if (it == workers_.end() || it->second.state != WorkerState::kLeased) return;
  it->second.state = WorkerState::kIdle;
  it->second.idle_since = now;
  idle_.push_back(worker_id);
}

void WorkerPool::DisconnectWorker(const WorkerID& worker_id) {
  auto it = workers_.find(worker_id);
  if (it == workers_.end() || it->second.state == WorkerState::kDying) return;
  MarkDying(it->second);
  spawner_->Terminate(it->second.pid);
}

absl::Status WorkerPool::KillWorker(const WorkerID& worker_id) {
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) {
    return absl::NotFoundError(
        absl::StrCat("no worker ", worker_id.Hex(), " on this node"));
  }
  MarkDying(it->second);
  spawner_->Kill(it->second.pid);
  return absl::OkStatus();
}

void WorkerPool::MarkDying(WorkerInfo& worker) {
  if (worker.state == WorkerState::kStarting) --num_starting_;
  if (worker.state == WorkerState::kIdle) RemoveFromIdle(worker.worker_id);
  worker.state = WorkerState::kDying;
}

void WorkerPool::RemoveFromIdle(const WorkerID& worker_id) {
  idle_.remove(worker_id);
}

std::optional<WorkerInfo> WorkerPool::OnProcessExited(int pid, absl::Time now) {
  auto pid_it = by_pid_.find(pid);
  if (pid_it == by_pid_.end()) return std::nullopt;
  auto it = workers_.find(pid_it->second);
  by_pid_.erase(pid_it);
  WorkerInfo info = it->second;
  workers_.erase(it);
  if (info.state == WorkerState::kStarting) {
    --num_starting_;
    COMET_LOG(WARNING) << "worker " << info.worker_id << " pid " << pid
                       << " exited before registering";
    RecordFailedStart(now);
  } else if (info.state == WorkerState::kIdle) {
    RemoveFromIdle(info.worker_id);
  }
  if (info.state != WorkerState::kDying) {
    COMET_LOG(INFO) << "worker " << info.worker_id << " pid " << pid
                    << " exited while " << WorkerStateName(info.state);
  }
  return info;
}

void WorkerPool::Tick(absl::Time now) {
  for (auto& [worker_id, worker] : workers_) {
    if (worker.state == WorkerState::kStarting &&
        now - worker.start_time > worker.register_timeout) {
      COMET_LOG(WARNING) << "worker " << worker_id << " pid " << worker.pid
                         << " did not register within "
                         << worker.register_timeout << "; killing it";
      MarkDying(worker);
      spawner_->Kill(worker.pid);
      RecordFailedStart(now);
    }
  }
  while (idle_.size() > options_.idle_soft_limit) {
    WorkerInfo& oldest = workers_.at(idle_.front());
    if (now - oldest.idle_since < options_.idle_timeout) break;
    COMET_LOG(INFO) << "stopping worker " << oldest.worker_id << " idle for "
                    << (now - oldest.idle_since);
    MarkDying(oldest);
    spawner_->Terminate(oldest.pid);
  }
}

void WorkerPool::RecordFailedStart(absl::Time now) {
  ++num_failed_starts_;
  ++consecutive_failures_;
  absl::Duration backoff = options_.initial_start_backoff;
  for (int i = 1;
       i < consecutive_failures_ && backoff < options_.max_start_backoff; ++i) {
    backoff *= 2;
  }
  next_start_allowed_ = now + std::min(backoff, options_.max_start_backoff);
}

const WorkerInfo* WorkerPool::Find(const WorkerID& worker_id) const {
  auto it = workers_.find(worker_id);
  return it == workers_.end() ? nullptr : &it->second;
}

std::vector<WorkerInfo> WorkerPool::Workers() const {
  std::vector<WorkerInfo> out;
  out.reserve(workers_.size());
  for (const auto& [worker_id, worker] : workers_) out.push_back(worker);
  return out;
}

}  // namespace comet::raylet
