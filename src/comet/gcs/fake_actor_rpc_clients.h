// Fakes for the actor manager's and scheduler's dependencies: raylet and
// core worker client pools that record each call with its callback (the
// test answers them when it likes), and a RunAfterFn whose delayed
// callbacks the test fires.
// Thread model: single-threaded, like the managers under test.
#pragma once

#include <deque>
#include <functional>
#include <utility>
#include <vector>

#include "src/comet/gcs/core_worker_client_pool_interface.h"
#include "src/comet/gcs/gcs_actor_scheduler.h"
#include "src/comet/gcs/raylet_client_pool_interface.h"

namespace comet::gcs {

class FakeRayletClientPool : public RayletClientPool {
 public:
  template <typename Request, typename Reply>
  struct Call {
    rpc::NodeInfo node;
    Request request;
    Callback<Reply> callback;
  };
  using LeaseCall =
      Call<rpc::RequestWorkerLeaseRequest, rpc::RequestWorkerLeaseReply>;

  void RequestWorkerLease(
      const rpc::NodeInfo& node, rpc::RequestWorkerLeaseRequest request,
      Callback<rpc::RequestWorkerLeaseReply> callback) override {
    leases.push_back({node, std::move(request), std::move(callback)});
  }
  void ReturnWorker(const rpc::NodeInfo& node, rpc::ReturnWorkerRequest request,
                    Callback<rpc::ReturnWorkerReply> callback) override {
    returns.push_back({node, std::move(request), std::move(callback)});
  }
  void KillWorker(const rpc::NodeInfo& node, rpc::KillWorkerRequest request,
                  Callback<rpc::KillWorkerReply> callback) override {
    kills.push_back({node, std::move(request), std::move(callback)});
  }
  void Forget(const NodeID& node_id) override { forgotten.push_back(node_id); }

  // Takes the oldest lease request.
  LeaseCall PopLease() {
    LeaseCall call = std::move(leases.front());
    leases.pop_front();
    return call;
  }

  std::deque<LeaseCall> leases;
  std::vector<Call<rpc::ReturnWorkerRequest, rpc::ReturnWorkerReply>> returns;
  std::vector<Call<rpc::KillWorkerRequest, rpc::KillWorkerReply>> kills;
  std::vector<NodeID> forgotten;
};

class FakeCoreWorkerClientPool : public CoreWorkerClientPool {
 public:
  template <typename Request, typename Reply>
  struct Call {
    rpc::Address worker;
    Request request;
    Callback<Reply> callback;
  };
  using PushCall = Call<rpc::PushTaskRequest, rpc::PushTaskReply>;

  void PushTask(const rpc::Address& worker, rpc::PushTaskRequest request,
                Callback<rpc::PushTaskReply> callback) override {
    pushes.push_back({worker, std::move(request), std::move(callback)});
  }
  void KillActor(const rpc::Address& worker, rpc::KillActorRequest request,
                 Callback<rpc::KillActorReply> callback) override {
    kill_actors.push_back({worker, std::move(request), std::move(callback)});
  }
  void Forget(const rpc::Address& worker) override {
    forgotten.push_back(worker);
  }

  PushCall PopPush() {
    PushCall call = std::move(pushes.front());
    pushes.pop_front();
    return call;
  }

  std::deque<PushCall> pushes;
  std::vector<Call<rpc::KillActorRequest, rpc::KillActorReply>> kill_actors;
  std::vector<rpc::Address> forgotten;
};

// Delayed callbacks, fired by the test.
class FakeTimers {
 public:
  RunAfterFn AsRunAfter() {
    return [this](absl::Duration delay, std::function<void()> callback) {
      pending.push_back({delay, std::move(callback)});
    };
  }

  // Fires what is pending now (not what those callbacks schedule).
  void FireAll() {
    std::vector<std::pair<absl::Duration, std::function<void()>>> due;
    due.swap(pending);
    for (auto& [delay, callback] : due) callback();
  }

  std::vector<std::pair<absl::Duration, std::function<void()>>> pending;
};

}  // namespace comet::gcs
