// UserMetrics: the application metrics (comet.util.metrics Counter, Gauge,
// Histogram) that this node's workers and drivers report, kept as each
// process's newest report and rendered into the node's /metrics.
//
// A report replaces that process's previous one (it carries the process's
// whole state). Forget() drops a process that exited; Expire() drops those
// that have not reported for `ttl` (a driver that went away). Rendering
// groups one name's samples from every process under one HELP/TYPE and adds
// node_id and worker_id labels, processes in the order of their first report;
// a family whose type differs from the first reporter's of that name is left
// out, so the output stays valid.
//
// Report() checks what a client sent (names, types, bucket counts) and
// refuses a bad report whole with InvalidArgument.
//
// Thread model: not thread-safe; the raylet uses it on its io thread.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "proto/node_manager.pb.h"
#include "src/comet/common/id.h"
#include "src/comet/common/metrics.h"

namespace comet::raylet {

class UserMetrics {
 public:
  explicit UserMetrics(absl::Duration ttl = absl::Seconds(30)) : ttl_(ttl) {}

  absl::Status Report(const rpc::ReportMetricsRequest& request, absl::Time now);
  void Forget(const WorkerID& worker_id);
  void Expire(absl::Time now);

  // The families, in name order; nothing when no process reported.
  void Append(MetricsText* text, const MetricsText::Labels& node) const;
  size_t num_reporters() const { return reporters_.size(); }

 private:
  struct Reporter {
    std::vector<rpc::UserMetricFamily> families;
    absl::Time at;
    uint64_t first_report = 0;  // order of its first report among all
  };

  const absl::Duration ttl_;
  std::map<WorkerID, Reporter> reporters_;
  uint64_t reports_ = 0;
};

}  // namespace comet::raylet
