#include "src/comet/core_worker/core_worker.h"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "src/comet/common/logging.h"
#include "src/comet/common/status_macros.h"
#include "src/comet/core_worker/core_worker_gcs_calls.h"
#include "src/comet/core_worker/core_worker_service.h"
#include "src/comet/rpc/async_call.h"
#include "src/comet/rpc/grpc_auth.h"

namespace comet::core {
namespace {

// Put ids use the upper half of the index space; returns use 1..n.
constexpr uint32_t kPutIndexBase = 0x80000000u;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

CoreWorker::CoreWorker(CoreWorkerOptions options)
    : options_(std::move(options)),
      references_([this](const ObjectID& id, bool owned) { OnObjectFreed(id, owned); }),
      task_manager_(TaskManager::Callbacks{
          [this](const ObjectID& id, ObjectPtr obj) { StoreReturn(id, std::move(obj)); },
          [this](const ObjectID& id, ObjectPtr obj) {
            references_.AddOwnedObject(id);
            memory_store_.Put(id, std::move(obj));
          },
          [this](const rpc::TaskSpec& spec) { Resubmit(spec); },
          [this](const std::vector<ObjectID>& args) {
            references_.RemoveSubmittedTaskReferences(args);
          },
          [this](const rpc::TaskSpec& spec, rpc::TaskRow::State state, const std::string& error) {
            RecordTaskEvent(spec, state, error, /*executor=*/false);
          }}),
      actor_submitter_(options_.worker_id, &task_manager_, &workers_, &calls_,
                       [this](const ActorID& actor_id) { ReleaseActor(actor_id); },
                       options_.actor_death_cause_wait) {}

CoreWorker::~CoreWorker() { Shutdown(); }

absl::Status CoreWorker::FromGrpc(const grpc::Status& status, absl::string_view what) const {
  if (status.ok()) return absl::OkStatus();
  // A refused token keeps its code and says where this process's token came
  // from; any other failure means the peer could not be reached.
  absl::Status explained = rpc::ExplainRefusal(status, options_.auth);
  return absl::Status(absl::IsUnauthenticated(explained) ? explained.code()
                                                         : absl::StatusCode::kUnavailable,
                      absl::StrCat(what, ": ", explained.message()));
}

absl::StatusOr<std::shared_ptr<CoreWorker>> CoreWorker::Create(CoreWorkerOptions options) {
  std::shared_ptr<CoreWorker> worker(new CoreWorker(std::move(options)));
  RETURN_IF_ERROR(worker->Start());
  return worker;
}

absl::Status CoreWorker::Start() {
  ASSIGN_OR_RETURN(plasma_, plasma::PlasmaClient::Connect(
                                options_.plasma_socket,
                                absl::StrCat(options_.is_driver ? "driver-" : "worker-", getpid())));
  gcs_client::GcsClientOptions gcs_options;
  gcs_options.address = options_.gcs_address;
  gcs_options.auth = options_.auth;
  gcs_options.call_timeout = absl::Milliseconds(kGcsTimeoutMs);
  gcs_options.reconnect_timeout = options_.gcs_reconnect_timeout;
  // A driver pointed at no GCS says so at once; a worker's GCS has answered
  // its raylet, so the worker waits out a restart from its first call.
  gcs_options.fail_fast_until_answered = options_.is_driver;
  gcs_ = std::make_unique<gcs_client::GcsRpcClient>(std::move(gcs_options));
  task_events_ = std::make_unique<TaskEventBuffer>(gcs_.get(), absl::Seconds(1), 100000,
                                                   auth_stats_);

  service_ = std::make_unique<CoreWorkerServiceImpl>(this);
  grpc::ServerBuilder builder;
  int port = 0;
  RETURN_IF_ERROR(
      rpc::AddListeningPort(&builder, options_.node_ip, 0, options_.auth, auth_stats_, &port));
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<int64_t>(options_.max_request_bytes, INT_MAX)));
  builder.SetMaxSendMessageSize(-1);
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("core worker cannot listen on ", options_.node_ip));
  }
  address_.set_node_id(options_.node_id.Binary());
  address_.set_ip_address(options_.node_ip);
  address_.set_port(port);
  address_.set_worker_id(options_.worker_id.Binary());

  SubmitterOptions submitter_options;
  submitter_options.raylet_address = options_.raylet_address;
  submitter_options.max_direct_call_object_size = options_.max_direct_call_object_size;
  submitter_options.max_tasks_in_flight_per_worker = options_.max_tasks_in_flight_per_worker;
  submitter_options.calls = &calls_;
  submitter_options.node_id = options_.node_id.Binary();
  submitter_options.worker_id = options_.worker_id.Binary();
  submitter_ = std::make_unique<NormalTaskSubmitter>(
      submitter_options, &task_manager_, &memory_store_,
      [this](const ObjectID& id) { return references_.IsOwned(id); }, &raylets_, &workers_);
  return options_.is_driver ? RegisterDriver() : RegisterWorker();
}

