// ChildProcessSpawner with real processes: small shell scripts stand in for
// the Python interpreter.
#include "src/comet/raylet/child_process_spawner.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace comet::raylet {
namespace {

class ChildProcessSpawnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/spawner-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }

  void TearDown() override {
    if (spawner_) spawner_->TerminateAll(absl::Milliseconds(100));
  }

  // Writes an executable shell script standing in for the interpreter.
  std::string Script(const std::string& name, const std::string& body) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    chmod(path.c_str(), 0755);
    return path;
  }

  void MakeSpawner(const std::string& program,
                   absl::Duration grace = absl::Seconds(2)) {
    ChildProcessSpawnerOptions options;
    options.log_dir = dir_;
    options.terminate_grace = grace;
    options.make_argv = [program](const WorkerID& id) {
      return std::vector<std::string>{program, "-m", "worker",
                                      "--worker-id=" + id.Hex()};
    };
    spawner_ = std::make_unique<ChildProcessSpawner>(io_, options);
    spawner_->SetExitCallback(
        [this](int pid, int status) { exits_[pid] = status; });
  }

  // Runs the io_context until `pid` is reported exited (or a generous
  // deadline passes); returns its wait status or -1.
  int WaitForExit(int pid) {
    absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (exits_.count(pid) == 0 && absl::Now() < deadline) {
      io_.run_one_for(std::chrono::milliseconds(20));
    }
    return exits_.count(pid) ? exits_[pid] : -1;
  }

  // Waits until `path` exists (a script got past its setup).
  bool WaitForFile(const std::string& path) {
    absl::Time deadline = absl::Now() + absl::Seconds(30);
    struct stat info;
    while (stat(path.c_str(), &info) != 0) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return true;
  }

  // A script that ignores SIGTERM and touches <dir>/<worker-id>.ready once
  // it does.
  std::string StubbornScript() {
    return Script(
        "python",
        "trap '' TERM; touch \"$(dirname \"$0\")/${3#--worker-id=}.ready\"; "
        "while true; do sleep 0.05; done");
  }

  std::string Read(const std::string& path) {
    std::ifstream file(path);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
  }

  std::string dir_;
  boost::asio::io_context io_;
  std::unique_ptr<ChildProcessSpawner> spawner_;
  std::map<int, int> exits_;
};

TEST_F(ChildProcessSpawnerTest, RunsTheCommandWithLogsAndReportsTheExit) {
  MakeSpawner(Script("python", "echo \"args: $*\"; echo oops >&2; exit 3"));
  WorkerID id = WorkerID::FromRandom();
  auto pid = spawner_->Spawn(id, WorkerEnv{});
  ASSERT_TRUE(pid.ok()) << pid.status();
  int status = WaitForExit(*pid);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 3);
  std::string base = dir_ + "/worker-" + id.Hex();
  EXPECT_EQ(Read(base + ".out"),
            absl::StrCat("args: -m worker --worker-id=", id.Hex(), "\n"));
  EXPECT_EQ(Read(base + ".err"), "oops\n");
  EXPECT_EQ(spawner_->num_live(), 0u);
}

TEST_F(ChildProcessSpawnerTest, StdinIsDevNull) {
  MakeSpawner(Script("python", "cat; exit 7"));
  auto pid = spawner_->Spawn(WorkerID::FromRandom(), WorkerEnv{});
  ASSERT_TRUE(pid.ok());
  int status = WaitForExit(*pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7);
}

TEST_F(ChildProcessSpawnerTest, MissingInterpreterIsAnError) {
  MakeSpawner(dir_ + "/no-such-python");
  auto pid = spawner_->Spawn(WorkerID::FromRandom(), WorkerEnv{});
  EXPECT_FALSE(pid.ok());
  MakeSpawner("no-such-python-on-path-anywhere");
  EXPECT_TRUE(
      absl::IsNotFound(spawner_->Spawn(WorkerID::FromRandom(), WorkerEnv{}).status()));
  // Executable bit set, but exec fails: reported from the child.
  std::string bad = dir_ + "/bad";
  std::ofstream(bad) << "\x7f"
                        "ELF garbage";
  chmod(bad.c_str(), 0755);
  MakeSpawner(bad);
  auto result = spawner_->Spawn(WorkerID::FromRandom(), WorkerEnv{});
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(spawner_->num_live(), 0u);
}

TEST_F(ChildProcessSpawnerTest, TerminateSendsSigterm) {
  MakeSpawner(Script("python", "exec sleep 60"));
  auto pid = spawner_->Spawn(WorkerID::FromRandom(), WorkerEnv{});
  ASSERT_TRUE(pid.ok());
  spawner_->Terminate(*pid);
  int status = WaitForExit(*pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
}

TEST_F(ChildProcessSpawnerTest, TerminateEscalatesToSigkill) {
  MakeSpawner(StubbornScript(), absl::Milliseconds(200));
  WorkerID id = WorkerID::FromRandom();
  auto pid = spawner_->Spawn(id, WorkerEnv{});
  ASSERT_TRUE(pid.ok());
  ASSERT_TRUE(WaitForFile(dir_ + "/" + id.Hex() + ".ready"));
  spawner_->Terminate(*pid);
  int status = WaitForExit(*pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

TEST_F(ChildProcessSpawnerTest, KillSendsSigkill) {
  MakeSpawner(Script("python", "exec sleep 60"));
  auto pid = spawner_->Spawn(WorkerID::FromRandom(), WorkerEnv{});
  ASSERT_TRUE(pid.ok());
  spawner_->Kill(*pid);
  int status = WaitForExit(*pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

TEST_F(ChildProcessSpawnerTest, TerminateAllReapsEverything) {
  MakeSpawner(StubbornScript());
  std::vector<int> pids;
  for (int i = 0; i < 3; ++i) {
    WorkerID id = WorkerID::FromRandom();
    auto pid = spawner_->Spawn(id, WorkerEnv{});
    ASSERT_TRUE(pid.ok());
    ASSERT_TRUE(WaitForFile(dir_ + "/" + id.Hex() + ".ready"));
    pids.push_back(*pid);
  }
  spawner_->TerminateAll(absl::Milliseconds(200));
  EXPECT_EQ(spawner_->num_live(), 0u);
  for (int pid : pids) {
    EXPECT_EQ(kill(pid, 0), -1) << "pid " << pid << " still exists";
  }
}

TEST(ResolveExecutableTest, SearchesPath) {
  auto sh = ResolveExecutable("sh");
  ASSERT_TRUE(sh.ok());
  EXPECT_EQ(sh->back(), 'h');
  EXPECT_EQ(*ResolveExecutable("/bin/sh"), "/bin/sh");
  EXPECT_FALSE(ResolveExecutable("").ok());
}

}  // namespace
}  // namespace comet::raylet
