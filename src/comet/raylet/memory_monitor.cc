#include "src/comet/raylet/memory_monitor.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "src/comet/raylet/node_hardware.h"

namespace comet::raylet {
namespace {

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Gib(int64_t bytes) {
  return absl::StrFormat("%.2f GiB", static_cast<double>(bytes) / (1LL << 30));
}

}  // namespace

std::optional<MemorySnapshot> ParseCgroupMemory(absl::string_view current,
                                                absl::string_view max) {
  int64_t used = 0;
  int64_t limit = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(current), &used) ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(max), &limit) || limit <= 0) {
    return std::nullopt;  // "max": no limit
  }
  return MemorySnapshot{used, limit, true};
}

std::optional<MemorySnapshot> ParseMeminfoUsage(absl::string_view meminfo) {
  std::optional<MemoryFigures> figures = ParseMeminfo(meminfo);
  if (!figures || figures->total_bytes <= 0) return std::nullopt;
  return MemorySnapshot{figures->total_bytes - figures->available_bytes, figures->total_bytes,
                        false};
}

std::optional<MemorySnapshot> ReadNodeMemory(const std::string& cgroup_dir,
                                             const std::string& proc_root) {
  std::optional<MemorySnapshot> machine;
  if (auto meminfo = ReadFile(proc_root + "/meminfo")) machine = ParseMeminfoUsage(*meminfo);
  auto current = ReadFile(cgroup_dir + "/memory.current");
  auto max = ReadFile(cgroup_dir + "/memory.max");
  if (current && max) {
    std::optional<MemorySnapshot> cgroup = ParseCgroupMemory(*current, *max);
    if (cgroup && (!machine || cgroup->total_bytes < machine->total_bytes)) return cgroup;
  }
  return machine;
}

int64_t ReadRss(int pid, const std::string& proc_root) {
  auto stat = ReadFile(absl::StrCat(proc_root, "/", pid, "/stat"));
  if (!stat) return 0;
  std::optional<ProcessReading> reading = ParsePidStat(*stat, sysconf(_SC_PAGESIZE));
  return reading ? reading->rss_bytes : 0;
}

std::optional<size_t> ChooseWorkerToKill(const std::vector<KillCandidate>& candidates) {
  if (candidates.empty()) return std::nullopt;
  struct Group {
    bool retriable = false;
    size_t size = 0;
    size_t newest = 0;  // index of its newest lease
  };
  // Retriable and non-retriable work of one owner are separate groups.
  std::map<std::pair<WorkerID, bool>, Group> groups;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const KillCandidate& c = candidates[i];
    Group& group = groups[{c.owner, c.retriable}];
    if (group.size == 0 || c.granted_at > candidates[group.newest].granted_at) group.newest = i;
    group.retriable = c.retriable;
    ++group.size;
  }
  const Group* best = nullptr;
  auto rank = [&](const Group& g) {
    return std::make_tuple(g.retriable, g.size, candidates[g.newest].granted_at);
  };
  for (const auto& [key, group] : groups) {
    if (best == nullptr || rank(group) > rank(*best)) best = &group;
  }
  return best->newest;
}

std::optional<KillDecision> MemoryMonitor::OnSample(
    const MemorySnapshot& memory, const std::vector<KillCandidate>& candidates,
    absl::Time now) {
  if (pending_ && now - pending_since_ < kill_wait_) return std::nullopt;
  pending_.reset();
  if (memory.total_bytes <= 0 || memory.fraction() < threshold_) return std::nullopt;
  std::optional<size_t> chosen = ChooseWorkerToKill(candidates);
  if (!chosen) return std::nullopt;
  const KillCandidate& victim = candidates[*chosen];
  pending_ = victim.worker_id;
  pending_since_ = now;
  ++num_kills_;
  std::string message = absl::StrCat(
      "the node was running low on memory: ", Gib(memory.used_bytes), " of ",
      Gib(memory.total_bytes), memory.from_cgroup ? " (its cgroup's limit)" : "",
      absl::StrFormat(" in use (%.0f%%), at or above memory_usage_threshold %.2f",
                      100 * memory.fraction(), threshold_),
      "; the memory monitor killed worker ", victim.worker_id.Hex(), " (pid ", victim.pid,
      "), whose resident memory was ", Gib(victim.rss_bytes),
      victim.retriable ? "" : " (its work is not retriable)");
  return KillDecision{victim, std::move(message)};
}

void MemoryMonitor::OnWorkerExited(const WorkerID& worker_id) {
  if (pending_ && *pending_ == worker_id) pending_.reset();
}

}  // namespace comet::raylet
