// RestartPolicy: what the supervising gcs_server (--supervise) does when its
// child GCS exits. A state machine fed with exits; the supervisor does the
// I/O (gcs_supervisor.cc).
//
//   - exit status 0, or death by SIGTERM/SIGINT: someone stopped it on
//     purpose (`comet stop`), so the supervisor stops too;
//   - exit status 2 (bad flags or config): starting again cannot help;
//   - anything else (kill -9, a crash, a lost port): start again. The first
//     restart after a quiet spell is immediate; quick repeats back off from
//     100 ms, doubling, to 1 s. A child that dies before it is ready
//     `max_unready_starts` times in a row is given up on.
//
// Thread model: thread-compatible; the supervisor's one thread.
#pragma once

#include "absl/time/time.h"

namespace comet::gcs {

struct ChildExit {
  bool signaled = false;  // killed by a signal (`code` is the signal)
  int code = 0;           // exit status or signal number
  bool was_ready = false; // it had printed its ready line
};

class RestartPolicy {
 public:
  struct Decision {
    bool restart = false;
    absl::Duration delay = absl::ZeroDuration();
    int exit_code = 0;  // the supervisor's own, when not restarting
  };

  static constexpr int kMaxUnreadyStarts = 10;

  Decision OnExit(const ChildExit& exit, absl::Time now);

 private:
  absl::Time last_restart_ = absl::InfinitePast();
  absl::Duration backoff_ = absl::ZeroDuration();
  int unready_in_a_row_ = 0;
};

}  // namespace comet::gcs
