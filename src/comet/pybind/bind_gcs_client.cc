// Python binding comet._raylet.GcsClient: blocking calls to the GCS's
// placement-group service (and the node table), for
// comet.util.placement_group. Each call releases the GIL while it waits and
// has a deadline; rows come back as plain dicts (see GroupDict).
#include <grpcpp/grpcpp.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "proto/gcs_service.grpc.pb.h"
#include "src/comet/pybind/process_auth.h"
#include "src/comet/pybind/blocking_call.h"
#include "src/comet/rpc/client_pool.h"

namespace py = pybind11;

namespace comet::pybind {
namespace {

constexpr absl::string_view kStrategyPrefix = "PLACEMENT_";

// "PACK" for PLACEMENT_PACK.
std::string StrategyName(rpc::PlacementStrategy strategy) {
  std::string name = rpc::PlacementStrategy_Name(strategy);
  return absl::StartsWith(name, kStrategyPrefix)
             ? name.substr(kStrategyPrefix.size())
             : name;
}

rpc::PlacementStrategy ParseStrategy(const std::string& name) {
  rpc::PlacementStrategy strategy;
  if (!rpc::PlacementStrategy_Parse(absl::StrCat(kStrategyPrefix, name),
                                    &strategy)) {
    throw py::value_error(absl::StrCat("unknown placement strategy '", name,
                                       "'; expected PACK, SPREAD, "
                                       "STRICT_PACK or STRICT_SPREAD"));
  }
  return strategy;
}

// {"placement_group_id": bytes, "name", "namespace", "strategy": "PACK"...,
//  "state": "CREATED"..., "bundles": [{resource: quantity}],
//  "bundle_node_ids": [bytes (b"" while unplaced)], "creator_job_id": bytes,
//  "is_detached", "create_time_ms", "soft_target_node_id": bytes}
py::dict GroupDict(const rpc::PlacementGroupTableData& group) {
  py::dict out;
  out["placement_group_id"] = py::bytes(group.placement_group_id());
  out["name"] = group.name();
  out["namespace"] = group.ray_namespace();
  out["strategy"] = StrategyName(group.strategy());
  out["state"] = rpc::PlacementGroupTableData::State_Name(group.state());
  py::list bundles, nodes;
  for (const rpc::Bundle& bundle : group.bundles()) {
    bundles.append(std::map<std::string, double>(bundle.resources().begin(),
                                                 bundle.resources().end()));
    nodes.append(py::bytes(bundle.node_id()));
  }
  out["bundles"] = bundles;
  out["bundle_node_ids"] = nodes;
  out["creator_job_id"] = py::bytes(group.creator_job_id());
  out["is_detached"] = group.is_detached();
  out["create_time_ms"] = group.create_time_ms();
  out["soft_target_node_id"] = py::bytes(group.soft_target_node_id());
  return out;
}

class GcsClient {
 public:
  explicit GcsClient(const std::string& address) : gcs_(BindingGcsClient(address)) {}

  void Create(const py::bytes& id,
              const std::vector<std::map<std::string, double>>& bundles,
              const std::string& strategy, const std::string& name,
              const std::string& ray_namespace, const py::bytes& creator_job_id,
              bool is_detached, const py::bytes& soft_target_node_id) {
    rpc::CreatePlacementGroupRequest request;
    rpc::PlacementGroupTableData* group = request.mutable_placement_group();
    group->set_placement_group_id(id);
    group->set_strategy(ParseStrategy(strategy));
    group->set_name(name);
    group->set_ray_namespace(ray_namespace);
    group->set_creator_job_id(creator_job_id);
    group->set_is_detached(is_detached);
    group->set_soft_target_node_id(soft_target_node_id);
    for (const auto& resources : bundles) {
      group->add_bundles()->mutable_resources()->insert(resources.begin(),
                                                        resources.end());
    }
    auto reply = InvokeBlocking<rpc::CreatePlacementGroupReply>(*gcs_, "CreatePlacementGroup", [&](auto* context, auto* reply) {
          return gcs_->placement_groups().CreatePlacementGroup(context, request, reply);
        });
    if (!reply.error().empty()) throw py::value_error(reply.error());
  }

  bool Remove(const py::bytes& id) {
    rpc::RemovePlacementGroupRequest request;
    request.set_placement_group_id(id);
    return InvokeBlocking<rpc::RemovePlacementGroupReply>(*gcs_, "RemovePlacementGroup",
               [&](auto* context, auto* reply) {
                 return gcs_->placement_groups().RemovePlacementGroup(context, request, reply);
               })
        .found();
  }

