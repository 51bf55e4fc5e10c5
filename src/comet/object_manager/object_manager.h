// ObjectManager: moves objects between the plasma stores of the cluster's
// nodes. One per raylet.
//
// Pulling (this node wants an object): Pull() merges requests for the same
// object, admits pulls so that the bytes being pulled stay under a fraction
// of the store's capacity (the oldest waiting pull is always admitted when
// nothing else is in flight, so an object larger than the limit still
// comes), and runs each admitted pull on a pull thread: it asks a node that
// holds a copy to stream the object (ObjectManagerService.Pull), writes the
// chunks into a new (secondary, evictable) plasma object, seals it, and
// tells the owner about the new copy. A source that fails or no longer has
// the object is skipped for the next candidate.
//
// Serving (another node wants an object): ServePull() streams a sealed local
// object in chunks; a spilled object is restored by the store on Get.
//
// Freeing: FreeLocal() deletes local copies; FreeEverywhere() also forwards
// the request to every other live node.
//
// Ownership: owns the pull thread pool and a small pool of plasma clients
// (a waiting Create blocks only its own client). Thread-safe: Pull, Free*,
// SetNodeAddresses and ServePull may be called from any thread; callbacks
// run on pull threads. Stop() joins the threads; it must run before the
// plasma store stops.
#pragma once

#include <grpcpp/grpcpp.h>

#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/core_worker.grpc.pb.h"
#include "proto/node_manager.grpc.pb.h"
#include "src/comet/common/id.h"
#include "src/comet/common/metrics.h"
#include "src/comet/object_manager/plasma/client.h"
#include "src/comet/rpc/client_pool.h"

namespace comet {

struct ObjectManagerOptions {
  NodeID node_id;
  std::string plasma_socket;
  uint64_t store_capacity = 0;
  int64_t chunk_size = 5 << 20;
  int num_pull_threads = 4;
  // Bytes being pulled at once stay under this fraction of the capacity.
  double max_pull_fraction = 0.7;
  // Whole-transfer deadline for one source.
  absl::Duration pull_timeout = absl::Minutes(5);
  // Presented to peers, owners and raylets.
  rpc::ClusterAuth auth;
};

class ObjectManager {
 public:
  // Called once per Pull: empty when the object is local, else why not.
  using PullCallback = std::function<void(const std::string& error)>;

  static absl::StatusOr<std::unique_ptr<ObjectManager>> Create(ObjectManagerOptions options);
  ~ObjectManager();

  void Pull(const rpc::ObjectToPull& object, PullCallback done);

  // Streams a local object to another node (the service's handler).
  grpc::ServerWriteReactor<rpc::ObjectChunk>* ServePull(grpc::CallbackServerContext* context,
                                                        const rpc::ObjectPullRequest* request);

  void FreeLocal(const std::vector<ObjectID>& ids);
  // Deletes local copies and asks every other live node to do the same.
  void FreeEverywhere(const rpc::FreeObjectsRequest& request);

  // The other live nodes' raylet addresses (from the cluster view).
  void SetNodeAddresses(absl::flat_hash_map<NodeID, std::string> addresses);

  // Fails queued pulls, waits for running ones, joins the threads.
  void Stop();

  int64_t num_pulled() const;
  int64_t bytes_pulled() const;
  // Pull families for /metrics.
  void AppendMetrics(MetricsText* text, const MetricsText::Labels& node) const;

 private:
  struct PendingPull {
    rpc::ObjectToPull object;
    std::vector<PullCallback> callbacks;
    bool admitted = false;
  };

  // A plasma client borrowed from the pool for one operation.
  class LeasedClient;

  explicit ObjectManager(ObjectManagerOptions options);
  LeasedClient LeaseClient();
  void ReturnClient(std::shared_ptr<plasma::PlasmaClient> client);

  void AdmitPulls() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RunPull(const ObjectID& id, rpc::ObjectToPull object);
  // Pulls from one source; OK once the object is sealed locally.
  absl::Status PullFrom(const ObjectID& id, const std::string& address,
                        plasma::PlasmaClient& client);
  void NotifyOwner(const rpc::ObjectToPull& object);
  void FinishPull(const ObjectID& id, const std::string& error, uint64_t size);

  const ObjectManagerOptions options_;
  rpc::ClientPool<rpc::ObjectManagerService> peers_;
  rpc::ClientPool<rpc::NodeManagerService> raylets_;
  rpc::ClientPool<rpc::CoreWorkerService> owners_;
  std::unique_ptr<boost::asio::thread_pool> threads_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<NodeID, std::string> addresses_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<ObjectID, PendingPull> pulls_ ABSL_GUARDED_BY(mu_);
  std::deque<ObjectID> waiting_ ABSL_GUARDED_BY(mu_);
  uint64_t active_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int active_pulls_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  // Transfers in progress, cancelled by Stop().
  absl::flat_hash_set<grpc::ClientContext*> transfers_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<plasma::PlasmaClient>> idle_clients_ ABSL_GUARDED_BY(mu_);
  int64_t num_pulled_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t bytes_pulled_ ABSL_GUARDED_BY(mu_) = 0;
  // Admission to the end of each pull (a PullObjects wait is this plus queueing).
  Histogram pull_seconds_;
};

}  // namespace comet
