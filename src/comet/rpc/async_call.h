// CallAsync: one unary RPC through gRPC's callback API, with the context,
// request and reply kept alive until the callback has run. The callback runs
// on a gRPC thread; it must not block.
//
// CallRegistry: the calls in flight of one owner (a core worker), so that the
// owner can cancel them and wait for their callbacks before it is destroyed —
// a call can otherwise outlive it (a lease request queued at a raylet, a wait
// for an object's owner) and call back into freed memory. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/container/flat_hash_set.h"

namespace comet::rpc {

class CallRegistry {
 public:
  // False once closed: the call must not start. A call that is not
  // `cancellable` (a lease return, which must reach the raylet) is waited
  // for at shutdown but not cancelled; give it a deadline.
  bool Add(grpc::ClientContext* context, bool cancellable = true) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (closed_) return false;
    calls_.insert(context);
    if (!cancellable) keep_.insert(context);
    return true;
  }
  // After the call's callback has run (its context is deleted right after).
  void Remove(grpc::ClientContext* context) {
    {
      std::lock_guard<std::recursive_mutex> lock(mu_);
      calls_.erase(context);
      keep_.erase(context);
    }
    drained_.notify_all();
  }
  // Refuses new calls, cancels those in flight and waits for their callbacks.
  // The mutex is recursive because gRPC may run a cancelled call's callback
  // (and so Remove) inside TryCancel; other calls' Remove waits for the loop,
  // which keeps their contexts alive while it runs.
  void CancelAllAndWait() {
    std::unique_lock<std::recursive_mutex> lock(mu_);
    closed_ = true;
    std::vector<grpc::ClientContext*> in_flight(calls_.begin(), calls_.end());
    for (grpc::ClientContext* context : in_flight) {
      if (calls_.contains(context) && !keep_.contains(context)) context->TryCancel();
    }
    drained_.wait(lock, [this] { return calls_.empty(); });
  }

 private:
  std::recursive_mutex mu_;
  std::condition_variable_any drained_;
  bool closed_ = false;
  absl::flat_hash_set<grpc::ClientContext*> calls_;
  absl::flat_hash_set<grpc::ClientContext*> keep_;
};

// Whether a tracked call is cancelled when its registry shuts down.
enum class AtShutdown { kCancel, kFinish };

template <typename Request, typename Reply>
struct AsyncCall {
  grpc::ClientContext context;
  Request request;
  Reply reply;
};

// `start(context, request, reply, done)` issues the call, e.g.
//   [stub](auto* c, auto* q, auto* r, auto done) { stub->async()->PushTask(c, q, r, done); }
// `timeout_ms` < 0 means no deadline. With a `registry`, the call is
// tracked there; once the registry is closed the call is dropped unsent (its
// callback never runs).
template <typename Request, typename Reply, typename Start>
void CallAsync(Start start, Request request,
               std::function<void(const grpc::Status&, Reply&&)> callback,
               int64_t timeout_ms = -1, CallRegistry* registry = nullptr,
               AtShutdown at_shutdown = AtShutdown::kCancel) {
  auto* call = new AsyncCall<Request, Reply>();
  call->request = std::move(request);
  if (timeout_ms >= 0) {
    call->context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::milliseconds(timeout_ms));
  }
  if (registry != nullptr &&
      !registry->Add(&call->context, at_shutdown == AtShutdown::kCancel)) {
    delete call;
    return;
  }
  start(&call->context, &call->request, &call->reply,
        [call, registry, callback = std::move(callback)](grpc::Status status) {
          callback(status, std::move(call->reply));
          if (registry != nullptr) registry->Remove(&call->context);
          delete call;
        });
}

}  // namespace comet::rpc
