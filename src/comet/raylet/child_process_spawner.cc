#include "src/comet/raylet/child_process_spawner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "src/comet/common/logging.h"

namespace comet::raylet {
namespace {

// Everything the child needs, prepared before fork: after fork only
// async-signal-safe calls are allowed.
struct ChildPlan {
  std::string exe;
  std::vector<std::string> args;
  std::vector<char*> argv;
  std::vector<std::string> env;
  std::vector<char*> envp;
  std::string out_path;  // Empty: stdout and stderr to the parent's stderr.
  std::string err_path;
  pid_t parent = 0;
  int report_fd = -1;
};

void CloseFrom(int first, int report_fd) {
#ifdef SYS_close_range
  bool closed = report_fd <= first ||
                syscall(SYS_close_range, first, report_fd - 1, 0) == 0;
  if (closed && syscall(SYS_close_range, report_fd + 1, ~0U, 0) == 0) return;
#endif
  struct rlimit limit;
  int max_fd = 65536;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 65536) {
    max_fd = static_cast<int>(limit.rlim_cur);
  }
  for (int fd = first; fd < max_fd; ++fd) {
    if (fd != report_fd) close(fd);
  }
}

[[noreturn]] void Fail(int report_fd) {
  int error = errno;
  ssize_t ignored = write(report_fd, &error, sizeof(error));
  (void)ignored;
  _exit(127);
}

int OpenLog(const std::string& path) {
  return open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
}

[[noreturn]] void RunChild(const ChildPlan& plan) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != plan.parent) _exit(1);  // The raylet already died.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction default_action;
  std::memset(&default_action, 0, sizeof(default_action));
  default_action.sa_handler = SIG_DFL;
  sigaction(SIGPIPE, &default_action, nullptr);
  int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0) Fail(plan.report_fd);
  if (plan.out_path.empty()) {
    if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) Fail(plan.report_fd);
  } else {
    int out_fd = OpenLog(plan.out_path);
    if (out_fd < 0 || dup2(out_fd, STDOUT_FILENO) < 0) Fail(plan.report_fd);
    int err_fd = OpenLog(plan.err_path);
    if (err_fd < 0 || dup2(err_fd, STDERR_FILENO) < 0) Fail(plan.report_fd);
  }
  CloseFrom(3, plan.report_fd);
  execve(plan.exe.c_str(), plan.argv.data(), plan.envp.data());
  Fail(plan.report_fd);
}

// This process's environment with `extra` set over it.
std::vector<std::string> ChildEnvironment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    absl::string_view item(*entry);
    if (extra.count(std::string(item.substr(0, item.find('=')))) == 0) env.emplace_back(item);
  }
  for (const auto& [name, value] : extra) env.push_back(absl::StrCat(name, "=", value));
  return env;
}

}  // namespace