  py::object Get(const py::bytes& id) {
    rpc::GetPlacementGroupRequest request;
    request.set_placement_group_id(id);
    auto reply = InvokeBlocking<rpc::GetPlacementGroupReply>(*gcs_, "GetPlacementGroup", [&](auto* context, auto* reply) {
          return gcs_->placement_groups().GetPlacementGroup(context, request, reply);
        });
    if (!reply.found()) return py::none();
    return GroupDict(reply.placement_group());
  }

  py::object GetNamed(const std::string& name,
                      const std::string& ray_namespace) {
    rpc::GetNamedPlacementGroupRequest request;
    request.set_name(name);
    request.set_ray_namespace(ray_namespace);
    auto reply = InvokeBlocking<rpc::GetNamedPlacementGroupReply>(*gcs_, "GetNamedPlacementGroup", [&](auto* context, auto* reply) {
          return gcs_->placement_groups().GetNamedPlacementGroup(context, request, reply);
        });
    if (!reply.found()) return py::none();
    return GroupDict(reply.placement_group());
  }

  py::list GetAll() {
    auto reply = InvokeBlocking<rpc::GetAllPlacementGroupReply>(*gcs_, "GetAllPlacementGroup", [&](auto* context, auto* reply) {
          return gcs_->placement_groups().GetAllPlacementGroup(
              context, rpc::GetAllPlacementGroupRequest(), reply);
        });
    py::list out;
    for (const auto& group : reply.placement_groups()) {
      out.append(GroupDict(group));
    }
    return out;
  }

  // (ready, removed) once the group is CREATED or REMOVED, or (False, False)
  // after `timeout_s`.
  std::pair<bool, bool> Wait(const py::bytes& id, double timeout_s) {
    rpc::WaitPlacementGroupUntilReadyRequest request;
    request.set_placement_group_id(id);
    absl::Duration timeout = absl::Seconds(std::max(0.0, timeout_s));
    request.set_timeout_ms(absl::ToInt64Milliseconds(timeout));
    auto reply = InvokeBlocking<rpc::WaitPlacementGroupUntilReadyReply>(*gcs_, "WaitPlacementGroupUntilReady",
        [&](auto* context, auto* reply) {
          return gcs_->placement_groups().WaitPlacementGroupUntilReady(context, request, reply);
        },
        timeout + kBlockingCallTimeout);
    return {reply.ready(), reply.removed()};
  }

  std::vector<py::bytes> AliveNodeIds() {
    auto reply = InvokeBlocking<rpc::GetAllNodeInfoReply>(*gcs_, "GetAllNodeInfo", [&](auto* context, auto* reply) {
          return gcs_->nodes().GetAllNodeInfo(context, rpc::GetAllNodeInfoRequest(),
                                        reply);
        });
    std::vector<py::bytes> out;
    for (const rpc::NodeInfo& node : reply.node_info_list()) {
      if (node.state() == rpc::NodeInfo::ALIVE)
        out.emplace_back(node.node_id());
    }
    return out;
  }

 private:
  std::unique_ptr<gcs_client::GcsRpcClient> gcs_;
};

}  // namespace

void BindGcsClient(py::module_& m) {
  py::class_<GcsClient>(m, "GcsClient",
                        "Blocking calls to the GCS: placement groups and the "
                        "node table.")
      .def(py::init<const std::string&>(), py::arg("gcs_address"))
      .def("create_placement_group", &GcsClient::Create,
           py::arg("placement_group_id"), py::arg("bundles"),
           py::arg("strategy"), py::arg("name"), py::arg("namespace"),
           py::arg("creator_job_id"), py::arg("is_detached"),
           py::arg("soft_target_node_id"),
           "Creates a group; ValueError for bad input or a taken name.")
      .def("remove_placement_group", &GcsClient::Remove,
           "Removes a group; False if unknown.")
      .def("get_placement_group", &GcsClient::Get,
           "The group's row as a dict, or None.")
      .def("get_named_placement_group", &GcsClient::GetNamed, py::arg("name"),
           py::arg("namespace"),
           "The live group of that name in the namespace, or None.")
      .def("get_all_placement_groups", &GcsClient::GetAll,
           "Every group's row, oldest first.")
      .def("wait_placement_group_until_ready", &GcsClient::Wait,
           py::arg("placement_group_id"), py::arg("timeout_s"),
           "(ready, removed): waits up to timeout_s for CREATED or REMOVED.")
      .def("alive_node_ids", &GcsClient::AliveNodeIds,
           "Ids of the live nodes.");
}

}  // namespace comet::pybind
