// CallWithReconnect: a blocking unary call to a server that may be away for
// a while (the GCS while its supervisor starts it again). Each attempt gets a
// fresh ClientContext with wait_for_ready, so it waits for the channel to
// connect instead of failing at once; an attempt that fails UNAVAILABLE (the
// server died mid-call) is made again after a short pause. The whole call
// gives up after `reconnect_timeout` with UNAVAILABLE naming the server and
// the time waited.
//
// Only for calls that are safe to repeat (reads, idempotent writes; the
// GCS's handlers are written to be, e.g. RegisterActor of a known actor).
// Thread model: blocks the calling thread; no state.
#pragma once

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace comet::rpc {

struct ReconnectOptions {
  // How long one attempt may take once connected.
  absl::Duration call_timeout = absl::Seconds(30);
  // How long the whole call waits for the server to come back.
  absl::Duration reconnect_timeout = absl::Seconds(60);
  // Named in the error: "the GCS at HOST:PORT".
  std::string server = "the server";
};

// `call(grpc::ClientContext*)` makes one attempt and returns its status.
template <typename Call>
grpc::Status CallWithReconnect(const ReconnectOptions& options, Call&& call) {
  absl::Time give_up = absl::Now() + options.reconnect_timeout;
  absl::Duration pause = absl::Milliseconds(50);
  for (;;) {
    absl::Time attempt_start = absl::Now();
    grpc::ClientContext context;
    context.set_wait_for_ready(true);
    context.set_deadline(absl::ToChronoTime(
        std::min(give_up, attempt_start + options.call_timeout)));
    grpc::Status status = call(&context);
    absl::Time now = absl::Now();
    bool unreachable = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                       (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED &&
                        now >= give_up);
    if (!unreachable) return status;
    if (now + pause >= give_up) {
      return grpc::Status(
          grpc::StatusCode::UNAVAILABLE,
          absl::StrCat(options.server, " has not answered for ",
                       absl::FormatDuration(options.reconnect_timeout),
                       " (gcs_rpc_server_reconnect_timeout_s); last error: ",
                       status.error_message()));
    }
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(500));
  }
}

}  // namespace comet::rpc
