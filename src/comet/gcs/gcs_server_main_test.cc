// The gcs_server binary as the Python launcher sees it: flags, the one ready
// line on stdout, exit status, the log file, and shutdown on signals.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "src/comet/gcs/gcs_process_for_test.h"

namespace {

using comet::gcs::testing::Child;
using comet::gcs::testing::PortOf;
using comet::gcs::testing::TempDir;

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
