// CoreWorker: the C++ core that the driver and every worker run (inside the
// comet._raylet extension).
//
// Owns the in-process memory store, the reference counter, the task manager
// and submitter (owner side), the task receiver (executor side), the plasma
// client, the gRPC server of the CoreWorkerService and the clients to the GCS,
// the raylet and other workers. Python drives it through bind_core_worker.cc.
// Thread-safe: the components it owns are; its own fields are set in Create
// and read-only afterwards, except those guarded by mu_.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/core_worker.grpc.pb.h"
#include "proto/gcs_service.grpc.pb.h"
#include "proto/node_manager.grpc.pb.h"
#include "src/comet/common/id.h"
#include "src/comet/core_worker/actor_task_submitter.h"
#include "src/comet/core_worker/memory_store.h"
#include "src/comet/core_worker/normal_task_submitter.h"
#include "src/comet/core_worker/push_task_stream.h"
#include "src/comet/core_worker/reference_counter.h"
#include "src/comet/core_worker/task_event_buffer.h"
#include "src/comet/core_worker/task_manager.h"
#include "src/comet/core_worker/task_receiver.h"
#include "src/comet/gcs_client/gcs_rpc_client.h"
#include "src/comet/object_manager/plasma/client.h"
#include "src/comet/rpc/async_call.h"
#include "src/comet/rpc/client_pool.h"
#include "src/comet/core_worker/core_worker_gcs_calls.h"

namespace comet::core {

struct CoreWorkerOptions {
  bool is_driver = true;
  std::string gcs_address;
  std::string raylet_address;
  std::string plasma_socket;
  NodeID node_id;
  WorkerID worker_id;
  std::string node_ip = "127.0.0.1";
  int64_t max_direct_call_object_size = 100 * 1024;
  int max_tasks_in_flight_per_worker = 8;
  // Drivers: recorded in the job table.
  std::string entrypoint;
  std::string ray_namespace;
  // Presented on every call and checked on every call to this process.
  rpc::ClusterAuth auth;
  int64_t max_request_bytes = 512 << 20;
  absl::Duration actor_death_cause_wait = absl::Seconds(1);
  // While the GCS is away, blocking calls to it wait this long for it to
  // come back (gcs_rpc_server_reconnect_timeout_s).
  absl::Duration gcs_reconnect_timeout = absl::Seconds(60);
};

class CoreWorkerServiceImpl;

class CoreWorker {
 public:
  // Connects to plasma, starts the gRPC server, and registers: a driver as a
  // new job with the GCS, a worker with its raylet.
  static absl::StatusOr<std::shared_ptr<CoreWorker>> Create(CoreWorkerOptions options);
  ~CoreWorker();

  // Stops serving; a driver marks its job finished.
  void Shutdown();

  const JobID& job_id() const { return job_id_; }
  const WorkerID& worker_id() const { return options_.worker_id; }
  const NodeID& node_id() const { return options_.node_id; }
  const rpc::Address& address() const { return address_; }
  bool is_driver() const { return options_.is_driver; }
  TaskID current_task_id() const;
  void SetCurrentTask(const TaskID& task_id, const JobID& job_id);

  // References held by Python ObjectRef instances.
  void AddLocalReference(const ObjectID& id) { references_.AddLocalReference(id); }
  void RemoveLocalReference(const ObjectID& id) { references_.RemoveLocalReference(id); }
  // An ObjectRef to an object owned elsewhere arrived in this process.
  void RegisterBorrowed(const ObjectID& id, const rpc::Address& owner);
  void MarkEscaped(const ObjectID& id) { references_.MarkEscaped(id); }
  bool IsOwned(const ObjectID& id) const { return references_.IsOwned(id); }
  // The owner of an object this process knows of (itself for owned ones).
  rpc::Address OwnerOf(const ObjectID& id) const;

  // Objects this process creates (puts).
  ObjectID NextPutId();
  void PutInline(const ObjectID& id, std::string data, std::string metadata,
                 std::vector<rpc::ObjectReference> nested);
  absl::StatusOr<plasma::MutableObjectBuffer> CreatePlasma(const ObjectID& id, uint64_t data_size,
                                                           uint64_t metadata_size);
  // Seals a plasma object created with CreatePlasma; owned ones are recorded.
  absl::Status SealPlasma(const ObjectID& id, bool owned, int64_t size);