absl::Status CoreWorker::RegisterDriver() {
  rpc::GetNextJobIDReply next;
  RETURN_IF_ERROR(FromGrpc(
      CallGcs([&](grpc::ClientContext* c) { return gcs_->jobs().GetNextJobID(c, {}, &next); }),
      absl::StrCat("cannot reach the GCS at ", options_.gcs_address)));
  ASSIGN_OR_RETURN(job_id_, JobID::FromBinary(next.job_id()));
  rpc::AddJobRequest request;
  rpc::JobInfo* info = request.mutable_job_info();
  info->set_job_id(job_id_.Binary());
  info->set_start_time_ms(NowMs());
  info->set_driver_pid(getpid());
  info->set_entrypoint(options_.entrypoint);
  info->set_namespace_(options_.ray_namespace);
  *info->mutable_driver_address() = address_;
  rpc::AddJobReply reply;
  RETURN_IF_ERROR(FromGrpc(CallGcs([&](grpc::ClientContext* c) { return gcs_->jobs().AddJob(c, request, &reply); }), "AddJob"));
  RETURN_IF_ERROR(RegisterDriverWithRaylet());
  SetCurrentTask(TaskID::ForDriverTask(job_id_), job_id_);
  return absl::OkStatus();
}

absl::Status CoreWorker::RegisterDriverWithRaylet() {
  rpc::RegisterDriverRequest request;
  request.set_job_id(job_id_.Binary());
  request.set_worker_id(options_.worker_id.Binary());
  request.set_pid(getpid());
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  rpc::RegisterDriverReply reply;
  return FromGrpc(
      raylets_.Get(options_.raylet_address)->RegisterDriver(&ctx, request, &reply),
      "cannot register the driver with the raylet");
}

absl::Status CoreWorker::RegisterWorker() {
  rpc::RegisterWorkerRequest request;
  request.set_worker_id(options_.worker_id.Binary());
  request.set_pid(getpid());
  request.set_port(address_.port());
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  rpc::RegisterWorkerReply reply;
  return FromGrpc(
      raylets_.Get(options_.raylet_address)->RegisterWorker(&ctx, request, &reply),
      "cannot register with the raylet");
}

absl::Status CoreWorker::ReportMetrics(rpc::ReportMetricsRequest request) {
  request.set_worker_id(options_.worker_id.Binary());
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  rpc::ReportMetricsReply reply;
  return FromGrpc(raylets_.Get(options_.raylet_address)->ReportMetrics(&ctx, request, &reply),
                  "the raylet refused the application metrics");
}

