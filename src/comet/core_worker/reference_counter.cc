#include "src/comet/core_worker/reference_counter.h"

namespace comet::core {

void ReferenceCounter::AddOwnedObject(const ObjectID& id) {
  absl::MutexLock lock(&mu_);
  refs_[id].owned = true;
}

void ReferenceCounter::AddBorrowedObject(const ObjectID& id, const rpc::Address&) {
  absl::MutexLock lock(&mu_);
  refs_.try_emplace(id);
}

void ReferenceCounter::AddLocalReference(const ObjectID& id) {
  absl::MutexLock lock(&mu_);
  refs_[id].local++;
}

bool ReferenceCounter::MaybeRelease(const ObjectID& id, Entry& entry, bool* owned) {
  if (entry.local > 0 || entry.submitted > 0 || entry.escaped) return false;
  *owned = entry.owned;
  refs_.erase(id);
  return true;
}

void ReferenceCounter::RemoveLocalReference(const ObjectID& id) {
  bool freed = false;
  bool owned = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = refs_.find(id);
    if (it == refs_.end() || it->second.local == 0) return;
    it->second.local--;
    freed = MaybeRelease(id, it->second, &owned);
  }
  if (freed) on_free_(id, owned);
}

void ReferenceCounter::AddSubmittedTaskReferences(const std::vector<ObjectID>& ids) {
  absl::MutexLock lock(&mu_);
  for (const ObjectID& id : ids) refs_[id].submitted++;
}

void ReferenceCounter::RemoveSubmittedTaskReferences(const std::vector<ObjectID>& ids) {
  std::vector<std::pair<ObjectID, bool>> freed;
  {
    absl::MutexLock lock(&mu_);
    for (const ObjectID& id : ids) {
      auto it = refs_.find(id);
      if (it == refs_.end() || it->second.submitted == 0) continue;
      it->second.submitted--;
      bool owned = false;
      if (MaybeRelease(id, it->second, &owned)) freed.emplace_back(id, owned);
    }
  }
  for (const auto& [id, owned] : freed) on_free_(id, owned);
}

void ReferenceCounter::MarkEscaped(const ObjectID& id) {
  absl::MutexLock lock(&mu_);
  auto it = refs_.find(id);
  if (it != refs_.end() && it->second.owned) it->second.escaped = true;
}

bool ReferenceCounter::IsOwned(const ObjectID& id) const {
  absl::MutexLock lock(&mu_);
  auto it = refs_.find(id);
  return it != refs_.end() && it->second.owned;
}

bool ReferenceCounter::InScope(const ObjectID& id) const {
  absl::MutexLock lock(&mu_);
  return refs_.contains(id);
}

size_t ReferenceCounter::NumTracked() const {
  absl::MutexLock lock(&mu_);
  return refs_.size();
}

std::vector<std::pair<ObjectID, ReferenceCounter::Entry>> ReferenceCounter::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return {refs_.begin(), refs_.end()};
}

}  // namespace comet::core
