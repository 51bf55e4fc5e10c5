// TaskEventBuffer: this process's task state changes (submitted, started,
// finished, failed), batched and sent to the GCS every `flush_period` from a
// thread of its own — the task path only appends under a mutex. When the GCS
// is slow or gone (restarting), a batch that did not get through is kept for
// the next flush; at most `max_buffered` events wait, older ones are dropped
// and the count is reported with the next batch. Each batch also carries the
// calls this process's server refused for their token since the last batch
// the GCS accepted (the GCS exports the cluster's total).
//
// Ownership: owns its flush thread; the GCS client must outlive it. Each
// flush makes one attempt (a flush never blocks Stop for a GCS restart).
// Thread-safe;
// Stop() (also the destructor) sends what is left, with a short deadline.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/time/time.h"
#include "proto/gcs_service.grpc.pb.h"
#include "src/comet/gcs_client/gcs_rpc_client.h"
#include "src/comet/rpc/grpc_auth.h"

namespace comet::core {

class TaskEventBuffer {
 public:
  TaskEventBuffer(gcs_client::GcsRpcClient* gcs, absl::Duration flush_period,
                  size_t max_buffered, std::shared_ptr<const rpc::AuthStats> auth_stats);
  ~TaskEventBuffer();

  void Record(rpc::TaskEvent event);
  void Stop();

 private:
  void Run();
  void Flush(absl::Duration deadline);

  gcs_client::GcsRpcClient* const gcs_;
  const absl::Duration flush_period_;
  const size_t max_buffered_;
  const std::shared_ptr<const rpc::AuthStats> auth_stats_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<rpc::TaskEvent> events_;
  int64_t dropped_ = 0;
  int64_t refused_reported_ = 0;  // auth_stats_->refused the GCS has
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace comet::core
