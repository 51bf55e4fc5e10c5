// gcs_server: the cluster's control plane. Parses flags, wires a GcsServer,
// prints one ready line, and serves until SIGINT/SIGTERM.
//
//   gcs_server [--port=N] [--host=127.0.0.1] [--log-dir=DIR]
//              [--session-dir=DIR] [--config=name=value;name=value]
//              [--storage=memory|sqlite:PATH|redis://HOST:PORT[/NS]]
//              [--supervise]
//
// --port=0 (the default) lets the OS pick. --storage says where the tables
// live (src/comet/gcs/store_spec.h; memory by default); a GCS started again
// on the same storage reloads them. --supervise runs the GCS as a child and
// starts it again when it dies (src/comet/gcs/gcs_supervisor.h). The cluster token comes from
// COMET_AUTH_TOKEN, COMET_AUTH_TOKEN_PATH or ~/.comet/auth_token
// (src/comet/rpc/cluster_auth.h); every call must carry it. Settings come from the config
// table: defaults, then COMET_* environment variables, then --config. Logs
// go to <log-dir>/gcs_server.<pid>.log (<session-dir>/logs when only
// --session-dir is given, else stderr). Once listening, stdout gets exactly
// "gcs_server ready on HOST:PORT". Exit status: 0 after a signal, 1 when the
// server cannot start (e.g. the port is taken), 2 for bad flags or config.
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "src/comet/common/config.h"
#include "src/comet/common/logging.h"
#include "src/comet/gcs/gcs_server.h"
#include "src/comet/gcs/gcs_supervisor.h"
#include "src/comet/gcs/store_spec.h"
#include "src/comet/rpc/cluster_auth.h"

namespace {

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "gcs_server: %s\n", message.c_str());
  return code;
}

// "a=1;b=2" -> {a: 1, b: 2}; empty items are skipped.
absl::StatusOr<std::map<std::string, std::string>> ParseConfigFlag(
    const std::string& text) {
  std::map<std::string, std::string> values;
  for (absl::string_view item :
       absl::StrSplit(text, ';', absl::SkipWhitespace())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(item, absl::MaxSplits('=', 1));
    absl::string_view name = absl::StripAsciiWhitespace(kv.first);
    if (name.empty() || item.find('=') == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          "--config expects name=value pairs separated by ';', got '" +
          std::string(item) + "'");
    }
    values[std::string(name)] = std::string(kv.second);
  }
  return values;
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything else (no thread may exist when the supervisor forks).
  std::vector<std::string> child_args;
  bool supervise = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--supervise") {
      supervise = true;
    } else {
      child_args.push_back(argv[i]);
    }
  }
  std::map<std::string, std::string> flags;
  for (const std::string& arg : child_args) {
    size_t eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos) {
      return Fail(2, "bad argument '" + arg + "'; expected --name=value");
    }
    std::string name = arg.substr(2, eq - 2);
    if (name != "port" && name != "host" && name != "log-dir" &&
        name != "session-dir" && name != "config" && name != "storage") {
      return Fail(2, "unknown flag --" + name);
    }
    flags[name] = arg.substr(eq + 1);
  }

  auto storage = comet::gcs::ParseStoreSpec(flags["storage"]);
  if (!storage.ok()) return Fail(2, std::string(storage.status().message()));
  if (supervise) return comet::gcs::RunSupervised(child_args);

  absl::StatusOr<comet::Config> config = comet::Config::FromEnvironment();
  if (!config.ok()) return Fail(2, std::string(config.status().message()));
  auto overrides = ParseConfigFlag(flags["config"]);
  if (!overrides.ok())
    return Fail(2, std::string(overrides.status().message()));
  absl::Status applied = config->ApplyOverrides(*overrides);
  if (!applied.ok()) return Fail(2, std::string(applied.message()));

  comet::gcs::GcsServerOptions options;
  if (flags.count("host")) options.host = flags["host"];
  if (options.host.empty()) return Fail(2, "--host must not be empty");
  if (flags.count("port") && (!absl::SimpleAtoi(flags["port"], &options.port) ||
                              options.port < 0 || options.port > 65535)) {
    return Fail(2, "--port must be a number from 0 to 65535");
  }
  options.session_dir = flags["session-dir"];
  // The token is read here, never from a flag (flags show in `ps`).
  auto auth = comet::rpc::LoadClusterAuth();
  if (!auth.ok()) return Fail(2, std::string(auth.status().message()));
  options.auth = *std::move(auth);
  if (!options.auth.token_required()) {
    std::fprintf(stderr,
                 "gcs_server: WARNING: cluster auth is disabled (COMET_AUTH_MODE=disabled): "
                 "any local process can control this cluster\n");
  }
  options.health_check.period =
      absl::Milliseconds(config->health_check_period_ms());
  options.health_check.timeout = options.health_check.period;
  options.health_check.failure_threshold =
      config->health_check_failure_threshold();
  if (config->health_check_period_ms() <= 0 ||
      config->health_check_failure_threshold() <= 0) {
    return Fail(2,
                "health_check_period_ms and health_check_failure_threshold "
                "must be positive");
  }

  std::string log_dir = flags["log-dir"];
  if (log_dir.empty() && !options.session_dir.empty()) {
    log_dir = options.session_dir + "/logs";
  }
  absl::Status logging =
      comet::InitLogging("gcs_server", log_dir, config->log_level());
  if (!logging.ok()) return Fail(2, std::string(logging.message()));

  // Blocked before any thread starts, so every thread inherits the mask and
  // only sigwait() below sees these signals.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const char* redis_password = std::getenv("COMET_REDIS_PASSWORD");
  auto store = comet::gcs::OpenStore(*storage, redis_password == nullptr ? "" : redis_password);
  if (!store.ok()) {
    COMET_LOG(ERROR) << "gcs_server cannot open its storage: " << store.status();
    return Fail(1, std::string(store.status().message()));
  }
  comet::gcs::GcsServer server(options, *std::move(store));
  absl::Status started = server.Start();
  if (!started.ok()) {
    COMET_LOG(ERROR) << "gcs_server failed to start: " << started;
    return Fail(1, std::string(started.message()));
  }
  COMET_LOG(INFO) << "health checks every " << config->health_check_period_ms()
                  << " ms; a node is dead "
                  << "after " << config->health_check_failure_threshold()
                  << " consecutive failures";
  std::printf("gcs_server ready on %s\n", server.address().c_str());
  std::fflush(stdout);

  int received = 0;
  sigwait(&signals, &received);
  COMET_LOG(INFO) << "gcs_server stopping on signal " << received;
  server.Stop();
  comet::ShutdownLogging();
  return 0;
}
