// Python binding of the core worker: comet._raylet.CoreWorker, ObjectRef and
// the executor-side TaskView. Every call that can block releases the GIL, and
// long waits wake every 100 ms to let Ctrl-C through.
#include <pybind11/eval.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "src/comet/common/logging.h"
#include "src/comet/core_worker/core_worker.h"
#include "src/comet/pybind/process_auth.h"
#include "src/comet/pybind/blocking_call.h"
#include "src/comet/pybind/core_worker_args.h"
#include "src/comet/pybind/object_ref.h"
#include "src/comet/pybind/plasma_buffer.h"
#include "src/comet/pybind/status_to_python.h"

namespace py = pybind11;

namespace comet::pybind {
namespace {

using core::CoreWorker;
using core::ObjectPtr;

absl::Time DeadlineFor(double timeout_s) {
  return timeout_s < 0 ? absl::InfiniteFuture() : absl::Now() + absl::Seconds(timeout_s);
}

// Runs `attempt(slice_deadline)` without the GIL until it reports done or the
// deadline passes, checking for signals (Ctrl-C) between slices.
template <typename Attempt>
void WaitInterruptibly(absl::Time deadline, Attempt attempt) {
  while (true) {
    absl::Time slice = std::min(deadline, absl::Now() + absl::Milliseconds(100));
    bool done;
    {
      py::gil_scoped_release release;
      done = attempt(slice);
    }
    if (done || absl::Now() >= deadline) return;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    // Running a little bytecode delivers exceptions set asynchronously on
    // this thread (task cancellation uses PyThreadState_SetAsyncExc).
    py::eval("None");
  }
}

// While alive, the worker's CPUs are lent back to the raylet (see
// NotifyWorkerBlocked); only engaged when a wait would really block.
class BlockedScope {
 public:
  explicit BlockedScope(CoreWorker* worker) : worker_(worker) {}
  ~BlockedScope() {
    if (engaged_) worker_->NotifyUnblocked();
  }
  void Engage() {
    if (!engaged_) worker_->NotifyBlocked();
    engaged_ = true;
  }

 private:
  CoreWorker* worker_;
  bool engaged_ = false;
};

// Read-only view of an inline value; keeps the value alive.
class InlineBuffer {
 public:
  explicit InlineBuffer(ObjectPtr obj) : obj_(std::move(obj)) {}
  py::buffer_info Info() const {
    return py::buffer_info(const_cast<char*>(obj_->data.data()), 1,
                           py::format_descriptor<uint8_t>::format(), 1,
                           {static_cast<py::ssize_t>(obj_->data.size())}, {1}, true);
  }

 private:
  ObjectPtr obj_;
};

py::memoryview InlineView(ObjectPtr obj) {
  py::object owner = py::cast(std::make_unique<InlineBuffer>(std::move(obj)));
  return py::memoryview(py::reinterpret_steal<py::object>(PyMemoryView_FromObject(owner.ptr())));
}

rpc::Address ParseAddress(const py::object& owner) {
  rpc::Address address;
  if (!owner.is_none()) address.ParseFromString(std::string(owner.cast<py::bytes>()));
  return address;
}

// A task handed to the Python executor, with the reply it fills.
class TaskView {
 public:
  TaskView(WorkerPtr worker, std::unique_ptr<core::ReceivedTask> task)
      : worker_(std::move(worker)), task_(std::move(task)) {}
  ~TaskView() {
    if (task_) {
      // Never finished by Python (an executor bug): answer so the owner is not stuck.
      core::FillErrorReply(spec(), core::kWorkerCrashed, "the executor dropped the task",
                           task_->reply);
      worker_->receiver().Finish(std::move(task_));
    }
  }

  const rpc::TaskSpec& spec() const { return task_->request->task_spec(); }
  core::ReceivedTask* task() { return task_.get(); }
  std::unique_ptr<core::ReceivedTask> Release() { return std::move(task_); }
  const WorkerPtr& worker() const { return worker_; }

  // Generator items reported to the owner so far, counted here, where no
  // Python exception (a cancel's KeyboardInterrupt) can fall between a
  // report and its count.
  int64_t num_streamed = 0;

  py::list Args() const {
    py::list out;
    for (const rpc::TaskArg& arg : spec().args()) {
      if (arg.has_ref()) {
        auto id = ObjectID::FromBinary(arg.ref().object_id());
        ThrowIfError(id.status());
        worker_->RegisterBorrowed(*id, arg.ref().owner_address());
        out.append(py::make_tuple("ref", MakeRef(worker_, *id)));
      } else {
        out.append(py::make_tuple("value", py::bytes(arg.value().data()),
                                  py::bytes(arg.value().metadata())));
      }
    }
    return out;
  }

  py::list ReturnIds() const {
    py::list out;
    auto task_id = TaskID::FromBinary(spec().task_id());
    ThrowIfError(task_id.status());
    if (spec().dynamic_returns()) {
      out.append(py::bytes(core::TaskManager::GeneratorCompletionId(*task_id).Binary()));
    }
    for (int i = 1; i <= spec().num_returns(); ++i) {
      out.append(py::bytes(ObjectID::FromIndex(*task_id, i).Binary()));
    }
    return out;
  }

