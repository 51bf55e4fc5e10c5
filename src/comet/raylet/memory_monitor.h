// The memory monitor: keeps the node out of the kernel's OOM killer, which
// may take the raylet or the GCS, by killing one worker when the node's
// memory use passes a threshold (Ray's memory_usage_threshold, 0.95).
//
// Three parts, I/O apart from decisions:
//   - parsers of the cgroup v2 and /proc/meminfo figures (pure functions);
//   - ReadNodeMemory(): the I/O; the cgroup's limit when one is set and it is
//     below the machine's memory, else the machine's;
//   - MemoryMonitor: fed one sample and the leased workers at a time, it
//     says which worker to kill (Ray's group-by-owner policy: retriable
//     work first, then the owner with the most running work, its newest
//     lease), and waits for that worker to exit before choosing another.
//
// Not thread-safe: the raylet feeds it on its io thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "src/comet/common/id.h"

namespace comet::raylet {

struct MemorySnapshot {
  int64_t used_bytes = 0;
  int64_t total_bytes = 0;
  bool from_cgroup = false;  // the cgroup's limit, not the machine's memory
  double fraction() const {
    return total_bytes > 0 ? static_cast<double>(used_bytes) / total_bytes : 0;
  }
};

// cgroup v2: memory.current and memory.max ("max": no limit -> nullopt).
std::optional<MemorySnapshot> ParseCgroupMemory(absl::string_view current,
                                                absl::string_view max);
// /proc/meminfo: used = MemTotal - MemAvailable.
std::optional<MemorySnapshot> ParseMeminfoUsage(absl::string_view meminfo);
// The cgroup's figures when it has a limit below the machine's memory, else
// the machine's; nullopt when neither can be read.
std::optional<MemorySnapshot> ReadNodeMemory(const std::string& cgroup_dir = "/sys/fs/cgroup",
                                             const std::string& proc_root = "/proc");

// A process's resident memory now (0 when it cannot be read).
int64_t ReadRss(int pid, const std::string& proc_root = "/proc");

// A leased worker the monitor may kill.
struct KillCandidate {
  WorkerID worker_id;
  int pid = 0;
  WorkerID owner;          // who leased it (Nil: unknown)
  bool retriable = false;  // its task (or actor) may run again
  absl::Time granted_at;
  int64_t rss_bytes = 0;
};

// Ray's group-by-owner choice: the candidates grouped by owner; a group of
// retriable work before one without; then the larger group; then the group
// whose newest lease is newer. In the group, its newest lease. nullopt for
// no candidates.
std::optional<size_t> ChooseWorkerToKill(const std::vector<KillCandidate>& candidates);

struct KillDecision {
  KillCandidate victim;
  std::string message;  // why, with the node's figures and the worker's RSS
};

class MemoryMonitor {
 public:
  // A kill whose worker has not exited after `kill_wait` no longer holds
  // the next one back.
  explicit MemoryMonitor(double threshold, absl::Duration kill_wait = absl::Seconds(5))
      : threshold_(threshold), kill_wait_(kill_wait) {}

  // One sample: the worker to kill now, if the node is over the threshold,
  // no earlier kill is still pending, and there is a candidate.
  std::optional<KillDecision> OnSample(const MemorySnapshot& memory,
                                       const std::vector<KillCandidate>& candidates,
                                       absl::Time now);
  // A worker exited (killed or not): a pending kill of it is done.
  void OnWorkerExited(const WorkerID& worker_id);

  double threshold() const { return threshold_; }
  int64_t num_kills() const { return num_kills_; }

 private:
  double threshold_;
  absl::Duration kill_wait_;
  std::optional<WorkerID> pending_;
  absl::Time pending_since_;
  int64_t num_kills_ = 0;
};

}  // namespace comet::raylet
