#include "src/comet/gcs/grpc_core_worker_client_pool.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "src/comet/rpc/client_pool.h"

namespace comet::gcs {

std::string GrpcCoreWorkerClientPool::TargetOf(const rpc::Address& worker) {
  const std::string& ip = worker.ip_address();
  if (absl::StartsWith(ip, "unix:")) return ip;
  if (absl::StrContains(ip, ':') && !absl::StartsWith(ip, "[")) {
    return absl::StrCat("[", ip, "]:", worker.port());
  }
  return absl::StrCat(ip, ":", worker.port());
}

std::shared_ptr<rpc::CoreWorkerService::Stub> GrpcCoreWorkerClientPool::StubFor(
    const rpc::Address& worker) {
  std::string target = TargetOf(worker);
  auto& stub = stubs_[target];
  if (stub == nullptr) {
    stub = rpc::CoreWorkerService::NewStub(rpc::MakeChannel(target, auth_));
  }
  return stub;
}

void GrpcCoreWorkerClientPool::PushTask(const rpc::Address& worker,
                                        rpc::PushTaskRequest request,
                                        Callback<rpc::PushTaskReply> callback) {
  auto stub = StubFor(worker);
  calls_.Call<rpc::PushTaskRequest, rpc::PushTaskReply>(
      [stub](auto* context, auto* request, auto* reply, auto done) {
        stub->async()->PushTask(context, request, reply, std::move(done));
      },
      std::move(request), absl::InfiniteDuration(), std::move(callback));
}

void GrpcCoreWorkerClientPool::KillActor(
    const rpc::Address& worker, rpc::KillActorRequest request,
    Callback<rpc::KillActorReply> callback) {
  auto stub = StubFor(worker);
  calls_.Call<rpc::KillActorRequest, rpc::KillActorReply>(
      [stub](auto* context, auto* request, auto* reply, auto done) {
        stub->async()->KillActor(context, request, reply, std::move(done));
      },
      std::move(request), kKillTimeout, std::move(callback));
}

void GrpcCoreWorkerClientPool::Forget(const rpc::Address& worker) {
  stubs_.erase(TargetOf(worker));
}

}  // namespace comet::gcs
