// Node hardware figures: what the machine's CPUs, memory, disk and network
// do, and each worker process's CPU and resident memory, as the dashboard's
// Overview and Nodes pages and the node's /metrics show them.
//
// Three parts, I/O apart from decisions:
//   - parsers of /proc text (pure functions, unit-tested on sample text);
//   - ReadHardware(): the I/O, one pass over /proc and statvfs;
//   - HardwareMonitor: fed one HardwareReading per sample, it turns the
//     kernel's tick and byte counters into rates over the last interval.
//
// Plain values. HardwareMonitor is not thread-safe: the raylet feeds and
// reads it on its io thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/node_manager.pb.h"
#include "src/comet/common/id.h"
#include "src/comet/common/metrics.h"

namespace comet::raylet {

// Jiffies of all CPUs together (/proc/stat's "cpu" line): busy and total.
struct CpuTicks {
  uint64_t busy = 0;   // user + nice + system + irq + softirq + steal
  uint64_t total = 0;  // busy + idle + iowait
};

struct MemoryFigures {
  int64_t total_bytes = 0;
  int64_t available_bytes = 0;  // MemAvailable: what can be had without swapping
};

// Bytes through every interface but loopback, since boot.
struct NetworkCounters {
  int64_t received_bytes = 0;
  int64_t sent_bytes = 0;
};

struct ProcessReading {
  uint64_t cpu_ticks = 0;  // utime + stime
  int64_t rss_bytes = 0;
};

std::optional<CpuTicks> ParseProcStat(absl::string_view text);
std::optional<MemoryFigures> ParseMeminfo(absl::string_view text);
NetworkCounters ParseNetDev(absl::string_view text);
// /proc/<pid>/stat; the command (field 2) may hold spaces and parentheses.
std::optional<ProcessReading> ParsePidStat(absl::string_view text, int64_t page_size);

struct HardwareReading {
  absl::Time at;
  int num_cpus = 0;
  std::optional<CpuTicks> cpu;
  std::optional<MemoryFigures> memory;
  int64_t disk_total_bytes = 0;  // of the filesystem that holds disk_path
  int64_t disk_used_bytes = 0;
  NetworkCounters network;
  absl::flat_hash_map<int, ProcessReading> processes;  // by pid; gone ones absent
};

// Reads `proc_root` (normally /proc) for the node and for `pids`, and
// statvfs(disk_path). What cannot be read is left out, never an error.
HardwareReading ReadHardware(const std::string& disk_path, const std::vector<int>& pids,
                             const std::string& proc_root = "/proc");

struct ProcessFigures {
  double cpu_percent = 0;  // of one CPU, as top shows it (may pass 100)
  int64_t rss_bytes = 0;
};

class HardwareMonitor {
 public:
  // ticks_per_second: sysconf(_SC_CLK_TCK) (100 on Linux).
  explicit HardwareMonitor(int64_t ticks_per_second = 100)
      : ticks_per_second_(ticks_per_second) {}

  // The newest reading; rates are taken against the one before.
  void Update(HardwareReading reading);

  bool has_reading() const { return latest_.has_value(); }
  // Of all CPUs, 0-100, over the last interval (0 until two readings).
  double cpu_percent() const { return cpu_percent_; }
  double receive_bytes_per_s() const { return receive_rate_; }
  double send_bytes_per_s() const { return send_rate_; }
  // The process's figures at the last reading, if it was read then.
  std::optional<ProcessFigures> process(int pid) const;

  // rpc::NodeHardware of the latest reading (empty before the first).
  void ToProto(rpc::NodeHardware* out) const;
  const std::optional<HardwareReading>& latest() const { return latest_; }

 private:
  int64_t ticks_per_second_;
  std::optional<HardwareReading> latest_;
  double cpu_percent_ = 0;
  double receive_rate_ = 0;
  double send_rate_ = 0;
  absl::flat_hash_map<int, double> process_cpu_percent_;
};

// The node's hardware families for /metrics, and each worker's CPU and RSS
// (labels pid and worker_id). Nothing before the first reading.
void AppendHardwareMetrics(const HardwareMonitor& hardware, const MetricsText::Labels& node,
                           const std::vector<std::pair<int, WorkerID>>& workers,
                           MetricsText* text);

}  // namespace comet::raylet
