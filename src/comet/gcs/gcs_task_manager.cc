#include "src/comet/gcs/gcs_task_manager.h"

#include <algorithm>

#include "src/comet/common/status_macros.h"

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

std::string RowKey(const rpc::TaskRow& row) {
  return row.task_id() + std::to_string(row.attempt());
}

constexpr absl::string_view kDroppedKey = "num_dropped";

}  // namespace

absl::Status GcsTaskManager::Initialize() {
  if (store_ == nullptr) return absl::OkStatus();
  ASSIGN_OR_RETURN(auto stored, store_->GetAll(kTaskTable));
  for (const auto& [store_key, value] : stored) {  // ascending: oldest first
    Entry entry;
    std::optional<uint64_t> number = ParseNumberKey(store_key);
    if (!number.has_value() || !entry.row.ParseFromString(value)) {
      evicted_.push_back(store_key);  // unreadable: removed at the next flush
      continue;
    }
    entry.number = *number;
    next_number_ = std::max(next_number_, entry.number + 1);
    std::string key = RowKey(entry.row);
    if (rows_.contains(key)) {
      evicted_.push_back(store_key);
      continue;
    }
    Insert(key, std::move(entry));
  }
  ASSIGN_OR_RETURN(auto dropped, store_->Get(kCounterTable, kDroppedKey));
  int64_t stored_dropped = 0;
  if (dropped.has_value() && absl::SimpleAtoi(*dropped, &stored_dropped)) {
    num_dropped_ += stored_dropped;
  }
  return absl::OkStatus();
}

void GcsTaskManager::AddEvents(const rpc::AddTaskEventDataRequest& request) {
  if (request.num_dropped() != 0) {
    num_dropped_ += request.num_dropped();
    dropped_dirty_ = true;
  }
  for (const rpc::TaskEvent& event : request.events()) Merge(event);
}

bool GcsTaskManager::Insert(const std::string& key, Entry entry) {
  rows_.emplace(key, std::move(entry));
  order_.push_back(key);
  while (rows_.size() > max_rows_ && !order_.empty()) {
    auto oldest = rows_.find(order_.front());
    if (store_ != nullptr) {
      evicted_.push_back(NumberKey(oldest->second.number));
      dirty_.erase(oldest->first);
    }
    rows_.erase(oldest);
    order_.pop_front();
    ++num_dropped_;
    dropped_dirty_ = true;
  }
  return rows_.contains(key);
}

void GcsTaskManager::MarkDirty(const std::string& key) {
  if (store_ != nullptr) dirty_.insert(key);
}

absl::Status GcsTaskManager::Flush() {
  if (store_ == nullptr || (dirty_.empty() && evicted_.empty() && !dropped_dirty_)) {
    return absl::OkStatus();
  }
  std::vector<std::pair<std::string, std::string>> puts;
  puts.reserve(dirty_.size());
  for (const std::string& key : dirty_) {
    const Entry& entry = rows_.at(key);
    puts.emplace_back(NumberKey(entry.number), entry.row.SerializeAsString());
  }
  RETURN_IF_ERROR(store_->WriteBatch(kTaskTable, puts, evicted_));
  dirty_.clear();
  evicted_.clear();
  if (dropped_dirty_) {
    RETURN_IF_ERROR(
        store_->Put(kCounterTable, kDroppedKey, std::to_string(num_dropped_), true).status());
    dropped_dirty_ = false;
  }
  return absl::OkStatus();
}

void GcsTaskManager::Merge(const rpc::TaskEvent& event) {
  const rpc::TaskRow& in = event.row();
  if (in.task_id().empty()) return;
  std::string key = RowKey(in);
  auto it = rows_.find(key);
  if (it == rows_.end()) {
    Entry entry;
    entry.row.set_task_id(in.task_id());
    entry.row.set_attempt(in.attempt());
    entry.row.set_state(in.state());
    entry.number = next_number_++;
    if (!Insert(key, std::move(entry))) return;
    it = rows_.find(key);
  }
  MarkDirty(key);
  rpc::TaskRow& row = it->second.row;
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
    const rpc::TaskRow& row = rows_.at(*it).row;
    if (!job_id.empty() && row.job_id() != job_id) continue;
    out.push_back(row);
  }
  return out;
}

std::map<std::string, int64_t> GcsTaskManager::CountByState(const std::string& job_id) const {
  std::map<std::string, int64_t> counts;
  for (const auto& [key, entry] : rows_) {
    const rpc::TaskRow& row = entry.row;
    if (!job_id.empty() && row.job_id() != job_id) continue;
    counts[rpc::TaskRow::State_Name(row.state())]++;
  }
  return counts;
}

}  // namespace comet::gcs
