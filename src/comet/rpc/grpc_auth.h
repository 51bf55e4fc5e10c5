// The cluster token on gRPC, both ways, set up once per server and once per
// channel rather than at each call site:
//
//  - AddListeningPort() gives a ServerBuilder a port whose credentials check
//    `authorization: Bearer <token>` on every call, in gRPC's auth filter,
//    before any handler runs (constant-time comparison). A call without the
//    token, or with another, is answered UNAUTHENTICATED and counted in
//    AuthStats. With TLS (ClusterAuth::tls) the port also requires a client
//    certificate signed by the cluster's CA.
//  - MakeChannel() returns a channel whose credentials attach the token to
//    every call (call credentials composed into the channel's, once per
//    call: messages on a stream cost nothing more). ExplainRefusal() turns an
//    UNAUTHENTICATED answer into a status that says where this process's
//    token came from.
//
// Thread-safe: the credentials, channels and stats may be used from any
// thread.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/channel_arguments.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "src/comet/rpc/cluster_auth.h"

namespace comet::rpc {

// gRPC keepalive on every channel and server: a ping after this long
// without traffic, and the connection is dropped when no answer comes
// within the timeout.
inline constexpr int kKeepaliveTimeMs = 5000;
inline constexpr int kKeepaliveTimeoutMs = 5000;

// Calls this process's servers refused for their token (any thread).
struct AuthStats {
  std::atomic<int64_t> refused{0};
};

// Adds "HOST:PORT" to `builder` with the cluster's credentials; `*port`
// gets the bound port once the server is built (0 if binding failed).
// InvalidArgument when auth is disabled and HOST is not loopback.
absl::Status AddListeningPort(grpc::ServerBuilder* builder, const std::string& host,
                              int port, const ClusterAuth& auth,
                              std::shared_ptr<AuthStats> stats, int* bound_port);

// A channel to "host:port" that presents the cluster token (and the client
// certificate under TLS), with `args` as given.
std::shared_ptr<grpc::Channel> MakeAuthChannel(const std::string& address,
                                               const ClusterAuth& auth,
                                               grpc::ChannelArguments args);

// The status for a call's answer: UNAUTHENTICATED becomes an
// absl::UnauthenticatedError naming this process's token source; any other
// code is kept as it is.
absl::Status ExplainRefusal(const grpc::Status& status, const ClusterAuth& auth);

// The text of an UNAUTHENTICATED answer as this process's clients see it.
std::string RefusedTokenMessage(const std::string& server_detail, const ClusterAuth& auth);

}  // namespace comet::rpc