  py::dict ResourceIds() const {
    py::dict out;
    for (const auto& a : task_->request->resource_assignments()) {
      out[py::str(a.name())] = std::vector<int64_t>(a.instance_ids().begin(), a.instance_ids().end());
    }
    return out;
  }

  // What the task raised, for its task event (set by the executor).
  void set_error(std::string error) { error_ = std::move(error); }
  const std::string& error() const { return error_; }

 private:
  WorkerPtr worker_;
  std::unique_ptr<core::ReceivedTask> task_;
  std::string error_;
};

void FillReturn(const WorkerPtr& w, rpc::ReturnObject* ret, const py::bytes& id,
                const py::tuple& result) {
  // result: (metadata, data or None when written to plasma, size[, nested refs])
  ret->set_object_id(std::string(id));
  const std::string node_id = w->node_id().Binary();
  if (result.size() > 3) {
    for (rpc::ObjectReference& ref : NestedReferences(w, result[3])) {
      *ret->mutable_value()->add_nested_refs() = std::move(ref);
    }
  }
  std::string metadata(result[0].cast<py::bytes>());
  if (result[1].is_none()) {
    ret->set_in_plasma(true);
    ret->set_plasma_node_id(node_id);
    ret->set_size(result[2].cast<int64_t>());
  } else {
    py::buffer buf = result[1].cast<py::buffer>();
    py::buffer_info info = buf.request();
    ret->mutable_value()->set_data(static_cast<const char*>(info.ptr),
                                   static_cast<size_t>(info.size * info.itemsize));
    ret->mutable_value()->set_metadata(std::move(metadata));
    ret->set_size(static_cast<int64_t>(info.size * info.itemsize));
  }
}

// An int64 entry of the config table (comet._raylet.config()); `fallback`
// when the dict lacks it.
int64_t ConfigInt(const py::dict& config, const char* name, int64_t fallback) {
  return config.contains(name) ? config[name].cast<int64_t>() : fallback;
}

WorkerPtr CreateWorker(bool is_driver, const std::string& gcs_address,
                       const std::string& raylet_address, const std::string& plasma_socket,
                       const py::bytes& node_id, const py::bytes& worker_id,
                       const std::string& node_ip, const py::dict& config,
                       const std::string& entrypoint, const std::string& ray_namespace) {
  core::CoreWorkerOptions options;
  // The settings this process's core takes from the config table.
  options.max_direct_call_object_size = ConfigInt(
      config, "max_direct_call_object_size", options.max_direct_call_object_size);
  options.max_tasks_in_flight_per_worker = static_cast<int>(ConfigInt(
      config, "max_tasks_in_flight_per_worker", options.max_tasks_in_flight_per_worker));
  options.max_request_bytes =
      ConfigInt(config, "worker_max_request_bytes", options.max_request_bytes);
  options.gcs_reconnect_timeout = absl::Seconds(ConfigInt(
      config, "gcs_rpc_server_reconnect_timeout_s",
      absl::ToInt64Seconds(options.gcs_reconnect_timeout)));
  options.actor_death_cause_wait = absl::Milliseconds(ConfigInt(
      config, "actor_death_cause_wait_ms",
      absl::ToInt64Milliseconds(options.actor_death_cause_wait)));
  options.is_driver = is_driver;
  options.gcs_address = gcs_address;
  options.raylet_address = raylet_address;
  options.plasma_socket = plasma_socket;
  auto node = NodeID::FromBinary(std::string(node_id));
  ThrowIfError(node.status());
  options.node_id = *node;
  auto worker = WorkerID::FromBinary(std::string(worker_id));
  ThrowIfError(worker.status());
  options.worker_id = *worker;
  options.node_ip = node_ip;
  options.entrypoint = entrypoint;
  options.ray_namespace = ray_namespace;
  options.auth = ProcessAuth();
  absl::StatusOr<WorkerPtr> created;
  {
    py::gil_scoped_release release;
    created = CoreWorker::Create(std::move(options));
  }
  ThrowIfError(created.status());
  return *created;
}

py::tuple SubmitTask(const WorkerPtr& w, const py::bytes& function_id,
                    const std::string& function_name, const py::list& args, int num_returns,
                    const std::map<std::string, double>& resources, int max_retries,
                    bool retry_exceptions, bool spread, const std::string& name,
                    bool is_generator, const py::bytes& retry_allowlist,
                    const py::object& placement, const py::object& runtime_env,
                    int64_t generator_backpressure, bool dynamic_returns, bool task_events,
                    int64_t max_calls) {
  rpc::TaskSpec spec;
  spec.set_disable_task_events(!task_events);
  spec.set_max_calls(max_calls);
  spec.set_generator_backpressure_num_objects(generator_backpressure);
  spec.set_dynamic_returns(is_generator && dynamic_returns);
  SetPlacement(placement, &spec);
  SetRuntimeEnv(runtime_env, &spec);
  spec.set_function_id(function_id);
  spec.set_function_name(function_name);
  spec.set_num_returns(is_generator ? 0 : num_returns);
  spec.mutable_required_resources()->insert(resources.begin(), resources.end());
  spec.set_max_retries(max_retries);
  spec.set_retry_exceptions(retry_exceptions);
  spec.set_retry_exception_allowlist(retry_allowlist);
  spec.set_scheduling_strategy(spread ? rpc::SPREAD : rpc::DEFAULT);
  spec.set_name(name);
  spec.set_is_generator(is_generator);
  AddArgs(w, args, &spec);
  std::vector<ObjectID> returns;
  TaskID task_id;
  {
    py::gil_scoped_release release;
    returns = w->SubmitTask(std::move(spec), &task_id);
  }
  py::list refs;
  for (const ObjectID& id : returns) refs.append(MakeRef(w, id));
  return py::make_tuple(py::bytes(task_id.Binary()), refs);
}

constexpr const char* kPullTimedOut = "timeout";

struct PlasmaFetch {
  std::vector<std::optional<plasma::ObjectBuffer>> buffers;
  // Per object without a buffer: why (kPullTimedOut when out of time).
  std::vector<std::string> errors;
};

// Has the local raylet pull `ids` (plasma objects; `objects` their memory
// store entries) into this node's store, until each is local, failed, or
// the deadline passes (kPullTimedOut), in slices that Ctrl-C can interrupt.
// One error per object, empty once it is local.
std::vector<std::string> PullUntil(const WorkerPtr& w, const std::vector<ObjectID>& ids,
                                   const std::vector<ObjectPtr>& objects, absl::Time deadline) {
  std::vector<std::string> errors(ids.size(), kPullTimedOut);
  WaitInterruptibly(deadline, [&](absl::Time slice) {
    // A pull outlives the slice at the raylet; the next call joins it.
    absl::Duration budget = std::max(slice + absl::Milliseconds(900) - absl::Now(),
                                     absl::Milliseconds(100));
    if (deadline != absl::InfiniteFuture()) budget = std::min(budget, deadline - absl::Now());
    errors = w->PullObjects(ids, objects, std::max(budget, absl::Milliseconds(1)));
    return std::none_of(errors.begin(), errors.end(),
                        [](const std::string& e) { return e == kPullTimedOut; });
  });
  return errors;
}

// Gets `ids` from the local plasma store; those it lacks are pulled from
// other nodes by the local raylet (in interruptible slices until
// `deadline`), then read again.
PlasmaFetch FetchFromPlasma(const WorkerPtr& w, const std::vector<ObjectID>& ids,
                            const std::vector<ObjectPtr>& objects, absl::Time deadline) {
  PlasmaFetch out;
  out.errors.resize(ids.size());
  if (ids.empty()) return out;
  auto read = [&](const std::vector<ObjectID>& which) {
    absl::StatusOr<std::vector<std::optional<plasma::ObjectBuffer>>> got;
    {
      py::gil_scoped_release release;
      got = w->plasma().Get(which, 0);
    }
    ThrowIfError(got.status(), ErrorDomain::kPlasma);
    return *std::move(got);
  };
  out.buffers = read(ids);
  std::vector<size_t> missing;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!out.buffers[i].has_value()) missing.push_back(i);
  }
  if (missing.empty()) return out;
  std::vector<ObjectID> pull_ids;
  std::vector<ObjectPtr> pull_objects;
  for (size_t i : missing) {
    pull_ids.push_back(ids[i]);
    pull_objects.push_back(objects[i]);
  }
  std::vector<std::string> errors = PullUntil(w, pull_ids, pull_objects, deadline);
  std::vector<std::optional<plasma::ObjectBuffer>> again = read(pull_ids);
  for (size_t k = 0; k < missing.size(); ++k) {
    out.buffers[missing[k]] = again[k];
    if (!again[k].has_value()) out.errors[missing[k]] = errors[k];
  }
  // Pulled copies are evictable until read: when they do not all fit at
  // once, some went again. Fetch those one at a time, holding each.
  for (size_t k = 0; k < missing.size(); ++k) {
    size_t i = missing[k];
    if (out.buffers[i].has_value() || !out.errors[i].empty()) continue;
    std::vector<std::string> one = PullUntil(w, {ids[i]}, {objects[i]}, deadline);
    out.buffers[i] = read({ids[i]})[0];
    if (!out.buffers[i].has_value()) out.errors[i] = one[0];
  }
  return out;
}