void CoreWorker::Shutdown() {
  if (shut_down_.exchange(true)) return;
  receiver_.Stop();
  server_streams_.CloseAll();
  if (options_.is_driver && !job_id_.IsNil()) {
    rpc::MarkJobFinishedRequest request;
    request.set_job_id(job_id_.Binary());
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    rpc::MarkJobFinishedReply reply;
    gcs_->jobs().MarkJobFinished(&ctx, request, &reply);
  }
  {
    absl::MutexLock lock(&mu_);
    if (poll_context_ != nullptr) poll_context_->TryCancel();
  }
  if (actor_poller_.joinable()) actor_poller_.join();
  // No callback may run into this object once it is gone.
  calls_.CancelAllAndWait();
  if (task_events_) task_events_->Stop();
  // Reports held back by generator backpressure are answered, or the
  // server would wait for them.
  task_manager_.ReleaseHeldReports();
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  if (plasma_) plasma_->Disconnect();
}

bool CoreWorker::CountCallAndCheckMaxCalls(const rpc::TaskSpec& spec) {
  if (spec.max_calls() <= 0 || spec.type() != rpc::NORMAL_TASK) return false;
  absl::MutexLock lock(&mu_);
  return ++calls_by_function_[spec.function_id()] >= spec.max_calls();
}

void CoreWorker::RecordTaskEvent(const rpc::TaskSpec& spec, rpc::TaskRow::State state,
                                 const std::string& error, bool executor) {
  if (!task_events_ || spec.disable_task_events()) return;
  rpc::TaskEvent event;
  event.set_time_ms(absl::ToUnixMillis(absl::Now()));
  rpc::TaskRow* row = event.mutable_row();
  row->set_task_id(spec.task_id());
  row->set_attempt(spec.attempt_number());
  row->set_state(state);
  row->set_error(error);
  if (executor) {
    // Where it runs (an actor's creation task has no owner-side events).
    row->set_node_id(options_.node_id.Binary());
    row->set_worker_id(options_.worker_id.Binary());
    row->set_worker_pid(static_cast<int32_t>(getpid()));
  }
  row->set_job_id(spec.job_id());
  row->set_name(spec.name().empty() ? spec.function_name() : spec.name());
  row->set_func_name(spec.function_name());
  row->set_type(spec.type());
  if (spec.type() == rpc::ACTOR_TASK) row->set_actor_id(spec.actor_task().actor_id());
  if (spec.type() == rpc::ACTOR_CREATION_TASK) row->set_actor_id(spec.actor_creation().actor_id());
  task_events_->Record(std::move(event));
}

void CoreWorker::Resubmit(const rpc::TaskSpec& spec) {
  if (spec.type() == rpc::ACTOR_TASK) {
    actor_submitter_.Submit(spec);
  } else {
    submitter_->Submit(spec);
  }
}

TaskID CoreWorker::current_task_id() const {
  absl::MutexLock lock(&mu_);
  return current_task_;
}

void CoreWorker::SetCurrentTask(const TaskID& task_id, const JobID& job_id) {
  absl::MutexLock lock(&mu_);
  current_task_ = task_id;
  if (!job_id.IsNil()) job_id_ = job_id;
}

void CoreWorker::RegisterBorrowed(const ObjectID& id, const rpc::Address& owner) {
  if (owner.worker_id() == options_.worker_id.Binary()) return;
  references_.AddBorrowedObject(id, owner);
  absl::MutexLock lock(&mu_);
  owners_.try_emplace(id, owner);
}

rpc::Address CoreWorker::OwnerOf(const ObjectID& id) const {
  if (references_.IsOwned(id)) return address_;
  absl::MutexLock lock(&mu_);
  auto it = owners_.find(id);
  return it == owners_.end() ? address_ : it->second;
}

ObjectID CoreWorker::NextPutId() {
  return ObjectID::FromIndex(current_task_id(), kPutIndexBase + put_counter_++);
}

