// CoreWorkerClientPool: the calls the GCS makes to workers
// (CoreWorkerService) for actors: pushing the creation task and asking an
// actor to exit. A worker is addressed by its rpc::Address (ip_address and
// port). Header-only so that managers and their tests depend on the
// interface, not on gRPC (GrpcCoreWorkerClientPool).
//
// Thread model: implementations are thread-confined to the GCS thread;
// every call and every callback happen there. A callback runs exactly once,
// never inside the call that issued it, unless the pool is shut down (then
// it may never run).
#pragma once

#include <functional>

#include "absl/status/status.h"
#include "proto/common.pb.h"
#include "proto/core_worker.pb.h"

namespace comet::gcs {

class CoreWorkerClientPool {
 public:
  template <typename Reply>
  using Callback = std::function<void(const absl::Status& status, Reply reply)>;

  virtual ~CoreWorkerClientPool() = default;

  // No deadline: a constructor may run for a long time. The call fails when
  // the worker dies.
  virtual void PushTask(const rpc::Address& worker,
                        rpc::PushTaskRequest request,
                        Callback<rpc::PushTaskReply> callback) = 0;
  virtual void KillActor(const rpc::Address& worker,
                         rpc::KillActorRequest request,
                         Callback<rpc::KillActorReply> callback) = 0;

  // The worker is gone: drop its connection.
  virtual void Forget(const rpc::Address& worker) = 0;
};

}  // namespace comet::gcs
