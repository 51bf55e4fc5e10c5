// LocalDrivers: the drivers running on this node, as their core workers
// registered them (RegisterDriver), so that the raylet notices one whose
// process went away without finishing its job (kill -9, os._exit) and
// reports it to the GCS, which finishes the job. A driver that shut down
// cleanly is reported too once its process exits: finishing a finished job
// is a no-op at the GCS.
//
// No I/O: the caller says which processes are gone and how each report
// went. A gone driver stays listed until its report succeeds; after a
// failed one, TakeGone hands it out again.
//
// Thread model: confined to the NodeManager's io thread.
#pragma once

#include <functional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "src/comet/common/id.h"

namespace comet::raylet {

class LocalDrivers {
 public:
  struct Driver {
    JobID job_id;
    WorkerID worker_id;
    int pid = 0;
  };

  // Adds a driver, or replaces the one with the same worker id.
  // InvalidArgument for a nil id or a pid <= 0.
  absl::Status Register(const Driver& driver);

  // The drivers whose process `gone(pid)` says is gone (or was found gone
  // before) and whose report is not in flight; their reports are in flight
  // from now on.
  std::vector<Driver> TakeGone(const std::function<bool(int pid)>& gone);

  // A report finished: the driver is forgotten (`ok`), or handed out again
  // by the next TakeGone.
  void OnReported(const WorkerID& worker_id, bool ok);

  size_t size() const { return drivers_.size(); }

 private:
  struct Entry {
    Driver driver;
    bool gone = false;
    bool reporting = false;
  };

  absl::flat_hash_map<WorkerID, Entry> drivers_;
};

}  // namespace comet::raylet
