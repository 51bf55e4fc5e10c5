#include "src/comet/core_worker/actor_call_stream.h"

#include <utility>

namespace comet::core {

std::shared_ptr<ActorCallStream> ActorCallStream::Create(
    std::shared_ptr<rpc::CoreWorkerService::Stub> stub, ReplyHandler on_reply, EndHandler on_end,
    rpc::CallRegistry* registry) {
  std::shared_ptr<ActorCallStream> stream(
      new ActorCallStream(std::move(stub), std::move(on_reply), std::move(on_end), registry));
  ActorCallStream* raw = stream.get();
  if (registry != nullptr && !registry->Add(stream, raw, [raw] { raw->Close(); })) return nullptr;
  stream->self_ = stream;
  return stream;
}

ActorCallStream::ActorCallStream(std::shared_ptr<rpc::CoreWorkerService::Stub> stub,
                                 ReplyHandler on_reply, EndHandler on_end,
                                 rpc::CallRegistry* registry)
    : stub_(std::move(stub)),
      on_reply_(std::move(on_reply)),
      on_end_(std::move(on_end)),
      registry_(registry) {}

void ActorCallStream::Start() {
  stub_->async()->PushTaskStream(&context_, this);
  // Writes start from outside the reactions (Send): the hold keeps OnDone
  // away until StopWriting gives it back.
  AddHold();
  StartRead(&incoming_);
  StartCall();
}

void ActorCallStream::Send(std::shared_ptr<const rpc::PushTaskRequest> request) {
  bool start = false;
  const rpc::PushTaskRequest* next = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_ || phase_ == Phase::kAbandoned) return;
    outgoing_.push_back(std::move(request));
    if (phase_ == Phase::kNew) {
      phase_ = Phase::kStarted;
      start = true;
    }
    if (!writing_) {
      writing_ = true;
      next = outgoing_.front().get();
    }
  }
  // Only this thread can write until OnWriteDone: the first write always
  // follows the start.
  if (start) Start();
  if (next != nullptr) StartWrite(next);
}

void ActorCallStream::StopWriting() {
  bool release = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    // A write in flight gives the hold back in OnWriteDone.
    if (phase_ == Phase::kStarted && !writing_ && !hold_released_) {
      hold_released_ = true;
      release = true;
    }
  }
  if (release) RemoveHold();
}

void ActorCallStream::Close() {
  bool abandoned = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (phase_ == Phase::kNew) {
      phase_ = Phase::kAbandoned;
      stopped_ = true;
      abandoned = true;
    }
  }
  if (abandoned) {
    // gRPC never saw it: nothing will call OnDone.
    if (registry_ != nullptr) registry_->Remove(this);
    auto self = std::move(self_);
    return;
  }
  StopWriting();
  context_.TryCancel();
}

void ActorCallStream::OnWriteDone(bool ok) {
  const rpc::PushTaskRequest* next = nullptr;
  bool release = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    outgoing_.pop_front();
    if (!ok) stopped_ = true;  // The call is over; reads end too.
    if (stopped_) {
      outgoing_.clear();
      writing_ = false;
      if (!hold_released_) {
        hold_released_ = true;
        release = true;
      }
    } else if (!outgoing_.empty()) {
      next = outgoing_.front().get();
    } else {
      writing_ = false;
    }
  }
  if (next != nullptr) StartWrite(next);
  if (release) RemoveHold();
}

void ActorCallStream::OnReadInitialMetadataDone(bool ok) {
  if (ok) reached_worker_ = true;
}

void ActorCallStream::OnReadDone(bool ok) {
  if (!ok) {
    StopWriting();
    on_end_(this, reached_worker_);
    return;
  }
  // Handled before the next read, so that the end handler sees every answer
  // that came before the end.
  rpc::PushTaskStreamReply answer = std::move(incoming_);
  incoming_.Clear();
  on_reply_(answer.sequence_number(),
            grpc::Status(static_cast<grpc::StatusCode>(answer.status_code()),
                         answer.status_message()),
            std::move(*answer.mutable_reply()));
  StartRead(&incoming_);
}

void ActorCallStream::OnDone(const grpc::Status&) {
  if (registry_ != nullptr) registry_->Remove(this);
  auto self = std::move(self_);  // May be the last reference.
}

}  // namespace comet::core
