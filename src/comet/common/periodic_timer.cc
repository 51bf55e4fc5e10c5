#include "src/comet/common/periodic_timer.h"

#include <boost/asio/steady_timer.hpp>
#include <chrono>

namespace comet {
namespace {

std::chrono::nanoseconds ToPeriod(absl::Duration period) {
  if (period <= absl::ZeroDuration()) return std::chrono::milliseconds(1);
  return absl::ToChronoNanoseconds(period);
}

}  // namespace

struct PeriodicTimer::State {
  State(boost::asio::io_context& io_context, absl::Duration period,
        std::function<void()> callback)
      : timer(io_context),
        period(ToPeriod(period)),
        callback(std::move(callback)) {}

  boost::asio::steady_timer timer;
  const std::chrono::nanoseconds period;
  const std::function<void()> callback;
  bool running = false;
  // Bumped by Cancel() so a wait that completes after a Cancel()+Start() is
  // told apart from the current one.
  uint64_t generation = 0;
};

void PeriodicTimer::OnExpired(const std::weak_ptr<State>& weak,
                              uint64_t generation,
                              const boost::system::error_code& error) {
  std::shared_ptr<State> state = weak.lock();
  if (error || state == nullptr || !state->running ||
      state->generation != generation) {
    return;
  }
  state->callback();
  // The callback may have called Cancel() or destroyed the PeriodicTimer.
  if (state->running && state->generation == generation) ScheduleNext(state);
}

void PeriodicTimer::ScheduleNext(const std::shared_ptr<State>& state) {
  auto now = std::chrono::steady_clock::now();
  auto next = state->timer.expiry() + state->period;
  if (next < now) next = now + state->period;  // Skip missed firings.
  state->timer.expires_at(next);
  std::weak_ptr<State> weak = state;
  uint64_t generation = state->generation;
  state->timer.async_wait(
      [weak, generation](const boost::system::error_code& error) {
        OnExpired(weak, generation, error);
      });
}

PeriodicTimer::PeriodicTimer(boost::asio::io_context& io_context,
                             absl::Duration period,
                             std::function<void()> callback)
    : state_(std::make_shared<State>(io_context, period, std::move(callback))) {
}

PeriodicTimer::~PeriodicTimer() { Cancel(); }

void PeriodicTimer::Start() {
  if (state_->running) return;
  state_->running = true;
  state_->timer.expires_at(std::chrono::steady_clock::now());
  ScheduleNext(state_);
}

void PeriodicTimer::Cancel() {
  if (!state_->running) return;
  state_->running = false;
  ++state_->generation;
  state_->timer.cancel();
}

bool PeriodicTimer::IsRunning() const { return state_->running; }

}  // namespace comet
