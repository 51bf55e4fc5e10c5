// GcsWorkerManager: the worker and driver deaths that raylets report
// (ReportWorkerFailure). Tells its listeners of each one (the GCS server
// wires the job table: a dead driver's job finishes; and the actor table:
// the worker's actor fails, the actors it owned die), and keeps the most
// recent dead worker ids, numbered, so that every raylet can fetch the ones
// it has not seen yet (in the reply to its resource report) and end the
// leases they held there: a lease's requester may run on another node.
//
// The list keeps the last `max_dead_workers` deaths (the report as the
// raylet sent it), and with a store writes each one through (table
// DEAD_WORKER, keyed by its number in 16 hex digits) so that a restarted GCS
// goes on with the same list and numbers. Without stored deaths, numbers
// start at the construction time in microseconds since the epoch, so that
// they keep growing across a restart on memory storage. A raylet that asks
// with a number outside the list (from before a restart on memory storage,
// or one older than the list) gets the whole list (a raylet that fell more
// than `max_dead_workers` deaths behind may miss some; its leases then end
// only when their requester's node dies).
//
// Thread model: thread-confined to the GCS thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "proto/gcs_service.pb.h"
#include "src/comet/common/id.h"
#include "src/comet/gcs/store_client.h"

namespace comet::gcs {

struct WorkerFailure {
  WorkerID worker_id;
  NodeID node_id;  // Nil when the report did not say.
  std::string exit_detail;
  // The raylet stopped it on purpose.
  bool intentional = false;
  // The job of a driver that went away (nil for a worker).
  JobID driver_job_id;

  bool is_driver() const { return !driver_job_id.IsNil(); }
};

struct GcsWorkerManagerOptions {
  size_t max_dead_workers = 10000;
  // The number before the first dead worker's; 0: now, in microseconds
  // since the epoch.
  int64_t first_sequence = 0;
};

class GcsWorkerManager {
 public:
  using DeadListener = std::function<void(const WorkerFailure&)>;

  static constexpr absl::string_view kDeadWorkerTable = "DEAD_WORKER";

  // With `store` null, the list lives in memory only.
  explicit GcsWorkerManager(GcsWorkerManagerOptions options = {},
                            StoreClient* store = nullptr);

  // Loads the deaths an earlier GCS stored; numbering goes on from them.
  absl::Status Initialize();

  // Listeners run in the order added, for every reported death.
  void AddWorkerDeadListener(DeadListener listener) {
    listeners_.push_back(std::move(listener));
  }

  // A raylet's report: records the death and tells the listeners.
  // InvalidArgument for a malformed worker or job id.
  absl::Status ReportWorkerFailure(
      const rpc::ReportWorkerFailureRequest& request);

  // Fills the reply's dead workers numbered after `after` (oldest first)
  // and the newest number, which the raylet sends back next time.
  void FillDeadWorkers(int64_t after,
                       rpc::ReportResourceUsageReply* reply) const;

  int64_t latest_sequence() const { return latest_sequence_; }

  // The deaths kept, oldest first, as reported.
  const std::deque<rpc::ReportWorkerFailureRequest>& dead_workers() const { return dead_; }

 private:
  void Remember(const rpc::ReportWorkerFailureRequest& report);

  const size_t max_dead_workers_;
  StoreClient* const store_;
  // The newest number handed out; dead_[i] has number
  // latest_sequence_ - dead_.size() + 1 + i.
  int64_t latest_sequence_;
  std::deque<rpc::ReportWorkerFailureRequest> dead_;
  std::vector<DeadListener> listeners_;
};

}  // namespace comet::gcs
