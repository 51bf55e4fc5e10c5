#include "src/comet/pybind/core_worker_args.h"

#include <pybind11/stl.h>

#include <map>
#include <string>
#include <tuple>

#include "src/comet/pybind/object_ref.h"
#include "src/comet/pybind/status_to_python.h"

namespace py = pybind11;

namespace comet::pybind {

ObjectID ToId(const py::bytes& b) {
  auto id = ObjectID::FromBinary(std::string(b));
  ThrowIfError(id.status());
  return *id;
}

py::object MakeRef(const WorkerPtr& worker, const ObjectID& id) {
  return py::cast(std::make_unique<PyObjectRef>(worker, id));
}

void AddArgs(const WorkerPtr& w, const py::list& args, rpc::TaskSpec* spec) {
  for (const py::handle& arg : args) {
    rpc::TaskArg* out = spec->add_args();
    if (py::isinstance<PyObjectRef>(arg)) {
      const ObjectID& id = arg.cast<PyObjectRef&>().id();
      out->mutable_ref()->set_object_id(id.Binary());
      *out->mutable_ref()->mutable_owner_address() = w->OwnerOf(id);
      continue;
    }
    py::tuple t = arg.cast<py::tuple>();  // (data, metadata, nested refs)
    rpc::SerializedObject* value = out->mutable_value();
    value->set_data(std::string(t[0].cast<py::bytes>()));
    value->set_metadata(std::string(t[1].cast<py::bytes>()));
    for (rpc::ObjectReference& ref : NestedReferences(w, t[2])) {
      *value->add_nested_refs() = std::move(ref);
    }
  }
}

std::vector<rpc::ObjectReference> NestedReferences(const WorkerPtr& w, const py::handle& refs) {
  std::vector<rpc::ObjectReference> out;
  for (const py::handle& r : refs.cast<py::list>()) {
    const ObjectID& id = r.cast<const PyObjectRef&>().id();
    rpc::ObjectReference& ref = out.emplace_back();
    ref.set_object_id(id.Binary());
    *ref.mutable_owner_address() = w->OwnerOf(id);
  }
  return out;
}

void SetPlacement(const py::object& placement, rpc::TaskSpec* spec) {
  if (placement.is_none()) return;
  py::dict d = placement.cast<py::dict>();
  if (d.contains("placement_group_id")) {
    spec->set_placement_group_id(std::string(d["placement_group_id"].cast<py::bytes>()));
  }
  if (d.contains("placement_group_bundle_index")) {
    spec->set_placement_group_bundle_index(d["placement_group_bundle_index"].cast<int32_t>());
  }
  if (d.contains("placement_group_capture_child_tasks")) {
    spec->set_placement_group_capture_child_tasks(
        d["placement_group_capture_child_tasks"].cast<bool>());
  }
}

void SetRuntimeEnv(const py::object& runtime_env, rpc::TaskSpec* spec) {
  if (runtime_env.is_none()) return;
  auto [hash, serialized, env_vars, setup_timeout_s] =
      runtime_env.cast<std::tuple<std::string, std::string, std::map<std::string, std::string>,
                                  int64_t>>();
  rpc::RuntimeEnvInfo* info = spec->mutable_runtime_env();
  info->set_hash(hash);
  info->set_setup_timeout_s(setup_timeout_s);
  info->set_serialized(serialized);
  info->mutable_env_vars()->insert(env_vars.begin(), env_vars.end());
}

}  // namespace comet::pybind