// (data view, metadata bytes) per ref, or None where not ready by the deadline.
py::list GetObjects(const WorkerPtr& w, const py::list& refs, double timeout_s) {
  std::vector<ObjectID> ids;
  for (const py::handle& r : refs) ids.push_back(r.cast<PyObjectRef&>().id());
  std::vector<ObjectPtr> found(ids.size());
  BlockedScope blocked(w.get());
  bool first = true;
  WaitInterruptibly(DeadlineFor(timeout_s), [&](absl::Time slice) {
    found = w->Get(ids, first ? absl::Now() : slice);
    bool done = std::all_of(found.begin(), found.end(),
                            [](const ObjectPtr& o) { return o != nullptr; });
    if (!done && first) {
      blocked.Engage();
      found = w->Get(ids, slice);
      done = std::all_of(found.begin(), found.end(), [](const ObjectPtr& o) { return o != nullptr; });
    }
    first = false;
    return done;
  });
  // Objects that live in plasma are read from the local store, pulled
  // there first when they live on other nodes.
  std::vector<ObjectID> plasma_ids;
  std::vector<ObjectPtr> plasma_objects;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (found[i] && found[i]->in_plasma) {
      plasma_ids.push_back(ids[i]);
      plasma_objects.push_back(found[i]);
    }
  }
  PlasmaFetch fetched = FetchFromPlasma(w, plasma_ids, plasma_objects, DeadlineFor(timeout_s));
  py::list out;
  size_t next_plasma = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    const ObjectPtr& obj = found[i];
    if (!obj) {
      out.append(py::none());
    } else if (!obj->in_plasma) {
      out.append(py::make_tuple(InlineView(obj), py::bytes(obj->metadata)));
    } else {
      size_t k = next_plasma++;
      const auto& buf = fetched.buffers[k];
      if (!buf.has_value()) {
        if (fetched.errors[k] == kPullTimedOut) {
          out.append(py::none());
          continue;
        }
        std::string why = fetched.errors[k].empty()
                              ? absl::StrCat("object ", ids[i].Hex(), " is no longer in the object store")
                              : fetched.errors[k];
        out.append(py::make_tuple(
            py::bytes(why),
            py::bytes(std::string(core::RayObject::kErrorMetadataPrefix) + core::kObjectLost)));
        continue;
      }
      std::string metadata(reinterpret_cast<const char*>(buf->metadata), buf->metadata_size);
      out.append(py::make_tuple(PlasmaView(w->plasma_ptr(), ids[i], const_cast<uint8_t*>(buf->data),
                                           buf->data_size, metadata, false),
                                py::bytes(metadata)));
    }
  }
  return out;
}

