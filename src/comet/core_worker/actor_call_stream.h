// ActorCallStream: the caller's end of one PushTaskStream, the long-lived
// bidirectional stream that carries this process's calls to one actor
// incarnation. Requests are written one at a time in the order Send() queues
// them; each answer names its call's sequence number and is handed to the
// reply handler, in whatever order the actor answers.
//
// Owns its gRPC context and the queue of requests not yet written. Lives until
// gRPC is done with it (it holds itself until OnDone), and as long as anyone
// holds a shared_ptr. Thread-safe: Send() and Close() may be called from any
// thread, but never while holding a lock that the handlers take, because gRPC
// may run the handlers inline. The handlers run on gRPC threads; the end
// handler runs once, after the last reply, when the stream can carry nothing
// more (the actor's worker went away, the stream was closed or cancelled).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include <grpcpp/grpcpp.h>

#include "proto/core_worker.grpc.pb.h"
#include "src/comet/rpc/async_call.h"

namespace comet::core {

class ActorCallStream
    : public grpc::ClientBidiReactor<rpc::PushTaskRequest, rpc::PushTaskStreamReply> {
 public:
  using ReplyHandler =
      std::function<void(int64_t sequence, const grpc::Status& status, rpc::PushTaskReply reply)>;
  // Told which stream ended and whether it ever reached the worker (the
  // worker's initial metadata arrived); calls on a stream that never did
  // were not delivered.
  using EndHandler = std::function<void(ActorCallStream* stream, bool reached_worker)>;

  // A stream over `stub`, started by the first Send(). With a `registry` it is
  // closed at shutdown; nullptr once the registry is closed.
  static std::shared_ptr<ActorCallStream> Create(
      std::shared_ptr<rpc::CoreWorkerService::Stub> stub, ReplyHandler on_reply,
      EndHandler on_end, rpc::CallRegistry* registry);

  // Queues a request, kept (shared, unchanged) until it is written; dropped
  // once the stream has ended: the end handler accounts for every call not
  // answered.
  void Send(std::shared_ptr<const rpc::PushTaskRequest> request);

  // Ends the stream: no more writes, the call is cancelled.
  void Close();

  void OnReadInitialMetadataDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  ActorCallStream(std::shared_ptr<rpc::CoreWorkerService::Stub> stub, ReplyHandler on_reply,
                  EndHandler on_end, rpc::CallRegistry* registry);
  // Starts the call (once, by the first Send, outside mu_).
  void Start();
  // No more writes; releases the hold that keeps OnDone away once no write is
  // in flight.
  void StopWriting();

  const std::shared_ptr<rpc::CoreWorkerService::Stub> stub_;
  const ReplyHandler on_reply_;
  const EndHandler on_end_;
  rpc::CallRegistry* const registry_;
  grpc::ClientContext context_;
  rpc::PushTaskStreamReply incoming_;
  std::atomic<bool> reached_worker_{false};
  // Itself, from Create until OnDone.
  std::shared_ptr<ActorCallStream> self_;

  std::mutex mu_;
  // Requests to write; the front one is being written while `writing_`.
  std::deque<std::shared_ptr<const rpc::PushTaskRequest>> outgoing_;
  // kNew until the first Send starts the call; kAbandoned if closed before.
  enum class Phase { kNew, kStarted, kAbandoned } phase_ = Phase::kNew;
  bool writing_ = false;
  bool stopped_ = false;        // No more writes (closed, or reads ended).
  bool hold_released_ = false;  // The hold taken at Start was given back.
};

}  // namespace comet::core
