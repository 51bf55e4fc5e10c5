#include "src/comet/rpc/client_pool.h"

#include "src/comet/rpc/grpc_auth.h"

namespace comet::rpc {

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address, const ClusterAuth& auth) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  // Each peer address gets a channel of its own, not a shared subchannel pool,
  // so that a dead peer's reconnect backoff does not leak to a new process
  // that reuses its port.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // A peer that vanishes without closing TCP (a host gone, a cable cut) is
  // noticed within kKeepaliveTimeMs + kKeepaliveTimeoutMs, even on an idle
  // channel; servers permit these pings (AddListeningPort).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  return MakeAuthChannel(address, auth, std::move(args));
}

}  // namespace comet::rpc