// Whether `id` is in this node's plasma store.
bool InLocalStore(const WorkerPtr& w, const ObjectID& id) {
  absl::StatusOr<bool> local;
  {
    py::gil_scoped_release release;
    local = w->plasma().Contains(id);
  }
  ThrowIfError(local.status(), ErrorDomain::kPlasma);
  return *local;
}

// fetch_local: of the `ready` objects, those that live in plasma on other
// nodes are pulled here until the deadline; one that has not arrived by then
// is not ready (Ray: what wait() calls ready is in the local store). One
// that cannot be pulled at all (lost) stays ready: get() raises its error.
void FetchReadyObjects(const WorkerPtr& w, const std::vector<ObjectID>& ids, absl::Time deadline,
                       std::vector<bool>* ready) {
  std::vector<size_t> ready_at;
  std::vector<ObjectID> ready_ids;
  for (size_t i = 0; i < ids.size(); ++i) {
    if ((*ready)[i]) {
      ready_at.push_back(i);
      ready_ids.push_back(ids[i]);
    }
  }
  std::vector<ObjectPtr> found = w->Get(ready_ids, absl::Now());
  std::vector<size_t> at;
  std::vector<ObjectID> pull_ids;
  std::vector<ObjectPtr> pull_objects;
  for (size_t k = 0; k < ready_ids.size(); ++k) {
    if (found[k] == nullptr || !found[k]->in_plasma || InLocalStore(w, ready_ids[k])) continue;
    at.push_back(ready_at[k]);
    pull_ids.push_back(ready_ids[k]);
    pull_objects.push_back(std::move(found[k]));
  }
  if (pull_ids.empty()) return;
  std::vector<std::string> errors = PullUntil(w, pull_ids, pull_objects, deadline);
  for (size_t k = 0; k < at.size(); ++k) {
    if (errors[k] == kPullTimedOut) (*ready)[at[k]] = false;
  }
}

py::list WaitObjects(const WorkerPtr& w, const py::list& refs, size_t num_returns,
                     double timeout_s, bool fetch_local) {
  std::vector<ObjectID> ids;
  for (const py::handle& r : refs) ids.push_back(r.cast<PyObjectRef&>().id());
  std::vector<bool> ready(ids.size(), false);
  BlockedScope blocked(w.get());
  bool first = true;
  absl::Time deadline = DeadlineFor(timeout_s);
  WaitInterruptibly(deadline, [&](absl::Time slice) {
    auto enough = [&] {
      return static_cast<size_t>(std::count(ready.begin(), ready.end(), true)) >= num_returns;
    };
    ready = w->Wait(ids, num_returns, first ? absl::Now() : slice);
    if (!enough() && first) {
      blocked.Engage();
      ready = w->Wait(ids, num_returns, slice);
    }
    first = false;
    return enough();
  });
  if (fetch_local) {
    blocked.Engage();
    FetchReadyObjects(w, ids, deadline, &ready);
  }
  py::list out;
  for (bool r : ready) out.append(r);
  return out;
}

// Ray's CoreWorker.object_exists: whether the value is here, in this
// process's memory store (inline) or in this node's plasma store.
bool ObjectExists(const WorkerPtr& w, const PyObjectRef& ref) {
  ObjectPtr obj = w->Get({ref.id()}, absl::Now())[0];
  if (obj == nullptr) return false;
  return !obj->in_plasma || InLocalStore(w, ref.id());
}