void CoreWorker::PutInline(const ObjectID& id, std::string data, std::string metadata,
                           std::vector<rpc::ObjectReference> nested) {
  references_.AddOwnedObject(id);
  for (const auto& ref : nested) {
    auto nested_id = ObjectID::FromBinary(ref.object_id());
    if (nested_id.ok()) references_.MarkEscaped(*nested_id);
  }
  auto obj = std::make_shared<RayObject>();
  obj->size = static_cast<int64_t>(data.size() + metadata.size());
  obj->data = std::move(data);
  obj->metadata = std::move(metadata);
  obj->nested_refs = std::move(nested);
  memory_store_.Put(id, std::move(obj));
}

absl::StatusOr<plasma::MutableObjectBuffer> CoreWorker::CreatePlasma(const ObjectID& id,
                                                                     uint64_t data_size,
                                                                     uint64_t metadata_size) {
  return plasma_->Create(id, data_size, metadata_size, /*primary=*/true);
}

absl::Status CoreWorker::SealPlasma(const ObjectID& id, bool owned, int64_t size) {
  RETURN_IF_ERROR(plasma_->Seal(id));
  if (owned) {
    references_.AddOwnedObject(id);
    memory_store_.Put(id, RayObject::InPlasma(size, options_.node_id.Binary()));
  }
  return absl::OkStatus();
}

void CoreWorker::OnObjectFreed(const ObjectID& id, bool owned) {
  ObjectPtr obj = memory_store_.Get(id);
  memory_store_.Delete(id);
  bool remote_copies = false;
  {
    absl::MutexLock lock(&mu_);
    owners_.erase(id);
    requested_.erase(id);
    auto it = copies_.find(id);
    if (it != copies_.end()) {
      remote_copies = true;
      copies_.erase(it);
    }
  }
  if (!owned || obj == nullptr || !obj->in_plasma || shut_down_) return;
  auto deleted = plasma_->Delete({id});
  if (!deleted.ok()) COMET_LOG(WARNING) << "plasma delete failed: " << deleted.status();
  if (remote_copies || (!obj->node_id.empty() && obj->node_id != options_.node_id.Binary())) {
    // Copies on other nodes: the local raylet forwards the free to them.
    rpc::FreeObjectsRequest request;
    request.add_object_ids(id.Binary());
    request.set_forward(true);
    auto stub = raylets_.Get(options_.raylet_address);
    rpc::CallAsync<rpc::FreeObjectsRequest, rpc::FreeObjectsReply>(
        [stub](auto* ctx, auto* req, auto* reply, auto done) {
          stub->async()->FreeObjects(ctx, req, reply, std::move(done));
        },
        std::move(request), [](const grpc::Status&, rpc::FreeObjectsReply&&) {}, 10000, &calls_);
  }
}

rpc::GetObjectRefsReply CoreWorker::ObjectRefs() const {
  rpc::GetObjectRefsReply reply;
  *reply.mutable_address() = address_;
  reply.set_pid(static_cast<int32_t>(getpid()));
  reply.set_is_driver(options_.is_driver);
  for (const auto& [id, entry] : references_.Snapshot()) {
    rpc::ObjectRefInfo* info = reply.add_objects();
    info->set_object_id(id.Binary());
    info->set_ownership(entry.owned ? "OWNED" : "BORROWED");
    info->set_local_refs(entry.local);
    info->set_submitted_task_refs(entry.submitted);
    info->set_escaped(entry.escaped);
    ObjectPtr obj = memory_store_.Get(id);
    info->set_size(obj ? obj->size : -1);
    if (obj && obj->in_plasma) {
      info->set_in_plasma(true);
      info->set_node_id(obj->node_id);
    }
  }
  return reply;
}

void CoreWorker::AddObjectLocation(const ObjectID& id, const std::string& node_id) {
  if (node_id.empty()) return;
  absl::MutexLock lock(&mu_);
  std::vector<std::string>& copies = copies_[id];
  if (std::find(copies.begin(), copies.end(), node_id) == copies.end()) copies.push_back(node_id);
}

