#include "src/comet/gcs/restart_policy.h"

#include <algorithm>
#include <csignal>

namespace comet::gcs {
namespace {

constexpr absl::Duration kQuiet = absl::Seconds(10);
constexpr absl::Duration kFirstBackoff = absl::Milliseconds(100);
constexpr absl::Duration kMaxBackoff = absl::Seconds(1);

}  // namespace

RestartPolicy::Decision RestartPolicy::OnExit(const ChildExit& exit, absl::Time now) {
  Decision decision;
  if (exit.signaled && (exit.code == SIGTERM || exit.code == SIGINT)) return decision;
  if (!exit.signaled && (exit.code == 0 || exit.code == 2)) {
    decision.exit_code = exit.code;
    return decision;
  }
  unready_in_a_row_ = exit.was_ready ? 0 : unready_in_a_row_ + 1;
  if (unready_in_a_row_ >= kMaxUnreadyStarts) {
    decision.exit_code = 1;
    return decision;
  }
  if (now - last_restart_ >= kQuiet) {
    backoff_ = absl::ZeroDuration();
  } else {
    backoff_ = std::min(kMaxBackoff, std::max(kFirstBackoff, backoff_ * 2));
  }
  last_restart_ = now;
  decision.restart = true;
  decision.delay = backoff_;
  return decision;
}

}  // namespace comet::gcs
