// AsyncCallTracker: unary client calls through gRPC's callback API whose
// completions come back to one io_context, and which can all be cancelled
// at shutdown. The GCS's client pools (raylets, workers) issue their calls
// through one.
//
// A completion arrives on a gRPC thread; it only posts the callback to the
// io_context. The call (its ClientContext, which holds the channel) moves
// into that posted handler, so it is destroyed on the io_context's thread
// (or with the io_context): a channel released on gRPC's own callback thread
// can crash gRPC.
//
// Ownership: the io_context must outlive the tracker and every call still in
// flight; Shutdown() (also run by the destructor) ends them.
// Thread model: Call() may be called from any thread; callbacks run on the
// io_context's thread. Shutdown() may be called from any thread but a gRPC
// callback thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace comet::gcs {

class AsyncCallTracker {
 public:
  explicit AsyncCallTracker(boost::asio::io_context& io)
      : io_(io), state_(std::make_shared<State>()) {}
  ~AsyncCallTracker() { Shutdown(); }

  AsyncCallTracker(const AsyncCallTracker&) = delete;
  AsyncCallTracker& operator=(const AsyncCallTracker&) = delete;

  // Issues one call: `start(context, request, reply, done)` starts it, e.g.
  //   [stub](auto* c, auto* q, auto* r, auto done) {
  //     stub->async()->KillWorker(c, q, r, std::move(done));
  //   }
  // `timeout` of absl::InfiniteDuration() means no deadline. After
  // Shutdown() the callback is posted at once with CANCELLED.
  template <typename Request, typename Reply, typename Start>
  void Call(Start start, Request request, absl::Duration timeout,
            std::function<void(const absl::Status&, Reply)> callback);

  // Cancels the calls in flight and returns once every one has completed
  // (their callbacks are posted, and run only if the io_context still
  // runs). Idempotent.
  void Shutdown();

  static absl::Status ToAbslStatus(const grpc::Status& status) {
    if (status.ok()) return absl::OkStatus();
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }

 private:
  struct State {
    absl::Mutex mu;
    bool shut_down ABSL_GUARDED_BY(mu) = false;
    absl::flat_hash_set<std::shared_ptr<grpc::ClientContext>> calls
        ABSL_GUARDED_BY(mu);
  };

  template <typename Request, typename Reply>
  struct CallState {
    grpc::ClientContext context;
    Request request;
    Reply reply;
    std::function<void(const absl::Status&, Reply)> callback;
  };

  boost::asio::io_context& io_;
  // Shared with completions, which may outlive this object.
  std::shared_ptr<State> state_;
};

template <typename Request, typename Reply, typename Start>
void AsyncCallTracker::Call(
    Start start, Request request, absl::Duration timeout,
    std::function<void(const absl::Status&, Reply)> callback) {
  auto call = std::make_shared<CallState<Request, Reply>>();
  call->request = std::move(request);
  call->callback = std::move(callback);
  // Aliases `call`: the set keeps the whole call alive for TryCancel.
  std::shared_ptr<grpc::ClientContext> context(call, &call->context);
  {
    absl::MutexLock lock(&state_->mu);
    if (state_->shut_down) {
      boost::asio::post(io_, [call] {
        call->callback(absl::CancelledError("the GCS is shutting down"),
                       Reply());
      });
      return;
    }
    state_->calls.insert(context);
  }
  if (timeout != absl::InfiniteDuration()) {
    call->context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  }
  boost::asio::io_context& io = io_;
  std::shared_ptr<State> state = state_;
  start(&call->context, &call->request, &call->reply,
        [call, context, state, &io](grpc::Status status) mutable {
          auto mine = std::move(call);
          absl::MutexLock lock(&state->mu);
          state->calls.erase(context);
          context.reset();
          // Posted under the lock, so Shutdown() returns only after it.
          boost::asio::post(
              io, [mine = std::move(mine), result = ToAbslStatus(status)] {
                mine->callback(result, std::move(mine->reply));
              });
        });
}

inline void AsyncCallTracker::Shutdown() {
  std::vector<std::shared_ptr<grpc::ClientContext>> calls;
  {
    absl::MutexLock lock(&state_->mu);
    state_->shut_down = true;
    calls.assign(state_->calls.begin(), state_->calls.end());
  }
  // Outside the lock: a cancelled call may complete on this thread.
  for (const auto& context : calls) context->TryCancel();
  calls.clear();
  absl::MutexLock lock(&state_->mu);
  State* state = state_.get();
  state_->mu.Await(absl::Condition(
      +[](State* s) ABSL_NO_THREAD_SAFETY_ANALYSIS { return s->calls.empty(); },
      state));
}

}  // namespace comet::gcs