std::vector<std::string> CoreWorker::LocationsOf(const ObjectID& id,
                                                 const RayObject& object) const {
  std::vector<std::string> out;
  if (!object.node_id.empty()) out.push_back(object.node_id);
  absl::MutexLock lock(&mu_);
  auto it = copies_.find(id);
  if (it != copies_.end()) {
    for (const std::string& node : it->second) {
      if (std::find(out.begin(), out.end(), node) == out.end()) out.push_back(node);
    }
  }
  return out;
}

std::vector<std::string> CoreWorker::PullObjects(const std::vector<ObjectID>& ids,
                                                 const std::vector<ObjectPtr>& objects,
                                                 absl::Duration timeout) {
  rpc::PullObjectsRequest request;
  for (size_t i = 0; i < ids.size(); ++i) {
    rpc::ObjectToPull* pull = request.add_objects();
    pull->set_object_id(ids[i].Binary());
    if (objects[i] != nullptr) {
      pull->set_size(objects[i]->size);
      for (std::string& node : LocationsOf(ids[i], *objects[i])) pull->add_node_ids(std::move(node));
    }
    *pull->mutable_owner_address() = OwnerOf(ids[i]);
  }
  request.set_timeout_ms(absl::ToInt64Milliseconds(timeout));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  rpc::PullObjectsReply reply;
  grpc::Status status = raylets_.Get(options_.raylet_address)->PullObjects(&ctx, request, &reply);
  std::vector<std::string> errors(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!status.ok()) {
      errors[i] = status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
                      ? "timeout"
                      : absl::StrCat("the local raylet failed the pull: ", status.error_message());
    } else if (static_cast<int>(i) < reply.errors_size()) {
      errors[i] = reply.errors(static_cast<int>(i));
    }
  }
  return errors;
}

void CoreWorker::StoreReturn(const ObjectID& id, ObjectPtr object) {
  if (!references_.InScope(id)) {
    // Nobody wants the value any more: free a plasma copy at once.
    if (object->in_plasma && !shut_down_) plasma_->Delete({id}).IgnoreError();
    return;
  }
  // References of this process's objects serialized into the value (a
  // DynamicObjectRefGenerator's items, a ref the task handed back) escaped
  // into it: kept, as those inside a put value are.
  for (const rpc::ObjectReference& nested : object->nested_refs) {
    auto nested_id = ObjectID::FromBinary(nested.object_id());
    if (nested_id.ok()) references_.MarkEscaped(*nested_id);
  }
  memory_store_.Put(id, std::move(object));
}

void CoreWorker::RequestFromOwner(const ObjectID& id) {
  rpc::Address owner;
  {
    absl::MutexLock lock(&mu_);
    auto it = owners_.find(id);
    if (it == owners_.end() || !requested_.insert(id).second) return;
    owner = it->second;
  }
  rpc::GetObjectStatusRequest request;
  request.set_object_id(id.Binary());
  request.set_timeout_ms(-1);
  auto stub = workers_.Get(absl::StrCat(owner.ip_address(), ":", owner.port()));
  rpc::CallAsync<rpc::GetObjectStatusRequest, rpc::GetObjectStatusReply>(
      [stub](auto* ctx, auto* req, auto* reply, auto done) {
        stub->async()->GetObjectStatus(ctx, req, reply, std::move(done));
      },
      std::move(request),
      [this, id](const grpc::Status& status, rpc::GetObjectStatusReply&& reply) {
        if (!status.ok()) {
          memory_store_.Put(id, RayObject::Error(kOwnerDied,
                                                 absl::StrCat("the owner of object ", id.Hex(),
                                                              " died: ", status.error_message())));
          return;
        }
        if (reply.status() != rpc::GetObjectStatusReply::CREATED) {
          memory_store_.Put(id, RayObject::Error(kObjectFreed,
                                                 absl::StrCat("object ", id.Hex(),
                                                              " was freed by its owner")));
          return;
        }
        rpc::ReturnObject ret;
        ret.set_in_plasma(reply.in_plasma());
        ret.set_plasma_node_id(reply.plasma_node_id());
        ret.set_size(reply.size());
        for (const std::string& node : reply.node_ids()) AddObjectLocation(id, node);
        *ret.mutable_value() = std::move(*reply.mutable_value());
        memory_store_.Put(id, TaskManager::ToObject(ret));
      }, -1, &calls_);
}

