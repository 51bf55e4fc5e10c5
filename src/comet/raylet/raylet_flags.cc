#include "src/comet/raylet/raylet_flags.h"

#include <limits>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "src/comet/common/status_macros.h"

namespace comet::raylet {
namespace {

absl::Status BadFlag(absl::string_view name, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--", name, ": ", why));
}

absl::StatusOr<int64_t> ParseInt(absl::string_view name,
                                 absl::string_view value, int64_t min) {
  int64_t parsed;
  if (!absl::SimpleAtoi(value, &parsed) || parsed < min) {
    return BadFlag(name, absl::StrCat("expected an integer >= ", min,
                                      ", got \"", value, "\""));
  }
  return parsed;
}

absl::StatusOr<double> ParseNonNegative(absl::string_view name,
                                        absl::string_view value) {
  double parsed;
  if (!absl::SimpleAtod(value, &parsed) || !std::isfinite(parsed) ||
      parsed < 0) {
    return BadFlag(name,
                   absl::StrCat("expected a number >= 0, got \"", value, "\""));
  }
  return parsed;
}

// Applies one --name=value to `flags`.
absl::Status SetFlag(const std::string& name, const std::string& value,
                     RayletFlags* flags) {
  if (name == "gcs-address") {
    flags->gcs_address = value;
  } else if (name == "node-id") {
    flags->node_id = value;
  } else if (name == "host") {
    flags->host = value;
  } else if (name == "port") {
    ASSIGN_OR_RETURN(int64_t port, ParseInt(name, value, 0));
    if (port > 65535) return BadFlag(name, "must be at most 65535");
    flags->port = static_cast<int>(port);
  } else if (name == "plasma-socket") {
    flags->plasma_socket = value;
  } else if (name == "object-store-memory") {
    ASSIGN_OR_RETURN(flags->object_store_memory, ParseInt(name, value, 1));
  } else if (name == "num-cpus") {
    ASSIGN_OR_RETURN(flags->num_cpus, ParseNonNegative(name, value));
  } else if (name == "num-gpus") {
    ASSIGN_OR_RETURN(flags->num_gpus, ParseInt(name, value, 0));
  } else if (name == "memory") {
    ASSIGN_OR_RETURN(flags->memory, ParseInt(name, value, 0));
  } else if (name == "resources") {
    ASSIGN_OR_RETURN(flags->resources, ParseCustomResources(value));
  } else if (name == "session-dir") {
    flags->session_dir = value;
  } else if (name == "log-dir") {
    flags->log_dir = value;
  } else if (name == "python") {
    flags->python = value;
  } else if (name == "node-name") {
    flags->node_name = value;
  } else if (name == "config") {
    ASSIGN_OR_RETURN(flags->config_overrides, ParseConfigOverrides(value));
  } else if (name == "metrics-port") {
    ASSIGN_OR_RETURN(int64_t port, ParseInt(name, value, 0));
    if (port > 65535) return BadFlag(name, "must be at most 65535");
    flags->metrics_port = static_cast<int>(port);
  } else if (name == "prestart-workers") {
    ASSIGN_OR_RETURN(flags->prestart_workers, ParseInt(name, value, 0));
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
  }
  return absl::OkStatus();
}

}  // namespace

std::string RayletUsage() {
  return "usage: raylet --gcs-address=HOST:PORT --plasma-socket=PATH\n"
         "  [--node-id=HEX] [--host=127.0.0.1] [--port=N]\n"
         "  [--object-store-memory=BYTES] [--num-cpus=N] [--num-gpus=N]\n"
         "  [--memory=BYTES] [--resources=name:qty,...] [--session-dir=DIR]\n"
         "  [--log-dir=DIR] [--python=PATH] [--node-name=STR]\n"
         "  [--config=name=value;...] [--prestart-workers=N]\n"
         "  [--metrics-port=N]   Prometheus /metrics on HOST:N (0: any free port)\n";
}

absl::StatusOr<RayletFlags> ParseRayletFlags(
    const std::vector<std::string>& args) {
  RayletFlags flags;
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      flags.help = true;
      continue;
    }
    size_t eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad argument '", arg, "'; expected --name=value"));
    }
    RETURN_IF_ERROR(SetFlag(arg.substr(2, eq - 2), arg.substr(eq + 1), &flags));
  }
  if (flags.help) return flags;
  if (flags.gcs_address.empty()) {
    return absl::InvalidArgumentError("--gcs-address=HOST:PORT is required");
  }
  if (flags.plasma_socket.empty()) {
    return absl::InvalidArgumentError("--plasma-socket=PATH is required");
  }
  return flags;
}

