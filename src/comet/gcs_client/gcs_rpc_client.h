// GcsRpcClient: every process's one way to the GCS — the raylet, the core
// worker (drivers and workers), and the Python bindings the CLI, the job
// server and the dashboard use. It owns one channel (rpc::MakeChannel: the
// cluster's credentials, keepalive, fast reconnect backoff), a stub per GCS
// service, and the reconnect rule:
//
//   - Call(): a blocking call that waits out a GCS restart. Each attempt
//     waits for the channel (wait_for_ready); an attempt that fails
//     UNAVAILABLE is made again; the call gives up after
//     `reconnect_timeout` (gcs_rpc_server_reconnect_timeout_s) with an error
//     naming the GCS and the setting. With `fail_fast_until_answered`, calls
//     fail at once until the GCS has answered one, so that a CLI pointed at
//     nothing says so instead of waiting a minute.
//   - CallAsync(): the same rule for callback-API calls: an attempt that
//     fails UNAVAILABLE (the GCS died mid-call) is issued again, and waits for
//     the channel like the first, until the reconnect timeout has passed
//     since the call began or, for a call that ran long, since its first
//     failure.
//     Retries are paced by the channel's reconnect backoff (100 ms..1 s), and
//     capped at kMaxAsyncAttempts.
//
// Only for calls that are safe to repeat; the GCS's handlers are written to
// be (RegisterActor of a known actor, CreateActor of a created one, KV puts,
// node registration of a known node).
//
// Thread model: thread-safe; blocking calls block the caller, async
// callbacks run on gRPC's threads and must not block.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "proto/gcs_service.grpc.pb.h"
#include "src/comet/rpc/async_call.h"
#include "src/comet/rpc/cluster_auth.h"
#include "src/comet/rpc/reconnecting_call.h"

namespace comet::gcs_client {

struct GcsClientOptions {
  // HOST:PORT of the GCS.
  std::string address;
  rpc::ClusterAuth auth;
  // How long one attempt may take once connected, unless a call says.
  absl::Duration call_timeout = absl::Seconds(30);
  // How long calls wait for a GCS that went away to come back
  // (gcs_rpc_server_reconnect_timeout_s).
  absl::Duration reconnect_timeout = absl::Seconds(60);
  // Blocking calls fail at once until the GCS has answered one.
  bool fail_fast_until_answered = false;
};

class GcsRpcClient {
 public:
  // Most attempts one async call makes (a GCS that accepts connections but
  // keeps failing calls UNAVAILABLE must not be hammered).
  static constexpr int kMaxAsyncAttempts = 100;

  explicit GcsRpcClient(GcsClientOptions options);
  GcsRpcClient(const GcsRpcClient&) = delete;
  GcsRpcClient& operator=(const GcsRpcClient&) = delete;

  const GcsClientOptions& options() const { return options_; }
  // "the GCS at HOST:PORT", for errors.
  const std::string& server_name() const { return server_name_; }
  // Whether the GCS has answered any call (fail_fast_until_answered).
  bool answered() const { return answered_.load(std::memory_order_relaxed); }

  rpc::NodeInfoGcsService::Stub& nodes() const { return *nodes_; }
  rpc::NodeResourceInfoGcsService::Stub& resources() const { return *resources_; }
  rpc::JobInfoGcsService::Stub& jobs() const { return *jobs_; }
  rpc::ActorInfoGcsService::Stub& actors() const { return *actors_; }
  rpc::PlacementGroupInfoGcsService::Stub& placement_groups() const { return *groups_; }
  rpc::InternalKVGcsService::Stub& kv() const { return *kv_; }
  rpc::InternalPubSubGcsService::Stub& pubsub() const { return *pubsub_; }
  rpc::WorkerInfoGcsService::Stub& workers() const { return *workers_; }
  rpc::TaskInfoGcsService::Stub& tasks() const { return *tasks_; }

