// Blocking gRPC calls from Python bindings: the call runs without the GIL and
// with a deadline; a failed call raises the Python exception that
// status_to_python.h's table gives. Used from the calling Python thread only.
//
// A client of the GCS passes its gcs_client::GcsRpcClient (BindingGcsClient):
// once the GCS has answered it, its calls wait out a GCS restart (up to
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
#include "src/comet/gcs_client/gcs_rpc_client.h"
#include "src/comet/pybind/process_auth.h"

#include <memory>

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

// A client of the GCS for a binding: the process's credentials, the
// reconnect timeout from the config table (gcs_rpc_server_reconnect_timeout_s),
// and fail-fast until the GCS has answered, so that a CLI pointed at nothing
// says so at once while one whose GCS restarts waits for it.
inline std::unique_ptr<gcs_client::GcsRpcClient> BindingGcsClient(const std::string& address) {
  gcs_client::GcsClientOptions options;
  options.address = address;
  options.auth = ProcessAuth();
  options.call_timeout = kBlockingCallTimeout;
  absl::StatusOr<Config> config = Config::FromEnvironment();
  if (config.ok()) {
    options.reconnect_timeout = absl::Seconds(config->gcs_rpc_server_reconnect_timeout_s());
  }
  options.fail_fast_until_answered = true;
  return std::make_unique<gcs_client::GcsRpcClient>(std::move(options));
}

// InvokeBlocking through the GCS client's reconnect rule.
template <typename Reply, typename Call>
Reply InvokeBlocking(gcs_client::GcsRpcClient& gcs, absl::string_view what, Call call,
                     absl::Duration timeout = kBlockingCallTimeout) {
  Reply reply;
  grpc::Status status;
  {
    pybind11::gil_scoped_release release;
    status = gcs.Call([&](grpc::ClientContext* context) { return call(context, &reply); },
                      timeout);
  }
  if (!status.ok()) ThrowRpcError(status, what, gcs.server_name());
  return reply;
}

}  // namespace comet::pybind
