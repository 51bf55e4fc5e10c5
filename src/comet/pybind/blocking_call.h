// Blocking gRPC calls from Python bindings: the call runs without the GIL and
// with a deadline; a failed call raises the Python exception that
// status_to_python.h's table gives. Used from the calling Python thread only.
#pragma once

#include <grpcpp/grpcpp.h>
#include <pybind11/pybind11.h>

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "src/comet/pybind/status_to_python.h"

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

}  // namespace comet::pybind
