#include "src/comet/raylet/node_hardware.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace comet::raylet {
namespace {

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<absl::string_view> Fields(absl::string_view line) {
  return absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
}

}  // namespace

std::optional<CpuTicks> ParseProcStat(absl::string_view text) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::vector<absl::string_view> fields = Fields(line);
    if (fields.empty() || fields[0] != "cpu") continue;
    // cpu user nice system idle iowait irq softirq steal [guest guest_nice]
    // (guest time is already inside user and nice).
    uint64_t values[8] = {0};
    if (fields.size() < 5) return std::nullopt;
    for (size_t i = 0; i < 8 && i + 1 < fields.size(); ++i) {
      if (!absl::SimpleAtoi(fields[i + 1], &values[i])) return std::nullopt;
    }
    CpuTicks ticks;
    ticks.busy = values[0] + values[1] + values[2] + values[5] + values[6] + values[7];
    ticks.total = ticks.busy + values[3] + values[4];
    return ticks;
  }
  return std::nullopt;
}

std::optional<MemoryFigures> ParseMeminfo(absl::string_view text) {
  std::optional<int64_t> total, available, free_kb;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::vector<absl::string_view> fields = Fields(line);
    int64_t kb = 0;
    if (fields.size() < 2 || !absl::SimpleAtoi(fields[1], &kb)) continue;
    if (fields[0] == "MemTotal:") total = kb;
    if (fields[0] == "MemAvailable:") available = kb;
    if (fields[0] == "MemFree:") free_kb = kb;
  }
  if (!total.has_value()) return std::nullopt;
  MemoryFigures memory;
  memory.total_bytes = *total * 1024;
  // Kernels before 3.14 have no MemAvailable; MemFree understates it.
  memory.available_bytes = available.value_or(free_kb.value_or(0)) * 1024;
  return memory;
}

NetworkCounters ParseNetDev(absl::string_view text) {
  NetworkCounters counters;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    // "  eth0: rx_bytes rx_packets ... (8 receive fields) tx_bytes ..."
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    absl::string_view name = absl::StripAsciiWhitespace(line.substr(0, colon));
    if (name == "lo") continue;
    std::vector<absl::string_view> fields = Fields(line.substr(colon + 1));
    int64_t received = 0, sent = 0;
    if (fields.size() < 9 || !absl::SimpleAtoi(fields[0], &received) ||
        !absl::SimpleAtoi(fields[8], &sent)) {
      continue;  // the two header lines
    }
    counters.received_bytes += received;
    counters.sent_bytes += sent;
  }
  return counters;
}

std::optional<ProcessReading> ParsePidStat(absl::string_view text, int64_t page_size) {
  // pid (comm) state ppid ... : fields after the last ')' start at field 3.
  size_t close = text.rfind(')');
  if (close == absl::string_view::npos) return std::nullopt;
  std::vector<absl::string_view> fields = Fields(text.substr(close + 1));
  // Field 3 (state) is fields[0]; utime 14, stime 15, rss 24.
  constexpr size_t kUtime = 14 - 3, kStime = 15 - 3, kRss = 24 - 3;
  if (fields.size() <= kRss) return std::nullopt;
  uint64_t utime = 0, stime = 0;
  int64_t rss_pages = 0;
  if (!absl::SimpleAtoi(fields[kUtime], &utime) || !absl::SimpleAtoi(fields[kStime], &stime) ||
      !absl::SimpleAtoi(fields[kRss], &rss_pages)) {
    return std::nullopt;
  }
  return ProcessReading{utime + stime, rss_pages * page_size};
}

HardwareReading ReadHardware(const std::string& disk_path, const std::vector<int>& pids,
                             const std::string& proc_root) {
  HardwareReading reading;
  reading.at = absl::Now();
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  reading.num_cpus = cpus > 0 ? static_cast<int>(cpus) : 0;
  if (auto text = ReadFile(proc_root + "/stat")) reading.cpu = ParseProcStat(*text);
  if (auto text = ReadFile(proc_root + "/meminfo")) reading.memory = ParseMeminfo(*text);
  if (auto text = ReadFile(proc_root + "/net/dev")) reading.network = ParseNetDev(*text);
  struct statvfs disk;
  if (!disk_path.empty() && statvfs(disk_path.c_str(), &disk) == 0) {
    reading.disk_total_bytes = static_cast<int64_t>(disk.f_blocks) * disk.f_frsize;
    reading.disk_used_bytes =
        static_cast<int64_t>(disk.f_blocks - disk.f_bfree) * disk.f_frsize;
  }
  const int64_t page_size = sysconf(_SC_PAGESIZE);
  for (int pid : pids) {
    if (pid <= 0) continue;
    auto text = ReadFile(absl::StrCat(proc_root, "/", pid, "/stat"));
    if (!text) continue;  // exited
    if (auto process = ParsePidStat(*text, page_size)) reading.processes[pid] = *process;
  }
  return reading;
}

