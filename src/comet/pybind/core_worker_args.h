// Helpers shared by the core-worker bindings (bind_core_worker.cc,
// bind_actor.cc): ids from Python bytes, ObjectRef construction, and task
// arguments and placement fields from their Python form. Called with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <vector>

#include "src/comet/core_worker/core_worker.h"

namespace comet::pybind {

using WorkerPtr = std::shared_ptr<core::CoreWorker>;

ObjectID ToId(const pybind11::bytes& b);

// A new Python ObjectRef holding one local reference in `worker`.
pybind11::object MakeRef(const WorkerPtr& worker, const ObjectID& id);

// The ObjectRefs (a Python list) found inside a serialized value, with
// their owners.
std::vector<rpc::ObjectReference> NestedReferences(const WorkerPtr& w,
                                                   const pybind11::handle& refs);

// Appends task arguments: an ObjectRef passes by reference, a tuple
// (data, metadata, nested refs) passes inline.
void AddArgs(const WorkerPtr& w, const pybind11::list& args, rpc::TaskSpec* spec);

// Placement-group fields of a task spec, from {"placement_group_id": bytes,
// "placement_group_bundle_index": int, "placement_group_capture_child_tasks": bool}.
void SetPlacement(const pybind11::object& placement, rpc::TaskSpec* spec);

// The spec's runtime_env, from None or (hash, serialized JSON, env_vars,
// setup timeout in seconds) as comet._private.runtime_env prepares it.
void SetRuntimeEnv(const pybind11::object& runtime_env, rpc::TaskSpec* spec);

}  // namespace comet::pybind
