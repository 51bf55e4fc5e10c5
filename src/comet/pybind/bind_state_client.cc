// Python binding comet._raylet.StateClient: read-mostly blocking calls for
// the CLI, the job server and the dashboard — the GCS's node, resource, job,
// actor and placement-group tables, its internal KV, and a raylet's node
// stats. Rows come back as plain dicts made by reflection (MessageToDict):
// bytes fields (ids) as hex strings, enums by name. Called from Python
// threads; every call releases the GIL while it waits.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "proto/gcs_service.grpc.pb.h"
#include "proto/core_worker.grpc.pb.h"
#include "proto/node_manager.grpc.pb.h"
#include "src/comet/pybind/process_auth.h"
#include "src/comet/pybind/blocking_call.h"
#include "src/comet/rpc/client_pool.h"

namespace py = pybind11;
namespace pb = google::protobuf;

namespace comet::pybind {
namespace {

py::object FieldValue(const pb::Message& msg, const pb::FieldDescriptor* field, int index);

py::dict MessageToDict(const pb::Message& msg) {
  py::dict out;
  const pb::Descriptor* desc = msg.GetDescriptor();
  const pb::Reflection* refl = msg.GetReflection();
  for (int i = 0; i < desc->field_count(); ++i) {
    const pb::FieldDescriptor* field = desc->field(i);
    if (field->is_map()) {
      py::dict map;
      for (int j = 0; j < refl->FieldSize(msg, field); ++j) {
        const pb::Message& entry = refl->GetRepeatedMessage(msg, field, j);
        const pb::Descriptor* entry_desc = entry.GetDescriptor();
        map[FieldValue(entry, entry_desc->field(0), -1)] = FieldValue(entry, entry_desc->field(1), -1);
      }
      out[py::str(field->name())] = map;
    } else if (field->is_repeated()) {
      py::list list;
      for (int j = 0; j < refl->FieldSize(msg, field); ++j) list.append(FieldValue(msg, field, j));
      out[py::str(field->name())] = list;
    } else if (field->containing_oneof() != nullptr && !refl->HasField(msg, field)) {
      continue;
    } else {
      out[py::str(field->name())] = FieldValue(msg, field, -1);
    }
  }
  return out;
}

// One value of `field` (element `index` when repeated, else the single value).
py::object FieldValue(const pb::Message& msg, const pb::FieldDescriptor* field, int index) {
  const pb::Reflection* refl = msg.GetReflection();
  bool rep = index >= 0;
  switch (field->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
      return py::int_(rep ? refl->GetRepeatedInt32(msg, field, index) : refl->GetInt32(msg, field));
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return py::int_(rep ? refl->GetRepeatedInt64(msg, field, index) : refl->GetInt64(msg, field));
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      return py::int_(rep ? refl->GetRepeatedUInt32(msg, field, index)
                          : refl->GetUInt32(msg, field));
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      return py::int_(rep ? refl->GetRepeatedUInt64(msg, field, index)
                          : refl->GetUInt64(msg, field));
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      return py::float_(rep ? refl->GetRepeatedDouble(msg, field, index)
                            : refl->GetDouble(msg, field));
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      return py::float_(rep ? refl->GetRepeatedFloat(msg, field, index)
                            : refl->GetFloat(msg, field));
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return py::bool_(rep ? refl->GetRepeatedBool(msg, field, index) : refl->GetBool(msg, field));
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      return py::str(rep ? refl->GetRepeatedEnum(msg, field, index)->name()
                         : refl->GetEnum(msg, field)->name());
    case pb::FieldDescriptor::CPPTYPE_STRING: {
      std::string value =
          rep ? refl->GetRepeatedString(msg, field, index) : refl->GetString(msg, field);
      if (field->type() == pb::FieldDescriptor::TYPE_BYTES) return py::str(absl::BytesToHexString(value));
      return py::str(value);
    }
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      return MessageToDict(rep ? refl->GetRepeatedMessage(msg, field, index)
                               : refl->GetMessage(msg, field));
  }
  return py::none();
}

template <typename Rows>
py::list RowsToList(const Rows& rows) {
  py::list out;
  for (const auto& row : rows) out.append(MessageToDict(row));
  return out;
}

class StateClient {
 public:
  explicit StateClient(const std::string& gcs_address) : gcs_(BindingGcsClient(gcs_address)) {}

  py::list Tasks(const std::string& job_id_hex, int64_t limit) {
    return RowsToList(GetTasks(job_id_hex, limit).tasks());
  }

  int64_t TasksDropped() { return GetTasks("", 1).num_dropped(); }

