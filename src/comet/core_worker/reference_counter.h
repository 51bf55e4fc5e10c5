// ReferenceCounter: which objects this process still references, and which of
// them it owns.
//
// Counts per object: Python ObjectRef instances alive in this process (local),
// and pending tasks that take the object as an argument (submitted). When both
// reach zero the entry goes; for owned objects the on-free callback then frees
// the value (memory store and plasma). An owned object whose reference was
// serialized into another value or task escaped: without borrower tracking it
// is kept for the life of this process. Thread-safe; the callback runs outside
// the lock.
#pragma once

#include <functional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "proto/common.pb.h"
#include "src/comet/common/id.h"

namespace comet::core {

class ReferenceCounter {
 public:
  using FreeCallback = std::function<void(const ObjectID& id, bool owned)>;

  explicit ReferenceCounter(FreeCallback on_free) : on_free_(std::move(on_free)) {}

  // Registers an object this process owns (a put or a task return).
  void AddOwnedObject(const ObjectID& id);
  // Records the owner of an object this process borrows.
  void AddBorrowedObject(const ObjectID& id, const rpc::Address& owner);

  void AddLocalReference(const ObjectID& id);
  void RemoveLocalReference(const ObjectID& id);
  void AddSubmittedTaskReferences(const std::vector<ObjectID>& ids);
  void RemoveSubmittedTaskReferences(const std::vector<ObjectID>& ids);

  // The reference left this process inside a value: never free it here.
  void MarkEscaped(const ObjectID& id);

  bool IsOwned(const ObjectID& id) const;
  // Whether anything here still references the object.
  bool InScope(const ObjectID& id) const;
  size_t NumTracked() const;

  struct Entry {
    bool owned = false;
    bool escaped = false;
    int64_t local = 0;
    int64_t submitted = 0;
  };
  // Every tracked reference (for introspection: `comet memory`).
  std::vector<std::pair<ObjectID, Entry>> Snapshot() const;

 private:

  // Drops the entry if nothing references it; returns whether it did.
  bool MaybeRelease(const ObjectID& id, Entry& entry, bool* owned)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  FreeCallback on_free_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<ObjectID, Entry> refs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace comet::core
