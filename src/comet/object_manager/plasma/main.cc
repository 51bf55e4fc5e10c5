// plasma_store: a node's shared-memory object store as a process of its own
// (the raylet embeds the same store on a thread). Parses flags, wires objects,
// and serves until SIGINT/SIGTERM.
//
//   plasma_store --socket=PATH [--memory=BYTES] [--fallback-dir=DIR]
//                [--spill-dir=DIR] [--spill-threshold=FRACTION] [--log-dir=DIR]
//
// Spilling of primary copies is off unless --spill-dir is given.
//
// Unset flags come from the config table (COMET_object_store_memory,
// COMET_plasma_spill_dir, COMET_plasma_create_fallback_timeout_ms, ...).
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "src/comet/common/config.h"
#include "src/comet/common/logging.h"
#include "src/comet/object_manager/plasma/store_runner.h"

namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "plasma_store: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    size_t eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos) {
      return Fail("bad argument '" + arg + "'; expected --name=value");
    }
    flags[arg.substr(2, eq - 2)] = arg.substr(eq + 1);
  }
  const absl::flat_hash_set<std::string> known = {
      "socket", "memory", "fallback-dir", "spill-dir", "spill-threshold", "log-dir"};
  for (const auto& [name, value] : flags) {
    if (!known.contains(name)) return Fail("unknown flag --" + name);
  }
  if (flags["socket"].empty()) return Fail("--socket=PATH is required");

  absl::StatusOr<comet::Config> config = comet::Config::FromEnvironment();
  if (!config.ok()) return Fail(std::string(config.status().message()));
  absl::Status logging =
      comet::InitLogging("plasma_store", flags["log-dir"], config->log_level());
  if (!logging.ok()) return Fail(std::string(logging.message()));

  comet::plasma::PlasmaStoreOptions options;
  options.socket_path = flags["socket"];
  int64_t memory = comet::ResolveObjectStoreMemory(*config);
  if (!flags["memory"].empty() && !absl::SimpleAtoi(flags["memory"], &memory)) {
    return Fail("--memory must be a number of bytes");
  }
  if (memory <= 0) return Fail("--memory must be positive");
  options.capacity = static_cast<uint64_t>(memory);
  options.fallback_dir = flags.count("fallback-dir") ? flags["fallback-dir"]
                                                     : config->plasma_spill_dir();
  if (options.fallback_dir.empty()) options.fallback_dir = "/tmp";
  if (!config->plasma_fallback_allocation()) options.fallback_dir.clear();
  options.fallback_timeout_ms = config->plasma_create_fallback_timeout_ms();
  options.max_message_bytes = static_cast<uint64_t>(config->plasma_max_message_bytes());
  options.spill_dir = flags["spill-dir"];
  if (!flags["spill-threshold"].empty() &&
      (!absl::SimpleAtod(flags["spill-threshold"], &options.spill_threshold) ||
       !(options.spill_threshold >= 0 && options.spill_threshold <= 1))) {
    return Fail("--spill-threshold must be a fraction of capacity in [0, 1]");
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // Inherited by the store thread.

  auto runner = comet::plasma::PlasmaStoreRunner::Start(options);
  if (!runner.ok()) return Fail(std::string(runner.status().message()));
  COMET_LOG(INFO) << "plasma store serving " << options.socket_path << " with "
                  << (*runner)->capacity() << " bytes";
  std::printf("plasma_store ready on %s (%llu bytes)\n", options.socket_path.c_str(),
              static_cast<unsigned long long>((*runner)->capacity()));
  std::fflush(stdout);

  int received = 0;
  sigwait(&signals, &received);
  COMET_LOG(INFO) << "plasma store stopping on signal " << received;
  (*runner)->Stop();
  comet::ShutdownLogging();
  return 0;
}