std::vector<ObjectPtr> CoreWorker::Get(const std::vector<ObjectID>& ids, absl::Time deadline) {
  for (const ObjectID& id : ids) {
    if (!memory_store_.Contains(id) && !references_.IsOwned(id)) RequestFromOwner(id);
  }
  return memory_store_.Wait(ids, ids.size(), deadline);
}

void CoreWorker::OnReady(const ObjectID& id, std::function<void()> callback) {
  if (!memory_store_.Contains(id) && !references_.IsOwned(id)) RequestFromOwner(id);
  memory_store_.GetAsync(id, [callback = std::move(callback)](ObjectPtr) { callback(); });
}

std::vector<bool> CoreWorker::Wait(const std::vector<ObjectID>& ids, size_t num_returns,
                                   absl::Time deadline) {
  for (const ObjectID& id : ids) {
    if (!memory_store_.Contains(id) && !references_.IsOwned(id)) RequestFromOwner(id);
  }
  std::vector<ObjectPtr> found = memory_store_.Wait(ids, num_returns, deadline);
  std::vector<bool> ready;
  ready.reserve(found.size());
  for (const ObjectPtr& obj : found) ready.push_back(obj != nullptr);
  return ready;
}

std::vector<ObjectID> CoreWorker::TrackNewTask(const rpc::TaskSpec& spec, const TaskID& task_id) {
  std::vector<ObjectID> returns;
  if (spec.dynamic_returns()) {
    // num_returns="dynamic": one return, the DynamicObjectRefGenerator.
    ObjectID id = TaskManager::GeneratorCompletionId(task_id);
    references_.AddOwnedObject(id);
    returns.push_back(id);
  }
  for (int i = 1; i <= spec.num_returns(); ++i) {
    ObjectID id = ObjectID::FromIndex(task_id, i);
    references_.AddOwnedObject(id);
    returns.push_back(id);
  }
  // Top-level reference arguments stay alive while the task is pending;
  // references nested in inline values escape (no borrower tracking yet).
  std::vector<ObjectID> arg_refs;
  for (const rpc::TaskArg& arg : spec.args()) {
    if (arg.has_ref()) {
      auto id = ObjectID::FromBinary(arg.ref().object_id());
      if (id.ok()) arg_refs.push_back(*id);
    } else {
      for (const auto& ref : arg.value().nested_refs()) {
        auto id = ObjectID::FromBinary(ref.object_id());
        if (id.ok()) references_.MarkEscaped(*id);
      }
    }
  }
  references_.AddSubmittedTaskReferences(arg_refs);
  task_manager_.AddPendingTask(spec, std::move(arg_refs));
  return returns;
}

void CoreWorker::NotifyBlocked() {
  if (options_.is_driver) return;
  rpc::NotifyWorkerBlockedRequest request;
  request.set_worker_id(options_.worker_id.Binary());
  auto stub = raylets_.Get(options_.raylet_address);
  rpc::CallAsync<rpc::NotifyWorkerBlockedRequest, rpc::NotifyWorkerBlockedReply>(
      [stub](auto* ctx, auto* req, auto* reply, auto done) {
        stub->async()->NotifyWorkerBlocked(ctx, req, reply, std::move(done));
      },
      std::move(request), [](const grpc::Status&, rpc::NotifyWorkerBlockedReply&&) {}, -1, &calls_);
}

