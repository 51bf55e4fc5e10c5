// FakeWorkerSpawner: a WorkerSpawner for unit tests. Spawn hands out fake
// pids and records them; nothing runs. Tests make processes "exit" with
// Exit(pid), which calls the exit callback like SIGCHLD would.
// Thread-compatible: use from the test's thread only.
#pragma once

#include <map>
#include <set>
#include <utility>
#include <vector>

#include "src/comet/raylet/worker_spawner_interface.h"

namespace comet::raylet {

class FakeWorkerSpawner : public WorkerSpawner {
 public:
  void SetExitCallback(ExitCallback callback) override {
    on_exit_ = std::move(callback);
  }

  absl::StatusOr<int> Spawn(const WorkerID& worker_id, const WorkerEnv& env) override {
    if (fail_spawns) return absl::FailedPreconditionError("spawn fails");
    int pid = next_pid_++;
    live[pid] = worker_id;
    spawned.push_back({pid, worker_id});
    return pid;
  }

  void Terminate(int pid) override { terminated.insert(pid); }
  void Kill(int pid) override { killed.insert(pid); }
  void TerminateAll(absl::Duration) override { live.clear(); }

  // The process `pid` exits.
  void Exit(int pid, int status = 0) {
    live.erase(pid);
    if (on_exit_) on_exit_(pid, status);
  }

  bool fail_spawns = false;
  std::map<int, WorkerID> live;
  std::vector<std::pair<int, WorkerID>> spawned;
  std::set<int> terminated;
  std::set<int> killed;

 private:
  ExitCallback on_exit_;
  int next_pid_ = 1000;
};

}  // namespace comet::raylet
