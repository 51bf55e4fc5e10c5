#include "src/comet/gcs/grpc_node_prober.h"

#include <grpcpp/grpcpp.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "src/comet/rpc/grpc_auth.h"

namespace comet::gcs {

// One HealthCheck RPC: what gRPC writes into and the caller's callback.
struct GrpcNodeProber::Call {
  grpc::ClientContext context;
  rpc::HealthCheckRequest request;
  rpc::HealthCheckReply reply;
  Callback callback;
};

// Probes whose completion has not been seen yet.
struct GrpcNodeProber::InFlight {
  absl::Mutex mu;
  bool shut_down ABSL_GUARDED_BY(mu) = false;
  absl::flat_hash_set<std::shared_ptr<Call>> calls ABSL_GUARDED_BY(mu);
};

namespace {

absl::Status ToAbslStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

}  // namespace

GrpcNodeProber::GrpcNodeProber(boost::asio::io_context& io_context, rpc::ClusterAuth auth)
    : io_context_(io_context), auth_(std::move(auth)), in_flight_(std::make_shared<InFlight>()) {}

GrpcNodeProber::~GrpcNodeProber() { Shutdown(); }

std::string GrpcNodeProber::TargetOf(const rpc::NodeInfo& node) {
  const std::string& address = node.node_manager_address();
  if (absl::StartsWith(address, "unix:")) return address;
  if (absl::StrContains(address, ':') && !absl::StartsWith(address, "[")) {
    return absl::StrCat("[", address, "]:", node.node_manager_port());
  }
  return absl::StrCat(address, ":", node.node_manager_port());
}

rpc::NodeManagerService::Stub* GrpcNodeProber::StubFor(
    const NodeID& node_id, const std::string& target) {
  Channel& channel = channels_[node_id];
  if (channel.stub == nullptr || channel.target != target) {
    grpc::ChannelArguments args;
    // Retry a refused connection soon rather than after gRPC's default
    // backoff (up to 2 minutes), so a raylet that comes back is seen.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    channel.target = target;
    channel.stub = rpc::NodeManagerService::NewStub(rpc::MakeAuthChannel(target, auth_, args));
  }
  return channel.stub.get();
}

void GrpcNodeProber::Probe(const rpc::NodeInfo& node, absl::Duration timeout,
                           Callback callback) {
  auto call = std::make_shared<Call>();
  call->callback = std::move(callback);
  {
    absl::MutexLock lock(&in_flight_->mu);
    if (in_flight_->shut_down) {
      boost::asio::post(io_context_, [callback = std::move(call->callback)] {
        callback(absl::CancelledError("the GCS is shutting down"));
      });
      return;
    }
    in_flight_->calls.insert(call);
  }
  absl::StatusOr<NodeID> node_id = NodeID::FromBinary(node.node_id());
  rpc::NodeManagerService::Stub* stub =
      StubFor(node_id.value_or(NodeID::Nil()), TargetOf(node));
  call->context.set_deadline(std::chrono::system_clock::now() +
                             absl::ToChronoMilliseconds(timeout));
  boost::asio::io_context& io_context = io_context_;
  std::shared_ptr<InFlight> in_flight = in_flight_;
  // The completion runs on a gRPC thread. It must not release the last
  // reference to the Call there: the Call's ClientContext holds the channel,
  // and a channel destroyed on gRPC's callback thread can crash gRPC (it
  // joins that very thread). So the Call moves into the posted handler and
  // dies on the GCS thread (or with the io_context, if that never runs it).
  stub->async()->HealthCheck(
      &call->context, &call->request, &call->reply,
      [call, in_flight, &io_context](grpc::Status status) mutable {
        std::shared_ptr<Call> mine = std::move(call);
        absl::MutexLock lock(&in_flight->mu);
        in_flight->calls.erase(mine);
        // Posted under the lock, so Shutdown() returns only after it.
        boost::asio::post(io_context, [mine = std::move(mine),
                                       result = ToAbslStatus(status)] {
          mine->callback(result);
        });
      });
}

void GrpcNodeProber::Forget(const NodeID& node_id) { channels_.erase(node_id); }

void GrpcNodeProber::Shutdown() {
  std::vector<std::shared_ptr<Call>> calls;
  {
    absl::MutexLock lock(&in_flight_->mu);
    in_flight_->shut_down = true;
    calls.assign(in_flight_->calls.begin(), in_flight_->calls.end());
  }
  // Outside the lock: a cancelled call may complete on this thread.
  for (const auto& call : calls) call->context.TryCancel();
  calls.clear();
  absl::MutexLock lock(&in_flight_->mu);
  InFlight* state = in_flight_.get();
  in_flight_->mu.Await(absl::Condition(
      +[](InFlight* s)
           ABSL_NO_THREAD_SAFETY_ANALYSIS { return s->calls.empty(); },
      state));
}

}  // namespace comet::gcs
