// GcsTaskManager: the cluster's recent tasks, for the state API, the
// dashboard and metrics. Reporters send TaskEvents (state changes carrying
// what they know); each is merged into the row of its task attempt: a state
// only moves forward (PENDING < RUNNING < FINISHED/FAILED), and fields are
// filled as they arrive. At most `max_rows` rows are kept; the oldest go
// first and are counted as dropped.
//
// With a store, the rows and the dropped count are written behind: Flush()
// (the GCS calls it every second and when it stops) writes the rows changed
// since the last flush and removes the evicted ones in one WriteBatch, so the
// task path costs nothing extra; Initialize() loads them into a new GCS. A
// GCS killed outright loses at most the changes since its last flush. Rows
// are stored under their arrival number (16 hex digits), so loading keeps
// their order.
//
// Thread model: confined to the GCS thread.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "proto/gcs_service.pb.h"
#include "src/comet/gcs/store_client.h"

namespace comet::gcs {

class GcsTaskManager {
 public:
  static constexpr absl::string_view kTaskTable = "TASK";
  static constexpr absl::string_view kCounterTable = "TASK_COUNTER";

  // With `store` null, rows live in memory only.
  explicit GcsTaskManager(size_t max_rows = 100000, StoreClient* store = nullptr)
      : max_rows_(max_rows), store_(store) {}

  // Loads what an earlier GCS flushed to the store (the newest `max_rows`).
  absl::Status Initialize();

  void AddEvents(const rpc::AddTaskEventDataRequest& request);

  // Writes the changes since the last flush to the store (no-op without
  // one). On failure they stay pending for the next flush.
  absl::Status Flush();

  // The newest rows first, of one job when `job_id` is set, at most `limit`
  // (<= 0: all).
  std::vector<rpc::TaskRow> GetRows(const std::string& job_id, int64_t limit) const;

  // How many rows (of one job when `job_id` is set) are in each state, by
  // the state's name.
  std::map<std::string, int64_t> CountByState(const std::string& job_id) const;

  int64_t num_dropped() const { return num_dropped_; }
  size_t num_rows() const { return rows_.size(); }
  size_t max_rows() const { return max_rows_; }

 private:
  struct Entry {
    rpc::TaskRow row;
    uint64_t number = 0;  // arrival order; the row's key in the store
  };

  void Merge(const rpc::TaskEvent& event);
  // Inserts a new row and evicts the oldest beyond max_rows_; false when the
  // new row itself had to go (max_rows_ == 0).
  bool Insert(const std::string& key, Entry entry);
  void MarkDirty(const std::string& key);

  const size_t max_rows_;
  StoreClient* const store_;
  // Key: task id + attempt.
  absl::flat_hash_map<std::string, Entry> rows_;
  std::deque<std::string> order_;  // Oldest first.
  int64_t num_dropped_ = 0;
  uint64_t next_number_ = 0;
  // Not yet flushed: rows changed (by key) and store keys of evicted rows.
  absl::flat_hash_set<std::string> dirty_;
  std::vector<std::string> evicted_;
  bool dropped_dirty_ = false;
};

}  // namespace comet::gcs
