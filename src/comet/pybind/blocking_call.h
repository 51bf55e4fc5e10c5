// Blocking gRPC calls from Python bindings: the call runs without the GIL and
// with a deadline; a failed call raises the matching Python exception
// (AuthenticationError, ValueError, ConnectionError, TimeoutError,
// RuntimeError). Used from the
// calling Python thread only.
#pragma once

#include <grpcpp/grpcpp.h>
#include <pybind11/pybind11.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "src/comet/pybind/status_to_python.h"
#include "src/comet/rpc/grpc_auth.h"

namespace comet::pybind {

inline constexpr absl::Duration kBlockingCallTimeout = absl::Seconds(30);

// Raises the Python exception for a failed call to `peer` ("the GCS").
[[noreturn]] inline void ThrowRpcError(const grpc::Status& status, absl::string_view what,
                                       absl::string_view peer = "the GCS") {
  std::string message = absl::StrCat(what, " to ", peer, " failed: ", status.error_message());
  switch (status.error_code()) {
    case grpc::StatusCode::UNAUTHENTICATED: {
      auto auth = rpc::LoadClusterAuth();
      if (auth.ok()) {
        message = absl::StrCat(what, " to ", peer, " failed: ",
                               rpc::RefusedTokenMessage(status.error_message(), *auth));
      }
      ThrowIfError(absl::UnauthenticatedError(message));
    }
      throw std::runtime_error(message);  // not reached
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
      throw pybind11::value_error(message);
    case grpc::StatusCode::UNAVAILABLE:
      PyErr_SetString(PyExc_ConnectionError, message.c_str());
      throw pybind11::error_already_set();
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      PyErr_SetString(PyExc_TimeoutError, message.c_str());
      throw pybind11::error_already_set();
    default:
      throw std::runtime_error(message);
  }
}

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
