// The supervising gcs_server (`gcs_server --supervise ...`, what
// `comet start --head` runs): starts the real GCS as its child with the
// other flags, passes its one ready line on, and when the child dies
// (kill -9, a crash) starts it again on the same port, per RestartPolicy.
// The restarted GCS reloads its tables from --storage; raylets and drivers
// reconnect to it. SIGTERM/SIGINT to the supervisor stop the child and then
// the supervisor.
//
// Thread model: one thread, no gRPC: it only forks, execs, reads a pipe
// and waits.
#pragma once

#include <string>
#include <vector>

namespace comet::gcs {

// Runs until stopped; returns the process's exit status. `args` are the
// child's flags (without --supervise); a --port=0 (or none) becomes the
// port the first child bound, for every restart.
int RunSupervised(const std::vector<std::string>& args);

}  // namespace comet::gcs