absl::StatusOr<std::map<std::string, double>> ParseCustomResources(
    absl::string_view spec) {
  std::map<std::string, double> resources;
  for (absl::string_view item : absl::StrSplit(spec, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> parts =
        absl::StrSplit(item, absl::MaxSplits(':', 1));
    std::string name(absl::StripAsciiWhitespace(parts.first));
    if (name.empty()) return BadFlag("resources", "empty resource name");
    if (name == "CPU" || name == "GPU" || name == "memory" ||
        name == "object_store_memory") {
      return BadFlag("resources",
                     absl::StrCat("'", name, "' cannot be set here; use --",
                                  name == "CPU"      ? "num-cpus"
                                  : name == "GPU"    ? "num-gpus"
                                  : name == "memory" ? "memory"
                                                     : "object-store-memory"));
    }
    ASSIGN_OR_RETURN(double quantity,
                     ParseNonNegative("resources", absl::StripAsciiWhitespace(
                                                       parts.second)));
    if (!resources.emplace(name, quantity).second) {
      return BadFlag("resources", absl::StrCat("'", name, "' given twice"));
    }
  }
  return resources;
}

absl::StatusOr<std::map<std::string, std::string>> ParseConfigOverrides(
    absl::string_view spec) {
  std::map<std::string, std::string> values;
  for (absl::string_view item : absl::StrSplit(spec, ';', absl::SkipEmpty())) {
    size_t eq = item.find('=');
    if (eq == absl::string_view::npos || eq == 0) {
      return BadFlag("config",
                     absl::StrCat("expected name=value, got \"", item, "\""));
    }
    values[std::string(absl::StripAsciiWhitespace(item.substr(0, eq)))] =
        std::string(item.substr(eq + 1));
  }
  return values;
}

int64_t DetectNumGpus(const std::string& dir) {
  std::error_code error;
  int64_t count = 0;
  for (std::filesystem::directory_iterator it(dir, error), end;
       !error && it != end; it.increment(error)) {
    ++count;
  }
  return count;
}

std::string DetectGpuType(const std::string& dir) {
  std::error_code error;
  std::vector<std::filesystem::path> gpus;
  for (std::filesystem::directory_iterator it(dir, error), end;
       !error && it != end; it.increment(error)) {
    gpus.push_back(it->path());
  }
  if (gpus.empty()) return "";
  std::sort(gpus.begin(), gpus.end());
  std::ifstream info(gpus.front() / "information");
  std::string line;
  while (std::getline(info, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "Model:")) continue;
    // "NVIDIA A100-SXM4-40GB": the word after the vendor's, up to the first
    // character that is not an upper-case letter or a digit.
    std::vector<absl::string_view> words =
        absl::StrSplit(rest, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (words.size() < 2) return "";
    absl::string_view model = words[1];
    size_t end = 0;
    while (end < model.size() &&
           (absl::ascii_isupper(model[end]) || absl::ascii_isdigit(model[end]))) {
      ++end;
    }
    return std::string(model.substr(0, end));
  }
  return "";
}

int64_t DetectAvailableMemory() {
  int64_t available = -1;
  std::ifstream meminfo("/proc/meminfo");
  std::string key, unit;
  int64_t value;
  while (meminfo >> key >> value) {
    std::getline(meminfo, unit);
    if (key == "MemAvailable:") {
      available = value * 1024;
      break;
    }
  }
  if (available < 0) {
    available = static_cast<int64_t>(sysconf(_SC_AVPHYS_PAGES)) *
                sysconf(_SC_PAGE_SIZE);
  }
  std::ifstream cgroup("/sys/fs/cgroup/memory.max");
  int64_t limit;
  if (cgroup >> limit && limit > 0) available = std::min(available, limit);
  return available;
}

absl::StatusOr<RayletOptions> BuildRayletOptions(const RayletFlags& flags,
                                                 const Config& config) {
  RayletOptions options;
  if (flags.node_id.empty()) {
    options.node_id = NodeID::FromRandom();
  } else {
    ASSIGN_OR_RETURN(options.node_id, NodeID::FromHex(flags.node_id));
  }
  options.host = flags.host;
  options.port = flags.port;
  options.metrics_port = flags.metrics_port;
  options.gcs_address = flags.gcs_address;
  options.node_name = flags.node_name.empty() ? flags.host : flags.node_name;
  options.session_dir = flags.session_dir;
  options.log_dir = flags.log_dir;
  if (options.log_dir.empty() && !options.session_dir.empty()) {
    options.log_dir = options.session_dir + "/logs";
  }
  options.python = flags.python;

  options.plasma.socket_path = flags.plasma_socket;
  int64_t store_memory =
      flags.object_store_memory.value_or(ResolveObjectStoreMemory(config));
  if (store_memory <= 0) {
    return absl::InvalidArgumentError("object store memory must be positive");
  }
  options.plasma.capacity = static_cast<uint64_t>(store_memory);
  options.plasma.fallback_dir = config.plasma_spill_dir();
  if (options.plasma.fallback_dir.empty()) {
    options.plasma.fallback_dir =
        options.session_dir.empty() ? "/tmp" : options.session_dir + "/spill";
  }
  if (config.object_spilling_enabled()) {
    options.plasma.spill_dir = options.plasma.fallback_dir;
    options.plasma.spill_threshold = config.object_spilling_threshold();
    options.plasma.min_spill_bytes =
        static_cast<uint64_t>(std::max<int64_t>(config.min_spill_bytes(), 0));
  }
  if (!config.plasma_fallback_allocation()) options.plasma.fallback_dir.clear();
  options.objects.chunk_size = std::max<int64_t>(config.object_manager_chunk_size(), 4096);
  options.objects.num_pull_threads =
      static_cast<int>(std::max<int64_t>(config.object_manager_pull_threads(), 1));
  options.objects.max_pull_fraction = config.object_manager_max_pull_fraction();
  options.cluster.spread_threshold = config.scheduler_spread_threshold();
  options.plasma.fallback_timeout_ms =
      config.plasma_create_fallback_timeout_ms();
  options.plasma.max_message_bytes =
      static_cast<uint64_t>(config.plasma_max_message_bytes());
  if (config.metrics_auth() != "token" && config.metrics_auth() != "none") {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics_auth must be \"token\" or \"none\", got \"", config.metrics_auth(), "\""));
  }
  options.metrics_open = config.metrics_auth() == "none";
  if (config.raylet_max_request_bytes() < (1 << 20) ||
      config.raylet_max_request_bytes() > std::numeric_limits<int>::max()) {
    return absl::InvalidArgumentError("raylet_max_request_bytes must be from 1 MiB to 2 GiB");
  }
  options.max_request_bytes = static_cast<int>(config.raylet_max_request_bytes());
  if (config.memory_usage_threshold() <= 0 || config.memory_usage_threshold() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "memory_usage_threshold must be in (0, 1], got ", config.memory_usage_threshold()));
  }
  if (config.memory_monitor_refresh_ms() < 0) {
    return absl::InvalidArgumentError("memory_monitor_refresh_ms must be >= 0 (0: off)");
  }
  options.memory_monitor_refresh = absl::Milliseconds(config.memory_monitor_refresh_ms());
  options.memory_usage_threshold = config.memory_usage_threshold();
  if (config.gcs_rpc_server_reconnect_timeout_s() <= 0) {
    return absl::InvalidArgumentError("gcs_rpc_server_reconnect_timeout_s must be positive");
  }
  options.gcs_reconnect_timeout = absl::Seconds(config.gcs_rpc_server_reconnect_timeout_s());
  options.worker_config = config.ToMap();

  double num_cpus = flags.num_cpus.value_or(
      static_cast<double>(std::max(1u, std::thread::hardware_concurrency())));
  int64_t num_gpus = flags.num_gpus.value_or(DetectNumGpus());
  int64_t memory = flags.memory.value_or(
      static_cast<int64_t>(0.7 * static_cast<double>(DetectAvailableMemory())));
  std::map<std::string, double> quantities = flags.resources;
  quantities["CPU"] = num_cpus;
  quantities["GPU"] = static_cast<double>(num_gpus);
  // As Ray's nodes do: accelerator_type:<type>, for tasks that ask for one.
  bool typed = std::any_of(quantities.begin(), quantities.end(), [](const auto& entry) {
    return absl::StartsWith(entry.first, "accelerator_type:");
  });
  if (num_gpus > 0 && !typed) {
    std::string type = DetectGpuType();
    if (!type.empty()) quantities["accelerator_type:" + type] = 1;
  }
  quantities["memory"] = static_cast<double>(std::max<int64_t>(memory, 0));
  ASSIGN_OR_RETURN(options.resources, ResourceSet::FromDoubles(quantities));

  size_t whole_cpus = static_cast<size_t>(num_cpus);
  options.prestart_workers = static_cast<size_t>(
      flags.prestart_workers.value_or(static_cast<int64_t>(whole_cpus)));
  options.pool.idle_soft_limit = whole_cpus;
  options.pool.idle_timeout =
      absl::Milliseconds(config.worker_idle_timeout_ms());
  options.lease.max_starting_workers = std::max<size_t>(whole_cpus, 1);
  return options;
}

}  // namespace comet::raylet
