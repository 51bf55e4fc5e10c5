// CallAsync: one unary RPC through gRPC's callback API, with the context,
// request and reply kept alive until the callback has run. The callback runs
// on a gRPC thread; it must not block.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <utility>

#include <grpcpp/grpcpp.h>

namespace comet::rpc {

template <typename Request, typename Reply>
struct AsyncCall {
  grpc::ClientContext context;
  Request request;
  Reply reply;
};

// `start(context, request, reply, done)` issues the call, e.g.
//   [stub](auto* c, auto* q, auto* r, auto done) { stub->async()->PushTask(c, q, r, done); }
// `timeout_ms` < 0 means no deadline.
template <typename Request, typename Reply, typename Start>
void CallAsync(Start start, Request request,
               std::function<void(const grpc::Status&, Reply&&)> callback,
               int64_t timeout_ms = -1) {
  auto* call = new AsyncCall<Request, Reply>();
  call->request = std::move(request);
  if (timeout_ms >= 0) {
    call->context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::milliseconds(timeout_ms));
  }
  start(&call->context, &call->request, &call->reply,
        [call, callback = std::move(callback)](grpc::Status status) {
          callback(status, std::move(call->reply));
          delete call;
        });
}

}  // namespace comet::rpc
