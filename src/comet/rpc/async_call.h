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

#include "absl/container/flat_hash_map.h"

namespace comet::rpc {

class CallRegistry {
 public:
  // False once closed: the call must not start. `cancel` (empty for a call
  // that must finish, such as a lease return: give it a deadline) is run at
  // shutdown, outside the lock, while `keep_alive` keeps the call alive.
  // `key` names the call for Remove.
  bool Add(std::shared_ptr<void> keep_alive, const void* key, std::function<void()> cancel) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return false;
    calls_[key] = Entry{std::move(keep_alive), std::move(cancel)};
    return true;
  }
  // A unary call: cancelled with its context's TryCancel when `cancellable`.
  bool Add(std::shared_ptr<void> keep_alive, grpc::ClientContext* context,
           bool cancellable = true) {
    std::function<void()> cancel;
    if (cancellable) cancel = [context] { context->TryCancel(); };
    return Add(std::move(keep_alive), static_cast<const void*>(context), std::move(cancel));
  }
  // After the call's last callback has run.
  void Remove(const void* key) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.erase(key);
    }
    drained_.notify_all();
  }

  // Whether CancelAllAndWait has begun (its cancellations are not failures).
  bool closed() {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }

  // Refuses new calls, cancels those in flight and waits for their callbacks.
  // The lock is a leaf: it is never held while gRPC runs (TryCancel may run a
  // callback inline), and callbacks may take their owners' locks.
  void CancelAllAndWait() {
    std::vector<std::pair<std::shared_ptr<void>, std::function<void()>>> to_cancel;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
      for (const auto& [key, entry] : calls_) {
        if (entry.cancel) to_cancel.emplace_back(entry.keep_alive, entry.cancel);
      }
    }
    for (const auto& [keep_alive, cancel] : to_cancel) cancel();
    to_cancel.clear();
    std::unique_lock<std::mutex> lock(mu_);
    drained_.wait(lock, [this] { return calls_.empty(); });
  }

 private:
  struct Entry {
    std::shared_ptr<void> keep_alive;
    std::function<void()> cancel;
  };
  std::mutex mu_;
  std::condition_variable drained_;
  bool closed_ = false;
  absl::flat_hash_map<const void*, Entry> calls_;
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
  auto call = std::make_shared<AsyncCall<Request, Reply>>();
  call->request = std::move(request);
  if (timeout_ms >= 0) {
    call->context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::milliseconds(timeout_ms));
  }
  if (registry != nullptr &&
      !registry->Add(call, &call->context, at_shutdown == AtShutdown::kCancel)) {
    return;
  }
  AsyncCall<Request, Reply>* raw = call.get();
  start(&raw->context, &raw->request, &raw->reply,
        [call = std::move(call), registry, callback = std::move(callback)](grpc::Status status) {
          callback(status, std::move(call->reply));
          if (registry != nullptr) registry->Remove(&call->context);
        });
}

}  // namespace comet::rpc
