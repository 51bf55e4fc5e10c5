// The actor's end of PushTaskStreams (see ActorCallStream for the caller's).
//
// PushTaskStreamReactor: one caller's stream. Each request read becomes a
// StreamedTask in the TaskReceiver; its answer is written back when the
// execution thread finishes it, one write at a time. The stream finishes when
// the caller has stopped sending and every task is answered, when the caller
// cancels, or when the worker closes its streams at shutdown. Lives (held by
// itself) until OnDone and as long as a StreamedTask still holds it.
// Thread-safe: Respond() comes from the execution thread, reactions from gRPC
// threads; mu_ is never held while gRPC runs.
//
// ServerStreams: the open streams of one worker, so that shutdown can close
// them (an open stream would otherwise hold the gRPC server's shutdown).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/container/flat_hash_map.h"
#include "proto/core_worker.grpc.pb.h"
#include "src/comet/core_worker/task_receiver.h"

namespace comet::core {

class ServerStreams;

class PushTaskStreamReactor
    : public grpc::ServerBidiReactor<rpc::PushTaskRequest, rpc::PushTaskStreamReply> {
 public:
  // Starts serving a stream; tasks go to `receiver` when they are meant for
  // `worker_id` (binary). The reactor is owned by itself.
  static PushTaskStreamReactor* Start(TaskReceiver* receiver, std::string worker_id,
                                      ServerStreams* streams);

  // Answers the call numbered `sequence` (from any thread).
  void Respond(int64_t sequence, const grpc::Status& status, rpc::PushTaskReply reply);
  // The worker is exiting: answers already queued are still written (their
  // calls ran), then the stream finishes; later answers are dropped (the
  // caller treats their calls as interrupted).
  void Close();

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  PushTaskStreamReactor(TaskReceiver* receiver, std::string worker_id, ServerStreams* streams)
      : receiver_(receiver), worker_id_(std::move(worker_id)), streams_(streams) {}
  // Whether to call Finish now (sets finished_); under mu_.
  bool ShouldFinish();
  // No more answers are accepted; finishes with `status` (the first close's)
  // once no write is in flight — after writing the queued answers when
  // `drain`, at once when not (a cancel, a failed write).
  void CloseWith(const grpc::Status& status, bool drain);

  TaskReceiver* const receiver_;
  const std::string worker_id_;
  ServerStreams* const streams_;
  rpc::PushTaskRequest incoming_;
  std::shared_ptr<PushTaskStreamReactor> self_;

  std::mutex mu_;
  std::deque<rpc::PushTaskStreamReply> outgoing_;  // Front is being written while writing_.
  int64_t unanswered_ = 0;                         // Tasks read and not yet answered.
  bool writing_ = false;
  bool reads_done_ = false;
  bool closing_ = false;  // Cancelled, a write failed, or the worker is exiting.
  bool draining_ = false;  // Closing, but the queued answers are still written.
  bool finished_ = false;
  grpc::Status final_status_;
};

class ServerStreams {
 public:
  // False once closed (the stream is finished at once).
  bool Add(const std::shared_ptr<PushTaskStreamReactor>& stream);
  void Remove(const PushTaskStreamReactor* stream);
  // Closes every open stream and refuses new ones.
  void CloseAll();

 private:
  std::mutex mu_;
  bool closed_ = false;
  absl::flat_hash_map<const PushTaskStreamReactor*, std::weak_ptr<PushTaskStreamReactor>> open_;
};

}  // namespace comet::core