  py::dict TaskCounts(const std::string& job_id_hex) {
    py::dict out;
    rpc::GetTaskEventsReply reply = GetTasks(job_id_hex, 0, true);
    for (const auto& [state, count] : reply.count_by_state()) {
      out[py::str(state)] = count;
    }
    return out;
  }

  rpc::GetTaskEventsReply GetTasks(const std::string& job_id_hex, int64_t limit,
                                   bool counts_only = false) {
    rpc::GetTaskEventsRequest request;
    request.set_counts_only(counts_only);
    if (!job_id_hex.empty()) {
      std::string job_id = absl::HexStringToBytes(job_id_hex);
      if (job_id.size() * 2 != job_id_hex.size()) throw py::value_error("job_id must be hex");
      request.set_job_id(job_id);
    }
    request.set_limit(limit);
    auto reply = InvokeBlocking<rpc::GetTaskEventsReply>(*gcs_, "GetTaskEvents", [&](auto* c, auto* r) { return gcs_->tasks().GetTaskEvents(c, request, r); });
    return reply;
  }

  py::list Nodes() {
    auto reply = InvokeBlocking<rpc::GetAllNodeInfoReply>(*gcs_, "GetAllNodeInfo", [&](auto* c, auto* r) {
      return gcs_->nodes().GetAllNodeInfo(c, rpc::GetAllNodeInfoRequest(), r);
    });
    return RowsToList(reply.node_info_list());
  }

  py::dict AuthStats() {
    auto reply = InvokeBlocking<rpc::GetAuthStatsReply>(*gcs_, "GetAuthStats", [&](auto* c, auto* r) {
      return gcs_->nodes().GetAuthStats(c, rpc::GetAuthStatsRequest(), r);
    });
    return MessageToDict(reply);
  }

  py::list ResourceUsage() {
    auto reply = InvokeBlocking<rpc::GetAllResourceUsageReply>(*gcs_, "GetAllResourceUsage", [&](auto* c, auto* r) {
          return gcs_->resources().GetAllResourceUsage(c, rpc::GetAllResourceUsageRequest(), r);
        });
    return RowsToList(reply.nodes());
  }

  py::list Jobs() {
    auto reply = InvokeBlocking<rpc::GetAllJobInfoReply>(*gcs_, "GetAllJobInfo", [&](auto* c, auto* r) {
      return gcs_->jobs().GetAllJobInfo(c, rpc::GetAllJobInfoRequest(), r);
    });
    return RowsToList(reply.job_info_list());
  }

  py::list Actors() {
    auto reply = InvokeBlocking<rpc::GetAllActorInfoReply>(*gcs_, "GetAllActorInfo", [&](auto* c, auto* r) {
      return gcs_->actors().GetAllActorInfo(c, rpc::GetAllActorInfoRequest(), r);
    });
    return RowsToList(reply.actors());
  }

  py::list PlacementGroups() {
    auto reply = InvokeBlocking<rpc::GetAllPlacementGroupReply>(*gcs_, "GetAllPlacementGroup", [&](auto* c, auto* r) {
          return gcs_->placement_groups().GetAllPlacementGroup(c, rpc::GetAllPlacementGroupRequest(), r);
        });
    return RowsToList(reply.placement_groups());
  }

  std::optional<py::bytes> KvGet(const std::string& ns, const py::bytes& key) {
    rpc::KVGetRequest request;
    request.set_ns(ns);
    request.set_key(key);
    auto reply = InvokeBlocking<rpc::KVGetReply>(*gcs_, "InternalKVGet", [&](auto* c, auto* r) { return gcs_->kv().InternalKVGet(c, request, r); });
    if (!reply.found()) return std::nullopt;
    return py::bytes(reply.value());
  }

  bool KvPut(const std::string& ns, const py::bytes& key, const py::bytes& value, bool overwrite) {
    rpc::KVPutRequest request;
    request.set_ns(ns);
    request.set_key(key);
    request.set_value(value);
    request.set_overwrite(overwrite);
    return InvokeBlocking<rpc::KVPutReply>(*gcs_, "InternalKVPut", [&](auto* c, auto* r) { return gcs_->kv().InternalKVPut(c, request, r); })
        .added();
  }

  int64_t KvDel(const std::string& ns, const py::bytes& key, bool by_prefix) {
    rpc::KVDelRequest request;
    request.set_ns(ns);
    request.set_key(key);
    request.set_by_prefix(by_prefix);
    return InvokeBlocking<rpc::KVDelReply>(*gcs_, "InternalKVDel", [&](auto* c, auto* r) { return gcs_->kv().InternalKVDel(c, request, r); })
        .deleted();
  }

