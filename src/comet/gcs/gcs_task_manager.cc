#include "src/comet/gcs/gcs_task_manager.h"

#include <algorithm>

namespace comet::gcs {
namespace {

int Rank(rpc::TaskRow::State state) {
  switch (state) {
    case rpc::TaskRow::PENDING:
      return 0;
    case rpc::TaskRow::RUNNING:
      return 1;
    default:
      return 2;  // FINISHED and FAILED are final.
  }
}

void SetIfEmpty(std::string* field, const std::string& value) {
  if (field->empty() && !value.empty()) *field = value;
}

}  // namespace

void GcsTaskManager::AddEvents(const rpc::AddTaskEventDataRequest& request) {
  num_dropped_ += request.num_dropped();
  for (const rpc::TaskEvent& event : request.events()) Merge(event);
}

void GcsTaskManager::Merge(const rpc::TaskEvent& event) {
  const rpc::TaskRow& in = event.row();
  if (in.task_id().empty()) return;
  std::string key = in.task_id() + std::to_string(in.attempt());
  auto [it, inserted] = rows_.try_emplace(key);
  rpc::TaskRow& row = it->second;
  if (inserted) {
    row.set_task_id(in.task_id());
    row.set_attempt(in.attempt());
    row.set_state(in.state());
    order_.push_back(key);
    while (rows_.size() > max_rows_ && !order_.empty()) {
      rows_.erase(order_.front());
      order_.pop_front();
      ++num_dropped_;
    }
    if (!rows_.contains(key)) return;
  }
  SetIfEmpty(row.mutable_job_id(), in.job_id());
  SetIfEmpty(row.mutable_name(), in.name());
  SetIfEmpty(row.mutable_func_name(), in.func_name());
  SetIfEmpty(row.mutable_actor_id(), in.actor_id());
  SetIfEmpty(row.mutable_parent_task_id(), in.parent_task_id());
  if (!in.node_id().empty()) row.set_node_id(in.node_id());
  if (!in.worker_id().empty()) row.set_worker_id(in.worker_id());
  if (in.worker_pid() != 0) row.set_worker_pid(in.worker_pid());
  if (in.type() != rpc::NORMAL_TASK) row.set_type(in.type());
  switch (in.state()) {
    case rpc::TaskRow::PENDING:
      if (row.creation_time_ms() == 0) row.set_creation_time_ms(event.time_ms());
      break;
    case rpc::TaskRow::RUNNING:
      row.set_start_time_ms(event.time_ms());
      break;
    default:
      if (row.end_time_ms() == 0 || Rank(row.state()) < 2) row.set_end_time_ms(event.time_ms());
      if (row.error().empty()) row.set_error(in.error());
      break;
  }
  // States move forward; between the two final ones, FAILED (the owner's
  // verdict, e.g. after the worker died) wins over FINISHED.
  if (Rank(in.state()) > Rank(row.state()) ||
      (in.state() == rpc::TaskRow::FAILED && row.state() == rpc::TaskRow::FINISHED)) {
    row.set_state(in.state());
  }
}

std::vector<rpc::TaskRow> GcsTaskManager::GetRows(const std::string& job_id,
                                                  int64_t limit) const {
  std::vector<rpc::TaskRow> out;
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
    if (limit > 0 && static_cast<int64_t>(out.size()) >= limit) break;
    const rpc::TaskRow& row = rows_.at(*it);
    if (!job_id.empty() && row.job_id() != job_id) continue;
    out.push_back(row);
  }
  return out;
}

std::map<std::string, int64_t> GcsTaskManager::CountByState(const std::string& job_id) const {
  std::map<std::string, int64_t> counts;
  for (const auto& [key, row] : rows_) {
    if (!job_id.empty() && row.job_id() != job_id) continue;
    counts[rpc::TaskRow::State_Name(row.state())]++;
  }
  return counts;
}

}  // namespace comet::gcs
