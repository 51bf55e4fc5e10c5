// MemoryStore: the core worker's in-process store of object values.
//
// Holds inline values and "in plasma" markers by ObjectID, wakes blocked
// readers and runs async callbacks when a value arrives. Thread-safe: every
// field is guarded by mu_; callbacks run on the thread that called Put, after
// the lock is released.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "src/comet/common/id.h"
#include "src/comet/core_worker/ray_object.h"

namespace comet::core {

using ObjectPtr = std::shared_ptr<const RayObject>;

class MemoryStore {
 public:
  // Stores a value; a second Put of the same id keeps the first.
  void Put(const ObjectID& id, ObjectPtr object);

  // The value, or nullptr.
  ObjectPtr Get(const ObjectID& id) const;

  // Runs `callback` with the value now, or when it is Put.
  void GetAsync(const ObjectID& id, std::function<void(ObjectPtr)> callback);

  // Blocks until at least `num_required` of `ids` are present or `deadline`
  // passes; returns the values found (nullptr for absent ones).
  std::vector<ObjectPtr> Wait(const std::vector<ObjectID>& ids, size_t num_required,
                              absl::Time deadline) const;

  void Delete(const ObjectID& id);
  bool Contains(const ObjectID& id) const;
  size_t Size() const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<ObjectID, ObjectPtr> objects_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<ObjectID, std::vector<std::function<void(ObjectPtr)>>> callbacks_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace comet::core
