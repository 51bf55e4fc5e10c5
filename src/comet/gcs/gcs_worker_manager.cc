#include "src/comet/gcs/gcs_worker_manager.h"

#include "absl/time/clock.h"
#include "src/comet/common/logging.h"
#include "src/comet/common/status_macros.h"

namespace comet::gcs {
namespace {

absl::StatusOr<WorkerFailure> ParseFailure(
    const rpc::ReportWorkerFailureRequest& request) {
  WorkerFailure failure;
  ASSIGN_OR_RETURN(failure.worker_id,
                   WorkerID::FromBinary(request.worker_id()));
  failure.node_id = NodeID::FromBinary(request.node_id()).value_or(NodeID());
  failure.exit_detail = request.exit_detail();
  failure.intentional = request.intentional();
  if (!request.driver_job_id().empty()) {
    ASSIGN_OR_RETURN(failure.driver_job_id,
                     JobID::FromBinary(request.driver_job_id()));
  }
  return failure;
}

}  // namespace

GcsWorkerManager::GcsWorkerManager(GcsWorkerManagerOptions options, StoreClient* store)
    : max_dead_workers_(options.max_dead_workers),
      store_(store),
      latest_sequence_(options.first_sequence != 0
                           ? options.first_sequence
                           : absl::ToUnixMicros(absl::Now())) {}

absl::Status GcsWorkerManager::Initialize() {
  if (store_ == nullptr) return absl::OkStatus();
  ASSIGN_OR_RETURN(auto stored, store_->GetAll(kDeadWorkerTable));
  // Consecutive numbers, oldest first; a gap (a failed write) ends the
  // usable run there, as the list's numbering needs no holes.
  std::deque<rpc::ReportWorkerFailureRequest> loaded;
  int64_t last = 0;
  std::vector<std::string> unusable;
  for (const auto& [key, value] : stored) {
    std::optional<uint64_t> parsed = ParseNumberKey(key);
    rpc::ReportWorkerFailureRequest report;
    if (!parsed.has_value() || !report.ParseFromString(value)) {
      unusable.push_back(key);
      continue;
    }
    int64_t number = static_cast<int64_t>(*parsed);
    if (!loaded.empty() && number != last + 1) loaded.clear();
    loaded.push_back(std::move(report));
    last = number;
  }
  if (!loaded.empty()) {
    dead_ = std::move(loaded);
    latest_sequence_ = last;
    while (dead_.size() > max_dead_workers_) dead_.pop_front();
  }
  for (const std::string& key : unusable) RETURN_IF_ERROR(store_->Delete(kDeadWorkerTable, key).status());
  return absl::OkStatus();
}

absl::Status GcsWorkerManager::ReportWorkerFailure(
    const rpc::ReportWorkerFailureRequest& request) {
  ASSIGN_OR_RETURN(WorkerFailure failure, ParseFailure(request));
  if (failure.is_driver()) {
    COMET_LOG(INFO) << "the driver of job " << failure.driver_job_id
                    << " (worker " << failure.worker_id << ", pid "
                    << request.pid() << ") went away: " << failure.exit_detail;
  }
  Remember(request);
  for (const DeadListener& listener : listeners_) listener(failure);
  return absl::OkStatus();
}

void GcsWorkerManager::Remember(const rpc::ReportWorkerFailureRequest& report) {
  if (max_dead_workers_ == 0) return;
  ++latest_sequence_;
  dead_.push_back(report);
  bool evicted = dead_.size() > max_dead_workers_;
  if (evicted) dead_.pop_front();
  if (store_ == nullptr) return;
  std::vector<std::string> deletes;
  if (evicted) deletes.push_back(NumberKey(latest_sequence_ - static_cast<int64_t>(dead_.size())));
  absl::Status status = store_->WriteBatch(
      kDeadWorkerTable, {{NumberKey(latest_sequence_), report.SerializeAsString()}}, deletes);
  if (!status.ok()) {
    COMET_LOG(ERROR) << "cannot store the death of the worker with pid " << report.pid()
                     << ": " << status;
  }
}

void GcsWorkerManager::FillDeadWorkers(
    int64_t after, rpc::ReportResourceUsageReply* reply) const {
  reply->set_dead_workers_sequence(latest_sequence_);
  int64_t before_oldest =
      latest_sequence_ - static_cast<int64_t>(dead_.size());
  // From before the list (or before a restart, or from a later GCS): all.
  size_t first = 0;
  if (after >= before_oldest && after <= latest_sequence_) {
    first = static_cast<size_t>(after - before_oldest);
  }
  for (size_t i = first; i < dead_.size(); ++i) {
    reply->add_dead_workers(dead_[i].worker_id());
  }
}

}  // namespace comet::gcs
