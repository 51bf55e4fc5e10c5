// raylet: one node's daemon (leases, worker pool, embedded plasma store).
// Parses flags, wires a Raylet, prints one ready line and serves until
// SIGTERM/SIGINT. See RayletUsage() in raylet_flags.cc for the flags; unset
// values come from the config table (COMET_* environment, --config=...).
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "src/comet/common/config.h"
#include "src/comet/common/logging.h"
#include "src/comet/raylet/raylet.h"
#include "src/comet/raylet/raylet_flags.h"
#include "src/comet/rpc/cluster_auth.h"

namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "raylet: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  auto flags = comet::raylet::ParseRayletFlags(
      std::vector<std::string>(argv + 1, argv + argc));
  if (!flags.ok()) {
    return Fail(std::string(flags.status().message()) + "\n" +
                comet::raylet::RayletUsage());
  }
  if (flags->help) {
    std::printf("%s", comet::raylet::RayletUsage().c_str());
    return 0;
  }
  absl::StatusOr<comet::Config> config = comet::Config::FromEnvironment();
  if (!config.ok()) return Fail(std::string(config.status().message()));
  absl::Status overrides = config->ApplyOverrides(flags->config_overrides);
  if (!overrides.ok()) return Fail(std::string(overrides.message()));
  auto options = comet::raylet::BuildRayletOptions(*flags, *config);
  if (!options.ok()) return Fail(std::string(options.status().message()));
  // The token is read here, never from a flag (flags show in `ps`).
  auto auth = comet::rpc::LoadClusterAuth();
  if (!auth.ok()) return Fail(std::string(auth.status().message()));
  options->auth = *std::move(auth);
  absl::Status logging =
      comet::InitLogging("raylet", options->log_dir, config->log_level());
  if (!logging.ok()) return Fail(std::string(logging.message()));

  // Blocked in every thread (inherited); main waits for them below. Workers
  // get an empty mask back before exec.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto raylet = comet::raylet::Raylet::Start(*std::move(options));
  if (!raylet.ok()) {
    COMET_LOG(ERROR) << "raylet failed to start: " << raylet.status();
    return Fail(std::string(raylet.status().message()));
  }
  std::printf("raylet ready on %s node_id=%s metrics_port=%d\n", (*raylet)->address().c_str(),
              (*raylet)->node_id().Hex().c_str(), (*raylet)->metrics_port());
  std::fflush(stdout);

  int received = 0;
  sigwait(&signals, &received);
  COMET_LOG(INFO) << "raylet stopping on signal " << received;
  (*raylet)->Stop();
  raylet->reset();
  comet::ShutdownLogging();
  return 0;
}
