// ChildProcessSpawner: the real WorkerSpawner. Forks and execs worker
// processes, each in a process group of its own (so signals reach wrapper
// scripts' children too) with its stdout/stderr appended to
// <log_dir>/worker-<worker_id hex>.out/.err (or, without a log dir, both to
// this process's stderr so that the raylet's stdout stays clean). stdin is
// /dev/null; the environment is inherited, with a runtime_env's variables
// and COMET_RUNTIME_ENV(_HASH) added (the options' env wins over both); the signal mask and SIGPIPE are
// reset; a worker gets SIGKILL if the raylet's io thread dies.
//
// Exits are noticed with an asio signal_set on SIGCHLD, then waitpid(pid,
// WNOHANG) on each process this spawner started (never other children).
//
// Ownership: owns the signal_set and the per-process kill timers; the
// io_context must outlive it. Thread model: confined to the io_context's
// thread (Spawn blocks it only until exec succeeds or fails).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "src/comet/raylet/worker_spawner_interface.h"

namespace comet::raylet {

struct ChildProcessSpawnerOptions {
  // The command line for a worker: argv[0] is the interpreter (a path, or a
  // name looked up on PATH).
  std::function<std::vector<std::string>(const WorkerID&)> make_argv;
  // Where worker-<id>.out/.err go; empty = this process's stderr.
  std::string log_dir;
  // Set in each worker's environment, over the raylet's own (the cluster
  // token goes here: never on a command line, which `ps` shows).
  std::map<std::string, std::string> env;
  // Between SIGTERM and SIGKILL in Terminate().
  absl::Duration terminate_grace = absl::Seconds(2);
};

class ChildProcessSpawner : public WorkerSpawner {
 public:
  ChildProcessSpawner(boost::asio::io_context& io,
                      ChildProcessSpawnerOptions options);
  // Stops listening for SIGCHLD; does not kill anything (TerminateAll does).
  ~ChildProcessSpawner() override;

  void SetExitCallback(ExitCallback callback) override;
  absl::StatusOr<int> Spawn(const WorkerID& worker_id,
                            const WorkerEnv& env) override;
  void Terminate(int pid) override;
  void Kill(int pid) override;
  void TerminateAll(absl::Duration grace) override;

  size_t num_live() const { return kill_timers_.size(); }

 private:
  void WaitForSigchld();
  // Reaps every exited process of ours and reports it.
  void Reap();
  void Signal(int pid, int signal);

  boost::asio::io_context& io_;
  const ChildProcessSpawnerOptions options_;
  boost::asio::signal_set sigchld_;
  // Live (unreaped) pids, each with the timer Terminate() arms.
  absl::flat_hash_map<int, std::unique_ptr<boost::asio::steady_timer>>
      kill_timers_;
  ExitCallback on_exit_;
};

// Resolves `name` the way execvp would (a name with a '/' as is, else the
// first executable entry on PATH). NotFound if there is none.
absl::StatusOr<std::string> ResolveExecutable(const std::string& name);

}  // namespace comet::raylet
