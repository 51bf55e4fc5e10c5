// ClientPool<Service>: one gRPC stub per remote address, created on first use
// and shared afterwards (a stub is thread-safe). Thread-safe.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "src/comet/rpc/cluster_auth.h"

namespace comet::rpc {

// A channel with Comet's limits (large messages for task specs and objects)
// that presents the cluster's credentials (grpc_auth.h).
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address, const ClusterAuth& auth);

template <typename Service>
class ClientPool {
 public:
  using Stub = typename Service::Stub;

  explicit ClientPool(ClusterAuth auth) : auth_(std::move(auth)) {}

  // The stub for "host:port" (or "unix:/path").
  std::shared_ptr<Stub> Get(const std::string& address) {
    absl::MutexLock lock(&mu_);
    auto it = stubs_.find(address);
    if (it != stubs_.end()) return it->second;
    auto stub = std::shared_ptr<Stub>(Service::NewStub(MakeChannel(address, auth_)));
    stubs_[address] = stub;
    return stub;
  }

  // Forgets a stub whose peer is known to be gone.
  void Disconnect(const std::string& address) {
    absl::MutexLock lock(&mu_);
    stubs_.erase(address);
  }

 private:
  const ClusterAuth auth_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Stub>> stubs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace comet::rpc
