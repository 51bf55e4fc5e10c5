#include "src/comet/core_worker/core_worker_service.h"

#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>

#include "src/comet/common/logging.h"

#include "src/comet/core_worker/core_worker.h"

namespace comet::core {
namespace {

// A task of a unary PushTask: answered by finishing the call.
struct UnaryTask final : ReceivedTask {
  void Respond(const grpc::Status& status) override { reactor->Finish(status); }
  grpc::ServerUnaryReactor* reactor = nullptr;
};

}  // namespace

grpc::ServerUnaryReactor* CoreWorkerServiceImpl::PushTask(grpc::CallbackServerContext* context,
                                                          const rpc::PushTaskRequest* request,
                                                          rpc::PushTaskReply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (request->intended_worker_id() != worker_->worker_id().Binary()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                 "task pushed to the wrong worker"));
    return reactor;
  }
  auto task = std::make_unique<UnaryTask>();
  task->request = request;
  task->reply = reply;
  task->reactor = reactor;
  auto task_id = TaskID::FromBinary(request->task_spec().task_id());
  task->task_id = task_id.ok() ? *task_id : TaskID::Nil();
  worker_->receiver().Enqueue(std::move(task));
  return reactor;
}

grpc::ServerBidiReactor<rpc::PushTaskRequest, rpc::PushTaskStreamReply>*
CoreWorkerServiceImpl::PushTaskStream(grpc::CallbackServerContext*) {
  return PushTaskStreamReactor::Start(&worker_->receiver(), worker_->worker_id().Binary(),
                                      &worker_->server_streams());
}

grpc::ServerUnaryReactor* CoreWorkerServiceImpl::GetObjectStatus(
    grpc::CallbackServerContext* context, const rpc::GetObjectStatusRequest* request,
    rpc::GetObjectStatusReply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  worker_->HandleGetObjectStatus(*request, [reactor, reply](rpc::GetObjectStatusReply result) {
    *reply = std::move(result);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* CoreWorkerServiceImpl::CancelTask(grpc::CallbackServerContext* context,
                                                            const rpc::CancelTaskRequest* request,
                                                            rpc::CancelTaskReply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto task_id = TaskID::FromBinary(request->task_id());
  // Children first, so that the interrupted task does not spawn more.
  if (task_id.ok() && request->recursive()) worker_->CancelChildren(*task_id, request->force_kill());
  reply->set_attempt_succeeded(task_id.ok() && worker_->receiver().Cancel(*task_id));
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* CoreWorkerServiceImpl::ReportGeneratorItem(
    grpc::CallbackServerContext* context, const rpc::ReportGeneratorItemRequest* request,
    rpc::ReportGeneratorItemReply*) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto task_id = TaskID::FromBinary(request->generator_task_id());
  if (!task_id.ok()) {
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  // Under backpressure the answer waits for the reader; the executor waits
  // for the answer.
  worker_->task_manager().AddGeneratorItem(*task_id, request->item_index(), request->item(),
                                           [reactor] { reactor->Finish(grpc::Status::OK); });
  return reactor;
}

grpc::ServerUnaryReactor* CoreWorkerServiceImpl::GetObjectRefs(
    grpc::CallbackServerContext* context, const rpc::GetObjectRefsRequest*,
    rpc::GetObjectRefsReply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  *reply = worker_->ObjectRefs();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* CoreWorkerServiceImpl::AddObjectLocation(
    grpc::CallbackServerContext* context, const rpc::AddObjectLocationRequest* request,
    rpc::AddObjectLocationReply*) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto id = ObjectID::FromBinary(request->object_id());
  if (id.ok()) worker_->AddObjectLocation(*id, request->node_id());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* CoreWorkerServiceImpl::KillActor(grpc::CallbackServerContext* context,
                                                           const rpc::KillActorRequest* request,
                                                           rpc::KillActorReply*) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  COMET_LOG(INFO) << "actor kill requested (force=" << request->force_kill()
                  << "): " << request->reason();
  if (request->force_kill()) {
    reactor->Finish(grpc::Status::OK);
    // Leave at once, after the reply had a moment to go out.
    std::thread([] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      std::_Exit(0);
    }).detach();
    return reactor;
  }
  worker_->receiver().Drain();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* CoreWorkerServiceImpl::Exit(grpc::CallbackServerContext* context,
                                                      const rpc::ExitRequest*,
                                                      rpc::ExitReply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  worker_->receiver().Stop();
  reply->set_success(true);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace comet::core