void CoreWorker::NotifyUnblocked() {
  if (options_.is_driver) return;
  rpc::NotifyWorkerUnblockedRequest request;
  request.set_worker_id(options_.worker_id.Binary());
  auto stub = raylets_.Get(options_.raylet_address);
  rpc::CallAsync<rpc::NotifyWorkerUnblockedRequest, rpc::NotifyWorkerUnblockedReply>(
      [stub](auto* ctx, auto* req, auto* reply, auto done) {
        stub->async()->NotifyWorkerUnblocked(ctx, req, reply, std::move(done));
      },
      std::move(request), [](const grpc::Status&, rpc::NotifyWorkerUnblockedReply&&) {}, -1, &calls_);
}

std::vector<ObjectID> CoreWorker::SubmitTask(rpc::TaskSpec spec, TaskID* task_id_out) {
  TaskID parent = current_task_id();
  TaskID task_id = TaskID::ForNormalTask(job_id_, parent, task_counter_++);
  if (task_id_out != nullptr) *task_id_out = task_id;
  spec.set_task_id(task_id.Binary());
  spec.set_job_id(job_id_.Binary());
  spec.set_parent_task_id(parent.Binary());
  *spec.mutable_caller_address() = address_;
  std::vector<ObjectID> returns = TrackNewTask(spec, task_id);
  submitter_->Submit(std::move(spec));
  return returns;
}

absl::StatusOr<bool> CoreWorker::Cancel(const ObjectID& id, bool force, bool recursive) {
  return CancelTask(id.TaskId(), force, recursive);
}

absl::StatusOr<bool> CoreWorker::CancelTask(const TaskID& task_id, bool force, bool recursive) {
  // An actor's tasks carry its id (a normal task's is its job's nil one).
  bool of_an_actor = task_id.ActorId() != ActorID::NilFromJob(task_id.JobId());
  if (force && of_an_actor) {
    return absl::InvalidArgumentError(
        "force=True is not supported for actor tasks; use comet.kill(actor) to kill an actor");
  }
  std::optional<rpc::TaskSpec> spec = task_manager_.GetSpec(task_id);
  if (!spec.has_value()) return false;  // done, or not this process's
  if (spec->type() != rpc::ACTOR_TASK) return submitter_->Cancel(task_id, force, recursive);
  // As in Ray: a call not started is dropped; a running one is not
  // interrupted (a sync actor's call sees get_runtime_context().is_canceled(),
  // an async actor's asyncio task is cancelled).
  task_manager_.MarkCancelled(task_id);
  rpc::Address worker;
  switch (actor_submitter_.Cancel(task_id, &worker)) {
    case ActorTaskSubmitter::CancelOutcome::kUnknown:
      return false;
    case ActorTaskSubmitter::CancelOutcome::kCancelledHere:
      return true;
    case ActorTaskSubmitter::CancelOutcome::kSent:
      break;
  }
  rpc::CancelTaskRequest request;
  request.set_task_id(task_id.Binary());
  request.set_recursive(recursive);
  auto stub = workers_.Get(absl::StrCat(worker.ip_address(), ":", worker.port()));
  rpc::CallAsync<rpc::CancelTaskRequest, rpc::CancelTaskReply>(
      [stub](auto* ctx, auto* req, auto* reply, auto done) {
        stub->async()->CancelTask(ctx, req, reply, std::move(done));
      },
      std::move(request), [](const grpc::Status&, rpc::CancelTaskReply&&) {}, -1, &calls_);
  return true;
}

void CoreWorker::CancelChildren(const TaskID& parent, bool force) {
  for (const TaskID& child : task_manager_.ChildrenOf(parent)) {
    auto spec = task_manager_.GetSpec(child);
    if (!spec.has_value()) continue;
    if (spec->type() == rpc::NORMAL_TASK) {
      submitter_->Cancel(child, force, /*recursive=*/true);
    } else if (spec->type() == rpc::ACTOR_TASK) {
      // As Ray does, force does not reach child actor tasks.
      CancelTask(child, /*force=*/false, /*recursive=*/true).IgnoreError();
    }
  }
}

