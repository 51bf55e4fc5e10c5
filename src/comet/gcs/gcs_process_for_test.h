// GcsProcess: a gcs_server binary run as a child by a test, with its stdout
// and stderr on pipes — for tests that need a real process (its ready line,
// its exit status, kill -9). Test-only; used from the test's thread.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;

namespace comet::gcs::testing {

constexpr absl::Duration kWait = absl::Seconds(60);

inline std::string BinaryPath() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir ? srcdir : ".", "/",
                      workspace ? workspace : "comet",
                      "/src/comet/gcs/gcs_server");
}

inline std::string TempDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(tmp ? tmp : "/tmp", "/", name, getpid());
  mkdir(dir.c_str(), 0755);
  return dir;
}

// A child gcs_server with its stdout and stderr on pipes.
struct Child {
  // The gcs_server of this build, from the test's runfiles (a data dep).
  pid_t pid = -1;
  int out = -1;
  int err = -1;

  ~Child() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    if (out >= 0) close(out);
    if (err >= 0) close(err);
  }

  static std::unique_ptr<Child> Spawn(std::vector<std::string> args) {
    int out_pipe[2], err_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
      return nullptr;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
    args.insert(args.begin(), BinaryPath());
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    auto child = std::make_unique<Child>();
    int rc = posix_spawn(&child->pid, argv[0], &actions, nullptr, argv.data(),
                         environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out_pipe[1]);
    close(err_pipe[1]);
    child->out = out_pipe[0];
    child->err = err_pipe[0];
    if (rc != 0) child->pid = -1;
    return child;
  }

  // Reads `fd` up to the first newline (or EOF), waiting at most kWait.
  static std::string ReadLine(int fd) {
    std::string line;
    absl::Time deadline = absl::Now() + kWait;
    while (absl::Now() < deadline) {
      pollfd pfd{fd, POLLIN, 0};
      if (poll(&pfd, 1, 100) <= 0) continue;
      char c;
      if (read(fd, &c, 1) != 1) break;
      line.push_back(c);
      if (c == '\n') break;
    }
    return line;
  }

  // Everything left on `fd` until EOF.
  static std::string ReadAll(int fd) {
    std::string all;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) all.append(buf, n);
    return all;
  }

  // The exit status, or nullopt if it is still running after kWait.
  std::optional<int> Wait() {
    absl::Time deadline = absl::Now() + kWait;
    while (absl::Now() < deadline) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return std::nullopt;
  }
};

// The port of a "gcs_server ready on 127.0.0.1:PORT" line, -1 for another line.
inline int PortOf(const std::string& ready_line) {
  std::smatch match;
  static const std::regex kReady(
      "^gcs_server ready on 127\\.0\\.0\\.1:(\\d+)\n$");
  if (!std::regex_match(ready_line, match, kReady)) return -1;
  return std::stoi(match[1]);
}

}  // namespace comet::gcs::testing
