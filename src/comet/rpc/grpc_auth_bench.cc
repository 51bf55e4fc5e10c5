// grpc_auth_bench: what the cluster-token check costs per gRPC call. One
// process serves InternalKVGet twice on loopback (token checked / auth
// disabled) and calls each from one thread in alternating blocks, so that
// machine noise falls on both. Prints the median wall and CPU microseconds per
// call of each, and their ratio. Not a test: see bench/RESULTS.md.
//
//   bazel-bin/src/comet/rpc/grpc_auth_bench [--calls=20000] [--blocks=10]
//   bazel-bin/src/comet/rpc/grpc_auth_bench --only=checked|client|disabled --calls=N
//
// --only makes `calls` calls of one kind and nothing else, for counting
// instructions (`valgrind --tool=callgrind`): the difference between the two
// totals, over N, is what the check adds to a call, free of timing noise.
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "proto/gcs_service.grpc.pb.h"
#include "src/comet/rpc/client_pool.h"
#include "src/comet/rpc/grpc_auth.h"

namespace {

namespace rpc = comet::rpc;

class EchoKv final : public rpc::InternalKVGcsService::CallbackService {
  grpc::ServerUnaryReactor* InternalKVGet(grpc::CallbackServerContext* context,
                                          const rpc::KVGetRequest* request,
                                          rpc::KVGetReply* reply) override {
    reply->set_value(request->key());
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

struct Served {
  EchoKv service;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<rpc::InternalKVGcsService::Stub> stub;
};

void Serve(Served* s, const rpc::ClusterAuth& server_auth, const rpc::ClusterAuth& client_auth) {
  grpc::ServerBuilder builder;
  int port = 0;
  if (!rpc::AddListeningPort(&builder, "127.0.0.1", 0, server_auth, nullptr, &port).ok()) {
    std::abort();
  }
  builder.RegisterService(&s->service);
  s->server = builder.BuildAndStart();
  s->stub = rpc::InternalKVGcsService::NewStub(
      rpc::MakeChannel("127.0.0.1:" + std::to_string(port), client_auth));
}

double CpuSeconds() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         1e-6 * (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

// (wall us, cpu us) per call over `calls` calls.
std::pair<double, double> Block(Served* s, int calls) {
  rpc::KVGetRequest request;
  request.set_key("k");
  auto start = std::chrono::steady_clock::now();
  double cpu_start = CpuSeconds();
  for (int i = 0; i < calls; ++i) {
    grpc::ClientContext context;
    rpc::KVGetReply reply;
    if (!s->stub->InternalKVGet(&context, request, &reply).ok()) std::abort();
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {1e6 * wall / calls, 1e6 * (CpuSeconds() - cpu_start) / calls};
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int calls = 20000, blocks = 10;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--only=", 0) == 0) only = arg.substr(7);
    if (arg.rfind("--calls=", 0) == 0) calls = std::atoi(arg.c_str() + 8);
    if (arg.rfind("--blocks=", 0) == 0) blocks = std::atoi(arg.c_str() + 9);
  }
  rpc::ClusterAuth token;
  token.mode = rpc::AuthMode::kToken;
  token.token = std::string(64, 'a');
  token.source = "bench";
  Served on, off;
  if (!only.empty()) {
    // "client": the token is sent but not checked (what the client side costs).
    Served* served = only == "checked" ? &on : &off;
    Serve(served, only == "checked" ? token : rpc::ClusterAuth{},
          only == "disabled" ? rpc::ClusterAuth{} : token);
    Block(served, calls);
    std::printf("%d calls, %s\n", calls, only.c_str());
    served->server->Shutdown();
    return 0;
  }
  Serve(&on, token, token);
  Serve(&off, rpc::ClusterAuth{}, rpc::ClusterAuth{});
  Block(&on, 1000);  // warm both channels
  Block(&off, 1000);
  std::vector<double> wall_on, wall_off, cpu_on, cpu_off;
  for (int b = 0; b < blocks; ++b) {
    bool on_first = b % 2 == 0;
    for (int k = 0; k < 2; ++k) {
      bool use_on = (k == 0) == on_first;
      auto [wall, cpu] = Block(use_on ? &on : &off, calls);
      (use_on ? wall_on : wall_off).push_back(wall);
      (use_on ? cpu_on : cpu_off).push_back(cpu);
    }
  }
  std::printf("unary call, token checked: %.1f us wall, %.1f us cpu (client+server)\n",
              Median(wall_on), Median(cpu_on));
  std::printf("unary call, auth disabled: %.1f us wall, %.1f us cpu (client+server)\n",
              Median(wall_off), Median(cpu_off));
  std::printf("ratio (disabled/checked, 1.00 = free): wall %.3f, cpu %.3f\n",
              Median(wall_off) / Median(wall_on), Median(cpu_off) / Median(cpu_on));
  on.server->Shutdown();
  off.server->Shutdown();
  return 0;
}
