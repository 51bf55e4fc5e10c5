#include "src/comet/common/logging.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace comet {
namespace {

std::string TempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string pattern =
      absl::StrCat(base != nullptr ? base : "/tmp", "/comet_log_XXXXXX");
  char* dir = mkdtemp(pattern.data());
  EXPECT_NE(dir, nullptr);
  return pattern;
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

class LoggingTest : public ::testing::Test {
 protected:
  void TearDown() override {
    ShutdownLogging();
    SetLogLevel(LogLevel::kInfo);
  }
};

TEST_F(LoggingTest, WritesComponentFileWithPrefix) {
  std::string dir = TempDir() + "/nested/logs";
  ASSERT_TRUE(InitLogging("raylet", dir, "info").ok());
  std::string path = absl::StrCat(dir, "/raylet.", getpid(), ".log");
  EXPECT_EQ(LogFilePath(), path);

  COMET_LOG(INFO) << "hello " << 42;
  int line = __LINE__ - 1;
  ShutdownLogging();
  EXPECT_EQ(LogFilePath(), "");

  std::string contents = ReadFile(path);
  // "YYYY-MM-DD HH:MM:SS.uuuuuu I pid tid logging_test.cc:N] hello 42\n"
  ASSERT_GE(contents.size(), 27u) << contents;
  EXPECT_EQ(contents[4], '-');
  EXPECT_EQ(contents[19], '.');
  EXPECT_EQ(contents.substr(26, 3), " I ");
  EXPECT_NE(contents.find(absl::StrCat(" ", getpid(), " ")), std::string::npos);
  EXPECT_NE(
      contents.find(absl::StrCat("logging_test.cc:", line, "] hello 42\n")),
      std::string::npos)
      << contents;
}

int evaluations = 0;
int CountEvaluation() { return ++evaluations; }

TEST_F(LoggingTest, FiltersBelowLevelWithoutFormatting) {
  std::string dir = TempDir();
  ASSERT_TRUE(InitLogging("gcs", dir, "WARNING").ok());
  EXPECT_EQ(GetLogLevel(), LogLevel::kWarning);
  std::string path = LogFilePath();

  evaluations = 0;
  COMET_LOG(DEBUG) << "debug " << CountEvaluation();
  COMET_LOG(INFO) << "info " << CountEvaluation();
  COMET_LOG(WARNING) << "warning " << CountEvaluation();
  COMET_LOG(ERROR) << "error " << CountEvaluation();
  EXPECT_EQ(evaluations, 2);

  SetLogLevel(LogLevel::kDebug);
  COMET_LOG(DEBUG) << "now debug";
  ShutdownLogging();

  std::string contents = ReadFile(path);
  EXPECT_EQ(contents.find("info "), std::string::npos);
  EXPECT_EQ(contents.find("debug 1"), std::string::npos);
  EXPECT_NE(contents.find(" W "), std::string::npos);
  EXPECT_NE(contents.find("warning 1"), std::string::npos);
  EXPECT_NE(contents.find("error 2"), std::string::npos);
  EXPECT_NE(contents.find(" D "), std::string::npos);
  EXPECT_NE(contents.find("now debug"), std::string::npos);
}

TEST_F(LoggingTest, BadLevelIsRejected) {
  absl::Status status = InitLogging("x", "", "loud");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("loud"), std::string::npos);
  EXPECT_EQ(GetLogLevel(), LogLevel::kInfo);
  EXPECT_EQ(*ParseLogLevel("warn"), LogLevel::kWarning);
}

TEST_F(LoggingTest, UnwritableDirectoryIsAnError) {
  std::string dir = TempDir();
  std::string file = dir + "/plain_file";
  std::ofstream(file) << "x";
  EXPECT_FALSE(InitLogging("x", file + "/sub", "info").ok());
  EXPECT_EQ(LogFilePath(), "");
}

TEST_F(LoggingTest, ConcurrentLinesStayWhole) {
  std::string dir = TempDir();
  ASSERT_TRUE(InitLogging("worker", dir, "info").ok());
  std::string path = LogFilePath();
  constexpr int kThreads = 4;
  constexpr int kLines = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kLines; ++i) {
        COMET_LOG(INFO) << "thread=" << t << " line=" << i << " end";
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ShutdownLogging();

  std::vector<std::string> lines =
      absl::StrSplit(ReadFile(path), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kLines));
  for (const std::string& line : lines) {
    ASSERT_NE(line.find("] thread="), std::string::npos) << line;
    ASSERT_EQ(line.substr(line.size() - 4), " end") << line;
  }
}

TEST(LoggingDeathTest, FatalAndCheckAbort) {
  EXPECT_DEATH(COMET_LOG(FATAL) << "fatal message", "F .*fatal message");
  int two = 2;
  EXPECT_DEATH(COMET_CHECK(two == 3) << "two is " << two,
               "Check failed: two == 3 two is 2");
  EXPECT_DEATH(COMET_CHECK_OK(absl::InternalError("boom")) << "context",
               "boom.*context");
  COMET_CHECK(two == 2) << "not printed";
  COMET_CHECK_OK(absl::OkStatus());
}

}  // namespace
}  // namespace comet