py::object NextGeneratorItem(const WorkerPtr& w, const py::bytes& task_id_bytes, int64_t index,
                             double timeout_s) {
  auto task_id = TaskID::FromBinary(std::string(task_id_bytes));
  ThrowIfError(task_id.status());
  ObjectID id = core::TaskManager::GeneratorItemId(*task_id, index);
  ObjectPtr obj;
  BlockedScope blocked(w.get());
  bool first = true;
  WaitInterruptibly(DeadlineFor(timeout_s), [&](absl::Time slice) {
    obj = w->Get({id}, first ? absl::Now() : slice)[0];
    if (obj == nullptr && first) {
      blocked.Engage();
      obj = w->Get({id}, slice)[0];
    }
    first = false;
    return obj != nullptr;
  });
  if (!obj) return py::none();
  if (obj->metadata == core::RayObject::kEndOfStream) return py::str("end");
  w->task_manager().MarkConsumed(*task_id, index + 1);  // backpressure
  return MakeRef(w, id);
}

// Whether item `index` of a generator's stream (or its end) is here.
bool GeneratorItemReady(const WorkerPtr& w, const py::bytes& task_id_bytes, int64_t index) {
  auto task_id = TaskID::FromBinary(std::string(task_id_bytes));
  ThrowIfError(task_id.status());
  py::gil_scoped_release release;
  return w->Get({core::TaskManager::GeneratorItemId(*task_id, index)}, absl::Now())[0] != nullptr;
}

// The reader dropped its ObjectRefGenerator: reports held back for it are
// answered, so the generator runs on.
void ForgetGenerator(const WorkerPtr& w, const py::bytes& task_id_bytes) {
  auto task_id = TaskID::FromBinary(std::string(task_id_bytes));
  ThrowIfError(task_id.status());
  py::gil_scoped_release release;
  w->task_manager().ForgetStream(*task_id);
}

py::object GeneratorCompletionRef(const WorkerPtr& w, const py::bytes& task_id_bytes) {
  auto task_id = TaskID::FromBinary(std::string(task_id_bytes));
  ThrowIfError(task_id.status());
  return MakeRef(w, core::TaskManager::GeneratorCompletionId(*task_id));
}

py::dict NodeDict(const rpc::NodeInfo& n) {
  py::dict d;
  d["NodeID"] = NodeID::FromBinary(n.node_id()).value_or(NodeID::Nil()).Hex();
  d["Alive"] = n.state() == rpc::NodeInfo::ALIVE;
  d["NodeManagerAddress"] = n.node_manager_address();
  d["NodeManagerPort"] = n.node_manager_port();
  d["ObjectStoreSocketName"] = n.object_store_socket();
  d["MetricsExportPort"] = n.metrics_export_port();
  d["NodeName"] = n.node_name();
  std::map<std::string, double> res(n.total_resources().quantities().begin(),
                                    n.total_resources().quantities().end());
  d["Resources"] = res;
  d["StartTimeMs"] = n.start_time_ms();
  d["DeathReason"] = n.death_reason();
  return d;
}

}  // namespace

