#include "src/comet/raylet/node_hardware.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace comet::raylet {
namespace {

TEST(NodeHardwareTest, ProcStatCountsBusyAndIdleTicks) {
  auto ticks = ParseProcStat(
      "cpu  100 20 30 800 50 5 5 10 7 0\n"
      "cpu0 50 10 15 400 25 2 3 5 0 0\n"
      "intr 12345\n");
  ASSERT_TRUE(ticks.has_value());
  EXPECT_EQ(ticks->busy, 100u + 20 + 30 + 5 + 5 + 10);  // guest (7) is inside user
  EXPECT_EQ(ticks->total, ticks->busy + 800 + 50);
  EXPECT_FALSE(ParseProcStat("intr 1\n").has_value());
  EXPECT_FALSE(ParseProcStat("cpu  x y z w\n").has_value());
}

TEST(NodeHardwareTest, MeminfoGivesTotalAndAvailable) {
  auto memory = ParseMeminfo(
      "MemTotal:       24000000 kB\n"
      "MemFree:         1000000 kB\n"
      "MemAvailable:   20000000 kB\n");
  ASSERT_TRUE(memory.has_value());
  EXPECT_EQ(memory->total_bytes, 24000000LL * 1024);
  EXPECT_EQ(memory->available_bytes, 20000000LL * 1024);
  // An old kernel without MemAvailable: MemFree stands in.
  auto old = ParseMeminfo("MemTotal: 100 kB\nMemFree: 40 kB\n");
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->available_bytes, 40 * 1024);
  EXPECT_FALSE(ParseMeminfo("Buffers: 1 kB\n").has_value());
}

TEST(NodeHardwareTest, NetDevSumsInterfacesButLoopback) {
  NetworkCounters counters = ParseNetDev(
      "Inter-|   Receive                            |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes ...\n"
      "    lo: 9999 10 0 0 0 0 0 0 9999 10 0 0 0 0 0 0\n"
      "  eth0: 1000 10 0 0 0 0 0 0 200 5 0 0 0 0 0 0\n"
      "  eth1:500 4 0 0 0 0 0 0 50 1 0 0 0 0 0 0\n");
  EXPECT_EQ(counters.received_bytes, 1500);
  EXPECT_EQ(counters.sent_bytes, 250);
}

TEST(NodeHardwareTest, PidStatSurvivesACommandWithSpacesAndParentheses) {
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt
  // cmajflt utime stime cutime cstime priority nice threads itrealvalue
  // starttime vsize rss ...
  std::string stat =
      "4242 (python3 (worker) x) S 1 4242 4242 0 -1 4194304 100 0 0 0 "
      "250 50 0 0 20 0 3 0 12345 1000000 2560 18446744073709551615";
  auto process = ParsePidStat(stat, 4096);
  ASSERT_TRUE(process.has_value());
  EXPECT_EQ(process->cpu_ticks, 300u);
  EXPECT_EQ(process->rss_bytes, 2560LL * 4096);
  EXPECT_FALSE(ParsePidStat("4242 (short) S 1 2", 4096).has_value());
}

HardwareReading Reading(absl::Time at, uint64_t busy, uint64_t total, int64_t received,
                        int64_t sent) {
  HardwareReading reading;
  reading.at = at;
  reading.num_cpus = 2;
  reading.cpu = CpuTicks{busy, total};
  reading.memory = MemoryFigures{1000, 400};
  reading.network = NetworkCounters{received, sent};
  return reading;
}