  // `call(grpc::ClientContext*)` makes one attempt and returns its status.
  // `call_timeout` zero: the client's.
  template <typename Attempt>
  grpc::Status Call(Attempt&& attempt, absl::Duration call_timeout = absl::ZeroDuration()) {
    absl::Duration per_call = call_timeout > absl::ZeroDuration() ? call_timeout
                                                                   : options_.call_timeout;
    if (options_.fail_fast_until_answered && !answered()) {
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + per_call));
      grpc::Status status = attempt(&context);
      if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
          status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
        answered_.store(true, std::memory_order_relaxed);
      }
      return status;
    }
    rpc::ReconnectOptions reconnect;
    reconnect.call_timeout = per_call;
    reconnect.reconnect_timeout = options_.reconnect_timeout;
    reconnect.server = server_name_;
    grpc::Status status = rpc::CallWithReconnect(reconnect, attempt);
    if (status.ok()) answered_.store(true, std::memory_order_relaxed);
    return status;
  }

  // `start(context, request, reply, done)` issues one attempt, e.g.
  //   [this](auto* c, auto* q, auto* r, auto done) {
  //     gcs.actors().async()->CreateActor(c, q, r, std::move(done)); }
  // Each attempt waits for the channel and has `call_timeout` (infinite
  // when zero) once issued; `done` runs once, with the last attempt's
  // outcome. With a `registry`, each attempt is tracked there, and a call
  // whose registry closed is dropped (its `done` never runs).
  template <typename Request, typename Reply, typename Start>
  void CallAsync(Start start, Request request,
                 std::function<void(const grpc::Status&, Reply&&)> done,
                 absl::Duration call_timeout = absl::ZeroDuration(),
                 rpc::CallRegistry* registry = nullptr,
                 rpc::AtShutdown at_shutdown = rpc::AtShutdown::kCancel) {
    std::shared_ptr<AsyncRetry<Request, Reply, Start>> retry(
        new AsyncRetry<Request, Reply, Start>{std::move(start), std::move(request), std::move(done),
                                              call_timeout, registry, at_shutdown,
                                              absl::Now() + options_.reconnect_timeout});
    Attempt(std::move(retry), options_.reconnect_timeout);
  }

 private:
  template <typename Request, typename Reply, typename Start>
  struct AsyncRetry {
    Start start;
    Request request;
    std::function<void(const grpc::Status&, Reply&&)> done;
    absl::Duration call_timeout;
    rpc::CallRegistry* registry = nullptr;
    rpc::AtShutdown at_shutdown = rpc::AtShutdown::kCancel;
    absl::Time give_up;  // no new attempt after this
    int attempts = 0;
    int failures = 0;    // attempts that failed UNAVAILABLE
  };

  template <typename Request, typename Reply, typename Start>
  static void Attempt(std::shared_ptr<AsyncRetry<Request, Reply, Start>> retry,
                      absl::Duration reconnect_timeout) {
    ++retry->attempts;
    absl::Time now = absl::Now();
    absl::Time deadline = retry->call_timeout > absl::ZeroDuration()
                              ? now + retry->call_timeout
                              : absl::InfiniteFuture();
    // While waiting for the channel, wait no longer than the reconnect
    // timeout; once connected the call's own timeout applies (gRPC has one
    // deadline, so the later of the two).
    deadline = std::max(deadline, retry->give_up);
    int64_t timeout_ms = deadline == absl::InfiniteFuture()
                             ? -1
                             : std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - now));
    Request request = retry->request;
    rpc::CallAsync<Request, Reply>(
        [retry](grpc::ClientContext* context, Request* q, Reply* r, auto cb) {
          context->set_wait_for_ready(true);
          retry->start(context, q, r, std::move(cb));
        },
        std::move(request),
        [retry, reconnect_timeout](const grpc::Status& status, Reply&& reply) {
          bool unavailable = status.error_code() == grpc::StatusCode::UNAVAILABLE;
          // A long call (an actor creation waiting for resources) cut off by
          // the GCS's death waits the whole reconnect timeout from then.
          if (unavailable && retry->failures++ == 0) {
            retry->give_up = std::max(retry->give_up, absl::Now() + reconnect_timeout);
          }
          bool again = unavailable && absl::Now() < retry->give_up &&
                       retry->attempts < kMaxAsyncAttempts &&
                       (retry->registry == nullptr || !retry->registry->closed());
          if (again) {
            Attempt(retry, reconnect_timeout);
            return;
          }
          retry->done(status, std::move(reply));
        },
        timeout_ms, retry->registry, retry->at_shutdown);
  }

  const GcsClientOptions options_;
  const std::string server_name_;
  std::atomic<bool> answered_{false};
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<rpc::NodeInfoGcsService::Stub> nodes_;
  std::unique_ptr<rpc::NodeResourceInfoGcsService::Stub> resources_;
  std::unique_ptr<rpc::JobInfoGcsService::Stub> jobs_;
  std::unique_ptr<rpc::ActorInfoGcsService::Stub> actors_;
  std::unique_ptr<rpc::PlacementGroupInfoGcsService::Stub> groups_;
  std::unique_ptr<rpc::InternalKVGcsService::Stub> kv_;
  std::unique_ptr<rpc::InternalPubSubGcsService::Stub> pubsub_;
  std::unique_ptr<rpc::WorkerInfoGcsService::Stub> workers_;
  std::unique_ptr<rpc::TaskInfoGcsService::Stub> tasks_;
};

}  // namespace comet::gcs_client