absl::StatusOr<std::string> ResolveExecutable(const std::string& name) {
  if (name.empty()) return absl::InvalidArgumentError("empty program name");
  if (name.find('/') != std::string::npos) {
    if (access(name.c_str(), X_OK) == 0) return name;
    return absl::NotFoundError(
        absl::StrCat(name, " is not executable: ", std::strerror(errno)));
  }
  const char* path = std::getenv("PATH");
  for (absl::string_view dir :
       absl::StrSplit(path ? path : "/usr/local/bin:/usr/bin:/bin", ':')) {
    std::string candidate = absl::StrCat(dir.empty() ? "." : dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return absl::NotFoundError(absl::StrCat(name, " not found on PATH"));
}

ChildProcessSpawner::ChildProcessSpawner(boost::asio::io_context& io,
                                         ChildProcessSpawnerOptions options)
    : io_(io), options_(std::move(options)), sigchld_(io, SIGCHLD) {
  WaitForSigchld();
}

ChildProcessSpawner::~ChildProcessSpawner() {
  boost::system::error_code ignored;
  sigchld_.cancel(ignored);
}

void ChildProcessSpawner::SetExitCallback(ExitCallback callback) {
  on_exit_ = std::move(callback);
}

absl::StatusOr<int> ChildProcessSpawner::Spawn(const WorkerID& worker_id,
                                               const WorkerEnv& worker_env) {
  ChildPlan plan;
  plan.args = options_.make_argv(worker_id);
  if (plan.args.empty()) return absl::InvalidArgumentError("empty command");
  auto exe = ResolveExecutable(plan.args[0]);
  if (!exe.ok()) return exe.status();
  plan.exe = *exe;
  for (std::string& arg : plan.args) plan.argv.push_back(arg.data());
  plan.argv.push_back(nullptr);
  // The runtime_env's variables, under the raylet's own (the token and
  // config stay the node's), and the env for the worker to apply.
  std::map<std::string, std::string> extra = worker_env.env_vars;
  for (const auto& [name, value] : options_.env) extra[name] = value;
  if (!worker_env.hash.empty()) {
    extra["COMET_RUNTIME_ENV"] = worker_env.serialized;
    extra["COMET_RUNTIME_ENV_HASH"] = worker_env.hash;
  }
  plan.env = ChildEnvironment(extra);
  for (std::string& item : plan.env) plan.envp.push_back(item.data());
  plan.envp.push_back(nullptr);
  if (!options_.log_dir.empty()) {
    std::string base =
        absl::StrCat(options_.log_dir, "/worker-", worker_id.Hex());
    plan.out_path = base + ".out";
    plan.err_path = base + ".err";
  }
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  plan.parent = getpid();
  plan.report_fd = report[1];
  pid_t pid = fork();
  if (pid == 0) RunChild(plan);
  int fork_errno = errno;
  close(report[1]);
  if (pid < 0) {
    close(report[0]);
    return absl::ResourceExhaustedError(
        absl::StrCat("fork: ", std::strerror(fork_errno)));
  }
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(report[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n == sizeof(child_errno)) {
    waitpid(pid, nullptr, 0);
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot start ", plan.exe, ": ", std::strerror(child_errno)));
  }
  kill_timers_[pid] = std::make_unique<boost::asio::steady_timer>(io_);
  return pid;
}

void ChildProcessSpawner::Signal(int pid, int signal) {
  // The worker leads its own process group; signal the whole group. Pids
  // here are unreaped, so they cannot have been reused.
  if (kill(-pid, signal) != 0) kill(pid, signal);
}

void ChildProcessSpawner::Terminate(int pid) {
  auto it = kill_timers_.find(pid);
  if (it == kill_timers_.end()) return;
  Signal(pid, SIGTERM);
  it->second->expires_after(std::chrono::microseconds(
      absl::ToInt64Microseconds(options_.terminate_grace)));
  it->second->async_wait([this, pid](const boost::system::error_code& error) {
    if (error || kill_timers_.count(pid) == 0) return;
    COMET_LOG(WARNING) << "worker pid " << pid
                       << " ignored SIGTERM; sending SIGKILL";
    Signal(pid, SIGKILL);
  });
}

void ChildProcessSpawner::Kill(int pid) {
  if (kill_timers_.count(pid) != 0) Signal(pid, SIGKILL);
}

void ChildProcessSpawner::WaitForSigchld() {
  sigchld_.async_wait([this](const boost::system::error_code& error, int) {
    if (error) return;  // Cancelled: the spawner is going away.
    Reap();
    WaitForSigchld();
  });
}

void ChildProcessSpawner::Reap() {
  std::vector<std::pair<int, int>> exited;
  for (const auto& [pid, timer] : kill_timers_) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) exited.emplace_back(pid, status);
  }
  for (const auto& [pid, status] : exited) {
    kill_timers_.erase(pid);  // Destroying the timer cancels it.
    if (on_exit_) on_exit_(pid, status);
  }
}

void ChildProcessSpawner::TerminateAll(absl::Duration grace) {
  for (const auto& [pid, timer] : kill_timers_) Signal(pid, SIGTERM);
  absl::Time deadline = absl::Now() + grace;
  while (!kill_timers_.empty()) {
    for (auto it = kill_timers_.begin(); it != kill_timers_.end();) {
      auto current = it++;
      if (waitpid(current->first, nullptr, WNOHANG) == current->first) {
        kill_timers_.erase(current);
      }
    }
    if (kill_timers_.empty() || absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  for (const auto& [pid, timer] : kill_timers_) {
    COMET_LOG(WARNING) << "worker pid " << pid << " still running; SIGKILL";
    Signal(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  kill_timers_.clear();
}

}  // namespace comet::raylet