void BindCoreWorker(py::module_& m) {
  py::class_<InlineBuffer>(m, "InlineBuffer", py::buffer_protocol()).def_buffer(&InlineBuffer::Info);

  py::class_<PyObjectRef>(m, "ObjectRef", "A reference to an object that may not exist yet.")
      .def("binary", [](const PyObjectRef& r) { return py::bytes(r.id().Binary()); })
      .def("hex", [](const PyObjectRef& r) { return r.id().Hex(); })
      .def("task_id", [](const PyObjectRef& r) { return py::bytes(r.id().TaskId().Binary()); })
      .def("is_nil", [](const PyObjectRef& r) { return r.id().IsNil(); })
      .def("owner_address",
           [](const PyObjectRef& r) {
             return r.worker() ? py::bytes(r.worker()->OwnerOf(r.id()).SerializeAsString())
                               : py::bytes();
           })
      .def("__hash__", [](const PyObjectRef& r) { return absl::HashOf(r.id()); })
      .def("__eq__",
           [](const PyObjectRef& a, const py::object& b) {
             return py::isinstance<PyObjectRef>(b) && a.id() == b.cast<PyObjectRef&>().id();
           })
      .def("__repr__", [](const PyObjectRef& r) { return "ObjectRef(" + r.id().Hex() + ")"; });

  py::class_<TaskView>(m, "TaskView", "A task this worker is asked to run.")
      .def("set_error", &TaskView::set_error, py::arg("error"),
           "Records what the task raised (shown in its task event).")
      .def_property_readonly("task_id", [](const TaskView& t) { return py::bytes(t.spec().task_id()); })
      .def_readonly("num_streamed", &TaskView::num_streamed,
                    "Generator items reported to the owner so far.")
      .def_property_readonly("job_id", [](const TaskView& t) { return py::bytes(t.spec().job_id()); })
      .def_property_readonly("function_id",
                             [](const TaskView& t) { return py::bytes(t.spec().function_id()); })
      .def_property_readonly("function_name",
                             [](const TaskView& t) { return t.spec().function_name(); })
      .def_property_readonly("name", [](const TaskView& t) { return t.spec().name(); })
      .def_property_readonly("num_returns", [](const TaskView& t) { return t.spec().num_returns(); })
      .def_property_readonly("is_generator", [](const TaskView& t) { return t.spec().is_generator(); })
      .def_property_readonly("dynamic_returns",
                             [](const TaskView& t) { return t.spec().dynamic_returns(); })
      .def_property_readonly("attempt_number",
                             [](const TaskView& t) { return t.spec().attempt_number(); })
      .def_property_readonly("retry_exceptions",
                             [](const TaskView& t) { return t.spec().retry_exceptions(); })
      .def_property_readonly("retry_exception_allowlist", [](const TaskView& t) {
        return py::bytes(t.spec().retry_exception_allowlist());
      })
      .def_property_readonly("caller_address", [](const TaskView& t) {
        return py::bytes(t.spec().caller_address().SerializeAsString());
      })
      .def_property_readonly("task_type", [](const TaskView& t) { return static_cast<int>(t.spec().type()); })
      .def_property_readonly("actor_id", [](const TaskView& t) {
        return py::bytes(t.spec().type() == rpc::ACTOR_CREATION_TASK
                             ? t.spec().actor_creation().actor_id()
                             : t.spec().actor_task().actor_id());
      })
      .def_property_readonly("method_name",
                             [](const TaskView& t) { return t.spec().actor_task().method_name(); })
      .def_property_readonly("concurrency_group", [](const TaskView& t) {
        return t.spec().actor_task().concurrency_group();
      })
      .def_property_readonly("actor_creation", [](const TaskView& t) {
        const rpc::ActorCreationSpec& c = t.spec().actor_creation();
        py::dict d;
        d["max_concurrency"] = c.max_concurrency();
        d["is_asyncio"] = c.is_asyncio();
        d["name"] = c.name();
        d["namespace"] = c.ray_namespace();
        d["class_name"] = c.class_name();
        d["max_task_retries"] = c.max_task_retries();
        d["task_events"] = !t.spec().disable_task_events();
        std::map<std::string, int> groups(c.concurrency_groups().begin(),
                                          c.concurrency_groups().end());
        d["concurrency_groups"] = groups;
        return d;
      })
      .def_property_readonly("placement_group_id", [](const TaskView& t) {
        return py::bytes(t.spec().placement_group_id());
      })
      .def_property_readonly("placement_group_capture_child_tasks", [](const TaskView& t) {
        return t.spec().placement_group_capture_child_tasks();
      })
      .def("args", &TaskView::Args)
      .def("return_ids", &TaskView::ReturnIds)
      .def_property_readonly("required_resources", [](const TaskView& t) {
        return std::map<std::string, double>(t.spec().required_resources().begin(),
                                             t.spec().required_resources().end());
      })
      .def("resource_ids", &TaskView::ResourceIds);

  py::class_<CoreWorker, WorkerPtr>(m, "CoreWorker", "The core worker of this process.")
      .def(py::init(&CreateWorker), py::arg("is_driver"), py::arg("gcs_address"),
           py::arg("raylet_address"), py::arg("plasma_socket"), py::arg("node_id"),
           py::arg("worker_id"), py::arg("node_ip") = "127.0.0.1",
           py::arg("config") = py::dict(), py::arg("entrypoint") = "",
           py::arg("namespace") = "")
      .def("shutdown", [](CoreWorker& w) {
        py::gil_scoped_release release;
        w.Shutdown();
      })
      .def_property_readonly("job_id", [](const CoreWorker& w) { return py::bytes(w.job_id().Binary()); })
      .def_property_readonly("worker_id",
                             [](const CoreWorker& w) { return py::bytes(w.worker_id().Binary()); })
      .def_property_readonly("node_id", [](const CoreWorker& w) { return py::bytes(w.node_id().Binary()); })
      .def_property_readonly("address",
                             [](const CoreWorker& w) { return py::bytes(w.address().SerializeAsString()); })
      .def_property_readonly("port", [](const CoreWorker& w) { return w.address().port(); })
      .def_property_readonly("current_task_id", [](const CoreWorker& w) {
        return py::bytes(w.current_task_id().Binary());
      })
      .def("make_ref",
           [](const WorkerPtr& w, const py::bytes& id, const py::object& owner) {
             ObjectID oid = ToId(id);
             rpc::Address address = ParseAddress(owner);
             if (!owner.is_none() && address.worker_id() != w->worker_id().Binary()) {
               w->RegisterBorrowed(oid, address);
             }
             return MakeRef(w, oid);
           },
           py::arg("object_id"), py::arg("owner_address") = py::none())
      .def("mark_escaped", [](CoreWorker& w, const PyObjectRef& r) { w.MarkEscaped(r.id()); })
      .def("submit_task", &SubmitTask, py::arg("function_id"), py::arg("function_name"),
           py::arg("args"), py::arg("num_returns"), py::arg("resources"), py::arg("max_retries"),
           py::arg("retry_exceptions"), py::arg("spread"), py::arg("name"),
           py::arg("is_generator"), py::arg("retry_allowlist"),
           py::arg("placement") = py::none(), py::arg("runtime_env") = py::none(),
           py::arg("generator_backpressure") = -1, py::arg("dynamic_returns") = false,
           py::arg("task_events") = true, py::arg("max_calls") = 0)
      .def("put_inline",
           [](const WorkerPtr& w, const py::bytes& data, const py::bytes& metadata,
              const py::list& nested) {
             ObjectID id = w->NextPutId();
             w->PutInline(id, std::string(data), std::string(metadata),
                          NestedReferences(w, nested));
             return MakeRef(w, id);
           })
      .def("next_put_id", [](CoreWorker& w) { return py::bytes(w.NextPutId().Binary()); })
      .def("create_plasma",
           [](const WorkerPtr& w, const py::bytes& id, uint64_t data_size, const py::bytes& metadata) {
             ObjectID oid = ToId(id);
             std::string meta(metadata);
             absl::StatusOr<plasma::MutableObjectBuffer> buf;
             {
               py::gil_scoped_release release;
               buf = w->CreatePlasma(oid, data_size, meta.size());
             }
             ThrowIfError(buf.status(), ErrorDomain::kPlasma);
             if (!meta.empty()) std::memcpy(buf->metadata, meta.data(), meta.size());
             return PlasmaView(w->plasma_ptr(), oid, buf->data, buf->data_size, meta, true);
           })
      .def("seal_plasma",
           [](const WorkerPtr& w, const py::bytes& id, bool owned, int64_t size) -> py::object {
             ObjectID oid = ToId(id);
             absl::Status status;
             {
               py::gil_scoped_release release;
               status = w->SealPlasma(oid, owned, size);
             }
             ThrowIfError(status, ErrorDomain::kPlasma);
             return owned ? MakeRef(w, oid) : py::none();
           })
      .def("get_objects", &GetObjects)
      .def("wait", &WaitObjects, py::arg("refs"), py::arg("num_returns"), py::arg("timeout_s"),
           py::arg("fetch_local") = true)
      .def("object_exists", &ObjectExists)
      .def("on_ready",
           [](CoreWorker& w, const PyObjectRef& r, py::function callback) {
             // The callback may run on any thread, and is dropped there too:
             // both need the GIL.
             std::shared_ptr<py::function> held(new py::function(std::move(callback)),
                                                [](py::function* f) {
                                                  py::gil_scoped_acquire gil;
                                                  delete f;
                                                });
             py::gil_scoped_release release;
             w.OnReady(r.id(), [held] {
               py::gil_scoped_acquire gil;
               try {
                 (*held)();
               } catch (py::error_already_set& e) {
                 e.discard_as_unraisable("ObjectRef ready callback");
               }
             });
           },
           py::arg("ref"), py::arg("callback"),
           "Calls callback() (with no arguments, on some thread) once ref is ready.")
      .def("cancel",
           [](CoreWorker& w, const PyObjectRef& r, bool force, bool recursive) {
             absl::StatusOr<bool> cancelled;
             {
               py::gil_scoped_release release;
               cancelled = w.Cancel(r.id(), force, recursive);
             }
             ThrowIfError(cancelled.status());
             return *cancelled;
           },
           py::arg("ref"), py::arg("force") = false, py::arg("recursive") = true)
      .def("next_generator_item", &NextGeneratorItem)
      .def("generator_completion_ref", &GeneratorCompletionRef)
      .def("forget_generator", &ForgetGenerator)
      .def("generator_item_ready", &GeneratorItemReady)
      .def("kv_get",
           [](CoreWorker& w, const std::string& ns, const py::bytes& key) -> py::object {
             absl::StatusOr<std::optional<std::string>> value;
             {
               py::gil_scoped_release release;
               value = w.KvGet(ns, std::string(key));
             }
             ThrowIfError(value.status());
             if (!value->has_value()) return py::none();
             return py::bytes(**value);
           })
      .def("kv_put",
           [](CoreWorker& w, const std::string& ns, const py::bytes& key, const py::bytes& value,
              bool overwrite) {
             std::string k(key), v(value);
             absl::Status status;
             {
               py::gil_scoped_release release;
               status = w.KvPut(ns, k, v, overwrite);
             }
             ThrowIfError(status);
           })
      .def("nodes",
           [](CoreWorker& w) {
             absl::StatusOr<std::vector<rpc::NodeInfo>> nodes;
             {
               py::gil_scoped_release release;
               nodes = w.GetAllNodeInfo();
             }
             ThrowIfError(nodes.status());
             py::list out;
             for (const auto& n : *nodes) out.append(NodeDict(n));
             return out;
           })
      .def("resource_usage",
           [](CoreWorker& w) {
             absl::StatusOr<std::vector<rpc::NodeResources>> usage;
             {
               py::gil_scoped_release release;
               usage = w.GetAllResourceUsage();
             }
             ThrowIfError(usage.status());
             py::list out;
             for (const auto& n : *usage) {
               std::map<std::string, double> total(n.total().quantities().begin(),
                                                   n.total().quantities().end());
               std::map<std::string, double> avail(n.available().quantities().begin(),
                                                   n.available().quantities().end());
               out.append(py::make_tuple(total, avail));
             }
             return out;
           })
      .def("next_task",
           [](const WorkerPtr& w, double timeout_s) -> py::object {
             // Waits in slices so that signal handlers (SIGTERM at shutdown)
             // run promptly on this, the main, thread.
             std::unique_ptr<core::ReceivedTask> task;
             WaitInterruptibly(DeadlineFor(timeout_s), [&](absl::Time slice) {
               task = w->receiver().Next(slice);
               return task != nullptr || w->receiver().stopped();
             });
             if (!task) return py::none();
             const rpc::TaskSpec& spec = task->request->task_spec();
             auto job = JobID::FromBinary(spec.job_id());
             w->SetCurrentTask(task->task_id, job.ok() ? *job : JobID::Nil());
             w->RecordTaskEvent(spec, rpc::TaskRow::RUNNING, "", /*executor=*/true);
             return py::cast(std::make_unique<TaskView>(w, std::move(task)));
           })
      .def("finish_task",
           [](const WorkerPtr& w, TaskView& view, const py::list& results, bool app_error,
              bool retryable, int64_t num_streamed) {
             core::ReceivedTask* task = view.task();
             if (task == nullptr) throw py::value_error("task already finished");
             py::list ids = view.ReturnIds();
             for (size_t i = 0; i < results.size() && i < ids.size(); ++i) {
               FillReturn(w, task->reply->add_return_objects(), ids[i].cast<py::bytes>(),
                          results[i].cast<py::tuple>());
             }
             task->reply->set_is_application_error(app_error);
             task->reply->set_is_retryable_error(retryable);
             task->reply->set_num_streamed_items(num_streamed);
             // max_calls reached: the owner gives the worker up, and it exits.
             const bool exiting = w->CountCallAndCheckMaxCalls(view.spec());
             task->reply->set_worker_exiting(exiting);
             w->RecordTaskEvent(view.spec(), app_error ? rpc::TaskRow::FAILED : rpc::TaskRow::FINISHED,
                                app_error ? (view.error().empty() ? "the task raised an exception"
                                                                  : view.error())
                                          : "",
                                /*executor=*/true);
             w->receiver().Finish(view.Release());
             if (exiting) w->receiver().Stop();
           })
      .def("report_generator_item",
           [](const WorkerPtr& w, TaskView& view, int64_t index, const py::bytes& object_id,
              const py::tuple& result) {
             rpc::ReturnObject item;
             FillReturn(w, &item, object_id, result);
             auto task_id = TaskID::FromBinary(view.spec().task_id());
             ThrowIfError(task_id.status());
             rpc::Address owner = view.spec().caller_address();
             absl::Status status;
             {
               py::gil_scoped_release release;
               status = w->ReportGeneratorItem(owner, *task_id, index, item);
             }
             ThrowIfError(status);
             view.num_streamed = std::max(view.num_streamed, index + 1);
           })
      .def("generator_item_id",
           [](CoreWorker&, const py::bytes& task_id, int64_t index) {
             auto id = TaskID::FromBinary(std::string(task_id));
             ThrowIfError(id.status());
             return py::bytes(core::TaskManager::GeneratorItemId(*id, index).Binary());
           })
      .def("set_interrupt_handler",
           [](CoreWorker& w, py::object handler) {
             auto shared = std::make_shared<py::object>(std::move(handler));
             w.receiver().SetInterruptHook([shared](const TaskID& task_id) {
               py::gil_scoped_acquire acquire;
               try {
                 (*shared)(py::bytes(task_id.Binary()));
               } catch (py::error_already_set& e) {
                 COMET_LOG(WARNING) << "interrupt handler failed: " << e.what();
               }
             });
           })
      .def("stop_receiving", [](CoreWorker& w) { w.receiver().Stop(); })
      .def("receiving_stopped", [](CoreWorker& w) { return w.receiver().stopped(); })
      .def_property_readonly("num_pending_tasks",
                             [](CoreWorker& w) { return w.task_manager().NumPending(); });

  m.def(
      "gcs_nodes",
      [](const std::string& gcs_address, double timeout_s) {
        rpc::GetAllNodeInfoReply reply;
        grpc::Status status;
        std::unique_ptr<gcs_client::GcsRpcClient> gcs = BindingGcsClient(gcs_address);
        {
          py::gil_scoped_release release;
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)));
          ctx.set_wait_for_ready(true);
          status = gcs->nodes().GetAllNodeInfo(&ctx, {}, &reply);
        }
        if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
          ThrowRpcError(status, "GetAllNodeInfo", "the GCS at " + gcs_address);
        }
        if (!status.ok()) {
          // Whatever went wrong, there is no GCS to use there.
          ThrowIfError(absl::UnavailableError("cannot reach a Comet GCS at " + gcs_address +
                                              ": " + status.error_message()));
        }
        py::list out;
        for (const auto& n : reply.node_info_list()) {
          py::dict d = NodeDict(n);
          d["NodeIDBinary"] = py::bytes(n.node_id());
          d["SessionDir"] = n.session_dir();
          out.append(d);
        }
        return out;
      },
      py::arg("gcs_address"), py::arg("timeout_s") = 10.0,
      "Nodes registered with the GCS at gcs_address (raises ConnectionError).");

  m.def(
      "init_logging",
      [](const std::string& component, const std::string& log_dir, const std::string& level) {
        ThrowIfError(InitLogging(component, log_dir, level));
      },
      py::arg("component"), py::arg("log_dir"), py::arg("level") = "info");
}

}  // namespace comet::pybind
