// Blocking gRPC calls from Python bindings: the call runs without the GIL and
// with a deadline; a failed call raises the Python exception that
// status_to_python.h's table gives. Used from the calling Python thread only.
//
// A client of the GCS passes its ReconnectGate: once the GCS has answered it,
// its calls wait out a GCS restart (rpc::CallWithReconnect, up to
// gcs_rpc_server_reconnect_timeout_s) instead of failing at once; before
// that they fail fast, so that a CLI pointed at nothing says so at once.
#pragma once

#include <grpcpp/grpcpp.h>
#include <pybind11/pybind11.h>

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "src/comet/common/config.h"
#include "src/comet/pybind/status_to_python.h"
#include "src/comet/rpc/reconnecting_call.h"

#include <atomic>

namespace comet::pybind {

inline constexpr absl::Duration kBlockingCallTimeout = absl::Seconds(30);

// Runs `call(context, reply)` without the GIL, with `timeout`; returns the reply.
template <typename Reply, typename Call>
Reply InvokeBlocking(absl::string_view what, Call call,
                     absl::Duration timeout = kBlockingCallTimeout,
                     absl::string_view peer = "the GCS") {
  Reply reply;
  grpc::Status status;
  {
    pybind11::gil_scoped_release release;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    status = call(&context, &reply);
  }
  if (!status.ok()) ThrowRpcError(status, what, peer);
  return reply;
}

// Whether a client's server has answered yet, and how long to wait for it to
// come back afterwards. Thread-safe.
class ReconnectGate {
 public:
  ReconnectGate() {
    absl::StatusOr<Config> config = Config::FromEnvironment();
    if (config.ok()) timeout_ = absl::Seconds(config->gcs_rpc_server_reconnect_timeout_s());
  }
  bool answered() const { return answered_.load(std::memory_order_relaxed); }
  void MarkAnswered() { answered_.store(true, std::memory_order_relaxed); }
  absl::Duration timeout() const { return timeout_; }

 private:
  std::atomic<bool> answered_{false};
  absl::Duration timeout_ = absl::Seconds(60);
};

// InvokeBlocking, waiting out a restart of a server that has answered before.
template <typename Reply, typename Call>
Reply InvokeBlocking(ReconnectGate& gate, absl::string_view what, Call call,
                     absl::Duration timeout = kBlockingCallTimeout,
                     absl::string_view peer = "the GCS") {
  if (!gate.answered()) {
    Reply reply = InvokeBlocking<Reply>(what, call, timeout, peer);
    gate.MarkAnswered();
    return reply;
  }
  Reply reply;
  grpc::Status status;
  {
    pybind11::gil_scoped_release release;
    rpc::ReconnectOptions options;
    options.call_timeout = timeout;
    options.reconnect_timeout = gate.timeout();
    options.server = std::string(peer);
    status = rpc::CallWithReconnect(options, [&](grpc::ClientContext* context) {
      return call(context, &reply);
    });
  }
  if (!status.ok()) ThrowRpcError(status, what, peer);
  return reply;
}

}  // namespace comet::pybind
