// PeriodicTimer: calls a callback every `period` on an io_context until
// Cancel() or destruction.
//
// Ownership: owns its asio timer and the callback; the io_context must
// outlive it. Pending waits hold only a weak reference, so destroying the
// PeriodicTimer (even from inside its own callback) is safe.
// Threads: thread-confined to the io_context given at construction. Create,
// Start(), Cancel() and destroy it on that io_context's thread (or before the
// io_context runs); the callback runs there too.
//
// Firings follow a fixed schedule (start + k * period). If the callback or
// the loop falls behind by more than one period, missed firings are skipped
// rather than run back to back.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>

#include "absl/time/time.h"

namespace comet {

class PeriodicTimer {
 public:
  // A non-positive `period` is treated as 1 ms.
  PeriodicTimer(boost::asio::io_context& io_context, absl::Duration period,
                std::function<void()> callback);
  ~PeriodicTimer();  // Cancel()

  PeriodicTimer(const PeriodicTimer&) = delete;
  PeriodicTimer& operator=(const PeriodicTimer&) = delete;

  // Schedules the first call one period from now. No-op if already running;
  // restarts the schedule after Cancel().
  void Start();

  // Stops further calls. Idempotent; safe inside the callback.
  void Cancel();

  bool IsRunning() const;

 private:
  struct State;

  static void ScheduleNext(const std::shared_ptr<State>& state);
  static void OnExpired(const std::weak_ptr<State>& weak, uint64_t generation,
                        const boost::system::error_code& error);

  std::shared_ptr<State> state_;
};

}  // namespace comet
