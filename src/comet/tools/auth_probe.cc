// auth_probe: calls methods of every gRPC service of one Comet process, the
// way a stranger would, and prints each call's status code, for the
// end-to-end auth tests (tests/test_auth.py).
//
//   auth_probe --target=gcs|raylet|worker --address=HOST:PORT
//              [--token=T] [--mutating] [--actor-id=HEX] [--worker-id=HEX]
//
// Without --token the calls carry no credentials at all (a plain gRPC
// client); with it they carry `authorization: Bearer T`. --mutating adds the
// calls an attacker would make (register a fake 64-CPU node, kill an actor,
// kill a worker, write the KV, ...). Prints "Service/Method CODE" per call,
// CODE as in grpc::StatusCode (0 OK, 16 UNAUTHENTICATED). Exit status 0.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "proto/core_worker.grpc.pb.h"
#include "proto/gcs_service.grpc.pb.h"
#include "proto/node_manager.grpc.pb.h"
#include "src/comet/rpc/client_pool.h"

namespace {

using comet::rpc::ClusterAuth;
namespace rpc = comet::rpc;

struct Probe {
  std::string name;
  bool mutating;
  std::function<grpc::Status(grpc::ClientContext*)> call;
};

std::string Unhex(const std::string& hex) { return absl::HexStringToBytes(hex); }


std::vector<Probe> GcsProbes(const std::shared_ptr<grpc::Channel>& ch,
                             const std::map<std::string, std::string>& flags) {
  auto nodes = std::shared_ptr<rpc::NodeInfoGcsService::Stub>(rpc::NodeInfoGcsService::NewStub(ch));
  auto resources = std::shared_ptr<rpc::NodeResourceInfoGcsService::Stub>(
      rpc::NodeResourceInfoGcsService::NewStub(ch));
  auto jobs = std::shared_ptr<rpc::JobInfoGcsService::Stub>(rpc::JobInfoGcsService::NewStub(ch));
  auto kv = std::shared_ptr<rpc::InternalKVGcsService::Stub>(rpc::InternalKVGcsService::NewStub(ch));
  auto pubsub = std::shared_ptr<rpc::InternalPubSubGcsService::Stub>(
      rpc::InternalPubSubGcsService::NewStub(ch));
  auto actors =
      std::shared_ptr<rpc::ActorInfoGcsService::Stub>(rpc::ActorInfoGcsService::NewStub(ch));
  auto workers =
      std::shared_ptr<rpc::WorkerInfoGcsService::Stub>(rpc::WorkerInfoGcsService::NewStub(ch));
  auto groups = std::shared_ptr<rpc::PlacementGroupInfoGcsService::Stub>(
      rpc::PlacementGroupInfoGcsService::NewStub(ch));
  auto tasks = std::shared_ptr<rpc::TaskInfoGcsService::Stub>(rpc::TaskInfoGcsService::NewStub(ch));
  std::string actor_id = Unhex(flags.count("actor-id") ? flags.at("actor-id") : "");
  return {
      {"NodeInfoGcsService/GetAllNodeInfo", false,
       [=](auto* c) { rpc::GetAllNodeInfoReply r; return nodes->GetAllNodeInfo(c, {}, &r); }},
      {"NodeInfoGcsService/RegisterNode", true,
       [=](auto* c) {
         rpc::RegisterNodeRequest q;
         q.mutable_node_info()->set_node_id(std::string(28, '\x7f'));
         q.mutable_node_info()->set_node_manager_address("127.0.0.1");
         q.mutable_node_info()->set_node_manager_port(1);
         (*q.mutable_node_info()->mutable_total_resources()->mutable_quantities())["CPU"] = 64;
         (*q.mutable_node_info()->mutable_total_resources()->mutable_quantities())["GPU"] = 8;
         rpc::RegisterNodeReply r;
         return nodes->RegisterNode(c, q, &r);
       }},
      {"NodeResourceInfoGcsService/GetAllResourceUsage", false,
       [=](auto* c) {
         rpc::GetAllResourceUsageReply r;
         return resources->GetAllResourceUsage(c, {}, &r);
       }},
      {"JobInfoGcsService/GetAllJobInfo", false,
       [=](auto* c) { rpc::GetAllJobInfoReply r; return jobs->GetAllJobInfo(c, {}, &r); }},
      {"InternalKVGcsService/InternalKVGet", false,
       [=](auto* c) {
         rpc::KVGetRequest q;
         q.set_ns("probe");
         q.set_key("k");
         rpc::KVGetReply r;
         return kv->InternalKVGet(c, q, &r);
       }},
      {"InternalKVGcsService/InternalKVPut", true,
       [=](auto* c) {
         rpc::KVPutRequest q;
         q.set_ns("probe");
         q.set_key("pwned");
         q.set_value("yes");
         q.set_overwrite(true);
         rpc::KVPutReply r;
         return kv->InternalKVPut(c, q, &r);
       }},
      {"InternalPubSubGcsService/Poll", false,
       [=](auto* c) {
         rpc::PollRequest q;
         q.set_timeout_ms(0);
         rpc::PollReply r;
         return pubsub->Poll(c, q, &r);
       }},
      {"ActorInfoGcsService/GetAllActorInfo", false,
       [=](auto* c) { rpc::GetAllActorInfoReply r; return actors->GetAllActorInfo(c, {}, &r); }},
      {"ActorInfoGcsService/KillActorViaGcs", true,
       [=](auto* c) {
         rpc::KillActorViaGcsRequest q;
         q.set_actor_id(actor_id);
         q.set_force_kill(true);
         q.set_no_restart(true);
         rpc::KillActorViaGcsReply r;
         return actors->KillActorViaGcs(c, q, &r);
       }},
      {"WorkerInfoGcsService/ReportWorkerFailure", true,
       [=](auto* c) {
         rpc::ReportWorkerFailureRequest q;
         q.set_worker_id(std::string(28, '\x7f'));
         rpc::ReportWorkerFailureReply r;
         return workers->ReportWorkerFailure(c, q, &r);
       }},
      {"PlacementGroupInfoGcsService/GetAllPlacementGroup", false,
       [=](auto* c) {
         rpc::GetAllPlacementGroupReply r;
         return groups->GetAllPlacementGroup(c, {}, &r);
       }},
      {"TaskInfoGcsService/GetTaskEvents", false,
       [=](auto* c) {
         rpc::GetTaskEventsRequest q;
         q.set_counts_only(true);
         rpc::GetTaskEventsReply r;
         return tasks->GetTaskEvents(c, q, &r);
       }},
  };
}

std::vector<Probe> RayletProbes(const std::shared_ptr<grpc::Channel>& ch,
                                const std::map<std::string, std::string>& flags) {
  auto raylet =
      std::shared_ptr<rpc::NodeManagerService::Stub>(rpc::NodeManagerService::NewStub(ch));
  auto objects =
      std::shared_ptr<rpc::ObjectManagerService::Stub>(rpc::ObjectManagerService::NewStub(ch));
  std::string worker_id = Unhex(flags.count("worker-id") ? flags.at("worker-id") : "");
  return {
      {"NodeManagerService/GetNodeStats", false,
       [=](auto* c) { rpc::GetNodeStatsReply r; return raylet->GetNodeStats(c, {}, &r); }},
      {"NodeManagerService/HealthCheck", false,
       [=](auto* c) { rpc::HealthCheckReply r; return raylet->HealthCheck(c, {}, &r); }},
      {"NodeManagerService/KillWorker", true,
       [=](auto* c) {
         rpc::KillWorkerRequest q;
         q.set_worker_id(worker_id);
         q.set_reason("auth_probe");
         rpc::KillWorkerReply r;
         return raylet->KillWorker(c, q, &r);
       }},
      {"NodeManagerService/KillWorker(100MiB)", false,
       [=](auto* c) {
         // Larger than a raylet reads (raylet_max_request_bytes): refused
         // before any handler, whatever the token.
         rpc::KillWorkerRequest q;
         q.set_worker_id(worker_id);
         q.set_reason(std::string(100 << 20, 'x'));
         rpc::KillWorkerReply r;
         return raylet->KillWorker(c, q, &r);
       }},
      {"ObjectManagerService/Pull", false,
       [=](auto* c) {
         rpc::ObjectPullRequest q;
         q.set_object_id(std::string(28, '\x7f'));
         q.set_chunk_size(1024);
         auto reader = objects->Pull(c, q);
         rpc::ObjectChunk chunk;
         while (reader->Read(&chunk)) {
         }
         return reader->Finish();
       }},
  };
}

std::vector<Probe> WorkerProbes(const std::shared_ptr<grpc::Channel>& ch,
                                const std::map<std::string, std::string>& flags) {
  auto worker =
      std::shared_ptr<rpc::CoreWorkerService::Stub>(rpc::CoreWorkerService::NewStub(ch));
  std::string actor_id = Unhex(flags.count("actor-id") ? flags.at("actor-id") : "");
  return {
      {"CoreWorkerService/GetObjectRefs", false,
       [=](auto* c) { rpc::GetObjectRefsReply r; return worker->GetObjectRefs(c, {}, &r); }},
      {"CoreWorkerService/KillActor", true,
       [=](auto* c) {
         rpc::KillActorRequest q;
         q.set_actor_id(actor_id);
         q.set_force_kill(true);
         rpc::KillActorReply r;
         return worker->KillActor(c, q, &r);
       }},
      {"CoreWorkerService/Exit", true,
       [=](auto* c) {
         rpc::ExitRequest q;
         q.set_force(true);
         rpc::ExitReply r;
         return worker->Exit(c, q, &r);
       }},
  };
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    size_t eq = arg.find('=');
    if (arg.rfind("--", 0) != 0) {
      std::fprintf(stderr, "auth_probe: bad argument %s\n", arg.c_str());
      return 2;
    }
    flags[arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2)] =
        eq == std::string::npos ? "" : arg.substr(eq + 1);
  }
  std::string target = flags["target"], address = flags["address"];
  std::shared_ptr<grpc::Channel> channel;
  if (flags.count("token")) {
    ClusterAuth auth;
    auth.mode = comet::rpc::AuthMode::kToken;
    auth.token = flags["token"];
    auth.source = "--token";
    channel = comet::rpc::MakeChannel(address, auth);
  } else {
    channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  }
  std::vector<Probe> probes;
  if (target == "gcs") {
    probes = GcsProbes(channel, flags);
  } else if (target == "raylet") {
    probes = RayletProbes(channel, flags);
  } else if (target == "worker") {
    probes = WorkerProbes(channel, flags);
  } else {
    std::fprintf(stderr, "auth_probe: --target must be gcs, raylet or worker\n");
    return 2;
  }
  bool mutating = flags.count("mutating") > 0;
  for (const Probe& probe : probes) {
    if (probe.mutating && !mutating) continue;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status status = probe.call(&context);
    std::printf("%s %d %s\n", probe.name.c_str(), static_cast<int>(status.error_code()),
                status.error_message().c_str());
  }
  return 0;
}
