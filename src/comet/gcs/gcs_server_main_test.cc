// The gcs_server binary as the Python launcher sees it: flags, the one ready
// line on stdout, exit status, the log file, and shutdown on signals.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;

namespace {

constexpr absl::Duration kWait = absl::Seconds(60);

std::string BinaryPath() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir ? srcdir : ".", "/",
                      workspace ? workspace : "comet",
                      "/src/comet/gcs/gcs_server");
}

std::string TempDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(tmp ? tmp : "/tmp", "/", name, getpid());
  mkdir(dir.c_str(), 0755);
  return dir;
}

// A child gcs_server with its stdout and stderr on pipes.
struct Child {
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

int PortOf(const std::string& ready_line) {
  std::smatch match;
  static const std::regex kReady(
      "^gcs_server ready on 127\\.0\\.0\\.1:(\\d+)\n$");
  if (!std::regex_match(ready_line, match, kReady)) return -1;
  return std::stoi(match[1]);
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

TEST(GcsServerMainTest, ReadyLinePortTakenAndSigterm) {
  std::string logs = TempDir("logs");
  auto server = Child::Spawn({"--port=0", "--log-dir=" + logs,
                              "--config=health_check_period_ms=500;"
                              "health_check_failure_threshold=2"});
  ASSERT_NE(server, nullptr);
  std::string ready = Child::ReadLine(server->out);
  int port = PortOf(ready);
  ASSERT_GT(port, 0) << "stdout: '" << ready << "'";
  EXPECT_TRUE(Exists(absl::StrCat(logs, "/gcs_server.", server->pid, ".log")));

  auto second = Child::Spawn({absl::StrCat("--port=", port)});
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->Wait(), 1);
  EXPECT_EQ(Child::ReadAll(second->out), "");
  EXPECT_TRUE(absl::StrContains(Child::ReadAll(second->err), "in use"));

  ASSERT_EQ(kill(server->pid, SIGTERM), 0);
  EXPECT_EQ(server->Wait(), 0);
  EXPECT_EQ(Child::ReadAll(server->out), "");  // Exactly one line.
}

TEST(GcsServerMainTest, SigintAndLogsUnderSessionDir) {
  std::string session = TempDir("session");
  auto server = Child::Spawn({"--session-dir=" + session, "--host=127.0.0.1"});
  ASSERT_NE(server, nullptr);
  ASSERT_GT(PortOf(Child::ReadLine(server->out)), 0);
  EXPECT_TRUE(
      Exists(absl::StrCat(session, "/logs/gcs_server.", server->pid, ".log")));
  ASSERT_EQ(kill(server->pid, SIGINT), 0);
  EXPECT_EQ(server->Wait(), 0);
}

TEST(GcsServerMainTest, BadFlagsExitWithUsageError) {
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"--bogus=1"},
           {"--port=70000"},
           {"--port=abc"},
           {"positional"},
           {"--config=no_such_entry=1"},
           {"--config=health_check_period_ms"},
           {"--config=health_check_period_ms=0"},
       }) {
    auto child = Child::Spawn(args);
    ASSERT_NE(child, nullptr);
    EXPECT_EQ(child->Wait(), 2) << args[0];
    EXPECT_FALSE(Child::ReadAll(child->err).empty()) << args[0];
  }
}

}  // namespace
