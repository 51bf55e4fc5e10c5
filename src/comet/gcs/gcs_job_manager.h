// GcsJobManager: the job table. Hands out job ids (JobID::FromInt(1), 2, ...
// never reused, the counter is stored so a persistent backend keeps it
// across GCS restarts), records drivers' jobs, and publishes every change on
// JOB_INFO_CHANNEL (key = job id, payload = the JobInfo).
//
// Ownership: does not own the StoreClient or the GcsPublisher; both must
// outlive it.
// Thread model: thread-confined to the GCS thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/common.pb.h"
#include "src/comet/common/id.h"
#include "src/comet/gcs/gcs_publisher_interface.h"
#include "src/comet/gcs/store_client.h"

namespace comet::gcs {

class GcsJobManager {
 public:
  static constexpr absl::string_view kJobTable = "JOB";
  static constexpr absl::string_view kCounterTable = "JOB_COUNTER";
  static constexpr absl::string_view kCounterKey = "last_job_id";

  // Called (on the GCS thread) after a job is marked finished.
  using FinishedListener = std::function<void(const JobID& job_id)>;

  GcsJobManager(StoreClient* store, GcsPublisher* publisher)
      : store_(store), publisher_(publisher) {}

  void AddJobFinishedListener(FinishedListener listener) {
    finished_listeners_.push_back(std::move(listener));
  }

  // Loads the job table and the id counter from the store. Call once, first.
  absl::Status Initialize();

  // The next unused job id.
  absl::StatusOr<JobID> NextJobId();

  // Records a running job (is_dead cleared, start_time_ms filled if unset)
  // and publishes it. Re-adding a running job replaces its record; a
  // finished job's id cannot be reused (FailedPrecondition).
  absl::Status AddJob(rpc::JobInfo job);

  // Marks the job finished (end_time_ms = now) and publishes it. NotFound
  // for an unknown job; a no-op for one already finished.
  absl::Status MarkJobFinished(const JobID& job_id);

  // Finishes every running job whose driver ran on `node_id`.
  void OnNodeDead(const NodeID& node_id);

  // Every job, running and finished, by ascending id.
  std::vector<rpc::JobInfo> GetAllJobs() const;

 private:
  absl::Status Finish(const JobID& job_id, rpc::JobInfo& job);
  // Writes `job` to the store and publishes it.
  absl::Status SaveAndPublish(const rpc::JobInfo& job);

  StoreClient* store_;
  GcsPublisher* publisher_;
  uint32_t last_job_id_ = 0;
  std::map<uint32_t, rpc::JobInfo> jobs_;
  std::vector<FinishedListener> finished_listeners_;
};

}  // namespace comet::gcs