  // Values of `ids` (nullptr where not ready by `deadline`); asks the owners
  // of borrowed objects for them.
  std::vector<ObjectPtr> Get(const std::vector<ObjectID>& ids, absl::Time deadline);
  // Runs `callback` once `id` is ready (at once if it is), on the thread that
  // stores the value; asks the owner of a borrowed object for it. Keep the
  // callback short: it may run on a gRPC thread.
  void OnReady(const ObjectID& id, std::function<void()> callback);
  // Which of `ids` are ready once `num_returns` are, or at `deadline`.
  std::vector<bool> Wait(const std::vector<ObjectID>& ids, size_t num_returns,
                         absl::Time deadline);
  // A worker's task starts / stops waiting for objects: lend its CPUs back
  // to the raylet meanwhile. No-ops on drivers.
  void NotifyBlocked();
  void NotifyUnblocked();
  plasma::PlasmaClient& plasma() { return *plasma_; }
  std::shared_ptr<plasma::PlasmaClient> plasma_ptr() { return plasma_; }

  // Submits a normal task; fills ids and caller fields; returns its returns
  // (and its id in `task_id` when given).
  std::vector<ObjectID> SubmitTask(rpc::TaskSpec spec, TaskID* task_id = nullptr);
  // Cancels the task that produces `id`; false if it is not ours or done.
  // False when the task is not pending here; InvalidArgument for force on
  // an actor task.
  absl::StatusOr<bool> Cancel(const ObjectID& id, bool force, bool recursive = true);
  absl::StatusOr<bool> CancelTask(const TaskID& task_id, bool force, bool recursive);
  // Cancels the normal tasks this process submitted from inside `parent`.
  void CancelChildren(const TaskID& parent, bool force);

  // Actors. CreateActor registers the actor with the GCS (which creates it)
  // and returns its id; fails with AlreadyExists for a taken name.
  absl::StatusOr<ActorID> CreateActor(rpc::TaskSpec spec);
  // Submits a method call; returns its return ids.
  // `task_id`, when given, receives the call's task id (a generator's stream).
  std::vector<ObjectID> SubmitActorTask(const ActorID& actor_id, rpc::TaskSpec spec,
                                        TaskID* task_id = nullptr);
  // Starts following an actor known from a handle made elsewhere.
  void TrackActor(const ActorID& actor_id);
  // This process's handle objects of an actor (see ActorTaskSubmitter):
  // an actor it created, unnamed and not detached, is ended gracefully once
  // its handles are gone (none serialized) and its calls answered.
  void AddActorHandle(const ActorID& actor_id);
  void RemoveActorHandle(const ActorID& actor_id);
  void MarkActorHandleEscaped(const ActorID& actor_id);
  absl::Status KillActor(const ActorID& actor_id, bool force, bool no_restart);
  absl::StatusOr<std::optional<rpc::ActorTableData>> GetActorInfo(const ActorID& actor_id);
  absl::StatusOr<std::optional<rpc::ActorTableData>> GetNamedActor(const std::string& name,
                                                                    const std::string& ns);
  absl::StatusOr<std::vector<rpc::ActorTableData>> ListNamedActors(const std::string& ns,
                                                                   bool all_namespaces);
  ActorTaskSubmitter& actor_submitter() { return actor_submitter_; }

  // Streaming generators (owner side).
  TaskManager& task_manager() { return task_manager_; }
  // Executor side: reports one yielded item to the generator's owner.
  absl::Status ReportGeneratorItem(const rpc::Address& owner, const TaskID& task_id,
                                   int64_t index, const rpc::ReturnObject& item);

  // GCS access (blocking).
  absl::StatusOr<std::optional<std::string>> KvGet(const std::string& ns, const std::string& key);
  absl::Status KvPut(const std::string& ns, const std::string& key, const std::string& value,
                     bool overwrite);
  absl::StatusOr<std::vector<rpc::NodeInfo>> GetAllNodeInfo();
  absl::StatusOr<std::vector<rpc::NodeResources>> GetAllResourceUsage();

  TaskReceiver& receiver() { return receiver_; }
  ServerStreams& server_streams() { return server_streams_; }

  // Counts a task this worker ran; true when it was its function's
  // max_calls-th here, so the worker must exit after answering it.
  bool CountCallAndCheckMaxCalls(const rpc::TaskSpec& spec);

  // Task events: a state change of `spec`'s attempt, as its owner sees it or
  // (executor) as the worker that runs it does.
  void RecordTaskEvent(const rpc::TaskSpec& spec, rpc::TaskRow::State state,
                       const std::string& error, bool executor);

  // A node pulled a copy of an object (owner side; also learnt by borrowers).
  void AddObjectLocation(const ObjectID& id, const std::string& node_id);
  // Has the local raylet pull plasma objects that live on other nodes into
  // this node's store; blocks up to `timeout`. One error per object, empty
  // when it is local now. `objects` are the memory-store entries of `ids`.
  std::vector<std::string> PullObjects(const std::vector<ObjectID>& ids,
                                       const std::vector<ObjectPtr>& objects,
                                       absl::Duration timeout);

