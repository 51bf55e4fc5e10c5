#include "src/comet/raylet/memory_monitor.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace comet::raylet {
namespace {

constexpr int64_t kGiB = 1LL << 30;

WorkerID Id(char c) { return *WorkerID::FromBinary(std::string(WorkerID::Size(), c)); }

KillCandidate Candidate(char id, char owner, bool retriable, int64_t granted_s) {
  KillCandidate c;
  c.worker_id = Id(id);
  c.pid = 100 + id;
  c.owner = Id(owner);
  c.retriable = retriable;
  c.granted_at = absl::FromUnixSeconds(granted_s);
  c.rss_bytes = kGiB;
  return c;
}

TEST(MemoryMonitorParse, CgroupLimitOrNone) {
  auto cgroup = ParseCgroupMemory("1073741824\n", "2147483648\n");
  ASSERT_TRUE(cgroup.has_value());
  EXPECT_EQ(cgroup->used_bytes, kGiB);
  EXPECT_EQ(cgroup->total_bytes, 2 * kGiB);
  EXPECT_TRUE(cgroup->from_cgroup);
  EXPECT_DOUBLE_EQ(cgroup->fraction(), 0.5);
  EXPECT_FALSE(ParseCgroupMemory("1073741824\n", "max\n").has_value());
  EXPECT_FALSE(ParseCgroupMemory("", "100").has_value());
}

TEST(MemoryMonitorParse, MeminfoUsedIsTotalLessAvailable) {
  auto machine = ParseMeminfoUsage(
      "MemTotal:       16384000 kB\nMemFree:  1000 kB\nMemAvailable:    4096000 kB\n");
  ASSERT_TRUE(machine.has_value());
  EXPECT_EQ(machine->total_bytes, 16384000LL * 1024);
  EXPECT_EQ(machine->used_bytes, (16384000LL - 4096000LL) * 1024);
  EXPECT_FALSE(machine->from_cgroup);
  EXPECT_FALSE(ParseMeminfoUsage("nothing here").has_value());
}

TEST(MemoryMonitorParse, ReadPrefersATighterCgroupLimit) {
  std::string dir = ::testing::TempDir() + "/memory_monitor_read";
  std::string proc = dir + "/proc";
  std::string cgroup = dir + "/cgroup";
  std::filesystem::create_directories(proc);
  std::filesystem::create_directories(cgroup);
  std::ofstream(proc + "/meminfo") << "MemTotal: 8388608 kB\nMemAvailable: 4194304 kB\n";
  std::ofstream(cgroup + "/memory.current") << "536870912\n";
  std::ofstream(cgroup + "/memory.max") << "1073741824\n";
  auto limited = ReadNodeMemory(cgroup, proc);
  ASSERT_TRUE(limited.has_value());
  EXPECT_TRUE(limited->from_cgroup);
  EXPECT_EQ(limited->total_bytes, kGiB);
  std::ofstream(cgroup + "/memory.max") << "max\n";
  auto machine = ReadNodeMemory(cgroup, proc);
  ASSERT_TRUE(machine.has_value());
  EXPECT_FALSE(machine->from_cgroup);
  EXPECT_EQ(machine->total_bytes, 8 * kGiB);
}

TEST(ChooseWorkerToKill, RetriableFirstThenTheBiggestOwnerThenItsNewest) {
  EXPECT_FALSE(ChooseWorkerToKill({}).has_value());
  // Owner a: two retriable tasks; owner b: one newer retriable; owner c: a
  // non-retriable task, the newest of all.
  std::vector<KillCandidate> candidates = {
      Candidate('1', 'a', true, 10), Candidate('2', 'a', true, 20),
      Candidate('3', 'b', true, 30), Candidate('4', 'c', false, 40)};
  EXPECT_EQ(ChooseWorkerToKill(candidates), 1u);  // a's newest
  // Only non-retriable work left: the newest of the biggest owner.
  std::vector<KillCandidate> fixed = {Candidate('5', 'd', false, 10),
                                      Candidate('6', 'e', false, 20),
                                      Candidate('7', 'e', false, 15)};
  EXPECT_EQ(ChooseWorkerToKill(fixed), 1u);
  // Groups of one size: the one with the newest lease.
  std::vector<KillCandidate> singles = {Candidate('8', 'f', true, 10),
                                        Candidate('9', 'g', true, 50)};
  EXPECT_EQ(ChooseWorkerToKill(singles), 1u);
}

TEST(MemoryMonitor, KillsAboveTheThresholdOneAtATime) {
  MemoryMonitor monitor(0.9, absl::Seconds(5));
  absl::Time t0 = absl::FromUnixSeconds(1000);
  std::vector<KillCandidate> candidates = {Candidate('1', 'a', true, 10),
                                           Candidate('2', 'a', true, 20)};
  MemorySnapshot low{8 * kGiB, 10 * kGiB, false};
  MemorySnapshot high{9 * kGiB, 10 * kGiB, false};
  EXPECT_FALSE(monitor.OnSample(low, candidates, t0).has_value());
  auto kill = monitor.OnSample(high, candidates, t0);
  ASSERT_TRUE(kill.has_value());
  EXPECT_EQ(kill->victim.worker_id, Id('2'));
  EXPECT_NE(kill->message.find("9.00 GiB of 10.00 GiB"), std::string::npos) << kill->message;
  EXPECT_NE(kill->message.find("memory_usage_threshold 0.90"), std::string::npos);
  EXPECT_NE(kill->message.find("resident memory was 1.00 GiB"), std::string::npos);
  // Still high, but the victim has not exited: no second kill yet.
  EXPECT_FALSE(monitor.OnSample(high, candidates, t0 + absl::Seconds(1)).has_value());
  monitor.OnWorkerExited(Id('2'));
  auto next = monitor.OnSample(high, {candidates[0]}, t0 + absl::Seconds(2));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->victim.worker_id, Id('1'));
  // A victim that never exits holds the next kill back for kill_wait only.
  EXPECT_FALSE(monitor.OnSample(high, candidates, t0 + absl::Seconds(3)).has_value());
  EXPECT_TRUE(monitor.OnSample(high, candidates, t0 + absl::Seconds(8)).has_value());
  EXPECT_EQ(monitor.num_kills(), 3);
  // Nobody to kill: nothing.
  MemoryMonitor idle(0.5);
  EXPECT_FALSE(idle.OnSample(high, {}, t0).has_value());
}

}  // namespace
}  // namespace comet::raylet