absl::Status CoreWorker::ReportGeneratorItem(const rpc::Address& owner, const TaskID& task_id,
                                             int64_t index, const rpc::ReturnObject& item) {
  rpc::ReportGeneratorItemRequest request;
  request.set_generator_task_id(task_id.Binary());
  request.set_item_index(index);
  *request.mutable_item() = item;
  grpc::ClientContext ctx;
  rpc::ReportGeneratorItemReply reply;
  auto stub = workers_.Get(absl::StrCat(owner.ip_address(), ":", owner.port()));
  return FromGrpc(stub->ReportGeneratorItem(&ctx, request, &reply), "ReportGeneratorItem");
}

void CoreWorker::HandleGetObjectStatus(const rpc::GetObjectStatusRequest& request,
                                       std::function<void(rpc::GetObjectStatusReply)> reply) {
  auto id = ObjectID::FromBinary(request.object_id());
  if (!id.ok() || (!references_.InScope(*id) && !memory_store_.Contains(*id))) {
    rpc::GetObjectStatusReply out;
    out.set_status(rpc::GetObjectStatusReply::OUT_OF_SCOPE);
    reply(std::move(out));
    return;
  }
  memory_store_.GetAsync(*id, [this, id = *id, reply = std::move(reply)](ObjectPtr obj) {
    rpc::GetObjectStatusReply out;
    out.set_status(rpc::GetObjectStatusReply::CREATED);
    out.set_in_plasma(obj->in_plasma);
    if (obj->in_plasma) {
      out.set_plasma_node_id(obj->node_id);
      for (std::string& node : LocationsOf(id, *obj)) out.add_node_ids(std::move(node));
    }
    out.set_size(obj->size);
    if (!obj->in_plasma) {
      out.mutable_value()->set_data(obj->data);
      out.mutable_value()->set_metadata(obj->metadata);
      for (const auto& ref : obj->nested_refs) *out.mutable_value()->add_nested_refs() = ref;
    }
    reply(std::move(out));
  });
}

absl::StatusOr<std::optional<std::string>> CoreWorker::KvGet(const std::string& ns,
                                                             const std::string& key) {
  rpc::KVGetRequest request;
  request.set_ns(ns);
  request.set_key(key);
  rpc::KVGetReply reply;
  RETURN_IF_ERROR(FromGrpc(CallGcs([&](grpc::ClientContext* c) { return gcs_->kv().InternalKVGet(c, request, &reply); }), "GCS KV get"));
  if (!reply.found()) return std::optional<std::string>();
  return std::optional<std::string>(reply.value());
}

absl::Status CoreWorker::KvPut(const std::string& ns, const std::string& key,
                               const std::string& value, bool overwrite) {
  rpc::KVPutRequest request;
  request.set_ns(ns);
  request.set_key(key);
  request.set_value(value);
  request.set_overwrite(overwrite);
  rpc::KVPutReply reply;
  return FromGrpc(CallGcs([&](grpc::ClientContext* c) { return gcs_->kv().InternalKVPut(c, request, &reply); }), "GCS KV put");
}

absl::StatusOr<std::vector<rpc::NodeInfo>> CoreWorker::GetAllNodeInfo() {
  rpc::GetAllNodeInfoReply reply;
  RETURN_IF_ERROR(FromGrpc(CallGcs([&](grpc::ClientContext* c) { return gcs_->nodes().GetAllNodeInfo(c, {}, &reply); }), "GetAllNodeInfo"));
  return std::vector<rpc::NodeInfo>(reply.node_info_list().begin(), reply.node_info_list().end());
}

absl::StatusOr<std::vector<rpc::NodeResources>> CoreWorker::GetAllResourceUsage() {
  rpc::GetAllResourceUsageReply reply;
  RETURN_IF_ERROR(
      FromGrpc(CallGcs([&](grpc::ClientContext* c) { return gcs_->resources().GetAllResourceUsage(c, {}, &reply); }), "GetAllResourceUsage"));
  return std::vector<rpc::NodeResources>(reply.nodes().begin(), reply.nodes().end());
}

}  // namespace comet::core
