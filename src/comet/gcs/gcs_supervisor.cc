#include "src/comet/gcs/gcs_supervisor.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "src/comet/gcs/restart_policy.h"

namespace comet::gcs {
namespace {

constexpr const char* kReadyPrefix = "gcs_server ready on ";

volatile sig_atomic_t g_stopping = 0;
volatile sig_atomic_t g_child = 0;

void OnStopSignal(int) {
  g_stopping = 1;
  if (g_child > 0) kill(g_child, SIGTERM);
}

void Log(const std::string& line) {
  std::fprintf(stderr, "gcs_server supervisor: %s\n", line.c_str());
  std::fflush(stderr);
}

// Starts the child with its stdout on a pipe; returns its pid (or -1) and
// the pipe's read end.
pid_t Spawn(const std::string& binary, const std::vector<std::string>& args, int* read_fd) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> argv;
    std::string self = "gcs_server";
    argv.push_back(self.data());
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(fds[1]);
  *read_fd = fds[0];
  if (pid < 0) close(fds[0]);
  return pid;
}

// Reads the child's stdout until EOF (its exit); returns the ready line's
// address ("" when it never printed one) and passes the first ready line on.
std::string ReadChild(int fd, bool* printed) {
  std::string buffer, address;
  char chunk[512];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buffer.append(chunk, n);
    size_t newline;
    while ((newline = buffer.find('\n')) != std::string::npos) {
      std::string line = buffer.substr(0, newline);
      buffer.erase(0, newline + 1);
      if (absl::StartsWith(line, kReadyPrefix)) {
        address = line.substr(strlen(kReadyPrefix));
        if (!*printed) {
          std::printf("%s\n", line.c_str());
          std::fflush(stdout);
          *printed = true;
        }
        Log(absl::StrCat("the GCS is serving on ", address));
      } else {
        std::printf("%s\n", line.c_str());
        std::fflush(stdout);
      }
    }
  }
  close(fd);
  return address;
}

// `args` with --port set to the port of `address` ("HOST:PORT").
std::vector<std::string> WithPort(std::vector<std::string> args, const std::string& address) {
  std::string port = address.substr(address.rfind(':') + 1);
  std::vector<std::string> out;
  for (std::string& arg : args) {
    if (!absl::StartsWith(arg, "--port=")) out.push_back(std::move(arg));
  }
  out.push_back("--port=" + port);
  return out;
}

}  // namespace

int RunSupervised(const std::vector<std::string>& initial_args) {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);

  // The real path (not /proc/self/exe), so that the child's process name is
  // gcs_server, as `comet stop` and `ps` expect.
  char path[4096];
  ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (length <= 0) {
    Log(absl::StrCat("cannot find its own binary: ", strerror(errno)));
    return 1;
  }
  const std::string binary(path, length);
  std::vector<std::string> args = initial_args;
  RestartPolicy policy;
  bool printed = false;
  for (int start = 0;; ++start) {
    int fd = -1;
    pid_t pid = Spawn(binary, args, &fd);
    if (pid < 0) {
      Log(absl::StrCat("cannot start the GCS: ", strerror(errno)));
      return 1;
    }
    g_child = pid;
    if (g_stopping) kill(pid, SIGTERM);
    if (start > 0) Log(absl::StrCat("started the GCS again (pid ", pid, ")"));
    std::string address = ReadChild(fd, &printed);
    if (!address.empty() && start == 0) args = WithPort(args, address);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    g_child = 0;
    ChildExit exit{WIFSIGNALED(status), WIFSIGNALED(status) ? WTERMSIG(status)
                                                            : WEXITSTATUS(status),
                   !address.empty()};
    if (g_stopping) return 0;
    RestartPolicy::Decision decision = policy.OnExit(exit, absl::Now());
    Log(absl::StrCat("the GCS (pid ", pid, ") ", exit.signaled ? "was killed by signal " : "exited with status ",
                     exit.code, decision.restart ? "; starting it again" : "; not starting it again"));
    if (!decision.restart) return decision.exit_code;
    if (!printed && start == 0 && !exit.was_ready) {
      // The first start failed before it was ready: the caller is waiting
      // on our stdout, so fail as the child did rather than loop silently.
      return exit.signaled ? 1 : exit.code;
    }
    absl::SleepFor(decision.delay);
    if (g_stopping) return 0;
  }
}

}  // namespace comet::gcs