  // Sends this process's application metrics (its whole current state) to
  // the local raylet, which serves them in its /metrics. Blocking.
  absl::Status ReportMetrics(rpc::ReportMetricsRequest request);

  // GetObjectRefs: the references this process holds, with what the memory
  // store knows of each value.
  rpc::GetObjectRefsReply ObjectRefs() const;

  // Owner side of GetObjectStatus: replies when the object exists.
  void HandleGetObjectStatus(const rpc::GetObjectStatusRequest& request,
                             std::function<void(rpc::GetObjectStatusReply)> reply);

 private:
  explicit CoreWorker(CoreWorkerOptions options);
  absl::Status Start();
  // Adds the job at the GCS, then tells the local raylet, which reports the
  // driver to the GCS if its process dies before finishing the job.
  absl::Status RegisterDriver();
  absl::Status RegisterDriverWithRaylet();
  absl::Status RegisterWorker();
  void OnObjectFreed(const ObjectID& id, bool owned);
  // Every node known to hold a copy, the primary's first.
  std::vector<std::string> LocationsOf(const ObjectID& id, const RayObject& object) const;
  void StoreReturn(const ObjectID& id, ObjectPtr object);
  void RequestFromOwner(const ObjectID& id);
  void Resubmit(const rpc::TaskSpec& spec);
  // Registers a new task's returns and argument references; returns its returns.
  std::vector<ObjectID> TrackNewTask(const rpc::TaskSpec& spec, const TaskID& task_id);
  // Follows ACTOR_CHANNEL on a thread of its own once the first actor shows up.
  void EnsureActorSubscription();
  void PollActorUpdates();
  void SyncActor(const ActorID& actor_id);
  // Asks the GCS to end an actor whose handles are all gone (async).
  void ReleaseActor(const ActorID& actor_id);

  // A call's status as this process reports it: UNAUTHENTICATED (explained by
  // rpc::ExplainRefusal) or UNAVAILABLE, prefixed with `what`.
  absl::Status FromGrpc(const grpc::Status& status, absl::string_view what) const;
  // A blocking call to the GCS, `call(grpc::ClientContext*)`, that waits out
  // a GCS restart (gcs_client::GcsRpcClient); for calls safe to repeat.
  template <typename Call>
  grpc::Status CallGcs(Call&& call) const {
    return gcs_->Call(std::forward<Call>(call), absl::Milliseconds(kGcsTimeoutMs));
  }

  CoreWorkerOptions options_;
  JobID job_id_;
  rpc::Address address_;
  std::shared_ptr<plasma::PlasmaClient> plasma_;
  MemoryStore memory_store_;
  ReferenceCounter references_;
  TaskManager task_manager_;
  // The async RPCs in flight; cancelled and drained by Shutdown().
  rpc::CallRegistry calls_;
  rpc::ClientPool<rpc::NodeManagerService> raylets_{options_.auth};
  rpc::ClientPool<rpc::CoreWorkerService> workers_{options_.auth};
  std::unique_ptr<NormalTaskSubmitter> submitter_;
  TaskReceiver receiver_;
  // Callers' PushTaskStreams into this worker; closed by Shutdown().
  ServerStreams server_streams_;
  // Every call to the GCS goes through it; made by Start().
  std::unique_ptr<gcs_client::GcsRpcClient> gcs_;
  // Calls to this process's server refused for their token.
  std::shared_ptr<rpc::AuthStats> auth_stats_ = std::make_shared<rpc::AuthStats>();
  std::unique_ptr<TaskEventBuffer> task_events_;
  ActorTaskSubmitter actor_submitter_;
  std::thread actor_poller_;
  std::atomic<bool> actor_poller_started_{false};
  // The poll in progress, so that Shutdown can cancel it.
  grpc::ClientContext* poll_context_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::unique_ptr<CoreWorkerServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::atomic<uint64_t> task_counter_{0};
  std::atomic<uint32_t> put_counter_{0};
  std::atomic<bool> shut_down_{false};

  mutable absl::Mutex mu_;
  TaskID current_task_ ABSL_GUARDED_BY(mu_);
  // Tasks run here per function (for max_calls).
  absl::flat_hash_map<std::string, int64_t> calls_by_function_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<ObjectID, rpc::Address> owners_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<ObjectID> requested_ ABSL_GUARDED_BY(mu_);
  // Nodes known to hold copies of a plasma object besides its primary.
  absl::flat_hash_map<ObjectID, std::vector<std::string>> copies_ ABSL_GUARDED_BY(mu_);
};

}  // namespace comet::core
