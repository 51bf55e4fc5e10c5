// GcsTaskManager: the cluster's recent tasks, for the state API, the
// dashboard and metrics. Reporters send TaskEvents (state changes carrying
// what they know); each is merged into the row of its task attempt: a state
// only moves forward (PENDING < RUNNING < FINISHED/FAILED), and fields are
// filled as they arrive. At most `max_rows` rows are kept; the oldest go
// first and are counted as dropped. In memory only: task history does not
// survive a GCS restart.
//
// Thread model: confined to the GCS thread.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "proto/gcs_service.pb.h"

namespace comet::gcs {

class GcsTaskManager {
 public:
  explicit GcsTaskManager(size_t max_rows = 100000) : max_rows_(max_rows) {}

  void AddEvents(const rpc::AddTaskEventDataRequest& request);

  // The newest rows first, of one job when `job_id` is set, at most `limit`
  // (<= 0: all).
  std::vector<rpc::TaskRow> GetRows(const std::string& job_id, int64_t limit) const;

  // How many rows (of one job when `job_id` is set) are in each state, by
  // the state's name.
  std::map<std::string, int64_t> CountByState(const std::string& job_id) const;

  int64_t num_dropped() const { return num_dropped_; }
  size_t num_rows() const { return rows_.size(); }

 private:
  void Merge(const rpc::TaskEvent& event);

  const size_t max_rows_;
  // Key: task id + attempt.
  absl::flat_hash_map<std::string, rpc::TaskRow> rows_;
  std::deque<std::string> order_;  // Oldest first.
  int64_t num_dropped_ = 0;
};

}  // namespace comet::gcs
