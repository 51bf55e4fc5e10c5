#include "src/comet/gcs/gcs_job_manager.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "src/comet/common/logging.h"
#include "src/comet/common/status_macros.h"

namespace comet::gcs {

absl::Status GcsJobManager::Initialize() {
  ASSIGN_OR_RETURN(auto rows, store_->GetAll(kJobTable));
  for (const auto& [key, value] : rows) {
    rpc::JobInfo job;
    absl::StatusOr<JobID> id = JobID::FromBinary(key);
    if (!id.ok() || !job.ParseFromString(value)) {
      COMET_LOG(WARNING) << "skipping a malformed job record in the store";
      continue;
    }
    jobs_[id->ToInt()] = std::move(job);
    last_job_id_ = std::max(last_job_id_, id->ToInt());
  }
  ASSIGN_OR_RETURN(auto counter, store_->Get(kCounterTable, kCounterKey));
  uint32_t stored = 0;
  if (counter.has_value() && absl::SimpleAtoi(*counter, &stored)) {
    last_job_id_ = std::max(last_job_id_, stored);
  }
  return absl::OkStatus();
}

absl::StatusOr<JobID> GcsJobManager::NextJobId() {
  // JobID::Nil() is 0xffffffff, so the largest usable id is one below.
  if (last_job_id_ >= std::numeric_limits<uint32_t>::max() - 1) {
    return absl::ResourceExhaustedError("every job id has been used");
  }
  uint32_t next = last_job_id_ + 1;
  RETURN_IF_ERROR(store_
                      ->Put(kCounterTable, kCounterKey, absl::StrCat(next),
                            /*overwrite=*/true)
                      .status());
  last_job_id_ = next;
  return JobID::FromInt(next);
}

absl::Status GcsJobManager::AddJob(rpc::JobInfo job) {
  ASSIGN_OR_RETURN(JobID id, JobID::FromBinary(job.job_id()));
  if (id.IsNil()) return absl::InvalidArgumentError("job id is nil");
  auto it = jobs_.find(id.ToInt());
  if (it != jobs_.end() && it->second.is_dead()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "job ", id.Hex(), " has finished; job ids are not reused"));
  }
  job.set_is_dead(false);
  job.set_end_time_ms(0);
  if (job.start_time_ms() == 0) {
    job.set_start_time_ms(absl::ToUnixMillis(absl::Now()));
  }
  RETURN_IF_ERROR(SaveAndPublish(job));
  last_job_id_ = std::max(last_job_id_, id.ToInt());
  COMET_LOG(INFO) << "job " << id << " added (driver pid " << job.driver_pid()
                  << ")";
  jobs_[id.ToInt()] = std::move(job);
  return absl::OkStatus();
}

absl::Status GcsJobManager::MarkJobFinished(const JobID& job_id) {
  auto it = jobs_.find(job_id.ToInt());
  if (job_id.IsNil() || it == jobs_.end()) {
    return absl::NotFoundError(absl::StrCat("unknown job ", job_id.Hex()));
  }
  return Finish(job_id, it->second);
}

absl::Status GcsJobManager::Finish(const JobID& job_id, rpc::JobInfo& job) {
  if (job.is_dead()) return absl::OkStatus();
  rpc::JobInfo finished = job;
  finished.set_is_dead(true);
  finished.set_end_time_ms(absl::ToUnixMillis(absl::Now()));
  RETURN_IF_ERROR(SaveAndPublish(finished));
  job = std::move(finished);
  COMET_LOG(INFO) << "job " << job_id << " finished";
  for (const FinishedListener& listener : finished_listeners_) {
    listener(job_id);
  }
  return absl::OkStatus();
}

void GcsJobManager::OnNodeDead(const NodeID& node_id) {
  std::string node = node_id.Binary();
  for (auto& [id, job] : jobs_) {
    if (job.is_dead() || job.driver_address().node_id() != node) continue;
    absl::Status status = Finish(JobID::FromInt(id), job);
    if (!status.ok()) {
      COMET_LOG(ERROR) << "cannot finish job " << JobID::FromInt(id)
                       << " of dead node " << node_id << ": " << status;
    }
  }
}

std::vector<rpc::JobInfo> GcsJobManager::GetAllJobs() const {
  std::vector<rpc::JobInfo> all;
  all.reserve(jobs_.size());
  for (const auto& [id, job] : jobs_) all.push_back(job);
  return all;
}

absl::Status GcsJobManager::SaveAndPublish(const rpc::JobInfo& job) {
  RETURN_IF_ERROR(store_
                      ->Put(kJobTable, job.job_id(), job.SerializeAsString(),
                            /*overwrite=*/true)
                      .status());
  rpc::PubMessage message;
  message.set_channel(rpc::JOB_INFO_CHANNEL);
  message.set_key(job.job_id());
  *message.mutable_job_info() = job;
  publisher_->Publish(std::move(message));
  return absl::OkStatus();
}

}  // namespace comet::gcs