TEST(NodeHardwareTest, MonitorTurnsCountersIntoRates) {
  HardwareMonitor monitor(100);
  absl::Time t0 = absl::FromUnixSeconds(1000);
  HardwareReading first = Reading(t0, 1000, 4000, 10000, 5000);
  first.processes[7] = ProcessReading{100, 1 << 20};
  monitor.Update(first);
  EXPECT_EQ(monitor.cpu_percent(), 0);  // one reading: no rate yet
  ASSERT_TRUE(monitor.process(7).has_value());
  EXPECT_EQ(monitor.process(7)->cpu_percent, 0);

  HardwareReading second = Reading(t0 + absl::Seconds(2), 1150, 4200, 14000, 5500);
  second.processes[7] = ProcessReading{250, 2 << 20};  // 150 ticks in 2 s
  second.processes[8] = ProcessReading{40, 4096};       // new: no rate yet
  monitor.Update(second);
  EXPECT_DOUBLE_EQ(monitor.cpu_percent(), 75.0);  // 150 busy of 200 ticks
  EXPECT_DOUBLE_EQ(monitor.receive_bytes_per_s(), 2000.0);
  EXPECT_DOUBLE_EQ(monitor.send_bytes_per_s(), 250.0);
  ASSERT_TRUE(monitor.process(7).has_value());
  EXPECT_DOUBLE_EQ(monitor.process(7)->cpu_percent, 75.0);  // 1.5 s of CPU in 2 s
  EXPECT_EQ(monitor.process(7)->rss_bytes, 2 << 20);
  EXPECT_EQ(monitor.process(8)->cpu_percent, 0);
  EXPECT_FALSE(monitor.process(9).has_value());

  rpc::NodeHardware proto;
  monitor.ToProto(&proto);
  EXPECT_EQ(proto.num_cpus(), 2);
  EXPECT_DOUBLE_EQ(proto.cpu_percent(), 75.0);
  EXPECT_EQ(proto.memory_total_bytes(), 1000);
  EXPECT_EQ(proto.memory_available_bytes(), 400);
  EXPECT_EQ(proto.network_received_bytes(), 14000);
  EXPECT_EQ(proto.sampled_at_ms(), absl::ToUnixMillis(t0 + absl::Seconds(2)));

  // A counter that went backwards (an interface went away) is no rate.
  HardwareReading third = Reading(t0 + absl::Seconds(3), 1200, 4300, 100, 5600);
  monitor.Update(third);
  EXPECT_EQ(monitor.receive_bytes_per_s(), 0);
  EXPECT_DOUBLE_EQ(monitor.send_bytes_per_s(), 100.0);
  EXPECT_FALSE(monitor.process(7).has_value());  // exited
}

TEST(NodeHardwareTest, MetricsNameTheNodeAndEachWorker) {
  HardwareMonitor monitor(100);
  MetricsText empty;
  AppendHardwareMetrics(monitor, {{"node_id", "n"}}, {}, &empty);
  EXPECT_EQ(empty.text(), "");

  HardwareReading reading = Reading(absl::Now(), 10, 100, 1, 2);
  reading.processes[7] = ProcessReading{5, 8192};
  monitor.Update(reading);
  WorkerID worker = WorkerID::FromRandom();
  MetricsText text;
  AppendHardwareMetrics(monitor, {{"node_id", "n"}}, {{7, worker}, {99, WorkerID::FromRandom()}},
                        &text);
  const std::string& out = text.text();
  EXPECT_NE(out.find("comet_node_memory_used_bytes{node_id=\"n\"} 600\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("# TYPE comet_node_network_received_bytes_total counter"),
            std::string::npos);
  EXPECT_NE(out.find("comet_worker_rss_bytes{node_id=\"n\",pid=\"7\",worker_id=\"" +
                     worker.Hex() + "\"} 8192\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("pid=\"99\""), std::string::npos);  // not read: left out
}

TEST(NodeHardwareTest, ReadsThisMachine) {
  HardwareReading reading = ReadHardware("/", {getpid(), 999999999});
  EXPECT_GT(reading.num_cpus, 0);
  ASSERT_TRUE(reading.cpu.has_value());
  EXPECT_GT(reading.cpu->total, 0u);
  ASSERT_TRUE(reading.memory.has_value());
  EXPECT_GT(reading.memory->total_bytes, 0);
  EXPECT_GT(reading.disk_total_bytes, 0);
  ASSERT_EQ(reading.processes.count(getpid()), 1u);
  EXPECT_GT(reading.processes[getpid()].rss_bytes, 0);
  EXPECT_EQ(reading.processes.count(999999999), 0u);
}

}  // namespace
}  // namespace comet::raylet