  std::vector<py::bytes> KvKeys(const std::string& ns, const py::bytes& prefix) {
    rpc::KVKeysRequest request;
    request.set_ns(ns);
    request.set_prefix(prefix);
    auto reply = InvokeBlocking<rpc::KVKeysReply>(*gcs_, "InternalKVKeys", [&](auto* c, auto* r) { return gcs_->kv().InternalKVKeys(c, request, r); });
    return std::vector<py::bytes>(reply.keys().begin(), reply.keys().end());
  }

 private:
  std::unique_ptr<gcs_client::GcsRpcClient> gcs_;
};

// The core worker at `address`'s references (GetObjectRefs) as a dict.
py::dict ObjectRefs(const std::string& address, double timeout_s) {
  auto stub = rpc::CoreWorkerService::NewStub(rpc::MakeChannel(address, ProcessAuth()));
  auto reply = InvokeBlocking<rpc::GetObjectRefsReply>(
      "GetObjectRefs",
      [&](auto* c, auto* r) { return stub->GetObjectRefs(c, rpc::GetObjectRefsRequest(), r); },
      absl::Seconds(timeout_s), "the worker");
  return MessageToDict(reply);
}

// The raylet at `address`'s GetNodeStats reply as a dict.
py::dict NodeStats(const std::string& address, double timeout_s) {
  auto stub = rpc::NodeManagerService::NewStub(rpc::MakeChannel(address, ProcessAuth()));
  auto reply = InvokeBlocking<rpc::GetNodeStatsReply>(
      "GetNodeStats",
      [&](auto* c, auto* r) { return stub->GetNodeStats(c, rpc::GetNodeStatsRequest(), r); },
      absl::Seconds(timeout_s), "the raylet");
  return MessageToDict(reply);
}

}  // namespace

void BindStateClient(py::module_& m) {
  py::class_<StateClient>(m, "StateClient",
                          "Blocking reads of the GCS tables and its KV, as dicts "
                          "(ids as hex strings, enums by name).")
      .def(py::init<const std::string&>(), py::arg("gcs_address"))
      .def("nodes", &StateClient::Nodes, "Every node the GCS knows, alive or dead.")
      .def("resource_usage", &StateClient::ResourceUsage,
           "Per live node: total, available and pending resource demands.")
      .def("jobs", &StateClient::Jobs, "Every job (driver) the GCS knows.")
      .def("actors", &StateClient::Actors, "Every actor, in any state.")
      .def("placement_groups", &StateClient::PlacementGroups, "Every placement group.")
      .def("tasks", &StateClient::Tasks, py::arg("job_id") = "", py::arg("limit") = 0,
           "Recent task attempts, newest first, optionally of one job (hex id) and at "
           "most `limit` (0: all the GCS keeps).")
      .def("task_counts", &StateClient::TaskCounts, py::arg("job_id") = "",
           "Task attempts the GCS keeps by state name, optionally of one job (hex id); "
           "cheaper than counting tasks().")
      .def("tasks_dropped", &StateClient::TasksDropped,
           "Task rows evicted at the GCS plus events reporters dropped.")
      .def("auth_stats", &StateClient::AuthStats,
           "Calls refused for their cluster token: {gcs_refused, core_workers_refused} "
           "(the GCS's own, and those core workers reported).")
      .def("kv_get", &StateClient::KvGet, py::arg("namespace"), py::arg("key"),
           "The value (bytes) or None.")
      .def("kv_put", &StateClient::KvPut, py::arg("namespace"), py::arg("key"), py::arg("value"),
           py::arg("overwrite") = true, "True if the key was added (not overwritten).")
      .def("kv_del", &StateClient::KvDel, py::arg("namespace"), py::arg("key"),
           py::arg("by_prefix") = false, "How many keys were deleted.")
      .def("kv_keys", &StateClient::KvKeys, py::arg("namespace"), py::arg("prefix") = py::bytes(""),
           "Keys (bytes) that start with prefix.");
  m.def("object_refs", &ObjectRefs, py::arg("worker_address"), py::arg("timeout_s") = 5.0,
        "The references a worker or driver (HOST:PORT) holds: {objects: [...], address, pid, "
        "is_driver}.");
  m.def("node_stats", &NodeStats, py::arg("raylet_address"), py::arg("timeout_s") = 10.0,
        "The raylet's resources, workers and pending leases as a dict.");
}

}  // namespace comet::pybind
