#include "src/comet/core_worker/push_task_stream.h"

#include <utility>
#include <vector>

namespace comet::core {
namespace {

// A task read from a stream: owns its request and reply, and answers on the
// stream it came from (as aborted if it is dropped unanswered).
struct StreamedTask final : ReceivedTask {
  StreamedTask(std::shared_ptr<PushTaskStreamReactor> from, rpc::PushTaskRequest pushed)
      : stream(std::move(from)), owned_request(std::move(pushed)) {
    request = &owned_request;
    reply = &owned_reply;
    auto id = TaskID::FromBinary(owned_request.task_spec().task_id());
    task_id = id.ok() ? *id : TaskID::Nil();
  }
  ~StreamedTask() override {
    if (!responded) Respond(grpc::Status(grpc::StatusCode::ABORTED, "the task was dropped"));
  }
  void Respond(const grpc::Status& status) override {
    responded = true;
    stream->Respond(owned_request.task_spec().actor_task().sequence_number(), status,
                    std::move(owned_reply));
  }

  std::shared_ptr<PushTaskStreamReactor> stream;
  rpc::PushTaskRequest owned_request;
  rpc::PushTaskReply owned_reply;
  bool responded = false;
};

}  // namespace

PushTaskStreamReactor* PushTaskStreamReactor::Start(TaskReceiver* receiver, std::string worker_id,
                                                    ServerStreams* streams) {
  std::shared_ptr<PushTaskStreamReactor> stream(
      new PushTaskStreamReactor(receiver, std::move(worker_id), streams));
  stream->self_ = stream;
  if (!streams->Add(stream)) {
    stream->finished_ = true;  // Not shared with anyone yet.
    stream->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "worker is exiting"));
    return stream.get();
  }
  // Tells the caller at once that its stream reached this worker (so that a
  // stream that never did can be retried without spending a call's retries).
  stream->StartSendInitialMetadata();
  stream->StartRead(&stream->incoming_);
  return stream.get();
}

bool PushTaskStreamReactor::ShouldFinish() {
  if (finished_ || writing_) return false;
  if (!closing_ && !(reads_done_ && unanswered_ == 0)) return false;
  finished_ = true;
  return true;
}

void PushTaskStreamReactor::OnReadDone(bool ok) {
  if (!ok) {
    bool finish = false;
    grpc::Status status;
    {
      std::lock_guard<std::mutex> lock(mu_);
      reads_done_ = true;
      finish = ShouldFinish();
      status = final_status_;
    }
    if (finish) Finish(status);
    return;
  }
  auto task = std::make_unique<StreamedTask>(self_, std::move(incoming_));
  incoming_.Clear();
  bool finished = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    unanswered_++;
    finished = finished_;
  }
  if (task->request->intended_worker_id() != worker_id_) {
    task->Respond(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                               "task pushed to the wrong worker"));
  } else {
    receiver_->Enqueue(std::move(task));
  }
  if (!finished) StartRead(&incoming_);
}

void PushTaskStreamReactor::Respond(int64_t sequence, const grpc::Status& status,
                                    rpc::PushTaskReply reply) {
  const rpc::PushTaskStreamReply* next = nullptr;
  bool finish = false;
  grpc::Status final_status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    unanswered_--;
    if (finished_ || closing_) {
      finish = ShouldFinish();
      final_status = final_status_;
    } else {
      rpc::PushTaskStreamReply& answer = outgoing_.emplace_back();
      answer.set_sequence_number(sequence);
      answer.set_status_code(static_cast<int32_t>(status.error_code()));
      answer.set_status_message(status.error_message());
      if (status.ok()) *answer.mutable_reply() = std::move(reply);
      if (!writing_) {
        writing_ = true;
        next = &outgoing_.front();
      }
    }
  }
  // Finish waits for writing_ to clear, so the write cannot follow it.
  if (next != nullptr) StartWrite(next);
  if (finish) Finish(final_status);
}

void PushTaskStreamReactor::OnWriteDone(bool ok) {
  const rpc::PushTaskStreamReply* next = nullptr;
  bool finish = false;
  grpc::Status final_status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    outgoing_.pop_front();
    if (!ok) {
      if (!closing_) {
        closing_ = true;
        final_status_ = grpc::Status(grpc::StatusCode::CANCELLED, "the caller went away");
      }
      draining_ = false;
    }
    // A worker that exits still sends the answers it has (calls that ran).
    if (!outgoing_.empty() && (!closing_ || draining_)) {
      next = &outgoing_.front();
    } else {
      if (closing_) outgoing_.clear();
      writing_ = false;
      finish = ShouldFinish();
      final_status = final_status_;
    }
  }
  if (next != nullptr) StartWrite(next);
  if (finish) Finish(final_status);
}

void PushTaskStreamReactor::OnCancel() {
  CloseWith(grpc::Status(grpc::StatusCode::CANCELLED, "the caller cancelled"), false);
}

void PushTaskStreamReactor::Close() {
  CloseWith(grpc::Status(grpc::StatusCode::UNAVAILABLE, "worker is exiting"), true);
}

void PushTaskStreamReactor::CloseWith(const grpc::Status& status, bool drain) {
  bool finish = false;
  grpc::Status final_status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closing_) {
      closing_ = true;
      final_status_ = status;
      draining_ = drain;
    } else if (!drain) {
      draining_ = false;  // the caller cancelled while answers were draining
    }
    finish = ShouldFinish();
    final_status = final_status_;
  }
  if (finish) Finish(final_status);
}

void PushTaskStreamReactor::OnDone() {
  streams_->Remove(this);
  auto self = std::move(self_);  // Tasks still queued may hold it a while.
}

bool ServerStreams::Add(const std::shared_ptr<PushTaskStreamReactor>& stream) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return false;
  open_[stream.get()] = stream;
  return true;
}

void ServerStreams::Remove(const PushTaskStreamReactor* stream) {
  std::lock_guard<std::mutex> lock(mu_);
  open_.erase(stream);
}

void ServerStreams::CloseAll() {
  std::vector<std::shared_ptr<PushTaskStreamReactor>> open;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    for (const auto& [raw, weak] : open_) {
      if (auto stream = weak.lock()) open.push_back(std::move(stream));
    }
  }
  for (const auto& stream : open) stream->Close();
}

}  // namespace comet::core