void HardwareMonitor::Update(HardwareReading reading) {
  process_cpu_percent_.clear();
  if (latest_.has_value()) {
    const HardwareReading& before = *latest_;
    double seconds = absl::ToDoubleSeconds(reading.at - before.at);
    if (reading.cpu && before.cpu && reading.cpu->total > before.cpu->total) {
      cpu_percent_ = 100.0 * static_cast<double>(reading.cpu->busy - before.cpu->busy) /
                     static_cast<double>(reading.cpu->total - before.cpu->total);
    }
    if (seconds > 0) {
      // Counters that went backwards (an interface went away) give 0.
      auto rate = [seconds](int64_t now, int64_t then) {
        return now >= then ? static_cast<double>(now - then) / seconds : 0.0;
      };
      receive_rate_ = rate(reading.network.received_bytes, before.network.received_bytes);
      send_rate_ = rate(reading.network.sent_bytes, before.network.sent_bytes);
      for (const auto& [pid, process] : reading.processes) {
        auto then = before.processes.find(pid);
        if (then == before.processes.end() || process.cpu_ticks < then->second.cpu_ticks) {
          continue;  // new (or a reused pid): no rate yet
        }
        process_cpu_percent_[pid] = 100.0 *
                                    static_cast<double>(process.cpu_ticks - then->second.cpu_ticks) /
                                    static_cast<double>(ticks_per_second_) / seconds;
      }
    }
  }
  latest_ = std::move(reading);
}

std::optional<ProcessFigures> HardwareMonitor::process(int pid) const {
  if (!latest_.has_value()) return std::nullopt;
  auto it = latest_->processes.find(pid);
  if (it == latest_->processes.end()) return std::nullopt;
  ProcessFigures figures;
  figures.rss_bytes = it->second.rss_bytes;
  auto cpu = process_cpu_percent_.find(pid);
  if (cpu != process_cpu_percent_.end()) figures.cpu_percent = cpu->second;
  return figures;
}

void HardwareMonitor::ToProto(rpc::NodeHardware* out) const {
  if (!latest_.has_value()) return;
  const HardwareReading& reading = *latest_;
  out->set_sampled_at_ms(absl::ToUnixMillis(reading.at));
  out->set_num_cpus(reading.num_cpus);
  out->set_cpu_percent(cpu_percent_);
  if (reading.memory) {
    out->set_memory_total_bytes(reading.memory->total_bytes);
    out->set_memory_available_bytes(reading.memory->available_bytes);
  }
  out->set_disk_total_bytes(reading.disk_total_bytes);
  out->set_disk_used_bytes(reading.disk_used_bytes);
  out->set_network_received_bytes(reading.network.received_bytes);
  out->set_network_sent_bytes(reading.network.sent_bytes);
  out->set_network_receive_bytes_per_s(receive_rate_);
  out->set_network_send_bytes_per_s(send_rate_);
}

void AppendHardwareMetrics(const HardwareMonitor& hardware, const MetricsText::Labels& node,
                           const std::vector<std::pair<int, WorkerID>>& workers,
                           MetricsText* text) {
  if (!hardware.latest().has_value()) return;
  rpc::NodeHardware figures;
  hardware.ToProto(&figures);
  auto one = [&](const std::string& name, const std::string& type, const std::string& help,
                 double value) { text->Family(name, type, help).Sample(name, node, value); };
  one("comet_node_cpus", "gauge", "Logical CPUs of the node's machine.", figures.num_cpus());
  one("comet_node_cpu_percent", "gauge",
      "CPU use of the whole machine, 0-100, over the last sample interval.",
      figures.cpu_percent());
  one("comet_node_memory_size_bytes", "gauge", "The machine's memory.",
      static_cast<double>(figures.memory_total_bytes()));
  one("comet_node_memory_available_bytes", "gauge",
      "Memory that can be had without swapping (MemAvailable).",
      static_cast<double>(figures.memory_available_bytes()));
  one("comet_node_memory_used_bytes", "gauge", "Memory size minus what is available.",
      static_cast<double>(figures.memory_total_bytes() - figures.memory_available_bytes()));
  one("comet_node_disk_size_bytes", "gauge",
      "Size of the filesystem that holds the node's session folder.",
      static_cast<double>(figures.disk_total_bytes()));
  one("comet_node_disk_used_bytes", "gauge", "Bytes used on that filesystem.",
      static_cast<double>(figures.disk_used_bytes()));
  one("comet_node_network_received_bytes_total", "counter",
      "Bytes received on every interface but loopback since boot.",
      static_cast<double>(figures.network_received_bytes()));
  one("comet_node_network_sent_bytes_total", "counter",
      "Bytes sent on every interface but loopback since boot.",
      static_cast<double>(figures.network_sent_bytes()));
  std::vector<std::pair<MetricsText::Labels, ProcessFigures>> processes;
  for (const auto& [pid, worker_id] : workers) {
    std::optional<ProcessFigures> process = hardware.process(pid);
    if (!process.has_value()) continue;
    MetricsText::Labels labels = node;
    labels["pid"] = absl::StrCat(pid);
    labels["worker_id"] = worker_id.Hex();
    processes.emplace_back(std::move(labels), *process);
  }
  text->Family("comet_worker_cpu_percent", "gauge",
               "A worker process's CPU, percent of one CPU, over the last sample interval.");
  for (const auto& [labels, process] : processes) {
    text->Sample("comet_worker_cpu_percent", labels, process.cpu_percent);
  }
  text->Family("comet_worker_rss_bytes", "gauge", "A worker process's resident memory.");
  for (const auto& [labels, process] : processes) {
    text->Sample("comet_worker_rss_bytes", labels, static_cast<double>(process.rss_bytes));
  }
}

}  // namespace comet::raylet
