#include "src/comet/raylet/local_drivers.h"

#include "absl/strings/str_cat.h"

namespace comet::raylet {

absl::Status LocalDrivers::Register(const Driver& driver) {
  if (driver.job_id.IsNil() || driver.worker_id.IsNil()) {
    return absl::InvalidArgumentError(
        "a driver needs a job id and a worker id");
  }
  if (driver.pid <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad driver pid ", driver.pid));
  }
  drivers_[driver.worker_id] = Entry{driver};
  return absl::OkStatus();
}

std::vector<LocalDrivers::Driver> LocalDrivers::TakeGone(
    const std::function<bool(int pid)>& gone) {
  std::vector<Driver> out;
  for (auto& [worker_id, entry] : drivers_) {
    if (entry.reporting) continue;
    // Checked once: the pid may be reused after its process is gone.
    if (!entry.gone) entry.gone = gone(entry.driver.pid);
    if (!entry.gone) continue;
    entry.reporting = true;
    out.push_back(entry.driver);
  }
  return out;
}

void LocalDrivers::OnReported(const WorkerID& worker_id, bool ok) {
  auto it = drivers_.find(worker_id);
  if (it == drivers_.end()) return;
  if (ok) {
    drivers_.erase(it);
  } else {
    it->second.reporting = false;
  }
}

}  // namespace comet::raylet
