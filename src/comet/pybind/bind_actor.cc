// Python binding of actors on the core worker: creating actors, calling
// their methods, looking them up and killing them (methods of
// comet._raylet.CoreWorker). Blocking calls release the GIL.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "src/comet/pybind/core_worker_args.h"
#include "src/comet/pybind/status_to_python.h"

namespace py = pybind11;

namespace comet::pybind {
namespace {

using core::CoreWorker;

ActorID ToActorId(const py::bytes& b) {
  auto id = ActorID::FromBinary(std::string(b));
  ThrowIfError(id.status());
  return *id;
}

py::dict ActorDict(const rpc::ActorTableData& a) {
  static const char* kStates[] = {"DEPENDENCIES_UNREADY", "PENDING_CREATION", "ALIVE",
                                  "RESTARTING", "DEAD"};
  py::dict d;
  d["actor_id"] = py::bytes(a.actor_id());
  d["job_id"] = py::bytes(a.job_id());
  d["state"] = kStates[std::clamp(static_cast<int>(a.state()), 0, 4)];
  d["name"] = a.name();
  d["namespace"] = a.ray_namespace();
  d["class_name"] = a.class_name();
  d["num_restarts"] = a.num_restarts();
  d["max_restarts"] = a.max_restarts();
  d["is_detached"] = a.is_detached();
  d["death_cause"] = a.death_cause();
  d["pid"] = a.pid();
  d["node_id"] = py::bytes(a.node_id());
  d["function_id"] = py::bytes(a.creation_task_spec().function_id());
  d["max_task_retries"] = a.creation_task_spec().actor_creation().max_task_retries();
  d["task_events"] = !a.creation_task_spec().disable_task_events();
  d["is_asyncio"] = a.creation_task_spec().actor_creation().is_asyncio();
  return d;
}

py::bytes CreateActor(const WorkerPtr& w, const py::bytes& class_id, const std::string& class_name,
                      const py::list& args, const std::map<std::string, double>& resources,
                      const py::dict& creation, const py::object& placement,
                      const py::object& runtime_env) {
  rpc::TaskSpec spec;
  SetPlacement(placement, &spec);
  SetRuntimeEnv(runtime_env, &spec);
  spec.set_function_id(class_id);
  spec.set_function_name(class_name);
  spec.mutable_required_resources()->insert(resources.begin(), resources.end());
  AddArgs(w, args, &spec);
  rpc::ActorCreationSpec* c = spec.mutable_actor_creation();
  c->set_max_restarts(creation["max_restarts"].cast<int64_t>());
  c->set_max_task_retries(creation["max_task_retries"].cast<int64_t>());
  c->set_max_concurrency(creation["max_concurrency"].cast<int32_t>());
  c->set_is_asyncio(creation["is_asyncio"].cast<bool>());
  c->set_name(creation["name"].cast<std::string>());
  c->set_ray_namespace(creation["namespace"].cast<std::string>());
  c->set_is_detached(creation["is_detached"].cast<bool>());
  c->set_class_name(class_name);
  c->set_max_pending_calls(creation["max_pending_calls"].cast<int64_t>());
  // enable_task_events on the actor: its creation task and, by default, its calls.
  spec.set_disable_task_events(!creation["task_events"].cast<bool>());
  for (const auto& [group, limit] : creation["concurrency_groups"].cast<py::dict>()) {
    (*c->mutable_concurrency_groups())[group.cast<std::string>()] = limit.cast<int32_t>();
  }
  absl::StatusOr<ActorID> actor_id;
  {
    py::gil_scoped_release release;
    actor_id = w->CreateActor(std::move(spec));
  }
  if (absl::IsAlreadyExists(actor_id.status())) {
    throw py::value_error(std::string(actor_id.status().message()));
  }
  ThrowIfError(actor_id.status());
  return py::bytes(actor_id->Binary());
}

// (task id, return refs): a generator method streams (no returns; its items
// come as ObjectRefGenerator reads them), or with dynamic_returns has one: a
// DynamicObjectRefGenerator of them all.
py::tuple SubmitActorTask(const WorkerPtr& w, const py::bytes& actor_id,
                          const std::string& method_name, const py::list& args, int num_returns,
                          int max_retries, bool retry_exceptions, const py::bytes& retry_allowlist,
                          const std::string& concurrency_group, bool is_generator,
                          int64_t generator_backpressure, bool dynamic_returns,
                          const std::string& name, bool task_events) {
  rpc::TaskSpec spec;
  spec.set_name(name);
  spec.set_disable_task_events(!task_events);
  spec.set_generator_backpressure_num_objects(generator_backpressure);
  spec.set_dynamic_returns(is_generator && dynamic_returns);
  spec.set_function_name(method_name);
  spec.set_num_returns(is_generator ? 0 : num_returns);
  spec.set_is_generator(is_generator);
  spec.set_max_retries(max_retries);
  spec.set_retry_exceptions(retry_exceptions);
  spec.set_retry_exception_allowlist(retry_allowlist);
  spec.mutable_actor_task()->set_method_name(method_name);
  spec.mutable_actor_task()->set_concurrency_group(concurrency_group);
  AddArgs(w, args, &spec);
  ActorID id = ToActorId(actor_id);
  std::vector<ObjectID> returns;
  TaskID task_id;
  {
    py::gil_scoped_release release;
    returns = w->SubmitActorTask(id, std::move(spec), &task_id);
  }
  py::list refs;
  for (const ObjectID& oid : returns) refs.append(MakeRef(w, oid));
  return py::make_tuple(py::bytes(task_id.Binary()), refs);
}

}  // namespace

void BindActors(py::module_& m) {
  auto cls = py::reinterpret_borrow<py::class_<CoreWorker, WorkerPtr>>(m.attr("CoreWorker"));
  cls      .def("create_actor", &CreateActor, py::arg("class_id"), py::arg("class_name"),
           py::arg("args"), py::arg("resources"), py::arg("creation"),
           py::arg("placement") = py::none(), py::arg("runtime_env") = py::none())
      .def("submit_actor_task", &SubmitActorTask)
      .def("add_actor_handle",
           [](CoreWorker& w, const py::bytes& actor_id) {
             ActorID id = ToActorId(actor_id);
             py::gil_scoped_release release;
             w.AddActorHandle(id);
           },
           "A handle object of the actor was made in this process (follows the actor).")
      .def("remove_actor_handle",
           [](CoreWorker& w, const py::bytes& actor_id) {
             ActorID id = ToActorId(actor_id);
             py::gil_scoped_release release;
             w.RemoveActorHandle(id);
           },
           "A handle object was destroyed; the last one ends an actor this process "
           "created (unnamed, not detached, never serialized) once its calls are answered.")
      .def("actor_handle_escaped",
           [](CoreWorker& w, const py::bytes& actor_id) {
             w.MarkActorHandleEscaped(ToActorId(actor_id));
           },
           "A handle was serialized: the actor may be used elsewhere and is never collected.")
      .def("actor_state",
           [](CoreWorker& w, const py::bytes& actor_id) {
             return static_cast<int>(w.actor_submitter().State(ToActorId(actor_id)));
           })
      .def("kill_actor",
           [](CoreWorker& w, const py::bytes& actor_id, bool force, bool no_restart) {
             ActorID id = ToActorId(actor_id);
             absl::Status status;
             {
               py::gil_scoped_release release;
               status = w.KillActor(id, force, no_restart);
             }
             ThrowIfError(status);  // unknown actor: ValueError
           })
      .def("get_actor_info",
           [](CoreWorker& w, const py::bytes& actor_id) -> py::object {
             ActorID id = ToActorId(actor_id);
             absl::StatusOr<std::optional<rpc::ActorTableData>> info;
             {
               py::gil_scoped_release release;
               info = w.GetActorInfo(id);
             }
             ThrowIfError(info.status());
             if (!info->has_value()) return py::none();
             return ActorDict(**info);
           })
      .def("get_named_actor",
           [](CoreWorker& w, const std::string& name, const std::string& ns) -> py::object {
             absl::StatusOr<std::optional<rpc::ActorTableData>> info;
             {
               py::gil_scoped_release release;
               info = w.GetNamedActor(name, ns);
             }
             ThrowIfError(info.status());
             if (!info->has_value()) return py::none();
             return ActorDict(**info);
           })
      .def("list_named_actors",
           [](CoreWorker& w, const std::string& ns, bool all) {
             absl::StatusOr<std::vector<rpc::ActorTableData>> actors;
             {
               py::gil_scoped_release release;
               actors = w.ListNamedActors(ns, all);
             }
             ThrowIfError(actors.status());
             py::list out;
             for (const auto& a : *actors) out.append(ActorDict(a));
             return out;
           });
}

}  // namespace comet::pybind
