// LogMonitor against real files in a temporary folder, with real inotify:
// what workers append is published, per job, named by the markers.
#include "src/comet/raylet/log_monitor.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace comet::raylet {
namespace {

class LogMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/log_monitor_testXXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    LogMonitorOptions options;
    options.log_dir = dir_;
    options.ip = "10.0.0.7";
    options.max_batch_bytes = 200;
    auto monitor = LogMonitor::Start(
        io_, options,
        [this](const WorkerID& id) -> std::optional<WorkerLogSource> {
          auto it = sources_.find(id);
          if (it == sources_.end()) return std::nullopt;
          return it->second;
        },
        [this](rpc::PubMessage message) { published_.push_back(std::move(message)); });
    ASSERT_TRUE(monitor.ok()) << monitor.status();
    monitor_ = *std::move(monitor);
  }
  void TearDown() override {
    monitor_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Append(const WorkerID& worker, const std::string& suffix, const std::string& text) {
    std::string path = absl::StrCat(dir_, "/worker-", worker.Hex(), suffix);
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(fd);
  }

  // Runs the io loop until `n` lines were published or a generous deadline.
  void RunUntilLines(int64_t n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (monitor_->lines_published() < n && std::chrono::steady_clock::now() < deadline) {
      io_.run_for(std::chrono::milliseconds(20));
      io_.restart();
    }
  }

  // "<job hex>/<name>/<err?>/<line>" for every published line, in order.
  std::vector<std::string> Published() const {
    std::vector<std::string> out;
    for (const rpc::PubMessage& message : published_) {
      EXPECT_EQ(message.channel(), rpc::LOG_CHANNEL);
      JobID job = *JobID::FromBinary(message.key());
      for (const rpc::WorkerLogLines& chunk : message.log_batch().chunks()) {
        EXPECT_EQ(chunk.ip(), "10.0.0.7");
        for (const std::string& line : chunk.lines()) {
          out.push_back(absl::StrCat(job.Hex(), "/", chunk.name(), "/",
                                     chunk.is_err() ? "err" : "out", "/", line));
        }
      }
    }
    return out;
  }

  boost::asio::io_context io_;
  std::string dir_;
  absl::flat_hash_map<WorkerID, WorkerLogSource> sources_;
  std::vector<rpc::PubMessage> published_;
  std::unique_ptr<LogMonitor> monitor_;
};

TEST_F(LogMonitorTest, AppendedLinesArePublishedForTheWorkersJob) {
  WorkerID a = WorkerID::FromRandom(), b = WorkerID::FromRandom();
  JobID job1 = JobID::FromInt(1), job2 = JobID::FromInt(2);
  sources_[a] = {job1, 100};
  sources_[b] = {job2, 200};
  Append(a, ".out", ":task_name:f\nhello\n");
  Append(b, ".err", "oops\n");
  RunUntilLines(2);
  std::vector<std::string> lines = Published();
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{
                       absl::StrCat(job1.Hex(), "/f/out/hello"),
                       absl::StrCat(job2.Hex(), "/", "/err/oops")}));
  for (const rpc::PubMessage& message : published_) {
    for (const auto& chunk : message.log_batch().chunks()) {
      EXPECT_EQ(chunk.pid(), message.key() == job1.Binary() ? 100 : 200);
    }
  }
  // Later appends are read from where the last read ended.
  published_.clear();
  Append(a, ".out", "again\n");
  RunUntilLines(3);
  EXPECT_EQ(Published(), std::vector<std::string>{absl::StrCat(job1.Hex(), "/f/out/again")});
}

TEST_F(LogMonitorTest, WorkersWithoutAJobAreSkipped) {
  WorkerID idle = WorkerID::FromRandom(), bound = WorkerID::FromRandom();
  sources_[idle] = {JobID::Nil(), 1};
  sources_[bound] = {JobID::FromInt(3), 2};
  Append(idle, ".out", "startup noise\n");
  Append(bound, ".out", "real\n");
  RunUntilLines(1);
  io_.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(Published(), std::vector<std::string>{absl::StrCat(JobID::FromInt(3).Hex(), "//out/real")});
}

TEST_F(LogMonitorTest, ExitPublishesTheUnterminatedLastLineOnce) {
  WorkerID w = WorkerID::FromRandom();
  JobID job = JobID::FromInt(4);
  sources_[w] = {job, 9};
  Append(w, ".out", "whole\nhalf a li");
  RunUntilLines(1);
  sources_.erase(w);  // the pool forgets it before telling us
  monitor_->OnWorkerExit(w, WorkerLogSource{job, 9});
  EXPECT_EQ(Published(), (std::vector<std::string>{absl::StrCat(job.Hex(), "//out/whole"),
                                                   absl::StrCat(job.Hex(), "//out/half a li")}));
  // Events that arrive after the exit read nothing again.
  io_.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(monitor_->lines_published(), 2);
}

TEST_F(LogMonitorTest, BigOutputIsSplitIntoBoundedBatches) {
  WorkerID w = WorkerID::FromRandom();
  sources_[w] = {JobID::FromInt(5), 1};
  std::string text;
  for (int i = 0; i < 100; ++i) absl::StrAppend(&text, "line number ", i, "\n");
  Append(w, ".out", text);
  RunUntilLines(100);
  std::vector<std::string> lines = Published();
  ASSERT_EQ(lines.size(), 100u);
  EXPECT_EQ(lines.front(), absl::StrCat(JobID::FromInt(5).Hex(), "//out/line number 0"));
  EXPECT_EQ(lines.back(), absl::StrCat(JobID::FromInt(5).Hex(), "//out/line number 99"));
  EXPECT_GT(published_.size(), 5u);
  for (const rpc::PubMessage& message : published_) EXPECT_LT(message.ByteSizeLong(), 400u);
}

}  // namespace
}  // namespace comet::raylet
