// The raylet's command line: parsing (--name=value only) and turning flags,
// the machine's defaults and the config table into RayletOptions. Kept out
// of main.cc so that it can be tested. Stateless functions; thread-safe
// except that the defaults read /proc and the environment.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "src/comet/common/config.h"
#include "src/comet/raylet/raylet.h"

namespace comet::raylet {

struct RayletFlags {
  std::string gcs_address;
  std::string node_id;  // Hex; random when empty.
  std::string host = "127.0.0.1";
  int port = 0;
  int metrics_port = 0;
  std::string plasma_socket;
  std::optional<int64_t> object_store_memory;
  std::optional<double> num_cpus;
  std::optional<int64_t> num_gpus;
  std::optional<int64_t> memory;
  std::map<std::string, double> resources;
  std::string session_dir;
  std::string log_dir;
  std::string python = "python3";
  std::string node_name;
  std::map<std::string, std::string> config_overrides;
  std::optional<int64_t> prestart_workers;
  bool help = false;
};

// Usage text for --help and errors.
std::string RayletUsage();

// argv[1..]; InvalidArgument naming the flag on any problem.
absl::StatusOr<RayletFlags> ParseRayletFlags(
    const std::vector<std::string>& args);

// "name:qty,name:qty". CPU, GPU, memory and object_store_memory have flags
// of their own and are rejected here.
absl::StatusOr<std::map<std::string, double>> ParseCustomResources(
    absl::string_view spec);

// "name=value;name=value" (config-table overrides).
absl::StatusOr<std::map<std::string, std::string>> ParseConfigOverrides(
    absl::string_view spec);

// Entries in `dir` (default /proc/driver/nvidia/gpus); 0 if it is missing.
int64_t DetectNumGpus(const std::string& dir = "/proc/driver/nvidia/gpus");

// The type of the node's GPUs as Ray names it ("A100" for "NVIDIA
// A100-SXM4-40GB", "V100" for "Tesla V100-SXM2-16GB"), from the Model line
// of the first GPU's `information` file in `dir`; empty if none is found.
std::string DetectGpuType(const std::string& dir = "/proc/driver/nvidia/gpus");

// Available memory in bytes (MemAvailable, capped by a cgroup limit).
int64_t DetectAvailableMemory();

// Flags + config + machine defaults -> options (spawner left default).
absl::StatusOr<RayletOptions> BuildRayletOptions(const RayletFlags& flags,
                                                 const Config& config);

}  // namespace comet::raylet
