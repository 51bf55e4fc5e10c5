#include "src/comet/core_worker/memory_store.h"

#include <algorithm>
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

namespace {

// What a Wait has found so far. absl evaluates the wait condition each time
// another thread releases the mutex, so it must not rescan every id: ids
// found ready are dropped from `pending` (objects are never removed while a
// reader waits for them), and a wait for all of them stops at the first one
// still missing (results mostly arrive in the order they were asked for).
struct WaitProgress {
  const absl::flat_hash_map<ObjectID, ObjectPtr>* objects;
  const std::vector<ObjectID>* ids;
  std::vector<size_t> pending;  // indexes into ids, not yet seen ready, in order
  size_t found = 0;
  size_t required = 0;

  static bool Done(WaitProgress* p) {
    if (p->required == p->ids->size()) {  // all of them: advance past the ready front
      size_t next = 0;
      while (next < p->pending.size() && p->objects->contains((*p->ids)[p->pending[next]])) {
        ++next;
      }
      p->found += next;
      p->pending.erase(p->pending.begin(), p->pending.begin() + next);
      return p->pending.empty();
    }
    size_t kept = 0;
    for (size_t index : p->pending) {
      if (p->objects->contains((*p->ids)[index])) {
        ++p->found;
      } else {
        p->pending[kept++] = index;
      }
    }
    p->pending.resize(kept);
    return p->found >= p->required;
  }
};

}  // namespace

std::vector<ObjectPtr> MemoryStore::Wait(const std::vector<ObjectID>& ids, size_t num_required,
                                         absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  WaitProgress progress{&objects_, &ids, {}, 0, std::min(num_required, ids.size())};
  progress.pending.resize(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) progress.pending[i] = i;
  mu_.AwaitWithDeadline(absl::Condition(&WaitProgress::Done, &progress), deadline);
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
