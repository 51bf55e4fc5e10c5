#include "src/comet/core_worker/memory_store.h"

#include <utility>

namespace comet::core {

void MemoryStore::Put(const ObjectID& id, ObjectPtr object) {
  std::vector<std::function<void(ObjectPtr)>> callbacks;
  {
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = objects_.emplace(id, object);
    if (!inserted) return;
    auto node = callbacks_.extract(id);
    if (!node.empty()) callbacks = std::move(node.mapped());
  }
  for (auto& callback : callbacks) callback(object);
}

ObjectPtr MemoryStore::Get(const ObjectID& id) const {
  absl::MutexLock lock(&mu_);
  auto it = objects_.find(id);
  return it == objects_.end() ? nullptr : it->second;
}

void MemoryStore::GetAsync(const ObjectID& id, std::function<void(ObjectPtr)> callback) {
  ObjectPtr found;
  {
    absl::MutexLock lock(&mu_);
    auto it = objects_.find(id);
    if (it == objects_.end()) {
      callbacks_[id].push_back(std::move(callback));
      return;
    }
    found = it->second;
  }
  callback(found);
}

std::vector<ObjectPtr> MemoryStore::Wait(const std::vector<ObjectID>& ids, size_t num_required,
                                         absl::Time deadline) const {
  auto count_ready = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    size_t n = 0;
    for (const ObjectID& id : ids) n += objects_.contains(id) ? 1 : 0;
    return n >= num_required;
  };
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithDeadline(absl::Condition(&count_ready), deadline);
  std::vector<ObjectPtr> out;
  out.reserve(ids.size());
  for (const ObjectID& id : ids) {
    auto it = objects_.find(id);
    out.push_back(it == objects_.end() ? nullptr : it->second);
  }
  return out;
}

void MemoryStore::Delete(const ObjectID& id) {
  absl::MutexLock lock(&mu_);
  objects_.erase(id);
}

bool MemoryStore::Contains(const ObjectID& id) const {
  absl::MutexLock lock(&mu_);
  return objects_.contains(id);
}

size_t MemoryStore::Size() const {
  absl::MutexLock lock(&mu_);
  return objects_.size();
}

}  // namespace comet::core
